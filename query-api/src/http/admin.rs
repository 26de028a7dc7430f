//! `/api/v1/admin`: guild administration.
//!
//! Two kinds of key reach it ([`Administrator`]): a guild's key with `admin` sees its own
//! guild (its details, keys, activity and audit trail) and nothing else; an
//! instance-admin key belongs to no guild and sees every guild, and alone may create,
//! change, deactivate and reactivate guilds and move encounters between them. Every
//! change is audited with the key, the client's address and the request id.

use super::answer::{Guilded, Pagination, json, json_bytes};
use crate::auth::{Administrator, InstanceAdmin};
use crate::params::{DEFAULT_PER_PAGE, JsonBody, Page, Params, PathId, Validate, rfc3339};
use crate::scope::{GuildDb, Sql};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{Extensions, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::{IntoParams, ToSchema};
use wowlogs_schemas::GuildId;
use wowlogs_store::rows::TableRow;
use wowlogs_store::{TransferError, transfer_encounters};
use wowlogs_tenancy::{ApiError, ApiKeyRow, GuildRow, GuildUpdate, NewGuild, actor_of};

/// An administration answer: the guild it is about, when it is about one guild (an
/// instance administrator's lists across guilds have none), the data and, for lists,
/// the page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Administered<T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_name: Option<String>,
    pub data: T,
    pub pagination: Pagination,
}

/// A guild as the instance's list shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GuildSummary {
    pub guild_id: i64,
    pub guild_name: String,
    pub server: String,
    pub region: String,
    pub faction: String,
    /// Fights (Solo Shuffle rounds count in their match).
    pub total_encounters: u64,
    /// Named characters seen in any of the guild's logs.
    pub total_characters: u64,
    /// When the guild's last fight ended (null with no fights).
    pub last_activity: Option<String>,
    /// False once deactivated: its keys are refused, its data kept.
    pub active: bool,
}

/// One guild with its settings and keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuildDetails {
    #[serde(flatten)]
    pub summary: GuildSummary,
    /// Per-guild settings (raid schedule, loot system, ...): a JSON object.
    #[schema(value_type = Object)]
    pub settings_json: serde_json::Value,
    pub contact_info: String,
    /// IANA time zone name.
    pub timezone: String,
    /// Days a log is kept after its upload (`wowlogs retention`); 0: for good.
    pub retention_days: u32,
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

