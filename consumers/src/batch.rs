//! What a projection hands back between two commits, and how it is written: every
//! table's rows inserted, then the summaries published. Only after both may the offsets
//! move.
//!
//! Errors have classes ([`wowlogs_store::classify`]). A retryable one (ClickHouse down,
//! overloaded, a timeout) is retried with jittered exponential backoff, the batch kept
//! (readiness goes 503 meanwhile). A permanent one (rows the server refuses) never
//! blocks the group: the batch is split in halves until the refused rows are alone,
//! those go to the dead-letter topic with the reason, and the rest is written. A fight
//! summary the broker refuses as too large goes there too, keyed by its guild.

use crate::metrics::ConsumerMetrics;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;
use serde::Serialize;
use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};
use wowlogs_kafka::{PublishError, publish};
use wowlogs_schemas::{Codec, DeadLetter, EncounterSummary, GuildId, LogId, now_ms};
use wowlogs_store::ErrorClass;
use wowlogs_store::rows::{CombatEventRow, DeadLetterRow, FightRows, GearRow, LogRow, TableRow};

/// Rows and records waiting for the next flush.
#[derive(Debug, Default)]
pub struct RowBatch {
    pub events: Vec<CombatEventRow>,
    /// Each `COMBATANT_INFO`'s equipped slots (`character_gear`).
    pub gear: Vec<GearRow>,
    pub logs: Vec<LogRow>,
    pub dead_letters: Vec<DeadLetterRow>,
    /// Fights' rows (`encounters`, their details, players and deaths, `character_logs`).
    pub fights: FightRows,
    pub summaries: Vec<EncounterSummary>,
    /// Bytes of the records the rows came from: what bounds a batch's memory.
    pub bytes: usize,
}

impl RowBatch {
    /// Rows and records held.
    pub fn len(&self) -> usize {
        self.events.len()
            + self.gear.len()
            + self.logs.len()
            + self.dead_letters.len()
            + self.fights.len()
            + self.summaries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `(guild, log)` of every row and summary held.
    pub fn logs_held(&self) -> HashSet<(i64, i64)> {
        let mut held = HashSet::new();
        held.extend(self.events.iter().map(|r| (r.guild_id, r.log_id)));
        held.extend(self.gear.iter().map(|r| (r.guild_id, r.log_id)));
        held.extend(self.logs.iter().map(|r| (r.guild_id, r.log_id)));
        held.extend(self.dead_letters.iter().map(|r| (r.guild_id, r.log_id)));
        held.extend(self.fights.logs());
        held.extend(self.summaries.iter().map(|s| (s.guild_id.0, s.log_id.0)));
        held
    }

    /// Drops every row and summary of these `(guild, log)` pairs; how many went.
    pub fn drop_logs(&mut self, gone: &HashSet<(i64, i64)>) -> usize {
        let before = self.len();
        let kept = |pair: (i64, i64)| !gone.contains(&pair);
        self.events.retain(|r| kept((r.guild_id, r.log_id)));
        self.gear.retain(|r| kept((r.guild_id, r.log_id)));
        self.logs.retain(|r| kept((r.guild_id, r.log_id)));
        self.dead_letters.retain(|r| kept((r.guild_id, r.log_id)));
        self.fights.retain_logs(kept);
        self.summaries.retain(|s| kept((s.guild_id.0, s.log_id.0)));
        before - self.len()
    }
}

/// Where a batch goes.
pub struct Sinks {
    pub group: String,
    pub clickhouse: clickhouse::Client,
    /// The registry's database (deleted logs): the live one, also during a rebuild.
    pub registry: clickhouse::Client,
    pub producer: FutureProducer,
    pub summaries: Codec<EncounterSummary>,
    pub letters: Codec<DeadLetter>,
    pub metrics: ConsumerMetrics,
    /// See [`crate::config::GroupConfig::insert_timeout`].
    pub insert_timeout: Duration,
}

/// Longest wait between two tries of a retryable failure.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The next wait: doubled, capped, with up to a quarter of jitter so that many consumers
/// do not retry in step.
fn backoff(delay: Duration) -> Duration {
    let jitter = 1.0 + f64::from(rand_fraction()) * 0.25;
    (delay * 2).mul_f64(jitter).min(MAX_BACKOFF)
}

/// Runs `attempt` until it succeeds or fails with an error `permanent` accepts (then
/// that error is returned), waiting a jittered, doubling delay between tries;
/// `retrying` hears of each retry before its wait.
async fn retry<T, E, Fut>(
    mut attempt: impl FnMut() -> Fut,
    permanent: impl Fn(&E) -> bool,
    mut retrying: impl FnMut(&E, Duration),
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut delay = Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if permanent(&error) => return Err(error),
            Err(error) => {
                retrying(&error, delay);
                tokio::time::sleep(delay).await;
                delay = backoff(delay);
            }
        }
    }
}

