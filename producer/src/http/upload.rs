//! `POST /api/v1/logs/upload` and `GET /api/v1/uploads/{id}`: authentication, the body
//! streamed to a spool file while it is counted against the size limit (never held in
//! memory), and the answer. What happens to the file is [`crate::uploads`]'s.

use crate::state::AppState;
use crate::uploads::limits::{SlotsFull, SpoolFull, UploadSlot};
use crate::uploads::{Receipt, Refusal, published_name};
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use std::io::Write;
use std::time::Duration;
use utoipa::ToSchema;
use wowlogs_http::ApiError;
use wowlogs_tenancy::{Caller, Permission, actor_of};

/// The answer to an upload (the specification's shape, with the log ids beside it).
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAnswer {
    pub upload_id: String,
    pub guild_id: i64,
    pub guild_name: String,
    pub file_name: String,
    /// `processing` (accepted: follow it at `/api/v1/uploads/{id}` or on `/ws`), or
    /// `duplicate` (this guild uploaded the same log before; nothing is published again).
    pub status: String,
    /// The logs the upload holds (several for a zip of logs), as decimal strings.
    #[schema(value_type = Vec<String>)]
    pub log_ids: serde_json::Value,
    pub message: String,
}

/// The upload form: a `multipart/form-data` body with the log in `file`. (A raw body,
/// any content type, is taken too, named by `X-File-Name`.)
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadForm {
    /// `WoWCombatLog.txt`, or a `.zip` or `.gz` of logs.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The year of the log's first line, for logs whose timestamps have none.
    #[schema(minimum = 2004, maximum = 2100)]
    #[serde(default)]
    pub year: i32,
}

/// When a caller refused for too many uploads in progress is told to come back.
const UPLOAD_SLOT_RETRY: Duration = Duration::from_secs(5);

/// The caller, checked for one of `permissions` and recorded in the request's log.
pub(super) fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
    permissions: &[Permission],
) -> Result<Caller, ApiError> {
    let caller = state.auditor.authorize(state.keys.as_ref(), headers, extensions, permissions)?;
    caller.identify(extensions);
    Ok(caller)
}

/// Uploads a combat log for the key's guild. It is parsed and published in the
/// background: follow it at `/api/v1/uploads/{id}` or on the `/ws` feed. Every upload is
/// on the guild's audit trail with its file, size and outcome.
#[utoipa::path(
    post, path = "/api/v1/logs/upload", tag = "uploads",
    params(("year" = Option<i32>, Query, description = "The year of the log's first line, for logs whose timestamps have none", minimum = 2004, maximum = 2100)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = ["upload"])),
    responses(
        (status = 202, description = "Accepted: parsing and publishing", body = UploadAnswer),
        (status = 200, description = "This guild uploaded the same log before: nothing published again", body = UploadAnswer),
        (status = 429, description = "Over the guild's upload requests per minute, events per minute or uploads in progress (`Retry-After`)"),
        (status = 408, description = "The body stalled (`WOWLOGS_BODY_IDLE_TIMEOUT_MS`)"),
        (status = 409, description = "The same log is being uploaded right now"),
        (status = 413, description = "Larger than the upload limit, or expands past the decompression limit"),
        (status = 422, description = "Empty, unreadable, or not a combat log"),
        (status = 507, description = "The service's spool is full (`Retry-After`)"),
    )
)]
pub async fn upload(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let extensions = request.extensions().clone();
    let caller = authorize(&state, &headers, &extensions, &[Permission::Upload])?;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let answer = receive(&state, &caller, &headers, declared, request).await;
    let bytes = declared.map_or_else(|| "unknown".into(), |n| n.to_string());
    let (action, target, outcome) = match &answer {
        Ok((status, body)) => (
            if *status == StatusCode::OK { "upload.duplicate" } else { "upload.accepted" },
            body.upload_id.clone(),
            format!("file={} bytes={bytes} log_ids={}", body.file_name, body.log_ids),
        ),
        Err(error) => (
            "upload.refused",
            error.upload_id.clone().unwrap_or_default(),
            format!(
                "bytes={bytes} status={} code={} message={}",
                error.status.as_u16(),
                error.code,
                error.message
            ),
        ),
    };
    let actor = actor_of(&caller.principal.key_id, &extensions);
    state.auditor.record(caller.principal.guild_id.0, &actor, action, &target, outcome);
    let (status, body) = answer?;
    Ok((status, Json(body)).into_response())
}

