-- When each day's last fight ended, so the query API's totals (`last_activity`) and
-- guild summaries read the day roll-ups instead of every fight.
--
-- Days rolled up before this are computed again from the fights, at a version of this
-- second (a refresh later in it writes a higher one, so it is never hidden). Days
-- with no fights left keep their row of zeros. Safe to run again.

ALTER TABLE guild_days ADD COLUMN last_end_ms Int64;

INSERT INTO guild_days (guild_id, day, pulls, kills, raid_pulls, keystones, arena_matches, battlegrounds, fight_ms,
    last_end_ms, version)
SELECT guild_id, toDate(start) AS day, count(), countIf(ifNull(kill, 0) = 1), countIf(kind = 'encounter'),
    countIf(kind = 'challenge_mode'), countIf(kind = 'arena'), countIf(kind = 'battleground'), sum(duration_ms),
    max(end_ms), toUInt64(toUnixTimestamp(now())) * 2000
FROM encounters FINAL
WHERE round IS NULL
GROUP BY guild_id, day
