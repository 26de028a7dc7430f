//! `wowlogs topics create`: create the contract's topics (idempotent).

use crate::commands::KafkaArgs;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use wowlogs_kafka::{TopicOutcome, ensure_topics};
use wowlogs_schemas::topics::{self, COMBAT_EVENTS};

#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    pub command: TopicsCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create every topic of the contract that does not exist yet (existing ones are left alone).
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// Partitions of `wowlogs.combat-events.v1` and of `wowlogs.uploads.v1`, which are
    /// co-partitioned (one guild always lands on the same partition number of both).
    #[arg(long, env = "WOWLOGS_COMBAT_EVENTS_PARTITIONS", default_value_t = COMBAT_EVENTS.default_partitions)]
    pub combat_events_partitions: i32,

    /// Replication factor (1 for a single local broker; 3 in production).
    #[arg(long, env = "WOWLOGS_TOPIC_REPLICATION", default_value_t = 1)]
    pub replication: i32,
}

pub fn run(args: &TopicsArgs) -> Result<()> {
    let TopicsCommand::Create(create) = &args.command;
    let settings = create.kafka.settings("wowlogs-topics");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcomes = runtime
        .block_on(ensure_topics(
            &settings,
            &topics::ALL,
            |spec| {
                if spec.name == COMBAT_EVENTS.name || spec.name == topics::UPLOADS.name {
                    create.combat_events_partitions
                } else {
                    spec.default_partitions
                }
            },
            create.replication,
        ))
        .with_context(|| format!("creating topics on {}", settings.brokers))?;
    for outcome in outcomes {
        match outcome {
            TopicOutcome::Created { name, partitions } => {
                println!("created {name} ({partitions} partitions)")
            }
            TopicOutcome::AlreadyExisted { name } => println!("exists  {name}"),
        }
    }
    Ok(())
}

/// Creates the topics with their defaults, for commands that need them to exist.
pub fn ensure_defaults(settings: &wowlogs_kafka::KafkaSettings) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime
        .block_on(ensure_topics(settings, &topics::ALL, |spec| spec.default_partitions, 1))
        .with_context(|| format!("creating topics on {}", settings.brokers))?;
    Ok(())
}
