//! The upload service: `POST /api/v1/logs/upload`, `GET /api/v1/uploads/{id}`, health
//! and metrics.

pub mod docs;
mod health;
pub mod metrics;
mod upload;

use crate::registry::LogRegistry;
use crate::uploads::{UploadConfig, Uploads};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use metrics::ProducerMetrics;
use rdkafka::producer::FutureProducer;
use std::sync::Arc;
use std::time::Duration;
use wowlogs_http::health::RecentProbe;
use wowlogs_http::{health::health_routes, json_fallbacks, observe};
use wowlogs_kafka::{BrokerProbe, KafkaSettings};
use wowlogs_tenancy::{Auditor, KeyStore};

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) uploads: Arc<Uploads>,
    pub(crate) metrics: ProducerMetrics,
    pub(crate) probes: Arc<(BrokerProbe, RecentProbe)>,
    /// Uploads and refused keys go on the audit trail.
    pub(crate) auditor: Arc<Auditor>,
}

impl AppState {
    pub fn new(
        keys: Arc<dyn KeyStore>,
        registry: LogRegistry,
        producer: FutureProducer,
        kafka: KafkaSettings,
        config: UploadConfig,
    ) -> Self {
        let metrics = ProducerMetrics::new();
        let uploads = Arc::new(Uploads::new(registry, producer, config, metrics.clone()));
        let probes = Arc::new((BrokerProbe::new(kafka), RecentProbe::new(Duration::from_secs(1))));
        Self { keys, uploads, metrics, probes, auditor: Arc::new(Auditor::disabled()) }
    }

    /// Follows the uploads topic into this service's registry for as long as the
    /// process runs ([`crate::registry::follow`]); the answer comes once it is read to
    /// its end.
    pub fn follow_uploads(
        &self,
        settings: KafkaSettings,
    ) -> tokio::sync::oneshot::Receiver<Result<(), String>> {
        let uploads = self.uploads.clone();
        crate::registry::follow(settings, move |status| uploads.learn(status))
    }

    /// The same state, recording uploads and refused keys with `auditor`.
    pub fn with_auditor(self, auditor: Arc<Auditor>) -> Self {
        Self { auditor, ..self }
    }

    /// The broker's latency for the health endpoints (one kept client, an answer reused
    /// for a second).
    pub(crate) async fn broker_latency(&self) -> Result<Duration, String> {
        let (broker, recent) = &*self.probes;
        recent.get(broker.latency()).await
    }

    /// Shutdown: see [`Uploads::drain`].
    pub async fn drain(&self) {
        self.uploads.drain().await;
    }
}

/// The internal port's routes: `/metrics` (and the health endpoints, for probes), never
/// behind the public entry point.
pub fn internal_router(state: AppState) -> Router {
    let routes = health_routes(health::health, health::ready).route("/metrics", get(health::metrics));
    json_fallbacks(routes).with_state(state)
}

/// The service's public routes (`/metrics` is on the internal port: [`internal_router`]).
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/api/v1/logs/upload", post(upload::upload))
        .route("/api/v1/uploads/{id}", get(upload::status))
        .merge(health_routes(health::health, health::ready));
    json_fallbacks(routes)
        // The upload handler enforces its own, configurable limit while streaming.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.metrics.clone(), observe::<ProducerMetrics>))
        .with_state(state)
}
