//! Live sessions over HTTP (`wowlogs watch`): `PUT /api/v1/live/{session}/{offset}`
//! appends a chunk of a file at a byte offset, `POST /api/v1/live/{session}/close`
//! closes it, `GET /api/v1/live/{session}` says where it stands. What a session is,
//! is [`crate::uploads::live`]'s.

use super::upload::authorize;
use crate::identity::is_live_key;
use crate::state::AppState;
use crate::uploads::live::{LiveAnswer, LiveRefusal};
use axum::Json;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use wowlogs_http::ApiError;
use wowlogs_tenancy::{Caller, Permission, actor_of};

/// The file's name, on its chunks.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChunkQuery {
    /// The file's name (`WoWCombatLog-120626_201503.txt`); the first chunk's is kept.
    #[serde(default)]
    pub file_name: Option<String>,
}

/// How much a closed file holds.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CloseQuery {
    /// The file's length: every byte up to it must have been sent.
    pub bytes: u64,
}

/// A refusal as the live routes answer it: the JSON error shape, with `expected_offset`
/// beside it when the caller must send from there.
fn refused(refusal: LiveRefusal) -> Response {
    let status = match &refusal {
        LiveRefusal::Gap { .. }
        | LiveRefusal::NotHeld
        | LiveRefusal::NotAllSent { .. }
        | LiveRefusal::Closed { .. } => StatusCode::CONFLICT,
        LiveRefusal::NoFirstLine | LiveRefusal::KeyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        LiveRefusal::GuildSessions { .. } | LiveRefusal::ServiceSessions(_) => {
            return ApiError::rate_limited(refusal.to_string(), std::time::Duration::from_secs(30))
                .into_response();
        }
        LiveRefusal::Refused(inner) => return super::upload::refused(inner.clone()).into_response(),
    };
    let mut body = json!({"error": {"code": refusal.code(), "message": refusal.to_string()}});
    if let Some(expected) = refusal.expected_offset() {
        body["error"]["expected_offset"] = expected.into();
    }
    (status, Json(body)).into_response()
}

/// A query parameter's value, percent-decoded (400 when it does not decode).
fn query_value(query: Option<&str>, name: &str) -> Result<Option<String>, ApiError> {
    for pair in query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == name {
            let value = value.replace('+', " ");
            let decoded = percent_encoding::percent_decode_str(&value)
                .decode_utf8()
                .map_err(|_| ApiError::bad_request(format!("`{name}` is not UTF-8")))?;
            return Ok(Some(decoded.into_owned()));
        }
    }
    Ok(None)
}

fn session_key(session: &str) -> Result<(), ApiError> {
    if is_live_key(session) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "a session is the hex SHA-256 (64 lowercase digits) of the file's first line",
        ))
    }
}

fn audit(state: &AppState, caller: &Caller, request: &Request, action: &str, target: &str, outcome: String) {
    let actor = actor_of(&caller.principal.key_id, request.extensions());
    state.auditor.record(caller.principal.guild_id.0, &actor, action, target, outcome);
}

