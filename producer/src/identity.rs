//! A log's identity: the SHA-256 of its guild and content.

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
}

/// Hashes a log's content for `guild_id`, streaming.
pub fn identify(guild_id: GuildId, input: &mut dyn BufRead) -> io::Result<LogIdentity> {
    let mut hasher = Sha256::new();
    hasher.update(guild_id.0.to_be_bytes());
    let (mut bytes, mut newlines) = (0u64, 0u64);
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
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
    })
}

/// The log id a refused upload is recorded under: its own, from the guild and the
/// upload id, so that no two refusals share a log (a shared id would hold one log open
/// in the encounter consumer for ever) and none collides with a content's id (the hash
/// input starts with a marker no content hash has).
pub fn refused_log_id(guild_id: GuildId, upload_id: &str) -> LogId {
    let mut hasher = Sha256::new();
    hasher.update(b"wowlogs-refused-upload\0");
    hasher.update(guild_id.0.to_be_bytes());
    hasher.update(upload_id.as_bytes());
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
    fn the_same_content_is_the_same_log_only_within_a_guild() {
        let a = identify(GuildId(1), &mut &b"line\n"[..]).unwrap();
        assert_eq!(a, identify(GuildId(1), &mut &b"line\n"[..]).unwrap());
        assert_ne!(a.log_id, identify(GuildId(2), &mut &b"line\n"[..]).unwrap().log_id);
        assert_ne!(a.log_id, identify(GuildId(1), &mut &b"line\nmore\n"[..]).unwrap().log_id);
        assert_eq!((a.bytes, a.newlines), (5, 1));
        assert_eq!(a.content_sha256.len(), 64);
    }
}
