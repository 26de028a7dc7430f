//! What a consumer process's HTTP endpoints share.

use crate::metrics::ConsumerMetrics;
use std::time::Duration;

/// The group loops' metrics (their signs of life, ClickHouse's state), and how long the
/// loops may show none while messages wait before the process is not live.
#[derive(Clone)]
pub struct AppState {
    /// The process's name in its health answers (`events-sink`, `encounters`, …).
    pub service: &'static str,
    pub metrics: ConsumerMetrics,
    pub stall: Duration,
}
