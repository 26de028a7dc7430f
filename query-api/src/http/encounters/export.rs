//! Downloads: one fight (JSON, or CSV with a row per player) and every fight matching
//! the filters, streamed in chunks from a ClickHouse cursor.

use super::queries::detail_of;
use super::{Encounter, EncounterDetail, EncounterFilter, Kind, Outcome};
use crate::auth::{Query, Scope};
use crate::http::answer::{Guilded, attachment, guilded, json};
use crate::params::{Params, PathId, Validate};
use crate::scope::Sql;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;
use wowlogs_store::rows::{EncounterRow, TableRow};

/// Export formats.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    Ndjson,
    Csv,
}

/// Export formats of one fight.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FightFormat {
    #[default]
    Json,
    Csv,
}

/// Export format of one fight.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FightExport {
    /// `json` (the fight, players and deaths) or `csv` (one row per player).
    #[param(inline)]
    pub format: Option<FightFormat>,
}

impl Validate for FightExport {
    fn validate(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// The JSON export of every matching fight, as streamed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EncounterExport {
    pub guild_id: i64,
    pub guild_name: String,
    pub encounters: Vec<Encounter>,
}

/// One fight as a download: JSON, or CSV with one row per player.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}/export", tag = "encounters",
    params(("id" = String, Path, description = "Encounter id"), FightExport),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The fight as an attachment", content((Guilded<EncounterDetail> = "application/json"), (String = "text/csv"))),
        (status = 404, description = "No such fight in this guild"),
    )
)]
pub async fn export_one(
    scope: Scope<Query>,
    PathId(id): PathId<String>,
    Params(params): Params<FightExport>,
) -> Result<Response, ApiError> {
    let detail = detail_of(&scope.db, &id).await?;
    let mut response = match params.format.unwrap_or_default() {
        FightFormat::Csv => {
            let mut csv = csv::Writer::from_writer(Vec::new());
            csv.write_record([
                "guild_id",
                "encounter_id",
                "boss",
                "player",
                "class",
                "spec_id",
                "item_level",
                "damage_done",
                "healing_done",
                "damage_taken",
                "deaths",
                "dps",
                "hps",
                "interrupts",
                "dispels",
            ])
            .map_err(ApiError::internal)?;
            for p in &detail.players {
                csv.write_record([
                    scope.guild_id().to_string(),
                    detail.encounter.id.clone(),
                    detail.encounter.name.clone(),
                    p.name.clone(),
                    p.class.clone(),
                    p.spec_id.map(|s| s.to_string()).unwrap_or_default(),
                    p.item_level.map(|i| format!("{i:.1}")).unwrap_or_default(),
                    p.damage_done.to_string(),
                    p.healing_done.to_string(),
                    p.damage_taken.to_string(),
                    p.deaths.to_string(),
                    format!("{:.1}", p.dps),
                    format!("{:.1}", p.hps),
                    p.interrupts.to_string(),
                    p.dispels.to_string(),
                ])
                .map_err(ApiError::internal)?;
            }
            let bytes = csv.into_inner().map_err(ApiError::internal)?;
            let mut response = bytes.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            attachment(&mut response, &format!("encounter-{id}.csv"));
            response
        }
        _ => {
            let mut response = json(guilded(&scope, &detail)?);
            attachment(&mut response, &format!("encounter-{id}.json"));
            response
        }
    };
    response.headers_mut().insert("x-guild-id", HeaderValue::from(scope.guild_id()));
    Ok(response)
}

/// Export parameters: the list's filters, every page.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (default), `ndjson` or `csv`.
    #[param(inline)]
    pub format: Option<Format>,
    /// Exact boss (or dungeon, arena) name.
    pub boss: Option<String>,
    pub encounter_id: Option<i32>,
    pub difficulty: Option<i32>,
    #[param(inline)]
    pub kind: Option<Kind>,
    #[param(inline)]
    pub outcome: Option<Outcome>,
    /// RFC 3339, a date or Unix milliseconds.
    pub from: Option<String>,
    /// RFC 3339, a date or Unix milliseconds.
    pub to: Option<String>,
    pub log_id: Option<i64>,
}

impl ExportParams {
    fn filter(&self) -> EncounterFilter {
        EncounterFilter {
            boss: self.boss.clone(),
            encounter_id: self.encounter_id,
            difficulty: self.difficulty,
            kind: self.kind,
            outcome: self.outcome,
            from: self.from.clone(),
            to: self.to.clone(),
            log_id: self.log_id,
            ..EncounterFilter::default()
        }
    }
}

impl Validate for ExportParams {
    fn validate(&self) -> Result<(), ApiError> {
        self.filter().validate()
    }
}

/// Fights per chunk of a streamed export.
const EXPORT_CHUNK: usize = 256;
/// Chunks an export reads ahead of its reader.
const EXPORT_BUFFER: usize = 4;

