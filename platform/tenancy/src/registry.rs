//! Guilds and API keys in ClickHouse (`guilds`, `api_keys`, migration 0002). Every
//! change is a new row version (ReplacingMergeTree) and an `audit_log` row. (Over ~500
//! lines: guilds, keys and their audit rows share one versioning and audit path; key
//! management over HTTP, issue 32, is the moment to cut keys into a file of their own.)

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
        /// How to reach the guild's officers (free text).
        contact_info: String = "String",
        /// IANA time zone the guild raids in (`UTC` unless set).
        timezone: String = "String",
        /// Days a log is kept after its upload (`wowlogs retention`); 0: for good.
        retention_days: u32 = "UInt32",
    }
}

/// The guild id instance-admin keys are stored with: no guild has it (ids start at 1).
pub const NO_GUILD: i64 = 0;

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
            contact_info: String::new(),
            timezone: "UTC".into(),
            retention_days: 0,
        }
    }

    /// What instance-admin keys authenticate to: the instance, not a guild.
    pub fn instance() -> Self {
        GuildRow::active(NO_GUILD, "", 0)
    }

    pub fn is_active(&self) -> bool {
        self.active == 1
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
        /// When the key stops working, ms since the epoch (migration 0018); 0: never.
        /// (Backups from before it have no such field: never.)
        #[serde(default)]
        expires_ms: i64 = "Int64",
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
            expires_ms: 0,
        }
    }

    /// Whether the key has expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_ms > 0 && now_ms >= self.expires_ms
    }

    /// The key's permissions; names no longer known are ignored.
    pub fn permissions(&self) -> Vec<Permission> {
        self.permissions.iter().filter_map(|p| p.parse().ok()).collect()
    }
}

wowlogs_store::table_row! {
    /// `api_key_usage`: when a key was last used (migration 0019).
    pub struct KeyUsageRow in "api_key_usage" {
        guild_id: i64 = "Int64",
        key_id: String = "String",
        last_used_ms: i64 = "Int64",
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
        /// The request's `X-Request-Id` (empty for the CLI).
        request_id: String = "String",
    }
}

impl AuditRow {
    /// An entry made now, on `guild_id`'s trail ([`NO_GUILD`]: the instance's).
    /// Every entry is also a log line (target `wowlogs::audit`), so the log pipeline
    /// (Loki, docs/logs.md) answers "who did X" beside the `audit_log` table.
    pub fn now(guild_id: i64, actor: &Actor, action: &str, target: &str, detail: String) -> Self {
        tracing::info!(
            target: "wowlogs::audit",
            guild_id,
            actor = %actor.name,
            action,
            audit_target = target,
            detail = %detail,
            remote_addr = %actor.remote_addr,
            request_id = %actor.request_id,
            "audit"
        );
        let at_ms = now_ms();
        AuditRow {
            guild_id,
            at: datetime(at_ms),
            at_ms,
            actor: actor.name.clone(),
            action: action.to_string(),
            target: target.to_string(),
            detail,
            remote_addr: actor.remote_addr.clone(),
            request_id: actor.request_id.clone(),
        }
    }
}

/// Who makes a change, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// `cli:<user>`, a key id, or a service (`service:retention`).
    pub name: String,
    /// The client's address as the entry point saw it.
    pub remote_addr: String,
    /// The request that made the change.
    pub request_id: String,
}

impl Actor {
    /// The operator at this machine's command line (`cli:$USER`).
    pub fn cli() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor { name: format!("cli:{user}"), ..Actor::default() }
    }

    /// A caller identified by name (a key id) and address.
    pub fn new(name: impl Into<String>, remote_addr: impl Into<String>) -> Self {
        Actor { name: name.into(), remote_addr: remote_addr.into(), request_id: String::new() }
    }

    /// The same actor, for the request with this id.
    pub fn in_request(self, request_id: impl Into<String>) -> Self {
        Actor { request_id: request_id.into(), ..self }
    }
}

/// A guild to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewGuild {
    pub name: String,
    pub server: String,
    pub region: String,
    pub faction: String,
    /// JSON object (`{}` when empty).
    pub settings: String,
    pub contact_info: String,
    /// IANA zone name (`UTC` when empty).
    pub timezone: String,
    /// Days a log is kept after its upload; 0: for good.
    pub retention_days: u32,
}

/// Changes to a guild: `None` keeps the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuildUpdate {
    pub name: Option<String>,
    pub server: Option<String>,
    pub region: Option<String>,
    pub faction: Option<String>,
    /// JSON object.
    pub settings: Option<String>,
    pub contact_info: Option<String>,
    pub timezone: Option<String>,
    pub retention_days: Option<u32>,
}

