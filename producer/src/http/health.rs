//! Liveness, readiness (the broker answers) and the metrics endpoint.

use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;
use wowlogs_http::health::{Overall, answer, component, keys_component, metrics_text, readiness};

/// The service's name in its health answers.
pub const SERVICE: &str = "upload";

/// `GET /health`: the broker (uploads are published to it) and the API keys (read from
/// the registry in ClickHouse). 503 when the broker does not answer or the keys are no
/// longer trusted (no upload can be accepted); keys that are trusted but stale (the
/// registry unreadable for a while) leave the service working, degraded.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let (broker_up, kafka) = component(state.broker_latency().await);
    let (keys_trusted, keys_fresh, keys) = keys_component(state.keys.age(), state.keys.trusted_for());
    let overall = match (broker_up && keys_trusted, keys_fresh) {
        (false, _) => Overall::Unhealthy,
        (true, false) => Overall::Degraded,
        (true, true) => Overall::Healthy,
    };
    // The keys are this service's reads of ClickHouse: fresh keys, a connected database.
    answer(SERVICE, overall, Some(keys_fresh), json!({"kafka": kafka, "api_keys": keys}))
}

/// `GET /health/ready`: the broker answers (uploads can be published) and the keys are
/// loaded from ClickHouse and still trusted (uploads can be authenticated).
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let trusted = state.keys.trusted_for().is_none_or(|left| !left.is_zero());
    let missing = match state.broker_latency().await {
        Err(error) => Some(json!({"kafka": error})),
        Ok(_) if !trusted => {
            Some(json!({"api_keys": "not loaded from ClickHouse, or too stale to be trusted"}))
        }
        Ok(_) => None,
    };
    readiness(SERVICE, missing)
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    metrics_text(state.metrics.render())
}
