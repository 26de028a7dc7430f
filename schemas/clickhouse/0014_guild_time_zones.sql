-- Days in the guild's time zone. A roll-up day (guild_days, guild_day_players,
-- guild_day_bosses) is the calendar date of a fight's start in the guild's time zone
-- (guilds.timezone, UTC by default): a US guild's evening raid is on the evening's date,
-- not the next UTC day. guild_days says which zone its day was computed in, so a change
-- of zone (or this upgrade) is found and the guild's days computed again: the registry
-- does it when a guild's time zone changes, `wowlogs migrate` for any guild whose days
-- are in another zone than its own. Rows written before this were computed in UTC.

ALTER TABLE guild_days ADD COLUMN zone String DEFAULT 'UTC';
