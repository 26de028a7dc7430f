//! The consumer's librdkafka context: statistics into the lag gauges, and the
//! assignment that works around tansu skipping part of a record batch.

use crate::metrics::ConsumerMetrics;
use crate::partitions::PerPartition;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::Mutex;
use std::time::Duration;

/// Records a producer batch holds at most (`batch.num.messages` of our producer).
pub const MAX_BATCH_RECORDS: i64 = 10_000;

/// The consumer's client context: turns librdkafka's statistics into the lag gauges,
/// and works around a broker bug on assignment.
///
/// tansu 0.6.0 answers a fetch that starts inside a record batch with the *next*
/// batch, silently skipping the rest of the batch the committed offset points into
/// (measured: asked for offset 231147, the first record returned was 231171). So on
/// every assignment each partition starts [`MAX_BATCH_RECORDS`] before its committed
/// offset, which lands at or before the start of that batch, and records below the
/// committed offset are dropped by the group loop ([`GroupContext::floor`]). On Kafka,
/// which returns the whole batch, this only re-reads a few records after a rebalance.
pub struct GroupContext {
    pub group: String,
    pub metrics: ConsumerMetrics,
    /// Records re-fetched before a committed offset (0: trust the broker).
    pub refetch: i64,
    floors: Mutex<PerPartition<i64>>,
}

impl GroupContext {
    pub fn new(group: String, metrics: ConsumerMetrics, refetch: i64) -> Self {
        Self { group, metrics, refetch, floors: Mutex::new(PerPartition::default()) }
    }

    /// The committed offset of a partition at its assignment: records below it were
    /// processed before and must be skipped.
    pub fn floor(&self, topic: &str, partition: i32) -> Option<i64> {
        self.floors.lock().expect("floors lock").get(topic, partition)
    }

    fn assign_before_committed(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        if self.refetch == 0 {
            return;
        }
        let committed = match consumer.committed_offsets(tpl.clone(), Duration::from_secs(30)) {
            Ok(committed) => committed,
            Err(error) => {
                tracing::warn!(group = self.group, %error, "could not read committed offsets; assigning as is");
                return;
            }
        };
        let mut floors = self.floors.lock().expect("floors lock");
        for element in committed.elements() {
            if let Offset::Offset(offset) = element.offset() {
                let start = (offset - self.refetch).max(0);
                let _ = tpl.set_partition_offset(element.topic(), element.partition(), Offset::Offset(start));
                floors.insert(element.topic(), element.partition(), offset);
            }
        }
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
                self.assign_before_committed(consumer, tpl);
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
