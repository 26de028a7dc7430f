//! The audit trail: who did what, when, from where.

use super::{Administered, own_context};
use crate::auth::Administrator;
use crate::http::answer::{json, json_bytes};
use crate::params::{Page, Params, Validate, rfc3339};
use crate::scope::Sql;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wowlogs_tenancy::ApiError;

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
    /// `upload.refused`, `auth.refused`, `encounters.transfer`, `retention.delete`,
    /// `retention.failed`, `logs.purge`.
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
    let page = crate::http::answer::paged(&db, &page, count, rows, entry).await?;
    let (guild_id, guild_name) = own_context(&admin);
    let answer = Administered {
        guild_id,
        guild_name,
        data: AuditList { total: page.pagination.total, entries: page.items },
        pagination: page.pagination,
    };
    Ok(json(json_bytes(&answer)?))
}
