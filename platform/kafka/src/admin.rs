//! Idempotent topic creation.

use crate::KafkaSettings;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::time::Duration;
use wowlogs_schemas::topics::TopicSpec;

/// What happened to one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicOutcome {
    Created { name: String, partitions: i32 },
    AlreadyExisted { name: String },
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
/// `partitions` gives each topic's partition count (the spec's default otherwise).
pub async fn ensure_topics(
    settings: &KafkaSettings,
    topics: &[TopicSpec],
    partitions: impl Fn(&TopicSpec) -> i32,
    replication: i32,
) -> Result<Vec<TopicOutcome>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = settings.client_config().create()?;
    let counts: Vec<i32> = topics.iter().map(&partitions).collect();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&counts)
        .map(|(spec, &count)| {
            spec.config.iter().fold(
                NewTopic::new(spec.name, count, TopicReplication::Fixed(replication)),
                |topic, (key, value)| topic.set(key, value),
            )
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
