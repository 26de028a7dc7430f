-- Undoes 0013: what the encounter consumer reads off the events (the boss's health, the
-- zone, death recaps, interrupts, dispels, a fight's details); a rebuild of the
-- encounters group makes them again once 0013 is applied again.
ALTER TABLE encounter_players DROP COLUMN interrupts, DROP COLUMN dispels;
ALTER TABLE encounter_deaths DROP COLUMN recap_timestamp_ms, DROP COLUMN recap_kind, DROP COLUMN recap_ability, DROP COLUMN recap_spell_id, DROP COLUMN recap_source_guid, DROP COLUMN recap_source_name, DROP COLUMN recap_amount, DROP COLUMN recap_overkill, DROP COLUMN recap_absorbed, DROP COLUMN recap_overhealing, DROP COLUMN recap_hp, DROP COLUMN recap_max_hp;
DROP TABLE IF EXISTS encounter_details;
ALTER TABLE encounters DROP COLUMN boss_pct, DROP COLUMN boss_pct_missing, DROP COLUMN zone_name;
