-- Logs a guild's retention (or an operator) deleted (wowlogs_store::deletions): recorded
-- before their rows go, and never rebuilt, so a deletion stays a deletion. The topics
-- keep every record for ever; the consumers drop the records of a log listed here
-- whatever reads them again (a rebuild, a restore, a new consumer group), and a restore
-- brings this list back with the guilds and keys.

CREATE TABLE IF NOT EXISTS deleted_logs (
    guild_id Int64,
    log_id Int64,
    reason String,
    at_ms Int64,
    actor String
) ENGINE = ReplacingMergeTree(at_ms)
ORDER BY (guild_id, log_id);
