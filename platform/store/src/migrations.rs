//! Numbered schema migrations, applied once each, safely repeatable.

use crate::StoreSettings;
pub use wowlogs_schemas::migrations::{Down, MIGRATIONS, Migration};

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("migration {version} ({name}) failed: {source}")]
    Statement { version: u32, name: &'static str, source: clickhouse::error::Error },
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterDdlError),
    #[error("migration {version:04}_{name} cannot be undone: {why}; nothing was changed")]
    Irreversible { version: u32, name: &'static str, why: &'static str },
    #[error("there is no migration {0}: the latest is {latest}", latest = MIGRATIONS.len())]
    NoSuchVersion(u32),
}

impl MigrationError {
    /// Whether the connection to ClickHouse failed (refused, reset, closed before the
    /// answer) rather than ClickHouse refusing a statement: migrating again is then
    /// safe, since every statement is idempotent.
    pub fn is_connection(&self) -> bool {
        match self {
            MigrationError::Statement { source, .. } | MigrationError::ClickHouse(source) => {
                matches!(source, clickhouse::error::Error::Network(_))
            }
            MigrationError::Cluster(_)
            | MigrationError::Irreversible { .. }
            | MigrationError::NoSuchVersion(_) => false,
        }
    }
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Applied {
    version: u32,
}

/// The table recording which migrations ran.
const SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
     (version UInt32, name String, applied_ms Int64) ENGINE = ReplacingMergeTree(applied_ms) ORDER BY version";

/// Creates the database if needed and applies the migrations it lacks, in order;
/// returns the versions applied. Every statement is idempotent, so concurrent or
/// repeated runs are safe. In cluster mode ([`StoreSettings::cluster`]) every statement
/// runs in its cluster form ([`crate::cluster`]) on every server.
pub async fn migrate(settings: &StoreSettings) -> Result<Vec<u32>, MigrationError> {
    Ok(migrate_to(settings, latest()).await?.applied)
}

/// The latest migration's version.
pub fn latest() -> u32 {
    MIGRATIONS.len() as u32
}

/// What [`migrate_to`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Applied, in order.
    pub applied: Vec<u32>,
    /// Undone, latest first.
    pub undone: Vec<u32>,
}

/// Brings the database to migration `target`: undoes the applied migrations after it,
/// latest first ([`Migration::down_statements`]; refused before any change when one of
/// them cannot be undone), or applies the missing ones up to it. The analysts'
/// relations are made for the latest schema only: a database below it has none
/// refreshed (the older binary's `wowlogs migrate` makes its own).
pub async fn migrate_to(settings: &StoreSettings, target: u32) -> Result<Migrated, MigrationError> {
    if target == 0 || target > latest() {
        return Err(MigrationError::NoSuchVersion(target));
    }
    settings
        .server_client()
        .query(&format!("CREATE DATABASE IF NOT EXISTS {}{}", settings.database, settings.on_cluster()))
        .execute()
        .await?;
    let client = settings.client();
    let run = Runner { settings, stamp_ms: wowlogs_schemas::now_ms() };
    crate::execute_all(&client, run.forms(SCHEMA_MIGRATIONS)?).await?;
    let applied: Vec<u32> = client
        .query("SELECT DISTINCT version FROM schema_migrations")
        .fetch_all::<Applied>()
        .await?
        .into_iter()
        .map(|a| a.version)
        .collect();
    let undone = undo_after(settings, &run, &applied, target).await?;
    let mut done = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| m.version <= target && !applied.contains(&m.version)) {
        for statement in migration.statements() {
            for form in run.forms(&statement)? {
                match client.query(&form).execute().await {
                    Ok(()) => {}
                    // A run that stopped between the statements of a migration added this
                    // column already (18.16 has no `ADD COLUMN IF NOT EXISTS`).
                    Err(error) if is_column_added_before(&form, &error) => {}
                    Err(source) => {
                        return Err(MigrationError::Statement {
                            version: migration.version,
                            name: migration.name,
                            source,
                        });
                    }
                }
            }
        }
        let now_ms = wowlogs_schemas::now_ms();
        client
            .query("INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(now_ms)
            .execute()
            .await?;
        tracing::info!(version = migration.version, name = migration.name, "migration applied");
        done.push(migration.version);
    }
    // The analysts' relations follow the tables' current columns: made again whenever a
    // migration changed the tables. (`wowlogs migrate`, the schema owner's command, also
    // makes them again when nothing was applied; services that check the schema at start
    // run as users that may not write other databases, and leave them alone.)
    if !done.is_empty() && target == latest() {
        refresh_analytics(settings).await?;
    }
    Ok(Migrated { applied: done, undone })
}

