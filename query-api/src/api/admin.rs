//! `/api/v1/admin`: a guild's own administration, for keys with `admin`.
//!
//! Admin keys are guild-scoped like every key: they see their own guild, its keys (ids
//! and settings, never hashes), its activity and its audit trail. Creating guilds and
//! keys, and anything across guilds, is the operator's `wowlogs guild|api-key` CLI.

use super::{Guilded, GuildedPage, guilded, guilded_page, json, paged};
use crate::auth::{Admin, Scope};
use crate::params::{Page, Params, PathId, Validate, rfc3339};
use crate::scope::{GuildDb, Sql};
use crate::state::AppState;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use wowlogs_tenancy::{ApiError, ApiKeyRow, GuildRow};

/// A guild, with its keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct Guild {
    pub id: i64,
    pub name: String,
    pub server: String,
    pub region: String,
    pub faction: String,
    /// Per-guild settings (JSON object).
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub active: bool,
    pub created: String,
    pub keys: Vec<KeyInfo>,
}

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

/// The caller's guild with its keys (404 if it is gone from the registry).
async fn own_guild(db: &GuildDb) -> Result<Guild, ApiError> {
    let guild = db
        .first::<GuildRow>(&Sql::new(
            "SELECT guild_id, name, server, region, faction, settings, active, created, version \
             FROM guilds FINAL WHERE {guild}",
        ))
        .await?
        .ok_or_else(|| ApiError::not_found("this key's guild is not in the registry"))?;
    let keys = db
        .all::<ApiKeyRow>(&Sql::new(
            "SELECT guild_id, key_id, key_hash, description, permissions, events_per_minute, max_connections, \
             created, revoked, revoked_at, version FROM api_keys FINAL WHERE {guild} ORDER BY created, key_id",
        ))
        .await?;
    Ok(Guild {
        id: guild.guild_id,
        name: guild.name,
        server: guild.server,
        region: guild.region,
        faction: guild.faction,
        settings: serde_json::from_str(&guild.settings).unwrap_or_else(|_| serde_json::json!({})),
        active: guild.active == 1,
        created: rfc3339(i64::from(guild.created) * 1000),
        keys: keys.into_iter().map(KeyInfo::from).collect(),
    })
}

/// Guilds this key administers.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuildList {
    pub guilds: Vec<Guild>,
}

/// The guilds this key administers: its own.
#[utoipa::path(
    get, path = "/api/v1/admin/guilds", tag = "admin",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The key's guild", body = Guilded<GuildList>),
        (status = 403, description = "The key lacks `admin`"),
    )
)]
pub async fn guilds(scope: Scope<Admin>) -> Result<Response, ApiError> {
    let guild = own_guild(&scope.db).await?;
    Ok(json(guilded(&scope, GuildList { guilds: vec![guild] })?))
}

/// The guild id of the path, if it is the caller's: another guild's is 404.
fn own_id(scope: &Scope<Admin>, id: i64) -> Result<(), ApiError> {
    if id == scope.guild_id() { Ok(()) } else { Err(ApiError::not_found("no such guild")) }
}

/// One guild (the key's own), with its keys.
#[utoipa::path(
    get, path = "/api/v1/admin/guilds/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Guild id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The guild", body = Guilded<Guild>),
        (status = 404, description = "Not this key's guild"),
    )
)]
pub async fn guild(scope: Scope<Admin>, PathId(id): PathId<i64>) -> Result<Response, ApiError> {
    own_id(&scope, id)?;
    Ok(json(guilded(&scope, own_guild(&scope.db).await?)?))
}

/// Activity window.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// Days back from today (default 30, at most 366).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<u32>,
}

