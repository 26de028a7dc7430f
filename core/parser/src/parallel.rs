//! One log parsed on several threads, read out in order.
//!
//! The reading thread cuts the log into blocks of about [`CHUNK_BYTES`] that end at a
//! newline and hands each to a pool of parsing threads, which split it into lines and
//! parse them, together with the state a [`LineParser`] would have at the block's first
//! line (its `COMBAT_LOG_VERSION` and its clock's year). That state is known exactly
//! only once the block before has been parsed, so it is guessed: the reading thread
//! watches the lines that can change it (every line of a block holding a header, else
//! the first and last line's dates) with a parser that reads nothing else. Blocks come
//! back in order, and one that was parsed from a state other than the one its
//! predecessor really ended in is parsed again, here, from the right one: the output is
//! always the single-threaded reader's, line for line (numbers, cut lines, carriage
//! returns and the byte-order mark included). Memory stays bounded by the blocks in
//! flight (twice the threads) whatever the log's size; a line longer than a block is
//! kept to the line limit as [`crate::LineReader`] keeps it.

use crate::error::ParseError;
use crate::line_parser::{LineParser, ParseOptions, ParserState, parse_line};
use crate::parsed::{ParseStats, Parsed};
use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use wowlogs_schemas::CombatEvent;

/// Bytes in one block: large enough that handing it over costs nothing next to parsing
/// it (about 4,000 lines), small enough that a few in flight stay a few MiB.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// The header's event name: a block holding it is watched line by line.
const HEADER: &[u8] = b"COMBAT_LOG_VERSION,";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A piece of the log as the reading thread cut it.
enum Block {
    /// Whole lines, each ending in a newline but perhaps the log's last.
    Lines { bytes: Vec<u8>, starts_log: bool },
    /// One line longer than a block: its first bytes (up to the line limit) and its
    /// length.
    Long { kept: Vec<u8>, length: u64, starts_log: bool },
}

/// A line of a block: where its kept bytes are, its number within the block (from 1),
/// and its length when it was cut to the line limit.
#[derive(Debug, Clone, Copy)]
struct BlockLine {
    number: i64,
    start: usize,
    end: usize,
    truncated_from: Option<u64>,
}

/// A block, its non-blank lines and what became of each.
struct Done {
    block: Block,
    started_from: ParserState,
    ended_with: ParserState,
    lines: Vec<BlockLine>,
    /// Every line of the block, blank ones included, and the blank ones.
    line_count: u64,
    blank_count: u64,
    /// Bytes read from the start of the log through this block.
    bytes_through: u64,
    results: std::vec::IntoIter<Result<CombatEvent, ParseError>>,
    /// The next of `lines` to hand out.
    at: usize,
}

impl Block {
    fn bytes(&self) -> &[u8] {
        match self {
            Block::Lines { bytes, .. } => bytes,
            Block::Long { kept, .. } => kept,
        }
    }
}

struct Job {
    block: Block,
    bytes_through: u64,
    state: ParserState,
    reply: SyncSender<Done>,
}

enum Pending {
    Ready(Done),
    Parsing(Receiver<Done>),
}

/// The parallel half of a [`crate::LogReader`]: the blocks in flight and the threads
/// parsing them.
pub(crate) struct Pipeline {
    options: ParseOptions,
    limit: usize,
    threads: usize,
    chunk_bytes: usize,
    jobs: Option<mpsc::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    in_flight: VecDeque<Pending>,
    /// Watches lines as they are cut off, to guess each block's starting state.
    watcher: LineParser,
    /// The state the real parse ended in after the last block handed out.
    actual: ParserState,
    current: Option<Done>,
    /// Lines of the blocks before the current one (the current one's numbers start
    /// after them).
    lines_before: u64,
    blank_lines: u64,
    /// What the reading thread has read and not yet cut into a block: part of a line.
    carry: Vec<u8>,
    bytes_read: u64,
    /// The input has said it has no more bytes.
    eof: bool,
    /// The input's error, returned once the lines read before it are handed out.
    failed: Option<io::Error>,
    /// Every byte of the input is in a block.
    input_ended: bool,
    /// Whether the next block is the log's first (its first line may start with a
    /// byte-order mark).
    at_start: bool,
    /// Blocks parsed again because their guessed state was wrong.
    reparsed: u64,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("threads", &self.threads)
            .field("in_flight", &self.in_flight.len())
            .field("reparsed", &self.reparsed)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline of `threads` parsing threads over blocks of about `chunk_bytes`.
    pub(crate) fn new(options: ParseOptions, limit: usize, threads: usize, chunk_bytes: usize) -> Self {
        let watcher = LineParser::new(options);
        Self {
            options,
            limit,
            threads,
            chunk_bytes,
            jobs: None,
            workers: Vec::new(),
            in_flight: VecDeque::new(),
            actual: watcher.state(),
            watcher,
            current: None,
            lines_before: 0,
            blank_lines: 0,
            carry: Vec::new(),
            bytes_read: 0,
            eof: false,
            failed: None,
            input_ended: false,
            at_start: true,
            reparsed: 0,
        }
    }

