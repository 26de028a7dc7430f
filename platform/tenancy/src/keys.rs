//! API keys: 256 random bits with a recognizable prefix, stored only as a SHA-256 hash.

use sha2::{Digest, Sha256};
use std::fmt;

/// Every key starts with this, so a leaked key is recognizable (secret scanners).
pub const KEY_PREFIX: &str = "wl_";

/// What a key allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    Upload,
    Query,
    Stream,
    /// Reads the guild's officers' views (the progress plan's overview of every member)
    /// besides what `query` reads.
    Officer,
    Admin,
    /// Administers the whole instance on `/api/v1/admin/*` only: held alone, by keys
    /// that belong to no guild.
    InstanceAdmin,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::Upload,
        Permission::Query,
        Permission::Stream,
        Permission::Officer,
        Permission::Admin,
        Permission::InstanceAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Upload => "upload",
            Permission::Query => "query",
            Permission::Stream => "stream",
            Permission::Officer => "officer",
            Permission::Admin => "admin",
            Permission::InstanceAdmin => "instance_admin",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s.trim()).ok_or_else(|| {
            format!(
                "unknown permission {:?} (upload, query, stream, officer, admin, instance_admin)",
                s.trim()
            )
        })
    }
}

/// A key as created: the plaintext is shown once and never stored.
pub struct NewKey {
    pub plaintext: String,
    pub key_id: String,
    pub hash: String,
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// A fresh key from the operating system's random source.
pub fn generate() -> Result<NewKey, getrandom::Error> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let plaintext = format!("{KEY_PREFIX}{}", hex::encode(secret));
    Ok(NewKey { key_id: key_id(&plaintext), hash: hash(&plaintext), plaintext })
}

/// The stored form of a key: hex SHA-256. (Keys carry 256 random bits, so a fast hash
/// is enough: there is nothing to brute-force.)
pub fn hash(key: &str) -> String {
    hex::encode(digest(key))
}

/// The SHA-256 of a key, as bytes: what [`hash`] writes in hex.
pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Names a key in lists, logs and audits without revealing it.
pub fn key_id(key: &str) -> String {
    format!("key-{}", &hash(key)[..12])
}

/// Equality whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_256_random_bits_with_the_prefix() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert!(a.plaintext.starts_with("wl_") && a.plaintext.len() == 3 + 64);
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(a.hash, hash(&a.plaintext));
        assert_eq!(a.key_id, key_id(&a.plaintext));
        assert!(!a.hash.contains(&a.plaintext[3..]));
        assert!(!format!("{a:?}").contains(&a.plaintext), "debug output never shows the key");
    }

    #[test]
    fn permissions_parse_from_their_names_only() {
        assert_eq!("stream".parse::<Permission>(), Ok(Permission::Stream));
        assert!("root".parse::<Permission>().unwrap_err().contains("upload, query, stream, officer, admin"));
        assert_eq!("officer".parse::<Permission>(), Ok(Permission::Officer));
        assert_eq!("instance_admin".parse::<Permission>(), Ok(Permission::InstanceAdmin));
    }

    #[test]
    fn equal_and_unequal_digests_compare_as_expected() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
