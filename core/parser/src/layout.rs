//! Which fields an event has: the table of known event names and the rules that turn a
//! field count into a layout (prefix, advanced block, suffix).
//!
//! Field counts below include the event name. A combat event is
//! `name + 8 base fields + prefix + [advanced block] + suffix [+ supporter GUID]`.
//! The advanced block is 15 to 19 fields long ([`ADVANCED_LENGTHS`]), and the header's
//! version does not tell which: each line's shape decides. It can also be missing on
//! single lines even with advanced logging on (`SWING_DAMAGE_LANDED` of 19 fields,
//! fixture `retail_tww_11.0.2_dummies_skirmish.txt` line 15).

use rustc_hash::FxHashMap;
use std::sync::LazyLock;

/// The base block: event name, source GUID/name/flags/raid flags, target likewise.
pub const BASE_FIELDS: usize = 9;

/// Event prefixes, which decide the fields between the base block and the suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Swing,
    Range,
    Spell,
    SpellPeriodic,
    SpellBuilding,
    Environmental,
}

impl Prefix {
    /// Prefix fields (the spell's id, name and school, or the environmental type).
    pub fn fields(self) -> usize {
        match self {
            Prefix::Swing => 0,
            Prefix::Environmental => 1,
            _ => 3,
        }
    }

    const ALL: [(&'static str, Prefix); 6] = [
        ("SWING_", Prefix::Swing),
        ("RANGE_", Prefix::Range),
        ("SPELL_PERIODIC_", Prefix::SpellPeriodic),
        ("SPELL_BUILDING_", Prefix::SpellBuilding),
        ("SPELL_", Prefix::Spell),
        ("ENVIRONMENTAL_", Prefix::Environmental),
    ];
}

/// Event suffixes, which decide the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suffix {
    Damage,
    DamageLanded,
    Missed,
    Heal,
    HealAbsorbed,
    Absorbed,
    Energize,
    Drain,
    Leech,
    Interrupt,
    Dispel,
    DispelFailed,
    Stolen,
    ExtraAttacks,
    AuraApplied,
    AuraRemoved,
    AuraAppliedDose,
    AuraRemovedDose,
    AuraRefresh,
    AuraBroken,
    AuraBrokenSpell,
    CastStart,
    CastSuccess,
    CastFailed,
    Instakill,
    DurabilityDamage,
    DurabilityDamageAll,
    Create,
    Summon,
    Resurrect,
    EmpowerStart,
    EmpowerEnd,
    EmpowerInterrupt,
}

/// How many suffix fields a suffix takes, and whether an advanced block precedes it.
#[derive(Debug, Clone, Copy)]
pub struct SuffixShape {
    pub advanced: bool,
    pub min: usize,
    pub max: usize,
}

