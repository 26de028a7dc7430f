//! One module per subcommand.

pub mod analyze;
pub mod backup;
pub mod consume;
pub mod grafana;
pub mod healthcheck;
pub mod import;
pub mod migrate;
pub mod progress;
pub mod query_api;
pub mod rebuild;
pub mod replay;
pub mod retention;
pub mod serve;
pub mod synth;
pub mod tail;
pub mod tenancy;
pub mod topics;
pub mod watch;

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use std::sync::Arc;
use std::time::Duration;
use wowlogs_kafka::KafkaSettings;
use wowlogs_tenancy::{KeyCache, Registry};

/// Where the Kafka brokers are, and how every client of this process authenticates to
/// them (the same settings for producers, consumers and admin clients).
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers (`host:port,...`).
    #[arg(long, env = "WOWLOGS_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// How clients talk to the brokers: `plaintext` (default), `ssl` (TLS), or
    /// `sasl_plaintext` / `sasl_ssl` (SASL authentication, without or with TLS).
    #[arg(long, env = "WOWLOGS_KAFKA_SECURITY_PROTOCOL", value_parser = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"])]
    pub kafka_security_protocol: Option<String>,
    /// The SASL mechanism (with a `sasl_*` protocol).
    #[arg(long, env = "WOWLOGS_KAFKA_SASL_MECHANISM", value_parser = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])]
    pub kafka_sasl_mechanism: Option<String>,
    /// The SASL user name.
    #[arg(long, env = "WOWLOGS_KAFKA_SASL_USERNAME")]
    pub kafka_sasl_username: Option<String>,
    /// The SASL password.
    #[arg(long, env = "WOWLOGS_KAFKA_SASL_PASSWORD", hide_env_values = true)]
    pub kafka_sasl_password: Option<String>,
    /// A PEM file of the certificate authorities that sign the brokers' certificates
    /// (default: the system's).
    #[arg(long, env = "WOWLOGS_KAFKA_SSL_CA_LOCATION")]
    pub kafka_ssl_ca_location: Option<String>,
    /// How producers compress record batches: `lz4` (default), `snappy`, `gzip`
    /// or `none` (no CPU spent on it, more bytes to the brokers: for a broker on the same
    /// host). Subscribers read every one of them unchanged.
    #[arg(long, env = "WOWLOGS_KAFKA_COMPRESSION", default_value = "lz4", value_parser = wowlogs_kafka::COMPRESSIONS)]
    pub kafka_compression: String,
}

/// Where ClickHouse is.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// ClickHouse HTTP endpoint; it may carry the user and password
    /// (`http://user:password@host:8123`, as the local stack prints it).
    #[arg(
        long,
        env = "WOWLOGS_CLICKHOUSE_URL",
        hide_env_values = true,
        default_value = "http://127.0.0.1:8123"
    )]
    pub clickhouse_url: String,
    /// Database holding the wowlogs tables.
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_DATABASE", default_value = "wowlogs", value_parser = identifier)]
    pub database: String,
    /// ClickHouse user.
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_USER")]
    pub clickhouse_user: Option<String>,
    /// ClickHouse password.
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_PASSWORD", hide_env_values = true)]
    pub clickhouse_password: Option<String>,
    /// The ClickHouse cluster (a `remote_servers` name) holding the tables, sharded by
    /// guild and replicated; unset for one server. Every command of a deployment needs
    /// the same value: `migrate` creates the cluster's tables, the others read and write
    /// them (see docs/clickhouse-cluster.md).
    #[arg(long = "clickhouse-cluster", visible_alias = "cluster", env = "WOWLOGS_CLICKHOUSE_CLUSTER", value_parser = identifier_or_empty)]
    pub clickhouse_cluster: Option<String>,
    /// `lz4` (default): inserts and answers travel compressed; `none`: plain, spending
    /// no CPU on it (for a ClickHouse on the same host).
    #[arg(long, env = "WOWLOGS_CLICKHOUSE_COMPRESSION", default_value = "lz4", value_parser = ["lz4", "none"])]
    pub clickhouse_compression: String,
}

