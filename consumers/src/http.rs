//! A consumer's HTTP endpoints: liveness, readiness (ClickHouse takes inserts) and
//! Prometheus metrics.

use crate::metrics::ConsumerMetrics;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use std::time::Duration;
use wowlogs_http::health::metrics_text;

/// `/health/live`, `/health/ready` and `/metrics`. Liveness fails when the group loops
/// have shown no sign of life for `stall` while messages wait for them.
pub fn router(metrics: ConsumerMetrics, stall: Duration) -> Router {
    Router::new()
        .route("/health/live", get(move |State(metrics): State<ConsumerMetrics>| live(metrics, stall)))
        .route("/health/ready", get(ready))
        .route("/metrics", get(render))
        .with_state(metrics)
}

async fn live(metrics: ConsumerMetrics, stall: Duration) -> impl IntoResponse {
    match metrics.stalled_for(stall) {
        None => (StatusCode::OK, "up\n".to_string()),
        Some(quiet) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "stalled: no record read and no insert tried for {} s while messages wait\n",
                quiet.as_secs()
            ),
        ),
    }
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
