//! Idempotent topic creation, and a check of the topics as the broker has them.

use crate::KafkaSettings;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::time::Duration;
use wowlogs_schemas::topics::TopicSpec;

/// What happened to one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicOutcome {
    Created { name: String, partitions: i32 },
    AlreadyExisted { name: String },
}

/// The `min.insync.replicas` that goes with a replication factor: a write is
/// acknowledged by two replicas when there are three (one broker may be lost with no
/// acknowledged write lost, and writes go on), by the one there is otherwise.
pub fn min_insync_replicas(replication: i32) -> i32 {
    (replication - 1).clamp(1, 2)
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
/// `partitions` gives each topic's partition count (the spec's default otherwise); each
/// is created with its contract's settings and [`min_insync_replicas`].
pub async fn ensure_topics(
    settings: &KafkaSettings,
    topics: &[TopicSpec],
    partitions: impl Fn(&TopicSpec) -> i32,
    replication: i32,
) -> Result<Vec<TopicOutcome>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = settings.client_config().create()?;
    let counts: Vec<i32> = topics.iter().map(&partitions).collect();
    let min_insync = min_insync_replicas(replication).to_string();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&counts)
        .map(|(spec, &count)| {
            spec.config
                .iter()
                .fold(
                    NewTopic::new(spec.name, count, TopicReplication::Fixed(replication)),
                    |topic, (key, value)| topic.set(key, value),
                )
                .set("min.insync.replicas", &min_insync)
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics(&new_topics, &options).await?;
    let mut outcomes = Vec::with_capacity(results.len());
    for (result, &count) in results.into_iter().zip(&counts) {
        match result {
            Ok(name) => outcomes.push(TopicOutcome::Created { name, partitions: count }),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                outcomes.push(TopicOutcome::AlreadyExisted { name })
            }
            Err((name, code)) => {
                tracing::error!(topic = %name, error = %code, "topic creation failed");
                return Err(KafkaError::AdminOp(code));
            }
        }
    }
    Ok(outcomes)
}

/// One topic as the broker has it, against the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCheck {
    pub name: &'static str,
    /// Partitions and replicas per partition (the fewest); `None`: no such topic.
    pub layout: Option<(usize, usize)>,
    /// `(setting, wanted, found)` for each setting that differs; `found` is `None` when
    /// the broker does not report it.
    pub differences: Vec<(String, String, Option<String>)>,
}

impl TopicCheck {
    /// The topic exists and every setting the broker reports is the contract's.
    pub fn holds(&self) -> bool {
        self.layout.is_some() && self.differences.iter().all(|(_, _, found)| found.is_none())
    }
}

/// Compares each topic on the broker with the contract: it exists, has `replication`
/// replicas per partition, and its configuration holds the contract's settings and
/// [`min_insync_replicas`]. (Partition counts are the operator's choice and are only
/// reported.)
pub async fn check_topics(
    settings: &KafkaSettings,
    topics: &[wowlogs_schemas::topics::TopicSpec],
    replication: i32,
) -> Result<Vec<TopicCheck>, KafkaError> {
    let consumer: BaseConsumer = settings.client_config().create()?;
    let metadata = consumer.fetch_metadata(None, Duration::from_secs(30))?;
    let admin: AdminClient<DefaultClientContext> = settings.client_config().create()?;
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(30)));
    let mut checks = Vec::with_capacity(topics.len());
    for spec in topics {
        let layout =
            metadata.topics().iter().find(|t| t.name() == spec.name && t.error().is_none()).map(|t| {
                let replicas = t.partitions().iter().map(|p| p.replicas().len()).min().unwrap_or(0);
                (t.partitions().len(), replicas)
            });
        let mut differences = Vec::new();
        if let Some((_, replicas)) = layout {
            if replicas != replication as usize {
                differences.push(("replication".into(), replication.to_string(), Some(replicas.to_string())));
            }
            let described = admin.describe_configs(&[ResourceSpecifier::Topic(spec.name)], &options).await?;
            let config = described.into_iter().next().and_then(Result::ok);
            let min_insync = min_insync_replicas(replication).to_string();
            let wanted = spec
                .config
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .chain([("min.insync.replicas", min_insync)]);
            for (key, value) in wanted {
                let found = config.as_ref().and_then(|c| c.get(key)).and_then(|e| e.value.clone());
                if found.as_deref() != Some(value.as_str()) {
                    differences.push((key.to_string(), value, found));
                }
            }
        }
        checks.push(TopicCheck { name: spec.name, layout, differences });
    }
    Ok(checks)
}
