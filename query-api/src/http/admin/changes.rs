//! Changing guilds (instance-admin keys): create, update, deactivate, reactivate.

use super::about;
use super::guilds::{GuildDetails, details};
use crate::auth::{Administrator, InstanceAdmin};
use crate::http::answer::Guilded;
use crate::params::{JsonBody, PathId, Validate, bounded};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{Extensions, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use wowlogs_tenancy::{ApiError, GuildUpdate, NewGuild, actor_of};

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
