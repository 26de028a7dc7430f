//! The producer: every line of an uploaded or imported log becomes an Avro event on the
//! guild-keyed topics (or a dead letter), exactly once per log.

pub mod identity;
pub mod import;
pub mod intake;
pub mod registry;
pub mod server;
pub mod uploads;
