-- The pipeline's projections of the topics. Every table leads its sorting key with
-- guild_id. Re-delivered messages must not duplicate rows, so every table is a
-- ReplacingMergeTree keyed by a deterministic identity (see schemas/clickhouse/README.md);
-- exact queries use FINAL or argMax. Milliseconds are Int64 columns beside a DateTime
-- for Grafana. Written for ClickHouse 18.16 and current releases alike: no DateTime64,
-- TTL, LowCardinality, Map or Bool.

CREATE TABLE IF NOT EXISTS combat_events (
    guild_id Int64,
    log_id Int64,
    line Int64,
    timestamp DateTime('UTC'),
    timestamp_ms Int64,
    event_type String,
    source_guid String,
    source_name String,
    source_flags UInt32,
    target_guid String,
    target_name String,
    target_flags UInt32,
    spell_id Int32,
    spell_name String,
    spell_school UInt32,
    amount Int64,
    overkill Int64,
    overhealing Int64,
    absorbed Int64,
    critical UInt8,
    miss_type String,
    aura_type String,
    advanced_guid String,
    advanced_owner_guid String,
    current_hp Int64,
    max_hp Int64,
    position_x Float64,
    position_y Float64,
    level Int32,
    raw String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (guild_id, log_id, line);

CREATE TABLE IF NOT EXISTS encounters (
    guild_id Int64,
    log_id Int64,
    start_line Int64,
    fight_id Int64,
    upload_id String,
    kind Enum8('encounter' = 1, 'challenge_mode' = 2, 'arena' = 3),
    name String,
    encounter_id Nullable(Int32),
    difficulty Nullable(Int32),
    group_size Nullable(Int32),
    instance_id Nullable(Int32),
    kill Nullable(UInt8),
    complete UInt8,
    start DateTime('UTC'),
    start_ms Int64,
    end_ms Int64,
    duration_ms Int64,
    end_line Int64,
    key_level Nullable(Int32),
    affixes Array(Int32),
    match_type String,
    parent_start_line Nullable(Int64),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start)
ORDER BY (guild_id, log_id, start_line);

CREATE TABLE IF NOT EXISTS encounter_players (
    guild_id Int64,
    log_id Int64,
    start_line Int64,
    start DateTime('UTC'),
    player_guid String,
    name String,
    class String,
    spec_id Nullable(Int32),
    item_level Nullable(Float64),
    damage_done Int64,
    healing_done Int64,
    overhealing Int64,
    absorbs_done Int64,
    damage_taken Int64,
    deaths Int64,
    casts Int64,
    dps Float64,
    hps Float64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start)
ORDER BY (guild_id, log_id, start_line, player_guid);

CREATE TABLE IF NOT EXISTS encounter_deaths (
    guild_id Int64,
    log_id Int64,
    start_line Int64,
    start DateTime('UTC'),
    line Int64,
    timestamp DateTime('UTC'),
    timestamp_ms Int64,
    fight_time_ms Int64,
    player_guid String,
    player_name String,
    ability String,
    spell_id Nullable(Int32),
    source_guid String,
    source_name String,
    amount Int64,
    overkill Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start)
ORDER BY (guild_id, log_id, start_line, line, player_guid);

CREATE TABLE IF NOT EXISTS characters (
    guild_id Int64,
    player_guid String,
    name String,
    class String,
    spec_id Nullable(Int32),
    item_level Nullable(Float64),
    first_seen DateTime('UTC'),
    last_seen DateTime('UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (guild_id, player_guid);

CREATE TABLE IF NOT EXISTS logs (
    guild_id Int64,
    log_id Int64,
    content_sha256 String,
    upload_id String,
    file_name String,
    state Enum8('accepted' = 1, 'parsing' = 2, 'completed' = 3, 'failed' = 4),
    bytes_read Int64,
    lines Int64,
    events Int64,
    dead_letters Int64,
    reason String,
    updated DateTime('UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (guild_id, log_id);

CREATE TABLE IF NOT EXISTS dead_letters (
    guild_id Int64,
    log_id Int64,
    upload_id String,
    source String,
    line Int64,
    event String,
    code String,
    message String,
    raw String,
    timestamp DateTime('UTC'),
    timestamp_ms Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (guild_id, log_id, source, line);
