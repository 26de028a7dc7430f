//! The `wowlogs-events-sink` group: raw events, upload statuses and dead letters.
//!
//! `wowlogs.combat-events.v1` → `combat_events`, `wowlogs.uploads.v1` → `logs`,
//! `wowlogs.dead-letter.v1` → `dead_letters`. Rows are buffered per table; when a
//! buffer is full or old enough, every buffer is inserted (retried with backoff, the
//! batch kept: the client's own inserter would drop it on failure), and only then are
//! the offsets after the batch committed. A record that cannot be decoded goes to the
//! dead-letter topic with the reason and the group moves on.

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};
use wowlogs_kafka::{KafkaSettings, record_headers};
use wowlogs_schemas::topics::{COMBAT_EVENTS, DEAD_LETTER, UPLOADS, guild_key};
use wowlogs_schemas::{Codec, CombatEvent, DeadLetter, GuildId, LogId, UploadStatus};
use wowlogs_store::StoreSettings;
use wowlogs_store::rows::{CombatEventRow, DeadLetterRow, LogRow, TableRow};

/// The group's settings.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub kafka: KafkaSettings,
    pub store: StoreSettings,
    pub group_id: String,
    /// Rows buffered before an insert.
    pub batch_rows: usize,
    /// Longest time a row waits for its insert.
    pub batch_age: Duration,
    /// Group session timeout: short in tests (killed members leave quickly), longer
    /// where the broker may be slow to answer (tansu on sqlite).
    pub session_timeout: Duration,
}

/// Why the sink stopped.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

#[derive(Default)]
struct Batch {
    events: Vec<CombatEventRow>,
    logs: Vec<LogRow>,
    letters: Vec<DeadLetterRow>,
    /// Next offset to commit, per (topic, partition).
    offsets: HashMap<(String, i32), i64>,
    started: Option<Instant>,
}

impl Batch {
    fn rows(&self) -> usize {
        self.events.len() + self.logs.len() + self.letters.len()
    }
}

/// Runs the group until `shutdown` completes; then flushes, commits and leaves.
pub async fn run(config: SinkConfig, shutdown: impl Future<Output = ()>) -> Result<(), SinkError> {
    let consumer: StreamConsumer = config
        .kafka
        .client_config()
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", config.session_timeout.as_millis().to_string())
        .create()?;
    consumer.subscribe(&[COMBAT_EVENTS.name, UPLOADS.name, DEAD_LETTER.name])?;
    let dead_letters: FutureProducer = config.kafka.producer_config().create()?;
    let codecs = (
        Codec::<CombatEvent>::new().expect("valid schema"),
        Codec::<UploadStatus>::new().expect("valid schema"),
        Codec::<DeadLetter>::new().expect("valid schema"),
    );
    let client = config.store.client();
    let mut batch = Batch::default();
    tokio::pin!(shutdown);
    loop {
        let age_left =
            batch.started.map_or(config.batch_age, |s| config.batch_age.saturating_sub(s.elapsed()));
        tokio::select! {
            () = &mut shutdown => break,
            received = tokio::time::timeout(age_left, consumer.recv()) => match received {
                Err(_) => {}
                Ok(Err(error)) => tracing::warn!(%error, "kafka receive error"),
                Ok(Ok(message)) => {
                    take(&message, &mut batch, &codecs, &dead_letters, &config.group_id).await;
                    batch.started.get_or_insert_with(Instant::now);
                }
            },
        }
        let old = batch.started.is_some_and(|s| s.elapsed() >= config.batch_age);
        if batch.rows() >= config.batch_rows || (old && !batch.offsets.is_empty()) {
            flush(&client, &consumer, &mut batch).await?;
        }
    }
    flush(&client, &consumer, &mut batch).await?;
    consumer.unsubscribe();
    Ok(())
}

