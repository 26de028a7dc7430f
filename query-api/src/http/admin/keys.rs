//! A guild's API keys over the API: listed (never the key or its hash), issued (the key
//! shown once, with an expiry if asked), rotated (a new key, the old one valid for an
//! overlap) and revoked, by an instance administrator for any guild or by a guild's
//! `admin` key for its own; every change audited.

use super::about;
use crate::auth::Administrator;
use crate::http::answer::Guilded;
use crate::params::{JsonBody, Params, PathId, Validate, bounded, from_one_to, rfc3339};
use crate::scope::{GuildDb, Sql};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{Extensions, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wowlogs_store::rows::TableRow;
use wowlogs_tenancy::{ApiError, ApiKeyRow, KeySpec, Permission, actor_of};

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
    /// When the key stops working (`null`: never).
    pub expires_at: Option<String>,
    /// Past its expiry: refused as a revoked key is.
    pub expired: bool,
    /// When a request last presented it (`null`: not since usage is recorded). Each
    /// service writes the keys it admitted about once a minute, so it may lag by that.
    pub last_used: Option<String>,
}

impl From<ApiKeyRow> for KeyInfo {
    fn from(k: ApiKeyRow) -> Self {
        let expired = k.expired(wowlogs_schemas::now_ms());
        KeyInfo {
            key_id: k.key_id,
            description: k.description,
            permissions: k.permissions,
            events_per_minute: k.events_per_minute,
            max_connections: k.max_connections,
            created: rfc3339(i64::from(k.created) * 1000),
            revoked: k.revoked == 1,
            revoked_at: (k.revoked == 1).then(|| rfc3339(i64::from(k.revoked_at) * 1000)),
            expires_at: (k.expires_ms > 0).then(|| rfc3339(k.expires_ms)),
            expired,
            last_used: None,
        }
    }
}

/// What a guild key may be allowed (instance-admin keys belong to no guild: the CLI
/// makes them, `wowlogs api-key create --instance-admin`).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GuildPermission {
    Upload,
    Query,
    Stream,
    Officer,
    Admin,
}

impl From<GuildPermission> for Permission {
    fn from(p: GuildPermission) -> Self {
        match p {
            GuildPermission::Upload => Permission::Upload,
            GuildPermission::Query => Permission::Query,
            GuildPermission::Stream => Permission::Stream,
            GuildPermission::Officer => Permission::Officer,
            GuildPermission::Admin => Permission::Admin,
        }
    }
}

/// The specification's default upload budget of a key: parsed events per minute.
pub const DEFAULT_EVENTS_PER_MINUTE: u32 = 15_000;
/// The specification's default WebSocket connections of a key.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// The longest expiry a key is issued with, in days (ten years).
const MAX_EXPIRY_DAYS: u32 = 3650;

/// A key to issue for the guild.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyCreate {
    /// Who holds the key and what for (shown in lists and the audit trail); no control
    /// characters.
    #[serde(default)]
    #[schema(max_length = 256, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub description: String,
    #[schema(min_items = 1)]
    pub permissions: Vec<GuildPermission>,
    /// Upload budget, parsed events per minute: 15,000 unless given (the
    /// specification's default); 0: no limit of the key's own.
    pub events_per_minute: Option<u32>,
    /// WebSocket connections: 10 unless given; 0: the service's per-key default.
    pub max_connections: Option<u32>,
    /// Days until the key stops working (1 to 3650); none: it does not expire.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

impl Validate for KeyCreate {
    fn validate(&self) -> Result<(), ApiError> {
        if self.permissions.is_empty() {
            return Err(ApiError::bad_request("a key needs at least one permission"));
        }
        from_one_to("expires_in_days", self.expires_in_days, MAX_EXPIRY_DAYS)?;
        bounded(&[("description", Some(&self.description), 256)])
    }
}

/// A key just issued: the key itself, shown this once (only its hash is kept), and what
/// lists will show of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedKey {
    /// `wl_` and 64 hex digits: give it to its holder now; it cannot be shown again.
    pub key: String,
    pub key_info: KeyInfo,
}

