//! The records of the other topics: upload lifecycle, dead letters, fight summaries.

use crate::fight::FightSummary;
use crate::ids::{GuildId, LogId};
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

/// Where an upload is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    // Received and identified; nothing published yet.
    Accepted,
    // Being parsed and published; counts are running totals.
    Parsing,
    // Every line is on the topics (events or dead letters).
    Completed,
    // Stopped for `reason`; what was acknowledged stays published.
    Failed,
}

/// Upload ids of live sessions (`wowlogs watch`) start with this: one upload id per
/// file followed while the game writes it, however often its session resumes.
pub const LIVE_UPLOAD_PREFIX: &str = "live-";

/// The record of `wowlogs.uploads.v1`: one per lifecycle step of an upload or import,
/// keyed by guild. The latest `Completed` status of a log is what makes a re-upload of
/// the same file a duplicate, and `acked_through_line` is where a resumed import restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "wowlogs.v1")]
pub struct UploadStatus {
    pub guild_id: GuildId,
    pub log_id: LogId,
    /// The upload (HTTP) or import run this status belongs to.
    pub upload_id: String,
    pub state: UploadState,
    /// The file name as uploaded (for zips, `archive.zip:entry.txt`).
    pub file_name: String,
    /// Hex SHA-256 of the guild id (8 bytes, big-endian) followed by the file's bytes.
    pub content_sha256: String,
    pub bytes_total: Option<i64>,
    pub bytes_read: i64,
    pub lines: i64,
    pub events: i64,
    pub dead_letters: i64,
    /// Every line up to and including this one is durably published (0 for none).
    pub acked_through_line: i64,
    /// Why an upload failed.
    pub reason: Option<String>,
    /// When this status was written, UTC epoch ms.
    pub timestamp_ms: i64,
    /// `Completed` only: the line of the log's last event (0 when it has none), so a
    /// consumer knows when it has seen the whole log. Added in v1.1 with a null default.
    pub last_event_line: Option<i64>,
}

/// The record of `wowlogs.dead-letter.v1`: input that could not be processed, kept
/// whole so it can be inspected and replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "wowlogs.v1")]
pub struct DeadLetter {
    pub guild_id: GuildId,
    pub log_id: LogId,
    pub upload_id: String,
    /// What refused it: `parser`, or the consumer group that could not decode it.
    pub source: String,
    /// Line in the log (0 when the letter is not a log line).
    pub line: i64,
    /// The event name, when the line got that far.
    pub event: Option<String>,
    /// Stable error code, e.g. `field_count`, `invalid_utf8`, `undecodable`.
    pub code: String,
    /// The error for people, e.g. `line 2: SPELL_DAMAGE has 31 fields, expected 22 or 39`.
    pub message: String,
    /// The raw bytes (the first 64 KiB of an over-long line).
    #[avro(with)]
    #[serde(with = "apache_avro::serde::bytes")]
    pub raw: Vec<u8>,
    pub timestamp_ms: i64,
}

/// The record of `wowlogs.encounters.v1`: one completed fight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "wowlogs.v1")]
pub struct EncounterSummary {
    pub guild_id: GuildId,
    pub log_id: LogId,
    pub fight: FightSummary,
}
