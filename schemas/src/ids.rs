//! Identifier newtypes, so a guild id can never be passed where a log id belongs.
//!
//! Both are Avro `long`s on the wire (`u64` is not portable across Avro libraries).

use apache_avro::AvroSchemaComponent;
use apache_avro::schema::{Name, NamespaceRef, Schema};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;

/// A guild (tenant). Every stored row and every topic key carries one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GuildId(pub i64);

/// One log file of one guild: the first 63 bits of the SHA-256 of the guild id and the
/// file's content, so the same file uploaded twice by a guild has the same id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogId(pub i64);

macro_rules! long_id {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl AvroSchemaComponent for $name {
            fn get_schema_in_ctxt(_: &mut HashSet<Name>, _: NamespaceRef<'_>) -> Schema {
                Schema::Long
            }
        }
    };
}

long_id!(GuildId);
long_id!(LogId);

impl LogId {
    /// The log id of `content_sha256` (the SHA-256 of the guild id's 8 big-endian bytes
    /// followed by the file's bytes): its first 8 bytes, top bit cleared.
    pub fn from_digest(content_sha256: &[u8; 32]) -> Self {
        let mut first = [0u8; 8];
        first.copy_from_slice(&content_sha256[..8]);
        LogId((u64::from_be_bytes(first) >> 1) as i64)
    }
}

/// Wall-clock Unix milliseconds: what the `timestamp_ms` of records written at the edges
/// (upload statuses, dead letters, audit rows) holds. The core never reads the clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_avro_longs() {
        assert_eq!(GuildId::get_schema_in_ctxt(&mut HashSet::new(), None), Schema::Long);
        assert_eq!(LogId::get_schema_in_ctxt(&mut HashSet::new(), None), Schema::Long);
    }

    #[test]
    fn log_ids_are_positive_and_taken_from_the_digest_head() {
        assert_eq!(LogId::from_digest(&[0xff; 32]), LogId(i64::MAX));
        let mut digest = [0u8; 32];
        digest[7] = 2;
        assert_eq!(LogId::from_digest(&digest), LogId(1));
    }
}