    /// Blocks whose guessed starting state was wrong (parsed twice).
    pub(crate) fn reparsed(&self) -> u64 {
        self.reparsed
    }

    /// The next non-blank line, parsed, in the log's order. `stats` gets the counts
    /// through the block being handed out (its lines, blank lines and bytes; events and
    /// errors as they are handed out).
    pub(crate) fn next<R: BufRead>(
        &mut self,
        input: &mut R,
        stats: &mut ParseStats,
    ) -> io::Result<Option<Parsed<'_>>> {
        while self.current.as_ref().is_none_or(|done| done.at == done.lines.len()) {
            if !self.next_block(input, stats)? {
                return Ok(None);
            }
        }
        let base = self.lines_before as i64;
        let done = self.current.as_mut().expect("a block with lines left");
        let line = done.lines[done.at];
        done.at += 1;
        let mut result = done.results.next().expect("a result for every line");
        match &mut result {
            Ok(event) => {
                event.line += base;
                stats.events += 1;
            }
            Err(error) => {
                error.line += base;
                stats.errors += 1;
            }
        }
        Ok(Some(Parsed { raw: &done.block.bytes()[line.start..line.end], result }))
    }

    /// Moves on to the next block in order; false at the end of the log.
    fn next_block<R: BufRead>(&mut self, input: &mut R, stats: &mut ParseStats) -> io::Result<bool> {
        if let Some(done) = self.current.take() {
            self.lines_before += done.line_count;
        }
        self.fill(input)?;
        let Some(pending) = self.in_flight.pop_front() else {
            return match self.failed.take() {
                Some(error) => Err(error),
                None => Ok(false),
            };
        };
        let mut done = match pending {
            Pending::Ready(done) => done,
            Pending::Parsing(reply) => {
                reply.recv().map_err(|_| io::Error::other("a thread parsing the log stopped"))?
            }
        };
        if done.started_from != self.actual {
            self.reparsed += 1;
            let mut parser = LineParser::new(self.options);
            done = parse_block(&mut parser, done.block, done.bytes_through, self.actual, self.limit);
        }
        self.actual = done.ended_with;
        self.blank_lines += done.blank_count;
        stats.lines = self.lines_before + done.line_count;
        stats.blank_lines = self.blank_lines;
        stats.bytes = done.bytes_through;
        self.current = Some(done);
        Ok(true)
    }

    /// Cuts off blocks until twice the threads are in flight or the log has ended.
    fn fill<R: BufRead>(&mut self, input: &mut R) -> io::Result<()> {
        while !self.input_ended && self.in_flight.len() < 2 * self.threads {
            let Some(block) = self.cut(input)? else {
                self.input_ended = true;
                break;
            };
            let guess = self.watcher.state();
            self.watch(&block);
            let bytes_through = self.bytes_read;
            // A log that fits in one block is parsed here, without starting a thread.
            if self.jobs.is_none() && self.input_ended && self.in_flight.is_empty() {
                let mut parser = LineParser::new(self.options);
                let done = parse_block(&mut parser, block, bytes_through, guess, self.limit);
                self.in_flight.push_back(Pending::Ready(done));
                break;
            }
            let (reply, parsed) = mpsc::sync_channel(1);
            let job = Job { block, bytes_through, state: guess, reply };
            self.jobs().send(job).map_err(|_| io::Error::other("the threads parsing the log stopped"))?;
            self.in_flight.push_back(Pending::Parsing(parsed));
        }
        Ok(())
    }

    /// The next block: about `chunk_bytes` of whole lines, or one line longer than the
    /// line limit; `None` once the log is read.
    fn cut<R: BufRead>(&mut self, input: &mut R) -> io::Result<Option<Block>> {
        let mut bytes = std::mem::take(&mut self.carry);
        loop {
            // The carry holds no newline: only what is read after it can.
            let searched = bytes.len();
            if !self.eof {
                let read = read_into(input, &mut bytes, self.chunk_bytes);
                self.bytes_read += (bytes.len() - searched) as u64;
                match read {
                    Ok(eof) => self.eof = eof,
                    Err(error) => {
                        // As on one thread: the whole lines read before the error are
                        // handed out, the line it cut is lost, then the error.
                        self.failed = Some(error);
                        self.eof = true;
                        self.input_ended = true;
                        let whole =
                            memchr::memrchr(b'\n', &bytes[searched..]).map(|last| searched + last + 1);
                        return Ok(whole.map(|end| {
                            bytes.truncate(end);
                            self.block(bytes)
                        }));
                    }
                }
            }
            if let Some(last) = memchr::memrchr(b'\n', &bytes[searched..]) {
                self.carry = bytes.split_off(searched + last + 1);
                self.input_ended = self.eof && self.carry.is_empty();
                return Ok(Some(self.block(bytes)));
            }
            if self.eof {
                self.input_ended = true;
                return Ok((!bytes.is_empty()).then(|| self.block(bytes)));
            }
            if bytes.len() > self.limit {
                // A line longer than the limit: keep its start, count the rest.
                let (skipped, ended) = match skip_line(input) {
                    Ok(skipped) => skipped,
                    Err(error) => {
                        self.failed = Some(error);
                        self.eof = true;
                        self.input_ended = true;
                        return Ok(None);
                    }
                };
                self.bytes_read += skipped + u64::from(ended);
                let length = bytes.len() as u64 + skipped;
                bytes.truncate(self.limit);
                self.eof = !ended;
                self.input_ended = !ended;
                let starts_log = std::mem::replace(&mut self.at_start, false);
                return Ok(Some(Block::Long { kept: bytes, length, starts_log }));
            }
        }
    }

    fn block(&mut self, bytes: Vec<u8>) -> Block {
        Block::Lines { bytes, starts_log: std::mem::replace(&mut self.at_start, false) }
    }

    /// Lets the watcher learn what the block's lines teach a parser, cheaply: every line
    /// of a block holding a header, else its first and last lines' dates (a log crosses
    /// New Year at most once within a block).
    fn watch(&mut self, block: &Block) {
        let limit = self.limit;
        match block {
            Block::Long { .. } => {}
            Block::Lines { bytes, starts_log } => {
                let mut lines =
                    lines_of(bytes, *starts_log, limit).filter(|(_, line)| line.truncated_from.is_none());
                if memchr::memmem::find(bytes, HEADER).is_some() {
                    for (bytes, line) in lines {
                        self.watcher.observe(&bytes[line.start..line.end]);
                    }
                    return;
                }
                if let Some((_, first)) = lines.next() {
                    self.watcher.observe(&bytes[first.start..first.end]);
                }
                let last = bytes.strip_suffix(b"\n").unwrap_or(bytes);
                let from = memchr::memrchr(b'\n', last).map_or(0, |at| at + 1);
                if from > 0 && last.len() - from <= limit {
                    let line = &last[from..];
                    self.watcher.observe(line.strip_suffix(b"\r").unwrap_or(line));
                }
            }
        }
    }

    /// The queue of the parsing threads, started on first use.
    fn jobs(&mut self) -> &mpsc::Sender<Job> {
        if self.jobs.is_none() {
            let (jobs, queue) = mpsc::channel::<Job>();
            let queue = Arc::new(Mutex::new(queue));
            for n in 0..self.threads {
                let (queue, options, limit) = (queue.clone(), self.options, self.limit);
                let worker = std::thread::Builder::new()
                    .name(format!("parse-{n}"))
                    .spawn(move || work(&queue, options, limit))
                    .expect("a parsing thread");
                self.workers.push(worker);
            }
            self.jobs = Some(jobs);
        }
        self.jobs.as_ref().expect("started above")
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // Unanswered blocks first, so that no thread waits to hand one over.
        self.in_flight.clear();
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// Appends up to `want` bytes (at least 1) from `input`; whether the input has ended. On
/// an error, what was read before it stays appended.
fn read_into<R: BufRead>(input: &mut R, bytes: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let want = want.max(1);
    bytes.reserve(want);
    let mut read = 0;
    while read < want {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(true);
        }
        let n = available.len().min(want - read);
        bytes.extend_from_slice(&available[..n]);
        input.consume(n);
        read += n;
    }
    Ok(false)
}

