//! The consumer's librdkafka context: statistics into the lag gauges, and the
//! partition assignment, logged.
//!
//! (tansu 0.6.0 answered a fetch starting inside a record batch with the next batch,
//! losing the rest of the batch for a consumer resuming at a committed offset; this
//! context used to re-fetch before the committed offset to get around it. The local
//! broker is now built with the fix, deploy/local/patches/, as Kafka behaves: the whole
//! batch, the client skipping what it did not ask for.)

use crate::metrics::ConsumerMetrics;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, TopicPartitionList};

/// The consumer's client context: turns librdkafka's statistics into the lag gauges
/// and logs assignments.
pub struct GroupContext {
    pub group: String,
    pub metrics: ConsumerMetrics,
}

impl GroupContext {
    pub fn new(group: String, metrics: ConsumerMetrics) -> Self {
        Self { group, metrics }
    }
}

impl ClientContext for GroupContext {
    fn stats(&self, statistics: Statistics) {
        self.metrics.statistics(&self.group, &statistics);
    }
}

impl ConsumerContext for GroupContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                tracing::info!(group = self.group, partitions = tpl.count(), "partitions assigned");
                if let Err(error) = consumer.assign(tpl) {
                    tracing::error!(group = self.group, %error, "assigning partitions failed");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(group = self.group, partitions = tpl.count(), "partitions revoked");
                if let Err(error) = consumer.unassign() {
                    tracing::error!(group = self.group, %error, "unassigning partitions failed");
                }
            }
            other => {
                tracing::error!(group = self.group, error = ?other, "rebalance failed");
                let _ = consumer.unassign();
            }
        }
    }
}
