-- A key's expiry (wowlogs_tenancy: issued with one, or set when the key is rotated: the
-- old key stays valid for the overlap, then is refused). Milliseconds since the epoch;
-- 0: the key does not expire (every key issued before).

ALTER TABLE api_keys ADD COLUMN expires_ms Int64 DEFAULT 0;
