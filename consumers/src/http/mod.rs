//! A consumer's HTTP edge: liveness, readiness (ClickHouse takes inserts) and
//! Prometheus metrics, on the internal port.

use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use wowlogs_http::health::metrics_text;

/// `/health/live`, `/health/ready` and `/metrics`. Liveness fails when the group loops
/// have shown no sign of life for `state.stall` while messages wait for them.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(render))
        .with_state(state)
}

async fn live(State(state): State<AppState>) -> impl IntoResponse {
    match state.metrics.stalled_for(state.stall) {
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

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.metrics.store_ok() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: ClickHouse inserts are failing and being retried\n")
    }
}

async fn render(State(state): State<AppState>) -> impl IntoResponse {
    metrics_text(state.metrics.render())
}
