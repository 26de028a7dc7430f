//! Guilds and API keys in ClickHouse (`guilds`, `api_keys`, migration 0002). Every
//! change is a new row version (ReplacingMergeTree) and an `audit_log` row.

use crate::keys::{self, NewKey, Permission};
use serde::Deserialize;
use wowlogs_schemas::now_ms;
use wowlogs_store::StoreSettings;
use wowlogs_store::rows::{TableRow, datetime};

wowlogs_store::table_row! {
    /// `guilds`: one row per guild, replaced by each change.
    pub struct GuildRow in "guilds" {
        guild_id: i64 = "Int64",
        name: String = "String",
        server: String = "String",
        region: String = "String",
        faction: String = "String",
        /// JSON object of per-guild settings.
        settings: String = "String",
        active: u8 = "UInt8",
        created: u32 = "DateTime('UTC')",
        version: u64 = "UInt64",
    }
}

impl GuildRow {
    /// A new, active guild with no server, region, faction or settings.
    pub fn active(guild_id: i64, name: &str, created_ms: i64) -> Self {
        GuildRow {
            guild_id,
            name: name.to_string(),
            server: String::new(),
            region: String::new(),
            faction: String::new(),
            settings: "{}".into(),
            active: 1,
            created: datetime(created_ms),
            version: created_ms as u64,
        }
    }
}

wowlogs_store::table_row! {
    /// `api_keys`: one row per key (its hash only), replaced by each change.
    pub struct ApiKeyRow in "api_keys" {
        guild_id: i64 = "Int64",
        key_id: String = "String",
        key_hash: String = "String",
        description: String = "String",
        permissions: Vec<String> = "Array(String)",
        events_per_minute: u32 = "UInt32",
        max_connections: u32 = "UInt32",
        created: u32 = "DateTime('UTC')",
        revoked: u8 = "UInt8",
        revoked_at: u32 = "DateTime('UTC')",
        version: u64 = "UInt64",
    }
}

impl ApiKeyRow {
    /// The stored form of a new, active key: its id and hash, never the key.
    pub fn active(plaintext: &str, spec: &KeySpec, created_ms: i64) -> Self {
        let mut permissions: Vec<Permission> = spec.permissions.clone();
        permissions.sort();
        permissions.dedup();
        ApiKeyRow {
            guild_id: spec.guild_id,
            key_id: keys::key_id(plaintext),
            key_hash: keys::hash(plaintext),
            description: spec.description.clone(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
            events_per_minute: spec.events_per_minute,
            max_connections: spec.max_connections,
            created: datetime(created_ms),
            revoked: 0,
            revoked_at: 0,
            version: created_ms.max(0) as u64,
        }
    }

    /// The key's permissions; names no longer known are ignored.
    pub fn permissions(&self) -> Vec<Permission> {
        self.permissions.iter().filter_map(|p| p.parse().ok()).collect()
    }
}

wowlogs_store::table_row! {
    /// `audit_log`: who changed what, when, from where.
    pub struct AuditRow in "audit_log" {
        guild_id: i64 = "Int64",
        at: u32 = "DateTime('UTC')",
        at_ms: i64 = "Int64",
        actor: String = "String",
        action: String = "String",
        target: String = "String",
        detail: String = "String",
        remote_addr: String = "String",
    }
}

/// Who makes a change, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `cli:<user>` or a key id.
    pub name: String,
    pub remote_addr: String,
}

/// A guild to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewGuild {
    pub name: String,
    pub server: String,
    pub region: String,
    pub faction: String,
}

/// A key to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub guild_id: i64,
    pub description: String,
    pub permissions: Vec<Permission>,
    pub events_per_minute: u32,
    pub max_connections: u32,
}

/// Why a registry change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("guild {0} does not exist or is not active")]
    NoSuchGuild(i64),
    #[error("no API key {0}")]
    NoSuchKey(String),
    #[error("a guild needs a name")]
    EmptyName,
    #[error("a key needs at least one permission")]
    NoPermissions,
    #[error("the system random source failed: {0}")]
    Random(getrandom::Error),
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct MaxId {
    id: i64,
}

/// The guild and key registry on one database.
#[derive(Debug, Clone)]
pub struct Registry {
    store: StoreSettings,
}

impl Registry {
    pub fn new(store: StoreSettings) -> Self {
        Self { store }
    }

    async fn insert<T>(&self, row: &T) -> Result<(), clickhouse::error::Error>
    where
        T: TableRow + clickhouse::RowOwned + clickhouse::RowWrite,
    {
        wowlogs_store::rows::insert_rows(&self.store.client(), std::slice::from_ref(row)).await
    }

    async fn audit(
        &self,
        guild_id: i64,
        actor: &Actor,
        action: &str,
        target: &str,
        detail: String,
    ) -> Result<(), clickhouse::error::Error> {
        let at_ms = now_ms();
        let row = AuditRow {
            guild_id,
            at: datetime(at_ms),
            at_ms,
            actor: actor.name.clone(),
            action: action.to_string(),
            target: target.to_string(),
            detail,
            remote_addr: actor.remote_addr.clone(),
        };
        self.insert(&row).await
    }

