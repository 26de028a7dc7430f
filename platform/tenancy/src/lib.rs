//! Guild tenancy: guilds, their API keys (256-bit, stored as hashes, with permissions
//! and limits) and the audit trail, in ClickHouse; and how every HTTP service
//! authenticates a request against them.

pub mod auth;
pub mod http;
pub mod keys;
pub mod registry;

pub use auth::{
    Caller, KeyCache, KeyStore, Presented, Principal, authorize, presented_key, with_deprecation,
};
pub use http::ApiError;
pub use keys::{NewKey, Permission, constant_time_eq, generate, hash, key_id};
pub use registry::{Actor, ApiKeyRow, AuditRow, GuildRow, KeySpec, NewGuild, Registry, RegistryError};