/// The guild's keys, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
}

async fn guild_key(db: &GuildDb, key_id: &str) -> Result<ApiKeyRow, ApiError> {
    db.first::<ApiKeyRow>(
        &Sql::new("SELECT")
            .push(ApiKeyRow::SELECT)
            .push("FROM api_keys FINAL WHERE {guild}")
            .bind("AND key_id = ?", key_id),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("no such key in this guild"))
}

/// The guild's name, for the answer around its keys (404 when the registry has no such
/// guild).
async fn guild_name(state: &AppState, guild_id: i64) -> Result<String, ApiError> {
    let guild = state.registry.guild(guild_id).await?;
    guild.map(|guild| guild.name).ok_or_else(|| ApiError::not_found("no such guild"))
}

/// A guild's keys (never the keys themselves): any guild's for an instance-admin key, its
/// own for a guild's `admin` key (another guild is 404).
#[utoipa::path(
    get, path = "/api/v1/admin/guilds/{guild_id}/keys", tag = "admin",
    params(("guild_id" = i64, Path, description = "Guild id", minimum = 1)),
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses(
        (status = 200, description = "The guild's keys", body = Guilded<KeyList>),
        (status = 404, description = "No such guild (or not the key's own)", body = crate::http::docs::Error),
    )
)]
pub async fn list_keys(
    State(state): State<AppState>,
    admin: Administrator,
    PathId(guild_id): PathId<i64>,
) -> Result<Response, ApiError> {
    let db = admin.guild(guild_id)?;
    about(guild_id, &guild_name(&state, guild_id).await?, KeyList { keys: keys_of(&db).await? })
}

/// The keys `db`'s guild has, oldest first, as administrators see them.
pub(super) async fn keys_of(db: &GuildDb) -> Result<Vec<KeyInfo>, ApiError> {
    #[derive(Debug, clickhouse::Row, Deserialize)]
    struct Used {
        key_id: String,
        last_used_ms: i64,
    }
    let keys = db
        .all::<ApiKeyRow>(
            &Sql::new("SELECT")
                .push(ApiKeyRow::SELECT)
                .push("FROM api_keys FINAL WHERE {guild} ORDER BY created, key_id"),
        )
        .await?;
    let used = db
        .all::<Used>(&Sql::new(
            "SELECT key_id, max(last_used_ms) AS last_used_ms FROM api_key_usage WHERE {guild} GROUP BY key_id",
        ))
        .await?;
    let used: std::collections::HashMap<String, i64> =
        used.into_iter().map(|u| (u.key_id, u.last_used_ms)).collect();
    Ok(keys
        .into_iter()
        .map(|key| {
            let last_used = used.get(&key.key_id).map(|&at| rfc3339(at));
            KeyInfo { last_used, ..KeyInfo::from(key) }
        })
        .collect())
}

/// Issues a key for the guild: any guild's for an instance-admin key, its own for a
/// guild's `admin` key. The answer holds the key, once; the audit trail records it.
#[utoipa::path(
    post, path = "/api/v1/admin/guilds/{guild_id}/keys", tag = "admin",
    params(("guild_id" = i64, Path, description = "Guild id", minimum = 1)),
    request_body = KeyCreate,
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses(
        (status = 201, description = "The key, shown this once", body = Guilded<IssuedKey>),
        (status = 404, description = "No such active guild (or not the key's own)", body = crate::http::docs::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::http::docs::Error),
    )
)]
pub async fn issue_key(
    State(state): State<AppState>,
    admin: Administrator,
    PathId(guild_id): PathId<i64>,
    extensions: Extensions,
    JsonBody(body): JsonBody<KeyCreate>,
) -> Result<Response, ApiError> {
    // Any guild for an instance administrator, the key's own otherwise (404).
    admin.guild(guild_id)?;
    let spec = KeySpec {
        guild_id,
        description: body.description,
        permissions: {
            let mut permissions: Vec<Permission> =
                body.permissions.into_iter().map(Permission::from).collect();
            permissions.sort();
            permissions.dedup();
            permissions
        },
        events_per_minute: body.events_per_minute.unwrap_or(DEFAULT_EVENTS_PER_MINUTE),
        max_connections: body.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
    };
    let actor = actor_of(&admin.principal.key_id, &extensions);
    let (key, mut row) = state.registry.create_key(&spec, &actor).await?;
    if let Some(days) = body.expires_in_days {
        let at = wowlogs_schemas::now_ms() + i64::from(days) * 86_400_000;
        row = state.registry.set_expiry(&row.key_id, Some(at), &actor).await?;
    }
    let issued = IssuedKey { key: key.plaintext, key_info: KeyInfo::from(row) };
    shown_once(about(guild_id, &guild_name(&state, guild_id).await?, issued)?)
}

