//! Reading a whole topic, from its beginning to its current end, without a group; and
//! following it from its beginning on, for state every replica of a service shares.
//!
//! The end is where each partition reports end-of-partition, not the high watermark
//! from `ListOffsets`: tansu 0.6 answers that with the base offset of the last record
//! batch plus one (500 records in one batch: high watermark 1), while its fetch
//! responses, which drive librdkafka's end-of-partition events, are right.

use crate::KafkaSettings;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Why a topic could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("reading {topic}: {source}")]
    Kafka { topic: String, source: KafkaError },
    #[error("reading {topic} did not reach its end within {timeout:?}")]
    Timeout { topic: String, timeout: Duration },
}

/// A client context for which reaching the end of a partition is the goal, not an
/// error worth logging (librdkafka reports it through the error callback too).
struct EndAware;

impl ClientContext for EndAware {
    fn error(&self, error: KafkaError, reason: &str) {
        let end_of_partition = matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
        );
        if !end_of_partition {
            tracing::warn!(%error, reason, "kafka client error");
        }
    }
}

impl ConsumerContext for EndAware {}

/// Where reading a topic starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Every record the topic holds.
    Beginning,
    /// Only records written from now on.
    End,
}

/// A consumer of `topic` (no group offsets) reading from `start` of its partitions
/// that hold records (of every partition with `every_partition`), and those partitions:
/// only they report their end. Only an empty partition has a high watermark of 0, on
/// tansu as on Kafka.
fn open(
    settings: &KafkaSettings,
    topic: &str,
    purpose: &str,
    every_partition: bool,
    start: Start,
) -> Result<(BaseConsumer<EndAware>, HashSet<i32>), ReplayError> {
    let start = match start {
        Start::Beginning => Offset::Beginning,
        Start::End => Offset::End,
    };
    let kafka = |source| ReplayError::Kafka { topic: topic.to_string(), source };
    let consumer: BaseConsumer<EndAware> = settings
        .client_config()
        .set("group.id", format!("{}-{purpose}", settings.client_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create_with_context(EndAware)
        .map_err(kafka)?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).map_err(kafka)?;
    let mut assignment = TopicPartitionList::new();
    let mut pending: HashSet<i32> = HashSet::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (_, high) =
            consumer.fetch_watermarks(topic, partition.id(), Duration::from_secs(10)).map_err(kafka)?;
        if high > 0 {
            pending.insert(partition.id());
        }
        if high > 0 || every_partition {
            assignment.add_partition_offset(topic, partition.id(), start).map_err(kafka)?;
        }
    }
    consumer.assign(&assignment).map_err(kafka)?;
    Ok((consumer, pending))
}

/// Calls `visit` with every message of `topic`, each partition in offset order, until
/// every partition is at its end. Blocking: call it from a plain thread or
/// `spawn_blocking`.
pub fn read_topic_to_end(
    settings: &KafkaSettings,
    topic: &str,
    timeout: Duration,
    mut visit: impl FnMut(&BorrowedMessage<'_>),
) -> Result<(), ReplayError> {
    let kafka = |source| ReplayError::Kafka { topic: topic.to_string(), source };
    let (consumer, mut pending) = open(settings, topic, "replay", false, Start::Beginning)?;
    if pending.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    while !pending.is_empty() {
        if started.elapsed() > timeout {
            return Err(ReplayError::Timeout { topic: topic.to_string(), timeout });
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(message)) => visit(&message),
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                pending.remove(&partition);
            }
            Some(Err(error)) => return Err(kafka(error)),
        }
    }
    Ok(())
}

/// Calls `visit` with every message of `topic` from `start` (its beginning, or what is
/// written from now on), then with every new one, until `stop()` is true; `caught_up` is
/// called once, when every partition that held records at the start has reached its
/// end (the state read so far is the topic's). Partitions added later are not
/// followed. Blocking: run it on a thread of its own.
pub fn follow_topic(
    settings: &KafkaSettings,
    topic: &str,
    start: Start,
    stop: impl Fn() -> bool,
    caught_up: impl FnOnce(),
    mut visit: impl FnMut(&BorrowedMessage<'_>),
) -> Result<(), ReplayError> {
    let kafka = |source| ReplayError::Kafka { topic: topic.to_string(), source };
    // Every partition is followed; only those with records are waited for (an empty
    // partition may never report its end).
    let (consumer, mut pending) = open(settings, topic, "follow", true, start)?;
    let mut caught_up = Some(caught_up);
    if pending.is_empty()
        && let Some(done) = caught_up.take()
    {
        done();
    }
    while !stop() {
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(message)) => visit(&message),
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                pending.remove(&partition);
                if pending.is_empty()
                    && let Some(done) = caught_up.take()
                {
                    done();
                }
            }
            Some(Err(error)) => return Err(kafka(error)),
        }
    }
    Ok(())
}
