//! Pieces of the health endpoints every service serves alike.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::time::Duration;

/// `GET /health/live`: the process is serving.
pub async fn live() -> impl IntoResponse {
    Json(json!({"status": "up"}))
}

/// A Prometheus text exposition as a response.
pub fn metrics_text(text: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// One component of `/health`: whether it is up, and its JSON (status with latency, or
/// the error).
pub fn component(probe: Result<Duration, String>) -> (bool, Value) {
    match probe {
        Ok(latency) => (true, json!({"status": "up", "latency_ms": latency.as_secs_f64() * 1000.0})),
        Err(error) => (false, json!({"status": "down", "error": error})),
    }
}
