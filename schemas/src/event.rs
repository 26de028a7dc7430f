//! The typed combat event: one line of `WoWCombatLog.txt`. (Over ~500 lines on purpose:
//! the event and its payload variants are one Avro record; the derived schema and the
//! direct codec read their field order from this one file.)
//!
//! A line is `TIMESTAMP  EVENT,base fields,prefix fields,[advanced block],suffix fields`.
//! The event keeps that structure: the base block becomes [`Unit`]s, the prefix a
//! [`Spell`] (or the environmental type), the advanced block an [`AdvancedUnit`], and
//! the suffix (or a whole special event) a [`Payload`] variant.
//!
//! Conventions: GUIDs and names are empty strings where the log writes
//! `0000000000000000` or `nil`; amounts are `i64`; bit fields are `u32`.

use crate::ids::{GuildId, LogId};
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The event name exactly as written in the log (`SPELL_DAMAGE`, `ENCOUNTER_START`, ...).
///
/// Known names borrow a static string, so parsing does not allocate for them.
pub type EventName = Cow<'static, str>;

/// One parsed line of a combat log: the record of the `wowlogs.combat-events.v1` topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "wowlogs.v1")]
pub struct CombatEvent {
    /// The guild (tenant) that uploaded the log; the topic key.
    pub guild_id: GuildId,
    /// The log, from the guild and the SHA-256 of the file's content.
    pub log_id: LogId,
    /// 1-based line number in the log file; with the guild and log, the event's identity.
    pub line: i64,
    /// When the event happened, in UTC epoch milliseconds.
    pub timestamp_ms: i64,
    /// The event name as written in the log.
    pub event_type: EventName,
    /// The unit that caused the event (base block), for events that have one.
    pub source: Option<Unit>,
    /// The unit the event happened to (base block), for events that have one.
    pub target: Option<Unit>,
    /// The spell of `SPELL_*`, `RANGE_*`, `DAMAGE_SHIELD*` and `DAMAGE_SPLIT` events.
    pub spell: Option<Spell>,
    /// The advanced-logging block, when advanced combat logging wrote one on this line.
    pub advanced: Option<AdvancedUnit>,
    /// What happened: the typed suffix or special-event fields.
    pub payload: Payload,
    /// The line as written in the log, when the reader was asked to keep it (the
    /// producer does, for storage); empty otherwise.
    pub raw: String,
    /// Fields at the end of the line beyond the ones this version of the contract knows
    /// (a later game patch appending a field), verbatim; empty on every known layout.
    #[serde(default)]
    pub extra: Vec<String>,
}

/// A unit of the base block: GUID, name and flags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
pub struct Unit {
    /// `Player-…`, `Creature-…`, `Pet-…`, ...; empty for `0000000000000000`.
    pub guid: String,
    /// The unit's name (`Name-Realm` for players); empty for `nil`.
    pub name: String,
    /// Unit flags (`COMBATLOG_OBJECT_*` bits).
    pub flags: u32,
    /// Raid target marker flags.
    pub raid_flags: u32,
}

impl Unit {
    /// True when the GUID names a player character.
    pub fn is_player(&self) -> bool {
        self.guid.starts_with("Player-")
    }
}

/// A spell reference: id, name and school bit mask.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
pub struct Spell {
    pub id: i32,
    pub name: String,
    /// Spell school bit mask (1 physical, 2 holy, 4 fire, ...).
    pub school: u32,
}

