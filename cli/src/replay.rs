//! `wowlogs replay`: writes a real log into a folder the way the game writes it during a
//! raid, at game speed or N times faster: in irregular pieces that cut lines and UTF-8
//! characters, with CRLF line ends if asked, optionally switching to a new file
//! between two fights (logging toggled: the new file starts with the header again) and
//! re-creating the first file once. What `wowlogs watch` is tested against.

use chrono::{DateTime, Utc};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wowlogs_parser::{LineParser, ParseOptions, YearHint};
use wowlogs_schemas::{Payload, now_ms};

/// How a log is replayed.
#[derive(Debug, Clone)]
pub struct ReplaySettings {
    /// 1 is game speed; 10 ten times faster.
    pub speed: f64,
    /// Longest pause between two lines, in game time (a break is cut short).
    pub max_gap: Duration,
    /// Write `\r\n` line ends (the game on Windows).
    pub crlf: bool,
    /// Switch to a new file at the moment closest to the middle with no fight going on
    /// (none in a log that is one fight from its first line to its last).
    pub toggle: bool,
    /// Delete and write again the first file once, a quarter of the way in.
    pub recreate: bool,
    /// Seeds the pieces' sizes.
    pub seed: u64,
    /// When the first file was started (its name), default now.
    pub started: DateTime<Utc>,
}

/// What a replay wrote, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    pub files: Vec<PathBuf>,
    pub lines: usize,
    /// The moment each fight's end line (`ENCOUNTER_END`, `CHALLENGE_MODE_END`,
    /// `ARENA_MATCH_END`) was wholly written: `(file, line, when)`.
    pub fight_ends: Vec<(PathBuf, i64, Instant)>,
}

/// The game's name for a file started at `at`: `WoWCombatLog-MMDDYY_HHMMSS.txt`.
pub fn game_file_name(at: DateTime<Utc>) -> String {
    at.format("WoWCombatLog-%m%d%y_%H%M%S.txt").to_string()
}

/// One line of the source, with what the replay needs of it.
struct SourceLine<'a> {
    bytes: &'a [u8],
    at_ms: Option<i64>,
    /// Fights going on after this line.
    depth: i32,
    header: bool,
    fight_end: bool,
}

fn read_lines(log: &[u8]) -> Vec<SourceLine<'_>> {
    let mut parser = LineParser::new(ParseOptions::new(YearHint::last_written_at(now_ms())));
    let mut depth = 0;
    let mut lines = Vec::new();
    let text = log.strip_suffix(b"\n").unwrap_or(log);
    for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
        let bytes = raw.strip_suffix(b"\r").unwrap_or(raw);
        let event = parser.parse(i as i64 + 1, bytes).ok();
        let (mut header, mut fight_end) = (false, false);
        if let Some(event) = &event {
            match event.payload {
                Payload::EncounterStart(_) | Payload::ChallengeModeStart(_) | Payload::ArenaMatchStart(_) => {
                    depth += 1
                }
                Payload::EncounterEnd(_) | Payload::ChallengeModeEnd(_) | Payload::ArenaMatchEnd(_) => {
                    depth = (depth - 1).max(0);
                    fight_end = true;
                }
                Payload::LogVersion(_) => header = true,
                _ => {}
            }
        }
        lines.push(SourceLine { bytes, at_ms: event.map(|e| e.timestamp_ms), depth, header, fight_end });
    }
    lines
}

/// `header` with the timestamp of `line` (what comes before the two spaces).
fn restamped(header: &[u8], line: &[u8]) -> Vec<u8> {
    let stamp = |bytes: &[u8]| memchr::memmem::find(bytes, b"  ");
    match (stamp(header), stamp(line)) {
        (Some(h), Some(l)) => [&line[..l], &header[h..]].concat(),
        _ => header.to_vec(),
    }
}

/// A small deterministic generator for the pieces' sizes (xorshift64*).
struct Pieces(u64);

impl Pieces {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1) as u64) as usize
    }
}

/// The file being written, and what it holds so far.
struct Writing {
    path: PathBuf,
    file: File,
    written: Vec<u8>,
    /// Bytes due but not yet written (the game's buffer).
    pending: Vec<u8>,
}

impl Writing {
    fn create(path: PathBuf) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self { path, file, written: Vec::new(), pending: Vec::new() })
    }

    /// Writes a random part of what is due (cut anywhere: inside a line, a CRLF, a
    /// character), or all of it.
    fn flush(&mut self, pieces: &mut Pieces, all: bool) -> io::Result<()> {
        let n = if all || self.pending.len() < 2 {
            self.pending.len()
        } else {
            self.pending.len() / 2 + pieces.below(self.pending.len() / 2 + 1)
        };
        self.file.write_all(&self.pending[..n])?;
        self.file.flush()?;
        self.written.extend_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(())
    }

    /// Deletes the file and writes what it held again, as a new file.
    fn recreate(&mut self) -> io::Result<()> {
        std::fs::remove_file(&self.path)?;
        std::thread::sleep(Duration::from_millis(300));
        self.file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        self.file.write_all(&self.written)?;
        self.file.flush()
    }
}

