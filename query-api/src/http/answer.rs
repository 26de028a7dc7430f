//! The answers' shapes every endpoint shares: each names the caller's guild
//! (`guild_id`, `guild_name`) beside its data, pages carry their pagination, and JSON and
//! attachments are written one way.

use crate::auth::Scope;
use crate::params::Page;
use crate::scope::Freshness;
use crate::scope::{GuildDb, Sql};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;
use wowlogs_http::ApiError;
use wowlogs_schemas::{FightKind, Named};
pub use wowlogs_store::rows::Count;

/// An answer: the caller's guild and the data (the specification's envelope).
#[derive(Debug, Serialize, ToSchema)]
pub struct Guilded<T> {
    pub guild_id: i64,
    pub guild_name: String,
    pub data: T,
}

/// A list's answer: the caller's guild, one page of the list and where it is in the whole.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuildedPage<T> {
    pub guild_id: i64,
    pub guild_name: String,
    pub data: T,
    pub pagination: Pagination,
}

/// Where a page is in the whole list.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Pagination {
    /// This page's number, from 1.
    pub page: u32,
    /// Items per page (`limit` is the same number).
    pub per_page: u32,
    pub limit: u32,
    /// Items matching the filters, over all pages.
    pub total: u64,
    /// Pages in all.
    pub pages: u64,
}

/// The JSON bytes of an answer for this caller's guild.
pub fn guilded<P, T: Serialize>(scope: &Scope<P>, data: T) -> Result<Bytes, ApiError> {
    json_bytes(&Guilded { guild_id: scope.guild_id(), guild_name: scope.guild_name().to_string(), data })
}

/// An answer serialized once, for the cache and the response alike.
pub fn json_bytes(answer: &impl Serialize) -> Result<Bytes, ApiError> {
    serde_json::to_vec(answer).map(Bytes::from).map_err(ApiError::internal)
}

/// The JSON bytes of a page of a list for this caller's guild: `list` names the items
/// (`{"encounters": [...], "total": N}`).
pub fn guilded_page<P, T, L: Serialize>(
    scope: &Scope<P>,
    page: Paged<T>,
    list: impl FnOnce(Vec<T>, u64) -> L,
) -> Result<Bytes, ApiError> {
    let answer = GuildedPage {
        guild_id: scope.guild_id(),
        guild_name: scope.guild_name().to_string(),
        data: list(page.items, page.pagination.total),
        pagination: page.pagination,
    };
    json_bytes(&answer)
}

/// A JSON answer from bytes already serialized (cached or fresh).
pub fn json(bytes: Bytes) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The answer to `request` for this caller: from the guild's cache, or computed by
/// `answer` and cached. `request` is the endpoint and its *validated* parameters (never
/// the raw URI: spellings of the same request, or ignored query strings, must not make
/// entries of their own).
pub async fn cached<P, F>(
    scope: &Scope<P>,
    freshness: Freshness,
    request: impl std::fmt::Debug,
    answer: F,
) -> Result<Response, ApiError>
where
    F: Future<Output = Result<Bytes, ApiError>>,
{
    Ok(json(scope.db.cached(freshness, &format!("{request:?}"), answer).await?))
}

/// A page of results, before it is named for its answer.
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub pagination: Pagination,
}

/// One page: `total` from `count` (a `SELECT count() AS n ...`), the items from `rows`
/// (ordered; the page's `LIMIT` and `OFFSET` are appended), each made by `item`.
pub async fn paged<R, T>(
    db: &GuildDb,
    page: &Page,
    count: Sql,
    rows: Sql,
    item: impl FnMut(R) -> T,
) -> Result<Paged<T>, ApiError>
where
    R: clickhouse::RowOwned + clickhouse::RowRead,
{
    // The count and the page at once: one round trip's wait instead of two. Both run to
    // their end even if one fails (`join!`): either may be the circuit breaker's probe,
    // which must finish for the breaker to close (see `encounters::queries::detail_of`).
    let rows = rows.bind("LIMIT ?", i64::from(page.per_page())).bind("OFFSET ?", page.offset());
    let (total, items) = futures::join!(db.first::<Count>(&count), db.all::<R>(&rows));
    let (total, items) = (total?, items?);
    let total = total.map_or(0, |c| c.n);
    let items = items.into_iter().map(item).collect();
    let per_page = page.per_page();
    let pages = total.div_ceil(u64::from(per_page));
    Ok(Paged { items, pagination: Pagination { page: page.page(), per_page, limit: per_page, total, pages } })
}

/// The `encounters.kind` Enum8 value's name.
pub fn kind_of(value: i8) -> &'static str {
    FightKind::from_code(value).map_or("unknown", FightKind::name)
}

/// What `kill` means for a kind of fight: kill/wipe, timed/depleted, win/loss.
pub fn outcome(kind: i8, kill: Option<u8>) -> Option<&'static str> {
    let kill = kill? == 1;
    Some(match (FightKind::from_code(kind), kill) {
        (Some(FightKind::ChallengeMode), true) => "timed",
        (Some(FightKind::ChallengeMode), false) => "depleted",
        (Some(FightKind::Arena | FightKind::Battleground), true) => "win",
        (Some(FightKind::Arena | FightKind::Battleground), false) => "loss",
        (_, true) => "kill",
        (_, false) => "wipe",
    })
}

/// `Content-Disposition` for a download.
pub fn attachment(response: &mut Response, file_name: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
}
