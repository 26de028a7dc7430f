//! `wowlogs guild` and `wowlogs api-key`: the guild registry and its keys.

use crate::commands::StoreArgs;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use wowlogs_schemas::GuildId;
use wowlogs_tenancy::{Actor, GuildUpdate, KeySpec, NO_GUILD, NewGuild, Permission, Registry};

#[derive(Debug, Args)]
pub struct GuildArgs {
    #[command(subcommand)]
    pub command: GuildCommand,
}

#[derive(Debug, Subcommand)]
pub enum GuildCommand {
    /// Create a guild (the next free id); `(name, server, region)` must be new. Audited.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        server: String,
        /// US, EU, KR, TW, CN.
        #[arg(long, default_value = "")]
        region: String,
        /// Alliance or Horde.
        #[arg(long, default_value = "")]
        faction: String,
        /// Guild settings, a JSON object (raid schedule, loot system, ...).
        #[arg(long, default_value = "{}")]
        settings: String,
        /// How to reach the guild's officers.
        #[arg(long, default_value = "")]
        contact: String,
        /// IANA time zone the guild raids in.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Days a log is kept after its upload (`wowlogs retention`); 0: for good.
        #[arg(long, default_value_t = 0)]
        retention_days: u32,
    },
    /// Change a guild's name, realm, settings, contact or time zone. Audited.
    Update {
        #[command(flatten)]
        store: StoreArgs,
        guild: i64,
        #[command(flatten)]
        fields: GuildFields,
    },
    /// Deactivate a guild: its keys are refused within seconds and its uploads with
    /// them; its data is kept. Audited.
    Deactivate {
        #[command(flatten)]
        store: StoreArgs,
        guild: i64,
    },
    /// Reactivate a deactivated guild: its keys work again. Audited.
    Reactivate {
        #[command(flatten)]
        store: StoreArgs,
        guild: i64,
    },
    /// Move encounters (with their players, deaths and rounds) from one guild to another;
    /// the logs stay with the guild that uploaded them. Idempotent; audited on both guilds.
    Transfer {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        from: i64,
        #[arg(long)]
        to: i64,
        /// Encounter ids as the source guild's API shows them.
        #[arg(required = true)]
        encounters: Vec<i64>,
    },
    /// Import a full export (`GET /api/v1/encounters/export?full=true`, NDJSON or the JSON
    /// document) into a guild: every fight with its Solo Shuffle rounds, players and
    /// deaths, under the guild's own encounter ids, and the roll-ups of their days.
    /// Fights the guild has already are left as they are (importing twice changes
    /// nothing). What an export leaves out
    /// (abilities, auras, boss units, recaps, raw events) the imported fights do not have;
    /// and they are on no topic: after `wowlogs rebuild encounters` or a restore, import
    /// the file again. Audited (`encounters.import`).
    ImportExport {
        #[command(flatten)]
        store: StoreArgs,
        guild: i64,
        /// The export file.
        file: std::path::PathBuf,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Delete logs of a guild for good (a member's request, a log uploaded by mistake):
    /// each log with everything made from it, recorded first so that no rebuild, restore
    /// or new consumer brings it back. Log ids as `GET /api/v1/logs` shows them; ids that
    /// are no log of the guild are reported and left alone. Audited (`logs.purge`).
    PurgeLogs {
        #[command(flatten)]
        store: StoreArgs,
        guild: i64,
        /// Why (kept with each deleted log).
        #[arg(long)]
        reason: String,
        /// Count what would go, change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(required = true)]
        logs: Vec<i64>,
    },
    /// Purge a deactivated guild for good (a guild leaving, a privacy request): every row
    /// it owns in every table (events, fights, players, deaths, characters, gear, dead
    /// letters, logs, roll-ups, progress plan, transfers, keys, the guild), recorded
    /// first so that no rebuild, restore or new consumer brings any of it back, and no
    /// new guild gets its id. The audit trail is kept. Audited (`guild.purge`).
    Purge {
        #[command(flatten)]
        store: StoreArgs,
        guild: i64,
        /// Who asked, or why (kept with the purge).
        #[arg(long)]
        reason: String,
        /// Count what would go, change nothing (the guild may still be active).
        #[arg(long)]
        dry_run: bool,
    },
    /// List the guilds.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// One guild's details and keys (ids, never the keys). Its totals and activity per
    /// day are the query API's: GET /api/v1/admin/guilds/{id}[/activity].
    Show {
        #[command(flatten)]
        store: StoreArgs,
        guild: i64,
    },
}

/// What `guild update` changes: fields left out stay as they are.
#[derive(Debug, Args)]
pub struct GuildFields {
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    server: Option<String>,
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    faction: Option<String>,
    /// Replaces the settings: a JSON object.
    #[arg(long)]
    settings: Option<String>,
    #[arg(long)]
    contact: Option<String>,
    #[arg(long)]
    timezone: Option<String>,
    /// Days a log is kept after its upload; 0: for good.
    #[arg(long)]
    retention_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    #[command(subcommand)]
    pub command: ApiKeyCommand,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key for a guild, or an instance-admin key, and print it, once: only its
    /// hash is stored.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The guild the key belongs to.
        #[arg(long, required_unless_present = "instance_admin", conflicts_with = "instance_admin")]
        guild: Option<i64>,
        /// A key of no guild that administers every guild, on /api/v1/admin/* only.
        #[arg(long)]
        instance_admin: bool,
        #[arg(long, default_value = "")]
        description: String,
        /// Comma-separated: upload, query, stream, officer (the progress plan's overview of
        /// every member), admin (the guild master: roster, targets, weekly message).
        #[arg(
            long,
            value_delimiter = ',',
            required_unless_present = "instance_admin",
            conflicts_with = "instance_admin"
        )]
        permissions: Vec<Permission>,
        /// Upload budget, parsed events per minute (0: unlimited).
        #[arg(long, default_value_t = 0)]
        events_per_minute: u32,
        /// Concurrent WebSocket connections (0: the query API's WOWLOGS_MAX_WEBSOCKETS_PER_KEY).
        #[arg(long, default_value_t = 0)]
        max_connections: u32,
    },
    /// List keys (ids, never the keys), of one guild or all.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        guild: Option<i64>,
    },
    /// Revoke a key by its id (`key-…`); running services stop accepting it within
    /// their refresh period.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        key_id: String,
    },
}

fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(future)
}

/// Reads an export file a page of fights at a time and writes each under `guild`.
async fn import_export(
    settings: &wowlogs_store::StoreSettings,
    guild: i64,
    file: &std::path::Path,
    quiet: bool,
) -> Result<wowlogs_store::import::Imported> {
    use wowlogs_store::import::{ExportReader, IMPORT_CHUNK, Importer};
    let opened = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = opened.metadata().ok().map(|m| m.len());
    let bar = crate::progress::bytes_bar(size, "importing", quiet);
    let mut reader = ExportReader::new(std::io::BufReader::new(bar.wrap_read(opened)), IMPORT_CHUNK);
    let mut importer = Importer::new(guild);
    loop {
        let fights = reader.next_chunk().with_context(|| format!("reading {}", file.display()))?;
        if fights.is_empty() {
            break;
        }
        importer.write(settings, &fights).await.context("writing the fights")?;
        bar.set_message(format!("{} fights", importer.imported.fights));
    }
    bar.finish_and_clear();
    if let Some(source) = reader.source_guild.filter(|source| *source != guild) {
        tracing::info!(source, guild, "imported another guild's export");
    }
    Ok(importer.imported)
}

async fn registry(store: &StoreArgs) -> Result<Registry> {
    let settings = store.settings();
    wowlogs_store::migrate(&settings)
        .await
        .with_context(|| format!("migrating {} on {}", settings.database, settings.url))?;
    Ok(Registry::new(settings))
}

