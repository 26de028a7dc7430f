//! Purging a guild: an instance administrator deletes everything the guild owns, for good
//! (a guild leaving the instance, a privacy request).
//!
//! The purge is recorded first, in `purged_guilds` (migration 0017, [`crate::deletions`]):
//! from then on the consumers drop every record of the guild whatever replays the topics
//! (a rebuild, a restore, a new consumer group), a backup leaves the guild out, a restore
//! neither publishes its records nor writes its rows, and no new guild gets its id. Then
//! every table holding the guild's rows loses them ([`GUILD_TABLES`]), by delete mutations
//! the purge waits for. Kept: the audit trail (the record of who did what, the purge
//! included) and the purge's own row.
//!
//! The guild's analysts' relations (`<database>_guild_<G>`) hold no rows of their own:
//! they read the tables above and show nothing once the rows are gone; taking the
//! database and its ClickHouse user away is `wowlogs grafana revoke` (which may need the
//! server's `users.d`), which `wowlogs guild purge` and the purge's HTTP answer name when
//! the guild has one.

use crate::StoreSettings;
use crate::retention::{LOG_TABLES, TableOutcome, wait_for_mutations};
use crate::rows::Count;
use std::time::Duration;

/// Every table holding rows of a guild beyond its logs' ([`LOG_TABLES`]), each read by
/// `guild_id` but the recorded transfers, which name the guild on either side. Kept:
/// `audit_log`, `purged_guilds` (a test holds every table with a `guild_id` to one list
/// or the other).
pub const GUILD_TABLES: &[&str] = &[
    // The keys first: nothing the guild still holds a key for can arrive meanwhile.
    "api_keys",
    "api_key_usage",
    "guild_days",
    "guild_day_players",
    "guild_day_bosses",
    "guild_roster",
    "progress_targets",
    "progress_messages",
    "progress_settings",
    "deleted_logs",
    "encounter_transfers",
    "guilds",
];

/// Tables with a `guild_id` that a purge keeps, and why.
pub const KEPT_TABLES: &[(&str, &str)] = &[
    ("audit_log", "the record of who did what to the guild, its purge included"),
    ("purged_guilds", "the purge itself: what keeps the guild deleted"),
];

/// What a purge removed (or, for a dry run, would remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeOutcome {
    pub guild_id: i64,
    /// Rows per table, every table listed (0 where the guild had none).
    pub tables: Vec<TableOutcome>,
}

impl PurgeOutcome {
    /// Rows in all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// The rows of `guild_id` in `table` (guild ids are integers, written into the text).
fn predicate(table: &str, guild_id: i64) -> String {
    match table {
        "encounter_transfers" => format!("guild_id = {guild_id} OR target_guild = {guild_id}"),
        _ => format!("guild_id = {guild_id}"),
    }
}

/// Every table a purge empties of the guild's rows, in order.
pub fn purged_tables() -> impl Iterator<Item = &'static str> {
    GUILD_TABLES[..1].iter().chain(LOG_TABLES).chain(&GUILD_TABLES[1..]).copied()
}

/// Purges (or, with `dry_run`, only counts) every row of `guild_id`: recorded in
/// `purged_guilds` first, then deleted from every table; waits for the mutations.
pub async fn purge_guild(
    settings: &StoreSettings,
    guild_id: i64,
    reason: &str,
    actor: &str,
    dry_run: bool,
) -> Result<PurgeOutcome, clickhouse::error::Error> {
    let client = settings.client();
    if !dry_run {
        // Recorded first: no replay of the topics may bring any of it back.
        crate::deletions::record_purged(&client, guild_id, reason, actor).await?;
    }
    let mut tables = Vec::new();
    for table in purged_tables() {
        let rows = client
            .query(&format!("SELECT count() AS n FROM {table} WHERE {}", predicate(table, guild_id)))
            .fetch_one::<Count>()
            .await?
            .n;
        if !dry_run && rows > 0 {
            client
                .query(&format!(
                    "ALTER TABLE {} DELETE WHERE {}",
                    settings.alter_target(table),
                    predicate(table, guild_id)
                ))
                .execute()
                .await?;
        }
        tables.push(TableOutcome { table, rows });
    }
    if !dry_run {
        wait_for_mutations(settings, Duration::from_secs(300)).await?;
    }
    let outcome = PurgeOutcome { guild_id, tables };
    tracing::info!(guild_id, rows = outcome.rows(), dry_run, reason, actor, "guild purged");
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_go_first_and_every_log_table_and_guild_table_once() {
        let tables: Vec<&str> = purged_tables().collect();
        assert_eq!(tables[0], "api_keys");
        assert_eq!(tables.len(), LOG_TABLES.len() + GUILD_TABLES.len());
        let mut unique = tables.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), tables.len(), "{tables:?}");
        assert_eq!(tables.last(), Some(&"guilds"), "the guild's row goes last");
    }

    #[test]
    fn transfers_are_the_guilds_on_either_side() {
        assert_eq!(predicate("encounter_transfers", 7), "guild_id = 7 OR target_guild = 7");
        assert_eq!(predicate("combat_events", 7), "guild_id = 7");
    }
}
