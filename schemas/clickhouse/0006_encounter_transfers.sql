-- Encounters moved from one guild to another by an instance administrator
-- (wowlogs_store::transfer): the fight as the source guild (`guild_id`) knew it, and
-- where it went (`target_guild`).
-- Recorded before the rows move, so a transfer is idempotent and `wowlogs rebuild`
-- can move again what a replay of the topics puts back under the source guild.

CREATE TABLE IF NOT EXISTS encounter_transfers (
    guild_id Int64,
    log_id Int64,
    start_line Int64,
    fight_id Int64,
    target_guild Int64,
    at_ms Int64,
    actor String
) ENGINE = ReplacingMergeTree(at_ms)
ORDER BY (guild_id, log_id, start_line);
