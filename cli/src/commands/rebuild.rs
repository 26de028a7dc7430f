//! `wowlogs rebuild`: replay a consumer group's topics from the beginning into fresh
//! tables and swap them in.

use crate::commands::consume::{Group, serve_metrics};
use anyhow::{Context, Result};
use clap::Args;
use wowlogs_consumers::metrics::ConsumerMetrics;
use wowlogs_consumers::rebuild::{Rebuilt, rebuild};
use wowlogs_tenancy::{Actor, NO_GUILD, Registry};

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The group whose tables to rebuild. Stop its consumers first; start them again
    /// afterwards and they continue from where the rebuild stopped.
    #[command(subcommand)]
    pub group: Group,
}

pub fn run(args: &RebuildArgs) -> Result<()> {
    let (group, default_group) = args.group.args();
    let which = match &args.group {
        Group::EventsSink(_) => Rebuilt::EventsSink,
        Group::Encounters(_) => Rebuilt::Encounters,
        Group::All(_) => anyhow::bail!("rebuild one group at a time: events-sink, then encounters"),
    };
    let config = group.config(default_group);
    let metrics = ConsumerMetrics::new();
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(async {
        wowlogs_store::migrate(&config.store).await.context("migrating ClickHouse")?;
        serve_metrics(
            &group.metrics_addr,
            "rebuild",
            &metrics,
            std::time::Duration::from_millis(group.stall_ms),
        )
        .await?;
        eprintln!(
            "rebuilding {} for group {} from the beginning of its topics…",
            which.tables().join(", "),
            config.group_id
        );
        let report = rebuild(&config, which, metrics)
            .await
            .with_context(|| format!("rebuilding group {}", config.group_id))?;
        if matches!(which, Rebuilt::Encounters) {
            let moved = wowlogs_store::reapply_transfers(&config.store)
                .await
                .context("moving transferred encounters again after the rebuild")?;
            eprintln!("moved {moved} transferred encounters to their guilds again");
        }
        let rows: Vec<String> = report.tables.iter().map(|(table, rows)| format!("{table}={rows}")).collect();
        let detail = format!(
            "previous tables kept in {}.previous_* rebuilt: {}",
            report.fresh_database,
            rows.join(" ")
        );
        Registry::new(config.store.clone())
            .record(NO_GUILD, &Actor::cli(), "rebuild.swap", &config.group_id, detail)
            .await
            .context("recording the rebuild on the audit trail")?;
        anyhow::Ok(report)
    })?;
    println!(
        "swapped in the rebuilt tables (the previous ones are in {}.previous_*):",
        report.fresh_database
    );
    for (table, rows) in report.tables {
        println!("  {table:<18} {:>12} rows", wowlogs_parser::group_thousands(rows as i64));
    }
    Ok(())
}
