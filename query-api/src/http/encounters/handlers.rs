//! The request handlers of the encounter endpoints: parameters in, cached guild-scoped
//! answers out.

use super::queries::{self, detail_of, page_of};
use super::{Encounter, EncounterDetail, EncounterFilter, EncounterList, GuildStats};
use crate::auth::{Query, Scope};
use crate::http::answer::{Guilded, GuildedPage, cached, guilded, guilded_page, json_bytes, paged};
use crate::params::{Page, Params, PathId, Validate, text};
use crate::scope::{Freshness, Sql};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use wowlogs_http::ApiError;
use wowlogs_store::rows::{EncounterRow, TableRow};

/// List the guild's fights, newest first, with filters.
#[utoipa::path(
    get, path = "/api/v1/encounters", tag = "encounters",
    params(EncounterFilter),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "A page of fights", body = GuildedPage<EncounterList>),
        (status = 400, description = "Invalid filter"), (status = 401, description = "Missing or invalid key"),
        (status = 403, description = "The key lacks `query`"), (status = 429, description = "Rate limited"),
    )
)]
pub async fn list(
    scope: Scope<Query>,
    Params(filter): Params<EncounterFilter>,
) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Live, ("encounters", &filter), async {
        guilded_page(&scope, page_of(&scope.db, &filter).await?, EncounterList::of)
    })
    .await
}

/// Search parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Part of a boss (dungeon, arena) name, any case.
    pub boss_name: String,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page (default 50, at most 500); `limit` is another name for it.
    #[serde(alias = "limit")]
    pub per_page: Option<u32>,
}

impl Validate for SearchParams {
    fn validate(&self) -> Result<(), ApiError> {
        Page { page: self.page, per_page: self.per_page }.validate()?;
        text("boss_name", &Some(self.boss_name.clone()))
    }
}

/// Search fights by part of the boss name.
#[utoipa::path(
    get, path = "/api/v1/encounters/search", tag = "encounters",
    params(SearchParams),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "Matching fights, newest first", body = GuildedPage<EncounterList>),
        (status = 400, description = "Missing or invalid `boss_name`"),
    )
)]
pub async fn search(scope: Scope<Query>, Params(params): Params<SearchParams>) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Live, ("search", &params), async {
        let page = Page { page: params.page, per_page: params.per_page };
        let matching = |sql: Sql| {
            sql.push("AND round IS NULL")
                .bind("AND positionCaseInsensitiveUTF8(name, ?) > 0", params.boss_name.trim())
        };
        let count = matching(Sql::new("SELECT count() AS n FROM encounters FINAL WHERE {guild}"));
        let rows = matching(
            Sql::new("SELECT").push(EncounterRow::SELECT).push("FROM encounters FINAL WHERE {guild}"),
        )
        .push("ORDER BY start_ms DESC, fight_id");
        let page = paged::<EncounterRow, _>(&scope.db, &page, count, rows, Encounter::from).await?;
        guilded_page(&scope, page, EncounterList::of)
    })
    .await
}

/// Totals over the guild's fights and characters.
#[utoipa::path(
    get, path = "/api/v1/encounters/stats", tag = "encounters",
    security(("bearer" = ["query"])),
    responses((status = 200, description = "Totals", body = GuildStats))
)]
pub async fn stats(scope: Scope<Query>) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Live, "stats", async {
        let answer = GuildStats {
            guild_id: scope.guild_id(),
            guild_name: scope.guild_name().to_string(),
            statistics: queries::totals(&scope.db).await?,
        };
        json_bytes(&answer)
    })
    .await
}

/// One fight: player metrics and death recap.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}", tag = "encounters",
    params(("id" = String, Path, description = "Encounter id")),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The fight", body = Guilded<EncounterDetail>),
        (status = 404, description = "No such fight in this guild"),
    )
)]
pub async fn detail(scope: Scope<Query>, PathId(id): PathId<String>) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Settled, ("encounter", &id), async {
        guilded(&scope, detail_of(&scope.db, &id).await?)
    })
    .await
}