/// A cheap fraction in [0, 1) from the clock's nanoseconds (no generator to share).
fn rand_fraction() -> f32 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    (nanos % 1000) as f32 / 1000.0
}

impl Sinks {
    /// Writes and empties the batch; returns only once everything is stored or dead-lettered.
    #[tracing::instrument(name = "write_batch", skip_all, fields(group = %self.group, rows = batch.len()))]
    pub async fn write(&self, batch: &mut RowBatch) {
        self.drop_deleted(batch).await;
        self.insert(&batch.events).await;
        self.insert(&batch.gear).await;
        self.insert(&batch.logs).await;
        self.insert(&batch.dead_letters).await;
        // In `FightRows::TABLES`' order: a fight readers can see is whole.
        let fights = &batch.fights;
        self.insert(&fights.details).await;
        self.insert(&fights.players).await;
        self.insert(&fights.deaths).await;
        self.insert(&fights.characters).await;
        self.insert(&fights.encounters).await;
        self.refresh_rollups(batch).await;
        self.publish(&batch.summaries).await;
        *batch = RowBatch::default();
    }

    /// Drops the rows of logs that were deleted (`wowlogs_store::deletions`): a replay of
    /// the topics (a rebuild, a restore, a new group) never brings a deleted log back.
    /// Asked of ClickHouse per batch, retried like an insert.
    async fn drop_deleted(&self, batch: &mut RowBatch) {
        let held = batch.logs_held();
        let attempt = || wowlogs_store::deletions::deleted_among(&self.registry, &held);
        let permanent =
            |error: &clickhouse::error::Error| wowlogs_store::classify(error) == ErrorClass::Permanent;
        let retrying = |error: &clickhouse::error::Error, delay| {
            self.metrics.insert_failed(&self.group, "deleted_logs", 0, error, delay);
        };
        match retry(attempt, permanent, retrying).await {
            Ok(gone) if gone.is_empty() => {}
            Ok(gone) => {
                let dropped = batch.drop_logs(&gone);
                tracing::info!(group = %self.group, logs = gone.len(), rows = dropped, "rows of deleted logs dropped");
            }
            Err(error) => {
                // A refusal of this one fixed statement is a bug, never the rows' fault:
                // write them (a deletion run again removes them) rather than stop.
                tracing::error!(group = %self.group, %error, "could not read the deleted logs; writing the batch as it is");
            }
        }
    }

    /// Computes again the roll-ups of the guild-days whose fights the batch wrote
    /// (`wowlogs_store::rollups`), retrying what can be retried; a permanent failure
    /// leaves those days as they were until their next refresh, and is counted.
    async fn refresh_rollups(&self, batch: &RowBatch) {
        for (guild_id, days) in batch.fights.touched_days() {
            let attempt = || wowlogs_store::rollups::refresh(&self.clickhouse, guild_id, &days);
            let permanent =
                |error: &clickhouse::error::Error| wowlogs_store::classify(error) == ErrorClass::Permanent;
            let retrying = |error: &clickhouse::error::Error, delay| {
                self.metrics.insert_failed(&self.group, "rollups", 1, error, delay);
            };
            if let Err(error) = retry(attempt, permanent, retrying).await {
                self.metrics.rollups_refused(&self.group, guild_id, &error);
            }
        }
    }