    /// Creates a guild with the next free id.
    pub async fn create_guild(&self, guild: &NewGuild, actor: &Actor) -> Result<GuildRow, RegistryError> {
        if guild.name.trim().is_empty() {
            return Err(RegistryError::EmptyName);
        }
        let max =
            self.store.client().query("SELECT max(guild_id) AS id FROM guilds").fetch_one::<MaxId>().await?;
        let now = now_ms();
        let row = GuildRow {
            server: guild.server.clone(),
            region: guild.region.clone(),
            faction: guild.faction.clone(),
            ..GuildRow::active(max.id + 1, guild.name.trim(), now)
        };
        self.insert(&row).await?;
        let detail =
            format!("name={} server={} region={} faction={}", row.name, row.server, row.region, row.faction);
        self.audit(row.guild_id, actor, "guild.create", &row.guild_id.to_string(), detail).await?;
        Ok(row)
    }

    /// Every guild, by id.
    pub async fn guilds(&self) -> Result<Vec<GuildRow>, RegistryError> {
        Ok(self
            .store
            .client()
            .query("SELECT ?fields FROM guilds FINAL ORDER BY guild_id")
            .fetch_all()
            .await?)
    }

    /// One guild, if it exists.
    pub async fn guild(&self, guild_id: i64) -> Result<Option<GuildRow>, RegistryError> {
        Ok(self
            .store
            .client()
            .query("SELECT ?fields FROM guilds FINAL WHERE guild_id = ?")
            .bind(guild_id)
            .fetch_optional()
            .await?)
    }

    /// Creates a key for an active guild; the plaintext is in the returned [`NewKey`]
    /// only.
    pub async fn create_key(
        &self,
        spec: &KeySpec,
        actor: &Actor,
    ) -> Result<(NewKey, ApiKeyRow), RegistryError> {
        if spec.permissions.is_empty() {
            return Err(RegistryError::NoPermissions);
        }
        match self.guild(spec.guild_id).await? {
            Some(guild) if guild.active == 1 => {}
            _ => return Err(RegistryError::NoSuchGuild(spec.guild_id)),
        }
        let key = keys::generate().map_err(RegistryError::Random)?;
        let row = ApiKeyRow::active(&key.plaintext, spec, now_ms());
        self.insert(&row).await?;
        let detail = format!("permissions={} description={}", row.permissions.join("+"), row.description);
        self.audit(row.guild_id, actor, "api_key.create", &row.key_id, detail).await?;
        Ok((key, row))
    }

    /// Keys, of one guild or all.
    pub async fn keys(&self, guild_id: Option<i64>) -> Result<Vec<ApiKeyRow>, RegistryError> {
        let client = self.store.client();
        let query = match guild_id {
            Some(guild) => client
                .query("SELECT ?fields FROM api_keys FINAL WHERE guild_id = ? ORDER BY created, key_id")
                .bind(guild),
            None => client.query("SELECT ?fields FROM api_keys FINAL ORDER BY guild_id, created, key_id"),
        };
        Ok(query.fetch_all().await?)
    }

    /// Revokes a key; services stop accepting it at their next refresh.
    pub async fn revoke_key(&self, key_id: &str, actor: &Actor) -> Result<ApiKeyRow, RegistryError> {
        let found: Option<ApiKeyRow> = self
            .store
            .client()
            .query("SELECT ?fields FROM api_keys FINAL WHERE key_id = ?")
            .bind(key_id)
            .fetch_optional()
            .await?;
        let Some(key) = found else { return Err(RegistryError::NoSuchKey(key_id.to_string())) };
        let now = now_ms();
        let row = ApiKeyRow {
            revoked: 1,
            revoked_at: datetime(now),
            version: (now as u64).max(key.version + 1),
            ..key
        };
        self.insert(&row).await?;
        self.audit(row.guild_id, actor, "api_key.revoke", &row.key_id, String::new()).await?;
        Ok(row)
    }

    /// Every key not revoked, with its guild if active: what services authenticate
    /// against (refreshed every few seconds, so revocation spreads within one period).
    pub async fn active_keys(&self) -> Result<Vec<(ApiKeyRow, GuildRow)>, RegistryError> {
        let keys: Vec<ApiKeyRow> = self
            .store
            .client()
            .query("SELECT ?fields FROM api_keys FINAL WHERE revoked = 0")
            .fetch_all()
            .await?;
        let guilds = self.guilds().await?;
        Ok(keys
            .into_iter()
            .filter_map(|key| {
                let guild = guilds.iter().find(|g| g.guild_id == key.guild_id && g.active == 1)?.clone();
                Some((key, guild))
            })
            .collect())
    }
}
