//! Is the spooled upload a combat log, which logs does it hold, and does it expand within
//! its budget?

use crate::identity::{LogIdentity, identify};
use std::io::{BufRead, Read};
use wowlogs_parser::{InputError, LogReader, ParseOptions, ParsedLine, YearHint, for_each_log};
use wowlogs_schemas::GuildId;

/// Lines read from the start of an upload to judge whether it is a combat log.
const SAMPLE_LINES: usize = 10_000;

/// Decompressed bytes an upload may always expand to, whatever its compressed size.
const FREE_EXPANSION_BYTES: u64 = 64 << 20;

/// Combat logs compress about 10 to 20 times (gzip, zip); past [`FREE_EXPANSION_BYTES`],
/// an upload expanding more than this is a decompression bomb (a gzip of zeros expands
/// about 1,000 times).
pub const MAX_EXPANSION: u64 = 100;

/// A log's name as its status carries it (the upload's file name, and an archive
/// entry's after a colon) keeps at most this many characters of each: a file system's
/// usual limit, where a zip entry's name may be 64 KiB and a thousand of them would
/// make one upload's status megabytes long.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// The name a log of this upload is known by.
pub fn published_name(file_name: &str, entry: Option<&str>) -> String {
    let cut = |name| wowlogs_schemas::cut_chars(name, MAX_FILE_NAME_CHARS);
    match entry {
        Some(entry) => format!("{}:{}", cut(file_name), cut(entry)),
        None => cut(file_name).to_string(),
    }
}

/// How many bytes an upload of `sent` bytes may expand to: the expansion guard, capped by
/// the service's budget per upload.
pub(super) fn expansion_budget(sent: u64, max_decompressed: u64) -> u64 {
    sent.saturating_mul(MAX_EXPANSION).max(FREE_EXPANSION_BYTES).min(max_decompressed)
}

/// What an upload holds.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Inspection {
    /// Each log with its identity (a zip's entries are named `archive.zip:entry.txt`).
    Logs(Vec<(String, LogIdentity)>),
    /// More than half of the first lines of its first log are not combat-log events:
    /// refused whole, nothing published (its garbage would only become dead letters).
    NotALog { read: u64, malformed: u64 },
    /// Its logs expand to more than `budget` bytes (stopped there).
    OverBudget { budget: u64 },
    /// It holds more than `limit` logs (stopped at the first one past it).
    TooManyLogs { limit: usize },
}

/// A reader that fails once more than its budget has been read, summed over every log
/// of an upload: a bomb is stopped as it expands, not after.
struct Budgeted<'a> {
    inner: &'a mut dyn BufRead,
    used: &'a mut u64,
    budget: u64,
}

impl Budgeted<'_> {
    fn check(&self) -> std::io::Result<()> {
        if *self.used > self.budget {
            return Err(std::io::Error::other(OverBudget));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the upload expands past its decompressed-size budget")]
struct OverBudget;

impl Read for Budgeted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.check()?;
        let n = self.inner.read(buf)?;
        *self.used += n as u64;
        Ok(n)
    }
}

impl BufRead for Budgeted<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.check()?;
        self.inner.fill_buf()
    }
    fn consume(&mut self, amount: usize) {
        *self.used += amount as u64;
        self.inner.consume(amount);
    }
}

/// Whether an input error is the budget's.
fn over_budget(error: &InputError) -> bool {
    let InputError::Io(io) = error else { return false };
    io.get_ref().is_some_and(|inner| inner.is::<OverBudget>())
}

/// The error that stops the walk over an upload's logs at the first one past the limit.
#[derive(Debug, thiserror::Error)]
#[error("more logs than an upload may hold")]
struct TooManyLogs;

fn too_many_logs(error: &InputError) -> bool {
    let InputError::Io(io) = error else { return false };
    io.get_ref().is_some_and(|inner| inner.is::<TooManyLogs>())
}

