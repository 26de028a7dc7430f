//! The topics of the public contract, named in one place.
//!
//! Every record is keyed by its guild id (decimal ASCII), so one guild's stream stays
//! ordered on one partition, and carries the headers below. Values are Avro
//! single-object messages of the topic's record (see `schemas/README.md`).

/// A topic and the settings it is created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: &'static str,
    /// The record type's published schema file.
    pub schema_file: &'static str,
    /// Partitions when not configured otherwise.
    pub default_partitions: i32,
    /// Topic configuration applied at creation.
    pub config: &'static [(&'static str, &'static str)],
}

/// Every topic keeps every record, by time and by size: the topics are the system of
/// record from which `wowlogs rebuild` makes every ClickHouse table again, so nothing may
/// age out of them (bound broker disk with tiered storage, Kafka 3.6 and later:
/// docs/operations.md). The statuses on [`UPLOADS`] are keyed by guild like everything
/// else (co-partitioned with the events, in order with them), so they are kept whole;
/// their compacted twin is [`UPLOAD_STATE`].
pub const KEEP_EVERYTHING: [(&str, &str); 2] = [("retention.ms", "-1"), ("retention.bytes", "-1")];

/// The largest record a producer sends and a topic takes, in bytes: the producers'
/// `message.max.bytes` and every topic's `max.message.bytes`, one number so that what a
/// client sends the broker accepts (Apache Kafka's broker default is 1,048,588). A line is
/// at most 64 KiB and a fight summary is bounded (top players, names cut) far below it.
pub const MAX_MESSAGE_BYTES: &str = "1000000";

/// Every parsed event.
pub const COMBAT_EVENTS: TopicSpec = TopicSpec {
    name: "wowlogs.combat-events.v1",
    schema_file: "combat_event.avsc",
    default_partitions: 12,
    config: &[
        ("compression.type", "producer"),
        ("max.message.bytes", MAX_MESSAGE_BYTES),
        KEEP_EVERYTHING[0],
        KEEP_EVERYTHING[1],
    ],
};

/// Upload lifecycle: accepted, parsing progress, completed with counts, failed.
/// Co-partitioned with [`COMBAT_EVENTS`] (same key, same partition count), so a log's
/// statuses and events share a partition number and one encounter consumer reads both.
pub const UPLOADS: TopicSpec = TopicSpec {
    name: "wowlogs.uploads.v1",
    schema_file: "upload_status.avsc",
    default_partitions: COMBAT_EVENTS.default_partitions,
    config: &[("max.message.bytes", MAX_MESSAGE_BYTES), KEEP_EVERYTHING[0], KEEP_EVERYTHING[1]],
};

/// Lines the parser refused and records a consumer could not decode.
pub const DEAD_LETTER: TopicSpec = TopicSpec {
    name: "wowlogs.dead-letter.v1",
    schema_file: "dead_letter.avsc",
    default_partitions: 3,
    config: &[("max.message.bytes", MAX_MESSAGE_BYTES), KEEP_EVERYTHING[0], KEEP_EVERYTHING[1]],
};

/// Completed fights (filled by the encounter consumer).
pub const ENCOUNTERS: TopicSpec = TopicSpec {
    name: "wowlogs.encounters.v1",
    schema_file: "encounter_summary.avsc",
    default_partitions: 6,
    config: &[("max.message.bytes", MAX_MESSAGE_BYTES), KEEP_EVERYTHING[0], KEEP_EVERYTHING[1]],
};

