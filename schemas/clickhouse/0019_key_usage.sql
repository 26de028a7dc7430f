-- When each key was last used (wowlogs_tenancy::KeyCache): every service that
-- authenticates requests records the keys it admitted and writes them here about once a
-- minute; the latest time per key stays (ReplacingMergeTree by the time). Shown with the
-- keys (`last_used`), so an administrator sees which keys are idle before revoking them.

CREATE TABLE IF NOT EXISTS api_key_usage (
    guild_id Int64,
    key_id String,
    last_used_ms Int64
) ENGINE = ReplacingMergeTree(last_used_ms)
ORDER BY (guild_id, key_id);
