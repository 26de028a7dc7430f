-- Instance administration (issue 16): guilds get a contact and a time zone, and every
-- audit entry names the request it came from (the entry point's X-Request-Id), so an
-- entry can be matched with the request logs. Instance-admin keys belong to no guild:
-- they are stored with guild_id 0, which no guild ever has (ids start at 1).

ALTER TABLE guilds ADD COLUMN contact_info String;

ALTER TABLE guilds ADD COLUMN timezone String DEFAULT 'UTC';

ALTER TABLE audit_log ADD COLUMN request_id String;
