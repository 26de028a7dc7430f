-- Roll-ups per guild and day, for dashboards and the query API's totals: a few rows a
-- day where the fights tables hold every fight and player. They are not materialized
-- views: a view sees inserts only, while these tables' rows are replaced (a re-read
-- log, a read from the middle replaced by a full one), deleted (retention, transfers)
-- and swapped (rebuilds). So the writer that changes a guild's fights computes that
-- guild's touched days again from the deduplicated rows (wowlogs_store::rollups): a
-- day's row is replaced whole, and a day left with no fights gets a row of zeros.

CREATE TABLE IF NOT EXISTS guild_days (
    guild_id Int64,
    day Date,
    pulls UInt64,
    kills UInt64,
    raid_pulls UInt64,
    keystones UInt64,
    arena_matches UInt64,
    battlegrounds UInt64,
    fight_ms Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (guild_id, day);

CREATE TABLE IF NOT EXISTS guild_day_players (
    guild_id Int64,
    day Date,
    player_guid String,
    name String,
    class String,
    fights UInt64,
    dps_sum Float64,
    hps_sum Float64,
    deaths Int64,
    item_level_max Nullable(Float64),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (guild_id, day, player_guid);

CREATE TABLE IF NOT EXISTS guild_day_bosses (
    guild_id Int64,
    day Date,
    name String,
    difficulty Int32,
    pulls UInt64,
    kills UInt64,
    wipes UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (guild_id, day, name, difficulty);