/// The latest status of every upload of every log, compacted by key
/// ([`upload_state_key`]: guild, log and upload): each status on [`UPLOADS`] is also
/// written here, and compaction keeps the last one per key (deleting nothing else), so
/// reading this topic from its beginning costs one record per upload of a log, however
/// long the history of running counts. What every upload-service replica reads at start
/// to know which logs were published, and a subscriber's table of uploads.
pub const UPLOAD_STATE: TopicSpec = TopicSpec {
    name: "wowlogs.upload-state.v1",
    schema_file: "upload_status.avsc",
    default_partitions: 6,
    config: &[
        ("cleanup.policy", "compact"),
        ("max.message.bytes", MAX_MESSAGE_BYTES),
        KEEP_EVERYTHING[0],
        KEEP_EVERYTHING[1],
        // Compact a segment once a tenth of it is superseded statuses; keep statuses for
        // at least a minute so a replica following the topic sees each one.
        ("min.cleanable.dirty.ratio", "0.1"),
        ("min.compaction.lag.ms", "60000"),
    ],
};

/// The [`UPLOAD_STATE`] key of a status: `guild_id:log_id:upload_id`.
pub fn upload_state_key(guild_id: crate::GuildId, log_id: crate::LogId, upload_id: &str) -> String {
    format!("{}:{}:{upload_id}", guild_id.0, log_id.0)
}

/// Every topic of the contract.
pub const ALL: [TopicSpec; 5] = [COMBAT_EVENTS, UPLOADS, DEAD_LETTER, ENCOUNTERS, UPLOAD_STATE];

/// Header: the guild id, decimal.
pub const HEADER_GUILD_ID: &str = "wowlogs-guild-id";
/// Header: the log id, decimal.
pub const HEADER_LOG_ID: &str = "wowlogs-log-id";
/// Header: the writer schema's CRC-64-AVRO (Rabin) fingerprint as 16 lower-case hex
/// digits of its 8 bytes in the order they stand in the message's single-object header
/// (bytes 2 to 9, little-endian): what Java's `SchemaNormalization.parsingFingerprint`,
/// fastavro and apache-avro's `fingerprint::<Rabin>()` give ([`fingerprint_header`]).
pub const HEADER_SCHEMA_FINGERPRINT: &str = "wowlogs-schema-fingerprint";

/// The [`HEADER_SCHEMA_FINGERPRINT`] value of a fingerprint (as [`crate::Codec::fingerprint`]
/// holds it: the header's bytes read little-endian).
pub fn fingerprint_header(fingerprint: u64) -> String {
    fingerprint.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The record key of a guild's messages.
pub fn guild_key(guild_id: crate::GuildId) -> String {
    guild_id.0.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_are_versioned_and_distinct() {
        for topic in ALL {
            assert!(topic.name.starts_with("wowlogs.") && topic.name.ends_with(".v1"), "{}", topic.name);
        }
        let mut names: Vec<_> = ALL.iter().map(|t| t.name).collect();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn every_topic_keeps_every_record() {
        for topic in ALL {
            for setting in KEEP_EVERYTHING {
                assert!(topic.config.contains(&setting), "{} lacks {setting:?}", topic.name);
            }
        }
    }

    #[test]
    fn only_the_upload_state_is_compacted_and_its_key_names_one_upload_of_one_log() {
        for topic in ALL {
            let compacted = topic.config.contains(&("cleanup.policy", "compact"));
            assert_eq!(compacted, topic.name == UPLOAD_STATE.name, "{}", topic.name);
        }
        assert_eq!(UPLOAD_STATE.schema_file, UPLOADS.schema_file, "the same records");
        let key = upload_state_key(crate::GuildId(7), crate::LogId(42), "u-1");
        assert_eq!(key, "7:42:u-1");
        assert_ne!(key, upload_state_key(crate::GuildId(7), crate::LogId(42), "u-2"), "each upload its own");
    }

    #[test]
    fn statuses_are_co_partitioned_with_events() {
        assert_eq!(UPLOADS.default_partitions, COMBAT_EVENTS.default_partitions);
    }

    #[test]
    fn every_topic_names_a_published_schema() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("avro");
        for topic in ALL {
            assert!(dir.join(topic.schema_file).exists(), "{}", topic.schema_file);
        }
    }
}
