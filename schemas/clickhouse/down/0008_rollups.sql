-- Undoes 0008: the day roll-ups are computed from the fights (the consumers and
-- `wowlogs migrate` compute them again once 0008 is applied again).
DROP TABLE IF EXISTS guild_day_bosses;
DROP TABLE IF EXISTS guild_day_players;
DROP TABLE IF EXISTS guild_days;
