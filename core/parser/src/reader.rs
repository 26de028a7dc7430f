//! A whole log: lines in, events and dead letters out, with running counts.

use crate::error::ParseError;
use crate::line_parser::{LineParser, ParseOptions, parse_line};
use crate::lines::LineReader;
use crate::parallel::{CHUNK_BYTES, Pipeline};
use crate::parsed::{ParseStats, Parsed};
use std::io::{self, BufRead};
use wowlogs_schemas::CombatEvent;

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

/// Parses a log stream line by line with bounded memory: on the calling thread, or
/// with [`LogReader::with_threads`] on several, with the same output.
#[derive(Debug)]
pub struct LogReader<R> {
    lines: LineReader<R>,
    parse: Parse,
    stats: ParseStats,
}

#[derive(Debug)]
enum Parse {
    Here(LineParser),
    Threads(Box<Pipeline>),
}

/// Threads worth parsing one log on: the cores this process may use.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl<R: BufRead> LogReader<R> {
    pub fn new(input: R, options: ParseOptions) -> Self {
        Self::from_lines(LineReader::new(input), options)
    }

    /// A reader over a [`LineReader`] configured by the caller (e.g. its line limit).
    pub fn from_lines(lines: LineReader<R>, options: ParseOptions) -> Self {
        Self { lines, parse: Parse::Here(LineParser::new(options)), stats: ParseStats::default() }
    }

    /// The same reader parsing on `threads` threads (1: on the caller's, the default)
    /// while the caller's thread splits the log into chunks of whole lines and hands
    /// out their results in order: line for line what one thread gives, at up to
    /// `threads` times the speed on a large log. The threads start with the second chunk
    /// (about 1 MiB), so a small log is parsed here. Only for a log that is read as fast
    /// as it is parsed: a chunk is handed out once it is full or the log has ended, so
    /// a log that arrives slowly (a live session) should be parsed on one thread.
    /// Call before reading.
    pub fn with_threads(self, threads: usize) -> Self {
        self.in_chunks(threads, CHUNK_BYTES)
    }

    /// [`Self::with_threads`] with chunks of about `chunk_bytes` (tests cut many).
    pub(crate) fn in_chunks(mut self, threads: usize, chunk_bytes: usize) -> Self {
        let unread = self.stats == ParseStats::default() && self.lines.bytes_read() == 0;
        if let Parse::Here(parser) = &self.parse
            && threads > 1
            && unread
        {
            let options = parser.options();
            let pipeline = Pipeline::new(options, self.lines.max_line_bytes(), threads, chunk_bytes.max(1));
            self.parse = Parse::Threads(Box::new(pipeline));
        }
        self
    }

    /// What has been read so far (on several threads: through the chunk being handed
    /// out).
    pub fn stats(&self) -> ParseStats {
        match self.parse {
            Parse::Here(_) => ParseStats { bytes: self.lines.bytes_read(), ..self.stats },
            Parse::Threads(_) => self.stats,
        }
    }

    /// Chunks parsed a second time because the state guessed for their first line was
    /// wrong (a measure of the guess, for tests and benchmarks; 0 on one thread).
    pub fn reparsed_chunks(&self) -> u64 {
        match &self.parse {
            Parse::Here(_) => 0,
            Parse::Threads(pipeline) => pipeline.reparsed(),
        }
    }

    /// The next non-blank line, parsed; `None` at the end. I/O errors (a corrupt gzip
    /// stream, a dropped connection) end the log; parse errors do not.
    pub fn next_parsed(&mut self) -> io::Result<Option<Parsed<'_>>> {
        let limit = self.lines.max_line_bytes();
        let parser = match &mut self.parse {
            Parse::Here(parser) => parser,
            Parse::Threads(pipeline) => return pipeline.next(self.lines.inner_mut(), &mut self.stats),
        };
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
            let result = parse_line(parser, line.number, line.bytes, line.truncated_from, limit);
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