/// The answer that holds a new key: 201, and the key is in this answer only, so no cache
/// may keep it.
fn shown_once(mut response: Response) -> Result<Response, ApiError> {
    *response.status_mut() = StatusCode::CREATED;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Revokes one of the guild's keys: services refuse it within their next key refresh (a
/// few seconds). Any guild's for an instance-admin key, its own for a guild's `admin`
/// key; audited. A key cannot revoke itself (409): an administrator would lock itself
/// out mid-session; another admin key, or `wowlogs api-key revoke` on the host, can.
#[utoipa::path(
    post, path = "/api/v1/admin/guilds/{guild_id}/keys/{key_id}/revoke", tag = "admin",
    params(
        ("guild_id" = i64, Path, description = "Guild id", minimum = 1),
        ("key_id" = String, Path, description = "The key's id (`key-` and 12 hex digits), as lists show it"),
    ),
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses(
        (status = 200, description = "The key, revoked", body = Guilded<KeyInfo>),
        (status = 404, description = "No such key in this guild", body = crate::http::docs::Error),
        (status = 409, description = "The key named is the one making the request", body = crate::http::docs::Error),
    )
)]
pub async fn revoke_key(
    State(state): State<AppState>,
    admin: Administrator,
    PathId((guild_id, key_id)): PathId<(i64, String)>,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    let db = admin.guild(guild_id)?;
    guild_key(&db, &key_id).await?;
    if key_id == admin.principal.key_id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "a key cannot revoke itself: revoke it with another admin key, or `wowlogs api-key revoke` on the host",
        ));
    }
    let actor = actor_of(&admin.principal.key_id, &extensions);
    let row = state.registry.revoke_key(&key_id, &actor).await?;
    about(guild_id, &guild_name(&state, guild_id).await?, KeyInfo::from(row))
}

/// How long a rotated key keeps working beside its replacement.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RotateParams {
    /// Hours the old key keeps working (default 24, 1 to 720): time for its holder to
    /// switch. To cut it off at once, revoke it once the new key is in place.
    #[param(minimum = 1, maximum = 720)]
    pub overlap_hours: Option<u32>,
}

/// Default overlap of a rotation, in hours.
const DEFAULT_OVERLAP_HOURS: u32 = 24;
/// Longest overlap of a rotation, in hours (30 days).
const MAX_OVERLAP_HOURS: u32 = 720;

impl Validate for RotateParams {
    fn validate(&self) -> Result<(), ApiError> {
        from_one_to("overlap_hours", self.overlap_hours, MAX_OVERLAP_HOURS)
    }
}

/// A rotation: the new key, shown this once, and the old key with its expiry.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKey {
    /// `wl_` and 64 hex digits: give it to the old key's holder now.
    pub key: String,
    pub key_info: KeyInfo,
    /// The key replaced, working until its `expires_at`.
    pub replaces: KeyInfo,
}