/// Inspects the spooled upload, each pass reading at most `budget` decompressed bytes
/// (the first pass only samples the first log, but one line of a bomb can be gigabytes)
/// and at most `max_logs` logs.
pub(super) fn inspect(
    path: &std::path::Path,
    file_name: &str,
    guild: GuildId,
    budget: u64,
    max_logs: usize,
) -> Result<Inspection, String> {
    let open = || std::fs::File::open(path).map_err(|e| e.to_string());
    let over = |error: InputError| {
        if over_budget(&error) { Ok(Inspection::OverBudget { budget }) } else { Err(error.to_string()) }
    };
    let (mut read, mut malformed) = (0u64, 0u64);
    let (mut used, mut first) = (0, true);
    let sampled = for_each_log(open()?, |_, input: &mut dyn BufRead| -> Result<(), InputError> {
        if std::mem::take(&mut first) {
            let input = Budgeted { inner: input, used: &mut used, budget };
            let reader = LogReader::new(input, ParseOptions::new(YearHint::FirstLineIn(2024)));
            for line in reader.take(SAMPLE_LINES) {
                read += 1;
                malformed += u64::from(!matches!(line?, ParsedLine::Event(_)));
            }
        }
        Ok(())
    });
    if let Err(error) = sampled {
        return over(error);
    }
    if read == 0 || malformed * 2 > read {
        return Ok(Inspection::NotALog { read, malformed });
    }
    let mut logs = Vec::new();
    let mut used = 0;
    let identified = for_each_log(open()?, |entry, input: &mut dyn BufRead| -> Result<(), InputError> {
        if logs.len() == max_logs {
            return Err(InputError::Io(std::io::Error::other(TooManyLogs)));
        }
        let name = published_name(file_name, entry);
        let mut input = Budgeted { inner: input, used: &mut used, budget };
        logs.push((name, identify(guild, &mut input)?));
        Ok(())
    });
    match identified {
        Ok(_) => Ok(Inspection::Logs(logs)),
        Err(error) if too_many_logs(&error) => Ok(Inspection::TooManyLogs { limit: max_logs }),
        Err(error) => over(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const EVENT: &str = "7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0\n";

    fn gzip(content: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(content).unwrap();
        file.write_all(&gz.finish().unwrap()).unwrap();
        file
    }

    #[test]
    fn a_log_is_published_under_its_file_and_entry_each_cut_to_a_file_systems_limit() {
        assert_eq!(published_name("raid.zip", Some("WoWCombatLog.txt")), "raid.zip:WoWCombatLog.txt");
        assert_eq!(published_name("WoWCombatLog.txt", None), "WoWCombatLog.txt");
        let long = "x".repeat(65_535);
        assert_eq!(published_name(&long, Some(&long)).len(), 2 * MAX_FILE_NAME_CHARS + 1);
    }

    #[test]
    fn a_log_within_its_budget_is_identified() {
        let spool = gzip(EVENT.repeat(1_000).as_bytes());
        let Inspection::Logs(logs) = inspect(spool.path(), "a.txt.gz", GuildId(1), 1 << 20, 10).unwrap()
        else {
            panic!()
        };
        assert_eq!(logs[0].1.bytes, EVENT.len() as u64 * 1_000);
    }

    #[test]
    fn a_gzip_that_expands_past_its_budget_is_stopped_there() {
        // A real log's start, then zeros: the kind of bomb that expands a thousandfold.
        let mut content = EVENT.repeat(100).into_bytes();
        content.extend(std::iter::repeat_n(b'0', 8 << 20));
        let spool = gzip(&content);
        let sent = spool.as_file().metadata().unwrap().len();
        let budget = expansion_budget(sent, 4 << 20);
        assert_eq!(budget, 4 << 20, "the service's cap is below sent × {MAX_EXPANSION} here");
        assert_eq!(
            inspect(spool.path(), "bomb.txt.gz", GuildId(1), budget, 10).unwrap(),
            Inspection::OverBudget { budget }
        );
    }

    #[test]
    fn a_bomb_with_no_line_break_is_stopped_while_sampled() {
        // One "line" of 8 MiB of zeros: the sample of the first lines reads it whole
        // unless the budget holds there too.
        let spool = gzip(&vec![b'0'; 8 << 20]);
        assert_eq!(
            inspect(spool.path(), "bomb.txt.gz", GuildId(1), 1 << 20, 10).unwrap(),
            Inspection::OverBudget { budget: 1 << 20 }
        );
    }

    #[test]
    fn the_budget_is_the_expansion_guard_with_a_floor_and_the_services_cap() {
        assert_eq!(expansion_budget(1_000, 8 << 30), FREE_EXPANSION_BYTES);
        assert_eq!(expansion_budget(10 << 20, 8 << 30), 1000 << 20);
        assert_eq!(expansion_budget(1 << 30, 8 << 30), 8 << 30);
    }

    #[test]
    fn an_upload_holding_more_logs_than_allowed_is_stopped_at_the_first_one_past() {
        let spool = crate::uploads::tests::spool(&crate::uploads::tests::zip_of_logs(11));
        assert_eq!(
            inspect(spool.path(), "many.zip", GuildId(1), 1 << 20, 10).unwrap(),
            Inspection::TooManyLogs { limit: 10 }
        );
        let Inspection::Logs(logs) = inspect(spool.path(), "many.zip", GuildId(1), 1 << 20, 11).unwrap()
        else {
            panic!("as many logs as allowed are taken")
        };
        assert_eq!(logs.len(), 11);
        assert_eq!(logs[10].0, "many.zip:WoWCombatLog-10.txt");
    }
}
