-- The fight's name and difficulty on its player and death rows, so one boss's pulls are
-- read from one table (the encounter analysis dashboard: DPS, HPS, deaths, item level
-- per pull) instead of with a subquery on `encounters` each time.
--
-- Rows written before this migration get them from their fight: each is written again
-- with its fight's name and difficulty and its own version, which replaces it (of two
-- rows with the same version a ReplacingMergeTree keeps the last written). Safe to run
-- again: only rows still without a fight name are written.

ALTER TABLE encounter_players ADD COLUMN fight_name String;

ALTER TABLE encounter_players ADD COLUMN difficulty Nullable(Int32);

ALTER TABLE encounter_deaths ADD COLUMN fight_name String;

ALTER TABLE encounter_deaths ADD COLUMN difficulty Nullable(Int32);

INSERT INTO encounter_players (guild_id, log_id, start_line, start, player_guid, name, class, spec_id, item_level,
    damage_done, healing_done, overhealing, absorbs_done, damage_taken, deaths, casts, dps, hps, version,
    fight_name, difficulty)
SELECT guild_id, log_id, start_line, start, player_guid, name, class, spec_id, item_level,
    damage_done, healing_done, overhealing, absorbs_done, damage_taken, deaths, casts, dps, hps, version,
    of_fight_name, of_fight_difficulty
FROM (SELECT * FROM encounter_players FINAL WHERE fight_name = '') AS written
ANY INNER JOIN (
    SELECT guild_id, log_id, start_line, name AS of_fight_name, difficulty AS of_fight_difficulty
    FROM encounters FINAL
) AS fights USING (guild_id, log_id, start_line);

INSERT INTO encounter_deaths (guild_id, log_id, start_line, start, line, timestamp, timestamp_ms, fight_time_ms,
    player_guid, player_name, ability, spell_id, source_guid, source_name, amount, overkill, version,
    fight_name, difficulty)
SELECT guild_id, log_id, start_line, start, line, timestamp, timestamp_ms, fight_time_ms,
    player_guid, player_name, ability, spell_id, source_guid, source_name, amount, overkill, version,
    of_fight_name, of_fight_difficulty
FROM (SELECT * FROM encounter_deaths FINAL WHERE fight_name = '') AS written
ANY INNER JOIN (
    SELECT guild_id, log_id, start_line, name AS of_fight_name, difficulty AS of_fight_difficulty
    FROM encounters FINAL
) AS fights USING (guild_id, log_id, start_line)