/// Undoes the applied migrations after `target`, latest first: every one must have a
/// down step, checked before anything changes. Each one's record in
/// `schema_migrations` goes once its statements ran.
async fn undo_after(
    settings: &StoreSettings,
    run: &Runner<'_>,
    applied: &[u32],
    target: u32,
) -> Result<Vec<u32>, MigrationError> {
    let undo: Vec<&Migration> =
        MIGRATIONS.iter().rev().filter(|m| m.version > target && applied.contains(&m.version)).collect();
    let mut steps = Vec::with_capacity(undo.len());
    for migration in &undo {
        let statements = migration.down_statements().map_err(|why| MigrationError::Irreversible {
            version: migration.version,
            name: migration.name,
            why,
        })?;
        steps.push((migration, statements));
    }
    let client = settings.client();
    let mut undone = Vec::new();
    for (migration, statements) in steps {
        for statement in statements {
            for form in run.forms(&statement)? {
                client.query(&form).execute().await.map_err(|source| MigrationError::Statement {
                    version: migration.version,
                    name: migration.name,
                    source,
                })?;
            }
        }
        client
            .query(&format!(
                "ALTER TABLE {} DELETE WHERE version = {}",
                settings.alter_target("schema_migrations"),
                migration.version
            ))
            .execute()
            .await?;
        crate::retention::wait_for_mutations(settings, std::time::Duration::from_secs(300)).await?;
        tracing::info!(version = migration.version, name = migration.name, "migration undone");
        undone.push(migration.version);
    }
    Ok(undone)
}

/// Creates the analysts' relations again, the operators' and every granted guild's
/// (`crate::analytics`), with the tables' current columns; and computes again the day
/// roll-ups of any guild whose days are in another time zone than its own
/// (`crate::rollups::refresh_stale_zones`: after the upgrade that made days the guild's).
pub async fn refresh_analytics(settings: &StoreSettings) -> Result<(), MigrationError> {
    crate::analytics::install_analytics(settings).await?;
    crate::analytics::refresh_guild_databases(settings).await?;
    let refreshed = crate::rollups::refresh_stale_zones(settings).await?;
    if !refreshed.is_empty() {
        tracing::info!(guilds = ?refreshed, "day roll-ups computed again in each guild's time zone");
    }
    Ok(())
}

/// Every statement `migrate` would run on an empty database, in order (for `wowlogs
/// migrate --print`: what an operator reviews before touching a cluster).
pub fn planned_statements(settings: &StoreSettings, stamp_ms: i64) -> Result<Vec<String>, MigrationError> {
    let run = Runner { settings, stamp_ms };
    let mut statements =
        vec![format!("CREATE DATABASE IF NOT EXISTS {}{}", settings.database, settings.on_cluster())];
    statements.extend(run.forms(SCHEMA_MIGRATIONS)?);
    for migration in MIGRATIONS {
        for statement in migration.statements() {
            statements.extend(run.forms(&statement)?);
        }
    }
    statements.extend(crate::analytics::analytics_statements(settings));
    Ok(statements)
}

struct Runner<'a> {
    settings: &'a StoreSettings,
    stamp_ms: i64,
}

impl Runner<'_> {
    /// The statement as this deployment runs it: itself on one server, its cluster form
    /// on a cluster.
    fn forms(&self, statement: &str) -> Result<Vec<String>, MigrationError> {
        match self.settings.cluster_ddl(self.stamp_ms) {
            Some(ddl) => Ok(ddl.rewrite(statement)?),
            None => Ok(vec![statement.to_string()]),
        }
    }
}

/// An `ADD COLUMN` refused because the column exists (code 44 on 18.16, 15 on current
/// servers; both say "already exists").
fn is_column_added_before(statement: &str, error: &clickhouse::error::Error) -> bool {
    statement.contains(" ADD COLUMN ") && error.to_string().contains("already exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_from_one() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, i + 1);
        }
    }

    #[test]
    fn statements_split_at_semicolons_without_comments() {
        let statements = MIGRATIONS[0].statements();
        assert!(statements.iter().all(|s| s.starts_with("CREATE TABLE IF NOT EXISTS")), "{statements:?}");
        assert_eq!(statements.len(), 7);
    }
}