/// Rotates one of the guild's keys: a new key with the same permissions, limits and
/// description, and the old key valid for an overlap (24 hours unless asked), then
/// refused. Any guild's for an instance-admin key, its own for a guild's `admin` key (a
/// key may rotate itself: it keeps working for the overlap); audited (`api_key.rotate`).
/// A revoked or expired key is not rotated (404): issue a new one.
#[utoipa::path(
    post, path = "/api/v1/admin/guilds/{guild_id}/keys/{key_id}/rotate", tag = "admin",
    params(
        ("guild_id" = i64, Path, description = "Guild id", minimum = 1),
        ("key_id" = String, Path, description = "The key's id (`key-` and 12 hex digits), as lists show it"),
        RotateParams,
    ),
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses(
        (status = 201, description = "The new key, shown this once, and the old one's expiry", body = Guilded<RotatedKey>),
        (status = 404, description = "No such active key in this guild", body = crate::http::docs::Error),
    )
)]
pub async fn rotate_key(
    State(state): State<AppState>,
    admin: Administrator,
    PathId((guild_id, key_id)): PathId<(i64, String)>,
    Params(params): Params<RotateParams>,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    let db = admin.guild(guild_id)?;
    guild_key(&db, &key_id).await?;
    let hours = params.overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
    let actor = actor_of(&admin.principal.key_id, &extensions);
    let overlap = std::time::Duration::from_secs(u64::from(hours) * 3600);
    let (key, new, old) = state.registry.rotate_key(&key_id, overlap, &actor).await?;
    let rotated =
        RotatedKey { key: key.plaintext, key_info: KeyInfo::from(new), replaces: KeyInfo::from(old) };
    shown_once(about(guild_id, &guild_name(&state, guild_id).await?, rotated)?)
}

/// When a key is to stop working.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExpireParams {
    /// Hours from now (default 24, 1 to 87,600: ten years). To cut a key off at once,
    /// revoke it.
    #[param(minimum = 1, maximum = 87600)]
    pub in_hours: Option<u32>,
}

/// Default expiry set on a key, in hours.
const DEFAULT_EXPIRY_HOURS: u32 = 24;
/// Longest expiry set on a key, in hours (ten years).
const MAX_EXPIRY_HOURS: u32 = 87_600;

impl Validate for ExpireParams {
    fn validate(&self) -> Result<(), ApiError> {
        from_one_to("in_hours", self.in_hours, MAX_EXPIRY_HOURS)
    }
}

/// Sets when one of the guild's keys stops working (in 24 hours unless asked; it is then
/// refused as a revoked key is). Any guild's for an instance-admin key, its own for a
/// guild's `admin` key; audited (`api_key.expire`). A revoked key is not changed (404).
#[utoipa::path(
    post, path = "/api/v1/admin/guilds/{guild_id}/keys/{key_id}/expire", tag = "admin",
    params(
        ("guild_id" = i64, Path, description = "Guild id", minimum = 1),
        ("key_id" = String, Path, description = "The key's id (`key-` and 12 hex digits), as lists show it"),
        ExpireParams,
    ),
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses(
        (status = 200, description = "The key, with its expiry", body = Guilded<KeyInfo>),
        (status = 404, description = "No such active key in this guild", body = crate::http::docs::Error),
    )
)]
pub async fn expire_key(
    State(state): State<AppState>,
    admin: Administrator,
    PathId((guild_id, key_id)): PathId<(i64, String)>,
    Params(params): Params<ExpireParams>,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    let db = admin.guild(guild_id)?;
    let key = guild_key(&db, &key_id).await?;
    if key.revoked == 1 {
        return Err(ApiError::not_found("no such active key in this guild: it is revoked"));
    }
    let hours = params.in_hours.unwrap_or(DEFAULT_EXPIRY_HOURS);
    let at = wowlogs_schemas::now_ms() + i64::from(hours) * 3_600_000;
    let actor = actor_of(&admin.principal.key_id, &extensions);
    let row = state.registry.set_expiry(&key_id, Some(at), &actor).await?;
    about(guild_id, &guild_name(&state, guild_id).await?, KeyInfo::from(row))
}
