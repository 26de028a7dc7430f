//! Guild tenancy: guilds, their API keys (256-bit, stored as hashes, with permissions
//! and limits) and the audit trail, in ClickHouse; and how every HTTP service
//! authenticates a request against them (the HTTP shapes themselves are `wowlogs-http`'s).

pub mod audit;
pub mod auth;
pub mod keys;
pub mod registry;

pub use audit::{Auditor, actor_of};
pub use auth::{
    Caller, KeyCache, KeyStore, Lapsed, Presented, Principal, authorize, authorize_key_id,
    authorize_presented, presented_key,
};
pub use keys::{NewKey, Permission, constant_time_eq, generate, hash, key_id};
pub use registry::{
    Actor, ApiKeyRow, AuditRow, GuildRow, GuildUpdate, KeySpec, KeyUsageRow, NO_GUILD, NewGuild, Registry,
    RegistryError,
};
pub use wowlogs_http::ApiError;
