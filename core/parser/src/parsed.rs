//! What reading a log gives: each line's outcome and the running counts, shared by
//! the reader on one thread and on several.

use crate::error::ParseError;
use wowlogs_schemas::CombatEvent;

/// Counts of what a [`crate::LogReader`] has read so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseStats {
    /// Every line, blank ones included.
    pub lines: u64,
    /// Empty lines, which are skipped (the client writes none, but editors add them).
    pub blank_lines: u64,
    /// Lines that became events.
    pub events: u64,
    /// Lines that did not parse (each one is a [`MalformedLine`]).
    pub errors: u64,
    /// Bytes consumed after decompression.
    pub bytes: u64,
}

/// One non-blank line and what became of it, borrowed from the reader.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The line as read (its first `max_line_bytes` if it was longer).
    pub raw: &'a [u8],
    pub result: Result<CombatEvent, ParseError>,
}
