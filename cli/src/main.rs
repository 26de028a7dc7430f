use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use wowlogs_cli::commands::{
    analyze, backup, consume, grafana, healthcheck, import, migrate, progress, query_api, rebuild, replay,
    retention, serve, synth, tail, tenancy, topics, watch,
};
use wowlogs_cli::telemetry::{self, LogFormat};

/// mimalloc rather than glibc's malloc: blocks of lines parsed on one thread are freed on
/// another, which glibc serialises (2 parsing threads were slower than 1 with it;
/// BENCHMARKS.md, "One log on several threads").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// wowlogs: World of Warcraft combat logs into encounters and per-player metrics.
///
/// Analyze a WoWCombatLog.txt locally with no servers (`wowlogs analyze`), publish logs
/// to the pipeline's Kafka topics (`wowlogs import`), or generate large synthetic logs
/// for benchmarks (`wowlogs synth`).
#[derive(Debug, Parser)]
#[command(name = "wowlogs", version, propagate_version = true)]
struct Cli {
    /// Log filter for diagnostics on standard error (e.g. `info`, `wowlogs=debug`).
    #[arg(long, global = true, env = "WOWLOGS_LOG", default_value = "warn")]
    log: String,

    /// Diagnostics format: `text` for people, `json` (one object per line, with the
    /// structured fields) for log pipelines.
    #[arg(long, global = true, env = "WOWLOGS_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse logs and print every fight: players by damage, healing, deaths and the death recap.
    Analyze(analyze::AnalyzeArgs),
    /// Write a synthetic raid log (20 players, pets, kills and wipes) of a given size.
    Synth(synth::SynthArgs),
    /// Manage the Kafka topics of the event contract.
    Topics(topics::TopicsArgs),
    /// Print the topics' records, decoded, as NDJSON (one guild's, some topics, from the
    /// beginning or from now on): what a subscriber receives.
    Tail(tail::TailArgs),
    /// Publish historical logs (files, folders, globs; .txt, .gz, .zip) to the topics for a guild.
    Import(import::ImportArgs),
    /// Follow the game's log folder during a raid: each pull on the server (or analysed
    /// here with --local) as the game writes it.
    Watch(watch::WatchArgs),
    /// Write a real log into a folder the way the game writes it during a raid.
    Replay(replay::ReplayArgs),
    /// Run the upload service: POST /api/v1/logs/upload, GET /api/v1/uploads/{id}, health, metrics.
    Serve(serve::ServeArgs),
    /// Run the query API: guild-scoped encounters, characters, progress, logs, admin,
    /// the live WebSocket feed, /openapi.json and /docs.
    QueryApi(query_api::QueryApiArgs),
    /// Apply the ClickHouse schema migrations that are not applied yet (safe to repeat).
    Migrate(migrate::MigrateArgs),
    /// Run a consumer group that fills ClickHouse from the topics.
    Consume(consume::ConsumeArgs),
    /// Rebuild a consumer group's tables from the beginning of its topics, then swap them in.
    Rebuild(rebuild::RebuildArgs),
    /// Remove each guild's logs older than its policy (from upload), whole, audited.
    Retention(retention::RetentionArgs),
    /// The guild progress plan: seed weekly targets, set a guild's roster, roadmap, message.
    Progress(progress::ProgressArgs),
    /// Back up the event log and tenancy rows (one guild's or all) as Avro files.
    Backup(backup::BackupArgs),
    /// Publish a backup again (checked first) so the consumers make every table from it.
    Restore(backup::RestoreArgs),
    /// Give a guild's analysts their own ClickHouse user and database for Grafana, or take them away.
    Grafana(grafana::GrafanaArgs),
    /// Manage guilds (tenants): create, update, deactivate, transfer encounters, list.
    Guild(tenancy::GuildArgs),
    /// Manage a guild's API keys: create (printed once), list, revoke.
    ApiKey(tenancy::ApiKeyArgs),
    /// GET a service's health endpoint; exit 0 on 2xx (container health checks).
    Healthcheck(healthcheck::HealthcheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = if cli.log_format == "json" { LogFormat::Json } else { LogFormat::Text };
    let telemetry = match telemetry::init(&cli.log, format, &cli.command.service_name()) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    tracing::debug!(otlp = telemetry.exporting(), "diagnostics installed");
    let outcome = run(&cli.command);
    drop(telemetry); // flushes the spans not exported yet
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Users get the message chain, not a backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

impl Command {
    /// The OpenTelemetry service name (`OTEL_SERVICE_NAME` overrides it).
    fn service_name(&self) -> String {
        let name = match self {
            Command::Analyze(_) => "analyze",
            Command::Synth(_) => "synth",
            Command::Topics(_) => "topics",
            Command::Tail(_) => "tail",
            Command::Import(_) => "import",
            Command::Watch(_) => "watch",
            Command::Replay(_) => "replay",
            Command::Serve(_) => "producer",
            Command::QueryApi(_) => "query-api",
            Command::Migrate(_) => "migrate",
            Command::Consume(args) => args.group.args().1,
            Command::Rebuild(_) => "rebuild",
            Command::Retention(_) => "retention",
            Command::Progress(_) => "progress",
            Command::Grafana(_) => "grafana",
            Command::Backup(_) => "backup",
            Command::Restore(_) => "restore",
            Command::Guild(_) | Command::ApiKey(_) => "admin",
            Command::Healthcheck(_) => "healthcheck",
        };
        let name = name.strip_prefix("wowlogs-").unwrap_or(name);
        format!("wowlogs-{name}")
    }
}

fn run(command: &Command) -> Result<()> {
    match command {
        Command::Analyze(args) => analyze::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Topics(args) => topics::run(args),
        Command::Tail(args) => tail::run(args),
        Command::Import(args) => import::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Serve(args) => serve::run(args),
        Command::QueryApi(args) => query_api::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Consume(args) => consume::run_command(args),
        Command::Rebuild(args) => rebuild::run(args),
        Command::Retention(args) => retention::run(args),
        Command::Progress(args) => progress::run(args),
        Command::Grafana(args) => grafana::run(args),
        Command::Backup(args) => backup::run_backup(args),
        Command::Restore(args) => backup::run_restore(args),
        Command::Guild(args) => tenancy::run_guild(args),
        Command::ApiKey(args) => tenancy::run_api_key(args),
        Command::Healthcheck(args) => healthcheck::run(args),
    }
}
