//! Combat log timestamps to UTC epoch milliseconds.
//!
//! Two formats exist:
//! - `M/D HH:MM:SS.mmm` (Classic and retail before 11.0): no year and no time zone.
//!   The year comes from a [`YearHint`]; a log that crosses New Year is followed by
//!   watching the month go backwards. The zone is a configured offset (default UTC).
//! - `M/D/YYYY HH:MM:SS.mmm±H` (retail 11.0+): exactly three fraction digits, then the
//!   UTC offset in hours glued on, the `+` left out for positive offsets:
//!   `21:05:23.7758` is 21:05:23.775 at UTC+8 (fixture `arena_3v3_tww_11.2.0.txt`).

/// Where the year of `M/D` timestamps comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearHint {
    /// The year of the log's first line (`--year`).
    FirstLineIn(i32),
    /// The log was last written on this day (a file's modification time, an upload's
    /// arrival): its first line is the most recent date not after it, so a first line
    /// later in the calendar than that day began the year before.
    LastWrittenIn { year: i32, month: u32, day: u32 },
}

impl YearHint {
    /// The hint for a log last written at `unix_ms` (a file's modification time, an
    /// upload's arrival), in UTC.
    pub fn last_written_at(unix_ms: i64) -> Self {
        let (year, month, day) = civil_from_days(unix_ms.div_euclid(MS_PER_DAY));
        YearHint::LastWrittenIn { year, month, day }
    }

    /// `--year` when given, else the year and month the log was last written.
    pub fn from_year_or_modified(year: Option<i32>, modified: std::time::SystemTime) -> Self {
        match year {
            Some(year) => YearHint::FirstLineIn(year),
            None => {
                let ms =
                    modified.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
                YearHint::last_written_at(ms)
            }
        }
    }
}

/// Why a timestamp did not parse (the caller adds the line and the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTimestamp;

/// Converts timestamps line by line, tracking the year of `M/D` timestamps.
#[derive(Debug, Clone)]
pub struct Clock {
    hint: YearHint,
    old_format_offset_minutes: i32,
    year: Option<i32>,
    last_month: u32,
    /// (year, month, day) -> days since the epoch of the last date seen.
    day_cache: Option<((i32, u32, u32), i64)>,
}

const MS_PER_DAY: i64 = 86_400_000;

/// What a [`Clock`] has learned from the lines so far: all a later line's time depends
/// on besides the log's [`YearHint`] and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ClockState {
    year: Option<i32>,
    last_month: u32,
}

impl Clock {
    /// What this clock has learned so far.
    pub(crate) fn state(&self) -> ClockState {
        ClockState { year: self.year, last_month: self.last_month }
    }

    /// Continues from what another clock of the same log had learned.
    pub(crate) fn restore(&mut self, state: ClockState) {
        self.year = state.year;
        self.last_month = state.last_month;
    }

    /// A clock for one log. `old_format_offset_minutes` is the UTC offset of the client
    /// that wrote `M/D` timestamps (0 = the log is read as UTC).
    pub fn new(hint: YearHint, old_format_offset_minutes: i32) -> Self {
        Self { hint, old_format_offset_minutes, year: None, last_month: 0, day_cache: None }
    }

    /// Parses one timestamp into UTC epoch milliseconds.
    pub fn epoch_ms(&mut self, text: &str) -> Result<i64, BadTimestamp> {
        let b = text.as_bytes();
        let mut cur = Cursor { b, pos: 0 };
        let month = cur.number(1, 2)?;
        cur.expect(b'/')?;
        let day = cur.number(1, 2)?;
        let explicit_year = if cur.peek() == Some(b'/') {
            cur.pos += 1;
            Some(cur.number(4, 4)? as i32)
        } else {
            None
        };
        cur.expect(b' ')?;
        let hour = cur.number(1, 2)?;
        cur.expect(b':')?;
        let minute = cur.number(2, 2)?;
        cur.expect(b':')?;
        let second = cur.number(2, 2)?;
        cur.expect(b'.')?;
        let millis = cur.number(3, 3)?;
        if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
            return Err(BadTimestamp);
        }
        let (year, offset_minutes) = match explicit_year {
            Some(year) => (year, parse_offset_hours(&text[cur.pos..])?),
            None if cur.pos == b.len() => (self.year_for(month, day), self.old_format_offset_minutes),
            None => return Err(BadTimestamp),
        };
        if day == 0 || day > days_in_month(year, month) {
            return Err(BadTimestamp);
        }
        let days = self.days(year, month, day);
        let local_ms = days * MS_PER_DAY
            + i64::from(hour) * 3_600_000
            + i64::from(minute) * 60_000
            + i64::from(second) * 1_000
            + i64::from(millis);
        Ok(local_ms - i64::from(offset_minutes) * 60_000)
    }

    /// The year of an `M/D` timestamp, advancing at New Year.
    fn year_for(&mut self, month: u32, day: u32) -> i32 {
        let year = match self.year {
            None => match self.hint {
                YearHint::FirstLineIn(year) => year,
                YearHint::LastWrittenIn { year, month: last_month, day: last_day }
                    if (month, day) > (last_month, last_day) =>
                {
                    year - 1
                }
                YearHint::LastWrittenIn { year, .. } => year,
            },
            // Lines are chronological: a month that goes backwards is the next year.
            Some(year) if month < self.last_month => year + 1,
            Some(year) => year,
        };
        self.year = Some(year);
        self.last_month = month;
        year
    }

    fn days(&mut self, year: i32, month: u32, day: u32) -> i64 {
        match self.day_cache {
            Some((date, days)) if date == (year, month, day) => days,
            _ => {
                let days = days_from_civil(year, month, day);
                self.day_cache = Some(((year, month, day), days));
                days
            }
        }
    }
}

