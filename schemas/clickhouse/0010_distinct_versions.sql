-- One version, one row: every row of a key that shares its version with another row of
-- that key is written again, as it reads now (`FINAL`: the last written), one version
-- higher.
--
-- Migration 0009 wrote the player and death rows again with their fight's name at
-- their own version, relying on a ReplacingMergeTree keeping the last written of equal
-- versions. The operators' relations take the row of the highest version instead
-- (`argMax(value, version)`, `crate::analytics`), which among equal versions may be
-- either; after this, the latest row of every key is alone at its version. (Rows a
-- re-delivered record wrote again are identical to their twin, and are written once
-- more unchanged.) Safe to run again.

INSERT INTO encounter_players (guild_id, log_id, start_line, start, player_guid, name, class, spec_id, item_level,
    damage_done, healing_done, overhealing, absorbs_done, damage_taken, deaths, casts, dps, hps, version,
    fight_name, difficulty)
SELECT guild_id, log_id, start_line, start, player_guid, name, class, spec_id, item_level,
    damage_done, healing_done, overhealing, absorbs_done, damage_taken, deaths, casts, dps, hps, version + 1,
    fight_name, difficulty
FROM encounter_players FINAL
WHERE (guild_id, log_id, start_line, player_guid) IN (
    SELECT guild_id, log_id, start_line, player_guid FROM encounter_players
    GROUP BY guild_id, log_id, start_line, player_guid, version HAVING count() > 1
);

INSERT INTO encounter_deaths (guild_id, log_id, start_line, start, line, timestamp, timestamp_ms, fight_time_ms,
    player_guid, player_name, ability, spell_id, source_guid, source_name, amount, overkill, version,
    fight_name, difficulty)
SELECT guild_id, log_id, start_line, start, line, timestamp, timestamp_ms, fight_time_ms,
    player_guid, player_name, ability, spell_id, source_guid, source_name, amount, overkill, version + 1,
    fight_name, difficulty
FROM encounter_deaths FINAL
WHERE (guild_id, log_id, start_line, line, player_guid) IN (
    SELECT guild_id, log_id, start_line, line, player_guid FROM encounter_deaths
    GROUP BY guild_id, log_id, start_line, line, player_guid, version HAVING count() > 1
)
