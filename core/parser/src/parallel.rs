//! One log parsed on several threads, read out in order.
//!
//! The reading thread splits the log into chunks of whole lines (about
//! [`CHUNK_BYTES`] each) and hands each to a pool of parsing threads together with the
//! state a [`LineParser`] would have at the chunk's first line (its
//! `COMBAT_LOG_VERSION` and its clock's year). That state is known exactly only once
//! the chunk before has been parsed, so it is guessed: the reading thread watches the
//! lines that can change it (a header anywhere in the chunk, and the first and last
//! line's dates) with a parser that reads nothing else. Chunks come back in order, and
//! one that was parsed from a state other than the one its predecessor really ended in
//! is parsed again, here, from the right one: the output is always the single-threaded
//! parser's, line for line. Memory stays bounded by the chunks in flight (twice the
//! threads), whatever the log's size.

use crate::error::ParseError;
use crate::line_parser::{LineParser, ParseOptions, ParserState};
use crate::lines::LineReader;
use crate::reader::{ParseStats, Parsed, parse_line};
use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use wowlogs_schemas::CombatEvent;

/// Bytes of lines in one chunk: large enough that handing it over costs nothing next to
/// parsing it (about 5,000 lines), small enough that a few in flight stay a few MiB.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// The header's event name: a chunk holding it is watched line by line.
const HEADER: &[u8] = b"COMBAT_LOG_VERSION,";

/// Whole non-blank lines copied out of the reader, and the reader's counts after them.
struct Chunk {
    bytes: Vec<u8>,
    lines: Vec<ChunkLine>,
    /// Lines, blank lines and bytes read from the start of the log through this chunk.
    lines_read: u64,
    blank_lines: u64,
    bytes_read: u64,
}

#[derive(Debug, Clone, Copy)]
struct ChunkLine {
    number: i64,
    start: usize,
    end: usize,
    truncated_from: Option<u64>,
}

impl Chunk {
    fn line(&self, line: ChunkLine) -> &[u8] {
        &self.bytes[line.start..line.end]
    }
}

/// A chunk and what became of each of its lines.
struct Done {
    chunk: Chunk,
    started_from: ParserState,
    ended_with: ParserState,
    results: std::vec::IntoIter<Result<CombatEvent, ParseError>>,
    /// The next line of `chunk` to hand out.
    at: usize,
}

struct Job {
    chunk: Chunk,
    state: ParserState,
    reply: SyncSender<Done>,
}

enum Pending {
    Ready(Done),
    Parsing(Receiver<Done>),
}

