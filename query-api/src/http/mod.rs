//! The query API's HTTP edge: the `/api/v1` endpoints, the live WebSocket, health, and
//! the OpenAPI document with the pages that show it.
//!
//! Routes and the document come from the same annotations ([`utoipa_axum`]), so a route
//! cannot be served undocumented or documented unserved; the tests walk the document to
//! check every route's isolation.

pub mod admin;
pub mod answer;
pub mod characters;
pub mod docs;
pub mod encounters;
pub mod guild_progress;
pub mod health;
pub mod logs;
pub mod progress;
pub mod ws;

use crate::metrics::ApiMetrics;
use crate::state::AppState;
use axum::Router;
use axum::middleware;
use axum::response::Html;
use axum::routing::get;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa_axum::router::OpenApiRouter;
use wowlogs_http::{health::health_routes, json_fallbacks, observe};

/// The documented routes (everything under `/api/v1` and `/ws`) and their part of the
/// document, not yet completed ([`public_document`] does that).
pub fn documented() -> (Router<AppState>, Document) {
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(encounters::routes())
        .merge(characters::routes())
        .merge(progress::routes())
        .merge(guild_progress::routes())
        .merge(logs::routes())
        .merge(admin::routes())
        .routes(utoipa_axum::routes!(ws::connect))
        .routes(utoipa_axum::routes!(ws::ticket))
        .split_for_parts()
}

/// The public API's one document: this service's routes merged with `others` (the
/// upload service's, which the binary adds: services do not depend on each other), then
/// completed with what holds for every route alike ([`docs::complete`]).
pub fn public_document(others: impl IntoIterator<Item = Document>) -> Document {
    let mut document = documented().1;
    for other in others {
        document.merge(other);
    }
    docs::complete(&mut document);
    document
}

/// The internal port's routes: `/metrics` (and the health endpoints, for probes), never
/// behind the public entry point.
pub fn internal_router(state: AppState) -> Router {
    let routes =
        health_routes(health::SERVICE, health::health, health::ready).route("/metrics", get(health::metrics));
    json_fallbacks(routes).with_state(state)
}

/// The whole public service serving `document` at `/openapi.json`, `/docs`, `/redoc`
/// and `/reference` (`/metrics` is on the internal port: [`internal_router`]).
pub fn router(state: AppState, document: Document) -> Router {
    let (api, _) = documented();
    let json = Arc::new(document.to_pretty_json().expect("the document serializes"));
    let page = Arc::new(docs::render(&document));
    let routes = api
        .route(
            "/openapi.json",
            get(move || async move { ([("content-type", "application/json")], (*json).clone()) }),
        )
        .route("/reference", get(move || async move { Html((*page).clone()) }))
        .merge(docs::pages())
        .merge(health_routes(health::SERVICE, health::health, health::ready));
    json_fallbacks(routes)
        .layer(middleware::from_fn_with_state(state.metrics.clone(), observe::<ApiMetrics>))
        .with_state(state)
}