/// Reads past the rest of a line: the bytes before its newline, and whether there was
/// one (consumed too).
fn skip_line<R: BufRead>(input: &mut R) -> io::Result<(u64, bool)> {
    let mut skipped = 0u64;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((skipped, false));
        }
        match memchr::memchr(b'\n', available) {
            Some(at) => {
                input.consume(at + 1);
                return Ok((skipped + at as u64, true));
            }
            None => {
                let n = available.len();
                input.consume(n);
                skipped += n as u64;
            }
        }
    }
}

/// The lines of a block of whole lines as [`crate::LineReader`] gives them: without
/// their newline, a carriage return before it dropped, cut to `limit` bytes (with their
/// length) when longer, a byte-order mark dropped from the log's first line. Each with
/// the block's bytes, so that a caller may keep borrowing them.
fn lines_of(bytes: &[u8], starts_log: bool, limit: usize) -> impl Iterator<Item = (&[u8], BlockLine)> {
    let mut start = 0;
    let mut number = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |at| start + at);
        let next = end + 1;
        number += 1;
        let length = end - start;
        let (mut from, to, truncated_from) = if length > limit {
            (start, start + limit, Some(length as u64))
        } else if length > 0 && bytes[end - 1] == b'\r' {
            (start, end - 1, None)
        } else {
            (start, end, None)
        };
        if starts_log && number == 1 && bytes[from..to].starts_with(BOM) {
            from += BOM.len();
        }
        start = next;
        Some((bytes, BlockLine { number, start: from, end: to, truncated_from }))
    })
}