#[derive(Debug, clickhouse::Row, Deserialize)]
struct GuildFights {
    guild_id: i64,
    encounters: u64,
    last_ms: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct GuildCharacters {
    guild_id: i64,
    characters: u64,
}

/// The registry rows of the guilds a view holds (one, or every one), by id.
fn guild_rows() -> Sql {
    Sql::new("SELECT").push(GuildRow::SELECT).push("FROM guilds FINAL WHERE {guild} ORDER BY guild_id")
}

/// The one guild a view holds (404 when the registry does not have it).
async fn registered(db: &GuildDb) -> Result<GuildRow, ApiError> {
    db.first::<GuildRow>(&guild_rows()).await?.ok_or_else(|| ApiError::not_found("no such guild"))
}

/// The guilds a view holds (one, or every one), with their totals, by id.
async fn summaries(db: &GuildDb) -> Result<Vec<(GuildRow, GuildSummary)>, ApiError> {
    let guilds = db.all::<GuildRow>(&guild_rows()).await?;
    let fights: HashMap<i64, GuildFights> = db
        .all::<GuildFights>(&Sql::new(
            "SELECT guild_id, sum(pulls) AS encounters, max(last_end_ms) AS last_ms FROM guild_days FINAL \
             WHERE {guild} AND pulls > 0 GROUP BY guild_id",
        ))
        .await?
        .into_iter()
        .map(|f| (f.guild_id, f))
        .collect();
    let characters: HashMap<i64, u64> = db
        .all::<GuildCharacters>(&Sql::new(
            "SELECT guild_id, uniqExact(player_guid) AS characters FROM character_logs FINAL \
             WHERE {guild} AND name != '' GROUP BY guild_id",
        ))
        .await?
        .into_iter()
        .map(|c| (c.guild_id, c.characters))
        .collect();
    Ok(guilds
        .into_iter()
        .map(|g| {
            let fights = fights.get(&g.guild_id);
            let summary = GuildSummary {
                guild_id: g.guild_id,
                guild_name: g.name.clone(),
                server: g.server.clone(),
                region: g.region.clone(),
                faction: g.faction.clone(),
                total_encounters: fights.map_or(0, |f| f.encounters),
                total_characters: characters.get(&g.guild_id).copied().unwrap_or(0),
                last_activity: fights.filter(|f| f.encounters > 0).map(|f| rfc3339(f.last_ms)),
                active: g.is_active(),
            };
            (g, summary)
        })
        .collect())
}

/// One guild's details (404 when the registry does not have it).
async fn details(db: &GuildDb) -> Result<GuildDetails, ApiError> {
    let (guild, summary) =
        summaries(db).await?.into_iter().next().ok_or_else(|| ApiError::not_found("no such guild"))?;
    let keys = db
        .all::<ApiKeyRow>(
            &Sql::new("SELECT")
                .push(ApiKeyRow::SELECT)
                .push("FROM api_keys FINAL WHERE {guild} ORDER BY created, key_id"),
        )
        .await?;
    Ok(GuildDetails {
        summary,
        settings_json: serde_json::from_str(&guild.settings).unwrap_or_else(|_| serde_json::json!({})),
        contact_info: guild.contact_info,
        timezone: guild.timezone,
        retention_days: guild.retention_days,
        created: rfc3339(i64::from(guild.created) * 1000),
        keys: keys.into_iter().map(KeyInfo::from).collect(),
    })
}

/// The answer about one guild: its id and name around the data.
fn about<T: Serialize>(guild_id: i64, guild_name: &str, data: T) -> Result<Response, ApiError> {
    let answer = Guilded { guild_id, guild_name: guild_name.to_string(), data };
    Ok(json(json_bytes(&answer)?))
}

/// The administrator's own guild for a guild key; none for an instance administrator.
fn own_context(admin: &Administrator) -> (Option<i64>, Option<String>) {
    if admin.is_instance() {
        (None, None)
    } else {
        (Some(admin.principal.guild_id.0), Some(admin.principal.guild_name.clone()))
    }
}

/// Which guilds the list shows.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GuildListParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Guilds per page (default 50, at most 500); `limit` is another name for it.
    #[param(minimum = 1, maximum = 500)]
    #[serde(alias = "limit")]
    pub per_page: Option<u32>,
    /// Also list deactivated guilds (default: active guilds only).
    pub include_inactive: Option<bool>,
}

impl GuildListParams {
    fn page(&self) -> Page {
        Page { page: self.page, per_page: self.per_page }
    }
}

impl Validate for GuildListParams {
    fn validate(&self) -> Result<(), ApiError> {
        self.page().validate()
    }
}

/// Guilds in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuildList {
    pub guilds: Vec<GuildSummary>,
    /// Guilds over all pages.
    pub total: u64,
}

/// Every active guild with its totals, newest activity first (an instance-admin key);
/// a guild's `admin` key sees its own guild only.
#[utoipa::path(
    get, path = "/api/v1/admin/guilds", tag = "admin",
    params(GuildListParams),
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses((status = 200, description = "A page of guilds", body = Administered<GuildList>))
)]
pub async fn guilds(
    admin: Administrator,
    Params(params): Params<GuildListParams>,
) -> Result<Response, ApiError> {
    let mut guilds: Vec<GuildSummary> = summaries(&admin.db)
        .await?
        .into_iter()
        .map(|(_, summary)| summary)
        .filter(|g| g.active || params.include_inactive.unwrap_or(false))
        .collect();
    // Newest activity first (RFC 3339 in UTC sorts as time does); never active last.
    guilds.sort_by(|a, b| b.last_activity.cmp(&a.last_activity).then(a.guild_id.cmp(&b.guild_id)));
    let page = params.page();
    let total = guilds.len() as u64;
    let per_page = page.per_page.unwrap_or(DEFAULT_PER_PAGE);
    let guilds = guilds.into_iter().skip(page.offset() as usize).take(per_page as usize).collect();
    let (guild_id, guild_name) = own_context(&admin);
    let pagination = Pagination {
        page: page.page(),
        per_page,
        limit: per_page,
        total,
        pages: total.div_ceil(u64::from(per_page)),
    };
    let answer = Administered { guild_id, guild_name, data: GuildList { guilds, total }, pagination };
    Ok(json(json_bytes(&answer)?))
}

