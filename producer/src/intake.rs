//! One log onto the topics: parse every line, publish events and dead letters, report
//! progress on the uploads topic.
//!
//! Runs on a plain thread (parsing is CPU work); the [`Outbox`] applies backpressure
//! when the broker is slower than the parser. Lines up to `resume_after_line` were
//! published by an earlier, interrupted run and are parsed (the parser needs their
//! context: headers, the year) but not published again.

use std::cell::{Cell, RefCell};
use std::io::BufRead;
use std::time::{Duration, Instant};
use wowlogs_kafka::{Outbox, OutboxError, Route, encode, twin};
use wowlogs_parser::{LogReader, ParseOptions};
use wowlogs_schemas::{Codec, CombatEvent, DeadLetter, GuildId, LogId, UploadState, UploadStatus, WireError};

/// Which log to publish, and from where.
#[derive(Debug, Clone)]
pub struct LogJob {
    pub guild_id: GuildId,
    pub log_id: LogId,
    pub upload_id: String,
    pub file_name: String,
    pub content_sha256: String,
    pub bytes_total: Option<u64>,
    /// Lines up to and including this one are already published.
    pub resume_after_line: i64,
    pub options: ParseOptions,
    /// Threads parsing the log (1: the publishing thread; see
    /// [`LogReader::with_threads`]). Only for logs read as fast as they parse: a live
    /// session's arrive slowly and take 1.
    pub parse_threads: usize,
}

/// Running totals of a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeCounts {
    pub lines: u64,
    pub events: u64,
    pub dead_letters: u64,
    /// Lines skipped because an earlier run published them.
    pub resumed_lines: u64,
    /// Bytes read after decompression.
    pub bytes: u64,
    /// Every line up to this one is acknowledged by the broker.
    pub acked_through_line: i64,
    /// The line of the last event, this run's or an earlier one's.
    pub last_event_line: i64,
}

/// A job that stopped, with how far it got: `counts.acked_through_line` is where a
/// rerun resumes.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct IntakeFailure {
    pub error: IntakeError,
    pub counts: IntakeCounts,
}

/// Why a job stopped.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("reading the log failed: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Publish(#[from] OutboxError),
    #[error("encoding failed: {0}")]
    Encode(#[from] WireError),
    #[error("stopped: the service is shutting down (upload the file again to resume)")]
    Interrupted,
    /// The uploader is no longer admitted: its key revoked, or its guild deactivated.
    #[error("stopped: {0}")]
    NoLongerAdmitted(String),
}

/// What each in-flight message is, for acknowledgement tracking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Line(i64),
    Status,
}

/// The encoders and the throttle shared by every job of a process.
pub struct Encoders {
    pub events: Codec<CombatEvent>,
    pub dead_letters: Codec<DeadLetter>,
    pub statuses: Codec<UploadStatus>,
}

impl Encoders {
    pub fn new() -> Result<Self, WireError> {
        Ok(Self { events: Codec::new()?, dead_letters: Codec::new()?, statuses: Codec::new()? })
    }
}

