//! Liveness, readiness (the broker answers) and the metrics endpoint.

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use wowlogs_kafka::broker_latency;

/// `GET /health`: every component with its status and latency.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let kafka = broker_latency(&state.kafka).await;
    let up = kafka.is_ok();
    let component = match kafka {
        Ok(latency) => json!({"status": "up", "latency_ms": latency.as_secs_f64() * 1000.0}),
        Err(error) => json!({"status": "down", "error": error}),
    };
    let status = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({"status": if up { "up" } else { "down" }, "components": {"kafka": component}})))
}

/// `GET /health/live`: the process is serving.
pub async fn live() -> impl IntoResponse {
    Json(json!({"status": "up"}))
}

/// `GET /health/ready`: the broker answers, so uploads can be published.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match broker_latency(&state.kafka).await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "not ready", "kafka": error}))),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
