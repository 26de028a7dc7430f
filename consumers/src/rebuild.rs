//! Replay: rebuild a group's projections from the topics into fresh tables, then swap
//! them in.
//!
//! 1. The group must have no running member (its consumers are stopped first).
//! 2. A fresh database `<database>_rebuild` is created and migrated.
//! 3. The group's committed offsets go back to the beginning of its topics.
//! 4. The group's projection runs, as the group, into the fresh tables until it has
//!    read every partition to its end and nothing new arrives.
//! 5. Each of the group's tables is swapped with its fresh twin by `RENAME TABLE` (on a
//!    cluster: the shard-local tables, `ON CLUSTER`); the previous tables stay in
//!    `<database>_rebuild` as `previous_<table>` until the next rebuild, for comparison
//!    or rollback.
//!
//! The group's offsets are then where the rebuild stopped (the encounter consumer's
//! pins included), so its consumers, started again, continue incrementally.

use crate::encounters::EncounterProjector;
use crate::events_sink::EventsSink;
use crate::group::{GroupConfig, GroupError, Projection, run_group};
use crate::metrics::ConsumerMetrics;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;
use wowlogs_store::rows::Count;
use wowlogs_store::{StoreSettings, migrate};

/// Which projections to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rebuilt {
    EventsSink,
    Encounters,
}

impl Rebuilt {
    /// The tables the group writes, which the rebuild swaps.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Rebuilt::EventsSink => &["combat_events", "character_gear", "logs", "dead_letters"],
            Rebuilt::Encounters => &[
                "encounters",
                "encounter_details",
                "encounter_players",
                "encounter_deaths",
                "character_logs",
                "guild_days",
                "guild_day_players",
                "guild_day_bosses",
            ],
        }
    }
}

/// Why a rebuild stopped.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("consumer group {group} still has {members} running member(s); stop its consumers first")]
    GroupActive { group: String, members: usize },
    #[error(transparent)]
    Group(#[from] GroupError),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error("migrating the fresh tables: {0}")]
    Migration(#[from] wowlogs_store::MigrationError),
}

/// The rows of each swapped-in table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    pub fresh_database: String,
    pub tables: Vec<(&'static str, u64)>,
}

/// Rebuilds `which` for `config.group_id`; `config.store` is the live database.
pub async fn rebuild(
    config: &GroupConfig,
    which: Rebuilt,
    metrics: ConsumerMetrics,
) -> Result<RebuildReport, RebuildError> {
    match which {
        Rebuilt::EventsSink => rebuild_with(config, which, EventsSink::new(), metrics).await,
        Rebuilt::Encounters => {
            let projector = EncounterProjector::with_idle(config.log_idle)
                .live_idle(config.live_log_idle)
                .open_logs_per_guild(config.max_open_logs_per_guild);
            rebuild_with(config, which, projector, metrics).await
        }
    }
}

async fn rebuild_with<P: Projection>(
    config: &GroupConfig,
    which: Rebuilt,
    projection: P,
    metrics: ConsumerMetrics,
) -> Result<RebuildReport, RebuildError> {
    let topics = projection.topics();
    let kafka = config.kafka.clone();
    let group = config.group_id.clone();
    tokio::task::spawn_blocking(move || rewind(&kafka, &group, &topics))
        .await
        .map_err(|e| GroupError::Setup(e.to_string()))??;

    let fresh =
        StoreSettings { database: format!("{}_rebuild", config.store.database), ..config.store.clone() };
    fresh
        .server_client()
        .query(&format!("DROP DATABASE IF EXISTS {}{}", fresh.database, fresh.on_cluster()))
        .execute()
        .await?;
    migrate(&fresh).await?;
    tracing::info!(group = config.group_id, database = fresh.database, "rebuilding into fresh tables");

    let replay = GroupConfig {
        store: fresh.clone(),
        stop_when_idle: Some(config.stop_when_idle.unwrap_or(Duration::from_secs(3))),
        ..config.clone()
    };
    run_group(&replay, projection, metrics, std::future::pending::<()>()).await?;

    let live = &config.store.database;
    let mut tables = Vec::new();
    for table in which.tables() {
        // Two renames in one statement: the live name is never missing for long. On a
        // cluster the shard-local tables are swapped on every server; the live
        // Distributed table reads whichever local table has its name.
        let local = if config.store.cluster.is_some() { wowlogs_store::cluster::LOCAL_SUFFIX } else { "" };
        let swap = format!(
            "RENAME TABLE {live}.{table}{local} TO {fresh}.previous_{table}{local}, \
             {fresh}.{table}{local} TO {live}.{table}{local}{on_cluster}",
            fresh = fresh.database,
            on_cluster = config.store.on_cluster(),
        );
        config.store.server_client().query(&swap).execute().await?;
        let rows = config
            .store
            .client()
            .query(&format!("SELECT count() AS n FROM {table} FINAL"))
            .fetch_one::<Count>()
            .await?
            .n;
        tables.push((*table, rows));
    }
    // Migrating the fresh database made its own analytics relations too; after the swap they
    // would read the previous tables, so they go (the live ones read the new tables).
    let leftover = wowlogs_store::analytics::analytics_database(&fresh);
    fresh
        .server_client()
        .query(&format!("DROP DATABASE IF EXISTS {leftover}{}", fresh.on_cluster()))
        .execute()
        .await?;
    Ok(RebuildReport { fresh_database: fresh.database, tables })
}

/// Commits the beginning of every partition of `topics` for `group`, after checking
/// that no member is running.
fn rewind(kafka: &wowlogs_kafka::KafkaSettings, group: &str, topics: &[&str]) -> Result<(), RebuildError> {
    let consumer: BaseConsumer =
        kafka.client_config().set("group.id", group).set("enable.auto.commit", "false").create()?;
    let timeout = Duration::from_secs(30);
    let groups = consumer.fetch_group_list(Some(group), timeout)?;
    if let Some(found) = groups.groups().iter().find(|g| g.name() == group)
        && !found.members().is_empty()
    {
        return Err(RebuildError::GroupActive { group: group.to_string(), members: found.members().len() });
    }
    let mut beginning = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (low, _) = consumer.fetch_watermarks(topic, partition.id(), timeout)?;
            beginning.add_partition_offset(topic, partition.id(), Offset::Offset(low))?;
        }
    }
    consumer.commit(&beginning, CommitMode::Sync)?;
    tracing::info!(group, partitions = beginning.count(), "offsets reset to the beginning");
    Ok(())
}