/// A key to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    /// [`NO_GUILD`] for an instance-admin key.
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
    #[error(
        "an instance-admin key belongs to no guild and holds `instance_admin` alone \
         (`wowlogs api-key create --instance-admin`)"
    )]
    InstanceAdminAlone,
    #[error("guild {existing} already has the name {name:?} on server {server:?} in region {region:?}")]
    Duplicate { existing: i64, name: String, server: String, region: String },
    #[error("guild settings must be a JSON object: {0}")]
    Settings(String),
    #[error("{0:?} is not a time zone name like `Europe/Paris` or `UTC`")]
    Timezone(String),
    #[error("guild {0} is active: deactivate it before purging it (its keys stop working first)")]
    StillActive(i64),
    #[error("a purge needs a reason (who asked, or why): it is recorded and audited")]
    NoReason,
    #[error("the system random source failed: {0}")]
    Random(getrandom::Error),
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
}

impl RegistryError {
    /// The HTTP answer to a refused change (administration over the API).
    pub fn to_api(&self) -> wowlogs_http::ApiError {
        use axum::http::StatusCode;
        use wowlogs_http::ApiError;
        match self {
            RegistryError::NoSuchGuild(_) | RegistryError::NoSuchKey(_) => {
                ApiError::not_found(self.to_string())
            }
            RegistryError::Duplicate { .. } | RegistryError::StillActive(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", self.to_string())
            }
            RegistryError::EmptyName
            | RegistryError::NoReason
            | RegistryError::NoPermissions
            | RegistryError::InstanceAdminAlone
            | RegistryError::Settings(_)
            | RegistryError::Timezone(_) => ApiError::bad_request(self.to_string()),
            RegistryError::Random(_) => ApiError::internal(self),
            RegistryError::ClickHouse(error) => ApiError::unavailable(error),
        }
    }
}

impl From<RegistryError> for wowlogs_http::ApiError {
    fn from(error: RegistryError) -> Self {
        error.to_api()
    }
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct MaxId {
    id: i64,
}

/// Held while a guild is created: its id is the highest one plus one, read then written,
/// so two creations at once in one process would take the same id. (Two processes
/// creating guilds at the same instant still could: guilds are created by instance
/// administrators, rarely; noted in docs/operations.md.)
static NEW_GUILDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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

    /// Writes audit entries (see [`crate::Auditor`]).
    pub async fn insert_audit(&self, rows: &[AuditRow]) -> Result<(), clickhouse::error::Error> {
        wowlogs_store::rows::insert_rows(&self.store.client(), rows).await
    }

    /// Records an audited action on a guild's trail ([`NO_GUILD`] for the instance's).
    pub async fn record(
        &self,
        guild_id: i64,
        actor: &Actor,
        action: &str,
        target: &str,
        detail: String,
    ) -> Result<(), clickhouse::error::Error> {
        self.insert(&AuditRow::now(guild_id, actor, action, target, detail)).await
    }

    /// The active guild with this name on this server and region (names compared
    /// without case or surrounding blanks), other than `except`.
    async fn same_name(
        &self,
        name: &str,
        server: &str,
        region: &str,
        except: i64,
    ) -> Result<(), RegistryError> {
        let norm = |s: &str| s.trim().to_lowercase();
        let clash = self.guilds().await?.into_iter().find(|g| {
            g.guild_id != except
                && norm(&g.name) == norm(name)
                && norm(&g.server) == norm(server)
                && norm(&g.region) == norm(region)
        });
        match clash {
            Some(g) => Err(RegistryError::Duplicate {
                existing: g.guild_id,
                name: g.name,
                server: g.server,
                region: g.region,
            }),
            None => Ok(()),
        }
    }