/// The upload itself, once the caller is known (`declared`: the body's Content-Length):
/// its answer, or why it was refused.
async fn receive(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    declared: Option<u64>,
    request: Request,
) -> Result<(StatusCode, UploadAnswer), ApiError> {
    let principal = &caller.principal;
    let guild = principal.guild_id;
    if let Some(wait) = state.uploads.spend_request(principal) {
        return Err(ApiError::rate_limited(
            format!(
                "guild {guild} made its upload requests for this minute (WOWLOGS_GUILD_UPLOADS_PER_MINUTE, \
                 refused ones count too); retry in {} s",
                wait.as_secs().max(1)
            ),
            wait,
        ));
    }
    let mut slot = state.uploads.take_slot(principal).map_err(|full| {
        let message = match full {
            SlotsFull::Guild(n) => format!(
                "guild {guild} already has {n} uploads in progress (WOWLOGS_MAX_CONCURRENT_UPLOADS_PER_GUILD); \
                 retry when one has finished"
            ),
            SlotsFull::Service(n) => format!(
                "the service already has {n} uploads in progress (WOWLOGS_MAX_CONCURRENT_UPLOADS); retry shortly"
            ),
        };
        ApiError::rate_limited(message, UPLOAD_SLOT_RETRY)
    })?;
    if let Some(wait) = state.uploads.admission_wait(principal) {
        return Err(ApiError::rate_limited(
            format!(
                "guild {guild} or this key is over its events-per-minute limit; retry in {} s",
                wait.as_secs().max(1)
            ),
            wait,
        ));
    }
    let limit = state.uploads.config().max_upload_bytes;
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let query_year = year_from_query(request.uri().query())?;
    let whole = state.uploads.config().body_timeout;
    let (spool, file_name, form_year) =
        tokio::time::timeout(whole, spool_body(state, &mut slot, headers, request)).await.map_err(
            |_| {
                ApiError::request_timeout(format!(
                    "the upload's body took longer than {} s to arrive (WOWLOGS_BODY_TIMEOUT_MS)",
                    whole.as_secs_f64()
                ))
            },
        )??;
    let year = form_year.or(query_year);
    let upload_id = crate::uploads::new_upload_id();
    let body = match state.uploads.receive(principal, &upload_id, slot, spool, file_name, year).await {
        Ok(Receipt::Accepted { upload_id, file_name, log_ids }) => (
            StatusCode::ACCEPTED,
            UploadAnswer {
                message: format!(
                    "File uploaded successfully for {}. Upload ID: {upload_id}",
                    principal.guild_name
                ),
                upload_id,
                guild_id: guild.0,
                guild_name: principal.guild_name.clone(),
                file_name,
                status: "processing".into(),
                log_ids: json!(log_ids),
            },
        ),
        Ok(Receipt::Duplicate { upload_id, file_name, log_id }) => (
            StatusCode::OK,
            UploadAnswer {
                upload_id,
                guild_id: guild.0,
                guild_name: principal.guild_name.clone(),
                file_name,
                status: "duplicate".into(),
                log_ids: json!([log_id]),
                message: "this log was already uploaded for this guild; nothing was published again".into(),
            },
        ),
        Err(refusal) if refusal.has_status() => return Err(refused(refusal).for_upload(upload_id)),
        Err(refusal) => return Err(refused(refusal)),
    };
    Ok(body)
}

pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let caller =
        authorize(&state, request.headers(), request.extensions(), &[Permission::Upload, Permission::Query])?;
    // Another guild's upload does not exist, as far as this caller can tell.
    let record = state
        .uploads
        .status(&caller.principal, &id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no upload {id}")))?;
    Ok(Json(record).into_response())
}

/// The HTTP answer of a refused upload.
pub(super) fn refused(refusal: Refusal) -> ApiError {
    let status = match refusal {
        Refusal::InProgress(_) => StatusCode::CONFLICT,
        Refusal::ExpandsTooMuch { .. }
        | Refusal::LargerThanHourlyBudget { .. }
        | Refusal::TooManyLogs { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::GuildHourlyBudget { wait, .. } => {
            return ApiError::new(StatusCode::TOO_MANY_REQUESTS, refusal.code(), refusal.to_string())
                .retry_after(wait);
        }
        Refusal::Internal(_) => return ApiError::internal(refusal),
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, refusal.code(), refusal.to_string())
}

/// The first year any log can be from (World of Warcraft's release) and the last one
/// accepted as a year hint.
const YEARS: std::ops::RangeInclusive<i32> = 2004..=2100;

/// A `year` for logs whose timestamps have none (`M/D`): the year of the log's first line.
fn parse_year(value: &str) -> Result<i32, ApiError> {
    value.trim().parse::<i32>().ok().filter(|year| YEARS.contains(year)).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`year` must be a year from {} to {} (the year of the log's first line)",
            YEARS.start(),
            YEARS.end()
        ))
    })
}

