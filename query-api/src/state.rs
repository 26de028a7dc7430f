//! What every handler shares: the key store, ClickHouse, the caches, the query gate,
//! the live feed, the rate limits and the health probes.

use crate::config::QueryApiConfig;
use crate::gate::QueryGate;
use crate::live::LiveFeed;
use crate::metrics::ApiMetrics;
use crate::scope::AnswerCaches;
use crate::tickets::Tickets;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wowlogs_http::ApiError;
use wowlogs_http::health::RecentProbe;
use wowlogs_kafka::{BrokerProbe, KafkaSettings};
use wowlogs_tenancy::{Auditor, KeyStore, Principal, Registry};

/// How long a probe's answer is reused.
pub const PROBE_FRESH: Duration = Duration::from_secs(1);
/// The health endpoints' probes, shared by every request.
pub struct Probes {
    pub(crate) broker: BrokerProbe,
    pub(crate) kafka: RecentProbe,
    pub(crate) clickhouse: RecentProbe,
}

impl Probes {
    pub fn new(kafka: KafkaSettings) -> Self {
        Probes {
            broker: BrokerProbe::new(kafka),
            kafka: RecentProbe::new(PROBE_FRESH),
            clickhouse: RecentProbe::new(PROBE_FRESH),
        }
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub keys: Arc<dyn KeyStore>,
    pub client: clickhouse::Client,
    pub config: QueryApiConfig,
    pub metrics: ApiMetrics,
    pub live: LiveFeed,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    pub(crate) caches: AnswerCaches,
    pub(crate) gate: Arc<QueryGate>,
    pub(crate) probes: Arc<Probes>,
    pub(crate) tickets: Arc<Tickets>,
    /// The guild registry, for administration.
    pub(crate) registry: Registry,
    /// Audit entries recorded while serving (refused keys, administration).
    pub auditor: Arc<Auditor>,
    connections: Arc<Mutex<HashMap<String, usize>>>,
}

impl AppState {
    pub fn new(keys: Arc<dyn KeyStore>, config: QueryApiConfig, live: LiveFeed) -> Self {
        let metrics = ApiMetrics::new();
        let lookups = metrics.cache_lookups();
        AppState {
            keys,
            client: config.store.client(),
            metrics,
            live,
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(config.requests_per_minute))),
            caches: AnswerCaches::new(config.cache_ttl, config.fight_cache_ttl, config.cache_max_bytes)
                .counted(lookups),
            gate: Arc::new(QueryGate::new(config.gate)),
            probes: Arc::new(Probes::new(config.kafka.clone())),
            tickets: Arc::new(Tickets::default()),
            registry: Registry::new(config.store.clone()),
            auditor: Auditor::start(Registry::new(config.store.clone())),
            connections: Arc::new(Mutex::new(HashMap::new())),
            config,
        }
    }

    /// Time since the API keys were last read from the registry.
    pub fn key_age(&self) -> Option<Duration> {
        self.keys.age()
    }

    /// Takes one request from the key's bucket; 429 with `Retry-After` when empty.
    pub(crate) fn admit(&self, principal: &Principal) -> Result<(), ApiError> {
        self.limiter.check_key(&principal.key_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(
                format!("this key is over its {} requests per minute", self.config.requests_per_minute),
                wait,
            )
        })
    }

    /// Holds one of the key's WebSocket connections until the guard drops; 429 when the
    /// key (its `max_connections`, else the service's per-key default) or the service is at its
    /// limit.
    pub fn connect(&self, principal: &Principal) -> Result<ConnectionGuard, ApiError> {
        let mut open = self.connections.lock().expect("connections lock");
        let total: usize = open.values().sum();
        let mine = open.get(&principal.key_id).copied().unwrap_or(0);
        let per_key = match principal.max_connections as usize {
            0 => self.config.max_connections_per_key,
            own => own,
        };
        if total >= self.config.max_connections || mine >= per_key {
            return Err(ApiError::rate_limited(
                format!("this key already holds {mine} of its {per_key} WebSocket connections"),
                Duration::from_secs(5),
            ));
        }
        *open.entry(principal.key_id.clone()).or_default() += 1;
        Ok(ConnectionGuard { connections: self.connections.clone(), key_id: principal.key_id.clone() })
    }
}

/// One open WebSocket connection, released on drop.
pub struct ConnectionGuard {
    connections: Arc<Mutex<HashMap<String, usize>>>,
    key_id: String,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = self.connections.lock().expect("connections lock");
        if let Some(n) = open.get_mut(&self.key_id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key_id);
            }
        }
    }
}