    /// Creates a guild with the next free id; `(name, server, region)` must be new.
    pub async fn create_guild(&self, guild: &NewGuild, actor: &Actor) -> Result<GuildRow, RegistryError> {
        if guild.name.trim().is_empty() {
            return Err(RegistryError::EmptyName);
        }
        let settings = settings_object(&guild.settings)?;
        let timezone = self.known_zone(timezone(&guild.timezone)?).await?;
        // One creation at a time in this process: two reading the same highest id would
        // both take the next one (ClickHouse has no sequence; see `NEW_GUILDS`).
        let _one_at_a_time = NEW_GUILDS.lock().await;
        self.same_name(&guild.name, &guild.server, &guild.region, NO_GUILD).await?;
        // Never a purged guild's id: its records stay on the topics, dropped for good.
        let max = self
            .store
            .client()
            .query("SELECT max(id) AS id FROM (SELECT max(guild_id) AS id FROM guilds UNION ALL SELECT max(guild_id) AS id FROM purged_guilds)")
            .fetch_one::<MaxId>()
            .await?;
        let now = now_ms();
        let row = GuildRow {
            server: guild.server.trim().to_string(),
            region: guild.region.trim().to_string(),
            faction: guild.faction.trim().to_string(),
            settings,
            contact_info: guild.contact_info.clone(),
            timezone,
            retention_days: guild.retention_days,
            ..GuildRow::active(max.id.max(NO_GUILD) + 1, guild.name.trim(), now)
        };
        self.insert(&row).await?;
        let detail =
            format!("name={} server={} region={} faction={}", row.name, row.server, row.region, row.faction);
        self.record(row.guild_id, actor, "guild.create", &row.guild_id.to_string(), detail).await?;
        // A new guild's progress plan starts from the default roadmap, as every guild's
        // did at deployment (`wowlogs progress seed-targets`).
        let roadmap = wowlogs_progress::Roadmap::default_roadmap();
        let weeks = wowlogs_store::progress::seed_targets(
            &self.store.client(),
            row.guild_id,
            &row.region,
            &roadmap,
            None,
        )
        .await?;
        if weeks > 0 {
            self.record(row.guild_id, actor, "progress.seed", &roadmap.season, format!("{weeks} weeks"))
                .await?;
        }
        Ok(row)
    }

    /// Changes a guild's name, realm, settings, contact or time zone (a new row
    /// version); the audit entry lists the fields changed.
    pub async fn update_guild(
        &self,
        guild_id: i64,
        update: &GuildUpdate,
        actor: &Actor,
    ) -> Result<GuildRow, RegistryError> {
        let old = self.guild(guild_id).await?.ok_or(RegistryError::NoSuchGuild(guild_id))?;
        let pick = |new: &Option<String>, old: &str| {
            new.as_deref().map_or(old.to_string(), |v| v.trim().to_string())
        };
        let mut row = GuildRow {
            name: pick(&update.name, &old.name),
            server: pick(&update.server, &old.server),
            region: pick(&update.region, &old.region),
            faction: pick(&update.faction, &old.faction),
            settings: match &update.settings {
                Some(settings) => settings_object(settings)?,
                None => old.settings.clone(),
            },
            contact_info: update.contact_info.clone().unwrap_or_else(|| old.contact_info.clone()),
            timezone: match &update.timezone {
                Some(zone) => self.known_zone(timezone(zone)?).await?,
                None => old.timezone.clone(),
            },
            retention_days: update.retention_days.unwrap_or(old.retention_days),
            ..old.clone()
        };
        if row.name.is_empty() {
            return Err(RegistryError::EmptyName);
        }
        self.same_name(&row.name, &row.server, &row.region, guild_id).await?;
        let changed: Vec<String> = [
            ("name", &old.name, &row.name),
            ("server", &old.server, &row.server),
            ("region", &old.region, &row.region),
            ("faction", &old.faction, &row.faction),
            ("settings", &old.settings, &row.settings),
            ("contact_info", &old.contact_info, &row.contact_info),
            ("timezone", &old.timezone, &row.timezone),
            ("retention_days", &old.retention_days.to_string(), &row.retention_days.to_string()),
        ]
        .into_iter()
        .filter(|(_, before, after)| before != after)
        .map(|(field, _, after)| format!("{field}={after}"))
        .collect();
        if changed.is_empty() {
            return Ok(old);
        }
        row.version = next_version(old.version);
        self.insert(&row).await?;
        self.record(guild_id, actor, "guild.update", &guild_id.to_string(), changed.join(" ")).await?;
        if row.timezone != old.timezone {
            // Its days are the new zone's from now on (a failure here is healed by the
            // next `wowlogs migrate`, which finds days in another zone than the guild's).
            wowlogs_store::rollups::refresh_guilds(&self.store, &[guild_id]).await?;
        }
        Ok(row)
    }

    /// `zone` if ClickHouse knows it (it computes the guild's days in it), else the
    /// refusal naming it.
    async fn known_zone(&self, zone: String) -> Result<String, RegistryError> {
        let probe = self
            .store
            .client()
            .query(&format!(
                "SELECT toUInt32(toDate(now(), {})) AS n",
                wowlogs_store::rollups::zone_literal(&zone)
            ))
            .fetch_one::<u32>()
            .await;
        match probe {
            Ok(_) => Ok(zone),
            // The server answered, refusing the zone (its code differs between versions).
            Err(clickhouse::error::Error::BadResponse(_)) => Err(RegistryError::Timezone(zone)),
            Err(error) => Err(error.into()),
        }
    }

