-- Undoes 0014: the zone a day roll-up was computed in (0014 and the next roll-up refresh
-- put it back).
ALTER TABLE guild_days DROP COLUMN zone;