fn work(queue: &Mutex<Receiver<Job>>, options: ParseOptions, limit: usize) {
    let mut parser = LineParser::new(options);
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(Job { block, bytes_through, state, reply }) = job else { return };
        // The reader may have stopped waiting (it was dropped): nothing to do then.
        let _ = reply.send(parse_block(&mut parser, block, bytes_through, state, limit));
    }
}

fn parse_block(
    parser: &mut LineParser,
    block: Block,
    bytes_through: u64,
    state: ParserState,
    limit: usize,
) -> Done {
    parser.restore(state);
    let (mut lines, mut line_count, mut blank_count) = (Vec::new(), 0, 0);
    match &block {
        Block::Lines { bytes, starts_log } => {
            lines.reserve(bytes.len() / 128);
            for (_, line) in lines_of(bytes, *starts_log, limit) {
                line_count += 1;
                if line.start == line.end && line.truncated_from.is_none() {
                    blank_count += 1;
                } else {
                    lines.push(line);
                }
            }
        }
        Block::Long { kept, length, starts_log } => {
            let from = if *starts_log && kept.starts_with(BOM) { BOM.len() } else { 0 };
            line_count = 1;
            lines.push(BlockLine { number: 1, start: from, end: kept.len(), truncated_from: Some(*length) });
        }
    }
    let bytes = block.bytes();
    let results: Vec<_> = lines
        .iter()
        .map(|line| parse_line(parser, line.number, &bytes[line.start..line.end], line.truncated_from, limit))
        .collect();
    Done {
        block,
        started_from: state,
        ended_with: parser.state(),
        lines,
        line_count,
        blank_count,
        bytes_through,
        results: results.into_iter(),
        at: 0,
    }
}

