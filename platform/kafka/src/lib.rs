//! Kafka plumbing shared by the producer and the consumers.
//!
//! The same code runs against the local tansu broker and Apache Kafka: nothing here
//! depends on broker specifics beyond the Kafka protocol.

mod admin;
mod outbox;
mod probe;
mod replay;
mod settings;

pub use admin::{TopicOutcome, ensure_topics};
pub use outbox::{Outbox, OutboxError};
pub use probe::broker_latency;
pub use replay::{ReplayError, read_topic_to_end};
pub use settings::KafkaSettings;

use rdkafka::message::{Header, OwnedHeaders};
use wowlogs_schemas::topics::{HEADER_GUILD_ID, HEADER_LOG_ID, HEADER_SCHEMA_FINGERPRINT};
use wowlogs_schemas::{GuildId, LogId};

/// The contract's record headers: guild id, log id and writer schema fingerprint.
pub fn record_headers(guild_id: GuildId, log_id: LogId, schema_fingerprint: u64) -> OwnedHeaders {
    OwnedHeaders::new_with_capacity(3)
        .insert(Header { key: HEADER_GUILD_ID, value: Some(guild_id.0.to_string().as_bytes()) })
        .insert(Header { key: HEADER_LOG_ID, value: Some(log_id.0.to_string().as_bytes()) })
        .insert(Header {
            key: HEADER_SCHEMA_FINGERPRINT,
            value: Some(format!("{schema_fingerprint:016x}").as_bytes()),
        })
}
