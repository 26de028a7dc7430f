//! Streaming parser for `WoWCombatLog.txt`.
//!
//! Bytes in, [`wowlogs_schemas::CombatEvent`]s out, one line at a time with bounded
//! memory. A malformed line becomes a [`ParseError`] that names the line, the event and
//! what was expected; it never stops the rest of the file and never panics.
//!
//! ```
//! use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
//!
//! let log = "7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0\n";
//! let mut reader = LogReader::new(log.as_bytes(), ParseOptions::new(YearHint::FirstLineIn(2024)));
//! let Some(Ok(ParsedLine::Event(event))) = reader.next() else { panic!() };
//! assert_eq!(event.event_type, "ZONE_CHANGE");
//! assert_eq!(event.timestamp_ms, 1_722_191_809_528);
//! ```

mod chunks;
mod combat;
mod combatant;
mod error;
mod fields;
mod input;
mod layout;
mod line_parser;
mod lines;
mod parallel;
mod parsed;
mod reader;
mod special;
mod timestamp;

pub use chunks::ChunkReader;
pub use error::{ParseError, ParseErrorKind, group_thousands};
pub use input::{InputError, Packing, for_each_log, sniff};
pub use line_parser::{EARLIEST_PLAUSIBLE_MS, LineParser, PLAUSIBLE_AFTER_ARRIVAL_MS, ParseOptions};
pub use lines::{DEFAULT_MAX_LINE_BYTES, LineReader, RawLine};
pub use parsed::{ParseStats, Parsed};
pub use reader::{LogReader, MalformedLine, ParsedLine, available_threads};
pub use timestamp::{YearHint, civil_from_days, days_from_civil};
