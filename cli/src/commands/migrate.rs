//! `wowlogs migrate`: apply the ClickHouse schema migrations.

use crate::commands::StoreArgs;
use anyhow::{Context, Result};
use clap::Args;

/// Creates the database and tables, or brings them up to date. With
/// `--clickhouse-cluster NAME` (or WOWLOGS_CLICKHOUSE_CLUSTER) the tables are created on
/// every server of that cluster: replicated shard-local tables and `Distributed` tables
/// sharded by guild, `ON CLUSTER`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print every statement a migration of an empty database runs, and change nothing.
    #[arg(long)]
    pub print: bool,
    /// Bring the schema to this migration: apply those missing up to it, or undo those
    /// after it, latest first (before running an older wowlogs). Refused, changing
    /// nothing, when one of them cannot be undone (`docs/operations.md` lists why each
    /// cannot). Default: the latest.
    #[arg(long, value_name = "N")]
    pub to: Option<u32>,
}

/// How many times a migration whose connection failed is tried.
const CONNECTION_ATTEMPTS: u32 = 4;

/// Brings the schema to `target` and, at the latest, refreshes the analytics relations
/// (which applying anything does already).
async fn migrate_once(
    settings: &wowlogs_store::StoreSettings,
    target: u32,
) -> Result<wowlogs_store::Migrated, wowlogs_store::MigrationError> {
    let done = wowlogs_store::migrate_to(settings, target).await?;
    if done.applied.is_empty() && target == wowlogs_store::latest() {
        wowlogs_store::refresh_analytics(settings).await?;
    }
    Ok(done)
}

pub fn run(args: &MigrateArgs) -> Result<()> {
    let settings = args.store.settings();
    if args.print {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for statement in wowlogs_store::planned_statements(&settings, wowlogs_schemas::now_ms())? {
            match writeln!(out, "{statement};\n") {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                written => written?,
            }
        }
        return Ok(());
    }
    let target = args.to.unwrap_or_else(wowlogs_store::latest);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let done = runtime
        .block_on(async {
            // A connection lost mid-way (a server restarting, a keep-alive closed under
            // the request) is retried: every statement is idempotent. A statement
            // ClickHouse refuses is not.
            let mut attempt = 1;
            loop {
                match migrate_once(&settings, target).await {
                    Err(error) if error.is_connection() && attempt < CONNECTION_ATTEMPTS => {
                        let wait = std::time::Duration::from_secs(1 << attempt);
                        tracing::warn!(%error, attempt, retry_in_s = wait.as_secs(), "migration interrupted; retrying");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    answer => return answer,
                }
            }
        })
        .with_context(|| format!("migrating {} on {}", settings.database, settings.url))?;
    let place = match &settings.cluster {
        Some(cluster) => format!("{} (cluster {cluster})", settings.database),
        None => settings.database.clone(),
    };
    let name = |version: u32| {
        let migration = &wowlogs_store::MIGRATIONS[version as usize - 1];
        format!("{:04}_{}", migration.version, migration.name)
    };
    for &version in &done.undone {
        println!("{place}: undid {}", name(version));
    }
    for &version in &done.applied {
        println!("{place}: applied {}", name(version));
    }
    if target < wowlogs_store::latest() {
        println!("{place}: at migration {} (the latest is {})", name(target), wowlogs_store::latest());
    } else if done.applied.is_empty() && done.undone.is_empty() {
        println!("{place}: up to date ({target} migrations)");
    }
    Ok(())
}
