//! The wowlogs event contract.
//!
//! Everything that crosses a component boundary is defined here: the typed
//! [`CombatEvent`] that the parser produces from one line of a
//! `WoWCombatLog.txt`, and the identifiers that scope it to a guild and a log.
//! The producer encodes these types, the consumers decode them, and the
//! zero-setup `wowlogs analyze` command uses them in-process, so they carry no
//! behaviour beyond small, pure helpers.

mod avro_decode;
mod avro_encode;
mod event;
mod fight;
mod flags;
mod ids;
mod records;
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
pub use fight::{Anomaly, DeathRecord, FightKind, FightSummary, KillingBlow, PlayerMetrics};
pub use flags::{Reaction, UnitFlags};
pub use ids::{GuildId, LogId};
pub use records::{DeadLetter, EncounterSummary, UploadState, UploadStatus};
pub use wire::{Codec, Record, WireError};
