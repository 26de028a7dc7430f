//! The query API's settings (set from the command line and `WOWLOGS_*` variables by
//! `wowlogs query-api`; documented in docs/configuration.md).

use crate::gate::GateLimits;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;
use wowlogs_kafka::KafkaSettings;
use wowlogs_store::StoreSettings;

/// Everything `wowlogs query-api` is configured with.
#[derive(Debug, Clone)]
pub struct QueryApiConfig {
    pub listen: SocketAddr,
    pub store: StoreSettings,
    pub kafka: KafkaSettings,
    /// Requests each key may make per minute (a minute's worth of burst).
    pub requests_per_minute: NonZeroU32,
    /// How long lists and totals are served from the per-guild cache (zero: no cache).
    pub cache_ttl: Duration,
    /// How long one finished fight's answers are served from the cache (zero: no cache).
    pub fight_cache_ttl: Duration,
    /// WebSocket connections over all keys.
    pub max_connections: usize,
    /// WebSocket connections of a key whose own limit is 0 (unlimited in the registry).
    pub max_connections_per_key: usize,
    /// WebSocket connections of one guild over all its keys.
    pub max_connections_per_guild: usize,
    /// Bytes of answers the caches hold together.
    pub cache_max_bytes: u64,
    /// Bytes of one guild's answers the caches hold (its share: past it, answers are
    /// served and not kept).
    pub cache_max_bytes_per_guild: u64,
    /// Concurrent ClickHouse queries and their time limit.
    pub gate: GateLimits,
    /// Longest a streamed export may run (ClickHouse's `max_execution_time` for it).
    pub export_timeout: Duration,
    /// Longest an export waits for its reader to take the next chunk before it stops.
    pub export_stall: Duration,
    /// What WebSocket tickets are signed with: the same on every replica, so that any
    /// replica accepts a ticket another issued.
    pub ws_ticket_secret: crate::tickets::TicketSecret,
    /// Query API replicas behind the entry point, sharing the per-key and per-guild
    /// limits above (requests per minute, queries, WebSocket connections): each enforces
    /// its share ([`wowlogs_http::replicas::share`]), so together they hold each limit.
    pub replicas: u32,
}

impl QueryApiConfig {
    /// The per-key and per-guild limits as this replica enforces them: its share of each
    /// (the service-wide totals are this process's own).
    pub fn per_replica(mut self) -> Self {
        use wowlogs_http::replicas::share;
        let replicas = self.replicas;
        let shared = |limit: usize| share(limit as u64, replicas) as usize;
        let per_minute = share(u64::from(self.requests_per_minute.get()), replicas);
        self.requests_per_minute = NonZeroU32::new(per_minute as u32).unwrap_or(NonZeroU32::MIN);
        self.max_connections_per_key = shared(self.max_connections_per_key);
        self.max_connections_per_guild = shared(self.max_connections_per_guild);
        self.gate.max_queries_per_key = shared(self.gate.max_queries_per_key);
        self.gate.max_queries_per_guild = shared(self.gate.max_queries_per_guild);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(replicas: u32) -> QueryApiConfig {
        QueryApiConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            store: StoreSettings::new("http://127.0.0.1:1", "wowlogs"),
            kafka: KafkaSettings::new("127.0.0.1:1", "test"),
            requests_per_minute: NonZeroU32::new(6_000).unwrap(),
            cache_ttl: Duration::ZERO,
            fight_cache_ttl: Duration::ZERO,
            max_connections: 10_000,
            max_connections_per_key: 10,
            max_connections_per_guild: 100,
            cache_max_bytes: 1 << 20,
            cache_max_bytes_per_guild: 1 << 18,
            gate: GateLimits {
                max_queries: 64,
                max_queries_per_key: 4,
                max_queries_per_guild: 12,
                query_timeout: Duration::from_secs(30),
            },
            export_timeout: Duration::from_secs(60),
            export_stall: Duration::from_secs(30),
            ws_ticket_secret: Default::default(),
            replicas,
        }
    }

    #[test]
    fn each_replica_enforces_its_share_of_the_per_key_and_per_guild_limits() {
        let one = config(1).per_replica();
        assert_eq!((one.requests_per_minute.get(), one.gate.max_queries_per_guild), (6_000, 12));
        let two = config(2).per_replica();
        assert_eq!(two.requests_per_minute.get(), 3_000);
        assert_eq!((two.max_connections_per_key, two.max_connections_per_guild), (5, 50));
        assert_eq!((two.gate.max_queries_per_key, two.gate.max_queries_per_guild), (2, 6));
        assert_eq!((two.max_connections, two.gate.max_queries), (10_000, 64), "a process's own totals stay");
        assert_eq!(config(8).per_replica().gate.max_queries_per_key, 1, "never below one");
    }
}
