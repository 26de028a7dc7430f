-- Why did we wipe (EncounterSummary 1.3): each fight's bosses' health when it ended and
-- the abilities that hurt its players most, on `encounters`; each death's recap on
-- `encounter_deaths`. Parallel arrays (one element per boss, ability or recap line), so
-- every tool that already copies, transfers, backs up, rebuilds or deletes these rows
-- carries them too. Fights written before this have empty arrays, a NULL boss_pct and
-- an empty boss_pct_missing until a rebuild computes them (`wowlogs rebuild encounters`).
-- One ALTER per table: on a cluster each ALTER is three distributed DDL statements.

ALTER TABLE encounters
    ADD COLUMN boss_pct Nullable(Float64),
    ADD COLUMN boss_pct_missing String,
    ADD COLUMN boss_guid Array(String),
    ADD COLUMN boss_name Array(String),
    ADD COLUMN boss_npc_id Array(Nullable(Int32)),
    ADD COLUMN boss_current_hp Array(Int64),
    ADD COLUMN boss_max_hp Array(Int64),
    ADD COLUMN boss_died Array(UInt8),
    ADD COLUMN taken_ability Array(String),
    ADD COLUMN taken_spell_id Array(Nullable(Int32)),
    ADD COLUMN taken_amount Array(Int64),
    ADD COLUMN taken_absorbed Array(Int64),
    ADD COLUMN taken_hits Array(Int64),
    ADD COLUMN taken_players Array(Int64),
    ADD COLUMN taken_killing_blows Array(Int64);

ALTER TABLE encounter_deaths
    ADD COLUMN recap_timestamp_ms Array(Int64),
    ADD COLUMN recap_kind Array(String),
    ADD COLUMN recap_ability Array(String),
    ADD COLUMN recap_spell_id Array(Nullable(Int32)),
    ADD COLUMN recap_source_guid Array(String),
    ADD COLUMN recap_source_name Array(String),
    ADD COLUMN recap_amount Array(Int64),
    ADD COLUMN recap_overkill Array(Int64),
    ADD COLUMN recap_absorbed Array(Int64),
    ADD COLUMN recap_overhealing Array(Int64),
    ADD COLUMN recap_hp Array(Nullable(Int64)),
    ADD COLUMN recap_max_hp Array(Nullable(Int64))
