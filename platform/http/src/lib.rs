//! The HTTP kit of the upload service and the query API: one JSON error shape
//! ([`ApiError`]), one request middleware ([`observe`]: request id, span, log line,
//! metrics, deprecation headers), the health handlers and graceful shutdown. Nothing in
//! here knows about guilds or keys beyond what the authentication step records in
//! [`RequestLog`].

pub mod client;
pub mod cors;
pub mod encode;
pub mod error;
pub mod health;
pub mod metrics;
pub mod replicas;
pub mod request;
pub mod serve;
pub mod shutdown;

pub use client::{ClientAddr, NotANetwork, TrustedProxies};
pub use cors::{CorsError, CorsLayer, cors_layer};
pub use encode::percent_encode;
pub use error::{ApiError, json_fallbacks};
pub use request::{
    Identified, REQUEST_ID, RequestId, RequestLog, RequestMetrics, observe, request_id, request_span,
    with_deprecation,
};
pub use serve::{ServeLimits, serve};
pub use shutdown::shutdown_signal;
