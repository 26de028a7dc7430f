-- Undoes 0009: the fight's name and difficulty copied onto its players and deaths (0009
-- copies them again from `encounters`).
ALTER TABLE encounter_players DROP COLUMN fight_name, DROP COLUMN difficulty;
ALTER TABLE encounter_deaths DROP COLUMN fight_name, DROP COLUMN difficulty;