/// A ClickHouse name the commands write into SQL: letters, digits and `_` only, not
/// starting with a digit.
fn identifier(value: &str) -> Result<String, String> {
    let mut chars = value.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{value:?} is not a ClickHouse identifier (letters, digits and _, not starting with a digit)"
        ))
    }
}

/// [`identifier`], or nothing (an empty environment variable: one server).
fn identifier_or_empty(value: &str) -> Result<String, String> {
    if value.is_empty() { Ok(String::new()) } else { identifier(value) }
}

impl StoreArgs {
    /// The settings: `--clickhouse-user` and `--clickhouse-password` win over
    /// credentials in the URL (whose password is that URL's user's only).
    pub fn settings(&self) -> wowlogs_store::StoreSettings {
        let from_url = wowlogs_store::StoreSettings::new(self.clickhouse_url.clone(), self.database.clone());
        let user = self.clickhouse_user.clone().or(from_url.user.clone());
        let url_password = from_url.password.clone().filter(|_| user == from_url.user);
        wowlogs_store::StoreSettings {
            user,
            password: self.clickhouse_password.clone().or(url_password),
            cluster: self.clickhouse_cluster.clone().filter(|c| !c.is_empty()),
            compress: self.clickhouse_compression != "none",
            ..from_url
        }
    }
}

impl KafkaArgs {
    /// The settings of every Kafka client of this process. Security settings that
    /// cannot work (a SASL protocol without its credentials, SASL settings for a
    /// protocol without SASL) end the command at once with a clear error, as a bad
    /// argument does.
    pub fn settings(&self, client_id: &str) -> KafkaSettings {
        let security = wowlogs_kafka::KafkaSecurity {
            protocol: self.kafka_security_protocol.clone(),
            sasl_mechanism: self.kafka_sasl_mechanism.clone(),
            sasl_username: self.kafka_sasl_username.clone(),
            sasl_password: self.kafka_sasl_password.clone(),
            ssl_ca_location: self.kafka_ssl_ca_location.clone(),
        };
        KafkaSettings::new(self.brokers.clone(), client_id)
            .compressed(&self.kafka_compression)
            .secured(&security)
            .unwrap_or_else(|error| {
                eprintln!("error: {error} (WOWLOGS_KAFKA_SECURITY_PROTOCOL and WOWLOGS_KAFKA_SASL_*)");
                std::process::exit(2)
            })
    }
}

/// How a public service keeps its copy of the API keys.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// How often the API keys are re-read from the registry, in milliseconds: a revoked
    /// key stops working within this period. Must be above 0.
    #[arg(long, env = "WOWLOGS_KEY_REFRESH_MS", default_value_t = 2000)]
    pub key_refresh_ms: u64,

    /// How long the last keys read stay trusted while the registry cannot be read, in
    /// milliseconds; past it every request is refused with 503 (fail closed: a key
    /// revoked meanwhile must not keep working). Must exceed the refresh period.
    #[arg(long, env = "WOWLOGS_KEY_MAX_STALENESS_MS", default_value_t = 300_000)]
    pub key_max_staleness_ms: u64,
}

impl KeyArgs {
    /// The refresh period and maximum staleness, or why they cannot work.
    pub fn periods(&self) -> Result<(Duration, Duration)> {
        if self.key_refresh_ms == 0 {
            bail!(
                "WOWLOGS_KEY_REFRESH_MS (--key-refresh-ms) must be above 0: with 0 a revoked key would never stop working"
            );
        }
        ensure!(
            self.key_max_staleness_ms > self.key_refresh_ms,
            "WOWLOGS_KEY_MAX_STALENESS_MS ({} ms) must exceed WOWLOGS_KEY_REFRESH_MS ({} ms): \
             the keys would stop being trusted between two refreshes",
            self.key_max_staleness_ms,
            self.key_refresh_ms
        );
        Ok((Duration::from_millis(self.key_refresh_ms), Duration::from_millis(self.key_max_staleness_ms)))
    }

