-- Why did we wipe (EncounterSummary 1.3).
--
-- On `encounters`, what lists of fights show: the bosses' combined health when the fight
-- ended (or why the log cannot tell) and its zone. In `encounter_details`, one row per
-- fight, what one fight's pages show: each boss's health, the abilities that hurt the
-- players most and the players' interrupts, dispels and spellsteals, as parallel arrays
-- (one element per boss, ability or removal). They are a table of their own so that
-- reading fights (lists, FINAL over a guild's months) never reads the arrays: ClickHouse
-- 18.16 opens every column file of every part under FINAL, and a guild with 22 years of
-- monthly parts would pass the server's open-file limit. On `encounter_deaths`, each
-- death's recap; on `encounter_players`, each player's interrupts and dispels.
--
-- Fights written before this have NULL boss_pct, empty boss_pct_missing and zone_name,
-- no details and no recaps until a rebuild computes them (`wowlogs rebuild encounters`).
-- One ALTER per table: on a cluster each ALTER is three distributed DDL statements.

ALTER TABLE encounters
    ADD COLUMN boss_pct Nullable(Float64),
    ADD COLUMN boss_pct_missing String,
    ADD COLUMN zone_name String;

CREATE TABLE IF NOT EXISTS encounter_details (
    guild_id Int64,
    log_id Int64,
    start_line Int64,
    start DateTime('UTC'),
    fight_name String,
    difficulty Nullable(Int32),
    boss_guid Array(String),
    boss_name Array(String),
    boss_npc_id Array(Nullable(Int32)),
    boss_current_hp Array(Int64),
    boss_max_hp Array(Int64),
    boss_died Array(UInt8),
    taken_ability Array(String),
    taken_spell_id Array(Nullable(Int32)),
    taken_amount Array(Int64),
    taken_absorbed Array(Int64),
    taken_hits Array(Int64),
    taken_players Array(Int64),
    taken_killing_blows Array(Int64),
    removal_timestamp_ms Array(Int64),
    removal_kind Array(String),
    removal_player_guid Array(String),
    removal_source_name Array(String),
    removal_ability Array(String),
    removal_spell_id Array(Int32),
    removal_removed Array(String),
    removal_removed_spell_id Array(Int32),
    removal_target_guid Array(String),
    removal_target_name Array(String),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start)
ORDER BY (guild_id, log_id, start_line);

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
    ADD COLUMN recap_max_hp Array(Nullable(Int64));

ALTER TABLE encounter_players
    ADD COLUMN interrupts Int64,
    ADD COLUMN dispels Int64
