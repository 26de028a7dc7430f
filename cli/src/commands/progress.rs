//! `wowlogs progress`: the guild progress plan from the host, for operators: seed the
//! default roadmap (deployments run `seed-targets` after migrating), and set a guild's
//! roster, roadmap, weekly message and part in comparisons — what a guild master does
//! over `/api/v1/guilds/{guild_id}/progress/*`, audited the same way (as `cli`).

use crate::commands::StoreArgs;
use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use wowlogs_progress::{Roadmap, Target};
use wowlogs_store::progress::{self, Sharing};
use wowlogs_tenancy::{Actor, Registry};

#[derive(Debug, Args)]
pub struct ProgressArgs {
    #[command(subcommand)]
    pub command: ProgressCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProgressCommand {
    /// Give every active guild without targets the default roadmap (once: seeding again
    /// changes nothing, and a guild master's roadmap is never replaced).
    SeedTargets {
        #[command(flatten)]
        store: StoreArgs,
        /// A roadmap file instead of the shipped one (core/progress/roadmaps/default.json
        /// shows the shape: season, source, season_start, weeks[{week, target, label}]).
        #[arg(long)]
        roadmap: Option<PathBuf>,
        /// The season's first weekly reset in the Americas (YYYY-MM-DD, a Tuesday);
        /// other regions start on their own reset day of that week.
        #[arg(long)]
        season_start: Option<NaiveDate>,
        /// Only this guild.
        #[arg(long)]
        guild: Option<i64>,
    },
    /// Replace a guild's roster with a Battle.net guild roster document (.json, as the
    /// game data API gives it) or a CSV (header character,rank,main,class).
    Roster {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        guild: i64,
        /// The region of the roster's characters (default: the guild's).
        #[arg(long)]
        region: Option<String>,
        file: PathBuf,
    },
    /// Replace a guild's roadmap with a JSON file `{"targets": [{"week_start":
    /// "YYYY-MM-DD", "item_level": N, "label": "..."}]}`; without FILE, print it.
    Targets {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        guild: i64,
        file: Option<PathBuf>,
    },
    /// Write this week's message of a guild (as its guild master would).
    Message {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        guild: i64,
        message: String,
    },
    /// Set whether a guild takes part in comparisons: off, anonymous or named.
    Share {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        guild: i64,
        #[arg(value_parser = ["off", "anonymous", "named"])]
        share: String,
    },
}

#[derive(serde::Deserialize)]
struct TargetsFile {
    targets: Vec<Target>,
}

impl ProgressCommand {
    fn store(&self) -> &StoreArgs {
        match self {
            ProgressCommand::SeedTargets { store, .. }
            | ProgressCommand::Roster { store, .. }
            | ProgressCommand::Targets { store, .. }
            | ProgressCommand::Message { store, .. }
            | ProgressCommand::Share { store, .. } => store,
        }
    }
}

pub fn run(args: &ProgressArgs) -> Result<()> {
    let settings = args.command.store().settings();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        wowlogs_store::migrate(&settings).await.context("migrating ClickHouse")?;
        let client = settings.client();
        let registry = Registry::new(settings.clone());
        let actor = Actor { name: "cli:progress".into(), ..Actor::cli() };
        let now = wowlogs_schemas::now_ms();
        match &args.command {
            ProgressCommand::SeedTargets { roadmap, season_start, guild, .. } => {
                let roadmap = match roadmap {
                    Some(path) => serde_json::from_str::<Roadmap>(
                        &std::fs::read_to_string(path)
                            .with_context(|| format!("reading {}", path.display()))?,
                    )
                    .with_context(|| format!("{} is not a roadmap", path.display()))?,
                    None => Roadmap::default_roadmap(),
                };
                let seeded = match guild {
                    Some(id) => {
                        let row = registry.guild(*id).await?.with_context(|| format!("no guild {id}"))?;
                        vec![(
                            *id,
                            progress::seed_targets(&client, *id, &row.region, &roadmap, *season_start)
                                .await?,
                        )]
                    }
                    None => progress::seed_every_guild(&client, &roadmap, *season_start).await?,
                };
                for (guild, weeks) in seeded {
                    if weeks > 0 {
                        registry
                            .record(guild, &actor, "progress.seed", &roadmap.season, format!("{weeks} weeks"))
                            .await?;
                        println!("guild {guild}: {weeks} weekly targets of {}", roadmap.season);
                    } else {
                        println!("guild {guild}: has targets already, left as they are");
                    }
                }
            }
            ProgressCommand::Roster { guild, region, file, .. } => {
                let row = registry.guild(*guild).await?.with_context(|| format!("no guild {guild}"))?;
                let text =
                    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
                let region = region.clone().unwrap_or(row.region);
                let members = if text.trim_start().starts_with('{') {
                    wowlogs_progress::parse_battlenet(&text, &region)
                } else {
                    wowlogs_progress::parse_csv(&text, &region)
                }
                .with_context(|| format!("{} is refused", file.display()))?;
                let change = progress::replace_roster(&client, *guild, &members, now).await?;
                registry
                    .record(
                        *guild,
                        &actor,
                        "progress.roster",
                        "roster",
                        format!("{} members, {} left", change.members, change.left),
                    )
                    .await?;
                println!("guild {guild}: {} members, {} left the roster", change.members, change.left);
            }
            ProgressCommand::Targets { guild, file: None, .. } => {
                for t in progress::targets_of(&client, *guild).await? {
                    println!("{}  {:>4}  {}", t.week_start, t.item_level, t.label);
                }
            }
            ProgressCommand::Targets { guild, file: Some(file), .. } => {
                let text =
                    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
                let targets = serde_json::from_str::<TargetsFile>(&text)
                    .with_context(|| format!("{} is not {{\"targets\": [...]}}", file.display()))?
                    .targets;
                let taken_off = progress::replace_targets(&client, *guild, &targets, now).await?;
                registry
                    .record(
                        *guild,
                        &actor,
                        "progress.roadmap",
                        "targets",
                        format!("{} weeks, {taken_off} taken off", targets.len()),
                    )
                    .await?;
                println!("guild {guild}: {} weekly targets ({taken_off} taken off)", targets.len());
            }
            ProgressCommand::Message { guild, message, .. } => {
                let row = registry.guild(*guild).await?.with_context(|| format!("no guild {guild}"))?;
                if message.trim().is_empty() {
                    bail!("the message is empty");
                }
                let today = today_in(&client, &row.timezone).await?;
                let week = wowlogs_progress::week_of(today, &row.region);
                progress::write_message(&client, *guild, week, message, &actor.name, now).await?;
                registry
                    .record(
                        *guild,
                        &actor,
                        "progress.message",
                        &week.to_string(),
                        format!("{} characters", message.chars().count()),
                    )
                    .await?;
                println!("guild {guild}: message of the week starting {week} written");
            }
            ProgressCommand::Share { guild, share, .. } => {
                let sharing = Sharing::parse(share).context("off, anonymous or named")?;
                progress::set_sharing(&client, *guild, sharing, now).await?;
                registry
                    .record(*guild, &actor, "progress.comparisons", sharing.as_str(), String::new())
                    .await?;
                println!("guild {guild}: comparisons {}", sharing.as_str());
            }
        }
        Ok(())
    })
}

/// Today in a time zone ClickHouse knows (UTC when empty).
async fn today_in(client: &clickhouse::Client, zone: &str) -> Result<NaiveDate> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Today {
        today: u16,
    }
    let zone = if zone.is_empty() { "UTC" } else { zone };
    let today = client.query("SELECT toDate(now(), ?) AS today").bind(zone).fetch_one::<Today>().await?;
    Ok(wowlogs_store::rows::date_of(today.today))
}
