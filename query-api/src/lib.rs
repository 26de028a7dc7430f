//! The query API: a thin, read-mostly HTTP service over ClickHouse (axum), scoped to the
//! caller's guild, with a live WebSocket feed from the topics.
//!
//! - [`http`]: the edge — endpoints, the WebSocket, health, the OpenAPI document.
//! - Guild isolation lives in [`scope`]: every query goes through a [`scope::GuildDb`],
//!   made only by the authentication extractor ([`auth::Scope`]).
//! - [`gate`] (query slots), [`live`] (the feed), [`tickets`] (browser WebSocket tickets),
//!   [`params`] (parameters and their validation): what the edge stands on.

pub mod auth;
pub mod config;
pub mod folds;
pub mod gate;
pub mod http;
pub mod live;
pub mod metrics;
pub mod params;
pub mod progress_plan;
pub mod progress_watch;
pub mod scope;
pub mod state;
pub mod tickets;

pub use config::QueryApiConfig;
pub use http::{internal_router, public_document, router};
pub use wowlogs_http::REQUEST_ID;
