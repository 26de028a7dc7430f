-- Characters, one row per guild, player and log. 0001's `characters` was keyed by
-- player alone, so a replacing merge would have kept one row and lost the earliest
-- first_seen; nothing wrote to it before this migration. `characters` is now a view
-- that folds the per-log rows: the latest non-empty class, spec and item level, the
-- earliest first_seen and the latest last_seen.

DROP TABLE IF EXISTS characters;

CREATE TABLE IF NOT EXISTS character_logs (
    guild_id Int64,
    player_guid String,
    log_id Int64,
    name String,
    class String,
    spec_id Nullable(Int32),
    item_level Nullable(Float64),
    first_seen DateTime('UTC'),
    last_seen DateTime('UTC'),
    last_seen_ms Int64,
    fights Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(first_seen)
ORDER BY (guild_id, player_guid, log_id);

CREATE VIEW IF NOT EXISTS characters AS
SELECT
    guild_id,
    player_guid,
    argMax(name, last_seen_ms) AS name,
    argMaxIf(class, last_seen_ms, class != '') AS class,
    argMaxIf(spec_id, last_seen_ms, isNotNull(spec_id)) AS spec_id,
    argMaxIf(item_level, last_seen_ms, isNotNull(item_level)) AS item_level,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen,
    count() AS logs,
    sum(fights) AS fights
FROM character_logs FINAL
GROUP BY guild_id, player_guid;
