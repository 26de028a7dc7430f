-- Each player's damage and healing done and damage taken by ability and the auras they had
-- (EncounterSummary 1.4), on `encounter_details` (one row per fight) as parallel arrays
-- with the player's GUID in each element: at most 25 abilities done, 15 taken and 20
-- auras per player (the fight core's MAX_ABILITIES_PER_PLAYER, MAX_TAKEN_PER_PLAYER and
-- MAX_AURAS_PER_PLAYER), so a 20-player pull writes at most 800 and 400 elements. On this
-- table, not on `encounter_players`: reading players (lists, roll-ups, FINAL over a
-- guild's months) never opens them.
-- Fights written before this have none until a rebuild computes them
-- (`wowlogs rebuild encounters`).

ALTER TABLE encounter_details
    ADD COLUMN done_player_guid Array(String),
    ADD COLUMN done_kind Array(String),
    ADD COLUMN done_ability Array(String),
    ADD COLUMN done_spell_id Array(Nullable(Int32)),
    ADD COLUMN done_amount Array(Int64),
    ADD COLUMN done_hits Array(Int64),
    ADD COLUMN done_crits Array(Int64),
    ADD COLUMN done_absorbed Array(Int64),
    ADD COLUMN done_overhealing Array(Int64),
    ADD COLUMN aura_player_guid Array(String),
    ADD COLUMN aura_spell_id Array(Int32),
    ADD COLUMN aura_name Array(String),
    ADD COLUMN aura_debuff Array(UInt8),
    ADD COLUMN aura_uptime_ms Array(Int64),
    ADD COLUMN aura_applications Array(Int64);
