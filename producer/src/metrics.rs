//! The producer's metrics. Each function is one "internal event": it logs and counts at
//! the same call site, so metric names live here and nowhere else.

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use std::time::Duration;
use wowlogs_http::RequestMetrics;
use wowlogs_schemas::GuildId;

/// Every metric of the producer service.
#[derive(Clone)]
pub struct ProducerMetrics {
    registry: Registry,
    lines: IntCounterVec,
    events: IntCounterVec,
    dead_letters: IntCounterVec,
    bytes: IntCounterVec,
    uploads: IntCounterVec,
    produce_latency: Histogram,
    requests: IntCounterVec,
    request_duration: HistogramVec,
}

impl ProducerMetrics {
    pub fn new() -> Self {
        let registry = wowlogs_http::metrics::service_registry();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let lines = counter("wowlogs_producer_lines_parsed_total", "Log lines parsed", &["guild_id"]);
        let events = counter(
            "wowlogs_producer_events_produced_total",
            "Events acknowledged by the broker",
            &["guild_id"],
        );
        let dead_letters = counter(
            "wowlogs_producer_dead_letters_total",
            "Malformed lines sent to the dead-letter topic",
            &["guild_id"],
        );
        let bytes = counter("wowlogs_producer_bytes_received_total", "Upload bytes received", &["guild_id"]);
        let uploads =
            counter("wowlogs_producer_uploads_total", "Uploads by outcome", &["guild_id", "outcome"]);
        let requests = counter("wowlogs_producer_http_requests_total", "HTTP requests", &["route", "status"]);
        let produce_latency = Histogram::with_opts(
            HistogramOpts::new("wowlogs_producer_produce_latency_seconds", "Send to broker acknowledgement")
                .buckets(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )
        .expect("valid metric");
        registry.register(Box::new(produce_latency.clone())).expect("unique metric");
        let request_duration = HistogramVec::new(
            HistogramOpts::new("wowlogs_producer_http_request_duration_seconds", "HTTP request duration"),
            &["route"],
        )
        .expect("valid metric");
        registry.register(Box::new(request_duration.clone())).expect("unique metric");
        Self {
            registry,
            lines,
            events,
            dead_letters,
            bytes,
            uploads,
            produce_latency,
            requests,
            request_duration,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        wowlogs_http::metrics::render(&self.registry)
    }

    pub fn bytes_received(&self, guild: GuildId, bytes: u64) {
        self.bytes.with_label_values(&[&guild.to_string()]).inc_by(bytes);
    }

    /// Counts the progress of an upload since its last report.
    pub fn published(&self, guild: GuildId, lines: u64, events: u64, dead_letters: u64) {
        let guild = guild.to_string();
        self.lines.with_label_values(&[&guild]).inc_by(lines);
        self.events.with_label_values(&[&guild]).inc_by(events);
        self.dead_letters.with_label_values(&[&guild]).inc_by(dead_letters);
    }

    pub fn delivered(&self, latency: Duration) {
        self.produce_latency.observe(latency.as_secs_f64());
    }

    /// An upload reached an outcome (`accepted`, `duplicate`, `completed`, `failed`, `rejected`).
    pub fn upload(&self, guild: GuildId, outcome: &str, upload_id: &str, detail: &str) {
        self.uploads.with_label_values(&[&guild.to_string(), outcome]).inc();
        tracing::info!(guild_id = guild.0, upload_id, outcome, detail, "upload");
    }
}

impl RequestMetrics for ProducerMetrics {
    fn request(&self, route: &str, status: u16, _guild_id: Option<i64>, elapsed: Duration) {
        self.requests.with_label_values(&[route, &status.to_string()]).inc();
        self.request_duration.with_label_values(&[route]).observe(elapsed.as_secs_f64());
    }
}

impl Default for ProducerMetrics {
    fn default() -> Self {
        Self::new()
    }
}
