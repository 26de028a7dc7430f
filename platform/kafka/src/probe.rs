//! Is the broker there: what health endpoints ask.

use crate::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::time::{Duration, Instant};

/// How long the brokers take to answer a metadata request (at most 3 s), or why they
/// did not. Runs the blocking request off the async threads.
pub async fn broker_latency(settings: &KafkaSettings) -> Result<Duration, String> {
    let settings = settings.clone();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let consumer: BaseConsumer = settings.client_config().create().map_err(|e| e.to_string())?;
        consumer.fetch_metadata(None, Duration::from_secs(3)).map_err(|e| e.to_string())?;
        Ok(started.elapsed())
    })
    .await
    .map_err(|e| e.to_string())?
}
