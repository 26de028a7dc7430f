//! Reading guilds: the instance's list of guilds and one guild's details (its fights,
//! characters and keys).

use super::keys::{KeyInfo, keys_of};
use super::{Administered, about, own_context};
use crate::auth::Administrator;
use crate::http::answer::{Guilded, Pagination, json, json_bytes};
use crate::params::{DEFAULT_PER_PAGE, Page, Params, PathId, Validate, rfc3339};
use crate::scope::{GuildDb, Sql};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use wowlogs_store::rows::TableRow;
use wowlogs_tenancy::{ApiError, GuildRow};

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
pub(super) async fn registered(db: &GuildDb) -> Result<GuildRow, ApiError> {
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
pub(super) async fn details(db: &GuildDb) -> Result<GuildDetails, ApiError> {
    let (guild, summary) =
        summaries(db).await?.into_iter().next().ok_or_else(|| ApiError::not_found("no such guild"))?;
    let keys = keys_of(db).await?;
    Ok(GuildDetails {
        summary,
        settings_json: serde_json::from_str(&guild.settings).unwrap_or_else(|_| serde_json::json!({})),
        contact_info: guild.contact_info,
        timezone: guild.timezone,
        retention_days: guild.retention_days,
        created: rfc3339(i64::from(guild.created) * 1000),
        keys,
    })
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
