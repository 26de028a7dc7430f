//! The wowlogs event contract.
//!
//! Everything that crosses a component boundary is defined here: the typed
//! [`CombatEvent`] that the parser produces from one line of a
//! `WoWCombatLog.txt`, and the identifiers that scope it to a guild and a log.
//! The producer encodes these types, the consumers decode them, and the
//! zero-setup `wowlogs analyze` command uses them in-process, so they carry no
//! behaviour beyond small, pure helpers.

/// Calls `$apply! { Record { field, ... }, ... }` with every record type of the
/// `CombatEvent` schema and its fields in declaration order (the derived schema's
/// order): the one list the direct encoder and decoder are generated from.
macro_rules! with_avro_records {
    ($apply:ident) => {
        $apply! {
    CombatEvent { guild_id, log_id, line, timestamp_ms, event_type, source, target, spell, advanced, payload, raw, extra },
    Unit { guid, name, flags, raid_flags },
    Spell { id, name, school },
    AdvancedUnit { guid, owner_guid, current_hp, max_hp, attack_power, spell_power, armor, absorb, power_type, current_power, max_power, power_cost, position_x, position_y, ui_map_id, facing, level, v22_unknown_1, v22_unknown_2 },
    Damage { amount, base_amount, overkill, school, resisted, blocked, absorbed, critical, glancing, crushing, aoe, environmental_type, supporter_guid },
    Summon {},
    Missed { miss_type, offhand, amount_missed, base_amount, critical },
    Heal { amount, base_amount, overhealing, absorbed, critical, supporter_guid },
    HealAbsorbed { healer, heal_spell, absorbed_amount, total_amount },
    Absorbed { caster, absorb_spell, amount, unmitigated_amount, critical },
    Energize { amount, over_energize, power_type, max_power },
    Drain { amount, power_type, extra_amount, max_power },
    Interrupt { interrupted },
    Dispel { extra_spell, aura_type },
    Aura { aura_type, amount },
    Cast { failed_reason },
    ExtraAttacks { amount },
    Empower { rank },
    Death { unconscious_on_death },
    Enchant { spell_name, item_id, item_name },
    EncounterStart { encounter_id, encounter_name, difficulty_id, group_size, instance_id },
    EncounterEnd { encounter_id, encounter_name, difficulty_id, group_size, success, fight_time_ms },
    ChallengeModeStart { zone_name, instance_id, challenge_mode_id, keystone_level, affixes },
    ChallengeModeEnd { instance_id, success, keystone_level, total_time_ms, extra_fields },
    ArenaMatchStart { instance_id, unknown_id, match_type, rated },
    ArenaMatchEnd { winning_team, duration_s, new_rating_team0, new_rating_team1 },
    ZoneChange { instance_id, zone_name, difficulty_id },
    MapChange { ui_map_id, map_name, x0, x1, y0, y1 },
    LogVersion { version, advanced_log_enabled, build_version, project_id },
    Emote { text },
    Generic { fields },
    CombatantInfo { player_guid, faction, strength, agility, stamina, intellect, dodge, parry, block, crit_melee, crit_ranged, crit_spell, speed, leech, haste_melee, haste_ranged, haste_spell, avoidance, mastery, versatility_damage_done, versatility_healing_done, versatility_damage_taken, armor, extra_stats, spec_id, talents, pvp_talents, items, auras, extra_fields },
    EquippedItem { item_id, item_level, enchants, bonus_ids, gems },
        }
    };
}

mod avro_decode;
mod avro_encode;
mod event;
mod fight;
mod flags;
mod ids;
pub mod migrations;
mod names;
mod records;
pub mod slots;
mod text;
pub mod topics;
pub mod wire;

pub use avro_decode::{AvroDecode, DecodeError, decode_datum};
pub use avro_encode::AvroEncode;
pub use event::{
    Absorbed, AdvancedUnit, ArenaMatchEnd, ArenaMatchStart, Aura, AuraType, Cast, ChallengeModeEnd,
    ChallengeModeStart, CombatEvent, CombatantInfo, Damage, Death, Dispel, Drain, Emote, Empower, Enchant,
    EncounterEnd, EncounterStart, Energize, EquippedItem, EventName, ExtraAttacks, Generic, Heal,
    HealAbsorbed, Interrupt, LogVersion, MapChange, Missed, Payload, Spell, Summon, Unit, ZoneChange,
};
pub use fight::{
    AbilityDamage, AbilityKind, Anomaly, AuraUptime, BossHealth, DeathRecord, FightKind, FightSummary,
    KillingBlow, PlayerAbility, PlayerMetrics, RecapEntry, RecapKind, RemovalKind, SpellRemoval,
};
pub use flags::{Reaction, UnitFlags};
pub use ids::{GuildId, LogId, now_ms};
pub use names::Named;
pub use records::{DeadLetter, EncounterSummary, LIVE_UPLOAD_PREFIX, UploadState, UploadStatus};
pub use text::cut_chars;
pub use wire::{Codec, Record, WireError};
