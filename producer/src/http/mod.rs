//! The upload service's HTTP edge: `POST /api/v1/logs/upload`, `GET /api/v1/uploads/{id}`,
//! live sessions (`/api/v1/live/{session}/…`), health and metrics, over the upload use case ([`crate::uploads`]).

pub mod docs;
mod health;
mod live;
mod upload;

use crate::metrics::ProducerMetrics;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post, put};
use wowlogs_http::{health::health_routes, json_fallbacks, observe};

/// The internal port's routes: `/metrics` (and the health endpoints, for probes), never
/// behind the public entry point.
pub fn internal_router(state: AppState) -> Router {
    let routes =
        health_routes(health::SERVICE, health::health, health::ready).route("/metrics", get(health::metrics));
    json_fallbacks(routes).with_state(state)
}

/// The service's public routes (`/metrics` is on the internal port: [`internal_router`]).
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/api/v1/logs/upload", post(upload::upload))
        .route("/api/v1/uploads/{id}", get(upload::status))
        .route("/api/v1/live/{session}", get(live::status))
        .route("/api/v1/live/{session}/close", post(live::close))
        .route("/api/v1/live/{session}/{offset}", put(live::chunk))
        .merge(health_routes(health::SERVICE, health::health, health::ready));
    json_fallbacks(routes)
        // The upload handler enforces its own, configurable limit while streaming.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.metrics.clone(), observe::<ProducerMetrics>))
        .with_state(state)
}
