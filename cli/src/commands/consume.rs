//! `wowlogs consume`: run a consumer group that fills ClickHouse from the topics.

use crate::commands::{KafkaArgs, StoreArgs};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::time::Duration;
use wowlogs_consumers::events_sink::{SinkConfig, run};

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(subcommand)]
    pub group: Group,
}

#[derive(Debug, Subcommand)]
pub enum Group {
    /// `wowlogs-events-sink`: combat events, upload statuses and dead letters into ClickHouse.
    EventsSink(EventsSinkArgs),
}

#[derive(Debug, Args)]
pub struct EventsSinkArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Consumer group id.
    #[arg(long, env = "WOWLOGS_EVENTS_SINK_GROUP", default_value = "wowlogs-events-sink")]
    pub group_id: String,
    /// Rows buffered before an insert.
    #[arg(long, env = "WOWLOGS_SINK_BATCH_ROWS", default_value_t = 100_000)]
    pub batch_rows: usize,
    /// Longest time, in milliseconds, a row waits for its insert.
    #[arg(long, env = "WOWLOGS_SINK_BATCH_AGE_MS", default_value_t = 1_000)]
    pub batch_age_ms: u64,
    /// Consumer group session timeout, in milliseconds.
    #[arg(long, env = "WOWLOGS_SINK_SESSION_TIMEOUT_MS", default_value_t = 30_000)]
    pub session_timeout_ms: u64,
}

pub fn run_command(args: &ConsumeArgs) -> Result<()> {
    let Group::EventsSink(sink) = &args.group;
    let config = SinkConfig {
        kafka: sink.kafka.settings("wowlogs-events-sink"),
        store: sink.store.settings(),
        group_id: sink.group_id.clone(),
        batch_rows: sink.batch_rows,
        batch_age: Duration::from_millis(sink.batch_age_ms),
        session_timeout: Duration::from_millis(sink.session_timeout_ms),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        wowlogs_store::migrate(&config.store).await.context("migrating ClickHouse")?;
        tracing::info!(group = config.group_id, "events sink running");
        run(config, crate::commands::serve::shutdown_signal()).await.context("events sink")?;
        Ok(())
    })
}
