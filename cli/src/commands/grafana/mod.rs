//! `wowlogs grafana`: analytics access for one guild's analysts (see
//! `wowlogs_store::analytics`). `grant` gives guild G a database `<db>_guild_G` with the
//! dashboards' relations holding G's rows only, and a ClickHouse user `wowlogs_guild_G`
//! that can read that database and nothing else; with `--grafana-url`, also the guild's
//! own Grafana organisation ([`organisation`]): its data source on that user, the
//! analyst dashboards, its viewers.

mod organisation;

use crate::commands::StoreArgs;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use wowlogs_store::analytics::{AccessMode, GuildAccess, await_access, grant_guild, revoke_guild};

#[derive(Debug, Args)]
pub struct GrafanaArgs {
    #[command(subcommand)]
    pub command: GrafanaCommand,
}

#[derive(Debug, Subcommand)]
pub enum GrafanaCommand {
    /// Give a guild's analysts their own ClickHouse database and user and, with
    /// --grafana-url, their own Grafana organisation "Guild <G>" (prints the user, the
    /// database, the organisation and, once, a generated password as JSON); safe to
    /// repeat, which replaces the password.
    Grant(GrantArgs),
    /// Take a guild's analytics access away: its user, database and views, and its
    /// Grafana organisation with --grafana-url.
    Revoke(RevokeArgs),
}

/// Grafana's HTTP API, as its administrator.
#[derive(Debug, Args)]
pub struct GrafanaApiArgs {
    /// Grafana (e.g. `http://localhost:3000`) in which to make or remove the guild's
    /// organisation; unset: ClickHouse only.
    #[arg(long, env = "WOWLOGS_GRAFANA_URL")]
    pub grafana_url: Option<String>,
    /// Grafana's administrator login.
    #[arg(long, env = "WOWLOGS_GRAFANA_USER", default_value = "admin")]
    pub grafana_user: String,
    /// Grafana's administrator password.
    #[arg(long, env = "WOWLOGS_GRAFANA_PASSWORD", hide_env_values = true)]
    pub grafana_password: Option<String>,
}

impl GrafanaApiArgs {
    fn grafana(&self) -> Result<Option<organisation::Grafana>> {
        let Some(url) = &self.grafana_url else { return Ok(None) };
        let password = self
            .grafana_password
            .as_deref()
            .context("--grafana-url needs Grafana's administrator password (WOWLOGS_GRAFANA_PASSWORD)")?;
        Ok(Some(organisation::Grafana::new(url, &self.grafana_user, password)?))
    }
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The guild.
    #[arg(long)]
    pub guild: i64,
    /// Read the user's password from this file (its first line) instead of generating one.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// The ClickHouse server's users.d directory, for servers that keep users in files
    /// (ClickHouse before 20.5, such as the local stack's 18.16); current servers take
    /// CREATE USER and row policies instead.
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_USERS_DIR")]
    pub clickhouse_users_dir: Option<PathBuf>,
    /// Print the statements a current server (SQL access control: CREATE USER, GRANT, a
    /// row policy per table) would run, and change nothing.
    #[arg(long)]
    pub print_sql: bool,
    /// How long to wait for the server to let the new user in.
    #[arg(long, default_value_t = 30)]
    pub wait_seconds: u64,
    #[command(flatten)]
    pub grafana: GrafanaApiArgs,
    /// Where Grafana's ClickHouse plugin reaches ClickHouse (native protocol), for the
    /// organisation's data source.
    #[arg(long, env = "WOWLOGS_GRAFANA_CLICKHOUSE_HOST", default_value = "clickhouse")]
    pub grafana_clickhouse_host: String,
    /// Its native-protocol port.
    #[arg(long, env = "WOWLOGS_GRAFANA_CLICKHOUSE_PORT", default_value_t = 9000)]
    pub grafana_clickhouse_port: u16,
    /// A Grafana user (login or e-mail) to make a viewer of the organisation; repeatable.
    #[arg(long = "viewer")]
    pub viewers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The guild.
    #[arg(long)]
    pub guild: i64,
    /// The server's users.d directory (see `grant`).
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_USERS_DIR")]
    pub clickhouse_users_dir: Option<PathBuf>,
    #[command(flatten)]
    pub grafana: GrafanaApiArgs,
}

/// 24 random bytes as hex.
fn generated_password() -> Result<String> {
    let mut secret = [0u8; 24];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(secret))
}

pub fn run(args: &GrafanaArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        match &args.command {
            GrafanaCommand::Grant(grant) => {
                let settings = grant.store.settings();
                let (password, generated) = match &grant.password_file {
                    Some(path) => {
                        let text = std::fs::read_to_string(path)
                            .with_context(|| format!("reading the password from {}", path.display()))?;
                        let line = text.lines().next().unwrap_or("").to_string();
                        anyhow::ensure!(!line.is_empty(), "{} holds no password", path.display());
                        (line, false)
                    }
                    None => (generated_password()?, true),
                };
                let access = GuildAccess::new(&settings, grant.guild, &password);
                let grafana = grant.grafana.grafana()?;
                if grant.print_sql {
                    for statement in access.statements(&settings, AccessMode::Sql) {
                        println!("{statement};\n");
                    }
                    return Ok(());
                }
                let mode = grant_guild(&settings, &access, grant.clickhouse_users_dir.as_deref())
                    .await
                    .with_context(|| format!("granting guild {} its analytics access", grant.guild))?;
                await_access(&settings, &access, &password, Duration::from_secs(grant.wait_seconds)).await?;
                let mut answer = serde_json::json!({
                    "guild_id": grant.guild,
                    "user": access.user,
                    "database": access.database,
                    "access": format!("{mode:?}"),
                });
                if let Some(grafana) = &grafana {
                    let clickhouse = organisation::ClickHouseFromGrafana {
                        host: grant.grafana_clickhouse_host.clone(),
                        port: grant.grafana_clickhouse_port,
                    };
                    let plan = organisation::plan(&access, &password, &clickhouse, &grant.viewers)?;
                    let org = organisation::apply(grafana, &plan)
                        .await
                        .with_context(|| format!("making guild {}'s Grafana organisation", grant.guild))?;
                    answer["grafana_org_id"] = org.into();
                    answer["grafana_org"] = plan.name.into();
                }
                if generated {
                    answer["password"] = password.into();
                }
                println!("{answer}");
            }
            GrafanaCommand::Revoke(revoke) => {
                let settings = revoke.store.settings();
                let access = GuildAccess::new(&settings, revoke.guild, "");
                let grafana = revoke.grafana.grafana()?;
                revoke_guild(&settings, &access, revoke.clickhouse_users_dir.as_deref())
                    .await
                    .with_context(|| format!("revoking guild {}'s analytics access", revoke.guild))?;
                let mut answer = serde_json::json!({"guild_id": revoke.guild, "revoked": access.user});
                if let Some(grafana) = &grafana {
                    let removed = organisation::remove(grafana, revoke.guild)
                        .await
                        .with_context(|| format!("removing guild {}'s Grafana organisation", revoke.guild))?;
                    answer["grafana_org_removed"] = removed.into();
                }
                println!("{answer}");
            }
        }
        Ok(())
    })
}
