//! Retention: ClickHouse 18.16 has no `TTL`, so old data is removed on command.
//!
//! For every guild at once, whole months older than the cutoff are dropped as
//! partitions (cheap: files are unlinked), then the rows before the cutoff in the
//! boundary month are deleted by a mutation. For one guild, only the mutation runs:
//! partitions hold every guild's rows of a month.

use crate::StoreSettings;
use crate::rows::Count;
use chrono::Datelike;
use std::time::Duration;

/// A table kept for a limited time, and the column that dates its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retained {
    pub table: &'static str,
    /// A `DateTime` column.
    pub column: &'static str,
    /// Whether the table is partitioned by `toYYYYMM(column)`.
    pub monthly: bool,
}

/// The tables retention applies to: the projections of the topics. Guilds, keys and
/// the audit log are kept.
pub const RETAINED: &[Retained] = &[
    Retained { table: "combat_events", column: "timestamp", monthly: true },
    Retained { table: "encounters", column: "start", monthly: true },
    Retained { table: "encounter_players", column: "start", monthly: true },
    Retained { table: "encounter_deaths", column: "start", monthly: true },
    Retained { table: "character_logs", column: "first_seen", monthly: true },
    Retained { table: "dead_letters", column: "timestamp", monthly: true },
    Retained { table: "logs", column: "updated", monthly: false },
];

/// What to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPlan {
    /// Rows dated before this instant (UTC epoch seconds) go.
    pub cutoff: u32,
    /// One guild, or all of them.
    pub guild_id: Option<i64>,
}

impl RetentionPlan {
    /// Keep `days` days before `now` (UTC epoch seconds).
    pub fn keep_days(now: u32, days: u32, guild_id: Option<i64>) -> Self {
        Self { cutoff: now.saturating_sub(days.saturating_mul(86_400)), guild_id }
    }

    /// `YYYYMM` of the cutoff: partitions before it are wholly older.
    pub fn cutoff_month(&self) -> u32 {
        let date =
            chrono::DateTime::from_timestamp(i64::from(self.cutoff), 0).unwrap_or_default().date_naive();
        (date.year() as u32) * 100 + date.month()
    }

    /// The condition of the rows to delete from `table`.
    pub fn condition(&self, table: &Retained) -> String {
        let time = format!("{} < toDateTime({}, 'UTC')", table.column, self.cutoff);
        match self.guild_id {
            Some(guild) => format!("guild_id = {guild} AND {time}"),
            None => time,
        }
    }

    /// Whether a partition (`YYYYMM`) of a monthly table can be dropped whole.
    pub fn drops_partition(&self, table: &Retained, partition: &str) -> bool {
        self.guild_id.is_none()
            && table.monthly
            && partition.parse::<u32>().is_ok_and(|month| month < self.cutoff_month())
    }
}

/// What retention did (or, for a dry run, would do) to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOutcome {
    pub table: &'static str,
    pub rows: u64,
    pub partitions_dropped: Vec<String>,
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Partition {
    partition: String,
}

/// Applies (or, with `dry_run`, only counts) a retention plan; waits for the delete
/// mutations to finish.
pub async fn apply_retention(
    settings: &StoreSettings,
    plan: &RetentionPlan,
    dry_run: bool,
) -> Result<Vec<TableOutcome>, clickhouse::error::Error> {
    let client = settings.client();
    let mut outcomes = Vec::new();
    for table in RETAINED {
        let rows = client
            .query(&format!("SELECT count() AS n FROM {} WHERE {}", table.table, plan.condition(table)))
            .fetch_one::<Count>()
            .await?
            .n;
        let partitions: Vec<String> = client
            .query("SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = ? AND active")
            .bind(&settings.database)
            .bind(table.table)
            .fetch_all::<Partition>()
            .await?
            .into_iter()
            .map(|p| p.partition)
            .filter(|p| plan.drops_partition(table, p))
            .collect();
        if !dry_run {
            for partition in &partitions {
                client
                    .query(&format!("ALTER TABLE {} DROP PARTITION {partition}", table.table))
                    .execute()
                    .await?;
            }
            if rows > 0 {
                client
                    .query(&format!("ALTER TABLE {} DELETE WHERE {}", table.table, plan.condition(table)))
                    .execute()
                    .await?;
            }
        }
        tracing::info!(table = table.table, rows, partitions = partitions.len(), dry_run, "retention");
        outcomes.push(TableOutcome { table: table.table, rows, partitions_dropped: partitions });
    }
    if !dry_run {
        wait_for_mutations(settings, Duration::from_secs(300)).await?;
    }
    Ok(outcomes)
}

/// Waits until the database has no unfinished mutation (18.16 has no `mutations_sync`).
pub(crate) async fn wait_for_mutations(
    settings: &StoreSettings,
    limit: Duration,
) -> Result<(), clickhouse::error::Error> {
    let started = std::time::Instant::now();
    loop {
        let pending = settings
            .client()
            .query("SELECT count() AS n FROM system.mutations WHERE database = ? AND is_done = 0")
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

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: Retained = RETAINED[0];
    // 2025-03-15 12:00:00 UTC
    const NOW: u32 = 1_742_040_000;

    #[test]
    fn the_cutoff_is_days_before_now() {
        let plan = RetentionPlan::keep_days(NOW, 30, None);
        assert_eq!(plan.cutoff, NOW - 30 * 86_400);
        assert_eq!(plan.cutoff_month(), 202_502, "30 days before March 15th is in February");
    }

    #[test]
    fn only_months_wholly_before_the_cutoff_are_dropped() {
        let plan = RetentionPlan::keep_days(NOW, 30, None);
        assert!(plan.drops_partition(&EVENTS, "202501"));
        assert!(!plan.drops_partition(&EVENTS, "202502"), "the boundary month is deleted row by row");
        assert!(!plan.drops_partition(&EVENTS, "202503"));
        assert!(!plan.drops_partition(&EVENTS, "tuple()"), "not a month");
    }

    #[test]
    fn one_guild_never_drops_partitions_shared_with_others() {
        let plan = RetentionPlan::keep_days(NOW, 30, Some(7));
        assert!(!plan.drops_partition(&EVENTS, "201901"));
        assert_eq!(
            plan.condition(&EVENTS),
            format!("guild_id = 7 AND timestamp < toDateTime({}, 'UTC')", plan.cutoff)
        );
    }
}