impl Suffix {
    const ALL: [(&'static str, Suffix); 33] = [
        ("DAMAGE", Suffix::Damage),
        ("DAMAGE_LANDED", Suffix::DamageLanded),
        ("MISSED", Suffix::Missed),
        ("HEAL", Suffix::Heal),
        ("HEAL_ABSORBED", Suffix::HealAbsorbed),
        ("ABSORBED", Suffix::Absorbed),
        ("ENERGIZE", Suffix::Energize),
        ("DRAIN", Suffix::Drain),
        ("LEECH", Suffix::Leech),
        ("INTERRUPT", Suffix::Interrupt),
        ("DISPEL", Suffix::Dispel),
        ("DISPEL_FAILED", Suffix::DispelFailed),
        ("STOLEN", Suffix::Stolen),
        ("EXTRA_ATTACKS", Suffix::ExtraAttacks),
        ("AURA_APPLIED", Suffix::AuraApplied),
        ("AURA_REMOVED", Suffix::AuraRemoved),
        ("AURA_APPLIED_DOSE", Suffix::AuraAppliedDose),
        ("AURA_REMOVED_DOSE", Suffix::AuraRemovedDose),
        ("AURA_REFRESH", Suffix::AuraRefresh),
        ("AURA_BROKEN", Suffix::AuraBroken),
        ("AURA_BROKEN_SPELL", Suffix::AuraBrokenSpell),
        ("CAST_START", Suffix::CastStart),
        ("CAST_SUCCESS", Suffix::CastSuccess),
        ("CAST_FAILED", Suffix::CastFailed),
        ("INSTAKILL", Suffix::Instakill),
        ("DURABILITY_DAMAGE", Suffix::DurabilityDamage),
        ("DURABILITY_DAMAGE_ALL", Suffix::DurabilityDamageAll),
        ("CREATE", Suffix::Create),
        ("SUMMON", Suffix::Summon),
        ("RESURRECT", Suffix::Resurrect),
        ("EMPOWER_START", Suffix::EmpowerStart),
        ("EMPOWER_END", Suffix::EmpowerEnd),
        ("EMPOWER_INTERRUPT", Suffix::EmpowerInterrupt),
    ];

    /// The suffix field counts (without a `_SUPPORT` supporter GUID).
    /// [`Self::shape`] on a Legion line (its 13-field advanced block, or none under a
    /// version 4 header): damage and heal suffixes without the base amount.
    pub fn shape_in(self, legion: bool) -> SuffixShape {
        let mut shape = self.shape();
        if legion && matches!(self, Suffix::Damage | Suffix::DamageLanded | Suffix::Heal) {
            shape.min -= 1;
            shape.max -= 1;
        }
        shape
    }

    pub fn shape(self) -> SuffixShape {
        let (advanced, min, max) = match self {
            // 10 fields (the `ST`/`AOE` tag v22 may add after any suffix is read apart).
            Suffix::Damage | Suffix::DamageLanded => (true, 10, 10),
            // type, offhand [, amount missed, base amount, critical]
            Suffix::Missed => (false, 2, 5),
            Suffix::Heal => (true, 5, 5),
            // healer unit (4), heal spell (3), absorbed, total
            Suffix::HealAbsorbed => (false, 9, 9),
            // shield caster (4), shield spell (3), amount [, unmitigated, critical]
            Suffix::Absorbed => (false, 8, 10),
            Suffix::Energize | Suffix::Drain => (true, 4, 4),
            // amount, power type, extra amount [, max power: Classic TBC/Wrath]
            Suffix::Leech => (true, 3, 4),
            Suffix::Interrupt | Suffix::DispelFailed => (false, 3, 3),
            Suffix::Dispel | Suffix::Stolen | Suffix::AuraBrokenSpell => (false, 4, 4),
            Suffix::ExtraAttacks | Suffix::AuraBroken | Suffix::CastFailed => (false, 1, 1),
            Suffix::AuraApplied | Suffix::AuraRemoved | Suffix::AuraRefresh => (false, 1, 2),
            Suffix::AuraAppliedDose | Suffix::AuraRemovedDose => (false, 2, 2),
            Suffix::CastSuccess => (true, 0, 0),
            Suffix::Instakill => (false, 0, 1),
            Suffix::EmpowerEnd | Suffix::EmpowerInterrupt => (false, 0, 1),
            Suffix::CastStart
            | Suffix::DurabilityDamage
            | Suffix::DurabilityDamageAll
            | Suffix::Create
            | Suffix::Summon
            | Suffix::Resurrect
            | Suffix::EmpowerStart => (false, 0, 0),
        };
        SuffixShape { advanced, min, max }
    }
}

/// Events that are not prefix + suffix combinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    EncounterStart,
    EncounterEnd,
    ChallengeModeStart,
    ChallengeModeEnd,
    ArenaMatchStart,
    ArenaMatchEnd,
    ZoneChange,
    MapChange,
    CombatantInfo,
    CombatLogVersion,
    Emote,
    /// `UNIT_DIED`, `UNIT_DESTROYED`, `UNIT_DISSIPATES`, `PARTY_KILL`.
    Death,
    /// `ENCHANT_APPLIED`, `ENCHANT_REMOVED`.
    Enchant,
}

/// What the parser knows about an event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Combat { prefix: Prefix, suffix: Suffix, support: bool },
    Special(Special),
}

/// A known event name with its kind; the name is static so events can borrow it.
#[derive(Debug, Clone, Copy)]
pub struct EventSpec {
    pub name: &'static str,
    pub kind: EventKind,
}

static SPECS: LazyLock<FxHashMap<&'static str, EventSpec>> = LazyLock::new(build_specs);

/// Looks an event name up; `None` for names the parser does not know.
pub fn lookup(name: &str) -> Option<EventSpec> {
    SPECS.get(name).copied()
}

