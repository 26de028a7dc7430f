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
    /// Concurrent ClickHouse queries and their time limit.
    pub gate: GateLimits,
    /// Longest a streamed export may run (ClickHouse's `max_execution_time` for it).
    pub export_timeout: Duration,
    /// Longest an export waits for its reader to take the next chunk before it stops.
    pub export_stall: Duration,
    /// What WebSocket tickets are signed with: the same on every replica, so that any
    /// replica accepts a ticket another issued.
    pub ws_ticket_secret: crate::tickets::TicketSecret,
}
