//! Retention: a guild's logs older than its policy go, each with everything made from it.
//!
//! A log's age is counted from when it was uploaded (its `logs` row's time), never from
//! the dates of its fights: a guild importing years of history keeps it as long as its
//! policy says from the import on. A log goes whole: its events, fights, players,
//! deaths, characters' entries and gear, dead letters and `logs` row together, so nothing is left
//! that points at a log no longer there. ClickHouse 18.16 has no `TTL`: this runs on
//! command (`wowlogs retention`, scheduled daily in compose and Kubernetes), by delete
//! mutations of the guild's rows.

use crate::StoreSettings;
use crate::rows::Count;
use serde::Deserialize;
use std::time::Duration;

/// The tables holding a log's rows, each keyed by `guild_id` and `log_id`. Guilds, keys,
/// the audit log and recorded transfers are kept.
pub const LOG_TABLES: &[&str] = &[
    "combat_events",
    "character_gear",
    "encounters",
    "encounter_details",
    "encounter_players",
    "encounter_deaths",
    "character_logs",
    "dead_letters",
    "logs",
];

/// Log ids deleted per mutation (each names its logs in the statement).
const LOGS_PER_MUTATION: usize = 1000;

/// What to remove: one guild's logs uploaded before a cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPlan {
    pub guild_id: i64,
    /// Logs uploaded before this instant (UTC epoch seconds) go.
    pub cutoff: u32,
}

impl RetentionPlan {
    /// Keep the guild's logs uploaded in the `days` days before `now` (UTC epoch seconds).
    pub fn keep_days(guild_id: i64, now: u32, days: u32) -> Self {
        Self { guild_id, cutoff: now.saturating_sub(days.saturating_mul(86_400)) }
    }
}

/// What retention removed (or, for a dry run, would remove) from one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOutcome {
    pub table: &'static str,
    pub rows: u64,
}

/// What retention did for one guild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOutcome {
    pub guild_id: i64,
    /// The logs that go (or would go).
    pub logs: Vec<i64>,
    pub tables: Vec<TableOutcome>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct OldLog {
    log_id: i64,
}

/// Applies (or, with `dry_run`, only counts) a plan; waits for the delete mutations.
pub async fn apply_retention(
    settings: &StoreSettings,
    plan: &RetentionPlan,
    dry_run: bool,
) -> Result<RetentionOutcome, clickhouse::error::Error> {
    let client = settings.client();
    let logs: Vec<i64> = client
        .query("SELECT log_id FROM logs FINAL WHERE guild_id = ? AND updated < toDateTime(?, 'UTC') ORDER BY log_id")
        .bind(plan.guild_id)
        .bind(plan.cutoff)
        .fetch_all::<OldLog>()
        .await?
        .into_iter()
        .map(|l| l.log_id)
        .collect();
    let removal = Removal { guild_id: plan.guild_id, logs, reason: "retention", actor: "retention" };
    delete_logs(settings, removal, dry_run).await
}

/// Logs of one guild to delete, and why (what `deleted_logs` records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal<'a> {
    pub guild_id: i64,
    pub logs: Vec<i64>,
    /// `retention`, or what the operator who purged them said.
    pub reason: &'a str,
    /// Who: `retention`, `cli:<user>`, a key id.
    pub actor: &'a str,
}

/// Deletes (or, with `dry_run`, only counts) whole logs of a guild, each with everything
/// made from it: recorded in `deleted_logs` first (so no replay of the topics brings them
/// back), then removed from every log table; waits for the delete mutations and computes
/// the guild's roll-ups again. Retention and purges both come here.
pub async fn delete_logs(
    settings: &StoreSettings,
    removal: Removal<'_>,
    dry_run: bool,
) -> Result<RetentionOutcome, clickhouse::error::Error> {
    let client = settings.client();
    let Removal { guild_id, logs, reason, actor } = removal;
    if !dry_run && !logs.is_empty() {
        // Recorded first: a replay of the topics must never bring these logs back.
        crate::deletions::record_deleted(&client, guild_id, &logs, reason, actor).await?;
    }
    let mut tables = Vec::with_capacity(LOG_TABLES.len());
    for &table in LOG_TABLES {
        let mut rows = 0;
        for chunk in logs.chunks(LOGS_PER_MUTATION) {
            rows += client
                .query(&format!("SELECT count() AS n FROM {table} WHERE guild_id = ? AND has(?, log_id)"))
                .bind(guild_id)
                .bind(chunk)
                .fetch_one::<Count>()
                .await?
                .n;
            if !dry_run {
                client
                    .query(&format!(
                        "ALTER TABLE {} DELETE WHERE guild_id = ? AND has(?, log_id)",
                        settings.alter_target(table)
                    ))
                    .bind(guild_id)
                    .bind(chunk)
                    .execute()
                    .await?;
            }
        }
        tracing::info!(guild_id, table, rows, logs = logs.len(), dry_run, reason, "logs deleted");
        tables.push(TableOutcome { table, rows });
    }
    if !dry_run && !logs.is_empty() {
        wait_for_mutations(settings, Duration::from_secs(300)).await?;
        crate::rollups::refresh_guilds(settings, &[guild_id]).await?;
    }
    Ok(RetentionOutcome { guild_id, logs, tables })
}

/// Waits until the database has no unfinished mutation (18.16 has no `mutations_sync`),
/// on every shard of a cluster.
pub async fn wait_for_mutations(
    settings: &StoreSettings,
    limit: Duration,
) -> Result<(), clickhouse::error::Error> {
    let started = std::time::Instant::now();
    loop {
        // On a cluster, every shard's own (replicated) mutations.
        let mutations = match &settings.cluster {
            Some(cluster) => format!("cluster('{cluster}', system, mutations)"),
            None => "system.mutations".to_string(),
        };
        let pending = settings
            .client()
            .query(&format!("SELECT count() AS n FROM {mutations} WHERE database = ? AND is_done = 0"))
            .bind(&settings.database)
            .fetch_one::<Count>()
            .await?
            .n;
        if pending == 0 || started.elapsed() > limit {
            if pending > 0 {
                tracing::warn!(pending, "delete mutations still running; they finish in the background");
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
