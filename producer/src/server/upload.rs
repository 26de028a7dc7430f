//! `POST /api/v1/logs/upload` and `GET /api/v1/uploads/{id}`.
//!
//! The body (multipart field `file`, or the raw body) streams to a spool file while it
//! is counted against the size limit; it is never held in memory. The spooled file is
//! then identified (SHA-256 of guild and content, per log for zips), checked to be a
//! combat log, and published on a blocking thread while the client gets `202`.

use super::auth::{Caller, Permission, Principal};
use super::limits::{Bucket, Limits};
use super::{ApiError, AppState};
use crate::identity::identify;
use crate::import::now_ms;
use crate::intake::{IntakeCounts, IntakeHooks, LogJob, Tag, publish_log, publish_status, status_of};
use crate::registry::Admission;
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Serialize;
use std::io::{BufRead, Write};
use std::num::NonZeroU32;
use std::time::Duration;
use wowlogs_kafka::Outbox;
use wowlogs_parser::{InputError, LogReader, ParseOptions, ParsedLine, YearHint, for_each_log};
use wowlogs_schemas::{GuildId, LogId, UploadState, UploadStatus};
use wowlogs_tenancy::with_deprecation;

/// What the service remembers of an upload it received.
#[derive(Debug, Clone, Serialize)]
pub struct UploadRecord {
    pub upload_id: String,
    pub guild_id: GuildId,
    pub guild_name: String,
    pub file_name: String,
    /// `processing`, `completed`, `failed` or `duplicate`.
    pub status: String,
    pub logs: Vec<UploadStatus>,
}

/// The `202` answer.
#[derive(Debug, Serialize)]
struct Accepted {
    upload_id: String,
    guild_id: GuildId,
    guild_name: String,
    file_name: String,
    status: &'static str,
    log_ids: Vec<LogId>,
}

/// The caller, checked for one of `permissions`.
fn authorize(state: &AppState, headers: &HeaderMap, permissions: &[Permission]) -> Result<Caller, ApiError> {
    super::auth::authorize(state.keys.as_ref(), headers, permissions)
}

/// The buckets an upload by this caller draws from: its guild's and its key's.
fn limits_of(state: &AppState, principal: &Principal) -> Limits {
    let mut limits = vec![(Bucket::Guild(principal.guild_id), state.config.guild_events_per_minute)];
    if let Some(per_minute) = NonZeroU32::new(principal.events_per_minute) {
        limits.push((Bucket::Key(principal.key_id.clone()), per_minute));
    }
    limits
}

pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, &[Permission::Upload])?;
    let (principal, legacy) = (&caller.principal, caller.legacy);
    let guild = principal.guild_id;
    let limits = limits_of(&state, principal);
    if let Some(wait) = state.limiter.admission(&limits) {
        return Err(ApiError::rate_limited(
            format!(
                "guild {guild} or this key is over its events-per-minute limit; retry in {} s",
                wait.as_secs().max(1)
            ),
            wait,
        ));
    }
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.config.max_upload_bytes) {
        return Err(too_large(state.config.max_upload_bytes));
    }
    let upload_id = uuid::Uuid::new_v4().to_string();
    let (spool, file_name, bytes) = spool_body(&state, &headers, request).await?;
    state.metrics.bytes_received(guild, bytes);
    if bytes == 0 {
        return Err(reject(&state, principal, &upload_id, &file_name, "empty_upload", "the upload is empty"));
    }
    // Identify and check the logs off the async threads: it reads the whole file.
    let inspected = {
        let path = spool.path().to_path_buf();
        let name = file_name.clone();
        tokio::task::spawn_blocking(move || inspect(&path, &name, guild)).await.map_err(ApiError::internal)?
    };
    let logs = match inspected {
        Ok(logs) if !logs.is_empty() => logs,
        Ok(_) => {
            return Err(reject(
                &state,
                principal,
                &upload_id,
                &file_name,
                "not_a_combat_log",
                "no line of the upload is a combat-log event; is this a WoWCombatLog.txt?",
            ));
        }
        Err(reason) => {
            return Err(reject(&state, principal, &upload_id, &file_name, "unreadable_upload", &reason));
        }
    };
    let admissions: Vec<(String, crate::identity::LogIdentity, Admission)> = {
        let registry = state.registry.lock().expect("registry lock");
        logs.into_iter()
            .map(|(name, identity)| {
                let admission = registry.admit(guild, identity.log_id);
                (name, identity, admission)
            })
            .collect()
    };
    {
        let active = state.active.lock().expect("active lock");
        if let Some(running) =
            admissions.iter().find_map(|(_, identity, _)| active.get(&(guild, identity.log_id)))
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "upload_in_progress",
                format!(
                    "this log is being published by upload {running}; follow it at /api/v1/uploads/{running}"
                ),
            ));
        }
    }
    if let Some((_, identity, Admission::Duplicate(known))) = admissions
        .iter()
        .find(|(_, _, a)| matches!(a, Admission::Duplicate(_)))
        .filter(|_| admissions.iter().all(|(_, _, a)| matches!(a, Admission::Duplicate(_))))
    {
        state.metrics.upload(guild, "duplicate", &upload_id, &known.upload_id);
        let body = serde_json::json!({
            "upload_id": known.upload_id,
            "guild_id": guild,
            "guild_name": principal.guild_name,
            "file_name": file_name,
            "status": "duplicate",
            "log_ids": [identity.log_id],
            "message": "this log was already uploaded for this guild; nothing was published again",
        });
        return Ok(with_deprecation((StatusCode::OK, Json(body)).into_response(), legacy));
    }
    let options = ParseOptions::new(YearHint::last_written_at(now_ms()));
    let jobs: Vec<LogJob> = admissions
        .into_iter()
        .filter(|(_, _, a)| !matches!(a, Admission::Duplicate(_)))
        .enumerate()
        .map(|(i, (name, identity, admission))| LogJob {
            guild_id: guild,
            log_id: identity.log_id,
            upload_id: if i == 0 { upload_id.clone() } else { format!("{upload_id}-{i}") },
            file_name: name,
            content_sha256: identity.content_sha256,
            bytes_total: Some(identity.bytes),
            resume_after_line: match admission {
                Admission::Resume { after_line } => after_line,
                _ => 0,
            },
            options,
        })
        .collect();
    let record = UploadRecord {
        upload_id: upload_id.clone(),
        guild_id: guild,
        guild_name: principal.guild_name.clone(),
        file_name: file_name.clone(),
        status: "processing".into(),
        logs: jobs
            .iter()
            .map(|j| status_of(j, UploadState::Accepted, &IntakeCounts::default(), None, now_ms()))
            .collect(),
    };
    state.uploads.lock().expect("uploads lock").insert(upload_id.clone(), record);
    {
        let mut active = state.active.lock().expect("active lock");
        for job in &jobs {
            active.insert((guild, job.log_id), upload_id.clone());
        }
    }
    state.metrics.upload(guild, "accepted", &upload_id, &file_name);
    let accepted = Accepted {
        upload_id: upload_id.clone(),
        guild_id: guild,
        guild_name: principal.guild_name.clone(),
        file_name,
        status: "processing",
        log_ids: jobs.iter().map(|j| j.log_id).collect(),
    };
    let worker = state.clone();
    // Parsing and publishing outlive the request: their span carries the upload's id.
    let span = tracing::info_span!("publish_upload", upload_id, guild_id = guild.0);
    state
        .jobs
        .lock()
        .await
        .spawn_blocking(move || span.in_scope(|| publish_upload(&worker, &upload_id, jobs, spool, &limits)));
    Ok(with_deprecation((StatusCode::ACCEPTED, Json(accepted)).into_response(), legacy))
}

pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, &[Permission::Upload, Permission::Query])?;
    let (principal, legacy) = (&caller.principal, caller.legacy);
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no upload {id}"));
    let known = state.uploads.lock().expect("uploads lock").get(&id).cloned();
    let record = match known {
        Some(record) => record,
        // Uploads and imports of earlier runs, from the uploads topic.
        None => {
            let registry = state.registry.lock().expect("registry lock");
            let status = registry.by_upload(&id).ok_or_else(not_found)?.clone();
            UploadRecord {
                upload_id: id.clone(),
                guild_id: status.guild_id,
                guild_name: principal.guild_name.clone(),
                file_name: status.file_name.clone(),
                status: state_name(status.state).into(),
                logs: vec![status],
            }
        }
    };
    // Another guild's upload does not exist, as far as this caller can tell.
    if record.guild_id != principal.guild_id {
        return Err(not_found());
    }
    Ok(with_deprecation(Json(record).into_response(), legacy))
}