fn build_specs() -> FxHashMap<&'static str, EventSpec> {
    let mut specs = FxHashMap::default();
    let mut add = |name: String, kind: EventKind| {
        // A few hundred names, leaked once so events can hold `&'static str`.
        let name: &'static str = Box::leak(name.into_boxed_str());
        specs.insert(name, EventSpec { name, kind });
    };
    for (prefix_name, prefix) in Prefix::ALL {
        for (suffix_name, suffix) in Suffix::ALL {
            let name = format!("{prefix_name}{suffix_name}");
            add(format!("{name}_SUPPORT"), EventKind::Combat { prefix, suffix, support: true });
            add(name, EventKind::Combat { prefix, suffix, support: false });
        }
    }
    // Spell-prefixed events whose names do not start with `SPELL_`.
    for (name, suffix) in [
        ("DAMAGE_SHIELD", Suffix::Damage),
        ("DAMAGE_SPLIT", Suffix::Damage),
        ("DAMAGE_SHIELD_MISSED", Suffix::Missed),
    ] {
        add(name.to_string(), EventKind::Combat { prefix: Prefix::Spell, suffix, support: false });
    }
    for (name, special) in [
        ("ENCOUNTER_START", Special::EncounterStart),
        ("ENCOUNTER_END", Special::EncounterEnd),
        ("CHALLENGE_MODE_START", Special::ChallengeModeStart),
        ("CHALLENGE_MODE_END", Special::ChallengeModeEnd),
        ("ARENA_MATCH_START", Special::ArenaMatchStart),
        ("ARENA_MATCH_END", Special::ArenaMatchEnd),
        ("ZONE_CHANGE", Special::ZoneChange),
        ("MAP_CHANGE", Special::MapChange),
        ("COMBATANT_INFO", Special::CombatantInfo),
        ("COMBAT_LOG_VERSION", Special::CombatLogVersion),
        ("EMOTE", Special::Emote),
        ("UNIT_DIED", Special::Death),
        ("UNIT_DESTROYED", Special::Death),
        ("UNIT_DISSIPATES", Special::Death),
        ("PARTY_KILL", Special::Death),
        ("ENCHANT_APPLIED", Special::Enchant),
        ("ENCHANT_REMOVED", Special::Enchant),
    ] {
        add(name.to_string(), EventKind::Special(special));
    }
    specs
}

/// Every advanced block length the game has written: 19 (v22, Midnight), 18 (Classic
/// 1.15.5 under version 9), 17 (Shadowlands 9.0 to The War Within 11.0: absorb added),
/// 16 (Battle for Azeroth 8.1+ and Classic: v9 to v19) and 15 (Battle for Azeroth 8.0,
/// `COMBAT_LOG_VERSION` 8: no map id).
pub const ADVANCED_LENGTHS: [usize; 6] = [19, 18, 17, 16, 15, ADVANCED_LEGION];

/// The one layout without `uiMapID` before the facing.
pub const ADVANCED_WITHOUT_MAP: usize = 15;

/// The advanced block of Legion (`COMBAT_LOG_VERSION` 4, patch 7.x): the unit's and its
/// owner's GUIDs, health, maximum health, attack power, spell power, power type, current,
/// maximum and cost, x, y and level; no armor, map or facing yet. Measured on two real
/// Legion logs (not kept here): `SPELL_CAST_SUCCESS` is 25 fields, `SPELL_DAMAGE` 34,
/// `SWING_DAMAGE` 31 and `SPELL_HEAL` 29, so the block is 13 fields and the damage and
/// heal suffixes lack the base amount (9 and 4 fields).
pub const ADVANCED_LEGION: usize = 13;

/// The advanced block length a `COMBAT_LOG_VERSION` usually writes: only a hint, tried
/// first (each line's own shape decides).
pub fn advanced_fields_for_version(version: i32) -> usize {
    match version {
        22.. => 19,
        17..=21 => 17,
        5..=8 => 15,
        ..=4 => ADVANCED_LEGION,
        _ => 16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_the_longest_matching_prefix() {
        let spec = lookup("SPELL_PERIODIC_DAMAGE").unwrap();
        assert_eq!(
            spec.kind,
            EventKind::Combat { prefix: Prefix::SpellPeriodic, suffix: Suffix::Damage, support: false }
        );
        assert_eq!(spec.name, "SPELL_PERIODIC_DAMAGE");
    }

    #[test]
    fn support_events_are_known() {
        assert_eq!(
            lookup("SPELL_DAMAGE_SUPPORT").unwrap().kind,
            EventKind::Combat { prefix: Prefix::Spell, suffix: Suffix::Damage, support: true }
        );
    }

    #[test]
    fn damage_shield_is_a_spell_damage_event() {
        assert_eq!(
            lookup("DAMAGE_SHIELD").unwrap().kind,
            EventKind::Combat { prefix: Prefix::Spell, suffix: Suffix::Damage, support: false }
        );
    }

    #[test]
    fn unknown_names_are_not_guessed() {
        assert!(lookup("SPELL_FROBNICATE").is_none());
        assert!(lookup("WORLD_MARKER_PLACED").is_none());
    }

    #[test]
    fn advanced_block_grows_with_the_log_version() {
        assert_eq!(advanced_fields_for_version(9), 16);
        assert_eq!(advanced_fields_for_version(17), 17);
        assert_eq!(advanced_fields_for_version(21), 17);
        assert_eq!(advanced_fields_for_version(22), 19);
    }
}
