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
use wowlogs_schemas::GuildId;
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
    connections: Arc<Mutex<OpenConnections>>,
}

impl AppState {
    pub fn new(keys: Arc<dyn KeyStore>, config: QueryApiConfig, live: LiveFeed) -> Self {
        let config = config.per_replica();
        let metrics = ApiMetrics::new();
        let lookups = metrics.cache_lookups();
        AppState {
            keys,
            client: config.store.client(),
            metrics,
            live,
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(config.requests_per_minute))),
            caches: AnswerCaches::new(
                config.cache_ttl,
                config.fight_cache_ttl,
                config.cache_max_bytes,
                config.cache_max_bytes_per_guild,
            )
            .counted(lookups),
            gate: Arc::new(QueryGate::new(config.gate)),
            probes: Arc::new(Probes::new(config.kafka.clone())),
            tickets: Arc::new(Tickets::new(&config.ws_ticket_secret)),
            registry: Registry::new(config.store.clone()),
            auditor: Auditor::start(Registry::new(config.store.clone())),
            connections: Arc::new(Mutex::new(OpenConnections::default())),
            config,
        }
    }

    /// What the live feed needs to tell a guild's connections of its members' status
    /// changes ([`crate::progress_watch`]).
    pub fn progress_watch(&self) -> crate::progress_watch::ProgressWatch {
        crate::progress_watch::ProgressWatch::new(self.client.clone(), self.gate.clone(), self.caches.clone())
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
    /// key (its `max_connections`, else the service's per-key default), its guild (over
    /// all its keys) or the service is at its limit.
    pub fn connect(&self, principal: &Principal) -> Result<ConnectionGuard, ApiError> {
        let mut open = self.connections.lock().expect("connections lock");
        let mine = open.per_key.get(&principal.key_id).copied().unwrap_or(0);
        let ours = open.per_guild.get(&principal.guild_id).copied().unwrap_or(0);
        let per_key = match principal.max_connections {
            0 => self.config.max_connections_per_key,
            own => wowlogs_http::replicas::share(u64::from(own), self.config.replicas) as usize,
        };
        let refused = if mine >= per_key {
            Some(format!("this key already holds {mine} of its {per_key} WebSocket connections"))
        } else if ours >= self.config.max_connections_per_guild {
            Some(format!(
                "guild {} already holds {ours} WebSocket connections over its keys \
                 (WOWLOGS_MAX_WEBSOCKETS_PER_GUILD)",
                principal.guild_id.0
            ))
        } else if open.total >= self.config.max_connections {
            Some(format!("the service holds its {} WebSocket connections", self.config.max_connections))
        } else {
            None
        };
        if let Some(message) = refused {
            return Err(ApiError::rate_limited(message, Duration::from_secs(5)));
        }
        *open.per_key.entry(principal.key_id.clone()).or_default() += 1;
        *open.per_guild.entry(principal.guild_id).or_default() += 1;
        open.total += 1;
        Ok(ConnectionGuard {
            connections: self.connections.clone(),
            key_id: principal.key_id.clone(),
            guild: principal.guild_id,
        })
    }
}

/// The open WebSocket connections, per key, per guild and in all.
#[derive(Default)]
pub struct OpenConnections {
    per_key: HashMap<String, usize>,
    per_guild: HashMap<GuildId, usize>,
    total: usize,
}

/// One open WebSocket connection, released on drop.
pub struct ConnectionGuard {
    connections: Arc<Mutex<OpenConnections>>,
    key_id: String,
    guild: GuildId,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = self.connections.lock().expect("connections lock");
        open.total -= 1;
        release(&mut open.per_key, &self.key_id);
        release(&mut open.per_guild, &self.guild);
    }
}

/// One fewer under `key`; no entry is kept at zero.
fn release<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = counts.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(key);
        }
    }
}
