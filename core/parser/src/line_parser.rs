//! One line of bytes to one [`CombatEvent`].

use crate::combat;
use crate::error::{ParseError, ParseErrorKind};
use crate::fields::FieldSplitter;
use crate::layout::{self, EventKind, Special};
use crate::special;
use crate::timestamp::{Clock, ClockState, YearHint};
use std::borrow::Cow;
use wowlogs_schemas::{CombatEvent, Generic, GuildId, LogId, Payload};

/// How to read a log whose lines do not say everything themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Where the year of `M/D` timestamps comes from.
    pub year: YearHint,
    /// UTC offset, in minutes, of the clock that wrote `M/D` timestamps (they carry no
    /// zone). 0 reads them as UTC. `M/D/YYYY` timestamps carry their own offset.
    pub old_format_utc_offset_minutes: i32,
    /// Stamped on every event: whose log this is.
    pub guild_id: GuildId,
    /// Stamped on every event: which log this is.
    pub log_id: LogId,
    /// Copy each line into its event's `raw` field (the producer stores it).
    pub keep_raw: bool,
    /// A line dated after this (Unix ms) is refused as implausible: see
    /// [`ParseOptions::received_at`]. `None`: no upper bound.
    pub latest_plausible_ms: Option<i64>,
}

/// No line of a real log is dated before World of Warcraft's release (2004-11-23 UTC):
/// earlier ones come from a wrong clock or a forged file, and would spread a log's rows
/// over monthly partitions no real log reaches.
pub const EARLIEST_PLAUSIBLE_MS: i64 = 1_101_168_000_000;

/// How far past its arrival a log's lines may be dated (clocks and time zones differ).
pub const PLAUSIBLE_AFTER_ARRIVAL_MS: i64 = 24 * 3_600 * 1_000;

impl ParseOptions {
    /// Options for a log whose `M/D` timestamps are read as UTC, not yet tied to a guild
    /// or log (ids 0), without raw lines.
    pub fn new(year: YearHint) -> Self {
        Self {
            year,
            old_format_utc_offset_minutes: 0,
            guild_id: GuildId(0),
            log_id: LogId(0),
            keep_raw: false,
            latest_plausible_ms: None,
        }
    }

    /// The same options for a log that reached us at `unix_ms` (an upload's arrival, an
    /// import's start): a line dated more than a day later is refused as implausible.
    pub fn received_at(self, unix_ms: i64) -> Self {
        Self { latest_plausible_ms: Some(unix_ms.saturating_add(PLAUSIBLE_AFTER_ARRIVAL_MS)), ..self }
    }

    /// The same options for a guild's log.
    pub fn for_log(self, guild_id: GuildId, log_id: LogId) -> Self {
        Self { guild_id, log_id, ..self }
    }
}

/// Everything a [`LineParser`] carries from one line to the next: the log's
/// `COMBAT_LOG_VERSION` and what its clock has learned. A parser given the state another
/// one had after line N parses line N + 1 as that one would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ParserState {
    version: Option<i32>,
    clock: ClockState,
}

/// Parses the lines of one log, in order. It remembers the log's `COMBAT_LOG_VERSION`
/// (which picks the advanced block layout) and the year of `M/D` timestamps.
#[derive(Debug)]
pub struct LineParser {
    options: ParseOptions,
    clock: Clock,
    splitter: FieldSplitter,
    version: Option<i32>,
}

impl LineParser {
    pub fn new(options: ParseOptions) -> Self {
        Self {
            options,
            clock: Clock::new(options.year, options.old_format_utc_offset_minutes),
            splitter: FieldSplitter::default(),
            version: None,
        }
    }

    /// The `COMBAT_LOG_VERSION` of the last header seen, if any.
    pub fn version(&self) -> Option<i32> {
        self.version
    }

    /// The options this parser was made with.
    pub(crate) fn options(&self) -> ParseOptions {
        self.options
    }

    /// What this parser carries to its next line.
    pub(crate) fn state(&self) -> ParserState {
        ParserState { version: self.version, clock: self.clock.state() }
    }

    /// Continues from the state another parser of the same log had.
    pub(crate) fn restore(&mut self, state: ParserState) {
        self.version = state.version;
        self.clock.restore(state.clock);
    }

    /// Learns from a line what [`Self::parse`] would, without parsing its fields: its
    /// timestamp (the clock's year), and a `COMBAT_LOG_VERSION` header (parsed whole).
    /// Much cheaper than parsing; used to guess the state at a later line.
    pub(crate) fn observe(&mut self, bytes: &[u8]) {
        let Ok(text) = std::str::from_utf8(bytes) else { return };
        let Some((stamp, body)) = split_timestamp(text) else { return };
        if body.starts_with("COMBAT_LOG_VERSION,") {
            let _ = self.parse(0, bytes);
        } else {
            let _ = self.clock.epoch_ms(stamp);
        }
    }