#[cfg(test)]
mod tests {
    use crate::{LineReader, LogReader, ParseOptions, ParseStats, ParsedLine, YearHint};

    fn options() -> ParseOptions {
        ParseOptions::new(YearHint::FirstLineIn(2024)).received_at(1_900_000_000_000)
    }

    /// Every line and the final counts, read with `threads` threads in chunks of
    /// `chunk_bytes` (1 thread: the single-threaded reader), and the chunks parsed twice.
    fn read(
        input: &[u8],
        max_line: usize,
        threads: usize,
        chunk_bytes: usize,
    ) -> (Vec<ParsedLine>, ParseStats, u64) {
        let lines = LineReader::with_max_line_bytes(std::io::BufReader::with_capacity(7, input), max_line);
        let mut reader = LogReader::from_lines(lines, options()).in_chunks(threads, chunk_bytes);
        let parsed = reader.by_ref().map(|line| line.unwrap()).collect();
        (parsed, reader.stats(), reader.reparsed_chunks())
    }

    /// Reads `input` on one thread and on several in chunks of every size given, and
    /// checks they agree line for line; returns the most chunks parsed twice.
    fn agree(input: &[u8], max_line: usize, chunk_sizes: &[usize]) -> u64 {
        let (expected, stats, _) = read(input, max_line, 1, 0);
        let mut most_reparsed = 0;
        for &chunk_bytes in chunk_sizes {
            for threads in [2, 3] {
                let (parsed, got, reparsed) = read(input, max_line, threads, chunk_bytes);
                assert_eq!(parsed.len(), expected.len(), "{threads} threads, {chunk_bytes}-byte chunks");
                for (n, (a, b)) in parsed.iter().zip(&expected).enumerate() {
                    assert_eq!(a, b, "line {n}, {threads} threads, {chunk_bytes}-byte chunks");
                }
                assert_eq!(got, stats, "{threads} threads, {chunk_bytes}-byte chunks");
                most_reparsed = most_reparsed.max(reparsed);
            }
        }
        most_reparsed
    }

    #[test]
    fn every_real_log_reads_on_several_threads_as_on_one_and_the_guess_is_never_wrong() {
        for path in wowlogs_testkit::all_fixtures() {
            let input = std::fs::read(&path).unwrap();
            let reparsed = agree(&input, crate::DEFAULT_MAX_LINE_BYTES, &[4096, 100_000]);
            assert_eq!(reparsed, 0, "{}", path.display());
        }
    }

    #[test]
    fn two_logs_of_different_versions_in_one_file_read_each_with_its_own_layout() {
        let older = std::fs::read(wowlogs_testkit::fixture("retail_sl_9.2_raid_wipe_snippet.txt")).unwrap();
        let newer = std::fs::read(wowlogs_testkit::fixture("arena_3v3_tww_11.2.0.txt")).unwrap();
        let input = [&older[..], &newer[..], &older[..]].concat();
        assert_eq!(agree(&input, crate::DEFAULT_MAX_LINE_BYTES, &[1, 2048, 65_536]), 0);
    }

    #[test]
    fn a_log_without_years_crossing_new_year_keeps_counting_years_across_chunks() {
        let mut input = String::new();
        for (month, day) in [(12, 30), (12, 31), (1, 1), (1, 2), (2, 1), (12, 31), (1, 1)] {
            for second in 0..20 {
                input += &format!("{month}/{day} 23:59:{second:02}.000  ZONE_CHANGE,1,\"Orgrimmar\",0\n");
            }
        }
        let (lines, _, _) = read(input.as_bytes(), 1024, 2, 300);
        let last = match lines.last() {
            Some(ParsedLine::Event(event)) => event.timestamp_ms,
            other => panic!("{other:?}"),
        };
        assert!(last > 1_767_225_600_000, "two New Years later: 2026, got {last}");
        // (February to December within one chunk of 5,000 bytes defeats the guess, which
        // reads the chunk's first and last dates only; the chunk after is parsed again.)
        agree(input.as_bytes(), 1024, &[1, 300, 5_000]);
    }

