//! Live sessions: a log file followed while the game writes it (`wowlogs watch`), sent in
//! chunks by byte offset and published as they arrive.
//!
//! A session is one file of one guild, named by its key ([`live_key`]: the hash of the
//! file's first line), published as one log ([`live_log_id`]) under one upload id
//! ([`live_upload_id`]). Chunks are appended by byte offset: the same chunk twice
//! changes nothing, a chunk past the end is refused with the offset expected. The bytes
//! go, in order, to a thread running the same intake as an upload
//! ([`crate::intake::publish_log`]) over a [`ChunkReader`]: a line cut between chunks is
//! read whole, and each event is published as soon as its line is complete.
//!
//! A session's state is this process's alone. A session this process does not hold (it
//! restarted, another replica held it, or it was parked) starts again from byte 0: the
//! lines its log already has on the topics (acknowledged, as the upload-state topic
//! says) are parsed for their context (the header, the year) and not published again.
//! The log ends when the watcher closes the file; a session without a chunk for
//! [`crate::config::LiveConfig::idle`] is parked: its thread and memory are given back and its log is
//! left open, to be resumed by the watcher or finished by an upload of the whole file.

use super::limits::{Limits, OverBudget};

use super::publish::UploadHooks;
use super::{Refusal, UploadRecord, Uploads, published_name};
use crate::identity::{first_line, live_key, live_log_id, live_upload_id};
use crate::intake::{IntakeCounts, LogJob, publish_log, publish_status, status_of};
use crate::registry::Admission;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use wowlogs_kafka::Outbox;
use wowlogs_parser::{ChunkReader, ParseOptions, YearHint};
use wowlogs_schemas::{GuildId, LogId, UploadState, UploadStatus, now_ms};
use wowlogs_tenancy::Principal;

/// Chunks a session's thread may have waiting: past them, a chunk's request waits for
/// the thread (the guild's events-per-minute limit, the broker) to catch up.
const QUEUED_CHUNKS: usize = 4;

/// What a session's thread is handed.
enum Piece {
    Bytes(Vec<u8>),
    /// The file is closed: the log ends after what was sent.
    Close,
}

/// A session held by this process.
pub struct Session {
    pub guild_id: GuildId,
    pub key: String,
    pub log_id: LogId,
    pub upload_id: String,
    pub file_name: String,
    io: tokio::sync::Mutex<SessionIo>,
    last_chunk: Mutex<Instant>,
}

struct SessionIo {
    /// Bytes handed to the thread so far: where the next chunk starts.
    next_offset: u64,
    /// Bytes of the guild's hourly budget paid for and not yet used (it is taken in MiB).
    prepaid: u64,
    /// `None` once the file is closed (or the session parked).
    pieces: Option<mpsc::Sender<Piece>>,
    /// The log's last status, once the thread has ended.
    ended: Option<oneshot::Receiver<UploadStatus>>,
}

impl Session {
    /// Whether no chunk came for `idle`.
    pub(super) fn idle_for(&self, idle: Duration) -> bool {
        self.last_chunk.lock().expect("session clock").elapsed() >= idle
    }

    /// Parks the session: its thread ends at once, leaving its log open. A session in
    /// the middle of a request is not idle and is left alone (`false`).
    pub(super) fn park(&self) -> bool {
        match self.io.try_lock() {
            Ok(mut io) => {
                io.pieces = None;
                true
            }
            Err(_) => false,
        }
    }
}

/// Where a live log stands, as the service answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LiveAnswer {
    /// The file's key (the hex SHA-256 of its first line).
    pub session: String,
    /// The log this file is published as (a decimal string).
    pub log_id: String,
    /// Its upload id: `GET /api/v1/uploads/{upload_id}` follows it too.
    pub upload_id: String,
    pub file_name: String,
    /// `open` (taking chunks), `parked` (not held by this service: send the file again
    /// from its start to go on), or `completed` (closed; nothing more is taken).
    pub state: String,
    /// Where the next chunk starts (0 when the session must start again).
    pub next_offset: u64,
    /// Lines read, events and dead letters published so far (as last reported).
    pub lines: i64,
    pub events: i64,
    pub dead_letters: i64,
    /// Whether this request opened the session.
    #[serde(skip)]
    pub opened: bool,
}