/// The advanced combat logging block: the state of one unit when the event happened.
///
/// It describes the unit named by `guid`, which is the source for casts and melee swings
/// and the target for most damage and healing; `owner_guid` is set for pets and guardians.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct AdvancedUnit {
    pub guid: String,
    /// Owner of a pet or guardian; empty for units without one.
    pub owner_guid: String,
    pub current_hp: i64,
    pub max_hp: i64,
    pub attack_power: i64,
    pub spell_power: i64,
    pub armor: i64,
    /// Absorb shields on the unit (retail only; 0 in Classic).
    pub absorb: i64,
    /// Primary power type; units with several powers write `0|3`, of which this is the first.
    pub power_type: i32,
    pub current_power: i64,
    pub max_power: i64,
    pub power_cost: i64,
    pub position_x: f64,
    pub position_y: f64,
    pub ui_map_id: i32,
    pub facing: f64,
    /// Item level for players in retail, character level in Classic.
    pub level: i32,
    /// The first of two fields inserted after armor (v22, and Classic 1.15.5); Blizzard has
    /// not documented them, so they are kept verbatim (0 in older layouts).
    pub v22_unknown_1: i64,
    /// The second undocumented v22 field.
    pub v22_unknown_2: i64,
}

/// What happened on a line: the typed suffix of a combat event, or a special event.
///
/// In Avro this is a union of the variants' records (`null` for [`Payload::None`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(repr = "bare_union")]
pub enum Payload {
    // Events fully described by their name, units and spell: `_RESURRECT`,
    // `_DURABILITY_DAMAGE`, ... (Avro `null`; the derive allows no doc on unit variants).
    None,
    Damage(Damage),
    Missed(Missed),
    Heal(Heal),
    HealAbsorbed(HealAbsorbed),
    Absorbed(Absorbed),
    Energize(Energize),
    Drain(Drain),
    Interrupt(Interrupt),
    Dispel(Dispel),
    Aura(Aura),
    Cast(Cast),
    Summon(Summon),
    ExtraAttacks(ExtraAttacks),
    Empower(Empower),
    Death(Death),
    Enchant(Enchant),
    EncounterStart(EncounterStart),
    EncounterEnd(EncounterEnd),
    ChallengeModeStart(ChallengeModeStart),
    ChallengeModeEnd(ChallengeModeEnd),
    ArenaMatchStart(ArenaMatchStart),
    ArenaMatchEnd(ArenaMatchEnd),
    ZoneChange(ZoneChange),
    MapChange(MapChange),
    CombatantInfo(Box<CombatantInfo>),
    LogVersion(LogVersion),
    Emote(Emote),
    /// An event the parser does not know, kept with its raw fields instead of dropped.
    Generic(Generic),
}

/// `_DAMAGE`, `_DAMAGE_LANDED`, `DAMAGE_SHIELD`, `DAMAGE_SPLIT`, `ENVIRONMENTAL_DAMAGE`
/// and their `_SUPPORT` variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Damage {
    /// Damage dealt, including `overkill`.
    pub amount: i64,
    /// Damage before mitigation.
    pub base_amount: i64,
    /// Damage beyond the target's remaining health; -1 when none.
    pub overkill: i64,
    pub school: u32,
    pub resisted: i64,
    pub blocked: i64,
    pub absorbed: i64,
    pub critical: bool,
    pub glancing: bool,
    pub crushing: bool,
    /// The `ST`/`AOE` tag that `COMBAT_LOG_VERSION` 22 appends to spell damage:
    /// `Some(true)` for area damage, `None` where the layout has no tag.
    pub aoe: Option<bool>,
    /// `Falling`, `Lava`, ... for `ENVIRONMENTAL_DAMAGE`.
    pub environmental_type: Option<String>,
    /// For `_SUPPORT` events: the supporting player (Augmentation Evoker) credited with it.
    pub supporter_guid: Option<String>,
}

/// `_SUMMON` and `_CREATE`: the target is the new unit, owned by the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
pub struct Summon {}

/// `_MISSED`: an attack that did not land (fully or partly absorbed, dodged, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Missed {
    /// `MISS`, `DODGE`, `PARRY`, `ABSORB`, `RESIST`, `BLOCK`, `IMMUNE`, `EVADE`, ...
    pub miss_type: String,
    pub offhand: bool,
    pub amount_missed: Option<i64>,
    pub base_amount: Option<i64>,
    pub critical: bool,
}

