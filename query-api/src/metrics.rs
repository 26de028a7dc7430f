//! The query API's metrics. Metric names live here and nowhere else.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};
use std::time::Duration;

/// Every metric of the query API.
#[derive(Clone)]
pub struct ApiMetrics {
    registry: Registry,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    guild_requests: HistogramVec,
    live_messages: IntCounterVec,
    connections: IntGauge,
    cache_bytes: IntGauge,
    cache_lookups: IntCounterVec,
    breaker_open: IntGauge,
    queries_in_flight: IntGauge,
    query_slots: IntGauge,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiMetrics {
    pub fn new() -> Self {
        let registry = wowlogs_http::metrics::service_registry();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let requests = counter("wowlogs_api_http_requests_total", "HTTP requests", &["route", "status"]);
        // Per guild, coarser buckets: guilds times statuses times buckets stays small.
        let guild_requests = HistogramVec::new(
            HistogramOpts::new(
                "wowlogs_api_guild_request_duration_seconds",
                "Duration of authenticated requests, by guild",
            )
            .buckets(vec![0.005, 0.025, 0.1, 0.25, 1.0, 5.0]),
            &["guild_id", "status"],
        )
        .expect("valid metric");
        registry.register(Box::new(guild_requests.clone())).expect("unique metric");
        let live_messages =
            counter("wowlogs_api_live_messages_total", "Live messages read from the topics", &["type"]);
        let request_duration = HistogramVec::new(
            HistogramOpts::new("wowlogs_api_http_request_duration_seconds", "HTTP request duration")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]),
            &["route", "status"],
        )
        .expect("valid metric");
        registry.register(Box::new(request_duration.clone())).expect("unique metric");
        let connections = IntGauge::new("wowlogs_api_websocket_connections", "Open WebSocket connections")
            .expect("valid metric");
        registry.register(Box::new(connections.clone())).expect("unique metric");
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            registry.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let cache_bytes = gauge("wowlogs_api_cache_bytes", "Bytes of answers held by the answer caches");
        let cache_lookups = counter(
            "wowlogs_api_cache_lookups_total",
            "Cacheable requests, by whether the answer came from the caches (hit) or ClickHouse (miss)",
            &["outcome"],
        );
        let breaker_open = gauge(
            "wowlogs_api_clickhouse_breaker_open",
            "1 while the ClickHouse circuit breaker refuses requests",
        );
        let queries_in_flight = gauge(
            "wowlogs_api_clickhouse_queries_in_flight",
            "ClickHouse queries the service is running now (each holds one of its query slots)",
        );
        let query_slots = gauge(
            "wowlogs_api_clickhouse_query_slots",
            "The service's ClickHouse query slots (WOWLOGS_MAX_CLICKHOUSE_QUERIES)",
        );
        Self {
            registry,
            requests,
            request_duration,
            guild_requests,
            live_messages,
            connections,
            cache_bytes,
            cache_lookups,
            breaker_open,
            queries_in_flight,
            query_slots,
        }
    }

    /// The state sampled when metrics are read: cache bytes, whether the breaker is open,
    /// and the ClickHouse query slots in use of all there are.
    pub fn sample(&self, cache_bytes: u64, breaker_open: bool, (in_flight, slots): (usize, usize)) {
        self.cache_bytes.set(cache_bytes as i64);
        self.breaker_open.set(i64::from(breaker_open));
        self.queries_in_flight.set(in_flight as i64);
        self.query_slots.set(slots as i64);
    }

    /// The counter of cache lookups, by outcome (`hit`, `miss`), for the caches to count.
    pub fn cache_lookups(&self) -> IntCounterVec {
        self.cache_lookups.clone()
    }

    /// One message read from the topics for the live feed.
    pub fn live_message(&self, kind: &str) {
        self.live_messages.with_label_values(&[kind]).inc();
    }

    /// A WebSocket connection opened (`+1`) or closed (`-1`).
    pub fn connection(&self, delta: i64) {
        self.connections.add(delta);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        wowlogs_http::metrics::render(&self.registry)
    }
}

impl wowlogs_http::RequestMetrics for ApiMetrics {
    /// One answered request, by route and status, and by guild when authenticated.
    fn request(&self, route: &str, status: u16, guild_id: Option<i64>, elapsed: Duration) {
        let status = status.to_string();
        self.requests.with_label_values(&[route, &status]).inc();
        self.request_duration.with_label_values(&[route, &status]).observe(elapsed.as_secs_f64());
        if let Some(guild) = guild_id {
            self.guild_requests
                .with_label_values(&[&guild.to_string(), &status])
                .observe(elapsed.as_secs_f64());
        }
    }
}
