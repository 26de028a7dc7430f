//! What the encounter core makes of events: fights with per-player metrics and deaths.
//!
//! These are the rows the consumers store and the API serves; the metric definitions
//! (docs/metrics.md) are part of the contract.

use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

/// The kind of a fight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "snake_case")]
pub enum FightKind {
    // A raid or dungeon boss: `ENCOUNTER_START` .. `ENCOUNTER_END`.
    Encounter,
    // A Mythic+ run: `CHALLENGE_MODE_START` .. `CHALLENGE_MODE_END`.
    ChallengeMode,
    // An arena match: `ARENA_MATCH_START` .. `ARENA_MATCH_END`, or in Classic clients
    // from entering an arena to one side being wiped out; a Solo Shuffle match and each
    // of its rounds.
    Arena,
    // A battleground, from entering its zone to leaving it.
    Battleground,
}

/// One fight of a log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct FightSummary {
    pub kind: FightKind,
    /// Boss name, dungeon name, or arena zone.
    pub name: String,
    /// The boss's encounter id (encounters only).
    pub encounter_id: Option<i32>,
    /// Difficulty id (encounters; 8 = Mythic+ dungeon bosses).
    pub difficulty: Option<i32>,
    pub group_size: Option<i32>,
    pub instance_id: Option<i32>,
    /// Kill (encounter), timed (Mythic+), won (arena, round or battleground, for the log
    /// owner's side);
    /// `false` for an incomplete fight, `None` when the log cannot tell.
    pub kill: Option<bool>,
    /// False when the log ends, or another fight starts, before the end event.
    pub complete: bool,
    pub start_ms: i64,
    pub end_ms: i64,
    /// From the end event's fight time where the game writes one, else `end_ms - start_ms`.
    pub duration_ms: i64,
    /// Line of the start event: with the log, the fight's identity.
    pub start_line: i64,
    pub end_line: i64,
    /// Mythic+ keystone level and affixes.
    pub key_level: Option<i32>,
    pub affixes: Vec<i32>,
    /// `2v2`, `3v3`, `Skirmish`, ... (arenas).
    pub match_type: Option<String>,
    /// For a boss inside a Mythic+ run, or a Solo Shuffle round: the run's or match's
    /// start line.
    pub parent_start_line: Option<i64>,
    /// A Solo Shuffle round's number, from 1.
    pub round: Option<i32>,
    /// A Solo Shuffle match: the rounds the log owner's side won.
    pub rounds_won: Option<i32>,
    /// Players sorted by damage done, highest first.
    pub players: Vec<PlayerMetrics>,
    /// Player deaths in order.
    pub deaths: Vec<DeathRecord>,
}

/// One player's numbers in one fight (pets and guardians merged into their owner).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct PlayerMetrics {
    pub guid: String,
    /// `Name-Realm`; empty when the player only appears in `COMBATANT_INFO`.
    pub name: String,
    pub class: Option<String>,
    pub spec_id: Option<i32>,
    /// Mean equipped item level from `COMBATANT_INFO`.
    pub item_level: Option<f64>,
    pub damage_done: i64,
    pub healing_done: i64,
    pub overhealing: i64,
    pub absorbs_done: i64,
    pub damage_taken: i64,
    pub deaths: i64,
    pub casts: i64,
    /// `damage_done` per second of fight duration.
    pub dps: f64,
    /// `healing_done` per second of fight duration.
    pub hps: f64,
}

/// A player death and what caused it: the death recap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct DeathRecord {
    pub guid: String,
    pub name: String,
    pub timestamp_ms: i64,
    /// Milliseconds since the fight started.
    pub fight_time_ms: i64,
    pub line: i64,
    /// The last damage the player took in this fight before dying.
    pub killing_blow: Option<KillingBlow>,
}

/// The hit that killed a player.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct KillingBlow {
    /// Spell name, `Melee`, or the environmental type (`Falling`, `Lava`, ...).
    pub ability: String,
    pub spell_id: Option<i32>,
    pub source_guid: String,
    pub source_name: String,
    pub amount: i64,
    /// Damage beyond the player's remaining health (0 when the log says none).
    pub overkill: i64,
}

/// Something odd about a log's structure that is reported rather than fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
pub struct Anomaly {
    pub line: i64,
    /// Stable identifier, e.g. `end_without_start`.
    pub code: String,
    pub message: String,
}