    /// Parses one line (without its line terminator). `line` is its 1-based number.
    pub fn parse(&mut self, line: i64, bytes: &[u8]) -> Result<CombatEvent, ParseError> {
        let error = |event: Option<&str>, kind| ParseError { line, event: event.map(str::to_string), kind };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| error(None, ParseErrorKind::InvalidUtf8 { valid_up_to: e.valid_up_to() }))?;
        let (stamp, body) =
            split_timestamp(text).ok_or_else(|| error(None, ParseErrorKind::MissingTimestamp))?;
        let name = &body[..memchr::memchr(b',', body.as_bytes()).unwrap_or(body.len())];
        let timestamp_ms = self.clock.epoch_ms(stamp).map_err(|_| {
            error(None, ParseErrorKind::BadTimestamp { text: stamp.chars().take(40).collect() })
        })?;
        let latest = self.options.latest_plausible_ms.unwrap_or(i64::MAX);
        if !(EARLIEST_PLAUSIBLE_MS..=latest).contains(&timestamp_ms) {
            let text = stamp.chars().take(40).collect();
            return Err(error(None, ParseErrorKind::ImplausibleTimestamp { text, timestamp_ms }));
        }
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(error(
                None,
                ParseErrorKind::BadValue {
                    field: "event name",
                    index: 0,
                    value: name.chars().take(64).collect(),
                    expected: "an upper-case event name such as SPELL_DAMAGE",
                },
            ));
        }
        let spec = layout::lookup(name);
        let max_fields = match spec.map(|s| s.kind) {
            Some(EventKind::Special(special)) => special::max_fields(special),
            _ => usize::MAX,
        };
        let version = self.version;
        let fields = self.splitter.split(body, max_fields).map_err(|kind| error(Some(name), kind))?;
        // The envelope every event shares; the parts differ by kind.
        let keep_raw = self.options.keep_raw;
        let event =
            |event_type: Cow<'static, str>, source, target, spell, advanced, payload, extra| CombatEvent {
                guild_id: self.options.guild_id,
                log_id: self.options.log_id,
                line,
                timestamp_ms,
                event_type,
                source,
                target,
                spell,
                advanced,
                payload,
                raw: if keep_raw { text.to_string() } else { String::new() },
                extra,
            };
        let Some(spec) = spec else {
            let fields = Generic { fields: fields.raw_from(1).map(str::to_string).collect() };
            let payload = Payload::Generic(fields);
            return Ok(event(Cow::Owned(name.to_string()), None, None, None, None, payload, Vec::new()));
        };
        let event = match spec.kind {
            EventKind::Combat { prefix, suffix, support } => {
                let parts = combat::parse(&fields, prefix, suffix, support, version)
                    .map_err(|kind| error(Some(name), with_version(kind, version)))?;
                let (source, target) = (Some(parts.source), Some(parts.target));
                event(
                    Cow::Borrowed(spec.name),
                    source,
                    target,
                    parts.spell,
                    parts.advanced,
                    parts.payload,
                    parts.extra,
                )
            }
            EventKind::Special(special) => {
                let parts = special::parse(&fields, special).map_err(|kind| error(Some(name), kind))?;
                event(
                    Cow::Borrowed(spec.name),
                    parts.source,
                    parts.target,
                    None,
                    None,
                    parts.payload,
                    parts.extra,
                )
            }
        };
        if let (EventKind::Special(Special::CombatLogVersion), Payload::LogVersion(v)) =
            (spec.kind, &event.payload)
        {
            self.version = Some(v.version);
        }
        Ok(event)
    }
}

fn with_version(kind: ParseErrorKind, version: Option<i32>) -> ParseErrorKind {
    match kind {
        ParseErrorKind::FieldCount { got, expected, .. } => {
            ParseErrorKind::FieldCount { got, expected, version }
        }
        other => other,
    }
}

/// `7/28/2024 14:36:49.528-4  SPELL_DAMAGE,...` -> (timestamp, body). The separator is
/// two spaces; the timestamp itself holds one.
fn split_timestamp(text: &str) -> Option<(&str, &str)> {
    let head = &text.as_bytes()[..text.len().min(48)];
    let at = memchr::memmem::find(head, b"  ")?;
    Some((&text[..at], &text[at + 2..]))
}

/// One non-blank line as read (`truncated_from`: its length, when it was longer than
/// `limit` and `bytes` is its start), parsed.
pub(crate) fn parse_line(
    parser: &mut LineParser,
    number: i64,
    bytes: &[u8],
    truncated_from: Option<u64>,
    limit: usize,
) -> Result<CombatEvent, ParseError> {
    match truncated_from {
        Some(length) => Err(ParseError {
            line: number,
            event: event_name_of(bytes),
            kind: ParseErrorKind::LineTooLong { length, limit },
        }),
        None => parser.parse(number, bytes),
    }
}

/// The event name of a line cut short, when its start shows one.
fn event_name_of(start: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(start).ok()?;
    let body = &text[memchr::memmem::find(text.as_bytes(), b"  ")? + 2..];
    let name = body.split(',').next()?;
    (!name.is_empty() && name.len() <= 64).then(|| name.to_string())
}