/// What a job reports as it goes, besides its return value: the hooks through which
/// the HTTP service throttles guilds and records metrics (the importer ignores most).
pub trait IntakeHooks {
    /// Called before `events` more events are published; may block (a rate limit), and
    /// returns `false` to stop the job (the service is shutting down).
    fn throttle(&mut self, _events: u32) -> bool {
        true
    }
    /// Whether the job may go on: `Err(why)` stops it (the uploader's key was revoked
    /// or its guild deactivated while it ran). Asked every 1,024 messages.
    fn admitted(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Running totals, every couple of seconds and at the end.
    fn progress(&mut self, _counts: &IntakeCounts) {}
    /// A message was acknowledged this long after it was sent.
    fn delivered(&mut self, _latency: Duration) {}
}

/// Hooks that do nothing.
pub struct NoHooks;
impl IntakeHooks for NoHooks {}

/// How often progress goes to the uploads topic.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Publishes one log, reporting through `hooks`. On failure, whatever was sent is
/// flushed so the counts say exactly what is durable.
pub fn publish_log(
    job: &LogJob,
    input: &mut dyn BufRead,
    encoders: &Encoders,
    outbox: &mut Outbox<Tag>,
    now_ms: &dyn Fn() -> i64,
    hooks: &mut dyn IntakeHooks,
) -> Result<IntakeCounts, Box<IntakeFailure>> {
    let mut counts = IntakeCounts { acked_through_line: job.resume_after_line, ..IntakeCounts::default() };
    let acked_through = Cell::new(job.resume_after_line);
    match publish_lines(job, input, encoders, outbox, now_ms, hooks, &mut counts, &acked_through) {
        Ok(()) => Ok(counts),
        Err(error) => {
            let _ = outbox.flush(|tag, _| {
                if let Tag::Line(line) = tag {
                    acked_through.set(line);
                }
            });
            counts.acked_through_line = acked_through.get();
            Err(Box::new(IntakeFailure { error, counts }))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn publish_lines(
    job: &LogJob,
    input: &mut dyn BufRead,
    encoders: &Encoders,
    outbox: &mut Outbox<Tag>,
    now_ms: &dyn Fn() -> i64,
    hooks: &mut dyn IntakeHooks,
    counts: &mut IntakeCounts,
    acked_through: &Cell<i64>,
) -> Result<(), IntakeError> {
    let event_route = Route::of(&encoders.events, job.guild_id, job.log_id);
    let letter_route = Route::of(&encoders.dead_letters, job.guild_id, job.log_id);
    let options = ParseOptions { keep_raw: true, ..job.options }.for_log(job.guild_id, job.log_id);
    let mut reader = LogReader::new(input, options).with_threads(job.parse_threads);
    // The outbox reports acknowledgements in send order, so the last acknowledged line
    // is a point before which everything is durable.
    let latencies = RefCell::new(Vec::new());
    let mut on_ack = |tag: Tag, latency: Duration| {
        if let Tag::Line(line) = tag {
            acked_through.set(line);
        }
        latencies.borrow_mut().push(latency);
    };
    let mut buf = Vec::with_capacity(1024);
    let mut last_progress = Instant::now();
    let mut pending_throttle = 0u32;
    let parsing = status_of(job, UploadState::Parsing, counts, None, now_ms());
    publish_status(&parsing, encoders, outbox, &mut on_ack)?;
    while let Some(parsed) = reader.next_parsed()? {
        let line = match &parsed.result {
            Ok(event) => event.line,
            Err(error) => error.line,
        };
        if parsed.result.is_ok() {
            counts.last_event_line = line;
        }
        if line <= job.resume_after_line {
            // Published by an earlier run.
            counts.resumed_lines += 1;
            continue;
        }
        buf.clear();
        match parsed.result {
            Ok(event) => {
                encoders.events.encode(&event, &mut buf)?;
                outbox.send(&event_route, &buf, Tag::Line(line), &mut on_ack)?;
                counts.events += 1;
                pending_throttle += 1;
            }
            Err(error) => {
                let letter =
                    error.dead_letter(job.guild_id, job.log_id, &job.upload_id, line, parsed.raw, now_ms());
                encoders.dead_letters.encode(&letter, &mut buf)?;
                outbox.send(&letter_route, &buf, Tag::Line(line), &mut on_ack)?;
                counts.dead_letters += 1;
                // A dead letter is a message like an event (and carries its raw line):
                // it counts against the same budget, or garbage would flow unmetered.
                pending_throttle += 1;
            }
        }
        if pending_throttle >= 1024 {
            if !hooks.throttle(pending_throttle) {
                return Err(IntakeError::Interrupted);
            }
            hooks.admitted().map_err(IntakeError::NoLongerAdmitted)?;
            pending_throttle = 0;
            for latency in latencies.borrow_mut().drain(..) {
                hooks.delivered(latency);
            }
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            refresh(counts, &reader);
            outbox.collect_ready(&mut on_ack)?;
            counts.acked_through_line = acked_through.get();
            hooks.progress(counts);
            let parsing = status_of(job, UploadState::Parsing, counts, None, now_ms());
            publish_status(&parsing, encoders, outbox, &mut on_ack)?;
        }
    }
    if pending_throttle > 0 && !hooks.throttle(pending_throttle) {
        return Err(IntakeError::Interrupted);
    }
    outbox.flush(&mut on_ack)?;
    for latency in latencies.borrow_mut().drain(..) {
        hooks.delivered(latency);
    }
    refresh(counts, &reader);
    counts.acked_through_line = acked_through.get().max(counts.lines as i64);
    hooks.progress(counts);
    Ok(())
}

/// Publishes a lifecycle status (made by [`status_of`]) on the uploads topic and its
/// compacted twin.
pub fn publish_status(
    status: &UploadStatus,
    encoders: &Encoders,
    outbox: &mut Outbox<Tag>,
    on_ack: &mut impl FnMut(Tag, Duration),
) -> Result<(), IntakeError> {
    let mut buf = Vec::with_capacity(256);
    let route = encode(&encoders.statuses, status, &mut buf)?;
    // The compacted twin first: once the status is on the uploads topic (what the
    // consumers act on), the latest-status topic has it too.
    if let Some(twin) = twin(&route, status) {
        outbox.send(&twin, &buf, Tag::Status, &mut *on_ack)?;
    }
    outbox.send(&route, &buf, Tag::Status, on_ack)?;
    Ok(())
}

/// The `UploadStatus` record of a job at some point of its life.
pub fn status_of(
    job: &LogJob,
    state: UploadState,
    counts: &IntakeCounts,
    reason: Option<String>,
    timestamp_ms: i64,
) -> UploadStatus {
    UploadStatus {
        guild_id: job.guild_id,
        log_id: job.log_id,
        upload_id: job.upload_id.clone(),
        state,
        file_name: job.file_name.clone(),
        content_sha256: job.content_sha256.clone(),
        bytes_total: job.bytes_total.map(|b| b as i64),
        bytes_read: counts.bytes as i64,
        lines: counts.lines as i64,
        events: counts.events as i64,
        dead_letters: counts.dead_letters as i64,
        acked_through_line: counts.acked_through_line,
        reason,
        timestamp_ms,
        last_event_line: (state == UploadState::Completed).then_some(counts.last_event_line),
    }
}

fn refresh<R: BufRead>(counts: &mut IntakeCounts, reader: &LogReader<R>) {
    let stats = reader.stats();
    counts.lines = stats.lines;
    counts.bytes = stats.bytes;
}