/// Why a chunk or a close was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LiveRefusal {
    #[error(
        "this chunk starts at byte {offset}, after the {expected} bytes received: send from byte {expected}"
    )]
    Gap { offset: u64, expected: u64 },
    #[error(
        "this service holds no open session for this file (it restarted, or the session was parked): \
         send the file again from byte 0; lines already published are not published again"
    )]
    NotHeld,
    #[error("the file ends at byte {expected} here, not {bytes}: send the rest before closing it")]
    NotAllSent { bytes: u64, expected: u64 },
    #[error(
        "this file's live log is complete ({lines} lines); a file that grows after it was closed is \
         uploaded whole once the game closes it"
    )]
    Closed { lines: i64, status: Box<UploadStatus> },
    #[error("the first chunk (byte 0) must hold the file's whole first line")]
    NoFirstLine,
    #[error("the session's key is not the SHA-256 of the file's first line")]
    KeyMismatch,
    #[error("{0}")]
    Refused(Refusal),
    #[error(
        "guild {guild} already follows {sessions} files live here (WOWLOGS_LIVE_SESSIONS_PER_GUILD); \
         close one, or retry when one is parked"
    )]
    GuildSessions { guild: i64, sessions: usize },
    #[error("the service already follows {0} files live (WOWLOGS_LIVE_SESSIONS); retry shortly")]
    ServiceSessions(usize),
}

impl LiveRefusal {
    /// The stable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            LiveRefusal::Gap { .. } => "offset_gap",
            LiveRefusal::NotHeld => "session_not_held",
            LiveRefusal::NotAllSent { .. } => "offset_gap",
            LiveRefusal::Closed { .. } => "session_closed",
            LiveRefusal::NoFirstLine => "no_first_line",
            LiveRefusal::KeyMismatch => "session_key_mismatch",
            LiveRefusal::Refused(refusal) => refusal.code(),
            LiveRefusal::GuildSessions { .. } => "guild_live_sessions",
            LiveRefusal::ServiceSessions(_) => "live_sessions",
        }
    }

    /// Where the caller must send from, when that is what it must do.
    pub fn expected_offset(&self) -> Option<u64> {
        match self {
            LiveRefusal::Gap { expected, .. } | LiveRefusal::NotAllSent { expected, .. } => Some(*expected),
            LiveRefusal::NotHeld => Some(0),
            _ => None,
        }
    }
}

