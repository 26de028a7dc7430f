//! The query API: a thin, read-mostly HTTP service over ClickHouse (axum), scoped to the
//! caller's guild, with a live WebSocket feed from the topics.
//!
//! - Routes and the OpenAPI document come from the same annotations
//!   ([`utoipa_axum`]), so a route cannot be served undocumented or documented
//!   unserved; the tests walk the document to check every route's isolation.
//! - Guild isolation lives in [`scope`]: every query goes through a [`scope::GuildDb`],
//!   made only by the authentication extractor ([`auth::Scope`]).

pub mod api;
pub mod auth;
pub mod docs;
pub mod gate;
pub mod health;
pub mod live;
pub mod metrics;
pub mod params;
pub mod scope;
pub mod state;
pub mod tickets;
pub mod ws;

use axum::Router;
use axum::middleware;
use axum::response::Html;
use axum::routing::get;
use metrics::ApiMetrics;
use state::AppState;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
pub use wowlogs_http::REQUEST_ID;
use wowlogs_http::{health::health_routes, json_fallbacks, observe};

pub use state::QueryApiConfig;

/// The documented routes (everything under `/api/v1` and `/ws`) and their document.
pub fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(api::encounters::routes())
        .merge(api::characters::routes())
        .merge(api::progress::routes())
        .merge(api::logs::routes())
        .merge(api::admin::routes())
        .routes(utoipa_axum::routes!(ws::connect))
        .routes(utoipa_axum::routes!(ws::ticket))
        .split_for_parts();
    // The upload routes, served by the upload service behind the same entry point.
    document.merge(wowlogs_producer::server::docs::openapi());
    docs::complete(&mut document);
    (router, document)
}

/// The OpenAPI document alone.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// The internal port's routes: `/metrics` (and the health endpoints, for probes), never
/// behind the public entry point.
pub fn internal_router(state: AppState) -> Router {
    let routes = health_routes(health::health, health::ready).route("/metrics", get(health::metrics));
    json_fallbacks(routes).with_state(state)
}

/// The whole public service (`/metrics` is on the internal port: [`internal_router`]).
pub fn router(state: AppState) -> Router {
    let (api, document) = documented();
    let json = Arc::new(document.to_pretty_json().expect("the document serializes"));
    let page = Arc::new(docs::render(&document));
    let routes = api
        .route(
            "/openapi.json",
            get(move || async move { ([("content-type", "application/json")], (*json).clone()) }),
        )
        .route("/reference", get(move || async move { Html((*page).clone()) }))
        .merge(docs::pages())
        .merge(health_routes(health::health, health::ready));
    json_fallbacks(routes)
        .layer(middleware::from_fn_with_state(state.metrics.clone(), observe::<ApiMetrics>))
        .with_state(state)
}
