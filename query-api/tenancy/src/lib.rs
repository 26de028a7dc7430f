//! Guild tenancy: guilds, their API keys (256-bit, stored as hashes, with permissions
//! and limits) and the audit trail, in ClickHouse.

pub mod keys;
pub mod registry;

pub use keys::{NewKey, Permission, constant_time_eq, generate, hash, key_id};
pub use registry::{Actor, ApiKeyRow, AuditRow, GuildRow, KeySpec, NewGuild, Registry, RegistryError};