/// Appends the bytes of a log file that start at `offset`, while the game writes it.
/// The same chunk twice changes nothing; a chunk past the end is refused (409) with the
/// `expected_offset` to send from. The first chunk (offset 0) opens the session and
/// must hold the file's whole first line, whose SHA-256 is the session.
#[utoipa::path(
    put, path = "/api/v1/live/{session}/{offset}", tag = "uploads",
    params(
        ("session" = String, Path, description = "Hex SHA-256 of the file's first line (without its line end)", pattern = "^[0-9a-f]{64}$"),
        ("offset" = u64, Path, description = "Where in the file this chunk starts"),
        ChunkQuery,
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("bearer" = ["upload"])),
    responses(
        (status = 200, description = "Taken (or already had): where the next chunk starts", body = LiveAnswer),
        (status = 409, description = "Not where the file ends here (`expected_offset`), or the file's log is complete"),
        (status = 413, description = "Larger than WOWLOGS_LIVE_MAX_CHUNK_BYTES"),
        (status = 422, description = "The first chunk lacks the file's first line, or its hash is not the session"),
        (status = 429, description = "Too many live sessions, or over the guild's hourly bytes (`Retry-After`)"),
    )
)]
pub async fn chunk(
    State(state): State<AppState>,
    Path((session, offset)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, request.headers(), request.extensions(), &[Permission::Upload])?;
    session_key(&session)?;
    let offset: u64 = offset.parse().map_err(|_| {
        ApiError::bad_request("`offset` must be the byte of the file the chunk starts at (0 or more)")
    })?;
    let query = ChunkQuery { file_name: query_value(query.as_deref(), "file_name")? };
    if query.file_name.as_ref().is_some_and(|name| name.is_empty() || name.chars().any(char::is_control)) {
        return Err(ApiError::bad_request("`file_name` must be a file's name"));
    }
    let limit = state.uploads.config().live.max_chunk_bytes;
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts, axum::body::Body::empty());
    let whole = state.uploads.config().body_idle_timeout;
    let bytes = match tokio::time::timeout(whole, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes.to_vec(),
        Ok(Err(_)) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "chunk_too_large",
                format!("a chunk may hold at most {limit} bytes (WOWLOGS_LIVE_MAX_CHUNK_BYTES)"),
            ));
        }
        Err(_) => {
            return Err(ApiError::request_timeout("the chunk's body stalled (WOWLOGS_BODY_IDLE_TIMEOUT_MS)"));
        }
    };
    let file_name = query.file_name.unwrap_or_else(|| "WoWCombatLog.txt".into());
    let answer = state.uploads.live_chunk(&caller.principal, &session, offset, &file_name, bytes).await;
    match answer {
        Ok(answer) => {
            if answer.opened {
                let outcome = format!("file={} log_id={} offset={offset}", answer.file_name, answer.log_id);
                audit(&state, &caller, &request, "live.opened", &answer.upload_id, outcome);
            }
            Ok(Json(answer).into_response())
        }
        Err(refusal) => {
            if offset == 0 && refusal.expected_offset().is_none() {
                let outcome = format!("file={file_name} code={} message={refusal}", refusal.code());
                audit(&state, &caller, &request, "live.refused", &session, outcome);
            }
            Ok(refused(refusal))
        }
    }
}

/// Closes a file followed live once every byte of it was sent: its log is complete (the
/// fights still open end as at the end of a file), and an upload of the same file later
/// is a duplicate of it. Closing a closed file answers it again.
#[utoipa::path(
    post, path = "/api/v1/live/{session}/close", tag = "uploads",
    params(("session" = String, Path, description = "Hex SHA-256 of the file's first line", pattern = "^[0-9a-f]{64}$"), CloseQuery),
    security(("bearer" = ["upload"])),
    responses(
        (status = 200, description = "The log is complete", body = LiveAnswer),
        (status = 409, description = "Bytes are missing (`expected_offset`), or this service does not hold the session (send it again from 0)"),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    Path(session): Path<String>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, request.headers(), request.extensions(), &[Permission::Upload])?;
    session_key(&session)?;
    let bytes =
        query_value(query.as_deref(), "bytes")?.and_then(|bytes| bytes.parse::<u64>().ok()).ok_or_else(
            || ApiError::bad_request("`bytes` must be the file's length: every byte up to it sent"),
        )?;
    let query = CloseQuery { bytes };
    match state.uploads.live_close(&caller.principal, &session, query.bytes).await {
        Ok(answer) => {
            let outcome = format!(
                "file={} log_id={} bytes={} lines={} events={}",
                answer.file_name, answer.log_id, query.bytes, answer.lines, answer.events
            );
            audit(&state, &caller, &request, "live.closed", &answer.upload_id, outcome);
            Ok(Json(answer).into_response())
        }
        Err(refusal) => Ok(refused(refusal)),
    }
}

/// Where a file followed live stands: `open` here with the offset of its next chunk,
/// `parked` (send it again from 0 to go on) or `completed`.
#[utoipa::path(
    get, path = "/api/v1/live/{session}", tag = "uploads",
    params(("session" = String, Path, description = "Hex SHA-256 of the file's first line", pattern = "^[0-9a-f]{64}$")),
    security(("bearer" = ["upload", "query"])),
    responses(
        (status = 200, description = "The session", body = LiveAnswer),
        (status = 404, description = "This guild never sent this file"),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Path(session): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let caller =
        authorize(&state, request.headers(), request.extensions(), &[Permission::Upload, Permission::Query])?;
    session_key(&session)?;
    let answer = state
        .uploads
        .live_status(&caller.principal, &session)
        .ok_or_else(|| ApiError::not_found(format!("no live session {session}")))?;
    Ok(Json(answer).into_response())
}
