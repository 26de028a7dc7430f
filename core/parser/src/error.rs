//! Why a line could not be parsed, in words a user can act on.

use std::fmt;
use wowlogs_schemas::{DeadLetter, GuildId, LogId};

/// A line that did not parse: where, which event, and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ParseError {
    /// 1-based line number in the log.
    pub line: i64,
    /// The event name, when the line got that far.
    pub event: Option<String>,
    pub kind: ParseErrorKind,
}

/// The ways a line can be malformed.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseErrorKind {
    /// The line is not UTF-8 (binary garbage, a corrupted file, a non-log upload).
    InvalidUtf8 { valid_up_to: usize },
    /// The line is longer than the reader's limit; only its start was kept.
    LineTooLong { length: u64, limit: usize },
    /// No `TIMESTAMP  EVENT` separator (two spaces) on the line.
    MissingTimestamp,
    /// The timestamp is not `M/D HH:MM:SS.mmm` or `M/D/YYYY HH:MM:SS.mmm±H`.
    BadTimestamp { text: String },
    /// The timestamp reads, but no real log is dated then: before World of Warcraft's
    /// release or more than a day after the log reached us.
    ImplausibleTimestamp { text: String, timestamp_ms: i64 },
    /// A quote or a bracket opened and never closed: the line was cut off.
    Truncated { reason: &'static str },
    /// The event has a field count no known layout has.
    FieldCount { got: usize, expected: Vec<usize>, version: Option<i32> },
    /// A field that must be a number is not one.
    BadNumber { field: &'static str, index: usize, value: String },
    /// A field holds a value outside its known set.
    BadValue { field: &'static str, index: usize, value: String, expected: &'static str },
}

impl ParseError {
    /// A short, stable identifier of the error kind, for metrics and dead-letter rows.
    pub fn code(&self) -> &'static str {
        match self.kind {
            ParseErrorKind::InvalidUtf8 { .. } => "invalid_utf8",
            ParseErrorKind::LineTooLong { .. } => "line_too_long",
            ParseErrorKind::MissingTimestamp => "missing_timestamp",
            ParseErrorKind::BadTimestamp { .. } => "bad_timestamp",
            ParseErrorKind::ImplausibleTimestamp { .. } => "implausible_timestamp",
            ParseErrorKind::Truncated { .. } => "truncated",
            ParseErrorKind::FieldCount { .. } => "field_count",
            ParseErrorKind::BadNumber { .. } => "bad_number",
            ParseErrorKind::BadValue { .. } => "bad_value",
        }
    }

    /// The dead letter the pipeline keeps of this error's line (`source` `parser`), at
    /// `line` of log `log_id` (the error's own line unless the log was resumed), with the
    /// line's `raw` bytes as read.
    pub fn dead_letter(
        &self,
        guild_id: GuildId,
        log_id: LogId,
        upload_id: &str,
        line: i64,
        raw: &[u8],
        timestamp_ms: i64,
    ) -> DeadLetter {
        DeadLetter {
            guild_id,
            log_id,
            upload_id: upload_id.to_string(),
            source: "parser".to_string(),
            line,
            event: self.event.clone(),
            code: self.code().to_string(),
            message: self.to_string(),
            raw: raw.to_vec(),
            timestamp_ms,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", group_thousands(self.line))?;
        let event = self.event.as_deref().unwrap_or("line");
        match &self.kind {
            ParseErrorKind::InvalidUtf8 { valid_up_to } => {
                write!(f, "not valid UTF-8 after byte {valid_up_to}")
            }
            ParseErrorKind::LineTooLong { length, limit } => {
                write!(f, "{length} bytes long, more than the {limit}-byte limit for one line")
            }
            ParseErrorKind::MissingTimestamp => {
                f.write_str("no timestamp: expected `M/D HH:MM:SS.mmm  EVENT,...`")
            }
            ParseErrorKind::BadTimestamp { text } => {
                write!(f, "bad timestamp {text:?}: expected `M/D HH:MM:SS.mmm` or `M/D/YYYY HH:MM:SS.mmm±H`")
            }
            ParseErrorKind::ImplausibleTimestamp { text, timestamp_ms } => {
                let (year, month, day) = crate::civil_from_days(timestamp_ms.div_euclid(86_400_000));
                write!(
                    f,
                    "implausible timestamp {text:?} ({year:04}-{month:02}-{day:02}): before World of \
                     Warcraft's release (2004-11-23) or more than a day after the log arrived"
                )
            }
            ParseErrorKind::Truncated { reason } => write!(f, "{event} is cut off: {reason}"),
            ParseErrorKind::FieldCount { got, expected, version } => {
                write!(f, "{event} has {got} fields, expected {}", list_counts(expected))?;
                if let Some(version) = version {
                    write!(f, " for COMBAT_LOG_VERSION {version}")?;
                }
                Ok(())
            }
            ParseErrorKind::BadNumber { field, index, value } => {
                write!(f, "{event} field {index} ({field}) is {value:?}, expected a number")
            }
            ParseErrorKind::BadValue { field, index, value, expected } => {
                write!(f, "{event} field {index} ({field}) is {value:?}, expected {expected}")
            }
        }
    }
}

/// `18233` -> `18,233`: counts and line numbers as errors and reports show them.
pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `[22, 38, 39]` -> `22, 38 or 39`.
fn list_counts(counts: &[usize]) -> String {
    match counts {
        [] => "none".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(ToString::to_string).collect();
            format!("{} or {last}", init.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_count_error_names_line_event_and_expected_counts() {
        let error = ParseError {
            line: 18_233,
            event: Some("SPELL_DAMAGE".into()),
            kind: ParseErrorKind::FieldCount { got: 31, expected: vec![22, 39], version: Some(21) },
        };
        assert_eq!(
            error.to_string(),
            "line 18,233: SPELL_DAMAGE has 31 fields, expected 22 or 39 for COMBAT_LOG_VERSION 21"
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(7), "7");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }
}
