-- Per-guild retention (issue 17): a guild's logs go this many days after they were
-- uploaded (`wowlogs retention`, scheduled daily); 0 keeps them for good.

ALTER TABLE guilds ADD COLUMN retention_days UInt32;
