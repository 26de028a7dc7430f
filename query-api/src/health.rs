//! `/health` (each component with its status and latency), `/health/ready` and `/metrics`.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use std::time::{Duration, Instant};
use wowlogs_http::health::{component, metrics_text};
use wowlogs_kafka::broker_latency;

/// Keys older than this mean the registry has not been read for a while.
const STALE_KEYS: Duration = Duration::from_secs(30);

async fn clickhouse_latency(state: &AppState) -> Result<Duration, String> {
    let started = Instant::now();
    state.client.query("SELECT 1").execute().await.map_err(|e| e.to_string())?;
    Ok(started.elapsed())
}

/// `GET /health`: ClickHouse (queries), Kafka (the live feed) and the key registry.
/// 200 when queries can be answered, else 503; Kafka down only degrades the live feed.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let (clickhouse_up, clickhouse) = component(clickhouse_latency(&state).await);
    let (kafka_up, mut kafka) = component(broker_latency(&state.config.kafka).await);
    kafka["live_feed"] = json!(if state.live.is_reading() { "reading" } else { "not reading" });
    let keys = state.key_age();
    let keys_fresh = keys.is_some_and(|age| age < STALE_KEYS);
    let keys = json!({
        "status": if keys_fresh { "up" } else { "stale" },
        "age_ms": keys.map(|a| a.as_millis() as u64),
    });
    let status = match (clickhouse_up, kafka_up && keys_fresh) {
        (false, _) => "down",
        (true, false) => "degraded",
        (true, true) => "up",
    };
    let code = if clickhouse_up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        code,
        Json(
            json!({"status": status, "components": {"clickhouse": clickhouse, "kafka": kafka, "api_keys": keys}}),
        ),
    )
}

/// `GET /health/ready`: ClickHouse answers and the keys have been read.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match clickhouse_latency(&state).await {
        Ok(_) if state.key_age().is_some() => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Ok(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "not ready", "api_keys": "not loaded"})))
        }
        Err(error) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "not ready", "clickhouse": error})))
        }
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    metrics_text(state.metrics.render())
}
