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
}

/// How many times a migration whose connection failed is tried.
const CONNECTION_ATTEMPTS: u32 = 4;

/// Applies what is pending and refreshes the analytics relations (which applying
/// anything does already); returns the versions applied.
async fn migrate_once(
    settings: &wowlogs_store::StoreSettings,
) -> Result<Vec<u32>, wowlogs_store::MigrationError> {
    let applied = wowlogs_store::migrate(settings).await?;
    if applied.is_empty() {
        wowlogs_store::refresh_analytics(settings).await?;
    }
    Ok(applied)
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
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let applied = runtime
        .block_on(async {
            // A connection lost mid-way (a server restarting, a keep-alive closed under
            // the request) is retried: every statement is idempotent. A statement
            // ClickHouse refuses is not.
            let mut attempt = 1;
            loop {
                match migrate_once(&settings).await {
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
    if applied.is_empty() {
        println!("{place}: up to date ({} migrations)", wowlogs_store::MIGRATIONS.len());
    }
    for version in applied {
        let migration = &wowlogs_store::MIGRATIONS[version as usize - 1];
        println!("{place}: applied {:04}_{}", migration.version, migration.name);
    }
    Ok(())
}