/// `_HEAL` (and `_HEAL_SUPPORT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Heal {
    /// Healing including `overhealing`.
    pub amount: i64,
    pub base_amount: i64,
    pub overhealing: i64,
    pub absorbed: i64,
    pub critical: bool,
    pub supporter_guid: Option<String>,
}

/// `SPELL_HEAL_ABSORBED`: healing eaten by a heal-absorb effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct HealAbsorbed {
    /// The unit whose heal was absorbed.
    pub healer: Unit,
    pub heal_spell: Spell,
    pub absorbed_amount: i64,
    pub total_amount: i64,
}

/// `SPELL_ABSORBED`: damage soaked by a shield. The damaging spell is the event's
/// `spell` (absent for melee, the shorter of the two layouts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Absorbed {
    /// Whoever cast the shield; absorbs are credited to them.
    pub caster: Unit,
    pub absorb_spell: Spell,
    pub amount: i64,
    /// The damage before the shield (retail and later Classic builds).
    pub unmitigated_amount: Option<i64>,
    pub critical: bool,
}

/// `_ENERGIZE`: power gained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Energize {
    pub amount: f64,
    pub over_energize: f64,
    pub power_type: i32,
    pub max_power: i64,
}

/// `_DRAIN` and `_LEECH`: power taken from the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Drain {
    pub amount: i64,
    pub power_type: i32,
    pub extra_amount: i64,
    /// Present for `_DRAIN`, absent for `_LEECH`.
    pub max_power: Option<i64>,
}

/// `_INTERRUPT`: the spell that was interrupted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Interrupt {
    pub interrupted: Spell,
}

/// `_DISPEL`, `_STOLEN`, `_DISPEL_FAILED` and `_AURA_BROKEN_SPELL`: the aura removed
/// (or not) and, for broken auras, the spell that broke it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Dispel {
    pub extra_spell: Spell,
    pub aura_type: Option<AuraType>,
}

/// Whether an aura helps or harms its bearer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuraType {
    Buff,
    Debuff,
}

/// `_AURA_APPLIED`, `_AURA_REMOVED`, `_AURA_REFRESH`, `_AURA_APPLIED_DOSE`,
/// `_AURA_REMOVED_DOSE`, `_AURA_BROKEN`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Aura {
    pub aura_type: AuraType,
    /// Stack count for doses; absorb amount for shields on retail.
    pub amount: Option<i64>,
}

/// `_CAST_START`, `_CAST_SUCCESS`, `_CAST_FAILED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Cast {
    /// Why a cast failed (`_CAST_FAILED` only), e.g. "Not yet recovered".
    pub failed_reason: Option<String>,
}

/// `_EXTRA_ATTACKS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct ExtraAttacks {
    pub amount: i64,
}

/// `_EMPOWER_START`, `_EMPOWER_END`, `_EMPOWER_INTERRUPT` (Evoker empowered spells).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Empower {
    /// The empowerment rank reached (absent on `_EMPOWER_START`).
    pub rank: Option<i32>,
}

/// `UNIT_DIED`, `UNIT_DESTROYED`, `UNIT_DISSIPATES`, `PARTY_KILL`, `SPELL_INSTAKILL`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Death {
    /// The log's `unconsciousOnDeath` flag: set when the unit only appeared to die
    /// (Feign Death and similar). Such deaths are not counted.
    pub unconscious_on_death: bool,
}

/// `ENCHANT_APPLIED` / `ENCHANT_REMOVED` (weapon oils, poisons, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Enchant {
    pub spell_name: String,
    pub item_id: i64,
    pub item_name: String,
}

/// `ENCOUNTER_START`: a boss fight begins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct EncounterStart {
    pub encounter_id: i32,
    pub encounter_name: String,
    pub difficulty_id: i32,
    pub group_size: i32,
    pub instance_id: i32,
}

