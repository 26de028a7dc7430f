//! `wowlogs topics create|check`: create the contract's topics (idempotent), and check
//! the broker's topics against the contract.

use crate::commands::KafkaArgs;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::time::Duration;
use wowlogs_kafka::{TopicOutcome, check_topics, ensure_topics};
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
    /// Check the broker's topics against the contract: each exists with the replication
    /// factor, keeps every record (`retention.ms=-1`, `retention.bytes=-1`) and has
    /// `min.insync.replicas` 2 with 3 replicas (1 otherwise). Exits 1 when one differs.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// The replication factor the topics must have (1 for a single local broker; 3 in
    /// production).
    #[arg(long, env = "WOWLOGS_TOPIC_REPLICATION", default_value_t = 1)]
    pub replication: i32,
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
    let create = match &args.command {
        TopicsCommand::Create(create) => create,
        TopicsCommand::Check(check) => return run_check(check),
    };
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
    for outcome in &outcomes {
        match outcome {
            TopicOutcome::Created { name, partitions } => {
                println!("created {name} ({partitions} partitions)")
            }
            TopicOutcome::AlreadyExisted { name } => println!("exists  {name}"),
        }
    }
    if let Some(copied) = backfill_if_created(&settings, &outcomes)? {
        println!(
            "filled {} with the {copied} statuses of {}",
            topics::UPLOAD_STATE.name,
            topics::UPLOADS.name
        );
    }
    Ok(())
}

/// A deployment whose uploads predate the compacted upload-state topic: when that topic
/// was just created, it gets every status the uploads topic holds (the upload service
/// reads which logs exist from it). `None` when it existed already.
fn backfill_if_created(
    settings: &wowlogs_kafka::KafkaSettings,
    outcomes: &[TopicOutcome],
) -> Result<Option<u64>> {
    let created = outcomes
        .iter()
        .any(|o| matches!(o, TopicOutcome::Created { name, .. } if *name == topics::UPLOAD_STATE.name));
    if !created {
        return Ok(None);
    }
    let producer = settings.producer_config().create().context("creating the Kafka producer")?;
    let copied =
        wowlogs_producer::registry::backfill_upload_state(settings, producer, Duration::from_secs(3600))
            .with_context(|| {
                format!("filling {} from {}", topics::UPLOAD_STATE.name, topics::UPLOADS.name)
            })?;
    Ok(Some(copied))
}

fn run_check(args: &CheckArgs) -> Result<()> {
    let settings = args.kafka.settings("wowlogs-topics");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let checks = runtime
        .block_on(check_topics(&settings, &topics::ALL, args.replication))
        .with_context(|| format!("reading the topics of {}", settings.brokers))?;
    let mut failed = 0;
    for check in &checks {
        let Some((partitions, replicas)) = check.layout else {
            println!("missing {} (wowlogs topics create)", check.name);
            failed += 1;
            continue;
        };
        let verdict = if check.holds() { "ok     " } else { "differs" };
        println!("{verdict} {} ({partitions} partitions, {replicas} replicas)", check.name);
        for (setting, wanted, found) in &check.differences {
            match found {
                Some(found) => println!("          {setting} = {found}, the contract wants {wanted}"),
                None => {
                    println!("          {setting}: not reported by the broker (the contract wants {wanted})")
                }
            }
        }
        failed += usize::from(!check.holds());
    }
    anyhow::ensure!(failed == 0, "{failed} of {} topics differ from the contract", checks.len());
    Ok(())
}

/// Creates the topics with their defaults, for commands that need them to exist.
pub fn ensure_defaults(settings: &wowlogs_kafka::KafkaSettings) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcomes = runtime
        .block_on(ensure_topics(settings, &topics::ALL, |spec| spec.default_partitions, 1))
        .with_context(|| format!("creating topics on {}", settings.brokers))?;
    if let Some(copied) = backfill_if_created(settings, &outcomes)? {
        tracing::info!(
            copied,
            topic = topics::UPLOAD_STATE.name,
            "filled the upload-state topic from the uploads topic"
        );
    }
    Ok(())
}
