//! `wowlogs retention`: remove data older than a number of days (ClickHouse 18.16 has
//! no `TTL`), for every guild or one.

use crate::commands::StoreArgs;
use anyhow::{Context, Result, bail};
use clap::Args;
use wowlogs_store::{RetentionPlan, apply_retention};
use wowlogs_tenancy::{Actor, NO_GUILD, Registry};

#[derive(Debug, Args)]
pub struct RetentionArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Keep this many days of data; older events, fights, characters, dead letters and
    /// log records go.
    #[arg(long, env = "GUILD_DATA_RETENTION_DAYS")]
    pub days: Option<u32>,
    /// Only this guild's data (default: every guild; whole old months are then dropped
    /// as partitions).
    #[arg(long)]
    pub guild: Option<i64>,
    /// Count what would go, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: &RetentionArgs) -> Result<()> {
    let Some(days) = args.days else {
        bail!("say how many days to keep: --days N (or GUILD_DATA_RETENTION_DAYS)");
    };
    let now = wowlogs_schemas::now_ms() / 1000;
    let plan = RetentionPlan::keep_days(now as u32, days, args.guild);
    let settings = args.store.settings();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcomes = runtime
        .block_on(apply_retention(&settings, &plan, args.dry_run))
        .with_context(|| format!("applying retention to {} on {}", settings.database, settings.url))?;
    let scope = args.guild.map_or_else(|| "every guild".to_string(), |g| format!("guild {g}"));
    if !args.dry_run {
        // On the guild's trail, or the instance's for every guild.
        let removed: Vec<String> = outcomes.iter().map(|o| format!("{}={}", o.table, o.rows)).collect();
        let detail = format!("keep_days={days} {}", removed.join(" "));
        let registry = Registry::new(settings.clone());
        let guild = args.guild.unwrap_or(NO_GUILD);
        runtime
            .block_on(async {
                wowlogs_store::migrate(&settings).await?;
                registry.record(guild, &Actor::cli(), "retention.delete", &scope, detail).await?;
                anyhow::Ok(())
            })
            .context("recording the retention run on the audit trail")?;
    }
    let verb = if args.dry_run { "would remove" } else { "removed" };
    println!("keeping {days} days for {scope}: {verb}");
    for outcome in outcomes {
        let partitions = if outcome.partitions_dropped.is_empty() {
            String::new()
        } else {
            format!(" (whole months: {})", outcome.partitions_dropped.join(", "))
        };
        println!(
            "  {:<18} {:>12} rows{partitions}",
            outcome.table,
            wowlogs_parser::group_thousands(outcome.rows as i64)
        );
    }
    Ok(())
}