pub fn run_guild(args: &GuildArgs) -> Result<()> {
    block_on(async {
        match &args.command {
            GuildCommand::Create {
                store,
                name,
                server,
                region,
                faction,
                settings,
                contact,
                timezone,
                retention_days,
            } => {
                let guild = NewGuild {
                    name: name.clone(),
                    server: server.clone(),
                    region: region.clone(),
                    faction: faction.clone(),
                    settings: settings.clone(),
                    contact_info: contact.clone(),
                    timezone: timezone.clone(),
                    retention_days: *retention_days,
                };
                let row = registry(store).await?.create_guild(&guild, &Actor::cli()).await?;
                println!("created guild {} \"{}\"", row.guild_id, row.name);
            }
            GuildCommand::Update { store, guild, fields } => {
                let update = GuildUpdate {
                    name: fields.name.clone(),
                    server: fields.server.clone(),
                    region: fields.region.clone(),
                    faction: fields.faction.clone(),
                    settings: fields.settings.clone(),
                    contact_info: fields.contact.clone(),
                    timezone: fields.timezone.clone(),
                    retention_days: fields.retention_days,
                };
                let row = registry(store).await?.update_guild(*guild, &update, &Actor::cli()).await?;
                println!("updated guild {} \"{}\"", row.guild_id, row.name);
            }
            GuildCommand::Deactivate { store, guild } => {
                let row = registry(store).await?.set_active(*guild, false, &Actor::cli()).await?;
                println!(
                    "guild {} \"{}\" is deactivated: its keys are refused within seconds; its data is kept",
                    row.guild_id, row.name
                );
            }
            GuildCommand::Reactivate { store, guild } => {
                let row = registry(store).await?.set_active(*guild, true, &Actor::cli()).await?;
                println!("guild {} \"{}\" is active again", row.guild_id, row.name);
            }
            GuildCommand::Transfer { store, from, to, encounters } => {
                let registry = registry(store).await?;
                for guild in [from, to] {
                    registry.guild(*guild).await?.with_context(|| format!("no guild {guild}"))?;
                }
                let actor = Actor::cli();
                let done = wowlogs_store::transfer_encounters(
                    &store.settings(),
                    GuildId(*from),
                    GuildId(*to),
                    encounters,
                    &actor.name,
                )
                .await?;
                for (old, new) in &done.moved {
                    println!("moved   {old} -> {new}");
                }
                for (old, new) in &done.already {
                    println!("already {old} -> {new}");
                }
                for id in &done.unknown {
                    println!("unknown {id} (no encounter of guild {from})");
                }
                if !done.moved.is_empty() {
                    let ids: Vec<String> = done.moved.iter().map(|(a, b)| format!("{a}->{b}")).collect();
                    let detail = format!("from_guild={from} to_guild={to} encounters={}", ids.join(","));
                    for guild in [from, to] {
                        registry
                            .record(
                                *guild,
                                &actor,
                                "encounters.transfer",
                                &ids.len().to_string(),
                                detail.clone(),
                            )
                            .await?;
                    }
                }
            }
            GuildCommand::ImportExport { store, guild, file, quiet } => {
                let registry = registry(store).await?;
                registry.guild(*guild).await?.with_context(|| format!("no guild {guild}"))?;
                let imported = import_export(&store.settings(), *guild, file, *quiet).await?;
                let logs = imported.logs.len();
                println!(
                    "imported into guild {guild}: {} fights, {} rounds, {} player lines, {} deaths from {logs} logs; \
                     {} fights it had already left as they were",
                    imported.fights, imported.rounds, imported.players, imported.deaths, imported.already
                );
                let detail = format!(
                    "file={} fights={} rounds={} players={} deaths={} logs={logs} already={}",
                    file.display(),
                    imported.fights,
                    imported.rounds,
                    imported.players,
                    imported.deaths,
                    imported.already
                );
                registry
                    .record(*guild, &Actor::cli(), "encounters.import", &imported.fights.to_string(), detail)
                    .await?;
            }
            GuildCommand::PurgeLogs { store, guild, reason, dry_run, logs } => {
                let registry = registry(store).await?;
                let row = registry.guild(*guild).await?.with_context(|| format!("no guild {guild}"))?;
                let settings = store.settings();
                let known = wowlogs_store::deletions::logs_of_guild(&settings.client(), *guild, logs).await?;
                for id in logs.iter().filter(|id| !known.contains(id)) {
                    println!("unknown {id} (no log of guild {guild})");
                }
                let actor = Actor::cli();
                let removal =
                    wowlogs_store::Removal { guild_id: *guild, logs: known, reason, actor: &actor.name };
                let outcome = wowlogs_store::delete_logs(&settings, removal, *dry_run).await?;
                let verb = if *dry_run { "would purge" } else { "purged" };
                crate::commands::retention::print_outcome(&row, &outcome, verb);
                if !*dry_run && !outcome.logs.is_empty() {
                    let detail = format!("{} reason={reason}", crate::commands::retention::summary(&outcome));
                    registry
                        .record(*guild, &actor, "logs.purge", &outcome.logs.len().to_string(), detail)
                        .await?;
                }
            }
            GuildCommand::Purge { store, guild, reason, dry_run } => {
                let registry = registry(store).await?;
                let outcome = registry.purge_guild(*guild, reason, &Actor::cli(), *dry_run).await?;
                let verb = if *dry_run { "would purge" } else { "purged" };
                println!("{verb} guild {guild}: {} rows", outcome.rows());
                for table in outcome.tables.iter().filter(|t| t.rows > 0) {
                    println!("  {:<20} {:>12} rows", table.table, table.rows);
                }
                let settings = store.settings();
                if wowlogs_store::analytics::guild_databases(&settings).await?.contains(guild) {
                    let database = wowlogs_store::analytics::guild_database(&settings, *guild);
                    println!(
                        "guild {guild}'s analytics database {database} shows no rows now; \
                         `wowlogs grafana revoke --guild {guild}` takes it and its user away"
                    );
                }
            }
            GuildCommand::Show { store, guild } => {
                let registry = registry(store).await?;
                let g = registry.guild(*guild).await?.with_context(|| format!("no guild {guild}"))?;
                println!(
                    "guild {} \"{}\"{}",
                    g.guild_id,
                    g.name,
                    if g.is_active() { "" } else { " (deactivated)" }
                );
                for (field, value) in [
                    ("server", &g.server),
                    ("region", &g.region),
                    ("faction", &g.faction),
                    ("settings", &g.settings),
                    ("contact", &g.contact_info),
                    ("timezone", &g.timezone),
                    ("retention", &retention_text(g.retention_days)),
                ] {
                    println!("  {field:<9} {value}");
                }
                for k in registry.keys(Some(*guild)).await? {
                    let state = if k.revoked == 1 { "revoked" } else { "active" };
                    println!(
                        "  key       {} {} {state} {}",
                        k.key_id,
                        k.permissions.join(","),
                        k.description
                    );
                }
            }
            GuildCommand::List { store } => {
                println!(
                    "{:>6}  {:<24} {:<16} {:<6} {:<9} active",
                    "id", "name", "server", "region", "faction"
                );
                for g in registry(store).await?.guilds().await? {
                    println!(
                        "{:>6}  {:<24} {:<16} {:<6} {:<9} {}",
                        g.guild_id,
                        g.name,
                        g.server,
                        g.region,
                        g.faction,
                        g.active == 1
                    );
                }
            }
        }
        Ok(())
    })
}

