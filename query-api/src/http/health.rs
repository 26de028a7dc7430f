//! `/health` (each component with its status and latency), `/health/ready` and `/metrics`.
//!
//! Cheap by construction: the probes' answers are reused for [`crate::state::PROBE_FRESH`], the Kafka
//! client is made once, and a ClickHouse probe is bounded by [`PROBE_TIMEOUT`].

use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;
use std::time::{Duration, Instant};
use wowlogs_http::health::{Overall, answer, component, metrics_text, readiness};

/// The service's name in its health answers.
pub const SERVICE: &str = "query-api";
/// Longest a ClickHouse probe waits.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

async fn clickhouse_latency(state: &AppState) -> Result<Duration, String> {
    state
        .probes
        .clickhouse
        .get(async {
            let started = Instant::now();
            match tokio::time::timeout(PROBE_TIMEOUT, state.client.query("SELECT 1").execute()).await {
                Ok(Ok(())) => Ok(started.elapsed()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err(format!("no answer within {} ms", PROBE_TIMEOUT.as_millis())),
            }
        })
        .await
}

/// `GET /health`: ClickHouse (queries), Kafka (the live feed) and the key registry.
/// 200 when queries can be answered, else 503; Kafka down only degrades the live feed.
/// `api_keys.fails_closed_in_ms` says how long the keys stay trusted if the registry
/// cannot be read (0: requests are refused).
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let (clickhouse_up, mut clickhouse) = component(clickhouse_latency(&state).await);
    clickhouse["breaker"] = json!(if state.gate.is_open() { "open" } else { "closed" });
    let (kafka_up, mut kafka) = component(state.probes.kafka.get(state.probes.broker.latency()).await);
    kafka["live_feed"] = json!(if state.live.is_reading() { "reading" } else { "not reading" });
    let overall = Overall::of(clickhouse_up && state.keys.trusted(), kafka_up && state.keys.fresh());
    let keys = state.keys.health();
    answer(
        SERVICE,
        overall,
        Some(clickhouse_up),
        json!({"clickhouse": clickhouse, "kafka": kafka, "api_keys": keys}),
    )
}

/// `GET /health/ready`: ClickHouse answers and the keys are loaded and trusted.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let missing = match clickhouse_latency(&state).await {
        Ok(_) if state.key_age().is_some() && state.keys.trusted() => None,
        Ok(_) => Some(("api_keys", "not loaded, or too stale to be trusted".to_string())),
        Err(error) => Some(("clickhouse", error)),
    };
    readiness(SERVICE, missing)
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let slots = (state.gate.queries_in_flight(), state.gate.limits().max_queries);
    state.metrics.sample(state.caches.weighed_bytes().await, state.gate.is_open(), slots);
    metrics_text(state.metrics.render())
}