/// The glued-on UTC offset: `-4`, `8`, `+10`, `5.5`; empty means UTC.
fn parse_offset_hours(text: &str) -> Result<i32, BadTimestamp> {
    if text.is_empty() {
        return Ok(0);
    }
    let hours: f64 = text.parse().map_err(|_| BadTimestamp)?;
    if !hours.is_finite() || hours.abs() > 14.0 {
        return Err(BadTimestamp);
    }
    Ok((hours * 60.0).round() as i32)
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), BadTimestamp> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(BadTimestamp)
        }
    }

    fn number(&mut self, min_digits: usize, max_digits: usize) -> Result<u32, BadTimestamp> {
        let start = self.pos;
        let mut value = 0u32;
        while self.pos - start < max_digits {
            match self.peek() {
                Some(d @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(d - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        if self.pos - start < min_digits { Err(BadTimestamp) } else { Ok(value) }
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((yoe + era * 400 + i64::from(month <= 2)) as i32, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        Clock::new(YearHint::FirstLineIn(2024), 0)
    }

    #[test]
    fn new_format_subtracts_a_negative_offset() {
        // 2024-07-28 14:36:49.528 at UTC-4 is 18:36:49.528 UTC.
        assert_eq!(clock().epoch_ms("7/28/2024 14:36:49.528-4"), Ok(1_722_191_809_528));
    }

    #[test]
    fn new_format_reads_a_glued_positive_offset_after_three_fraction_digits() {
        // `.7758` is .775 s at UTC+8: 2025-08-30 21:05:23.775 +08:00 = 13:05:23.775 UTC.
        assert_eq!(clock().epoch_ms("8/30/2025 21:05:23.7758"), Ok(1_756_559_123_775));
    }

    #[test]
    fn new_format_accepts_explicit_plus_and_fractional_offsets() {
        let utc = clock().epoch_ms("1/1/2025 10:00:00.000").unwrap();
        assert_eq!(clock().epoch_ms("1/1/2025 10:00:00.000+2"), Ok(utc - 2 * 3_600_000));
        assert_eq!(clock().epoch_ms("1/1/2025 10:00:00.0005.5"), Ok(utc - 330 * 60_000));
    }

    #[test]
    fn old_format_takes_the_year_from_the_hint() {
        assert_eq!(clock().epoch_ms("3/24 19:22:59.391"), Ok(1_711_308_179_391));
    }

    #[test]
    fn old_format_applies_the_configured_offset() {
        let mut eastern = Clock::new(YearHint::FirstLineIn(2024), -240);
        assert_eq!(eastern.epoch_ms("3/24 19:22:59.391"), Ok(1_711_308_179_391 + 4 * 3_600_000));
    }

    #[test]
    fn old_format_log_crossing_new_year_moves_to_the_next_year() {
        let mut clock = Clock::new(YearHint::FirstLineIn(2023), 0);
        let before = clock.epoch_ms("12/31 23:59:59.999").unwrap();
        let after = clock.epoch_ms("1/1 00:00:00.000").unwrap();
        assert_eq!(after - before, 1);
        assert_eq!(after, 1_704_067_200_000, "2024-01-01T00:00:00Z");
    }

    #[test]
    fn modification_time_in_january_puts_a_december_start_in_the_year_before() {
        let mut clock = Clock::new(YearHint::LastWrittenIn { year: 2024, month: 1, day: 2 }, 0);
        assert_eq!(clock.epoch_ms("12/31 23:00:00.000"), Ok(1_704_063_600_000));
        assert_eq!(clock.epoch_ms("1/1 00:00:00.000"), Ok(1_704_067_200_000));
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for text in [
            "",
            "13/1 00:00:00.000",
            "2/30/2024 00:00:00.000",
            "1/1 24:00:00.000",
            "1/1 00:00:00.00",
            "1/1 00:00:00",
            "1/1/24 00:00:00.000",
            "1/1 00:00:00.000-4",
            "1/1/2024 00:00:00.000-99",
            "x/1 00:00:00.000",
        ] {
            assert_eq!(clock().epoch_ms(text), Err(BadTimestamp), "{text:?}");
        }
    }

    #[test]
    fn calendar_conversions_are_inverse() {
        for days in [-1, 0, 19_723, 19_782, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn modification_time_gives_year_and_month() {
        assert_eq!(
            YearHint::last_written_at(1_704_067_200_000),
            YearHint::LastWrittenIn { year: 2024, month: 1, day: 1 }
        );
    }

    #[test]
    fn an_upload_puts_its_log_on_the_most_recent_date_not_after_it() {
        // Uploaded on 2026-11-20: March is this year's, 11/25 and 12/30 last year's.
        let uploaded = YearHint::LastWrittenIn { year: 2026, month: 11, day: 20 };
        let year = |stamp: &str| {
            let ms = Clock::new(uploaded, 0).epoch_ms(stamp).unwrap();
            civil_from_days(ms.div_euclid(MS_PER_DAY)).0
        };
        assert_eq!(year("3/24 20:00:00.000"), 2026);
        assert_eq!(year("11/20 20:00:00.000"), 2026);
        assert_eq!(year("11/25 20:00:00.000"), 2025);
        assert_eq!(year("12/30 20:00:00.000"), 2025);
    }

    #[test]
    fn leap_day_exists_only_in_leap_years() {
        assert!(clock().epoch_ms("2/29/2024 00:00:00.000").is_ok());
        assert!(clock().epoch_ms("2/29/2023 00:00:00.000").is_err());
    }
}
