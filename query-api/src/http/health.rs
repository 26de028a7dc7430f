//! `/health` (each component with its status and latency), `/health/ready` and `/metrics`.
//!
//! Cheap by construction: the probes' answers are reused for [`crate::state::PROBE_FRESH`], the Kafka
//! client is made once, and a ClickHouse probe is bounded by [`PROBE_TIMEOUT`].

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use std::time::{Duration, Instant};
use wowlogs_http::health::{component, metrics_text};

/// Keys older than this mean the registry has not been read for a while.
const STALE_KEYS: Duration = Duration::from_secs(30);
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
    let age = state.key_age();
    let trusted_for = state.keys.trusted_for();
    let keys_fresh = age.is_some_and(|age| age < STALE_KEYS);
    let keys_trusted = trusted_for.is_none_or(|left| !left.is_zero());
    let keys = json!({
        "status": match (keys_trusted, keys_fresh) {
            (false, _) => "refusing",
            (true, true) => "up",
            (true, false) => "stale",
        },
        "age_ms": age.map(|a| a.as_millis() as u64),
        "fails_closed_in_ms": trusted_for.map(|t| t.as_millis() as u64),
    });
    let answering = clickhouse_up && keys_trusted;
    let status = match (answering, kafka_up && keys_fresh) {
        (false, _) => "down",
        (true, false) => "degraded",
        (true, true) => "up",
    };
    let code = if answering { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        code,
        Json(
            json!({"status": status, "components": {"clickhouse": clickhouse, "kafka": kafka, "api_keys": keys}}),
        ),
    )
}

/// `GET /health/ready`: ClickHouse answers and the keys are loaded and trusted.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let trusted = state.keys.trusted_for().is_none_or(|left| !left.is_zero());
    match clickhouse_latency(&state).await {
        Ok(_) if state.key_age().is_some() && trusted => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Ok(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "api_keys": "not loaded, or too stale to be trusted"})),
        ),
        Err(error) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "not ready", "clickhouse": error})))
        }
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.sample(state.caches.weighed_bytes().await, state.gate.is_open());
    metrics_text(state.metrics.render())
}
