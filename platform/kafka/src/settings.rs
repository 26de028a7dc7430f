//! Client settings, from configuration to librdkafka properties.

use rdkafka::ClientConfig;

/// How to reach the brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    /// `host:port[,host:port...]`.
    pub brokers: String,
    /// Client id reported to the brokers.
    pub client_id: String,
    /// Extra librdkafka properties (`security.protocol`, ...), applied last.
    pub extra: Vec<(String, String)>,
}

impl KafkaSettings {
    pub fn new(brokers: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self { brokers: brokers.into(), client_id: client_id.into(), extra: Vec::new() }
    }

    /// Properties common to every client.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers).set("client.id", &self.client_id);
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }

    /// A producer that never loses or duplicates an acknowledged message: idempotent
    /// (which implies `acks=all` and ordered retries), lz4-compressed, batching for
    /// throughput, retrying transient failures until `message.timeout.ms`.
    pub fn producer_config(&self) -> ClientConfig {
        let mut config = self.client_config();
        config
            .set("enable.idempotence", "true")
            .set("compression.type", "lz4")
            .set("linger.ms", "20")
            // At most this many records per batch: consumers re-fetch that many records
            // before a committed offset (see `wowlogs_consumers::context::GroupContext`).
            .set("batch.num.messages", "10000")
            .set("batch.size", "1000000")
            .set("queue.buffering.max.messages", "1000000")
            .set("queue.buffering.max.kbytes", "1048576")
            .set("message.timeout.ms", "300000")
            // What the topics take (`max.message.bytes`, set at creation): a record too large
            // fails at once with MessageSizeTooLarge instead of at the broker.
            .set("message.max.bytes", wowlogs_schemas::topics::MAX_MESSAGE_BYTES);
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }
}