    /// Reads the registry's active keys (failing if the registry cannot be read at
    /// start) and keeps them fresh in the background.
    pub async fn load(&self, store: &StoreArgs) -> Result<Arc<KeyCache>> {
        let (refresh, max_staleness) = self.periods()?;
        let registry = Registry::new(store.settings());
        let keys = Arc::new(KeyCache::failing_closed_after(max_staleness));
        let count = keys
            .refresh(&registry)
            .await
            .context("reading the API keys from ClickHouse (did `wowlogs migrate` run?)")?;
        tracing::info!(
            keys = count,
            refresh_ms = refresh.as_millis() as u64,
            max_staleness_ms = max_staleness.as_millis() as u64,
            "API keys loaded"
        );
        keys.clone().keep_fresh(registry, refresh);
        Ok(keys)
    }
}

/// Serves a service's internal routes (`/metrics`, health) on `addr` in the background;
/// an empty address serves none.
pub async fn serve_internal(addr: &str, what: &str, router: axum::Router) -> Result<()> {
    if addr.is_empty() {
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr} ({what} metrics)"))?;
    tracing::info!(address = addr, "{what} metrics listening");
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(())
}

/// The connection-level bounds of a public service.
#[derive(Debug, Clone, Args)]
pub struct EdgeArgs {
    /// Time a client has to send a request's headers, in milliseconds (a slow or
    /// stalled client gets 408 and the connection is closed).
    #[arg(long, env = "WOWLOGS_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,

    /// Browser origins allowed to call the service cross-origin, comma-separated
    /// (`https://app.example.com`); `*` is refused. Empty: none.
    #[arg(long, env = "WOWLOGS_CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,

    /// Proxies whose `X-Forwarded-For` names the client (addresses and networks,
    /// comma-separated); from anyone else the header is ignored.
    #[arg(long, env = "WOWLOGS_TRUSTED_PROXIES", default_value = "127.0.0.1,::1")]
    pub trusted_proxies: String,
}

/// A public service's edge, checked once at start: its connection limits and its CORS
/// allow-list.
pub struct Edge {
    pub limits: wowlogs_http::ServeLimits,
    cors: Option<wowlogs_http::CorsLayer>,
}

impl Edge {
    /// The public router with the CORS allow-list applied.
    pub fn public(&self, router: axum::Router) -> axum::Router {
        match &self.cors {
            Some(cors) => router.layer(cors.clone()),
            None => router,
        }
    }
}

impl EdgeArgs {
    /// The edge these settings describe, or why they cannot work.
    pub fn edge(&self) -> Result<Edge> {
        ensure!(
            self.header_timeout_ms > 0,
            "WOWLOGS_HEADER_TIMEOUT_MS (--header-timeout-ms) must be above 0"
        );
        let limits = wowlogs_http::ServeLimits {
            header_read_timeout: Duration::from_millis(self.header_timeout_ms),
            trusted_proxies: wowlogs_http::TrustedProxies::parse(&self.trusted_proxies)?,
            ..wowlogs_http::ServeLimits::default()
        };
        Ok(Edge { limits, cors: wowlogs_http::cors_layer(&self.cors_origins)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_period_of_zero_or_a_staleness_below_it_is_refused_with_the_variable_named() {
        let keys = |refresh, stale| KeyArgs { key_refresh_ms: refresh, key_max_staleness_ms: stale };
        let zero = keys(0, 300_000).periods().unwrap_err().to_string();
        assert!(zero.contains("WOWLOGS_KEY_REFRESH_MS"), "{zero}");
        let below = keys(2000, 1000).periods().unwrap_err().to_string();
        assert!(below.contains("WOWLOGS_KEY_MAX_STALENESS_MS"), "{below}");
        assert_eq!(
            keys(2000, 300_000).periods().unwrap(),
            (Duration::from_millis(2000), Duration::from_secs(300))
        );
    }
}