/// One guild, with its settings and keys: any guild for an instance-admin key, its own
/// for a guild's `admin` key (another guild is 404).
#[utoipa::path(
    get, path = "/api/v1/admin/guilds/{guild_id}", tag = "admin",
    params(("guild_id" = i64, Path, description = "Guild id", minimum = 1)),
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses((status = 200, description = "The guild", body = Guilded<GuildDetails>))
)]
pub async fn guild(admin: Administrator, PathId(guild_id): PathId<i64>) -> Result<Response, ApiError> {
    let details = details(&admin.guild(guild_id)?).await?;
    about(details.summary.guild_id, &details.summary.guild_name, &details)
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
    uploads: u64,
    events: i64,
    dead_letters: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct FightDay {
    date: String,
    encounters: u64,
    kills: u64,
    total_minutes: f64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct BossDay {
    date: String,
    unique_bosses: u64,
}

/// One day of a guild's activity.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ActivityDay {
    /// `YYYY-MM-DD`, UTC.
    pub activity_date: String,
    /// Fights fought that day (by the log's own time), kills among them, distinct
    /// bosses and minutes in combat.
    pub encounters: u64,
    pub kills: u64,
    pub unique_bosses: u64,
    pub total_minutes: f64,
    /// Logs uploaded that day (by upload time), with their events and dead letters.
    pub uploads: u64,
    pub events: i64,
    pub dead_letters: i64,
}

/// A guild's activity over the last days.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activity {
    pub days: u32,
    pub since: String,
    /// Days with any activity, oldest first.
    pub activity: Vec<ActivityDay>,
}

/// Fights, bosses, minutes in combat and uploads per day over the last `days` days.
#[utoipa::path(
    get, path = "/api/v1/admin/guilds/{guild_id}/activity", tag = "admin",
    params(("guild_id" = i64, Path, description = "Guild id", minimum = 1), ActivityParams),
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses((status = 200, description = "Activity per day", body = Guilded<Activity>))
)]
pub async fn activity(
    admin: Administrator,
    PathId(guild_id): PathId<i64>,
    Params(params): Params<ActivityParams>,
) -> Result<Response, ApiError> {
    let db = admin.guild(guild_id)?;
    let guild = registered(&db).await?;
    let days = params.days.unwrap_or(30);
    let now_s = wowlogs_schemas::now_ms() / 1000;
    let since_s = (now_s / 86_400 - i64::from(days) + 1) * 86_400;
    let uploads = db
        .all::<UploadDay>(
            &Sql::new(
                "SELECT toString(toDate(updated)) AS day, count() AS uploads, sum(events) AS events, \
                 sum(dead_letters) AS dead_letters FROM logs FINAL WHERE {guild}",
            )
            .bind("AND updated >= toDateTime(?)", since_s)
            .push("GROUP BY day"),
        )
        .await?;
    // The day roll-ups (`wowlogs_store::rollups`): a few rows per day, not every fight.
    // (Output names differ from `day`: 18.16 would put the alias into the WHERE.)
    let since_day = since_s / 86_400;
    let fights = db
        .all::<FightDay>(
            &Sql::new(
                "SELECT toString(day) AS date, pulls AS encounters, kills, round(fight_ms / 60000, 1) AS total_minutes \
                 FROM guild_days FINAL WHERE {guild} AND pulls > 0",
            )
            .bind("AND day >= toDate(?)", since_day),
        )
        .await?;
    let bosses = db
        .all::<BossDay>(
            &Sql::new(
                "SELECT toString(day) AS date, uniqExact(name) AS unique_bosses FROM guild_day_bosses FINAL \
                 WHERE {guild} AND pulls > 0",
            )
            .bind("AND day >= toDate(?)", since_day)
            .push("GROUP BY day"),
        )
        .await?;
    let mut by_day: BTreeMap<String, ActivityDay> = BTreeMap::new();
    fn day<'a>(by_day: &'a mut BTreeMap<String, ActivityDay>, date: &str) -> &'a mut ActivityDay {
        by_day
            .entry(date.to_string())
            .or_insert_with(|| ActivityDay { activity_date: date.to_string(), ..ActivityDay::default() })
    }
    for u in uploads {
        let d = day(&mut by_day, &u.day);
        (d.uploads, d.events, d.dead_letters) = (u.uploads, u.events, u.dead_letters);
    }
    for f in fights {
        let d = day(&mut by_day, &f.date);
        (d.encounters, d.kills, d.total_minutes) = (f.encounters, f.kills, f.total_minutes);
    }
    for b in bosses {
        day(&mut by_day, &b.date).unique_bosses = b.unique_bosses;
    }
    let activity =
        Activity { days, since: rfc3339(since_s * 1000), activity: by_day.into_values().collect() };
    about(guild.guild_id, &guild.name, activity)
}

