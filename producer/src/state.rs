//! What the upload service's handlers share: the key store, the upload use case, the
//! metrics, the health probes and the audit trail.

use crate::config::UploadConfig;
use crate::metrics::ProducerMetrics;
use crate::registry::LogRegistry;
use crate::uploads::Uploads;
use rdkafka::producer::FutureProducer;
use std::sync::Arc;
use std::time::Duration;
use wowlogs_http::health::RecentProbe;
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
        let uploads =
            Arc::new(Uploads::new(registry, producer, config, metrics.clone()).checking_keys(keys.clone()));
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

    /// Parks idle live sessions every `period`, for as long as the runtime runs.
    pub fn park_idle_sessions_every(&self, period: Duration) {
        let uploads = self.uploads.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            loop {
                ticks.tick().await;
                uploads.park_idle_sessions();
            }
        });
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