    /// Deactivates (`false`) or reactivates a guild. Its data stays; while it is
    /// inactive its keys are refused (services see it at their next key refresh) and it
    /// drops out of the instance's guild list. Setting the state it has changes nothing.
    pub async fn set_active(
        &self,
        guild_id: i64,
        active: bool,
        actor: &Actor,
    ) -> Result<GuildRow, RegistryError> {
        let old = self.guild(guild_id).await?.ok_or(RegistryError::NoSuchGuild(guild_id))?;
        if old.is_active() == active {
            return Ok(old);
        }
        let row = GuildRow { active: u8::from(active), version: next_version(old.version), ..old };
        self.insert(&row).await?;
        let action = if active { "guild.reactivate" } else { "guild.deactivate" };
        self.record(guild_id, actor, action, &guild_id.to_string(), String::new()).await?;
        Ok(row)
    }

    /// Purges (or, with `dry_run`, only counts) everything guild `guild_id` owns
    /// ([`wowlogs_store::purge`]): it must exist, and be deactivated first unless this is a
    /// dry run. Audited (`guild.purge`, with the rows per table) on the guild's trail,
    /// which is kept.
    pub async fn purge_guild(
        &self,
        guild_id: i64,
        reason: &str,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<wowlogs_store::purge::PurgeOutcome, RegistryError> {
        let guild = self.guild(guild_id).await?.ok_or(RegistryError::NoSuchGuild(guild_id))?;
        if reason.trim().is_empty() {
            return Err(RegistryError::NoReason);
        }
        if guild.is_active() && !dry_run {
            return Err(RegistryError::StillActive(guild_id));
        }
        let outcome =
            wowlogs_store::purge::purge_guild(&self.store, guild_id, reason.trim(), &actor.name, dry_run)
                .await?;
        if !dry_run {
            let counts: Vec<String> = outcome
                .tables
                .iter()
                .filter(|t| t.rows > 0)
                .map(|t| format!("{}={}", t.table, t.rows))
                .collect();
            let detail = format!("name={} reason={} {}", guild.name, reason.trim(), counts.join(" "));
            self.record(guild_id, actor, "guild.purge", &guild_id.to_string(), detail).await?;
        }
        Ok(outcome)
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
        let instance = spec.permissions.contains(&Permission::InstanceAdmin);
        if instance || spec.guild_id == NO_GUILD {
            if !(instance
                && spec.guild_id == NO_GUILD
                && spec.permissions.iter().all(|&p| p == Permission::InstanceAdmin))
            {
                return Err(RegistryError::InstanceAdminAlone);
            }
        } else {
            match self.guild(spec.guild_id).await? {
                Some(guild) if guild.is_active() => {}
                _ => return Err(RegistryError::NoSuchGuild(spec.guild_id)),
            }
        }
        let key = keys::generate().map_err(RegistryError::Random)?;
        let row = ApiKeyRow::active(&key.plaintext, spec, now_ms());
        self.insert(&row).await?;
        let detail = format!("permissions={} description={}", row.permissions.join("+"), row.description);
        self.record(row.guild_id, actor, "api_key.create", &row.key_id, detail).await?;
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
        let key = self.key(key_id).await?;
        let now = now_ms();
        let row = ApiKeyRow {
            revoked: 1,
            revoked_at: datetime(now),
            version: (now as u64).max(next_version(key.version)),
            ..key
        };
        self.insert(&row).await?;
        self.record(row.guild_id, actor, "api_key.revoke", &row.key_id, String::new()).await?;
        Ok(row)
    }

    /// Sets when a key stops working (`None`: never); audited (`api_key.expire`).
    pub async fn set_expiry(
        &self,
        key_id: &str,
        expires_ms: Option<i64>,
        actor: &Actor,
    ) -> Result<ApiKeyRow, RegistryError> {
        let key = self.key(key_id).await?;
        let row = ApiKeyRow {
            expires_ms: expires_ms.unwrap_or(0).max(0),
            version: next_version(key.version),
            ..key
        };
        self.insert(&row).await?;
        let detail = match expires_ms {
            Some(at) => format!("expires_ms={at}"),
            None => "expires=never".to_string(),
        };
        self.record(row.guild_id, actor, "api_key.expire", &row.key_id, detail).await?;
        Ok(row)
    }

    /// Rotates a key: a new key with the same guild, permissions, limits and description,
    /// and the old one expiring `overlap` from now (sooner if it expired sooner), so its
    /// holder can switch without a gap. The new key's plaintext is in the returned
    /// [`NewKey`] only. Audited (`api_key.rotate`, old and new ids).
    pub async fn rotate_key(
        &self,
        key_id: &str,
        overlap: std::time::Duration,
        actor: &Actor,
    ) -> Result<(NewKey, ApiKeyRow, ApiKeyRow), RegistryError> {
        let old = self.key(key_id).await?;
        let now = now_ms();
        if old.revoked == 1 || old.expired(now) {
            return Err(RegistryError::NoSuchKey(format!("{key_id} (revoked or expired: issue a new key)")));
        }
        let spec = KeySpec {
            guild_id: old.guild_id,
            description: old.description.clone(),
            permissions: old.permissions(),
            events_per_minute: old.events_per_minute,
            max_connections: old.max_connections,
        };
        let (key, new) = self.create_key(&spec, actor).await?;
        let until = now.saturating_add(overlap.as_millis().min(i64::MAX as u128) as i64);
        let until = if old.expires_ms > 0 { until.min(old.expires_ms) } else { until };
        let old = ApiKeyRow { expires_ms: until, version: next_version(old.version), ..old };
        self.insert(&old).await?;
        let detail = format!("new={} old_expires_ms={until}", new.key_id);
        self.record(old.guild_id, actor, "api_key.rotate", &old.key_id, detail).await?;
        Ok((key, new, old))
    }

    /// Records when keys were last used (what services admitted since their last write).
    pub async fn record_usage(&self, rows: &[KeyUsageRow]) -> Result<(), clickhouse::error::Error> {
        wowlogs_store::rows::insert_rows(&self.store.client(), rows).await
    }

    /// One key, by its id.
    async fn key(&self, key_id: &str) -> Result<ApiKeyRow, RegistryError> {
        let found: Option<ApiKeyRow> = self
            .store
            .client()
            .query("SELECT ?fields FROM api_keys FINAL WHERE key_id = ?")
            .bind(key_id)
            .fetch_optional()
            .await?;
        found.ok_or_else(|| RegistryError::NoSuchKey(key_id.to_string()))
    }

    /// Every key not revoked, with its guild (inactive guilds too, so that their keys
    /// are refused with a reason; [`GuildRow::instance`] for instance-admin keys): what
    /// services authenticate against (refreshed every few seconds, so revocation and
    /// deactivation spread within one period).
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
                let guild = if key.guild_id == NO_GUILD {
                    GuildRow::instance()
                } else {
                    guilds.iter().find(|g| g.guild_id == key.guild_id)?.clone()
                };
                Some((key, guild))
            })
            .collect())
    }
}

