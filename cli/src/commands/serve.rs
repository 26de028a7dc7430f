//! `wowlogs serve`: the upload service (the producer's HTTP intake).

use crate::commands::{EdgeArgs, KafkaArgs, KeyArgs, StoreArgs, serve_internal};
use anyhow::{Context, Result};
use bytesize::ByteSize;
use clap::Args;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;
use wowlogs_http::{serve, shutdown_signal};
use wowlogs_producer::config::{LiveConfig, UploadConfig};
use wowlogs_producer::http::{internal_router, router};
use wowlogs_producer::registry::LogRegistry;
use wowlogs_producer::state::AppState;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// Address to listen on.
    #[arg(long, env = "WOWLOGS_PRODUCER_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,

    /// The guild and API key registry (`wowlogs guild create`, `wowlogs api-key create`).
    #[command(flatten)]
    pub store: StoreArgs,

    /// Internal address of `/metrics` (and health, for probes): not behind the public
    /// entry point. Empty: none.
    #[arg(long, env = "WOWLOGS_PRODUCER_METRICS_LISTEN", default_value = "127.0.0.1:9461")]
    pub metrics_listen: String,

    #[command(flatten)]
    pub keys: KeyArgs,

    #[command(flatten)]
    pub edge: EdgeArgs,

    /// Largest accepted upload (as sent, compressed or not).
    #[arg(long, env = "WOWLOGS_MAX_UPLOAD_BYTES", default_value = "4GiB")]
    pub max_upload: ByteSize,

    /// Events each guild may publish per minute over all its keys (each key also has its
    /// own `--events-per-minute`); uploads are throttled to it, and a guild over it gets
    /// 429 with Retry-After.
    #[arg(long, env = "WOWLOGS_GUILD_EVENTS_PER_MINUTE", default_value_t = NonZeroU32::new(6_000_000).expect("non-zero"))]
    pub guild_events_per_minute: NonZeroU32,

    /// Upload requests each guild may make per minute over all its keys, whatever their
    /// outcome: refused uploads count too, so a client sending bad files in a loop is
    /// answered 429 (with Retry-After) before its bodies are read or statuses published.
    #[arg(long, env = "WOWLOGS_GUILD_UPLOADS_PER_MINUTE", default_value_t = NonZeroU32::new(60).expect("non-zero"))]
    pub guild_uploads_per_minute: NonZeroU32,

    /// Largest size an upload may expand to once decompressed (its logs together; 413
    /// beyond). Past 64 MiB an upload may also not expand more than 100 times the size
    /// sent: a decompression bomb is refused as it expands.
    #[arg(long, env = "WOWLOGS_MAX_DECOMPRESSED_BYTES", default_value = "16GiB")]
    pub max_decompressed: bytesize::ByteSize,

    /// Logs one upload may hold (a zip's entries; 413 beyond, before anything is
    /// published). Years of logs go through `wowlogs import`, which resumes and reports
    /// per log.
    #[arg(long, env = "WOWLOGS_MAX_LOGS_PER_UPLOAD", default_value_t = 1_000)]
    pub max_logs_per_upload: usize,

    /// What each guild's uploads may expand to per hour, together (a bucket refilled over
    /// the hour): beyond, 429 with Retry-After; one upload larger than it, 413.
    #[arg(long, env = "WOWLOGS_GUILD_DECOMPRESSED_BYTES_PER_HOUR", default_value = "64GiB")]
    pub guild_decompressed_per_hour: ByteSize,

    /// Upload service replicas behind the entry point. They share the per-guild and
    /// per-key limits: each enforces the limit divided by this (at least 1), so the
    /// limits hold whichever replica an upload reaches. Set it to the replica count.
    #[arg(long, env = "WOWLOGS_PRODUCER_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub replicas: u32,

    /// Uploads in progress at once over every guild, from the first byte received to the
    /// last event published (429 with Retry-After beyond).
    #[arg(long, env = "WOWLOGS_MAX_CONCURRENT_UPLOADS", default_value_t = 64)]
    pub max_concurrent_uploads: usize,

    /// Uploads in progress at once per guild (429 with Retry-After beyond).
    #[arg(long, env = "WOWLOGS_MAX_CONCURRENT_UPLOADS_PER_GUILD", default_value_t = 4)]
    pub max_concurrent_uploads_per_guild: usize,

    /// Where upload bodies are spooled while being hashed and parsed (default: the system temp dir).
    #[arg(long, env = "WOWLOGS_SPOOL_DIR")]
    pub spool_dir: Option<PathBuf>,

    /// Bytes the uploads in progress may hold in the spool together; an upload that
    /// would exceed it is refused with 507 (keep it below the spool volume's size).
    #[arg(long, env = "WOWLOGS_SPOOL_MAX_BYTES", default_value = "16GiB")]
    pub spool_max: ByteSize,

    /// Bytes one guild's uploads in progress may hold in the spool together (429 with
    /// Retry-After beyond): one guild's slow uploads cannot fill it for the others.
    #[arg(long, env = "WOWLOGS_SPOOL_MAX_BYTES_PER_GUILD", default_value = "4GiB")]
    pub spool_max_per_guild: ByteSize,

    /// Longest wait for the next piece of an upload's body, in milliseconds (408 beyond):
    /// a client that stalls mid-upload gives its slot and spool back.
    #[arg(long, env = "WOWLOGS_BODY_IDLE_TIMEOUT_MS", default_value_t = 30_000)]
    pub body_idle_timeout_ms: u64,

    /// Longest an upload's whole body may take to arrive, in milliseconds (408 beyond):
    /// a client trickling a byte now and then gives its slot and spool back too.
    #[arg(long, env = "WOWLOGS_BODY_TIMEOUT_MS", default_value_t = 3_600_000)]
    pub body_timeout_ms: u64,

    /// Unacknowledged messages per upload before parsing waits for the broker.
    #[arg(long, env = "WOWLOGS_MAX_IN_FLIGHT", default_value_t = 200_000)]
    pub max_in_flight: usize,

    /// Threads parsing each log of an upload. 1 keeps every guild's uploads on an equal
    /// share of the cores; more speeds up a lone large upload at the others' expense.
    /// Live sessions always parse on one.
    #[arg(long, env = "WOWLOGS_PARSE_THREADS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parse_threads: u16,

    /// A live session (`wowlogs watch`) without a chunk for this many seconds is parked:
    /// its thread is given back and its log left open (the watcher, or an upload of the
    /// whole file, goes on with it).
    #[arg(long, env = "WOWLOGS_LIVE_IDLE_SECS", default_value_t = 600)]
    pub live_idle_secs: u64,

    /// Files followed live at once by this process, over every guild (each holds a
    /// thread while its file is written; 429 beyond).
    #[arg(long, env = "WOWLOGS_LIVE_SESSIONS", default_value_t = 200)]
    pub live_sessions: usize,

    /// Files one guild may follow live at once (shared by the replicas; 429 beyond).
    #[arg(long, env = "WOWLOGS_LIVE_SESSIONS_PER_GUILD", default_value_t = 4)]
    pub live_sessions_per_guild: usize,

    /// Largest chunk of a live session (413 beyond).
    #[arg(long, env = "WOWLOGS_LIVE_MAX_CHUNK_BYTES", default_value = "8MiB")]
    pub live_max_chunk: ByteSize,
}

