//! The guild progress plan's pure core: no I/O.
//!
//! - [`character`]: a character's identity (`Name-Realm-Region`) and how a log's name
//!   and a roster's entry are matched (names any case, realms as their slug).
//! - [`roster`]: a guild's members from a Battle.net guild roster document or a CSV.
//! - [`plan`]: weekly item-level targets (the shipped default roadmap, each region's
//!   weekly reset), and each member's status and message against this week's target.

pub mod character;
pub mod plan;
pub mod roster;

pub use character::{CharacterKey, realm_slug};
pub use plan::{
    Assessment, DEFAULT_ROADMAP, Roadmap, RoadmapWeek, Status, Target, assess, target_for, week_of,
};
pub use roster::{MAX_MEMBERS, Member, RosterError, parse_battlenet, parse_csv};
