//! `logs`: one row per uploaded log, the latest status of each.

use super::datetime;
use wowlogs_schemas::{Named, UploadStatus};

crate::table_row! {
    /// `logs`: one row per uploaded log, replaced by each newer status.
    pub struct LogRow in "logs" {
        guild_id: i64 = "Int64",
        log_id: i64 = "Int64",
        content_sha256: String = "String",
        upload_id: String = "String",
        file_name: String = "String",
        /// `UploadState::code()`.
        state: i8 = "Enum8('accepted' = 1, 'parsing' = 2, 'completed' = 3, 'failed' = 4)",
        bytes_read: i64 = "Int64",
        lines: i64 = "Int64",
        events: i64 = "Int64",
        dead_letters: i64 = "Int64",
        reason: String = "String",
        updated: u32 = "DateTime('UTC')",
        version: u64 = "UInt64",
    }
}

impl LogRow {
    /// The row of a status; its timestamp is the version, so the latest status wins.
    pub fn from_status(status: &UploadStatus) -> Self {
        LogRow {
            guild_id: status.guild_id.0,
            log_id: status.log_id.0,
            content_sha256: status.content_sha256.clone(),
            upload_id: status.upload_id.clone(),
            file_name: status.file_name.clone(),
            state: status.state.code(),
            bytes_read: status.bytes_read,
            lines: status.lines,
            events: status.events,
            dead_letters: status.dead_letters,
            reason: status.reason.clone().unwrap_or_default(),
            updated: datetime(status.timestamp_ms),
            version: status.timestamp_ms.max(0) as u64,
        }
    }
}
