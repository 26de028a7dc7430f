//! `wowlogs consume`: run a consumer group that fills ClickHouse from the topics.

use crate::commands::{KafkaArgs, StoreArgs};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::time::Duration;
use wowlogs_consumers::group::GroupConfig;
use wowlogs_consumers::metrics::ConsumerMetrics;
use wowlogs_consumers::{encounters, events_sink};

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(subcommand)]
    pub group: Group,
}

#[derive(Debug, Subcommand)]
pub enum Group {
    /// `wowlogs-events-sink`: combat events, upload statuses and dead letters into
    /// `combat_events`, `logs` and `dead_letters`.
    EventsSink(GroupArgs),
    /// `wowlogs-encounters`: fights, their details, player metrics, deaths and characters
    /// into `encounters`, `encounter_details`, `encounter_players`, `encounter_deaths` and
    /// `character_logs`, and
    /// a summary of every completed fight on `wowlogs.encounters.v1`.
    Encounters(GroupArgs),
    /// Both groups in one process, each with its default group id (what a deployment
    /// scales: every replica joins both groups and takes its share of the partitions).
    All(GroupArgs),
}

#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Consumer group id [default: wowlogs-events-sink or wowlogs-encounters]; with `all`,
    /// a prefix: `<id>-events-sink` and `<id>-encounters`.
    #[arg(long, env = "WOWLOGS_CONSUMER_GROUP")]
    pub group_id: Option<String>,
    /// Rows buffered before an insert.
    #[arg(long, env = "WOWLOGS_CONSUMER_BATCH_ROWS", default_value_t = 100_000)]
    pub batch_rows: usize,
    /// Bytes of records buffered before an insert (with the rows, what bounds a
    /// consumer's memory whatever the records hold).
    #[arg(long, env = "WOWLOGS_CONSUMER_BATCH_BYTES", default_value = "16MiB")]
    pub batch_bytes: bytesize::ByteSize,
    /// A log that has read no record for this long (milliseconds) is closed as
    /// incomplete by the encounter consumer: an upload or import that died never sends
    /// its end, and an open log holds its partition's committed offset back.
    #[arg(long, env = "WOWLOGS_CONSUMER_LOG_IDLE_MS", default_value_t = 900_000)]
    pub log_idle_ms: u64,
    /// The same for a log followed live (`wowlogs watch`), whose raid may break for a
    /// while and go on: closed as incomplete only after this long without a record.
    #[arg(long, env = "WOWLOGS_CONSUMER_LIVE_LOG_IDLE_MS", default_value_t = 3_600_000)]
    pub live_log_idle_ms: u64,
    /// Logs of one guild the encounter consumer holds open at once; a guild's new log
    /// past it closes that guild's least recently active one as incomplete (counted in
    /// `wowlogs_consumer_logs_shed_total`), so no guild can grow a shared consumer
    /// until it is killed.
    #[arg(long, env = "WOWLOGS_CONSUMER_MAX_OPEN_LOGS_PER_GUILD", default_value_t = wowlogs_consumers::encounters::DEFAULT_OPEN_LOGS_PER_GUILD)]
    pub max_open_logs_per_guild: usize,
    /// A stable name for this consumer process (static group membership): a process
    /// restarted after a crash under the same name takes its partitions back at once
    /// instead of waiting for the dead member to expire. Each replica needs its own (the
    /// pod name in Kubernetes, which survives container restarts; `hostname` takes the
    /// machine's, a container's id in Compose); empty: dynamic membership.
    #[arg(long, env = "WOWLOGS_CONSUMER_INSTANCE_ID", default_value = "")]
    pub instance_id: String,
    /// Longest time, in milliseconds, a row waits for its insert.
    #[arg(long, env = "WOWLOGS_CONSUMER_BATCH_AGE_MS", default_value_t = 1_000)]
    pub batch_age_ms: u64,
    /// Consumer group session timeout, in milliseconds.
    #[arg(long, env = "WOWLOGS_CONSUMER_SESSION_TIMEOUT_MS", default_value_t = 30_000)]
    pub session_timeout_ms: u64,
    /// Longest an INSERT may take to send a piece or to be answered, in milliseconds;
    /// past it the insert is retried (with backoff) like any passing failure.
    #[arg(long, env = "WOWLOGS_CONSUMER_INSERT_TIMEOUT_MS", default_value_t = 60_000)]
    pub insert_timeout_ms: u64,
    /// `/health/live` fails (so a supervisor restarts the process) when no record was
    /// read and no insert tried for this long (milliseconds) while messages wait.
    #[arg(long, env = "WOWLOGS_CONSUMER_STALL_MS", default_value_t = 600_000)]
    pub stall_ms: u64,
    /// Where to serve `/health`, `/health/live`, `/health/ready` and `/metrics` (empty: nowhere).
    #[arg(long, env = "WOWLOGS_CONSUMER_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    pub metrics_addr: String,
}

