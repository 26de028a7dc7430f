//! The `wowlogs` command line. Each subcommand is a thin shell over the pure crates:
//! `analyze` feeds the parser into the encounter core, `synth` drives the generator.

pub mod analysis;
pub mod api_docs;
pub mod commands;
pub mod progress;
pub mod replay;
pub mod report;
pub mod telemetry;
pub mod watch;