/// `ENCOUNTER_END`: a boss fight ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct EncounterEnd {
    pub encounter_id: i32,
    pub encounter_name: String,
    pub difficulty_id: i32,
    pub group_size: i32,
    /// 1 in the log for a kill, 0 for a wipe.
    pub success: bool,
    /// The fight length the game measured (retail); Classic does not write it.
    pub fight_time_ms: Option<i64>,
}

/// `CHALLENGE_MODE_START`: a Mythic+ key begins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct ChallengeModeStart {
    pub zone_name: String,
    pub instance_id: i32,
    pub challenge_mode_id: i32,
    pub keystone_level: i32,
    pub affixes: Vec<i32>,
}

/// `CHALLENGE_MODE_END`: a Mythic+ key ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct ChallengeModeEnd {
    pub instance_id: i32,
    /// Completed within the timer.
    pub success: bool,
    pub keystone_level: i32,
    pub total_time_ms: i64,
    /// Fields newer clients append (rating figures), kept verbatim.
    pub extra_fields: Vec<String>,
}

/// `ARENA_MATCH_START`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct ArenaMatchStart {
    pub instance_id: i32,
    /// An undocumented id the client writes second; kept verbatim.
    pub unknown_id: i32,
    /// `2v2`, `3v3`, `Skirmish`, `Solo Shuffle`, ...
    pub match_type: String,
    pub rated: bool,
}

/// `ARENA_MATCH_END`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct ArenaMatchEnd {
    /// 0 or 1: the team (the `faction` of `COMBATANT_INFO` in arenas) that won.
    pub winning_team: i32,
    pub duration_s: i32,
    pub new_rating_team0: i32,
    pub new_rating_team1: i32,
}

/// `ZONE_CHANGE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct ZoneChange {
    pub instance_id: i32,
    pub zone_name: String,
    pub difficulty_id: i32,
}

/// `MAP_CHANGE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct MapChange {
    pub ui_map_id: i32,
    pub map_name: String,
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

/// `COMBAT_LOG_VERSION`: the header the client writes at the start and after UI reloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct LogVersion {
    pub version: i32,
    pub advanced_log_enabled: bool,
    pub build_version: String,
    pub project_id: i32,
}

/// `EMOTE`: a boss or NPC emote; the text may hold commas and UI markup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Emote {
    pub text: String,
}

/// An event type the parser does not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct Generic {
    /// Every field after the event name, exactly as written (quotes kept).
    pub fields: Vec<String>,
}

/// `COMBATANT_INFO`: a player's spec, stats, talents and gear at the start of a fight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
pub struct CombatantInfo {
    pub player_guid: String,
    /// Faction in the world; the team (0 or 1) in arenas.
    pub faction: i32,
    pub strength: i64,
    pub agility: i64,
    pub stamina: i64,
    pub intellect: i64,
    pub dodge: i64,
    pub parry: i64,
    pub block: i64,
    pub crit_melee: i64,
    pub crit_ranged: i64,
    pub crit_spell: i64,
    pub speed: i64,
    pub leech: i64,
    pub haste_melee: i64,
    pub haste_ranged: i64,
    pub haste_spell: i64,
    pub avoidance: i64,
    pub mastery: i64,
    pub versatility_damage_done: i64,
    pub versatility_healing_done: i64,
    pub versatility_damage_taken: i64,
    pub armor: i64,
    /// Scalars some builds write between armor and the spec (Shadowlands writes one).
    pub extra_stats: Vec<i64>,
    /// Specialization id (0 in Classic, which has none).
    pub spec_id: i32,
    /// The talent block, verbatim (its shape differs between game versions).
    pub talents: String,
    /// The PvP talent block, verbatim.
    pub pvp_talents: String,
    /// Equipped items in slot order (head first); empty slots have item id 0.
    pub items: Vec<EquippedItem>,
    /// The "interesting auras" block, verbatim.
    pub auras: String,
    /// Every other top-level field (soulbinds, honor level, season, rating, tier), verbatim.
    pub extra_fields: Vec<String>,
}

