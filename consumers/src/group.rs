//! The loop every consumer group runs: receive, let the projection turn records into
//! rows, write the batch when it is full or old enough, then commit.
//!
//! The committed offset of a partition is the next one to read, unless the projection
//! still needs an earlier record after a restart (the encounter consumer's open logs):
//! then it is that record's offset. Offsets are committed only for partitions this
//! member still owns, and a projection forgets the state of partitions it lost, so the
//! new owner rebuilds them from the committed offsets.

use crate::batch::{RowBatch, Sinks};
pub use crate::config::GroupConfig;
use crate::context::GroupContext;
use crate::metrics::ConsumerMetrics;
use crate::partitions::PerPartition;
pub use crate::partitions::TopicPartition;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wowlogs_schemas::{Codec, DeadLetter, EncounterSummary, GuildId, LogId, now_ms};

/// One record as a projection sees it.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub payload: &'a [u8],
    /// Wall-clock milliseconds when this member received it.
    pub received_ms: i64,
}

/// What turns a group's records into rows. Implementations hold no I/O.
pub trait Projection: Send {
    /// The topics the group reads.
    fn topics(&self) -> Vec<&'static str>;
    /// Takes one record; `Err(reason)` when it can never be processed (undecodable).
    fn take(&mut self, record: Record<'_>, batch: &mut RowBatch) -> Result<(), String>;
    /// The earliest offset of `partition` that must be read again after a restart,
    /// if earlier than the next one.
    fn restart_offset(&self, _topic: &str, _partition: i32) -> Option<i64> {
        None
    }
    /// Forgets whatever belongs to partitions not in `assigned`.
    fn retain_assigned(&mut self, _assigned: &HashSet<TopicPartition>) {}
    /// Open logs and open fights, for the gauges.
    fn open(&self) -> (usize, usize) {
        (0, 0)
    }
    /// Logs closed before their end to keep a guild within its bound, since the start.
    fn logs_shed(&self) -> u64 {
        0
    }
    /// Gives up on what waited too long for its end (logs no status will ever complete);
    /// rows it still makes go to `batch`.
    fn expire(&mut self, _now_ms: i64, _batch: &mut RowBatch) {}
    /// When the oldest record a restart would have to read again was received: how far
    /// behind a pin holds its partition.
    fn oldest_pin_ms(&self) -> Option<i64> {
        None
    }
    /// Settings the group needs on top of the defaults (the assignment strategy).
    fn consumer_settings(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}

/// How often a projection is asked to give up on what waited too long.
const EXPIRY_EVERY: Duration = Duration::from_secs(5);

/// Why a group stopped.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("{0}")]
    Setup(String),
}

/// Runs the group until `shutdown` completes; then writes what is buffered, commits
/// and leaves the group.
pub async fn run_group<P: Projection>(
    config: &GroupConfig,
    mut projection: P,
    metrics: ConsumerMetrics,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GroupError> {
    let context = GroupContext::new(config.group_id.clone(), metrics.clone());
    let mut client_config = config.kafka.client_config();
    client_config
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", config.session_timeout.as_millis().to_string())
        .set("statistics.interval.ms", "5000")
        .set("enable.partition.eof", if config.stop_when_idle.is_some() { "true" } else { "false" });
    // librdkafka prefetches up to 64 MiB per client by default; a process runs two
    // groups, and records of up to 64 KiB would fill it with memory the batch bound does
    // not count. 16 MiB of prefetch still keeps a partition's fetches flowing.
    client_config.set("queued.max.messages.kbytes", "16384");
    // Once that queue is full librdkafka waits fetch.queue.backoff.ms (1 s by default since
    // 2.4) before fetching again, whatever was consumed meanwhile: with a bounded queue the
    // group then read 42k records/s instead of 425k (BENCHMARKS.md). 50 ms keeps it fed.
    client_config.set("fetch.queue.backoff.ms", "50");
    for (key, value) in projection.consumer_settings() {
        client_config.set(key, value);
    }
    if let Some(instance) = &config.instance_id {
        client_config.set("group.instance.id", instance);
    }
    let consumer: Arc<StreamConsumer<GroupContext>> = Arc::new(client_config.create_with_context(context)?);
    consumer.subscribe(&projection.topics())?;
    metrics.start(&config.group_id, &projection.topics());
    let producer: FutureProducer = config.kafka.producer_config().create()?;
    let letters = Codec::<DeadLetter>::new().map_err(|e| GroupError::Setup(e.to_string()))?;
    let sinks = Sinks {
        group: config.group_id.clone(),
        clickhouse: config.store.client(),
        registry: config.registry.client(),
        producer: producer.clone(),
        summaries: Codec::<EncounterSummary>::new().map_err(|e| GroupError::Setup(e.to_string()))?,
        letters: Codec::<DeadLetter>::new().map_err(|e| GroupError::Setup(e.to_string()))?,
        metrics: metrics.clone(),
        insert_timeout: config.insert_timeout,
    };
    // Writing a batch overlaps with reading the next one; the next is handed over only
    // when the previous is written, so at most two batches are in memory and a slow
    // ClickHouse slows reading.
    let mut writer = Writer { idle: Some(sinks), busy: None, consumer: consumer.clone() };
    let mut batch = RowBatch::default();
    // The next offset to read, per partition read since the start.
    let mut positions: PerPartition<i64> = PerPartition::default();
    let mut oldest: Option<Instant> = None;
    let mut dirty = false;
    let mut caught_up = CaughtUp::default();
    let mut last_expiry = Instant::now();
    // Per record the clock is read twice (the wall time it arrived, the instant for the
    // batch's age) and the batch-age timer is reset only when its deadline moves (once
    // per batch), the consumed counter kept at hand: per record, a timer and label
    // lookups cost more than a raw event's row (BENCHMARKS.md, "Where a 1 GiB import's
    // time goes").
    let mut counters: HashMap<String, prometheus::IntCounter> = HashMap::new();
    let mut wake = last_expiry + config.batch_age;
    let mut got_record = false;
    let timer = tokio::time::sleep_until(wake.into());
    tokio::pin!(shutdown, timer);
    loop {
        if let Some(idle) = config.stop_when_idle
            && caught_up.done(&consumer, idle)
        {
            break;
        }
        // A batch with records is due batch_age after its first; otherwise wake up every
        // batch_age (expiry, idleness).
        let deadline = match oldest {
            Some(first) if dirty => first + config.batch_age,
            _ => wake,
        };
        if timer.deadline() != deadline.into() {
            timer.as_mut().reset(deadline.into());
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = &mut timer => wake = Instant::now() + config.batch_age,
            received = consumer.recv() => match received {
                Err(rdkafka::error::KafkaError::PartitionEOF(partition)) => caught_up.end_of(partition),
                Err(error) => tracing::warn!(group = config.group_id, %error, "kafka receive error"),
                Ok(message) => {
                    let received_ms = now_ms();
                    let topic = message.topic();
                    match counters.get(topic) {
                        Some(counter) => counter.inc(),
                        None => {
                            let counter = metrics.consumed_counter(&config.group_id, topic);
                            counter.inc();
                            counters.insert(topic.to_string(), counter);
                        }
                    }
                    metrics.touch_at(received_ms);
                    let record = Record {
                        topic,
                        partition: message.partition(),
                        offset: message.offset(),
                        payload: message.payload().unwrap_or_default(),
                        received_ms,
                    };
                    batch.bytes += record.payload.len();
                    if let Err(reason) = projection.take(record, &mut batch) {
                        poison(&message, &reason, &letters, &producer, &config.group_id, &metrics).await;
                    }
                    positions.insert(message.topic(), message.partition(), message.offset() + 1);
                    dirty = true;
                    got_record = true;
                }
            },
        }
        let now = Instant::now();
        if std::mem::take(&mut got_record) {
            caught_up.received(now);
        }
        if dirty && oldest.is_none() {
            oldest = Some(now);
        }
        if now.duration_since(last_expiry) >= EXPIRY_EVERY {
            last_expiry = now;
            let open = projection.open();
            projection.expire(now_ms(), &mut batch);
            // What was given up on is handed over now, not with the next record (which
            // may never come): its rows, the pin it released (committed) and the gauges.
            dirty |= !batch.is_empty() || projection.open() != open;
            oldest.get_or_insert(now);
        }
        let old = oldest.is_some_and(|s| now.duration_since(s) >= config.batch_age);
        let full = batch.len() >= config.batch_rows || batch.bytes >= config.batch_bytes;
        if full || (old && dirty) {
            let flush = hand_over(&consumer, &mut projection, &mut batch, &mut positions, &metrics);
            writer.submit(flush).await?;
            oldest = None;
            dirty = false;
        }
    }
    let last = hand_over(&consumer, &mut projection, &mut batch, &mut positions, &metrics);
    writer.submit(last).await?;
    writer.wait().await?;
    consumer.unsubscribe();
    Ok(())
}

/// A batch and the offsets to commit once it is stored.
struct Flush {
    batch: RowBatch,
    offsets: TopicPartitionList,
}

/// Takes the batch for the writer, with what may be committed after it: for every
/// partition still assigned, the next offset, or the projection's restart offset if
/// earlier. Partitions no longer assigned are forgotten.
fn hand_over<P: Projection>(
    consumer: &StreamConsumer<GroupContext>,
    projection: &mut P,
    batch: &mut RowBatch,
    positions: &mut PerPartition<i64>,
    metrics: &ConsumerMetrics,
) -> Flush {
    let batch = std::mem::take(batch);
    let mut offsets = TopicPartitionList::new();
    match consumer.assignment() {
        Ok(list) => {
            let assigned: HashSet<TopicPartition> =
                list.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect();
            projection.retain_assigned(&assigned);
            positions.retain(&assigned);
            for (topic, partition, next) in positions.iter() {
                let offset = projection.restart_offset(topic, partition).map_or(next, |pin| pin.min(next));
                let _ = offsets.add_partition_offset(topic, partition, Offset::Offset(offset));
            }
        }
        Err(error) => tracing::warn!(%error, "could not read the assignment; not committing this batch"),
    }
    let (logs, fights) = projection.open();
    metrics.open(logs, fights);
    metrics.logs_shed(projection.logs_shed());
    metrics.pinned_since(projection.oldest_pin_ms());
    Flush { batch, offsets }
}

/// Writes one batch at a time in a task of its own, committing its offsets after it
/// is stored.
struct Writer {
    idle: Option<Sinks>,
    busy: Option<tokio::task::JoinHandle<Sinks>>,
    consumer: Arc<StreamConsumer<GroupContext>>,
}

impl Writer {
    /// Waits for the batch being written, then starts writing `flush`.
    async fn submit(&mut self, flush: Flush) -> Result<(), GroupError> {
        self.wait().await?;
        let sinks = self.idle.take().expect("a writer is idle after wait");
        let consumer = self.consumer.clone();
        self.busy = Some(tokio::spawn(async move {
            write_and_commit(&sinks, &consumer, flush).await;
            sinks
        }));
        Ok(())
    }

    /// Waits for the batch being written, if any.
    async fn wait(&mut self) -> Result<(), GroupError> {
        if let Some(busy) = self.busy.take() {
            let sinks = busy.await.map_err(|e| GroupError::Setup(format!("the writer task failed: {e}")))?;
            self.idle = Some(sinks);
        }
        Ok(())
    }
}

async fn write_and_commit(sinks: &Sinks, consumer: &StreamConsumer<GroupContext>, mut flush: Flush) {
    let rows = flush.batch.len();
    sinks.write(&mut flush.batch).await;
    if flush.offsets.count() == 0 {
        return;
    }
    // The rows are stored: a failed commit (a rebalance, a slow coordinator) only means
    // these records may be delivered again, which the row identities absorb.
    match consumer.commit(&flush.offsets, CommitMode::Sync) {
        Ok(()) => sinks.metrics.committed(&sinks.group, true),
        Err(error) => {
            sinks.metrics.committed(&sinks.group, false);
            tracing::warn!(group = sinks.group, %error, "offset commit failed; records may be replayed");
        }
    }
    tracing::debug!(group = sinks.group, rows, "batch written and committed");
}

/// Whether a rebuild has read everything: each assigned partition reached its end
/// (librdkafka reports the partition number only, so ends are counted per number) and
/// nothing arrived since for a while. Records that arrive later are the live group's.
#[derive(Debug, Default)]
struct CaughtUp {
    ends: HashMap<i32, usize>,
    last_record: Option<Instant>,
}

impl CaughtUp {
    fn end_of(&mut self, partition: i32) {
        *self.ends.entry(partition).or_default() += 1;
    }

    fn received(&mut self, at: Instant) {
        self.last_record = Some(at);
    }

    fn done(&self, consumer: &StreamConsumer<GroupContext>, idle: Duration) -> bool {
        if self.last_record.is_some_and(|t| t.elapsed() < idle) {
            return false;
        }
        let Ok(assignment) = consumer.assignment() else { return false };
        if assignment.count() == 0 {
            return false;
        }
        let mut needed: HashMap<i32, usize> = HashMap::new();
        for element in assignment.elements() {
            *needed.entry(element.partition()).or_default() += 1;
        }
        needed.iter().all(|(partition, n)| self.ends.get(partition).is_some_and(|seen| seen >= n))
    }
}

/// Sends an undecodable record to the dead-letter topic, kept whole, with the
/// contract's headers like every other record.
async fn poison(
    message: &BorrowedMessage<'_>,
    reason: &str,
    codec: &Codec<DeadLetter>,
    producer: &FutureProducer,
    group: &str,
    metrics: &ConsumerMetrics,
) {
    let guild =
        message.key().and_then(|k| std::str::from_utf8(k).ok()).and_then(|k| k.parse().ok()).unwrap_or(0);
    tracing::warn!(
        group,
        topic = message.topic(),
        partition = message.partition(),
        offset = message.offset(),
        reason,
        "undecodable record"
    );
    let letter = DeadLetter {
        guild_id: GuildId(guild),
        log_id: LogId(0),
        upload_id: String::new(),
        source: group.to_string(),
        line: 0,
        event: None,
        code: "undecodable".into(),
        message: format!("{}[{}]@{}: {reason}", message.topic(), message.partition(), message.offset()),
        raw: message.payload().unwrap_or_default().to_vec(),
        timestamp_ms: now_ms(),
    };
    crate::batch::dead_letter(producer, codec, &letter, group, message.topic(), metrics).await;
}
