//! `/api/v1/logs`, `/api/v1/uploads/{id}` and `/api/v1/logs/{log_id}/dead-letters`: what
//! the guild uploaded, how it went, and which lines could not be read.

use super::answer::{Guilded, GuildedPage, guilded, guilded_page, json, paged};
use crate::auth::{Query, Scope};
use crate::params::{Page, Params, PathId, numeric_id, rfc3339};
use crate::scope::Sql;
use crate::state::AppState;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wowlogs_http::ApiError;
use wowlogs_schemas::{Named, UploadState};
use wowlogs_store::rows::{Count, LogRow, TableRow};

/// A page of logs.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogList {
    pub logs: Vec<Log>,
    /// Logs over all pages.
    pub total: u64,
}

/// An uploaded log.
#[derive(Debug, Serialize, ToSchema)]
pub struct Log {
    pub log_id: String,
    pub upload_id: String,
    pub file_name: String,
    /// `accepted`, `parsing`, `completed` or `failed`.
    pub state: &'static str,
    pub content_sha256: String,
    pub bytes_read: i64,
    pub lines: i64,
    pub events: i64,
    /// Malformed lines, each kept as a dead letter.
    pub dead_letters: i64,
    pub reason: Option<String>,
    pub updated: String,
}

impl From<LogRow> for Log {
    fn from(r: LogRow) -> Self {
        Log {
            log_id: r.log_id.to_string(),
            upload_id: r.upload_id,
            file_name: r.file_name,
            state: UploadState::from_code(r.state).map_or("unknown", UploadState::name),
            content_sha256: r.content_sha256,
            bytes_read: r.bytes_read,
            lines: r.lines,
            events: r.events,
            dead_letters: r.dead_letters,
            reason: (!r.reason.is_empty()).then_some(r.reason),
            updated: rfc3339(i64::from(r.updated) * 1000),
        }
    }
}

/// The guild's logs, most recently updated first.
#[utoipa::path(
    get, path = "/api/v1/logs", tag = "logs",
    params(Page),
    security(("bearer" = ["query"])),
    responses((status = 200, description = "A page of logs", body = GuildedPage<LogList>))
)]
pub async fn list(scope: Scope<Query>, Params(page): Params<Page>) -> Result<Response, ApiError> {
    let count = Sql::new("SELECT count() AS n FROM logs FINAL WHERE {guild}");
    let rows = Sql::new("SELECT")
        .push(LogRow::SELECT)
        .push("FROM logs FINAL WHERE {guild} ORDER BY updated DESC, log_id");
    let page = paged::<LogRow, _>(&scope.db, &page, count, rows, Log::from).await?;
    Ok(json(guilded_page(&scope, page, |logs, total| LogList { logs, total })?))
}

/// An upload: its logs (a zip holds several) and their states.
#[derive(Debug, Serialize, ToSchema)]
pub struct Upload {
    pub upload_id: String,
    /// `processing`, `completed` (every log) or `failed` (any log).
    pub status: &'static str,
    /// The upload's first logs, at most [`MAX_UPLOAD_LOGS`] (one upload holds at most
    /// `WOWLOGS_MAX_LOGS_PER_UPLOAD`, 1,000 by default; older uploads may hold more).
    pub logs: Vec<Log>,
    /// Every log of the upload, listed or not.
    pub logs_total: u64,
}

/// The most logs an upload's status lists.
pub const MAX_UPLOAD_LOGS: u64 = 1_000;

/// How many logs an upload has, and their distinct states.
#[derive(Debug, clickhouse::Row, Deserialize)]
struct UploadTotals {
    logs: u64,
    states: Vec<i8>,
}

/// Whether `id` can be an upload id (a UUID, or one with a `-N` suffix for a zip's
/// later logs): anything else cannot exist, and is refused before any query.
fn upload_id_shape(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// One upload's state, as the events sink recorded it from the uploads topic.
#[utoipa::path(
    get, path = "/api/v1/uploads/{id}", tag = "logs",
    params(("id" = String, Path, description = "Upload id, as the upload answer gave it")),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The upload", body = Guilded<Upload>),
        (status = 404, description = "No such upload in this guild"),
    )
)]
pub async fn upload(scope: Scope<Query>, PathId(id): PathId<String>) -> Result<Response, ApiError> {
    if !upload_id_shape(&id) {
        return Err(ApiError::bad_request("an upload id holds at most 64 letters, digits and dashes"));
    }
    let of_upload = |sql: Sql| {
        sql.bind("AND (upload_id = ?", id.as_str()).bind("OR upload_id LIKE ?)", format!("{id}-%"))
    };
    let totals = scope
        .db
        .first::<UploadTotals>(&of_upload(Sql::new(
            "SELECT count() AS logs, groupUniqArray(state) AS states FROM logs FINAL WHERE {guild}",
        )))
        .await?
        .filter(|totals| totals.logs > 0)
        .ok_or_else(|| ApiError::not_found("no such upload in this guild"))?;
    let rows = of_upload(Sql::new("SELECT").push(LogRow::SELECT).push("FROM logs FINAL WHERE {guild}"))
        .push("ORDER BY upload_id, log_id")
        .bind("LIMIT ?", MAX_UPLOAD_LOGS as i64);
    let logs: Vec<Log> = scope.db.all::<LogRow>(&rows).await?.into_iter().map(Log::from).collect();
    let status = UploadState::summary_of(totals.states.iter().filter_map(|&s| UploadState::from_code(s)));
    Ok(json(guilded(&scope, Upload { upload_id: id, status, logs, logs_total: totals.logs })?))
}

