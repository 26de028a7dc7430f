//! `wowlogs query-api`: the guild-scoped HTTP API over ClickHouse, with the live feed.

use crate::commands::{EdgeArgs, KafkaArgs, KeyArgs, StoreArgs, serve_internal};
use anyhow::{Context, Result};
use clap::Args;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;
use wowlogs_http::{serve, shutdown_signal};
use wowlogs_query_api::gate::GateLimits;
use wowlogs_query_api::live::LiveFeed;
use wowlogs_query_api::state::AppState;
use wowlogs_query_api::{QueryApiConfig, internal_router, router};

#[derive(Debug, Args)]
pub struct QueryApiArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// ClickHouse: the projections and the guild/key registry.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Address to listen on.
    #[arg(long, env = "WOWLOGS_QUERY_API_LISTEN", default_value = "127.0.0.1:8082")]
    pub listen: SocketAddr,

    /// Requests each API key may make per minute (a minute's worth of burst); over it,
    /// 429 with Retry-After.
    #[arg(long, env = "WOWLOGS_KEY_REQUESTS_PER_MINUTE", default_value_t = NonZeroU32::new(6000).expect("non-zero"))]
    pub requests_per_minute: NonZeroU32,

    /// How long an answer is served from the per-guild cache, in milliseconds (0: no
    /// cache). Uploads and admin answers are never cached.
    #[arg(long, env = "WOWLOGS_QUERY_CACHE_MS", default_value_t = 1000)]
    pub cache_ms: u64,

    /// How long one finished fight's detail is served from the per-guild cache, in
    /// milliseconds (0: no cache): its rows never change once written.
    #[arg(long, env = "WOWLOGS_FIGHT_CACHE_MS", default_value_t = 300_000)]
    pub fight_cache_ms: u64,

    /// WebSocket connections over all keys (each key also has its own limit).
    #[arg(long, env = "WOWLOGS_MAX_WEBSOCKETS", default_value_t = 10_000)]
    pub max_websockets: usize,

    /// WebSocket connections of one key whose own limit (`api-key create
    /// --max-connections`) is 0: no key can take every slot.
    #[arg(long, env = "WOWLOGS_MAX_WEBSOCKETS_PER_KEY", default_value_t = 20)]
    pub max_websockets_per_key: usize,

    /// WebSocket connections of one guild over all its keys: a guild does not multiply
    /// its share by making keys.
    #[arg(long, env = "WOWLOGS_MAX_WEBSOCKETS_PER_GUILD", default_value_t = 100)]
    pub max_websockets_per_guild: usize,

    /// Bytes of answers the per-guild caches hold together (least recently used
    /// answers go first; one answer larger than half of it is not cached).
    #[arg(long, env = "WOWLOGS_QUERY_CACHE_MAX_BYTES", default_value = "256MiB")]
    pub cache_max: bytesize::ByteSize,

    /// Bytes of one guild's answers the caches hold: past it a guild's new answers are
    /// served and not kept, so one guild's many distinct requests cannot push every
    /// other guild's answers out.
    #[arg(long, env = "WOWLOGS_QUERY_CACHE_MAX_BYTES_PER_GUILD", default_value = "32MiB")]
    pub cache_max_per_guild: bytesize::ByteSize,

    /// ClickHouse queries the service runs at once over every key; a query waits up to
    /// a second for a slot, then gets 503.
    #[arg(long, env = "WOWLOGS_MAX_CLICKHOUSE_QUERIES", default_value_t = 32)]
    pub max_clickhouse_queries: usize,

    /// ClickHouse queries one key runs at once; a query waits up to a second for a
    /// slot, then gets 429.
    #[arg(long, env = "WOWLOGS_MAX_QUERIES_PER_KEY", default_value_t = 8)]
    pub max_queries_per_key: usize,

    /// ClickHouse queries one guild runs at once over all its keys (429 beyond): a guild
    /// does not multiply its share by making keys.
    #[arg(long, env = "WOWLOGS_MAX_QUERIES_PER_GUILD", default_value_t = 12)]
    pub max_queries_per_guild: usize,

    /// Longest a query may take, in milliseconds: ClickHouse stops it
    /// (`max_execution_time`) and the API stops waiting; 504 beyond.
    #[arg(long, env = "WOWLOGS_QUERY_TIMEOUT_MS", default_value_t = 10_000)]
    pub query_timeout_ms: u64,

    /// Longest a streamed export may take, in milliseconds.
    #[arg(long, env = "WOWLOGS_EXPORT_TIMEOUT_MS", default_value_t = 600_000)]
    pub export_timeout_ms: u64,

    /// How long an export waits for a reader that takes no data before it stops, in
    /// milliseconds (a stalled download gives its query slot back).
    #[arg(long, env = "WOWLOGS_EXPORT_STALL_MS", default_value_t = 30_000)]
    pub export_stall_ms: u64,

    /// The secret WebSocket tickets are signed with. Every replica behind one entry
    /// point needs the same one, so that a browser's ticket works whichever replica the
    /// load balancer picks; unset, each process makes its own (one replica only).
    #[arg(long, env = "WOWLOGS_WS_TICKET_SECRET", hide_env_values = true)]
    pub ws_ticket_secret: Option<String>,

    /// Query API replicas behind the entry point. They share the per-key and per-guild
    /// limits (requests per minute, queries, WebSocket connections): each enforces the
    /// limit divided by this (at least 1). Keep it equal to the replica count.
    #[arg(long, env = "WOWLOGS_QUERY_API_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub replicas: u32,

    /// Internal address of `/metrics` (and health, for probes): not behind the public
    /// entry point. Empty: none.
    #[arg(long, env = "WOWLOGS_QUERY_API_METRICS_LISTEN", default_value = "127.0.0.1:9462")]
    pub metrics_listen: String,

    #[command(flatten)]
    pub keys: KeyArgs,

    #[command(flatten)]
    pub edge: EdgeArgs,
}

