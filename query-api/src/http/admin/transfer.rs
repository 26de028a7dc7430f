//! Moving encounters from one guild to another (instance-admin keys).

use crate::auth::InstanceAdmin;
use crate::http::answer::{json, json_bytes};
use crate::params::{JsonBody, Validate};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{Extensions, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wowlogs_schemas::GuildId;
use wowlogs_store::{TransferError, transfer_encounters};
use wowlogs_tenancy::{ApiError, actor_of};

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
