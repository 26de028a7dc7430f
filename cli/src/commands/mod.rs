//! One module per subcommand.

pub mod analyze;
pub mod consume;
pub mod healthcheck;
pub mod import;
pub mod migrate;
pub mod query_api;
pub mod rebuild;
pub mod retention;
pub mod serve;
pub mod synth;
pub mod tenancy;
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

/// Where ClickHouse is.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// ClickHouse HTTP endpoint.
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_URL", default_value = "http://127.0.0.1:8123")]
    pub clickhouse_url: String,
    /// Database holding the wowlogs tables.
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_DATABASE", default_value = "wowlogs")]
    pub database: String,
    /// ClickHouse user.
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_USER")]
    pub clickhouse_user: Option<String>,
    /// ClickHouse password.
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_PASSWORD", hide_env_values = true)]
    pub clickhouse_password: Option<String>,
}

impl StoreArgs {
    pub fn settings(&self) -> wowlogs_store::StoreSettings {
        wowlogs_store::StoreSettings {
            user: self.clickhouse_user.clone(),
            password: self.clickhouse_password.clone(),
            ..wowlogs_store::StoreSettings::new(self.clickhouse_url.clone(), self.database.clone())
        }
    }
}

impl KafkaArgs {
    pub fn settings(&self, client_id: &str) -> KafkaSettings {
        KafkaSettings::new(self.brokers.clone(), client_id)
    }
}
