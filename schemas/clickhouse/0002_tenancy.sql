-- Guilds, their API keys and the audit trail (the query API's tenancy model).
-- A default guild exists from the start.

CREATE TABLE IF NOT EXISTS guilds (
    guild_id Int64,
    name String,
    server String,
    region String,
    faction String,
    settings String,
    active UInt8,
    created DateTime('UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY guild_id;

CREATE TABLE IF NOT EXISTS api_keys (
    guild_id Int64,
    key_id String,
    key_hash String,
    description String,
    permissions Array(String),
    events_per_minute UInt32,
    max_connections UInt32,
    created DateTime('UTC'),
    revoked UInt8,
    revoked_at DateTime('UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (guild_id, key_id);

CREATE TABLE IF NOT EXISTS audit_log (
    guild_id Int64,
    at DateTime('UTC'),
    at_ms Int64,
    actor String,
    action String,
    target String,
    detail String,
    remote_addr String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (guild_id, at_ms);

INSERT INTO guilds (guild_id, name, server, region, faction, settings, active, created, version)
VALUES (1, 'Default Guild', '', '', '', '{}', 1, toDateTime(0, 'UTC'), 0);