fn retention_text(days: u32) -> String {
    if days == 0 { "logs kept for good".into() } else { format!("logs kept {days} days after upload") }
}

pub fn run_api_key(args: &ApiKeyArgs) -> Result<()> {
    block_on(async {
        match &args.command {
            ApiKeyCommand::Create {
                store,
                guild,
                instance_admin,
                description,
                permissions,
                events_per_minute,
                max_connections,
            } => {
                let (guild_id, permissions) = match guild {
                    _ if *instance_admin => (NO_GUILD, vec![Permission::InstanceAdmin]),
                    Some(guild) => (*guild, permissions.clone()),
                    None => anyhow::bail!("a key needs --guild G, or --instance-admin"),
                };
                let spec = KeySpec {
                    guild_id,
                    description: description.clone(),
                    permissions,
                    events_per_minute: *events_per_minute,
                    max_connections: *max_connections,
                };
                let (key, row) = registry(store).await?.create_key(&spec, &Actor::cli()).await?;
                let owner = match row.guild_id {
                    NO_GUILD => "the instance (administration only)".to_string(),
                    guild => format!("guild {guild}"),
                };
                eprintln!(
                    "created {} for {owner} ({}); the key is shown once:",
                    row.key_id,
                    row.permissions.join(",")
                );
                println!("{}", key.plaintext);
            }
            ApiKeyCommand::List { store, guild } => {
                println!(
                    "{:<16} {:>6}  {:<26} {:>8} {:>5}  {:<8} description",
                    "key id", "guild", "permissions", "ev/min", "conns", "state"
                );
                for k in registry(store).await?.keys(*guild).await? {
                    let state = if k.revoked == 1 { "revoked" } else { "active" };
                    println!(
                        "{:<16} {:>6}  {:<26} {:>8} {:>5}  {:<8} {}",
                        k.key_id,
                        k.guild_id,
                        k.permissions.join(","),
                        k.events_per_minute,
                        k.max_connections,
                        state,
                        k.description
                    );
                }
            }
            ApiKeyCommand::Revoke { store, key_id } => {
                let row = registry(store).await?.revoke_key(key_id, &Actor::cli()).await?;
                println!("revoked {} (guild {})", row.key_id, row.guild_id);
            }
        }
        Ok(())
    })
}