fn year_from_query(query: Option<&str>) -> Result<Option<i32>, ApiError> {
    let mut year = None;
    for pair in query.unwrap_or_default().split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("year", value)) => year = Some(parse_year(value)?),
            _ => {
                let name = pair.split('=').next().unwrap_or(pair);
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{name}`; this endpoint takes `year`"
                )));
            }
        }
    }
    Ok(year)
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload_too_large",
        format!("uploads are limited to {limit} bytes"),
    )
}

/// The spool cannot hold the upload now: 507 when it is full, 429 when the guild's
/// uploads in progress hold its share.
fn spool_full(full: SpoolFull) -> ApiError {
    let (status, code) = match full {
        SpoolFull::Service { .. } => (StatusCode::INSUFFICIENT_STORAGE, "spool_full"),
        SpoolFull::Guild { .. } => (StatusCode::TOO_MANY_REQUESTS, "guild_spool_full"),
    };
    ApiError::new(status, code, full.to_string()).retry_after(UPLOAD_SLOT_RETRY)
}

/// The next piece of the body, or 408 when the client sends nothing for `idle`.
async fn within<T>(idle: Duration, next: impl Future<Output = T>) -> Result<T, ApiError> {
    tokio::time::timeout(idle, next).await.map_err(|_| {
        ApiError::request_timeout(format!(
            "the upload's body stalled: nothing received for {} s (WOWLOGS_BODY_IDLE_TIMEOUT_MS)",
            idle.as_secs_f64()
        ))
    })
}

/// Streams the body (multipart field `file`, or raw) into a spool file, each piece
/// counted against the upload's size limit and the spool's budget before it is written;
/// a multipart body may also carry a `year` field.
async fn spool_body(
    state: &AppState,
    slot: &mut UploadSlot,
    headers: &HeaderMap,
    request: Request,
) -> Result<(tempfile::NamedTempFile, String, Option<i32>), ApiError> {
    let config = state.uploads.config();
    let (limit, idle) = (config.max_upload_bytes, config.body_idle_timeout);
    let mut spool = tempfile::NamedTempFile::new_in(&config.spool_dir).map_err(ApiError::internal)?;
    let mut bytes = 0u64;
    let mut write = |chunk: &[u8]| -> Result<(), ApiError> {
        bytes += chunk.len() as u64;
        if bytes > limit {
            return Err(too_large(limit));
        }
        slot.reserve_spool(chunk.len() as u64).map_err(spool_full)?;
        spool.write_all(chunk).map_err(|e| match e.kind() {
            std::io::ErrorKind::StorageFull => {
                spool_full(SpoolFull::Service { budget: config.max_spool_bytes })
            }
            _ => ApiError::internal(e),
        })
    };
    let bad_multipart = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_multipart", e.body_text())
    };
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut year = None;
    let file_name = if is_multipart {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_multipart", e.body_text()))?;
        let mut found = None;
        while let Some(mut field) = within(idle, multipart.next_field()).await?.map_err(bad_multipart)? {
            match field.name() {
                Some("year") => {
                    // A year is a few bytes: more is refused before it is held.
                    let mut value = Vec::new();
                    while let Some(chunk) = within(idle, field.chunk()).await?.map_err(bad_multipart)? {
                        value.extend_from_slice(&chunk);
                        if value.len() > 16 {
                            return Err(parse_year("too long").unwrap_err());
                        }
                    }
                    year = Some(parse_year(&String::from_utf8_lossy(&value))?);
                }
                Some("file") if found.is_none() => {
                    found = Some(published_name(field.file_name().unwrap_or("WoWCombatLog.txt"), None));
                    while let Some(chunk) = within(idle, field.chunk()).await?.map_err(bad_multipart)? {
                        write(&chunk)?;
                    }
                }
                _ => {}
            }
        }
        found.ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "missing_file", "the multipart body has no `file` field")
        })?
    } else {
        let mut stream = Body::into_data_stream(request.into_body());
        while let Some(chunk) = within(idle, stream.next()).await? {
            let chunk =
                chunk.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.to_string()))?;
            write(&chunk)?;
        }
        headers.get("x-file-name").and_then(|v| v.to_str().ok()).unwrap_or("WoWCombatLog.txt").to_string()
    };
    spool.flush().map_err(ApiError::internal)?;
    Ok((spool, file_name, year))
}