impl Uploads {
    /// Takes the chunk of the file `key` that starts at byte `offset`; the first chunk
    /// (byte 0) opens the session. `file_name` names the file (its first chunk's is kept).
    pub async fn live_chunk(
        self: &Arc<Self>,
        principal: &Principal,
        key: &str,
        offset: u64,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<LiveAnswer, LiveRefusal> {
        let guild = principal.guild_id;
        let held = self.ledger().live_session(guild, key);
        let (session, opened) = match held {
            Some(session) => (session, false),
            None if offset > 0 => return Err(self.not_held(guild, key)),
            None => (self.open_session(principal, key, file_name, &bytes).await?, true),
        };
        let mut io = session.io.lock().await;
        *session.last_chunk.lock().expect("session clock") = Instant::now();
        let expected = io.next_offset;
        if offset > expected {
            return Err(LiveRefusal::Gap { offset, expected });
        }
        let end = offset + bytes.len() as u64;
        if end > expected {
            let fresh = bytes[(expected - offset) as usize..].to_vec();
            self.pay(guild, &mut io, fresh.len() as u64)?;
            let sent = match &io.pieces {
                Some(pieces) => pieces.send(Piece::Bytes(fresh)).await.is_ok(),
                None => false,
            };
            if !sent {
                // Its thread ended (parked, or publishing failed): start again from 0.
                drop(io);
                self.ledger().live_ended(guild, key, &session);
                return Err(LiveRefusal::NotHeld);
            }
            io.next_offset = end;
        }
        self.metrics.bytes_received(guild, end.saturating_sub(expected));
        let next = io.next_offset;
        drop(io);
        Ok(LiveAnswer { opened, ..self.live_answer(&session, "open", next) })
    }

    /// Closes the file `key` once all of its `bytes` were sent: the log ends (its fights
    /// still open end as at the end of a file) and its content is recorded, so that an
    /// upload of the same file later is answered as a duplicate. Closing a closed file
    /// answers it again.
    pub async fn live_close(
        self: &Arc<Self>,
        principal: &Principal,
        key: &str,
        bytes: u64,
    ) -> Result<LiveAnswer, LiveRefusal> {
        let guild = principal.guild_id;
        let Some(session) = self.ledger().live_session(guild, key) else {
            return match self.not_held(guild, key) {
                LiveRefusal::Closed { status, .. } if status.bytes_read as u64 == bytes => {
                    Ok(answer_of(key, &status, "completed", bytes))
                }
                refusal => Err(refusal),
            };
        };
        let mut io = session.io.lock().await;
        if io.next_offset != bytes {
            return Err(LiveRefusal::NotAllSent { bytes, expected: io.next_offset });
        }
        let closed = match io.pieces.take() {
            Some(pieces) => pieces.send(Piece::Close).await.is_ok(),
            None => false,
        };
        let ended = io.ended.take();
        drop(io);
        let status = match ended {
            Some(ended) if closed => ended.await.ok(),
            _ => None,
        };
        self.ledger().live_ended(guild, key, &session);
        match status {
            Some(status) if status.state == UploadState::Completed => {
                self.metrics.upload(guild, "completed", &session.upload_id, "");
                Ok(answer_of(key, &status, "completed", bytes))
            }
            _ => Err(LiveRefusal::NotHeld),
        }
    }

    /// Where the file `key` of the caller's guild stands, `None` when it was never sent.
    pub fn live_status(&self, principal: &Principal, key: &str) -> Option<LiveAnswer> {
        let guild = principal.guild_id;
        if let Some(session) = self.ledger().live_session(guild, key) {
            let next = session.io.try_lock().map_or(0, |io| io.next_offset);
            return Some(self.live_answer(&session, "open", next));
        }
        let ledger = self.ledger();
        let status = ledger.registry().by_upload(&live_upload_id(guild, key))?;
        let status = ledger.registry().get(guild, status.log_id).unwrap_or(status);
        Some(match status.state {
            UploadState::Completed => answer_of(key, status, "completed", status.bytes_read as u64),
            _ => answer_of(key, status, "parked", 0),
        })
    }

    /// Parks the sessions idle for longer than the configured time; returns how many.
    pub fn park_idle_sessions(&self) -> usize {
        let parked = self.ledger().park_idle(self.config.live.idle);
        for session in &parked {
            tracing::info!(
                guild_id = session.guild_id.0,
                upload_id = session.upload_id,
                idle_s = self.config.live.idle.as_secs(),
                "live session idle: parked (its log stays open)"
            );
        }
        parked.len()
    }

    /// Why a chunk past byte 0 of a session this process does not hold is refused.
    fn not_held(&self, guild: GuildId, key: &str) -> LiveRefusal {
        let ledger = self.ledger();
        let log = live_log_id(guild, key);
        match ledger.registry().get(guild, log) {
            Some(status) if status.state == UploadState::Completed => {
                LiveRefusal::Closed { lines: status.lines, status: Box::new(status.clone()) }
            }
            _ => LiveRefusal::NotHeld,
        }
    }

    /// Opens the session of the file `key` on its first chunk: checks the key, the
    /// guild's and the service's session limits and the log's admission, and starts
    /// the thread that publishes it. Another request that opened it first wins.
    async fn open_session(
        self: &Arc<Self>,
        principal: &Principal,
        key: &str,
        file_name: &str,
        first: &[u8],
    ) -> Result<Arc<Session>, LiveRefusal> {
        let guild = principal.guild_id;
        let line = first_line(first).ok_or(LiveRefusal::NoFirstLine)?;
        if live_key(line) != key {
            return Err(LiveRefusal::KeyMismatch);
        }
        let log_id = live_log_id(guild, key);
        let upload_id = live_upload_id(guild, key);
        let received = now_ms();
        let mut job = LogJob {
            guild_id: guild,
            log_id,
            upload_id: upload_id.clone(),
            file_name: published_name(file_name, None),
            content_sha256: String::new(),
            bytes_total: None,
            resume_after_line: 0,
            options: ParseOptions::new(YearHint::last_written_at(received)).received_at(received),
            // Its chunks arrive as the game writes them: each line is parsed as it comes.
            parse_threads: 1,
        };
        let (pieces, queue) = mpsc::channel(QUEUED_CHUNKS);
        let (done, ended) = oneshot::channel();
        let session = Arc::new(Session {
            guild_id: guild,
            key: key.to_string(),
            log_id,
            upload_id: upload_id.clone(),
            file_name: job.file_name.clone(),
            io: tokio::sync::Mutex::new(SessionIo {
                next_offset: 0,
                prepaid: 0,
                pieces: Some(pieces),
                ended: Some(ended),
            }),
            last_chunk: Mutex::new(Instant::now()),
        });
        {
            let mut ledger = self.ledger();
            if let Some(running) = ledger.live_session(guild, key) {
                return Ok(running);
            }
            let (guild_sessions, sessions) = ledger.live_sessions(guild);
            if guild_sessions >= self.config.live.max_sessions_per_guild {
                return Err(LiveRefusal::GuildSessions { guild: guild.0, sessions: guild_sessions });
            }
            if sessions >= self.config.live.max_sessions {
                return Err(LiveRefusal::ServiceSessions(sessions));
            }
            job.resume_after_line = match ledger.registry().admit(guild, log_id) {
                Admission::Duplicate(status) => {
                    return Err(LiveRefusal::Closed { lines: status.lines, status });
                }
                Admission::Resume { after_line } => after_line,
                Admission::New => 0,
            };
            let record = UploadRecord {
                upload_id: upload_id.clone(),
                guild_id: guild,
                guild_name: principal.guild_name.clone(),
                file_name: job.file_name.clone(),
                status: "processing".into(),
                logs: vec![status_of(&job, UploadState::Accepted, &IntakeCounts::default(), None, received)],
            };
            ledger.open_live(session.clone(), record).map_err(LiveRefusal::Refused)?;
        }
        self.metrics.upload(guild, "accepted", &upload_id, &job.file_name);
        let worker = self.clone();
        let limits = self.limits_of(principal);
        let key_id = principal.key_id.clone();
        let span = tracing::info_span!("live_session", upload_id, guild_id = guild.0);
        let mut running = self.jobs.lock().await;
        while running.try_join_next().is_some() {}
        running.spawn_blocking(move || {
            let status = span.in_scope(|| publish_session(&worker, &job, &key_id, &limits, queue));
            let _ = done.send(status);
        });
        Ok(session)
    }

    /// Pays for `bytes` more of a session from its guild's hourly budget, in whole MiB.
    fn pay(&self, guild: GuildId, io: &mut SessionIo, bytes: u64) -> Result<(), LiveRefusal> {
        if io.prepaid < bytes {
            let needed = (bytes - io.prepaid).div_ceil(1 << 20) << 20;
            let budget = self.decompressed.per_hour();
            self.decompressed.take(guild, needed).map_err(|over| {
                LiveRefusal::Refused(match over {
                    OverBudget::Wait(wait) => Refusal::GuildHourlyBudget { guild: guild.0, budget, wait },
                    OverBudget::Larger => Refusal::LargerThanHourlyBudget { bytes, budget },
                })
            })?;
            io.prepaid += needed;
        }
        io.prepaid -= bytes;
        Ok(())
    }

    fn live_answer(&self, session: &Session, state: &str, next_offset: u64) -> LiveAnswer {
        let record = self.ledger().status(&session.upload_id, "");
        let counts = record.and_then(|r| r.logs.into_iter().next());
        LiveAnswer {
            session: session.key.clone(),
            log_id: session.log_id.0.to_string(),
            upload_id: session.upload_id.clone(),
            file_name: session.file_name.clone(),
            state: state.into(),
            next_offset,
            lines: counts.as_ref().map_or(0, |c| c.lines),
            events: counts.as_ref().map_or(0, |c| c.events),
            dead_letters: counts.as_ref().map_or(0, |c| c.dead_letters),
            opened: false,
        }
    }
}

fn answer_of(key: &str, status: &UploadStatus, state: &str, next_offset: u64) -> LiveAnswer {
    LiveAnswer {
        session: key.to_string(),
        log_id: status.log_id.0.to_string(),
        upload_id: status.upload_id.clone(),
        file_name: status.file_name.clone(),
        state: state.into(),
        next_offset,
        lines: status.lines,
        events: status.events,
        dead_letters: status.dead_letters,
        opened: false,
    }
}

/// A session's thread: publishes what arrives until the file is closed (the log is
/// then complete, with its content's hash) or the session stops (parked, the service
/// stopping, the broker failing: the log is left open, resumable); returns its last
/// status.
fn publish_session(
    uploads: &Uploads,
    job: &LogJob,
    key_id: &str,
    limits: &Limits,
    mut queue: mpsc::Receiver<Piece>,
) -> UploadStatus {
    let mut outbox = Outbox::new(uploads.producer.clone(), uploads.config.max_in_flight);
    let encoders = &uploads.encoders;
    let counts = IntakeCounts { acked_through_line: job.resume_after_line, ..IntakeCounts::default() };
    let accepted = status_of(job, UploadState::Accepted, &counts, None, now_ms());
    if let Err(error) = publish_status(&accepted, encoders, &mut outbox, &mut |_, _| {}) {
        tracing::warn!(upload_id = job.upload_id, %error, "could not record an opened live session");
    }
    let mut content = Sha256::new();
    content.update(job.guild_id.0.to_be_bytes());
    let mut hooks = UploadHooks::new(uploads, &job.upload_id, key_id, 0, job, limits);
    let published = {
        let mut input = ChunkReader::new(|| match queue.blocking_recv() {
            Some(Piece::Bytes(bytes)) => {
                content.update(&bytes);
                Ok(Some(bytes))
            }
            Some(Piece::Close) => Ok(None),
            None => Err(std::io::Error::other("the live session was parked")),
        });
        publish_log(job, &mut input, encoders, &mut outbox, &now_ms, &mut hooks)
    };
    let status = match published {
        Ok(counts) => {
            let whole = LogJob {
                content_sha256: hex::encode(content.finalize()),
                bytes_total: Some(counts.bytes),
                ..job.clone()
            };
            status_of(&whole, UploadState::Completed, &counts, None, now_ms())
        }
        // Not `failed`: a failed log ends in the encounter consumer, and this one goes on
        // when its file is sent again.
        Err(failure) => {
            tracing::info!(upload_id = job.upload_id, reason = %failure.error, "live session stopped");
            status_of(job, UploadState::Parsing, &failure.counts, Some(failure.error.to_string()), now_ms())
        }
    };
    let recorded = publish_status(&status, encoders, &mut outbox, &mut |_, _| {})
        .and_then(|()| outbox.flush(|_, _| {}).map_err(Into::into));
    if let Err(error) = recorded {
        tracing::warn!(upload_id = job.upload_id, %error, "could not record a live session's end");
    }
    let outcome = if status.state == UploadState::Completed { "completed" } else { "processing" };
    let mut ledger = uploads.ledger();
    ledger.log_ended(&job.upload_id, 0, status.clone());
    ledger.upload_ended(&job.upload_id, outcome);
    status
}