/// An audited action.
#[derive(Debug, clickhouse::Row, Deserialize, Serialize, ToSchema)]
pub struct AuditEntry {
    /// The guild whose trail it is on (0: the instance's own, such as instance-admin keys
    /// and refused keys of no known guild).
    pub guild_id: i64,
    #[serde(skip_serializing)]
    at_ms: i64,
    /// A key id, `cli:<user>`, `anonymous` (refused authentication) or `service:<name>`.
    pub actor: String,
    /// e.g. `guild.create`, `guild.deactivate`, `api_key.revoke`, `upload.accepted`,
    /// `upload.refused`, `auth.refused`, `encounters.transfer`, `retention.delete`.
    pub action: String,
    pub target: String,
    pub detail: String,
    /// The client's address as the entry point saw it.
    pub remote_addr: String,
    /// The request's `X-Request-Id` (empty for the command line).
    pub request_id: String,
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

/// Which audit entries.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Entries per page (default 50, at most 500); `limit` is another name for it.
    #[param(minimum = 1, maximum = 500)]
    #[serde(alias = "limit")]
    pub per_page: Option<u32>,
    /// One guild's trail (instance-admin keys; 0 is the instance's own). A guild's key
    /// reads its own trail only.
    #[param(minimum = 0)]
    pub guild_id: Option<i64>,
    /// Actions starting with this (`guild.`, `upload.refused`, `auth.`).
    #[param(max_length = 64, pattern = "^[A-Za-z0-9._-]*$")]
    pub action: Option<String>,
}