    #[test]
    fn a_chunk_whose_start_was_guessed_wrong_is_parsed_again_from_the_right_one() {
        // Months going back twice inside a chunk (two New Years by the log's rule) while
        // its first and last lines look like the same year: the guess for the next chunk
        // is wrong, and its lines must still read as on one thread.
        let mut input = String::new();
        for _ in 0..10 {
            for month in [5, 3, 6, 2, 7] {
                input += &format!("{month}/1 20:00:00.000  ZONE_CHANGE,1,\"Orgrimmar\",0\n");
            }
        }
        let reparsed = agree(input.as_bytes(), 1024, &[220]);
        assert!(reparsed > 0, "the case was meant to defeat the guess");
    }

    #[test]
    fn blank_overlong_broken_and_windows_lines_read_the_same_in_chunks() {
        let mut input = b"\xEF\xBB\xBF".to_vec();
        input.extend_from_slice(
            b"COMBAT_LOG_VERSION,20,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,10.0.2,PROJECT_ID,1\r\n",
        );
        for n in 0..40 {
            input.extend_from_slice(
                format!("7/28/2024 14:36:{n:02}.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0\r\n").as_bytes(),
            );
            input.extend_from_slice(b"\n\r\n");
            input.extend_from_slice(&[b'x'; 300]);
            input.extend_from_slice(
                b"\nnot a line\n7/28/2024 14:36:00.528-4  SPELL_DAMAGE,broken\n\xFF\xFE\n",
            );
        }
        input.extend_from_slice(b"7/28/2024 14:37:00.000-4  ZONE_CHANGE,1,\"Orgrimmar\",0");
        agree(&input, 100, &[1, 64, 1_000, 1 << 20]);
    }

    #[test]
    fn a_first_line_longer_than_a_block_keeps_its_start_and_length_as_on_one_thread() {
        for ending in [&b""[..], b"\n", b"\r\n", b"\r"] {
            let mut input = b"\xEF\xBB\xBF".to_vec();
            input.extend_from_slice(&[b'y'; 5_000]);
            input.extend_from_slice(ending);
            input.extend_from_slice(b"7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0\n");
            input.extend_from_slice(&[b'z'; 5_000]);
            input.extend_from_slice(ending);
            agree(&input, 1_000, &[1, 700, 2_000, 100_000]);
        }
    }

    /// Fails after `left` bytes, like a disk that goes away.
    struct FailingAfter<'a> {
        bytes: &'a [u8],
        left: usize,
    }

    impl std::io::Read for FailingAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::Error::other("the disk went away"));
            }
            let n = buf.len().min(self.left).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            self.left -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_read_that_fails_hands_out_the_lines_before_it_then_the_error_as_on_one_thread() {
        let input = "7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0\n".repeat(2_000);
        for threads in [1, 2] {
            for fail_at in [0, 10, 5_000, 60_000] {
                let failing = FailingAfter { bytes: input.as_bytes(), left: fail_at };
                let reader = std::io::BufReader::with_capacity(700, failing);
                let mut reader = LogReader::new(reader, options()).in_chunks(threads, 1_000);
                let mut lines = 0;
                let error = loop {
                    match reader.next() {
                        Some(Ok(_)) => lines += 1,
                        Some(Err(error)) => break error,
                        None => panic!("the error is returned"),
                    }
                };
                assert_eq!(error.to_string(), "the disk went away");
                assert_eq!(lines, fail_at / 54, "{threads} threads, failing at byte {fail_at}");
            }
        }
    }

    #[test]
    fn an_empty_log_and_a_log_of_blank_lines_read_nothing_on_several_threads() {
        assert_eq!(read(b"", 100, 2, 10).0, Vec::new());
        let (lines, stats, _) = read(b"\n\n\n", 100, 2, 1);
        assert_eq!((lines.len(), stats.lines, stats.blank_lines, stats.bytes), (0, 3, 3, 3));
    }

    #[test]
    fn a_reader_dropped_half_way_stops_its_threads() {
        let input = "7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0\n".repeat(10_000);
        let mut reader = LogReader::new(input.as_bytes(), options()).in_chunks(2, 1_000);
        for _ in 0..100 {
            reader.next().unwrap().unwrap();
        }
        drop(reader);
    }
}
