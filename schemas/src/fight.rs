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
    /// Boss fights: the bosses' combined health when the pull ended, in percent of their
    /// maximum (0 on a kill); `None` for other fights, and with `boss_pct_missing` when
    /// the log cannot tell. Added in v1.3.
    #[serde(default)]
    pub boss_pct: Option<f64>,
    /// Why a boss fight has no `boss_pct`: `advanced_logging_off` (no unit health in the
    /// fight's lines) or `no_boss_seen` (health, but of no hostile creature). Added in v1.3.
    #[serde(default)]
    pub boss_pct_missing: Option<String>,
    /// Boss fights: each boss unit's health when the pull ended (several for a council),
    /// largest first. Added in v1.3.
    #[serde(default)]
    #[avro(default = "[]")]
    pub bosses: Vec<BossHealth>,
    /// The abilities that did the most damage to the fight's players, most first (at most
    /// `MAX_ABILITIES_TAKEN` of the fight core). Added in v1.3.
    #[serde(default)]
    #[avro(default = "[]")]
    pub damage_taken_by_ability: Vec<AbilityDamage>,
    /// The players' interrupts, dispels and spellsteals in order (the first
    /// `MAX_REMOVALS` of the fight core; the players' counts are whole). Added in v1.3.
    #[serde(default)]
    #[avro(default = "[]")]
    pub removals: Vec<SpellRemoval>,
    /// The zone the fight was in, from the log's last `ZONE_CHANGE` with the fight's
    /// instance id (`Manaforge Omega`); `None` when the log has none. Added in v1.3.
    #[serde(default)]
    pub zone_name: Option<String>,
}

/// What a player's spell took away from another unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemovalKind {
    // `SPELL_INTERRUPT`: a cast stopped.
    Interrupt,
    // `SPELL_DISPEL`: an aura removed.
    Dispel,
    // `SPELL_STOLEN`: an aura stolen (Spellsteal).
    Steal,
}

/// An interrupt, dispel or spellsteal by a player (or their pet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct SpellRemoval {
    pub timestamp_ms: i64,
    pub kind: RemovalKind,
    /// The player credited (a pet's owner).
    pub player_guid: String,
    /// The unit that cast it as the log names it (the player, or their pet).
    pub source_name: String,
    /// The interrupting or dispelling spell (`Kick`, `Dispel Magic`).
    pub ability: String,
    pub spell_id: i32,
    /// The spell interrupted, or the aura removed or stolen.
    pub removed: String,
    pub removed_spell_id: i32,
    pub target_guid: String,
    pub target_name: String,
}

/// A boss unit's health at the end of a pull, from the advanced-logging block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct BossHealth {
    pub guid: String,
    pub name: String,
    /// The creature id in the GUID (`Creature-0-…-<npc id>-<spawn>`).
    pub npc_id: Option<i32>,
    /// The last health the log wrote for the unit (0 once it died, or on a kill).
    pub current_hp: i64,
    pub max_hp: i64,
    /// `current_hp` over `max_hp`, in percent.
    pub pct: f64,
    /// A `UNIT_DIED` of this unit was seen during the pull.
    pub died: bool,
}

/// Damage the fight's players took from one ability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct AbilityDamage {
    /// Spell name, `Melee`, or the environmental type (`Falling`, `Lava`, ...).
    pub ability: String,
    pub spell_id: Option<i32>,
    /// Damage taken (as `damage_taken` counts it: including overkill).
    pub amount: i64,
    /// Damage shields took off these hits (already not in `amount`), and hits absorbed
    /// whole (`_MISSED` with `ABSORB`).
    pub absorbed: i64,
    pub hits: i64,
    /// Distinct players hit.
    pub players: i64,
    /// Deaths whose killing blow this ability was.
    pub killing_blows: i64,
}

/// What a player's ability line counts: damage done, healing done, or damage taken (its
/// own type, not [`RecapKind`]: a named type used in two places of one schema defeats
/// Avro resolution checkers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbilityKind {
    Damage,
    Heal,
    Taken,
}

/// Damage or healing one player (with their pets) did with one ability in one fight, or
/// damage they took from one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct PlayerAbility {
    /// `damage` (done), `heal` (done) or `taken`.
    pub kind: AbilityKind,
    /// Spell name, `Melee`, or the environmental type.
    pub ability: String,
    pub spell_id: Option<i32>,
    /// As the player's totals count it: damage done; healing done without overhealing;
    /// damage taken.
    pub amount: i64,
    pub hits: i64,
    /// Hits or heals that were critical.
    pub crits: i64,
    /// Damage shields took off these hits (the targets' for damage done, the player's for
    /// damage taken); healing absorbed.
    pub absorbed: i64,
    /// Heals only.
    pub overhealing: i64,
}

/// How long one aura was up on one player during one fight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct AuraUptime {
    pub spell_id: i32,
    pub aura: String,
    pub debuff: bool,
    /// Milliseconds up within the fight (an aura up at the pull counts from the pull, one
    /// up at the end until the end).
    pub uptime_ms: i64,
    /// Times applied during the fight (`SPELL_AURA_APPLIED`).
    pub applications: i64,
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
    /// Casts interrupted (`SPELL_INTERRUPT`), pets' included. Added in v1.3.
    #[serde(default)]
    #[avro(default = "0")]
    pub interrupts: i64,
    /// Auras dispelled or stolen (`SPELL_DISPEL`, `SPELL_STOLEN`), pets' included. Added
    /// in v1.3.
    #[serde(default)]
    #[avro(default = "0")]
    pub dispels: i64,
    /// `damage_done` per second of fight duration.
    pub dps: f64,
    /// `healing_done` per second of fight duration.
    pub hps: f64,
    /// Damage and healing done by ability, the most first (the fight core's
    /// `MAX_ABILITIES_PER_PLAYER`), then damage taken by ability, the most first
    /// (`MAX_TAKEN_PER_PLAYER`). Added in v1.4.
    #[serde(default)]
    #[avro(default = "[]")]
    pub abilities: Vec<PlayerAbility>,
    /// The auras the player had, the longest up first (the fight core's
    /// `MAX_AURAS_PER_PLAYER`). Added in v1.4.
    #[serde(default)]
    #[avro(default = "[]")]
    pub auras: Vec<AuraUptime>,
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
    /// What the player took in the seconds before dying, the killing blow first (the
    /// fight core's `RECAP_WINDOW_MS`, at most `RECAP_MAX_ENTRIES`). Added in v1.3.
    #[serde(default)]
    #[avro(default = "[]")]
    pub recap: Vec<RecapEntry>,
}

/// Whether a recap line hurt or healed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecapKind {
    Damage,
    Heal,
}

/// One hit or heal a player took before dying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct RecapEntry {
    pub timestamp_ms: i64,
    pub kind: RecapKind,
    /// Spell name, `Melee`, or the environmental type.
    pub ability: String,
    pub spell_id: Option<i32>,
    pub source_guid: String,
    pub source_name: String,
    /// Damage (including overkill) or healing (including overhealing); 0 for a hit
    /// absorbed whole.
    pub amount: i64,
    /// Damage beyond the player's remaining health (0 when none).
    pub overkill: i64,
    /// Damage absorbed by shields; for a heal, healing absorbed.
    pub absorbed: i64,
    /// Healing beyond the player's missing health (heals only).
    pub overhealing: i64,
    /// The player's health after the line, where the advanced-logging block describes
    /// the player (most spell damage and heals; not melee swings).
    pub hp: Option<i64>,
    pub max_hp: Option<i64>,
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