impl Validate for AuditParams {
    fn validate(&self) -> Result<(), ApiError> {
        Page { page: self.page, per_page: self.per_page }.validate()?;
        if self.guild_id.is_some_and(|g| g < 0) {
            return Err(ApiError::bad_request("`guild_id` must be 0 or more"));
        }
        match &self.action {
            Some(action)
                if action.len() > 64
                    || !action.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
            {
                Err(ApiError::bad_request(
                    "`action` is at most 64 letters, digits, dots, dashes and underscores",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The audit trail, newest first: the key's guild's for a guild's `admin` key, every
/// guild's (or one's, with `guild_id`) for an instance-admin key.
#[utoipa::path(
    get, path = "/api/v1/admin/audit", tag = "admin",
    params(AuditParams),
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses(
        (status = 200, description = "A page of audit entries", body = Administered<AuditList>),
        (status = 404, description = "`guild_id` names a guild this key may not read", body = crate::http::docs::Error),
    )
)]
pub async fn audit(admin: Administrator, Params(params): Params<AuditParams>) -> Result<Response, ApiError> {
    let db = match params.guild_id {
        Some(guild_id) if admin.is_instance() && guild_id == 0 => admin.db.clone(),
        Some(guild_id) => admin.guild(guild_id)?,
        None => admin.db.clone(),
    };
    let filter = |sql: Sql| {
        let sql = match params.guild_id {
            Some(guild_id) => sql.bind("AND guild_id = ?", guild_id),
            None => sql,
        };
        let prefix = params.action.as_ref().map(|a| format!("{}%", a.replace('%', "").replace('_', "\\_")));
        sql.and("AND action LIKE ?", prefix)
    };
    let count = filter(Sql::new("SELECT count() AS n FROM audit_log WHERE {guild}"));
    let rows = filter(Sql::new(
        "SELECT guild_id, at_ms, actor, action, target, detail, remote_addr, request_id FROM audit_log WHERE {guild}",
    ))
    .push("ORDER BY at_ms DESC");
    let page = Page { page: params.page, per_page: params.per_page };
    let entry = |entry: AuditEntry| Audited { at: rfc3339(entry.at_ms), entry };
    let page = super::answer::paged(&db, &page, count, rows, entry).await?;
    let (guild_id, guild_name) = own_context(&admin);
    let answer = Administered {
        guild_id,
        guild_name,
        data: AuditList { total: page.pagination.total, entries: page.items },
        pagination: page.pagination,
    };
    Ok(json(json_bytes(&answer)?))
}

/// A guild to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuildCreate {
    /// 1 to 128 characters; `(guild_name, server, region)` is unique.
    #[schema(min_length = 1, max_length = 128)]
    pub guild_name: String,
    #[serde(default)]
    #[schema(max_length = 128)]
    pub server: String,
    /// US, EU, KR, TW, CN.
    #[serde(default)]
    #[schema(max_length = 16)]
    pub region: String,
    /// Alliance or Horde.
    #[serde(default)]
    #[schema(max_length = 16)]
    pub faction: String,
    /// Per-guild settings: a JSON object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings_json: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(max_length = 512)]
    pub contact_info: String,
    /// IANA time zone name (default `UTC`).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub timezone: String,
    /// Days a log is kept after its upload; 0 (the default): for good.
    #[serde(default)]
    #[schema(maximum = 36600)]
    pub retention_days: u32,
}

/// Changes to a guild: fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuildPatch {
    #[schema(min_length = 1, max_length = 128)]
    pub guild_name: Option<String>,
    #[schema(max_length = 128)]
    pub server: Option<String>,
    #[schema(max_length = 16)]
    pub region: Option<String>,
    #[schema(max_length = 16)]
    pub faction: Option<String>,
    /// Replaces the settings: a JSON object.
    #[schema(value_type = Option<Object>)]
    pub settings_json: Option<serde_json::Value>,
    #[schema(max_length = 512)]
    pub contact_info: Option<String>,
    #[schema(max_length = 64)]
    pub timezone: Option<String>,
    /// Days a log is kept after its upload; 0: for good.
    #[schema(maximum = 36600)]
    pub retention_days: Option<u32>,
}

/// Text fields within their lengths and free of control characters.
fn bounded(fields: &[(&str, Option<&str>, usize)]) -> Result<(), ApiError> {
    for (name, value, max) in fields {
        if let Some(value) = value {
            if value.chars().count() > *max {
                return Err(ApiError::bad_request(format!("`{name}` is longer than {max} characters")));
            }
            if value.chars().any(char::is_control) {
                return Err(ApiError::bad_request(format!("`{name}` contains control characters")));
            }
        }
    }
    Ok(())
}

fn settings_text(settings: &Option<serde_json::Value>) -> Option<String> {
    settings.as_ref().map(|v| v.to_string())
}

/// Longest retention a policy may name (100 years; 0 keeps logs for good).
const MAX_RETENTION_DAYS: u32 = 36_600;

fn retention(days: Option<u32>) -> Result<(), ApiError> {
    match days {
        Some(days) if days > MAX_RETENTION_DAYS => Err(ApiError::bad_request(format!(
            "`retention_days` is at most {MAX_RETENTION_DAYS} (0 keeps logs for good)"
        ))),
        _ => Ok(()),
    }
}

impl Validate for GuildCreate {
    fn validate(&self) -> Result<(), ApiError> {
        retention(Some(self.retention_days))?;
        bounded(&[
            ("guild_name", Some(&self.guild_name), 128),
            ("server", Some(&self.server), 128),
            ("region", Some(&self.region), 16),
            ("faction", Some(&self.faction), 16),
            ("contact_info", Some(&self.contact_info), 512),
            ("timezone", Some(&self.timezone), 64),
        ])
    }
}

impl Validate for GuildPatch {
    fn validate(&self) -> Result<(), ApiError> {
        retention(self.retention_days)?;
        bounded(&[
            ("guild_name", self.guild_name.as_deref(), 128),
            ("server", self.server.as_deref(), 128),
            ("region", self.region.as_deref(), 16),
            ("faction", self.faction.as_deref(), 16),
            ("contact_info", self.contact_info.as_deref(), 512),
            ("timezone", self.timezone.as_deref(), 64),
        ])
    }
}

/// The details of a guild just changed, as an instance administrator sees them.
async fn changed(admin: &Administrator, guild_id: i64, status: StatusCode) -> Result<Response, ApiError> {
    let details = details(&admin.guild(guild_id)?).await?;
    let mut response = about(details.summary.guild_id, &details.summary.guild_name, &details)?;
    *response.status_mut() = status;
    Ok(response)
}

/// Creates a guild (instance-admin keys).
#[utoipa::path(
    post, path = "/api/v1/admin/guilds", tag = "admin",
    request_body = GuildCreate,
    security(("bearer" = ["instance_admin"])),
    responses(
        (status = 201, description = "The new guild", body = Guilded<GuildDetails>),
        (status = 409, description = "A guild with this name, server and region exists", body = crate::http::docs::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::http::docs::Error),
    )
)]
pub async fn create_guild(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    extensions: Extensions,
    JsonBody(body): JsonBody<GuildCreate>,
) -> Result<Response, ApiError> {
    let guild = NewGuild {
        name: body.guild_name,
        server: body.server,
        region: body.region,
        faction: body.faction,
        settings: settings_text(&body.settings_json).unwrap_or_default(),
        contact_info: body.contact_info,
        timezone: body.timezone,
        retention_days: body.retention_days,
    };
    let actor = actor_of(&admin.principal.key_id, &extensions);
    let row = state.registry.create_guild(&guild, &actor).await?;
    changed(&admin, row.guild_id, StatusCode::CREATED).await
}