    /// Inserts rows: retryable failures are retried; rows refused for what they are are
    /// isolated by halving the batch and dead-lettered one by one.
    #[tracing::instrument(name = "insert", skip_all, fields(table = T::TABLE, rows = rows.len()))]
    async fn insert<T>(&self, rows: &[T])
    where
        T: TableRow + clickhouse::RowOwned + clickhouse::RowWrite + Serialize,
    {
        let mut pending = vec![rows];
        while let Some(part) = pending.pop() {
            if part.is_empty() {
                continue;
            }
            match self.insert_retrying(part).await {
                Ok(()) => {}
                Err(error) if part.len() == 1 => self.refused(&part[0], T::TABLE, &error).await,
                Err(_) => {
                    let (left, right) = part.split_at(part.len() / 2);
                    pending.push(right);
                    pending.push(left);
                }
            }
        }
    }

    /// One INSERT, retried until it succeeds or fails for good (a permanent error).
    async fn insert_retrying<T>(&self, rows: &[T]) -> Result<(), clickhouse::error::Error>
    where
        T: TableRow + clickhouse::RowOwned + clickhouse::RowWrite,
    {
        let attempt = || async {
            let started = Instant::now();
            wowlogs_store::rows::insert_rows_within(&self.clickhouse, rows, Some(self.insert_timeout))
                .await
                .map(|()| started.elapsed())
        };
        let permanent =
            |error: &clickhouse::error::Error| wowlogs_store::classify(error) == ErrorClass::Permanent;
        let retrying = |error: &clickhouse::error::Error, delay| {
            self.metrics.insert_failed(&self.group, T::TABLE, rows.len(), error, delay);
        };
        match retry(attempt, permanent, retrying).await {
            Ok(took) => {
                self.metrics.inserted(&self.group, T::TABLE, rows.len(), took);
                Ok(())
            }
            Err(error) => {
                self.metrics.insert_refused(&self.group, T::TABLE, rows.len(), &error);
                Err(error)
            }
        }
    }

    /// A row ClickHouse refuses, to the dead-letter topic (as JSON, with the reason).
    async fn refused<T: Serialize>(&self, row: &T, table: &str, error: &clickhouse::error::Error) {
        let raw = serde_json::to_vec(row).unwrap_or_default();
        let owner = serde_json::from_slice::<Owner>(&raw).unwrap_or_default();
        let letter = DeadLetter {
            guild_id: GuildId(owner.guild_id),
            log_id: LogId(owner.log_id),
            upload_id: String::new(),
            source: self.group.clone(),
            line: owner.line.or(owner.start_line).unwrap_or(0),
            event: None,
            code: "row_refused".into(),
            // The server's message can quote the data: a few KiB say why.
            message: format!("{table}: {error}").chars().take(4096).collect(),
            raw,
            timestamp_ms: now_ms(),
        };
        self.dead_letter(&letter, table).await;
    }

    /// Publishes a dead letter (see [`dead_letter`]).
    pub async fn dead_letter(&self, letter: &DeadLetter, source: &str) {
        dead_letter(&self.producer, &self.letters, letter, &self.group, source, &self.metrics).await;
    }

    /// Publishes fight summaries: retried while the broker is unavailable; one the
    /// broker refuses as too large is dead-lettered.
    async fn publish(&self, summaries: &[EncounterSummary]) {
        for summary in summaries {
            let attempt = || publish(&self.producer, &self.summaries, summary, Duration::from_secs(30));
            let permanent = never_sendable;
            let retrying = |error: &PublishError, delay: Duration| {
                tracing::warn!(group = %self.group, %error, retry_in_ms = delay.as_millis() as u64, "publishing a fight summary failed; retrying");
            };
            match retry(attempt, permanent, retrying).await {
                Ok(()) => {}
                Err(PublishError::Encode(error)) => {
                    tracing::error!(%error, "could not encode a fight summary")
                }
                Err(PublishError::Kafka(error)) => self.oversized(summary, &error).await,
            }
        }
        if !summaries.is_empty() {
            self.metrics.published(&self.group, summaries.len());
        }
    }

