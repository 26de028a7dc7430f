//! Consumer groups that build the ClickHouse projections of the topics.
//!
//! At least once, with idempotent rows: a batch is inserted first and its offsets are
//! committed only after the insert finished, so a crash replays the batch, and the
//! ReplacingMergeTree identities make the replay harmless.

pub mod events_sink;
