//! The producer: every line of an uploaded or imported log becomes an Avro event on the
//! guild-keyed topics (or a dead letter), exactly once per log.

pub mod config;
pub mod http;
pub mod identity;
pub mod import;
pub mod intake;
pub mod metrics;
pub mod registry;
pub mod state;
pub mod uploads;