pub fn run(args: &QueryApiArgs) -> Result<()> {
    let edge = args.edge.edge()?;
    args.keys.periods()?;
    let config = QueryApiConfig {
        listen: args.listen,
        store: args.store.settings(),
        kafka: args.kafka.settings("wowlogs-query-api"),
        requests_per_minute: args.requests_per_minute,
        cache_ttl: Duration::from_millis(args.cache_ms),
        fight_cache_ttl: Duration::from_millis(args.fight_cache_ms),
        max_connections: args.max_websockets,
        max_connections_per_key: args.max_websockets_per_key,
        max_connections_per_guild: args.max_websockets_per_guild,
        cache_max_bytes: args.cache_max.as_u64(),
        cache_max_bytes_per_guild: args.cache_max_per_guild.as_u64(),
        gate: GateLimits {
            max_queries: args.max_clickhouse_queries,
            max_queries_per_key: args.max_queries_per_key,
            max_queries_per_guild: args.max_queries_per_guild,
            query_timeout: Duration::from_millis(args.query_timeout_ms),
        },
        export_timeout: Duration::from_millis(args.export_timeout_ms),
        export_stall: Duration::from_millis(args.export_stall_ms),
        ws_ticket_secret: wowlogs_query_api::tickets::TicketSecret(
            args.ws_ticket_secret.clone().filter(|secret| !secret.is_empty()),
        ),
        replicas: args.replicas,
    };
    for (value, name) in [
        (args.max_clickhouse_queries as u64, "WOWLOGS_MAX_CLICKHOUSE_QUERIES"),
        (args.max_queries_per_key as u64, "WOWLOGS_MAX_QUERIES_PER_KEY"),
        (args.max_queries_per_guild as u64, "WOWLOGS_MAX_QUERIES_PER_GUILD"),
        (args.max_websockets_per_guild as u64, "WOWLOGS_MAX_WEBSOCKETS_PER_GUILD"),
        (args.query_timeout_ms, "WOWLOGS_QUERY_TIMEOUT_MS"),
        (args.export_timeout_ms, "WOWLOGS_EXPORT_TIMEOUT_MS"),
        (args.export_stall_ms, "WOWLOGS_EXPORT_STALL_MS"),
    ] {
        anyhow::ensure!(value > 0, "{name} must be above 0");
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let keys = args.keys.load(&args.store).await?;
        let live = LiveFeed::default();
        let state = AppState::new(keys, config, live.clone());
        live.spawn_reader(state.config.kafka.clone(), state.metrics.clone(), Some(state.progress_watch()));
        serve_internal(&args.metrics_listen, "query API", internal_router(state.clone())).await?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        tracing::info!(address = %args.listen, "query API listening");
        eprintln!("query API on http://{} (documentation at /docs)", args.listen);
        serve(
            listener,
            edge.public(router(state, crate::api_docs::openapi())),
            edge.limits.clone(),
            shutdown_signal(),
        )
        .await?;
        Ok(())
    })
}
