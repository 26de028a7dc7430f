//! A log's identity: the SHA-256 of its guild and content; and a live log's, from its
//! file's first line (its content is not known until the file is closed).

use sha2::{Digest, Sha256};
use std::io::{self, BufRead};
use wowlogs_schemas::{GuildId, LogId};

/// What hashing a log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogIdentity {
    pub log_id: LogId,
    /// Hex SHA-256 of the guild id (8 bytes, big-endian) followed by the content.
    pub content_sha256: String,
    /// Content bytes (after decompression).
    pub bytes: u64,
    /// Newlines in the content (for an estimate of the events to come).
    pub newlines: u64,
    /// The [`live_key`] of the content's first line: a live session of the same file has
    /// it too, and the content joins that log instead of starting another.
    pub live_key: String,
}

/// The most of a file's first line its [`live_key`] covers.
pub const LIVE_KEY_LINE_BYTES: usize = 4096;

/// A file's first line as its [`live_key`] reads it: up to the first newline (a
/// carriage return before it dropped), at most [`LIVE_KEY_LINE_BYTES`]; `None` while
/// `start` (the file's first bytes) holds neither a newline nor that many bytes.
pub fn first_line(start: &[u8]) -> Option<&[u8]> {
    let end = match memchr::memchr(b'\n', &start[..start.len().min(LIVE_KEY_LINE_BYTES)]) {
        Some(end) => end,
        None if start.len() >= LIVE_KEY_LINE_BYTES => LIVE_KEY_LINE_BYTES,
        None => return None,
    };
    let line = &start[..end];
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// The key of a log file followed live (`wowlogs watch`): the hex SHA-256 of its
/// [`first_line`]. The game starts every file with a header stamped to the millisecond
/// (`COMBAT_LOG_VERSION`), so the key tells files apart, and a file copied or zipped
/// later has the same key as while it was written.
pub fn live_key(first_line: &[u8]) -> String {
    hex::encode(Sha256::digest(first_line))
}

/// Whether `key` has the form of a [`live_key`] (64 lowercase hex digits).
pub fn is_live_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The log id of the file with `key` followed live for `guild_id` (its own hash input,
/// marked, so it never collides with a content's id).
pub fn live_log_id(guild_id: GuildId, key: &str) -> LogId {
    marked_log_id(b"wowlogs-live-log\0", guild_id, key)
}

/// The upload id of a live session: one per guild and file, however often it resumes,
/// so that a later upload of the same file finds it ([`crate::registry::LogRegistry`]).
pub fn live_upload_id(guild_id: GuildId, key: &str) -> String {
    format!("{}{}-{}", wowlogs_schemas::LIVE_UPLOAD_PREFIX, guild_id.0, &key[..key.len().min(32)])
}

/// Hashes a log's content for `guild_id`, streaming.
pub fn identify(guild_id: GuildId, input: &mut dyn BufRead) -> io::Result<LogIdentity> {
    let mut hasher = Sha256::new();
    hasher.update(guild_id.0.to_be_bytes());
    let (mut bytes, mut newlines) = (0u64, 0u64);
    let mut start = Vec::new();
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        if first_line(&start).is_none() {
            start.extend_from_slice(&chunk[..chunk.len().min(LIVE_KEY_LINE_BYTES)]);
        }
        hasher.update(chunk);
        bytes += chunk.len() as u64;
        newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        let len = chunk.len();
        input.consume(len);
    }
    let digest: [u8; 32] = hasher.finalize().into();
    Ok(LogIdentity {
        log_id: LogId::from_digest(&digest),
        content_sha256: hex::encode(digest),
        bytes,
        newlines,
        live_key: live_key(first_line(&start).unwrap_or(&start)),
    })
}

/// The log id a refused upload is recorded under: its own, from the guild and the
/// upload id, so that no two refusals share a log (a shared id would hold one log open
/// in the encounter consumer for ever) and none collides with a content's id (the hash
/// input starts with a marker no content hash has).
pub fn refused_log_id(guild_id: GuildId, upload_id: &str) -> LogId {
    marked_log_id(b"wowlogs-refused-upload\0", guild_id, upload_id)
}

/// A log id of its own kind: the SHA-256 of a marker (which no content hash starts
/// with), the guild and a name.
fn marked_log_id(marker: &[u8], guild_id: GuildId, name: &str) -> LogId {
    let mut hasher = Sha256::new();
    hasher.update(marker);
    hasher.update(guild_id.0.to_be_bytes());
    hasher.update(name.as_bytes());
    let digest: [u8; 32] = hasher.finalize().into();
    LogId::from_digest(&digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refused_upload_has_a_log_id_of_its_own() {
        let a = refused_log_id(GuildId(2), "u-1");
        assert_ne!(a, refused_log_id(GuildId(2), "u-2"));
        assert_ne!(a, refused_log_id(GuildId(3), "u-1"));
        assert_ne!(a, LogId(0));
        assert_eq!(a, refused_log_id(GuildId(2), "u-1"));
    }

    #[test]
    fn a_live_key_is_the_first_lines_whatever_comes_after_it_and_however_it_ends() {
        let header = b"12/6/2026 20:30:11.123-5  COMBAT_LOG_VERSION,22,ADVANCED_LOG_ENABLED,1";
        let key = live_key(header);
        assert!(is_live_key(&key));
        assert_eq!(first_line(b"12/6 20:30"), None, "no newline yet: no key yet");
        assert_eq!(first_line(b"a\r\nb"), Some(&b"a"[..]));
        let long = vec![b'x'; LIVE_KEY_LINE_BYTES + 10];
        assert_eq!(first_line(&long).map(<[u8]>::len), Some(LIVE_KEY_LINE_BYTES));
        for content in [&b"\nline 2\n"[..], b"\r\nline 2\r\nline 3", b"\n"] {
            let whole = [&header[..], content].concat();
            let identity =
                identify(GuildId(1), &mut std::io::BufReader::with_capacity(7, &whole[..])).unwrap();
            assert_eq!(identity.live_key, key, "{content:?}");
        }
        assert_ne!(live_log_id(GuildId(1), &key), live_log_id(GuildId(2), &key));
        assert_eq!(live_upload_id(GuildId(7), &key), format!("live-7-{}", &key[..32]));
        assert!(!is_live_key("../../etc") && !is_live_key(&key.to_uppercase()));
    }

    #[test]
    fn the_same_content_is_the_same_log_only_within_a_guild() {
        let a = identify(GuildId(1), &mut &b"line\n"[..]).unwrap();
        assert_eq!(a, identify(GuildId(1), &mut &b"line\n"[..]).unwrap());
        assert_ne!(a.log_id, identify(GuildId(2), &mut &b"line\n"[..]).unwrap().log_id);
        assert_ne!(a.log_id, identify(GuildId(1), &mut &b"line\nmore\n"[..]).unwrap().log_id);
        assert_eq!((a.bytes, a.newlines), (5, 1));
        assert_eq!(a.content_sha256.len(), 64);
    }
}
