//! A whole log: lines in, events and dead letters out, with running counts.

use crate::error::{ParseError, ParseErrorKind};
use crate::line_parser::{LineParser, ParseOptions};
use crate::lines::LineReader;
use std::io::{self, BufRead};
use wowlogs_schemas::CombatEvent;

/// Counts of what a [`LogReader`] has read so far.
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

/// A line that did not parse, kept whole for the dead-letter topic.
#[derive(Debug, Clone, PartialEq)]
pub struct MalformedLine {
    pub error: ParseError,
    /// The raw bytes (the start of the line if it was longer than the limit).
    pub raw: Vec<u8>,
}

/// An owned [`Parsed`], for the [`Iterator`] interface.
// Events are the common case and are moved straight to their consumer; boxing them to
// shrink the rare error variant would cost an allocation per line.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedLine {
    Event(CombatEvent),
    Malformed(MalformedLine),
}

/// Parses a log stream line by line with bounded memory.
#[derive(Debug)]
pub struct LogReader<R> {
    lines: LineReader<R>,
    parser: LineParser,
    stats: ParseStats,
}

impl<R: BufRead> LogReader<R> {
    pub fn new(input: R, options: ParseOptions) -> Self {
        Self::from_lines(LineReader::new(input), options)
    }

    /// A reader over a [`LineReader`] configured by the caller (e.g. its line limit).
    pub fn from_lines(lines: LineReader<R>, options: ParseOptions) -> Self {
        Self { lines, parser: LineParser::new(options), stats: ParseStats::default() }
    }

    /// What has been read so far.
    pub fn stats(&self) -> ParseStats {
        ParseStats { bytes: self.lines.bytes_read(), ..self.stats }
    }

    /// The next non-blank line, parsed; `None` at the end. I/O errors (a corrupt gzip
    /// stream, a dropped connection) end the log; parse errors do not.
    pub fn next_parsed(&mut self) -> io::Result<Option<Parsed<'_>>> {
        let limit = self.lines.max_line_bytes();
        loop {
            let Some(meta) = self.lines.advance()? else {
                return Ok(None);
            };
            self.stats.lines += 1;
            if self.lines.line(meta).bytes.is_empty() && meta.truncated_from.is_none() {
                self.stats.blank_lines += 1;
                continue;
            }
            let line = self.lines.line(meta);
            let result = match line.truncated_from {
                Some(length) => Err(ParseError {
                    line: line.number,
                    event: event_name_of(line.bytes),
                    kind: ParseErrorKind::LineTooLong { length, limit },
                }),
                None => self.parser.parse(line.number, line.bytes),
            };
            match result {
                Ok(_) => self.stats.events += 1,
                Err(_) => self.stats.errors += 1,
            }
            return Ok(Some(Parsed { raw: line.bytes, result }));
        }
    }
}

impl<R: BufRead> Iterator for LogReader<R> {
    type Item = io::Result<ParsedLine>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_parsed() {
            Ok(Some(Parsed { raw, result })) => Some(Ok(match result {
                Ok(event) => ParsedLine::Event(event),
                Err(error) => ParsedLine::Malformed(MalformedLine { error, raw: raw.to_vec() }),
            })),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// The event name of a line cut short, when its start shows one.
fn event_name_of(start: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(start).ok()?;
    let body = &text[memchr::memmem::find(text.as_bytes(), b"  ")? + 2..];
    let name = body.split(',').next()?;
    (!name.is_empty() && name.len() <= 64).then(|| name.to_string())
}