/// A page of a log's dead letters.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterList {
    pub log_id: String,
    pub dead_letters: Vec<DeadLetterLine>,
    /// Dead letters of the log over all pages.
    pub total: u64,
}

/// A line of the log that was refused, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterLine {
    /// The line's number in the log (0 for a record that was not a line).
    pub line: i64,
    /// What refused it: `parser`, or the consumer group that could not decode it.
    pub source: String,
    /// The event name, when the line got that far.
    pub event: Option<String>,
    /// A stable code: `field_count`, `bad_timestamp`, `invalid_utf8`, `line_too_long`, …
    pub code: String,
    /// Why, in words: `line 2: SPELL_DAMAGE has 31 fields, expected 22 or 39`.
    pub reason: String,
    /// The line as it was read (invalid UTF-8 replaced), its first [`MAX_DEAD_LETTER_CHARS`]
    /// characters.
    pub text: String,
    /// The line's length in characters, when `text` holds only its start.
    pub text_cut_from: Option<u64>,
}

/// The most characters of a refused line an answer carries (a line can be 64 KiB).
pub const MAX_DEAD_LETTER_CHARS: i64 = 2_000;

#[derive(Debug, clickhouse::Row, Deserialize)]
struct DeadLetterRecord {
    line: i64,
    source: String,
    event: String,
    code: String,
    message: String,
    text: String,
    chars: u64,
}

impl From<DeadLetterRecord> for DeadLetterLine {
    fn from(r: DeadLetterRecord) -> Self {
        DeadLetterLine {
            line: r.line,
            source: r.source,
            event: (!r.event.is_empty()).then_some(r.event),
            code: r.code,
            reason: r.message,
            text: r.text,
            text_cut_from: (r.chars > MAX_DEAD_LETTER_CHARS as u64).then_some(r.chars),
        }
    }
}

/// The lines of one of the guild's logs that could not be read, in the log's order:
/// what went wrong with an upload, line by line.
#[utoipa::path(
    get, path = "/api/v1/logs/{log_id}/dead-letters", tag = "logs",
    params(("log_id" = i64, Path, description = "Log id, as the log list and the upload answer give it"), Page),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "A page of the log's dead letters", body = GuildedPage<DeadLetterList>),
        (status = 400, description = "The log id is not a number"),
        (status = 404, description = "No such log in this guild"),
    )
)]
pub async fn dead_letters(
    scope: Scope<Query>,
    PathId(id): PathId<String>,
    Params(page): Params<Page>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("no such log in this guild");
    let log_id = numeric_id(&id, "a log id", not_found)?;
    let known = Sql::new("SELECT count() AS n FROM logs FINAL WHERE {guild}").bind("AND log_id = ?", log_id);
    let count =
        Sql::new("SELECT count() AS n FROM dead_letters FINAL WHERE {guild}").bind("AND log_id = ?", log_id);
    let rows = Sql::new(
        "SELECT line, source, event, code, message, substringUTF8(raw, 1, ?) AS text, \
         toUInt64(lengthUTF8(raw)) AS chars FROM dead_letters FINAL WHERE {guild}",
    )
    .value(MAX_DEAD_LETTER_CHARS)
    .bind("AND log_id = ?", log_id)
    .push("ORDER BY source, line");
    // Both to their end even if one fails: either may be the breaker's probe (`paged`).
    let (known, page) = futures::join!(
        scope.db.first::<Count>(&known),
        paged::<DeadLetterRecord, _>(&scope.db, &page, count, rows, DeadLetterLine::from)
    );
    let (known, page) = (known?, page?);
    if known.is_none_or(|c| c.n == 0) {
        return Err(not_found());
    }
    let log_id = log_id.to_string();
    Ok(json(guilded_page(&scope, page, |dead_letters, total| DeadLetterList {
        log_id,
        dead_letters,
        total,
    })?))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(upload))
        .routes(utoipa_axum::routes!(dead_letters))
}

#[cfg(test)]
mod tests {
    #[test]
    fn upload_ids_are_uuids_with_an_optional_suffix() {
        assert!(super::upload_id_shape("0ca6d2a4-5f1e-4f57-9a0e-3c5e1f7b9d21-2"));
        assert!(!super::upload_id_shape("x' OR 1=1"));
        assert!(!super::upload_id_shape("a_%"));
        assert!(!super::upload_id_shape(&"a".repeat(65)));
    }
}