impl Validate for ActivityParams {
    fn validate(&self) -> Result<(), ApiError> {
        match self.days {
            Some(d) if !(1..=366).contains(&d) => {
                Err(ApiError::bad_request("`days` must be between 1 and 366"))
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct UploadDay {
    day: String,
    logs: u64,
    events: i64,
    dead_letters: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct FightDay {
    day: String,
    fights: u64,
    kills: u64,
}

/// One day of a guild's activity.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ActivityDay {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// Logs uploaded that day (by upload time), with their events and dead letters.
    pub logs: u64,
    pub events: i64,
    pub dead_letters: i64,
    /// Fights fought that day (by the log's own time).
    pub fights: u64,
    pub kills: u64,
}

/// A guild's activity over the last days.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activity {
    pub days: u32,
    pub since: String,
    /// Days with any activity, oldest first.
    pub activity: Vec<ActivityDay>,
}

/// Uploads and fights per day over the last `days` days.
#[utoipa::path(
    get, path = "/api/v1/admin/guilds/{id}/activity", tag = "admin",
    params(("id" = i64, Path, description = "Guild id"), ActivityParams),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Activity per day", body = Guilded<Activity>),
        (status = 404, description = "Not this key's guild"),
    )
)]
pub async fn activity(
    scope: Scope<Admin>,
    PathId(id): PathId<i64>,
    Params(params): Params<ActivityParams>,
) -> Result<Response, ApiError> {
    own_id(&scope, id)?;
    let days = params.days.unwrap_or(30);
    let now_s = wowlogs_schemas::now_ms() / 1000;
    let since_s = (now_s / 86_400 - i64::from(days) + 1) * 86_400;
    let uploads = scope
        .db
        .all::<UploadDay>(
            &Sql::new(
                "SELECT toString(toDate(updated)) AS day, count() AS logs, sum(events) AS events, \
                 sum(dead_letters) AS dead_letters FROM logs FINAL WHERE {guild}",
            )
            .bind("AND updated >= toDateTime(?)", since_s)
            .push("GROUP BY day"),
        )
        .await?;
    let fights = scope
        .db
        .all::<FightDay>(
            &Sql::new(
                "SELECT toString(toDate(start)) AS day, count() AS fights, countIf(ifNull(kill, 2) = 1) AS kills \
                 FROM encounters FINAL WHERE {guild} AND round IS NULL",
            )
            .bind("AND start_ms >= ?", since_s * 1000)
            .push("GROUP BY day"),
        )
        .await?;
    let mut by_day: BTreeMap<String, ActivityDay> = BTreeMap::new();
    for u in uploads {
        let day = by_day
            .entry(u.day.clone())
            .or_insert_with(|| ActivityDay { day: u.day, ..ActivityDay::default() });
        (day.logs, day.events, day.dead_letters) = (u.logs, u.events, u.dead_letters);
    }
    for f in fights {
        let day = by_day
            .entry(f.day.clone())
            .or_insert_with(|| ActivityDay { day: f.day, ..ActivityDay::default() });
        (day.fights, day.kills) = (f.fights, f.kills);
    }
    let activity =
        Activity { days, since: rfc3339(since_s * 1000), activity: by_day.into_values().collect() };
    Ok(json(guilded(&scope, activity)?))
}

/// An audited change.
#[derive(Debug, clickhouse::Row, Deserialize, Serialize, ToSchema)]
pub struct AuditEntry {
    #[serde(skip_serializing)]
    at_ms: i64,
    /// `cli:<user>` or a key id.
    pub actor: String,
    /// e.g. `guild.create`, `api_key.create`, `api_key.revoke`.
    pub action: String,
    pub target: String,
    pub detail: String,
    pub remote_addr: String,
}

/// A page of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<Audited>,
    /// Entries over all pages.
    pub total: u64,
}

/// An audit entry with its time.
#[derive(Debug, Serialize, ToSchema)]
pub struct Audited {
    pub at: String,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// The guild's audit trail, newest first.
#[utoipa::path(
    get, path = "/api/v1/admin/audit", tag = "admin",
    params(Page),
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "A page of audit entries", body = GuildedPage<AuditList>))
)]
pub async fn audit(scope: Scope<Admin>, Params(page): Params<Page>) -> Result<Response, ApiError> {
    let count = Sql::new("SELECT count() AS n FROM audit_log WHERE {guild}");
    let rows = Sql::new(
        "SELECT at_ms, actor, action, target, detail, remote_addr FROM audit_log WHERE {guild} ORDER BY at_ms DESC",
    );
    let entry = |entry: AuditEntry| Audited { at: rfc3339(entry.at_ms), entry };
    let page = paged(&scope.db, &page, count, rows, entry).await?;
    Ok(json(guilded_page(&scope, page, |entries, total| AuditList { entries, total })?))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(guilds))
        .routes(utoipa_axum::routes!(guild))
        .routes(utoipa_axum::routes!(activity))
        .routes(utoipa_axum::routes!(audit))
}
