//! One module per subcommand.

pub mod analyze;
pub mod import;
pub mod serve;
pub mod synth;
pub mod topics;

use clap::Args;
use wowlogs_kafka::KafkaSettings;

/// Where the Kafka brokers are.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers (`host:port,...`).
    #[arg(long, env = "WOWLOGS_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
}

impl KafkaArgs {
    pub fn settings(&self, client_id: &str) -> KafkaSettings {
        KafkaSettings::new(self.brokers.clone(), client_id)
    }
}