fn state_name(state: UploadState) -> &'static str {
    match state {
        UploadState::Accepted | UploadState::Parsing => "processing",
        UploadState::Completed => "completed",
        UploadState::Failed => "failed",
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload_too_large",
        format!("uploads are limited to {limit} bytes"),
    )
}

/// Streams the body (multipart field `file`, or raw) into a spool file.
async fn spool_body(
    state: &AppState,
    headers: &HeaderMap,
    request: Request,
) -> Result<(tempfile::NamedTempFile, String, u64), ApiError> {
    let limit = state.config.max_upload_bytes;
    let mut spool = tempfile::NamedTempFile::new_in(&state.config.spool_dir).map_err(ApiError::internal)?;
    let mut bytes = 0u64;
    let mut write = |chunk: &[u8]| -> Result<(), ApiError> {
        bytes += chunk.len() as u64;
        if bytes > limit {
            return Err(too_large(limit));
        }
        spool.write_all(chunk).map_err(ApiError::internal)
    };
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let file_name = if is_multipart {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_multipart", e.body_text()))?;
        let mut found = None;
        while let Some(mut field) = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_multipart", e.body_text()))?
        {
            if field.name() != Some("file") {
                continue;
            }
            found = Some(field.file_name().unwrap_or("WoWCombatLog.txt").to_string());
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_multipart", e.body_text()))?
            {
                write(&chunk)?;
            }
            break;
        }
        found.ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "missing_file", "the multipart body has no `file` field")
        })?
    } else {
        let mut stream = Body::into_data_stream(request.into_body());
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.to_string()))?;
            write(&chunk)?;
        }
        headers.get("x-file-name").and_then(|v| v.to_str().ok()).unwrap_or("WoWCombatLog.txt").to_string()
    };
    spool.flush().map_err(ApiError::internal)?;
    Ok((spool, file_name, bytes))
}

