//! `wowlogs query-api`: the guild-scoped HTTP API over ClickHouse, with the live feed.

use crate::commands::serve::load_keys;
use crate::commands::{KafkaArgs, StoreArgs};
use anyhow::{Context, Result};
use clap::Args;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;
use wowlogs_http::shutdown_signal;
use wowlogs_query_api::live::LiveFeed;
use wowlogs_query_api::state::AppState;
use wowlogs_query_api::{QueryApiConfig, router};

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

    /// How often the API keys are re-read from the registry: a revoked key stops
    /// working within this period.
    #[arg(long, env = "WOWLOGS_KEY_REFRESH_MS", default_value_t = 2000)]
    pub key_refresh_ms: u64,
}

pub fn run(args: &QueryApiArgs) -> Result<()> {
    let config = QueryApiConfig {
        listen: args.listen,
        store: args.store.settings(),
        kafka: args.kafka.settings("wowlogs-query-api"),
        requests_per_minute: args.requests_per_minute,
        cache_ttl: Duration::from_millis(args.cache_ms),
        fight_cache_ttl: Duration::from_millis(args.fight_cache_ms),
        max_connections: args.max_websockets,
        max_connections_per_key: args.max_websockets_per_key,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let keys = load_keys(&args.store, Duration::from_millis(args.key_refresh_ms)).await?;
        let live = LiveFeed::default();
        let state = AppState::new(keys, config, live.clone());
        live.spawn_reader(state.config.kafka.clone(), state.metrics.clone());
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        tracing::info!(address = %args.listen, "query API listening");
        eprintln!("query API on http://{} (documentation at /docs)", args.listen);
        axum::serve(listener, router(state)).with_graceful_shutdown(shutdown_signal()).await?;
        Ok(())
    })
}
