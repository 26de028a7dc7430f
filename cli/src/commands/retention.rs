//! `wowlogs retention`: remove each guild's logs older than its policy, counted from
//! upload, each log whole (see `wowlogs_store::retention`). Every run looks first (a dry
//! run, recorded as `retention.plan`), then removes (`retention.delete`), on each guild's
//! audit trail; `--every` runs it on a schedule (compose's `retention` service; the
//! Kubernetes CronJob runs it once a day).

use crate::commands::StoreArgs;
use anyhow::{Context, Result};
use clap::Args;
use std::time::Duration;
use wowlogs_store::{RetentionOutcome, RetentionPlan, apply_retention};
use wowlogs_tenancy::{Actor, GuildRow, Registry};

#[derive(Debug, Args)]
pub struct RetentionArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Days to keep for guilds with no policy of their own (`wowlogs guild update G
    /// --retention-days N`, or the admin API); unset or 0: such guilds keep everything.
    #[arg(long, env = "GUILD_DATA_RETENTION_DAYS")]
    pub days: Option<u32>,
    /// Only this guild.
    #[arg(long)]
    pub guild: Option<i64>,
    /// Count what would go, change nothing (still recorded on the audit trail).
    #[arg(long)]
    pub dry_run: bool,
    /// Run again after each such period (`24h`, `30m`) until stopped; once otherwise.
    #[arg(long, value_parser = period)]
    pub every: Option<Duration>,
}

/// `24h`, `30m`, `45s` or a number of seconds.
pub fn period(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not a period like 24h, 30m or 45s"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{text:?} is not a period like 24h, 30m or 45s")),
    };
    (seconds > 0).then(|| Duration::from_secs(seconds)).ok_or_else(|| "the period must be above 0".into())
}

/// The days a guild keeps: its own policy, else the default; `None`: for good.
fn keep_days(guild: &GuildRow, default: Option<u32>) -> Option<u32> {
    match guild.retention_days {
        0 => default.filter(|&d| d > 0),
        days => Some(days),
    }
}

pub fn run(args: &RetentionArgs) -> Result<()> {
    let settings = args.store.settings();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        wowlogs_store::migrate(&settings).await.context("migrating ClickHouse")?;
        let registry = Registry::new(settings.clone());
        loop {
            let run = once(args, &settings, &registry).await;
            let Some(period) = args.every else { return run };
            // A scheduled service keeps its schedule: a failed run is reported (and on
            // the failing guilds' audit trails) and the next one comes all the same.
            if let Err(error) = run {
                tracing::error!(error = format!("{error:#}"), "retention run failed");
            }
            tracing::info!(next_in_s = period.as_secs(), "retention: waiting for the next run");
            tokio::time::sleep(period).await;
        }
    })
}

async fn once(
    args: &RetentionArgs,
    settings: &wowlogs_store::StoreSettings,
    registry: &Registry,
) -> Result<()> {
    let guilds: Vec<GuildRow> = registry
        .guilds()
        .await?
        .into_iter()
        .filter(|g| args.guild.is_none_or(|id| id == g.guild_id))
        .collect();
    anyhow::ensure!(
        !guilds.is_empty() || args.guild.is_none(),
        "no guild {}",
        args.guild.unwrap_or_default()
    );
    let now = (wowlogs_schemas::now_ms() / 1000) as u32;
    let actor = Actor { name: "cli:retention".into(), ..Actor::cli() };
    let mut failed = Vec::new();
    for guild in guilds {
        let Some(days) = keep_days(&guild, args.days) else {
            println!("guild {} \"{}\": logs kept for good (no policy)", guild.guild_id, guild.name);
            continue;
        };
        // One guild's failure is that guild's: it is recorded on its audit trail and the
        // run goes on with the others.
        if let Err(error) = one_guild(args, settings, registry, &actor, &guild, days, now).await {
            let error = format!("{error:#}");
            tracing::error!(guild_id = guild.guild_id, error, "retention failed for this guild; going on");
            eprintln!("guild {} \"{}\": retention failed: {error}", guild.guild_id, guild.name);
            registry.record(guild.guild_id, &actor, "retention.failed", &days.to_string(), error).await?;
            failed.push(guild.guild_id);
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "retention failed for guilds {failed:?} (every other guild's was applied)"
    );
    Ok(())
}

/// Retention of one guild: counted and recorded, then (unless a dry run) applied and
/// recorded.
async fn one_guild(
    args: &RetentionArgs,
    settings: &wowlogs_store::StoreSettings,
    registry: &Registry,
    actor: &Actor,
    guild: &GuildRow,
    days: u32,
    now: u32,
) -> Result<()> {
    let plan = RetentionPlan::keep_days(guild.guild_id, now, days);
    // Look first: what would go is recorded before anything goes.
    let planned = apply_retention(settings, &plan, true)
        .await
        .with_context(|| format!("counting guild {}'s logs older than {days} days", guild.guild_id))?;
    registry.record(guild.guild_id, actor, "retention.plan", &days.to_string(), summary(&planned)).await?;
    print(guild, days, &planned, "would remove");
    if args.dry_run || planned.logs.is_empty() {
        return Ok(());
    }
    let removed = apply_retention(settings, &plan, false)
        .await
        .with_context(|| format!("removing guild {}'s logs older than {days} days", guild.guild_id))?;
    registry.record(guild.guild_id, actor, "retention.delete", &days.to_string(), summary(&removed)).await?;
    print(guild, days, &removed, "removed");
    Ok(())
}

/// The audit entry's detail: the logs and the rows per table.
pub(crate) fn summary(outcome: &RetentionOutcome) -> String {
    let rows: Vec<String> = outcome.tables.iter().map(|t| format!("{}={}", t.table, t.rows)).collect();
    format!("logs={} {}", outcome.logs.len(), rows.join(" "))
}

fn print(guild: &GuildRow, days: u32, outcome: &RetentionOutcome, verb: &str) {
    print_outcome(guild, outcome, &format!("keeping {days} days after upload, {verb}"));
}

/// What a deletion of a guild's logs removed (or would), table by table.
pub(crate) fn print_outcome(guild: &GuildRow, outcome: &RetentionOutcome, verb: &str) {
    println!("guild {} \"{}\": {verb} {} logs", guild.guild_id, guild.name, outcome.logs.len());
    for table in &outcome.tables {
        println!("  {:<18} {:>12} rows", table.table, wowlogs_parser::group_thousands(table.rows as i64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_like_people_write_them() {
        assert_eq!(period("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(period("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(period("90"), Ok(Duration::from_secs(90)));
        assert!(period("0s").is_err());
        assert!(period("soon").is_err());
    }

    #[test]
    fn a_guilds_own_policy_wins_over_the_default() {
        let mut guild = GuildRow::active(2, "Loothing", 0);
        assert_eq!(keep_days(&guild, None), None, "no policy, no default: kept for good");
        assert_eq!(keep_days(&guild, Some(0)), None);
        assert_eq!(keep_days(&guild, Some(90)), Some(90));
        guild.retention_days = 365;
        assert_eq!(keep_days(&guild, Some(90)), Some(365));
    }
}
