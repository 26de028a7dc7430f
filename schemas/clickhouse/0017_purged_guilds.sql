-- Guilds whose data an instance administrator purged (wowlogs_store::purge): recorded
-- before any row goes and never rebuilt, like `deleted_logs` for single logs. The topics
-- keep every record for ever; the consumers drop the records of a guild listed here
-- whatever reads them again (a rebuild, a restore, a new consumer group), a backup leaves
-- them out, a restore neither publishes them nor writes the guild's rows again, and a new
-- guild never gets a purged guild's id.

CREATE TABLE IF NOT EXISTS purged_guilds (
    guild_id Int64,
    reason String,
    at_ms Int64,
    actor String
) ENGINE = ReplacingMergeTree(at_ms)
ORDER BY guild_id;
