//! The upload service: `POST /api/v1/logs/upload`, `GET /api/v1/uploads/{id}`, health
//! and metrics.

pub mod auth;
mod error;
mod health;
pub mod limits;
pub mod metrics;
mod upload;

pub use error::ApiError;

use crate::intake::Encoders;
use crate::registry::LogRegistry;
use auth::KeyStore;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use limits::EventLimiter;
use metrics::ProducerMetrics;
use rdkafka::producer::FutureProducer;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::Instrument;
use wowlogs_kafka::KafkaSettings;
use wowlogs_tenancy::http::{REQUEST_ID, request_id, request_span};

/// The service's settings.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Largest accepted upload, in bytes (compressed size as sent).
    pub max_upload_bytes: u64,
    /// Events each guild may publish per minute, over all its keys (each key also has
    /// its own limit, from the registry).
    pub guild_events_per_minute: NonZeroU32,
    /// Where upload bodies are spooled while they are hashed and parsed.
    pub spool_dir: PathBuf,
    /// Unacknowledged messages per upload before parsing waits for the broker.
    pub max_in_flight: usize,
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) limiter: Arc<EventLimiter>,
    pub(crate) registry: Arc<Mutex<LogRegistry>>,
    pub(crate) uploads: Arc<Mutex<HashMap<String, upload::UploadRecord>>>,
    /// Logs being published by this process, with their upload ids.
    pub(crate) active: Arc<Mutex<HashMap<(wowlogs_schemas::GuildId, wowlogs_schemas::LogId), String>>>,
    pub(crate) producer: FutureProducer,
    pub(crate) encoders: Arc<Encoders>,
    pub(crate) metrics: ProducerMetrics,
    pub(crate) kafka: KafkaSettings,
    pub(crate) config: ServeConfig,
    pub(crate) jobs: Arc<tokio::sync::Mutex<tokio::task::JoinSet<()>>>,
}

impl AppState {
    pub fn new(
        keys: Arc<dyn KeyStore>,
        registry: LogRegistry,
        producer: FutureProducer,
        kafka: KafkaSettings,
        config: ServeConfig,
    ) -> Self {
        Self {
            keys,
            limiter: Arc::new(EventLimiter::new()),
            registry: Arc::new(Mutex::new(registry)),
            uploads: Arc::new(Mutex::new(HashMap::new())),
            active: Arc::new(Mutex::new(HashMap::new())),
            producer,
            encoders: Arc::new(Encoders::new().expect("the contract's schemas are valid")),
            metrics: ProducerMetrics::new(),
            kafka,
            config,
            jobs: Arc::new(tokio::sync::Mutex::new(tokio::task::JoinSet::new())),
        }
    }

    /// Shutdown: uploads waiting on their guild's rate limit stop (resumable by
    /// uploading again); the others finish. Returns when every job has ended.
    pub async fn drain(&self) {
        self.limiter.stop();
        let mut jobs = self.jobs.lock().await;
        while jobs.join_next().await.is_some() {}
    }
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/logs/upload", post(upload::upload))
        .route("/api/v1/uploads/{id}", get(upload::status))
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        // The upload handler enforces its own, configurable limit while streaming.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Per request: the request id (propagated or made) in the response and in the span
/// every log line of the request carries, one structured log line, and the request's
/// count and duration by route and status.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let route =
        request.extensions().get::<MatchedPath>().map_or("unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().clone();
    let span = request_span(&method, &route, &id);
    let mut response = next.run(request).instrument(span.clone()).await;
    response.headers_mut().insert(REQUEST_ID, id);
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state.metrics.request(&route, status, elapsed);
    span.record("http.response.status_code", status);
    let _entered = span.enter();
    tracing::info!(method = %method, route, status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request");
    response
}