/// A row version after `old`: now, or one more when the clock is behind it.
fn next_version(old: u64) -> u64 {
    (now_ms().max(0) as u64).max(old + 1)
}

/// Guild settings as stored: a JSON object, compact (`{}` when empty).
fn settings_object(settings: &str) -> Result<String, RegistryError> {
    if settings.trim().is_empty() {
        return Ok("{}".into());
    }
    match serde_json::from_str::<serde_json::Value>(settings) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value.to_string()),
        Ok(other) => Err(RegistryError::Settings(format!("got {other}"))),
        Err(error) => Err(RegistryError::Settings(error.to_string())),
    }
}

/// A time zone name as IANA spells them (`UTC`, `Europe/Paris`, `America/Argentina/Salta`,
/// `Etc/GMT+3`); `UTC` when empty.
fn timezone(zone: &str) -> Result<String, RegistryError> {
    let zone = zone.trim();
    if zone.is_empty() {
        return Ok("UTC".into());
    }
    let part_ok = |part: &str| {
        part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && part.chars().all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
    };
    if zone.len() <= 64 && zone.split('/').all(part_ok) {
        Ok(zone.to_string())
    } else {
        Err(RegistryError::Timezone(zone.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_json_objects() {
        assert_eq!(settings_object("").unwrap(), "{}");
        assert_eq!(settings_object(r#"{ "raid_days": ["wed"] }"#).unwrap(), r#"{"raid_days":["wed"]}"#);
        assert!(matches!(settings_object("[1]"), Err(RegistryError::Settings(_))));
        assert!(matches!(settings_object("{"), Err(RegistryError::Settings(_))));
    }

    #[test]
    fn time_zones_look_like_iana_names() {
        for ok in ["UTC", "Europe/Paris", "America/Argentina/Salta", "Etc/GMT+3"] {
            assert_eq!(timezone(ok).unwrap(), ok);
        }
        assert_eq!(timezone(" ").unwrap(), "UTC");
        for bad in ["../etc", "Europe/", "a b", "<script>"] {
            assert!(matches!(timezone(bad), Err(RegistryError::Timezone(_))), "{bad}");
        }
    }
}