/// Serves `/health`, `/health/live`, `/health/ready` and `/metrics` on `addr` (empty: nowhere).
pub async fn serve_metrics(
    addr: &str,
    service: &'static str,
    metrics: &ConsumerMetrics,
    stall: Duration,
) -> Result<()> {
    if addr.is_empty() {
        return Ok(());
    }
    let addr: SocketAddr = addr.parse().with_context(|| format!("--metrics-addr {addr}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics endpoint on {addr}"))?;
    let state = wowlogs_consumers::state::AppState { service, metrics: metrics.clone(), stall };
    let router = wowlogs_consumers::http::router(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    tracing::info!(%addr, "serving /health, /health/live, /health/ready and /metrics");
    Ok(())
}

impl Group {
    /// The group's arguments and its default group id.
    pub fn args(&self) -> (&GroupArgs, &'static str) {
        match self {
            Group::EventsSink(group) => (group, events_sink::GROUP_ID),
            Group::Encounters(group) => (group, encounters::GROUP_ID),
            Group::All(group) => (group, "wowlogs-consumers"),
        }
    }

    /// The process's name in its health answers.
    pub fn service(&self) -> &'static str {
        match self {
            Group::EventsSink(_) => "events-sink",
            Group::Encounters(_) => "encounters",
            Group::All(_) => "consumers",
        }
    }
}

impl GroupArgs {
    pub fn config(&self, default_group: &str) -> GroupConfig {
        let group_id = self.group_id.clone().unwrap_or_else(|| default_group.to_string());
        // One static member per process and group: the same name serves both groups of `all`.
        let instance_id = instance_name(&self.instance_id).map(|name| format!("{name}-{group_id}"));
        GroupConfig {
            kafka: self.kafka.settings(&group_id),
            store: self.store.settings(),
            registry: self.store.settings(),
            group_id,
            batch_rows: self.batch_rows,
            batch_bytes: self.batch_bytes.as_u64() as usize,
            log_idle: Duration::from_millis(self.log_idle_ms),
            live_log_idle: Duration::from_millis(self.live_log_idle_ms),
            max_open_logs_per_guild: self.max_open_logs_per_guild,
            batch_age: Duration::from_millis(self.batch_age_ms),
            session_timeout: Duration::from_millis(self.session_timeout_ms),
            stop_when_idle: None,
            instance_id,
            insert_timeout: Duration::from_millis(self.insert_timeout_ms),
        }
    }
}

/// The instance name: as given, the machine's host name for `hostname`, none when empty.
fn instance_name(given: &str) -> Option<String> {
    match given {
        "" => None,
        "hostname" => {
            let mut buf = [0u8; 256];
            // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
            // within it on success.
            let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            (ok && end > 0).then(|| String::from_utf8_lossy(&buf[..end]).into_owned())
        }
        name => Some(name.to_string()),
    }
}

pub fn run_command(args: &ConsumeArgs) -> Result<()> {
    let (group, _) = args.group.args();
    let metrics = ConsumerMetrics::new();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        wowlogs_store::migrate(&group.store.settings()).await.context("migrating ClickHouse")?;
        serve_metrics(
            &group.metrics_addr,
            args.group.service(),
            &metrics,
            Duration::from_millis(group.stall_ms),
        )
        .await?;
        let shutdown = wowlogs_http::shutdown_signal;
        // `all` with --group-id: the id is a prefix of both groups' ids.
        let prefixed = |default: &str, suffix: &str| match (&args.group, &group.group_id) {
            (Group::All(_), Some(prefix)) => {
                let mut config = group.config(default);
                config.group_id = format!("{prefix}-{suffix}");
                config.kafka = group.kafka.settings(&config.group_id);
                config
            }
            _ => group.config(default),
        };
        let sink = || {
            let config = prefixed(events_sink::GROUP_ID, "events-sink");
            tracing::info!(group = config.group_id, "consumer group running");
            async { events_sink::run(config, metrics.clone(), shutdown()).await.context("events sink") }
        };
        let fights = || {
            let config = prefixed(encounters::GROUP_ID, "encounters");
            tracing::info!(group = config.group_id, "consumer group running");
            async { encounters::run(config, metrics.clone(), shutdown()).await.context("encounter consumer") }
        };
        match &args.group {
            Group::EventsSink(_) => sink().await?,
            Group::Encounters(_) => fights().await?,
            Group::All(_) => {
                tokio::try_join!(sink(), fights())?;
            }
        }
        tracing::info!("consumer groups stopped: batches written, offsets committed");
        Ok(())
    })
}
