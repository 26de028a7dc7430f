//! `/api/v1/admin`: guild administration.
//!
//! Two kinds of key reach it ([`Administrator`]): a guild's key with `admin` sees its own
//! guild (its details, keys, activity and audit trail) and nothing else; an
//! instance-admin key belongs to no guild and sees every guild, and alone may create,
//! change, deactivate, reactivate and purge guilds and move encounters between them. Every
//! change is audited with the key, the client's address and the request id.
//!
//! Cut like the encounters: [`guilds`] (list, details), [`keys`], [`activity`],
//! [`audit`], [`changes`] (create, update, deactivate, reactivate), [`transfer`] and
//! [`purge`].

mod activity;
mod audit;
mod changes;
mod guilds;
mod keys;
mod purge;
mod transfer;

use crate::auth::Administrator;
use crate::http::answer::{Guilded, Pagination, json, json_bytes};
use crate::state::AppState;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use wowlogs_tenancy::ApiError;

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

/// The answer about one guild: its id and name around the data.
pub(super) fn about<T: Serialize>(guild_id: i64, guild_name: &str, data: T) -> Result<Response, ApiError> {
    let answer = Guilded { guild_id, guild_name: guild_name.to_string(), data };
    Ok(json(json_bytes(&answer)?))
}

/// The administrator's own guild for a guild key; none for an instance administrator.
pub(super) fn own_context(admin: &Administrator) -> (Option<i64>, Option<String>) {
    if admin.is_instance() {
        (None, None)
    } else {
        (Some(admin.principal.guild_id.0), Some(admin.principal.guild_name.clone()))
    }
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(guilds::guilds, changes::create_guild))
        .routes(utoipa_axum::routes!(guilds::guild, changes::update_guild))
        .routes(utoipa_axum::routes!(activity::activity))
        .routes(utoipa_axum::routes!(changes::deactivate))
        .routes(utoipa_axum::routes!(changes::reactivate))
        .routes(utoipa_axum::routes!(audit::audit))
        .routes(utoipa_axum::routes!(transfer::transfer))
        .routes(utoipa_axum::routes!(keys::list_keys, keys::issue_key))
        .routes(utoipa_axum::routes!(keys::revoke_key))
        .routes(utoipa_axum::routes!(keys::rotate_key))
        .routes(utoipa_axum::routes!(keys::expire_key))
        .routes(utoipa_axum::routes!(purge::purge))
}