/// Decodes one message into the batch (or the dead-letter topic).
async fn take(
    message: &BorrowedMessage<'_>,
    batch: &mut Batch,
    codecs: &(Codec<CombatEvent>, Codec<UploadStatus>, Codec<DeadLetter>),
    dead_letters: &FutureProducer,
    group_id: &str,
) {
    let topic = message.topic();
    let offset = message.offset();
    let payload = message.payload().unwrap_or_default();
    let outcome: Result<(), String> = if topic == COMBAT_EVENTS.name {
        codecs
            .0
            .decode(payload)
            .map(|e| batch.events.push(CombatEventRow::from_event(&e, offset as u64)))
            .map_err(|e| e.to_string())
    } else if topic == UPLOADS.name {
        codecs.1.decode(payload).map(|s| batch.logs.push(LogRow::from_status(&s))).map_err(|e| e.to_string())
    } else {
        codecs
            .2
            .decode(payload)
            .map(|l| batch.letters.push(DeadLetterRow::from_letter(&l, offset as u64)))
            .map_err(|e| e.to_string())
    };
    if let Err(reason) = outcome {
        poison(message, &reason, &codecs.2, dead_letters, group_id).await;
    }
    batch.offsets.insert((topic.to_string(), message.partition()), offset + 1);
}

/// Sends an undecodable record to the dead-letter topic, kept whole, with the
/// contract's headers like every other record.
async fn poison(
    message: &BorrowedMessage<'_>,
    reason: &str,
    codec: &Codec<DeadLetter>,
    producer: &FutureProducer,
    group_id: &str,
) {
    let guild =
        message.key().and_then(|k| std::str::from_utf8(k).ok()).and_then(|k| k.parse().ok()).unwrap_or(0);
    tracing::warn!(
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
        source: group_id.to_string(),
        line: 0,
        event: None,
        code: "undecodable".into(),
        message: format!("{}[{}]@{}: {reason}", message.topic(), message.partition(), message.offset()),
        raw: message.payload().unwrap_or_default().to_vec(),
        timestamp_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    };
    let mut buf = Vec::new();
    if let Err(error) = codec.encode(&letter, &mut buf) {
        tracing::error!(%error, "could not encode the dead letter of an undecodable record");
        return;
    }
    let key = guild_key(letter.guild_id);
    let headers = record_headers(letter.guild_id, letter.log_id, codec.fingerprint());
    let record = FutureRecord::to(DEAD_LETTER.name).key(&key).payload(&buf).headers(headers);
    if let Err((error, _)) = producer.send(record, Duration::from_secs(30)).await {
        tracing::error!(%error, "could not dead-letter an undecodable record");
    }
}

/// Inserts every buffer (retrying until it succeeds), then commits the batch's offsets.
async fn flush(
    client: &clickhouse::Client,
    consumer: &StreamConsumer,
    batch: &mut Batch,
) -> Result<(), SinkError> {
    if batch.offsets.is_empty() {
        return Ok(());
    }
    insert_with_retry(client, &batch.events).await;
    insert_with_retry(client, &batch.logs).await;
    insert_with_retry(client, &batch.letters).await;
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), next) in &batch.offsets {
        offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
    }
    // The rows are stored: a failed commit (a rebalance, a slow coordinator) only means
    // this batch may be delivered again, which the row identities absorb. The next
    // flush commits later offsets.
    if let Err(error) = consumer.commit(&offsets, CommitMode::Sync) {
        tracing::warn!(%error, "offset commit failed; the batch may be replayed");
    }
    tracing::debug!(
        events = batch.events.len(),
        logs = batch.logs.len(),
        dead_letters = batch.letters.len(),
        "batch committed"
    );
    *batch = Batch::default();
    Ok(())
}

/// Inserts rows, retrying with exponential backoff (capped at 10 s) until ClickHouse
/// takes them: the batch is kept, so nothing is lost while it is down.
async fn insert_with_retry<T>(client: &clickhouse::Client, rows: &[T])
where
    T: TableRow + clickhouse::RowOwned + clickhouse::RowWrite,
{
    if rows.is_empty() {
        return;
    }
    let mut delay = Duration::from_millis(100);
    loop {
        match insert(client, rows).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(table = T::TABLE, rows = rows.len(), %error, retry_in_ms = delay.as_millis() as u64, "insert failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn insert<T>(client: &clickhouse::Client, rows: &[T]) -> Result<(), clickhouse::error::Error>
where
    T: TableRow + clickhouse::RowOwned + clickhouse::RowWrite,
{
    let mut insert = client.insert::<T>(T::TABLE).await?;
    for row in rows {
        insert.write(row).await?;
    }
    insert.end().await
}