    /// A summary the broker will never take, to the dead-letter topic with its identity.
    async fn oversized(&self, summary: &EncounterSummary, error: &KafkaError) {
        let mut raw = Vec::new();
        let _ = self.summaries.encode(summary, &mut raw);
        let letter = DeadLetter {
            guild_id: summary.guild_id,
            log_id: summary.log_id,
            upload_id: String::new(),
            source: self.group.clone(),
            line: summary.fight.start_line,
            event: None,
            code: "summary_too_large".into(),
            message: format!("{} bytes: {error}", raw.len()),
            // The identity is enough: the fight's rows are in ClickHouse.
            raw: Vec::new(),
            timestamp_ms: now_ms(),
        };
        self.dead_letter(&letter, wowlogs_schemas::topics::ENCOUNTERS.name).await;
    }
}

/// A dead letter's `raw` is cut to this many bytes when the whole letter is too large
/// for the broker (the record it carries came from a topic, so it fits there; its
/// wrapper, or a refused row's JSON, may not).
pub const MAX_DEAD_LETTER_RAW: usize = 64 << 10;

/// Publishes a dead letter, retried while the broker is unavailable: a poison record is
/// never dropped for a passing failure, and nothing after it is committed before it is
/// published. One the broker refuses for its size is sent again with its raw bytes cut
/// to [`MAX_DEAD_LETTER_RAW`]; one that still cannot be sent is reported (the error log
/// with its identity, `wowlogs_consumer_dead_letters_unsendable_total`) and given up on,
/// so that it cannot hold its group for ever. `source` is the topic or table it came
/// from (the metrics' label).
pub async fn dead_letter(
    producer: &FutureProducer,
    codec: &Codec<DeadLetter>,
    letter: &DeadLetter,
    group: &str,
    source: &str,
    metrics: &ConsumerMetrics,
) {
    let send = |letter: &DeadLetter| {
        let letter = letter.clone();
        async move {
            let attempt = || publish(producer, codec, &letter, Duration::from_secs(30));
            let retrying = |error: &PublishError, delay: Duration| {
                tracing::warn!(group, %error, retry_in_ms = delay.as_millis() as u64, "publishing a dead letter failed; retrying");
            };
            retry(attempt, never_sendable, retrying).await
        }
    };
    let mut outcome = send(letter).await;
    if outcome.is_err() && letter.raw.len() > MAX_DEAD_LETTER_RAW {
        let cut = DeadLetter {
            raw: letter.raw[..MAX_DEAD_LETTER_RAW].to_vec(),
            message: format!(
                "{} (raw cut to {MAX_DEAD_LETTER_RAW} of {} bytes)",
                letter.message,
                letter.raw.len()
            ),
            ..letter.clone()
        };
        outcome = send(&cut).await;
    }
    match outcome {
        Ok(()) => metrics.dead_lettered(group, source),
        Err(error) => {
            tracing::error!(
                group,
                source,
                guild_id = letter.guild_id.0,
                log_id = letter.log_id.0,
                line = letter.line,
                code = letter.code,
                message = letter.message,
                %error,
                "a dead letter the broker will never take: reported here and given up on"
            );
            metrics.dead_letter_unsendable(group, source);
        }
    }
}

/// An error no retry of the same letter will change: its encoding, or its size.
fn never_sendable(error: &PublishError) -> bool {
    match error {
        PublishError::Encode(_) => true,
        PublishError::Kafka(error) => is_too_large(error),
    }
}

/// Whether the broker (or the client's own `message.max.bytes`) refuses a message for
/// its size: no retry will change that.
fn is_too_large(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::InvalidMessageSize)
    )
}

/// The identity fields every row type has, read back from its JSON.
#[derive(Debug, Default, serde::Deserialize)]
struct Owner {
    #[serde(default)]
    guild_id: i64,
    #[serde(default)]
    log_id: i64,
    line: Option<i64>,
    start_line: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_a_cap() {
        let next = backoff(Duration::from_millis(100));
        assert!(next >= Duration::from_millis(200) && next <= Duration::from_millis(250), "{next:?}");
        assert_eq!(backoff(Duration::from_secs(9)), MAX_BACKOFF);
    }

    #[test]
    fn a_row_tells_its_guild_log_and_line() {
        let raw = br#"{"guild_id":7,"log_id":9,"start_line":42,"name":"x"}"#;
        let owner: Owner = serde_json::from_slice(raw).unwrap();
        assert_eq!((owner.guild_id, owner.log_id, owner.start_line), (7, 9, Some(42)));
    }
}