/// The parallel half of a [`crate::LogReader`]: the chunks in flight and the threads
/// parsing them.
pub(crate) struct Pipeline {
    options: ParseOptions,
    limit: usize,
    threads: usize,
    chunk_bytes: usize,
    jobs: Option<mpsc::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    in_flight: VecDeque<Pending>,
    /// Watches lines as they are split off, to guess each chunk's starting state.
    watcher: LineParser,
    /// The state the real parse ended in after the last chunk handed out.
    actual: ParserState,
    current: Option<Done>,
    /// Lines and blank lines split off so far.
    lines_read: u64,
    blank_lines: u64,
    input_ended: bool,
    /// Chunks parsed again because their guessed state was wrong.
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
    /// A pipeline of `threads` parsing threads over chunks of about `chunk_bytes`.
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
            lines_read: 0,
            blank_lines: 0,
            input_ended: false,
            reparsed: 0,
        }
    }

    /// Chunks whose guessed starting state was wrong (parsed twice).
    pub(crate) fn reparsed(&self) -> u64 {
        self.reparsed
    }

    /// The next non-blank line, parsed, in the log's order. `stats` gets the counts of
    /// the chunk being read (its lines, blank lines and bytes; events and errors as
    /// they are handed out).
    pub(crate) fn next<R: BufRead>(
        &mut self,
        lines: &mut LineReader<R>,
        stats: &mut ParseStats,
    ) -> io::Result<Option<Parsed<'_>>> {
        while self.current.as_ref().is_none_or(|done| done.at == done.chunk.lines.len()) {
            if !self.next_chunk(lines, stats)? {
                return Ok(None);
            }
        }
        let done = self.current.as_mut().expect("a chunk with lines left");
        let line = done.chunk.lines[done.at];
        done.at += 1;
        let result = done.results.next().expect("a result for every line");
        match result {
            Ok(_) => stats.events += 1,
            Err(_) => stats.errors += 1,
        }
        Ok(Some(Parsed { raw: done.chunk.line(line), result }))
    }

    /// Moves on to the next chunk in order; false at the end of the log.
    fn next_chunk<R: BufRead>(
        &mut self,
        lines: &mut LineReader<R>,
        stats: &mut ParseStats,
    ) -> io::Result<bool> {
        self.current = None;
        self.fill(lines)?;
        let Some(pending) = self.in_flight.pop_front() else {
            return Ok(false);
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
            done = parse_chunk(&mut parser, done.chunk, self.actual, self.limit);
        }
        self.actual = done.ended_with;
        stats.lines = done.chunk.lines_read;
        stats.blank_lines = done.chunk.blank_lines;
        stats.bytes = done.chunk.bytes_read;
        self.current = Some(done);
        Ok(true)
    }

    /// Splits off chunks until twice the threads are in flight or the log has ended.
    fn fill<R: BufRead>(&mut self, lines: &mut LineReader<R>) -> io::Result<()> {
        while !self.input_ended && self.in_flight.len() < 2 * self.threads {
            let Some(chunk) = self.split(lines)? else { break };
            let guess = self.watcher.state();
            self.watch(&chunk);
            // A log that fits in one chunk is parsed here, without starting a thread.
            if self.jobs.is_none() && self.input_ended && self.in_flight.is_empty() {
                let mut parser = LineParser::new(self.options);
                self.in_flight.push_back(Pending::Ready(parse_chunk(&mut parser, chunk, guess, self.limit)));
                break;
            }
            let (reply, parsed) = mpsc::sync_channel(1);
            let job = Job { chunk, state: guess, reply };
            self.jobs().send(job).map_err(|_| io::Error::other("the threads parsing the log stopped"))?;
            self.in_flight.push_back(Pending::Parsing(parsed));
        }
        Ok(())
    }

    /// The next chunk of whole lines; `None` once the log has no line left.
    fn split<R: BufRead>(&mut self, lines: &mut LineReader<R>) -> io::Result<Option<Chunk>> {
        let mut chunk = Chunk {
            bytes: Vec::with_capacity(self.chunk_bytes + 4096),
            lines: Vec::with_capacity(self.chunk_bytes / 128),
            lines_read: 0,
            blank_lines: 0,
            bytes_read: 0,
        };
        let mut any = false;
        while chunk.bytes.len() < self.chunk_bytes {
            let Some(meta) = lines.advance()? else {
                self.input_ended = true;
                break;
            };
            any = true;
            self.lines_read += 1;
            let line = lines.line(meta);
            if line.bytes.is_empty() && line.truncated_from.is_none() {
                self.blank_lines += 1;
                continue;
            }
            let start = chunk.bytes.len();
            chunk.bytes.extend_from_slice(line.bytes);
            let end = chunk.bytes.len();
            chunk.lines.push(ChunkLine {
                number: line.number,
                start,
                end,
                truncated_from: line.truncated_from,
            });
        }
        chunk.lines_read = self.lines_read;
        chunk.blank_lines = self.blank_lines;
        chunk.bytes_read = lines.bytes_read();
        Ok(any.then_some(chunk))
    }

    /// Lets the watcher learn what the chunk's lines teach a parser, cheaply: every
    /// line of a chunk holding a header, else its first and last lines' dates (a log
    /// crosses New Year at most once within a chunk).
    fn watch(&mut self, chunk: &Chunk) {
        let (Some(&first), Some(&last)) = (chunk.lines.first(), chunk.lines.last()) else { return };
        if memchr::memmem::find(&chunk.bytes, HEADER).is_some() {
            for &line in &chunk.lines {
                self.watcher.observe(chunk.line(line));
            }
        } else {
            self.watcher.observe(chunk.line(first));
            self.watcher.observe(chunk.line(last));
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
        // Unanswered chunks first, so that no thread waits to hand one over.
        self.in_flight.clear();
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn work(queue: &Mutex<Receiver<Job>>, options: ParseOptions, limit: usize) {
    let mut parser = LineParser::new(options);
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(Job { chunk, state, reply }) = job else { return };
        // The reader may have stopped waiting (it was dropped): nothing to do then.
        let _ = reply.send(parse_chunk(&mut parser, chunk, state, limit));
    }
}

fn parse_chunk(parser: &mut LineParser, chunk: Chunk, state: ParserState, limit: usize) -> Done {
    parser.restore(state);
    let results: Vec<_> = chunk
        .lines
        .iter()
        .map(|&line| parse_line(parser, line.number, chunk.line(line), line.truncated_from, limit))
        .collect();
    Done { chunk, started_from: state, ended_with: parser.state(), results: results.into_iter(), at: 0 }
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
