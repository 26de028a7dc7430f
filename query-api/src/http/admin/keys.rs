//! A guild's API keys as administrators see them: never the key or its hash.

use crate::params::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;
use wowlogs_tenancy::ApiKeyRow;

/// An API key as administrators see it: never the key or its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyInfo {
    pub key_id: String,
    pub description: String,
    pub permissions: Vec<String>,
    /// 0: no limit of the key's own.
    pub events_per_minute: u32,
    /// 0: no limit of the key's own.
    pub max_connections: u32,
    pub created: String,
    pub revoked: bool,
    pub revoked_at: Option<String>,
}

impl From<ApiKeyRow> for KeyInfo {
    fn from(k: ApiKeyRow) -> Self {
        KeyInfo {
            key_id: k.key_id,
            description: k.description,
            permissions: k.permissions,
            events_per_minute: k.events_per_minute,
            max_connections: k.max_connections,
            created: rfc3339(i64::from(k.created) * 1000),
            revoked: k.revoked == 1,
            revoked_at: (k.revoked == 1).then(|| rfc3339(i64::from(k.revoked_at) * 1000)),
        }
    }
}