/// Each log in the spooled upload with its identity, if the upload holds combat logs.
fn inspect(
    path: &std::path::Path,
    file_name: &str,
    guild: GuildId,
) -> Result<Vec<(String, crate::identity::LogIdentity)>, String> {
    let open = || std::fs::File::open(path).map_err(|e| e.to_string());
    // Does it look like a combat log? Some event among its first non-blank lines.
    let mut looks_like_a_log = false;
    for_each_log(open()?, |_, input: &mut dyn BufRead| -> Result<(), InputError> {
        if !looks_like_a_log {
            let reader = LogReader::new(input, ParseOptions::new(YearHint::FirstLineIn(2024)));
            looks_like_a_log = reader.take(50).any(|line| matches!(line, Ok(ParsedLine::Event(_))));
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    if !looks_like_a_log {
        return Ok(Vec::new());
    }
    let mut logs = Vec::new();
    for_each_log(open()?, |entry, input: &mut dyn BufRead| -> Result<(), InputError> {
        let name = entry.map_or_else(|| file_name.to_string(), |entry| format!("{file_name}:{entry}"));
        logs.push((name, identify(guild, input)?));
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(logs)
}

/// Answers a refused upload, and records the refusal on the uploads topic.
fn reject(
    state: &AppState,
    principal: &Principal,
    upload_id: &str,
    file_name: &str,
    code: &'static str,
    reason: &str,
) -> ApiError {
    state.metrics.upload(principal.guild_id, "rejected", upload_id, code);
    let job = LogJob {
        guild_id: principal.guild_id,
        log_id: LogId(0),
        upload_id: upload_id.to_string(),
        file_name: file_name.to_string(),
        content_sha256: String::new(),
        bytes_total: None,
        resume_after_line: 0,
        options: ParseOptions::new(YearHint::FirstLineIn(2024)),
    };
    // Recorded in the background: the client's answer does not wait for the broker.
    let worker = state.clone();
    let reason_owned = reason.to_string();
    let upload_id_owned = upload_id.to_string();
    tokio::task::spawn_blocking(move || {
        let mut outbox = Outbox::new(worker.producer.clone(), 16);
        let recorded = publish_status(
            &job,
            &worker.encoders,
            &mut outbox,
            UploadState::Failed,
            &IntakeCounts::default(),
            Some(reason_owned),
            &now_ms,
            &mut |_, _| {},
        )
        .and_then(|()| outbox.flush(|_, _| {}).map_err(Into::into));
        if let Err(error) = recorded {
            tracing::warn!(upload_id = upload_id_owned, %error, "could not record a rejected upload");
        }
    });
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, reason)
}

/// Hooks of an upload being published: the guild's rate limit, metrics, the status.
struct UploadHooks<'a> {
    state: &'a AppState,
    upload_id: &'a str,
    index: usize,
    job: &'a LogJob,
    limits: &'a Limits,
    reported: IntakeCounts,
}

impl IntakeHooks for UploadHooks<'_> {
    fn throttle(&mut self, events: u32) -> bool {
        self.state.limiter.take(self.limits, events)
    }

    fn progress(&mut self, counts: &IntakeCounts) {
        self.state.metrics.published(
            self.job.guild_id,
            counts.lines - self.reported.lines,
            counts.events - self.reported.events,
            counts.dead_letters - self.reported.dead_letters,
        );
        self.reported = *counts;
        if let Some(record) = self.state.uploads.lock().expect("uploads lock").get_mut(self.upload_id)
            && let Some(log) = record.logs.get_mut(self.index)
        {
            *log = status_of(self.job, UploadState::Parsing, counts, None, now_ms());
        }
    }

    fn delivered(&mut self, latency: Duration) {
        self.state.metrics.delivered(latency);
    }
}

/// Publishes every log of an upload (blocking thread), then forgets the spool file.
fn publish_upload(
    state: &AppState,
    upload_id: &str,
    jobs: Vec<LogJob>,
    spool: tempfile::NamedTempFile,
    limits: &Limits,
) {
    let mut outbox = Outbox::new(state.producer.clone(), state.config.max_in_flight);
    let mut failed = None;
    let mut index = 0;
    // The lifecycle starts on the topic too: accepted, then parsing, then the outcome.
    for job in &jobs {
        let accepted = publish_status(
            job,
            &state.encoders,
            &mut outbox,
            UploadState::Accepted,
            &IntakeCounts { acked_through_line: job.resume_after_line, ..IntakeCounts::default() },
            None,
            &now_ms,
            &mut |_, _| {},
        );
        if let Err(error) = accepted {
            tracing::warn!(upload_id, %error, "could not record an accepted upload");
        }
    }
    let result = std::fs::File::open(spool.path()).map_err(InputError::from).and_then(|file| {
        for_each_log(file, |_, input: &mut dyn BufRead| -> Result<(), InputError> {
            let Some(job) = jobs.get(index) else { return Ok(()) };
            let mut hooks =
                UploadHooks { state, upload_id, index, job, limits, reported: IntakeCounts::default() };
            let mut ack = |_: Tag, _: Duration| {};
            let (final_state, counts, reason) =
                match publish_log(job, input, &state.encoders, &mut outbox, &now_ms, &mut hooks) {
                    Ok(counts) => (UploadState::Completed, counts, None),
                    Err(failure) => (UploadState::Failed, failure.counts, Some(failure.error.to_string())),
                };
            let status = status_of(job, final_state, &counts, reason.clone(), now_ms());
            let recorded = publish_status(
                job,
                &state.encoders,
                &mut outbox,
                final_state,
                &counts,
                reason.clone(),
                &now_ms,
                &mut ack,
            )
            .and_then(|()| outbox.flush(&mut ack).map_err(Into::into));
            if let Err(error) = recorded {
                failed = Some(format!("recording the outcome failed: {error}"));
            }
            if let Some(reason) = reason {
                failed = Some(reason);
            }
            state.registry.lock().expect("registry lock").record(status.clone());
            state.active.lock().expect("active lock").remove(&(job.guild_id, job.log_id));
            if let Some(record) = state.uploads.lock().expect("uploads lock").get_mut(upload_id) {
                record.logs[index] = status;
            }
            index += 1;
            Ok(())
        })
    });
    if let Err(error) = result {
        failed = Some(error.to_string());
    }
    let guild = jobs.first().map_or(GuildId(0), |j| j.guild_id);
    let outcome = if failed.is_some() { "failed" } else { "completed" };
    if let Some(record) = state.uploads.lock().expect("uploads lock").get_mut(upload_id) {
        record.status = outcome.into();
    }
    state.metrics.upload(guild, outcome, upload_id, failed.as_deref().unwrap_or(""));
    drop(spool);
}
