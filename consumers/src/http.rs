//! A consumer's HTTP endpoints: liveness, readiness (ClickHouse takes inserts) and
//! Prometheus metrics.

use crate::metrics::ConsumerMetrics;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use wowlogs_http::health::metrics_text;

/// `/health/live`, `/health/ready` and `/metrics`.
pub fn router(metrics: ConsumerMetrics) -> Router {
    Router::new()
        .route("/health/live", get(|| async { "up\n" }))
        .route("/health/ready", get(ready))
        .route("/metrics", get(render))
        .with_state(metrics)
}

async fn ready(State(metrics): State<ConsumerMetrics>) -> impl IntoResponse {
    if metrics.store_ok() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: ClickHouse inserts are failing and being retried\n")
    }
}

async fn render(State(metrics): State<ConsumerMetrics>) -> impl IntoResponse {
    metrics_text(metrics.render())
}
