-- The guild's progress plan (issue 29): each character's gear per slot, the roster, the
-- weekly item-level targets, the guild master's weekly guidance and whether the guild
-- takes part in comparisons.
--
-- `character_gear` is a projection of the events topic (the events sink writes it from
-- each `COMBATANT_INFO`): one row per equipped slot, empty slots left out, each row with
-- the item level of the whole snapshot ("calculated from equipped items": shirt and
-- tabard left out, wowlogs_schemas::slots). Keyed by the line it came from, so a replay
-- replaces its twin; sorted by player so one character's latest gear is a short read.
-- A log's rows go with the log (retention, deletions) and stay with the guild that
-- uploaded it when its fights are transferred, like its raw events. Logs stored before
-- this have no gear until `wowlogs rebuild events-sink`; their fights' item levels
-- counted a retail tabard (the 18th item) until `wowlogs rebuild encounters`.
--
-- The other four are written by the guild (through the API or the CLI), never made from
-- the topics: backups keep them with the guilds and keys. Each change is a new version
-- (its time in ms); a character who leaves the roster or a target taken off the roadmap
-- is kept with `active = 0`, so history stays.

CREATE TABLE IF NOT EXISTS character_gear (
    guild_id Int64,
    player_guid String,
    log_id Int64,
    line Int64,
    timestamp DateTime('UTC'),
    timestamp_ms Int64,
    spec_id Int32,
    average_item_level Float64,
    slot UInt8,
    item_id Int64,
    item_level Int32,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (guild_id, player_guid, log_id, line, slot);

CREATE TABLE IF NOT EXISTS guild_roster (
    guild_id Int64,
    character String,
    name String,
    realm String,
    region String,
    rank Int32,
    main String,
    class String,
    active UInt8,
    updated_ms Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (guild_id, character);

CREATE TABLE IF NOT EXISTS progress_targets (
    guild_id Int64,
    week_start Date,
    target_item_level Int32,
    label String,
    active UInt8,
    updated_ms Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (guild_id, week_start);

CREATE TABLE IF NOT EXISTS progress_messages (
    guild_id Int64,
    week_start Date,
    written_ms Int64,
    message String,
    author String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (guild_id, week_start, written_ms);

CREATE TABLE IF NOT EXISTS progress_settings (
    guild_id Int64,
    comparisons String,
    updated_ms Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY guild_id;