pub fn run(args: &ServeArgs) -> Result<()> {
    let edge = args.edge.edge()?;
    args.keys.periods()?;
    for (value, name) in [
        (args.body_idle_timeout_ms, "WOWLOGS_BODY_IDLE_TIMEOUT_MS"),
        (args.body_timeout_ms, "WOWLOGS_BODY_TIMEOUT_MS"),
        (args.spool_max_per_guild.as_u64(), "WOWLOGS_SPOOL_MAX_BYTES_PER_GUILD"),
        (args.max_concurrent_uploads as u64, "WOWLOGS_MAX_CONCURRENT_UPLOADS"),
        (args.max_concurrent_uploads_per_guild as u64, "WOWLOGS_MAX_CONCURRENT_UPLOADS_PER_GUILD"),
        (args.spool_max.as_u64(), "WOWLOGS_SPOOL_MAX_BYTES"),
        (args.max_upload.as_u64(), "WOWLOGS_MAX_UPLOAD_BYTES"),
        (args.guild_decompressed_per_hour.as_u64(), "WOWLOGS_GUILD_DECOMPRESSED_BYTES_PER_HOUR"),
        (args.live_idle_secs, "WOWLOGS_LIVE_IDLE_SECS"),
        (args.live_sessions as u64, "WOWLOGS_LIVE_SESSIONS"),
        (args.live_sessions_per_guild as u64, "WOWLOGS_LIVE_SESSIONS_PER_GUILD"),
        (args.live_max_chunk.as_u64(), "WOWLOGS_LIVE_MAX_CHUNK_BYTES"),
    ] {
        anyhow::ensure!(value > 0, "{name} must be above 0: with 0 no upload could ever be taken");
    }
    let settings = args.kafka.settings("wowlogs-producer");
    crate::commands::topics::ensure_defaults(&settings)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let keys = args.keys.load(&args.store).await?;
        let producer = settings.producer_config().create().context("creating the Kafka producer")?;
        let config = UploadConfig {
            max_upload_bytes: args.max_upload.as_u64(),
            max_decompressed_bytes: args.max_decompressed.as_u64(),
            max_logs_per_upload: args.max_logs_per_upload,
            max_concurrent_uploads: args.max_concurrent_uploads,
            max_concurrent_uploads_per_guild: args.max_concurrent_uploads_per_guild,
            guild_events_per_minute: args.guild_events_per_minute,
            guild_uploads_per_minute: args.guild_uploads_per_minute,
            spool_dir: args.spool_dir.clone().unwrap_or_else(std::env::temp_dir),
            max_in_flight: args.max_in_flight,
            parse_threads: usize::from(args.parse_threads),
            max_spool_bytes: args.spool_max.as_u64(),
            max_spool_bytes_per_guild: args.spool_max_per_guild.as_u64(),
            body_idle_timeout: Duration::from_millis(args.body_idle_timeout_ms),
            body_timeout: Duration::from_millis(args.body_timeout_ms),
            guild_decompressed_per_hour: args.guild_decompressed_per_hour.as_u64(),
            replicas: args.replicas,
            live: LiveConfig {
                idle: Duration::from_secs(args.live_idle_secs),
                max_sessions: args.live_sessions,
                max_sessions_per_guild: args.live_sessions_per_guild,
                max_chunk_bytes: args.live_max_chunk.as_u64().min(usize::MAX as u64) as usize,
            },
        };
        let auditor = wowlogs_tenancy::Auditor::start(wowlogs_tenancy::Registry::new(args.store.settings()));
        let state = AppState::new(keys, LogRegistry::default(), producer, settings.clone(), config)
            .with_auditor(auditor);
        // Every replica's uploads, and the importers', from the uploads topic: read to its
        // end before serving, then followed.
        match tokio::time::timeout(Duration::from_secs(300), state.follow_uploads(settings)).await {
            Ok(Ok(Ok(()))) => tracing::info!("upload history read; following the uploads topic"),
            Ok(Ok(Err(error))) => anyhow::bail!("reading the uploads topic: {error}"),
            Ok(Err(_)) => anyhow::bail!("the uploads topic follower stopped before reading it to its end"),
            Err(_) => anyhow::bail!("the uploads topic was not read to its end within 300 s"),
        }
        serve_internal(&args.metrics_listen, "upload service", internal_router(state.clone())).await?;
        state.park_idle_sessions_every(Duration::from_secs(5));
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        tracing::info!(address = %args.listen, "upload service listening");
        eprintln!("upload service on http://{}", args.listen);
        serve(listener, edge.public(router(state.clone())), edge.limits.clone(), shutdown_signal()).await?;
        tracing::info!("shutting down: waiting for uploads in progress");
        state.drain().await;
        Ok(())
    })
}
