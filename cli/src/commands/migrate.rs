//! `wowlogs migrate`: apply the ClickHouse schema migrations.

use crate::commands::StoreArgs;
use anyhow::{Context, Result};
use clap::Args;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn run(args: &MigrateArgs) -> Result<()> {
    let settings = args.store.settings();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let applied = runtime
        .block_on(wowlogs_store::migrate(&settings))
        .with_context(|| format!("migrating {} on {}", settings.database, settings.url))?;
    if applied.is_empty() {
        println!("{}: up to date ({} migrations)", settings.database, wowlogs_store::MIGRATIONS.len());
    }
    for version in applied {
        let migration = &wowlogs_store::MIGRATIONS[version as usize - 1];
        println!("{}: applied {:04}_{}", settings.database, migration.version, migration.name);
    }
    Ok(())
}