/// Replays `log` into `folder` (see the module's documentation); `progress` is told each
/// line written (its index, and the lines in all).
pub fn replay(
    log: &[u8],
    folder: &Path,
    settings: &ReplaySettings,
    mut progress: impl FnMut(usize, usize),
) -> io::Result<Replayed> {
    let lines = read_lines(log);
    let eol: &[u8] = if settings.crlf { b"\r\n" } else { b"\n" };
    // The moment between two fights closest to the middle (not after the last line).
    let middle = lines.len() / 2;
    let toggle_after = settings
        .toggle
        .then(|| {
            (0..lines.len().saturating_sub(1))
                .filter(|&i| lines[i].depth == 0)
                .min_by_key(|&i| i.abs_diff(middle))
        })
        .flatten();
    let recreate_at = settings.recreate.then_some(toggle_after.unwrap_or(lines.len()) / 4);
    let header = lines.first().filter(|l| l.header).map(|l| l.bytes);
    let mut pieces = Pieces(settings.seed.max(1));
    let mut writing = Writing::create(folder.join(game_file_name(settings.started)))?;
    let mut replayed =
        Replayed { files: vec![writing.path.clone()], lines: lines.len(), fight_ends: Vec::new() };
    let mut line_number = 0i64;
    let started = Instant::now();
    let mut game_elapsed = Duration::ZERO;
    let mut last_ms: Option<i64> = None;
    let mut since_flush = Instant::now();
    for (i, line) in lines.iter().enumerate() {
        if let (Some(at), Some(last)) = (line.at_ms, last_ms) {
            let gap = Duration::from_millis((at - last).max(0) as u64).min(settings.max_gap);
            game_elapsed += gap;
        }
        last_ms = line.at_ms.or(last_ms);
        let due = started + game_elapsed.div_f64(settings.speed);
        let now = Instant::now();
        if due > now + Duration::from_millis(5) {
            writing.flush(&mut pieces, false)?;
            std::thread::sleep(due - now);
        }
        writing.pending.extend_from_slice(line.bytes);
        writing.pending.extend_from_slice(eol);
        line_number += 1;
        if writing.pending.len() >= 64 << 10 || since_flush.elapsed() >= Duration::from_millis(100) {
            writing.flush(&mut pieces, false)?;
            since_flush = Instant::now();
        }
        if line.fight_end {
            // The game writes a fight's end line late, in its next block: when it is on
            // disk is what the latency is measured from.
            writing.flush(&mut pieces, true)?;
            replayed.fight_ends.push((writing.path.clone(), line_number, Instant::now()));
        }
        if recreate_at == Some(i) {
            writing.flush(&mut pieces, true)?;
            writing.recreate()?;
        }
        if toggle_after == Some(i) {
            writing.flush(&mut pieces, true)?;
            let name = game_file_name(settings.started + chrono::Duration::seconds(1));
            writing = Writing::create(folder.join(name))?;
            replayed.files.push(writing.path.clone());
            line_number = 0;
            if let Some(header) = header {
                // The game writes a new header, stamped with the moment logging started
                // again: the time of the line that comes next.
                let header = restamped(header, lines.get(i + 1).map_or(header, |next| next.bytes));
                writing.pending.extend_from_slice(&header);
                writing.pending.extend_from_slice(eol);
                line_number = 1;
            }
        }
        progress(i + 1, lines.len());
    }
    writing.flush(&mut pieces, true)?;
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ReplaySettings {
        ReplaySettings {
            speed: 1e9,
            max_gap: Duration::ZERO,
            crlf: true,
            toggle: true,
            recreate: true,
            seed: 7,
            started: DateTime::parse_from_rfc3339("2026-12-06T20:15:03Z").unwrap().to_utc(),
        }
    }

    #[test]
    fn a_replay_writes_the_log_with_crlf_split_between_two_fights_into_two_files() {
        let log = std::fs::read(wowlogs_testkit::fixture("retail_tww_11.0.2_dummies_skirmish.txt")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let replayed = replay(&log, dir.path(), &settings(), |_, _| {}).unwrap();
        assert_eq!(replayed.files.len(), 2);
        assert_eq!(replayed.files[0].file_name().unwrap(), "WoWCombatLog-120626_201503.txt");
        let first = std::fs::read(&replayed.files[0]).unwrap();
        let second = std::fs::read(&replayed.files[1]).unwrap();
        let lf = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace("\r\n", "\n");
        assert!(first.ends_with(b"\r\n") && !lf(&first).contains('\r'));
        let source = String::from_utf8_lossy(&log).replace("\r\n", "\n");
        let header = source.lines().next().unwrap();
        let second = lf(&second);
        let (new_header, rest) = second.split_once('\n').unwrap();
        assert_ne!(new_header, header, "a new file's header is stamped anew");
        assert_eq!(new_header.split_once("  ").unwrap().1, header.split_once("  ").unwrap().1);
        let rejoined = format!("{}{rest}", lf(&first));
        assert_eq!(rejoined.trim_end(), source.trim_end(), "every line, once, in order");
        assert!(!replayed.fight_ends.is_empty());
    }

    #[test]
    fn pieces_cut_lines_and_characters() {
        let mut pieces = Pieces(3);
        let cuts: Vec<usize> = (0..100).map(|_| pieces.below(10)).collect();
        assert!(cuts.iter().any(|&c| c != cuts[0]) && cuts.iter().all(|&c| c < 10));
    }
}
