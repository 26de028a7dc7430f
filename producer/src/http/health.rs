//! Liveness, readiness (the broker answers) and the metrics endpoint.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use wowlogs_http::health::{component, metrics_text};

/// `GET /health`: every component with its status and latency.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let (up, kafka) = component(state.broker_latency().await);
    let status = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({"status": if up { "up" } else { "down" }, "components": {"kafka": kafka}})))
}

/// `GET /health/ready`: the broker answers, so uploads can be published.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match state.broker_latency().await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "not ready", "kafka": error}))),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    metrics_text(state.metrics.render())
}
