//! The query API: a thin, read-mostly HTTP service over ClickHouse (axum), scoped to the
//! caller's guild, with a live WebSocket feed from the topics.
//!
//! - Routes and the OpenAPI document come from the same annotations
//!   ([`utoipa_axum`]), so a route cannot be served undocumented or documented
//!   unserved; the tests walk the document to check every route's isolation.
//! - Guild isolation lives in [`scope`]: every query goes through a [`scope::GuildDb`],
//!   made only by the authentication extractor ([`state::Scope`]).

pub mod api;
pub mod docs;
pub mod health;
pub mod live;
pub mod metrics;
pub mod params;
pub mod scope;
pub mod state;
pub mod ws;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, Response};
use axum::routing::get;
use state::{AppState, RequestLog};
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
pub use wowlogs_tenancy::http::REQUEST_ID;
use wowlogs_tenancy::http::{request_id, request_span};
use wowlogs_tenancy::{ApiError, with_deprecation};

pub use state::QueryApiConfig;

/// The documented routes (everything under `/api/v1` and `/ws`) and their document.
pub fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(api::encounters::routes())
        .merge(api::characters::routes())
        .merge(api::progress::routes())
        .merge(api::logs::routes())
        .merge(api::admin::routes())
        .routes(utoipa_axum::routes!(ws::connect))
        .split_for_parts()
}

/// The OpenAPI document alone.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// The whole service.
pub fn router(state: AppState) -> Router {
    let (api, document) = documented();
    let json = Arc::new(document.to_pretty_json().expect("the document serializes"));
    let page = Arc::new(docs::render(&document));
    api.route(
        "/openapi.json",
        get(move || async move { ([("content-type", "application/json")], (*json).clone()) }),
    )
    .route("/docs", get(move || async move { Html((*page).clone()) }))
    .route("/health", get(health::health))
    .route("/health/live", get(health::live))
    .route("/health/ready", get(health::ready))
    .route("/metrics", get(health::metrics))
    .fallback(|| async { ApiError::not_found("no such endpoint; see /docs") })
    .method_not_allowed_fallback(|| async {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint only answers GET")
    })
    .layer(middleware::from_fn_with_state(state.clone(), observe))
    .with_state(state)
}

/// The header carrying a request's id.
/// Per request: the request id (propagated or made), one structured log line (id, guild,
/// route, status, latency), metrics, and the `Deprecation` header for legacy keys.
async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = request.method().clone();
    let log = RequestLog::default();
    request.extensions_mut().insert(log.clone());
    let span = request_span(&method, &route, &id);
    let mut response = next.run(request).instrument(span.clone()).await;
    let identified = log.0.lock().expect("request log lock").clone();
    if identified.as_ref().is_some_and(|i| i.legacy) {
        response = with_deprecation(response, true);
    }
    response.headers_mut().insert(REQUEST_ID, id.clone());
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let guild_id = identified.as_ref().map(|i| i.guild_id);
    state.metrics.request(&route, status, guild_id, elapsed);
    span.record("http.response.status_code", status);
    if let Some(guild_id) = guild_id {
        span.record("guild_id", guild_id);
    }
    let _entered = span.enter();
    tracing::info!(
        request_id = id.to_str().unwrap_or(""),
        guild_id,
        key_id = identified.as_ref().map(|i| i.key_id.as_str()),
        method = %method,
        route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}