/// Changes a guild's name, realm, settings, contact or time zone (instance-admin keys).
#[utoipa::path(
    patch, path = "/api/v1/admin/guilds/{guild_id}", tag = "admin",
    params(("guild_id" = i64, Path, description = "Guild id", minimum = 1)),
    request_body = GuildPatch,
    security(("bearer" = ["instance_admin"])),
    responses(
        (status = 200, description = "The guild as changed", body = Guilded<GuildDetails>),
        (status = 409, description = "Another guild has this name, server and region", body = crate::http::docs::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::http::docs::Error),
    )
)]
pub async fn update_guild(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    PathId(guild_id): PathId<i64>,
    extensions: Extensions,
    JsonBody(body): JsonBody<GuildPatch>,
) -> Result<Response, ApiError> {
    admin.guild(guild_id)?;
    let update = GuildUpdate {
        name: body.guild_name,
        server: body.server,
        region: body.region,
        faction: body.faction,
        settings: settings_text(&body.settings_json),
        contact_info: body.contact_info,
        timezone: body.timezone,
        retention_days: body.retention_days,
    };
    let actor = actor_of(&admin.principal.key_id, &extensions);
    state.registry.update_guild(guild_id, &update, &actor).await?;
    changed(&admin, guild_id, StatusCode::OK).await
}

async fn set_active(
    state: &AppState,
    admin: &Administrator,
    guild_id: i64,
    active: bool,
    extensions: &Extensions,
) -> Result<Response, ApiError> {
    admin.guild(guild_id)?;
    let actor = actor_of(&admin.principal.key_id, extensions);
    state.registry.set_active(guild_id, active, &actor).await?;
    changed(admin, guild_id, StatusCode::OK).await
}

/// Deactivates a guild (instance-admin keys): its keys are refused within seconds
/// (uploads, queries and the live feed alike, 403 `guild_deactivated`), it leaves the
/// guild list, its data is kept. Deactivating an inactive guild changes nothing.
#[utoipa::path(
    post, path = "/api/v1/admin/guilds/{guild_id}/deactivate", tag = "admin",
    params(("guild_id" = i64, Path, description = "Guild id", minimum = 1)),
    security(("bearer" = ["instance_admin"])),
    responses((status = 200, description = "The guild, inactive", body = Guilded<GuildDetails>))
)]
pub async fn deactivate(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    PathId(guild_id): PathId<i64>,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    set_active(&state, &admin, guild_id, false, &extensions).await
}

/// Reactivates a guild (instance-admin keys): its keys work again within seconds.
#[utoipa::path(
    post, path = "/api/v1/admin/guilds/{guild_id}/reactivate", tag = "admin",
    params(("guild_id" = i64, Path, description = "Guild id", minimum = 1)),
    security(("bearer" = ["instance_admin"])),
    responses((status = 200, description = "The guild, active", body = Guilded<GuildDetails>))
)]
pub async fn reactivate(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    PathId(guild_id): PathId<i64>,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    set_active(&state, &admin, guild_id, true, &extensions).await
}

/// Encounters to move from one guild to another.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub from_guild_id: i64,
    pub to_guild_id: i64,
    /// Encounter ids as the source guild's API shows them (decimal strings), 1 to 1000.
    #[schema(min_items = 1, max_items = 1000)]
    pub encounter_ids: Vec<String>,
}

