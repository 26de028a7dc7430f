//! The encounter core: combat events in, fights with per-player metrics out.
//!
//! Pure and synchronous: no Kafka, ClickHouse, HTTP or clock. The `wowlogs analyze`
//! command and the encounter consumer feed the same [`EncounterSegmenter`], so a log
//! analysed locally and the same log materialised in ClickHouse give identical rows.

pub mod abilities;
pub mod bosses;
pub mod difficulty;
mod metrics;
mod owners;
pub mod pvp;
pub mod recap;
mod segmenter;
mod specs;

pub use difficulty::{difficulty_label, difficulty_name};
pub use metrics::{
    Combatant, DAMAGE_EVENTS, FightMetrics, Finished, HEAL_EVENTS, MAX_ABILITIES_COUNTED, MAX_ABILITIES_TAKEN,
};
pub use owners::Owners;
pub use segmenter::{EncounterSegmenter, MAX_PENDING_BYTES, MAX_PENDING_EVENTS, SegmentOutput};
pub use specs::{Role, all_specs, class_name, class_named, class_of_spec, role_of_spec, spec_name};
