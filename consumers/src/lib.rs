//! Consumer groups that build the ClickHouse projections of the topics.
//!
//! At least once, with idempotent rows: a batch is inserted first and its offsets are
//! committed only after the insert finished, so a crash replays the batch, and the
//! ReplacingMergeTree identities make the replay harmless.
//!
//! - [`group`]: the loop every group runs (receive, write, commit, dead letters).
//! - [`events_sink`]: `wowlogs-events-sink`, one row per record.
//! - [`encounters`]: `wowlogs-encounters`, the encounter state machine per log.
//! - [`http`]: health and `/metrics`; [`state`] what they share; [`config`] a group's settings.

pub mod batch;
pub mod config;
pub mod context;
pub mod encounters;
pub mod events_sink;
pub mod group;
pub mod http;
pub mod metrics;
mod partitions;
pub mod rebuild;
pub mod state;
