//! Is the broker there: what health endpoints ask.

use crate::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Asks the brokers for metadata with one client made on first use and kept: a health
/// endpoint polled often (or flooded) does not build a Kafka client per request.
pub struct BrokerProbe {
    settings: KafkaSettings,
    client: Mutex<Option<Arc<BaseConsumer>>>,
}

impl BrokerProbe {
    pub fn new(settings: KafkaSettings) -> Self {
        BrokerProbe { settings, client: Mutex::new(None) }
    }

    fn client(&self) -> Result<Arc<BaseConsumer>, String> {
        let mut client = self.client.lock().expect("probe lock");
        if let Some(client) = &*client {
            return Ok(client.clone());
        }
        let made: Arc<BaseConsumer> =
            Arc::new(self.settings.client_config().create().map_err(|e| e.to_string())?);
        *client = Some(made.clone());
        Ok(made)
    }

    /// How long the brokers take to answer a metadata request (at most 3 s), or why they
    /// did not. Runs the blocking request off the async threads.
    pub async fn latency(&self) -> Result<Duration, String> {
        let client = self.client()?;
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            client.fetch_metadata(None, Duration::from_secs(3)).map_err(|e| e.to_string())?;
            Ok(started.elapsed())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}