/// One equipped item of [`CombatantInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
pub struct EquippedItem {
    pub item_id: i64,
    pub item_level: i32,
    pub enchants: Vec<i64>,
    pub bonus_ids: Vec<i64>,
    pub gems: Vec<i64>,
}

impl CombatantInfo {
    /// The equipped items with their slots ([`crate::slots`]), empty slots left out.
    pub fn equipped(&self) -> impl Iterator<Item = (&'static crate::slots::Slot, &EquippedItem)> {
        let len = self.items.len();
        self.items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.item_id != 0)
            .filter_map(move |(index, item)| crate::slots::slot_at(index, len).map(|slot| (slot, item)))
    }

    /// Mean item level of the equipped items that count (shirt and tabard excluded,
    /// empty slots skipped: [`crate::slots`]); `None` when nothing is equipped.
    pub fn average_item_level(&self) -> Option<f64> {
        let levels: Vec<i32> =
            self.equipped().filter(|(slot, _)| slot.counts).map(|(_, item)| item.item_level).collect();
        if levels.is_empty() {
            return None;
        }
        Some(levels.iter().map(|&l| f64::from(l)).sum::<f64>() / levels.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(item_id: i64, item_level: i32) -> EquippedItem {
        EquippedItem { item_id, item_level, enchants: vec![], bonus_ids: vec![], gems: vec![] }
    }

    fn combatant(items: Vec<EquippedItem>) -> CombatantInfo {
        CombatantInfo {
            player_guid: "Player-1-1".into(),
            faction: 0,
            strength: 0,
            agility: 0,
            stamina: 0,
            intellect: 0,
            dodge: 0,
            parry: 0,
            block: 0,
            crit_melee: 0,
            crit_ranged: 0,
            crit_spell: 0,
            speed: 0,
            leech: 0,
            haste_melee: 0,
            haste_ranged: 0,
            haste_spell: 0,
            avoidance: 0,
            mastery: 0,
            versatility_damage_done: 0,
            versatility_healing_done: 0,
            versatility_damage_taken: 0,
            armor: 0,
            extra_stats: vec![],
            spec_id: 0,
            talents: String::new(),
            pvp_talents: String::new(),
            items,
            auras: String::new(),
            extra_fields: vec![],
        }
    }

    #[test]
    fn average_item_level_skips_shirt_tabard_and_empty_slots() {
        let mut items: Vec<EquippedItem> = (0..19).map(|i| item(100 + i, 600)).collect();
        items[3] = item(5107, 1); // shirt
        items[18] = item(5976, 1); // tabard
        items[16] = item(0, 0); // empty off hand
        items[0] = item(1, 616);
        let info = combatant(items);
        // 16 counted slots: fifteen at 600 and one at 616.
        assert_eq!(info.average_item_level(), Some(601.0));
    }

    #[test]
    fn a_retail_list_of_eighteen_leaves_out_its_tabard() {
        let mut items: Vec<EquippedItem> = (0..18).map(|i| item(100 + i, 250)).collect();
        items[3] = item(5107, 1); // shirt
        items[17] = item(19031, 12); // Frostwolf Battle Tabard, as in the 9.2 raid fixture
        assert_eq!(combatant(items).average_item_level(), Some(250.0));
    }

    #[test]
    fn average_item_level_of_a_naked_character_is_unknown() {
        assert_eq!(combatant(vec![]).average_item_level(), None);
    }

    #[test]
    fn payload_is_a_union_of_the_variant_records_with_null_first() {
        let schema = Payload::get_schema();
        let apache_avro::Schema::Union(union) = schema else { panic!("{schema:?}") };
        assert_eq!(union.variants()[0], apache_avro::Schema::Null);
        assert!(union.variants().len() > 25);
    }
}
