//! Liveness, readiness (the broker answers) and the metrics endpoint.

use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;
use wowlogs_http::health::{Overall, answer, component, metrics_text, readiness};

/// The service's name in its health answers.
pub const SERVICE: &str = "upload";

/// `GET /health`: the broker (uploads are published to it) and the API keys (read from
/// the registry in ClickHouse). 503 when the broker does not answer or the keys are no
/// longer trusted (no upload can be accepted); keys that are trusted but stale (the
/// registry unreadable for a while) leave the service working, degraded.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let (broker_up, kafka) = component(state.broker_latency().await);
    let keys_fresh = state.keys.fresh();
    let overall = Overall::of(broker_up && state.keys.trusted(), keys_fresh);
    // The keys are this service's reads of ClickHouse: fresh keys, a connected database.
    answer(SERVICE, overall, Some(keys_fresh), json!({"kafka": kafka, "api_keys": state.keys.health()}))
}

/// `GET /health/ready`: the broker answers (uploads can be published) and the keys are
/// loaded from ClickHouse and still trusted (uploads can be authenticated).
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let missing = match state.broker_latency().await {
        Err(error) => Some(("kafka", error)),
        Ok(_) if !state.keys.trusted() => {
            Some(("api_keys", "not loaded from ClickHouse, or too stale to be trusted".to_string()))
        }
        Ok(_) => None,
    };
    readiness(SERVICE, missing)
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    metrics_text(state.metrics.render())
}
