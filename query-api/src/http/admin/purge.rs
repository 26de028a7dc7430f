//! Purging a guild (instance-admin keys): everything it owns goes for good
//! ([`wowlogs_store::purge`]), recorded first so that no rebuild or restore brings it back.

use crate::auth::InstanceAdmin;
use crate::http::answer::{json, json_bytes};
use crate::params::{JsonBody, PathId, Validate};
use crate::state::AppState;
use axum::extract::State;
use axum::http::Extensions;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wowlogs_tenancy::{ApiError, actor_of};

/// Longest reason kept.
const MAX_REASON: usize = 500;

/// Why the guild goes, and whether only to look.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    /// Who asked, or why (recorded with the purge and on the audit trail).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// Only count what would go (the guild may still be active).
    #[serde(default)]
    pub dry_run: bool,
}

impl Validate for PurgeRequest {
    fn validate(&self) -> Result<(), ApiError> {
        let reason = self.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON || reason.chars().any(char::is_control) {
            return Err(ApiError::bad_request(format!(
                "`reason` is 1 to {MAX_REASON} characters without control characters"
            )));
        }
        Ok(())
    }
}

/// Rows of one table (stored rows: a row's versions not merged yet count each).
#[derive(Debug, Serialize, ToSchema)]
pub struct PurgedTable {
    pub table: String,
    pub rows: u64,
}

/// What a purge removed (or would remove).
#[derive(Debug, Serialize, ToSchema)]
pub struct PurgeOutcome {
    pub guild_id: i64,
    pub dry_run: bool,
    /// Rows in all tables.
    pub rows: u64,
    /// Every table holding the guild's rows, with its count (0 where it had none).
    pub tables: Vec<PurgedTable>,
    /// The guild's analysts' database, when it has one: it holds no rows (it reads the
    /// tables above, now without the guild's), and its ClickHouse user goes with
    /// `wowlogs grafana revoke` on the host.
    pub analytics_database: Option<String>,
}

/// Purges a guild (instance-admin keys): its events, fights, players, deaths, characters,
/// gear, dead letters, logs, roll-ups, progress plan, transfers, keys and the guild
/// itself, by delete mutations the request waits for. Recorded first, so that a rebuild,
/// a restore or a new consumer group replaying the topics never brings it back, and no
/// new guild gets its id. The guild must be deactivated first (409 otherwise); a dry run
/// counts what would go and changes nothing. Audited (`guild.purge`); the audit trail is
/// kept.
#[utoipa::path(
    post, path = "/api/v1/admin/guilds/{guild_id}/purge", tag = "admin",
    params(("guild_id" = i64, Path, description = "Guild id", minimum = 1)),
    request_body = PurgeRequest,
    security(("bearer" = ["instance_admin"])),
    responses(
        (status = 200, description = "What went (or, for a dry run, would go)", body = PurgeOutcome),
        (status = 409, description = "The guild is still active: deactivate it first", body = crate::http::docs::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::http::docs::Error),
    )
)]
pub async fn purge(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    PathId(guild_id): PathId<i64>,
    extensions: Extensions,
    JsonBody(body): JsonBody<PurgeRequest>,
) -> Result<Response, ApiError> {
    admin.guild(guild_id)?;
    let actor = actor_of(&admin.principal.key_id, &extensions);
    let done = state.registry.purge_guild(guild_id, &body.reason, &actor, body.dry_run).await?;
    let store = &state.config.store;
    let exists = wowlogs_store::analytics::guild_databases(store)
        .await
        .map_err(ApiError::unavailable)?
        .contains(&guild_id);
    let outcome = PurgeOutcome {
        guild_id,
        dry_run: body.dry_run,
        rows: done.rows(),
        tables: done
            .tables
            .iter()
            .map(|t| PurgedTable { table: t.table.to_string(), rows: t.rows })
            .collect(),
        analytics_database: exists.then(|| wowlogs_store::analytics::guild_database(store, guild_id)),
    };
    Ok(json(json_bytes(&outcome)?))
}