impl Validate for TransferRequest {
    fn validate(&self) -> Result<(), ApiError> {
        if self.from_guild_id == self.to_guild_id {
            return Err(ApiError::bad_request("`from_guild_id` and `to_guild_id` must differ"));
        }
        if self.encounter_ids.is_empty() || self.encounter_ids.len() > 1000 {
            return Err(ApiError::bad_request("`encounter_ids` holds 1 to 1000 ids"));
        }
        Ok(())
    }
}

/// A fight moved: its id under the source guild and under the target.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovedEncounter {
    pub from_id: String,
    pub to_id: String,
}

/// What a transfer did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferOutcome {
    pub from_guild_id: i64,
    pub to_guild_id: i64,
    /// Moved by this request.
    pub moved: Vec<MovedEncounter>,
    /// Moved to the same guild by an earlier transfer (a repeated request changes nothing).
    pub already_moved: Vec<MovedEncounter>,
    /// No encounter of the source guild.
    pub unknown: Vec<String>,
}

/// Moves encounters (with their players, deaths and Solo Shuffle rounds) from one guild
/// to another (instance-admin keys). The logs and their raw events stay with the guild
/// that uploaded them; a moved encounter gets the target guild's id. Idempotent, audited
/// on both guilds' trails, and applied again after `wowlogs rebuild`.
#[utoipa::path(
    post, path = "/api/v1/admin/encounters/transfer", tag = "admin",
    request_body = TransferRequest,
    security(("bearer" = ["instance_admin"])),
    responses(
        (status = 200, description = "What moved", body = TransferOutcome),
        (status = 409, description = "An encounter was moved to another guild before", body = crate::http::docs::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::http::docs::Error),
    )
)]
pub async fn transfer(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    extensions: Extensions,
    JsonBody(body): JsonBody<TransferRequest>,
) -> Result<Response, ApiError> {
    for guild_id in [body.from_guild_id, body.to_guild_id] {
        if state.registry.guild(guild_id).await?.is_none() {
            return Err(ApiError::not_found(format!("no guild {guild_id}")));
        }
    }
    let mut ids = Vec::with_capacity(body.encounter_ids.len());
    let mut unknown = Vec::new();
    for id in &body.encounter_ids {
        match id.trim().parse::<i64>() {
            Ok(id) => ids.push(id),
            Err(_) => unknown.push(id.clone()),
        }
    }
    let actor = actor_of(&admin.principal.key_id, &extensions);
    let (from, to) = (GuildId(body.from_guild_id), GuildId(body.to_guild_id));
    let done =
        transfer_encounters(&state.config.store, from, to, &ids, &actor.name).await.map_err(|error| {
            match error {
                TransferError::MovedElsewhere { .. } => {
                    ApiError::new(StatusCode::CONFLICT, "conflict", error.to_string())
                }
                TransferError::SameGuild => ApiError::bad_request(error.to_string()),
                TransferError::ClickHouse(error) => ApiError::unavailable(error),
            }
        })?;
    let pairs = |pairs: &[(i64, i64)]| -> Vec<MovedEncounter> {
        pairs.iter().map(|(a, b)| MovedEncounter { from_id: a.to_string(), to_id: b.to_string() }).collect()
    };
    if !done.moved.is_empty() {
        let ids: Vec<String> = done.moved.iter().map(|(a, b)| format!("{a}->{b}")).collect();
        let detail = format!("from_guild={} to_guild={} encounters={}", from.0, to.0, ids.join(","));
        for guild in [from, to] {
            // Written before answering, as every administrative change is.
            state
                .registry
                .record(guild.0, &actor, "encounters.transfer", &ids.len().to_string(), detail.clone())
                .await
                .map_err(ApiError::unavailable)?;
        }
    }
    unknown.extend(done.unknown.iter().map(i64::to_string));
    let outcome = TransferOutcome {
        from_guild_id: from.0,
        to_guild_id: to.0,
        moved: pairs(&done.moved),
        already_moved: pairs(&done.already),
        unknown,
    };
    Ok(json(json_bytes(&outcome)?))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(guilds, create_guild))
        .routes(utoipa_axum::routes!(guild, update_guild))
        .routes(utoipa_axum::routes!(activity))
        .routes(utoipa_axum::routes!(deactivate))
        .routes(utoipa_axum::routes!(reactivate))
        .routes(utoipa_axum::routes!(audit))
        .routes(utoipa_axum::routes!(transfer))
}
