//! Kafka plumbing shared by the producer and the consumers.
//!
//! The same code runs against the local tansu broker and Apache Kafka: nothing here
//! depends on broker specifics beyond the Kafka protocol.

mod admin;
mod contract;
mod outbox;
mod probe;
mod replay;
mod settings;

pub use admin::{TopicCheck, TopicOutcome, check_topics, ensure_topics, min_insync_replicas};
pub use contract::{PublishError, Route, encode, publish, record_headers, twin};
pub use outbox::{Outbox, OutboxError};
pub use probe::BrokerProbe;
pub use replay::{ReplayError, Start, follow_topic, read_topic_to_end};
pub use settings::{COMPRESSIONS, KafkaSecurity, KafkaSettings, SecurityError};
