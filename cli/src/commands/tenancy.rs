//! `wowlogs guild` and `wowlogs api-key`: the guild registry and its keys.

use crate::commands::StoreArgs;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use wowlogs_tenancy::{Actor, KeySpec, NewGuild, Permission, Registry};

#[derive(Debug, Args)]
pub struct GuildArgs {
    #[command(subcommand)]
    pub command: GuildCommand,
}

#[derive(Debug, Subcommand)]
pub enum GuildCommand {
    /// Create a guild (the next free id); the change is audited.
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
    },
    /// List the guilds.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    #[command(subcommand)]
    pub command: ApiKeyCommand,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key for a guild and print it, once: only its hash is stored.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        guild: i64,
        #[arg(long, default_value = "")]
        description: String,
        /// Comma-separated: upload, query, stream, admin.
        #[arg(long, value_delimiter = ',', required = true)]
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

fn actor() -> Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor { name: format!("cli:{user}"), remote_addr: String::new() }
}

fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(future)
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
            GuildCommand::Create { store, name, server, region, faction } => {
                let guild = NewGuild {
                    name: name.clone(),
                    server: server.clone(),
                    region: region.clone(),
                    faction: faction.clone(),
                };
                let row = registry(store).await?.create_guild(&guild, &actor()).await?;
                println!("created guild {} \"{}\"", row.guild_id, row.name);
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

pub fn run_api_key(args: &ApiKeyArgs) -> Result<()> {
    block_on(async {
        match &args.command {
            ApiKeyCommand::Create {
                store,
                guild,
                description,
                permissions,
                events_per_minute,
                max_connections,
            } => {
                let spec = KeySpec {
                    guild_id: *guild,
                    description: description.clone(),
                    permissions: permissions.clone(),
                    events_per_minute: *events_per_minute,
                    max_connections: *max_connections,
                };
                let (key, row) = registry(store).await?.create_key(&spec, &actor()).await?;
                eprintln!(
                    "created {} for guild {} ({}); the key is shown once:",
                    row.key_id,
                    row.guild_id,
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
                let row = registry(store).await?.revoke_key(key_id, &actor()).await?;
                println!("revoked {} (guild {})", row.key_id, row.guild_id);
            }
        }
        Ok(())
    })
}
