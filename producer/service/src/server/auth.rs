//! Who is calling: API keys scoped to one guild, checked behind one trait.
//!
//! Until the guild registry exists (query-API issue), keys come from configuration
//! (`WOWLOGS_API_KEYS`); they are hashed as soon as they are read and compared in
//! constant time, so the service never keeps a plaintext key.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use std::fmt;
use wowlogs_schemas::GuildId;

/// What a key allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    Upload,
    Query,
    Stream,
    Admin,
}

impl std::str::FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "upload" => Ok(Permission::Upload),
            "query" => Ok(Permission::Query),
            "stream" => Ok(Permission::Stream),
            "admin" => Ok(Permission::Admin),
            other => Err(format!("unknown permission {other:?} (upload, query, stream, admin)")),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub guild_id: GuildId,
    pub guild_name: String,
    /// Identifies the key in logs and audits (never the key itself).
    pub key_id: String,
    pub permissions: Vec<Permission>,
}

impl Principal {
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// Looks keys up.
pub trait KeyStore: Send + Sync {
    /// The principal of a presented key, if it is valid and not revoked.
    fn authenticate(&self, presented: &str) -> Option<Principal>;
}

/// Keys from configuration: `KEY:GUILD_ID:GUILD_NAME:PERM+PERM,...`.
pub struct StaticKeys {
    keys: Vec<([u8; 32], Principal)>,
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeys").field("keys", &self.keys.len()).finish()
    }
}

impl StaticKeys {
    /// Parses the configuration string; the plaintext keys are dropped after hashing.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for (i, entry) in spec.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let parts: Vec<&str> = entry.splitn(4, ':').collect();
            let [key, guild, name, permissions] = parts.as_slice() else {
                return Err(format!("API key entry {} is not KEY:GUILD_ID:GUILD_NAME:PERMISSIONS", i + 1));
            };
            if key.len() < 16 {
                return Err(format!("API key entry {} is shorter than 16 characters", i + 1));
            }
            let guild_id = guild
                .parse()
                .map_err(|_| format!("API key entry {}: guild id {guild:?} is not a number", i + 1))?;
            let permissions = permissions.split('+').map(str::parse).collect::<Result<Vec<_>, _>>()?;
            let digest = hash(key);
            let key_id = format!("key-{}", &hex::encode(digest)[..12]);
            keys.push((
                digest,
                Principal { guild_id: GuildId(guild_id), guild_name: name.to_string(), key_id, permissions },
            ));
        }
        Ok(Self { keys })
    }
}

impl KeyStore for StaticKeys {
    fn authenticate(&self, presented: &str) -> Option<Principal> {
        let digest = hash(presented);
        // Compare against every key, in constant time per key, whatever matches.
        let mut found = None;
        for (known, principal) in &self.keys {
            if constant_time_eq(known, &digest) {
                found = Some(principal.clone());
            }
        }
        found
    }
}

fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How the key was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// `Authorization: Bearer <key>`.
    Bearer(String),
    /// The legacy `X-API-Key` header, answered with a `Deprecation` header.
    Legacy(String),
}

/// The key of a request, if any.
pub fn presented_key(headers: &HeaderMap) -> Option<Presented> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(key) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))
    {
        return Some(Presented::Bearer(key.trim().to_string()));
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(|k| Presented::Legacy(k.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_keys_authenticate_to_their_guild_only() {
        let keys = StaticKeys::parse(
            "wl_aaaaaaaaaaaaaaaa:2:Loothing:upload+query, wl_bbbbbbbbbbbbbbbb:3:Other:query",
        )
        .unwrap();
        let loothing = keys.authenticate("wl_aaaaaaaaaaaaaaaa").unwrap();
        assert_eq!((loothing.guild_id, loothing.guild_name.as_str()), (GuildId(2), "Loothing"));
        assert!(loothing.may(Permission::Upload));
        assert!(!keys.authenticate("wl_bbbbbbbbbbbbbbbb").unwrap().may(Permission::Upload));
        assert!(keys.authenticate("wl_cccccccccccccccc").is_none());
        assert!(!format!("{keys:?}").contains("wl_a"), "keys never reach logs");
    }

    #[test]
    fn malformed_key_configuration_is_refused_with_the_reason() {
        assert!(StaticKeys::parse("short:1:G:upload").unwrap_err().contains("16"));
        assert!(StaticKeys::parse("wl_aaaaaaaaaaaaaaaa:x:G:upload").unwrap_err().contains("not a number"));
        assert!(StaticKeys::parse("wl_aaaaaaaaaaaaaaaa:1:G:fly").unwrap_err().contains("unknown permission"));
    }

    #[test]
    fn bearer_is_preferred_and_x_api_key_is_legacy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", "legacy".parse().unwrap());
        assert_eq!(presented_key(&headers), Some(Presented::Legacy("legacy".into())));
        headers.insert("authorization", "Bearer modern".parse().unwrap());
        assert_eq!(presented_key(&headers), Some(Presented::Bearer("modern".into())));
    }
}
