//! What a projection hands back between two commits, and how it is written: every
//! table's rows inserted (retried with backoff until ClickHouse takes them, the batch
//! kept: the client's own inserter would drop it on failure), then the summaries
//! published. Only after both may the offsets move.

use crate::metrics::ConsumerMetrics;
use rdkafka::producer::FutureProducer;
use std::time::{Duration, Instant};
use wowlogs_kafka::{PublishError, publish};
use wowlogs_schemas::{Codec, EncounterSummary};
use wowlogs_store::rows::{
    CharacterLogRow, CombatEventRow, DeadLetterRow, EncounterDeathRow, EncounterPlayerRow, EncounterRow,
    LogRow, TableRow,
};

/// Rows and records waiting for the next flush.
#[derive(Debug, Default)]
pub struct RowBatch {
    pub events: Vec<CombatEventRow>,
    pub logs: Vec<LogRow>,
    pub dead_letters: Vec<DeadLetterRow>,
    pub encounters: Vec<EncounterRow>,
    pub players: Vec<EncounterPlayerRow>,
    pub deaths: Vec<EncounterDeathRow>,
    pub characters: Vec<CharacterLogRow>,
    pub summaries: Vec<EncounterSummary>,
}

impl RowBatch {
    /// Rows and records held.
    pub fn len(&self) -> usize {
        self.events.len()
            + self.logs.len()
            + self.dead_letters.len()
            + self.encounters.len()
            + self.players.len()
            + self.deaths.len()
            + self.characters.len()
            + self.summaries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a batch goes.
pub struct Sinks {
    pub group: String,
    pub clickhouse: clickhouse::Client,
    pub producer: FutureProducer,
    pub summaries: Codec<EncounterSummary>,
    pub metrics: ConsumerMetrics,
}

impl Sinks {
    /// Writes and empties the batch; returns only once everything is stored.
    #[tracing::instrument(name = "write_batch", skip_all, fields(group = %self.group, rows = batch.len()))]
    pub async fn write(&self, batch: &mut RowBatch) {
        self.insert(&batch.events).await;
        self.insert(&batch.logs).await;
        self.insert(&batch.dead_letters).await;
        // A fight's players and deaths before the fight: a fight readers can see is whole
        // (the query API caches a fight's detail for minutes).
        self.insert(&batch.players).await;
        self.insert(&batch.deaths).await;
        self.insert(&batch.characters).await;
        self.insert(&batch.encounters).await;
        self.publish(&batch.summaries).await;
        *batch = RowBatch::default();
    }

    /// Inserts rows, retrying with exponential backoff (capped at 10 s) until
    /// ClickHouse takes them, so nothing is lost while it is down.
    #[tracing::instrument(name = "insert", skip_all, fields(table = T::TABLE, rows = rows.len()))]
    async fn insert<T>(&self, rows: &[T])
    where
        T: TableRow + clickhouse::RowOwned + clickhouse::RowWrite,
    {
        if rows.is_empty() {
            return;
        }
        let mut delay = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            match wowlogs_store::rows::insert_rows(&self.clickhouse, rows).await {
                Ok(()) => return self.metrics.inserted(&self.group, T::TABLE, rows.len(), started.elapsed()),
                Err(error) => {
                    self.metrics.insert_failed(&self.group, T::TABLE, rows.len(), &error, delay);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Publishes fight summaries, each retried until the broker acknowledges it.
    async fn publish(&self, summaries: &[EncounterSummary]) {
        for summary in summaries {
            let mut delay = Duration::from_millis(100);
            loop {
                match publish(&self.producer, &self.summaries, summary, Duration::from_secs(30)).await {
                    Ok(()) => break,
                    Err(PublishError::Encode(error)) => {
                        tracing::error!(%error, "could not encode a fight summary");
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(group = %self.group, %error, retry_in_ms = delay.as_millis() as u64, "publishing a fight summary failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(10));
                    }
                }
            }
        }
        if !summaries.is_empty() {
            self.metrics.published(&self.group, summaries.len());
        }
    }
}