/// Every fight matching the filters, streamed as it is read (constant memory however
/// many there are): a JSON document, NDJSON (one fight per line, each with the guild) or
/// CSV.
#[utoipa::path(
    get, path = "/api/v1/encounters/export", tag = "encounters",
    params(ExportParams),
    security(("bearer" = ["query"])),
    responses((status = 200, description = "Streamed fights", content((EncounterExport = "application/json"), (String = "application/x-ndjson"), (String = "text/csv"))))
)]
pub async fn export(
    State(state): State<AppState>,
    scope: Scope<Query>,
    Params(params): Params<ExportParams>,
) -> Result<Response, ApiError> {
    let format = params.format.unwrap_or_default();
    let sql = params
        .filter()
        .apply(Sql::new("SELECT").push(EncounterRow::SELECT).push("FROM encounters FINAL WHERE {guild}"))?
        .push("ORDER BY start_ms, fight_id");
    let (export_timeout, stall) = (state.config.export_timeout, state.config.export_stall);
    let mut rows = scope.db.cursor::<EncounterRow>(&sql, export_timeout).await?;
    let (guild_id, guild_name) = (scope.guild_id(), scope.guild_name().to_string());
    let head = match format {
        Format::Json => format!(
            "{{\"guild_id\":{guild_id},\"guild_name\":{},\"encounters\":[",
            serde_json::to_string(&guild_name).map_err(ApiError::internal)?
        ),
        Format::Ndjson => String::new(),
        Format::Csv => "guild_id,id,log_id,kind,name,encounter_id,difficulty,outcome,complete,start,duration_ms,key_level\n".into(),
    };
    // A reader task fills a small buffer of chunks; the response drains it. A reader that
    // stops taking chunks for `stall` ends the export (and the ClickHouse query with
    // it): a slow download cannot hold a query slot for long.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(EXPORT_BUFFER);
    tokio::spawn(async move {
        let send = |chunk| async {
            match tokio::time::timeout(stall, sender.send(chunk)).await {
                Ok(Ok(())) => true,
                Ok(Err(_)) => false, // the client went away
                Err(_) => {
                    tracing::warn!(
                        guild_id,
                        stall_ms = stall.as_millis() as u64,
                        "export stopped: the reader stalled"
                    );
                    false
                }
            }
        };
        if !send(Ok(Bytes::from(head))).await {
            return;
        }
        let mut first = true;
        loop {
            let mut chunk = Vec::with_capacity(EXPORT_CHUNK * 256);
            let mut done = false;
            for _ in 0..EXPORT_CHUNK {
                match rows.next(export_timeout).await {
                    Ok(Some(record)) => {
                        let encounter = Encounter::from(record);
                        if let Err(error) =
                            write_row(&mut chunk, format, guild_id, &guild_name, &encounter, first)
                        {
                            let _ = send(Err(error)).await;
                            return;
                        }
                        first = false;
                    }
                    Ok(None) => {
                        if format == Format::Json {
                            chunk.extend_from_slice(b"]}");
                        }
                        done = true;
                        break;
                    }
                    Err(error) => {
                        tracing::error!(guild_id, error = %error.message, "export: reading ClickHouse failed mid-stream");
                        let _ = send(Err(std::io::Error::other(error.message))).await;
                        return;
                    }
                }
            }
            if !send(Ok(Bytes::from(chunk))).await || done {
                return;
            }
        }
    });
    let body =
        futures::stream::unfold(
            receiver,
            |mut chunks| async move { chunks.recv().await.map(|c| (c, chunks)) },
        );
    let (content_type, extension) = match format {
        Format::Json => ("application/json", "json"),
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let mut response = Body::from_stream(body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert("x-guild-id", HeaderValue::from(guild_id));
    attachment(&mut response, &format!("encounters-guild-{guild_id}.{extension}"));
    Ok(response)
}

/// One fight of a streamed export.
fn write_row(
    out: &mut Vec<u8>,
    format: Format,
    guild_id: i64,
    guild_name: &str,
    e: &Encounter,
    first: bool,
) -> Result<(), std::io::Error> {
    match format {
        Format::Json => {
            if !first {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, e)?;
        }
        Format::Ndjson => {
            serde_json::to_writer(
                &mut *out,
                &Guilded { guild_id, guild_name: guild_name.to_string(), data: e },
            )?;
            out.push(b'\n');
        }
        Format::Csv => {
            let mut csv = csv::WriterBuilder::new().has_headers(false).from_writer(&mut *out);
            csv.write_record([
                guild_id.to_string(),
                e.id.clone(),
                e.log_id.clone(),
                e.kind.to_string(),
                e.name.clone(),
                e.encounter_id.map(|v| v.to_string()).unwrap_or_default(),
                e.difficulty.map(|v| v.to_string()).unwrap_or_default(),
                e.outcome.unwrap_or("").to_string(),
                e.complete.to_string(),
                e.start.clone(),
                e.duration_ms.to_string(),
                e.key_level.map(|v| v.to_string()).unwrap_or_default(),
            ])?;
            csv.flush()?;
        }
    }
    Ok(())
}
