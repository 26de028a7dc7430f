//! A consumer's HTTP edge: health (each component), liveness, readiness (ClickHouse
//! takes inserts) and Prometheus metrics, on the internal port.

use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;
use wowlogs_http::health::{Overall, answer, metrics_text, readiness};

/// `/health` (and `/health/detailed`), `/health/live`, `/health/ready` and `/metrics`.
/// Liveness fails when the group loops have shown no sign of life for `state.stall`
/// while messages wait for them.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/health/detailed", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(render))
        .with_state(state)
}

/// Each component: ClickHouse (do inserts succeed) and the group loops (records read
/// or inserts tried lately, the messages waiting). Stalled loops are unhealthy (503: a
/// supervisor restarts the process); failing inserts, retried, are degraded.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let store_ok = state.metrics.store_ok();
    let stalled = state.metrics.stalled_for(state.stall);
    let overall = Overall::of(stalled.is_none(), store_ok);
    let clickhouse = if store_ok {
        json!({"status": "up"})
    } else {
        json!({"status": "down", "error": "inserts are failing and being retried"})
    };
    let groups = json!({
        "status": if stalled.is_some() { "stalled" } else { "up" },
        "messages_waiting": state.metrics.messages_waiting(),
        "quiet_ms": stalled.map(|quiet| quiet.as_millis() as u64),
    });
    answer(state.service, overall, Some(store_ok), json!({"clickhouse": clickhouse, "groups": groups}))
}

async fn live(State(state): State<AppState>) -> impl IntoResponse {
    match state.metrics.stalled_for(state.stall) {
        None => answer(state.service, Overall::Healthy, None, json!({})),
        Some(quiet) => {
            let error = format!(
                "stalled: no record read and no insert tried for {} s while messages wait",
                quiet.as_secs()
            );
            answer(
                state.service,
                Overall::Unhealthy,
                None,
                json!({"groups": {"status": "stalled", "error": error}}),
            )
        }
    }
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let missing = (!state.metrics.store_ok())
        .then(|| ("clickhouse", "inserts are failing and being retried".to_string()));
    readiness(state.service, missing)
}

async fn render(State(state): State<AppState>) -> impl IntoResponse {
    metrics_text(state.metrics.render())
}
