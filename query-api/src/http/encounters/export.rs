//! Downloads: one fight (JSON, or CSV with a row per player) and every fight matching
//! the filters, streamed in chunks from a ClickHouse cursor; or, in full (`full=true`),
//! each fight with its players, deaths and rounds, read a page of fights at a time. Both
//! resume after a fight (`after`): fights come in the order they started.

use super::queries::{DEATHS, PLAYERS, detail_of};
use super::{DeathLine, Encounter, EncounterDetail, EncounterFilter, Kind, Outcome, PlayerLine};
use crate::auth::{Query, Scope};
use crate::http::answer::{Guilded, attachment, guilded, json};
use crate::params::{Params, PathId, Validate};
use crate::scope::{GuildDb, Sql};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;
use wowlogs_schemas::{FightKind, Named};
use wowlogs_store::rows::{EncounterRow, TableRow};

/// Export formats.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    Ndjson,
    Csv,
    /// Everything, a CSV per table in a zip: `encounters.csv`, `players.csv`,
    /// `deaths.csv`, `rounds.csv`.
    Zip,
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
    /// `json` (default), `ndjson`, `csv`, or `zip` (everything: a CSV per table).
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
    /// Each fight with its players, deaths and (a Solo Shuffle match's) rounds: everything
    /// the guild's fights hold (`json`, `ndjson`); as `csv`, one row per player of each
    /// fight, the fight's columns first.
    pub full: Option<bool>,
    /// Resume after this encounter id (the last one a cut-off download received): the
    /// fights after it in start order (404 when it is no fight of the guild).
    #[param(pattern = "^-?[0-9]{1,20}$")]
    pub after: Option<String>,
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
        if let Some(after) = &self.after
            && after.trim().parse::<i64>().is_err()
        {
            return Err(ApiError::bad_request("`after` is an encounter id, as the export shows it"));
        }
        self.filter().validate()
    }
}

/// A fight in a full export: the fight, where it is in its log, its players (by damage
/// done) and its deaths (in order).
#[derive(Debug, Serialize, ToSchema)]
pub struct FullFight {
    #[serde(flatten)]
    pub encounter: Encounter,
    /// The fight's first line in its log: with `log_id`, what identifies the fight (an
    /// import into another guild keeps both).
    pub start_line: i64,
    /// The fight's last line in its log.
    pub end_line: i64,
    /// A Mythic+ run's boss, or a Solo Shuffle round: the first line of its run or match.
    pub parent_start_line: Option<i64>,
    pub players: Vec<PlayerLine>,
    pub deaths: Vec<DeathLine>,
}

/// A fight in a full export, and a Solo Shuffle match's rounds (each a fight of its own,
/// with its players and deaths).
#[derive(Debug, Serialize, ToSchema)]
pub struct FullEncounter {
    #[serde(flatten)]
    pub fight: FullFight,
    pub rounds: Vec<FullFight>,
}

/// Where an export resumes: after this fight's `(start_ms, fight_id)`.
type Resume = Option<(i64, i64)>;

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Point {
    start_ms: i64,
    fight_id: i64,
}

/// The fight `after` names, as a place to resume from (400 when it is no fight of the guild).
async fn resume_point(db: &GuildDb, after: &Option<String>) -> Result<Resume, ApiError> {
    let Some(id) = after else { return Ok(None) };
    let fight_id: i64 = id.trim().parse().map_err(|_| ApiError::bad_request("`after` is an encounter id"))?;
    let point = db
        .first::<Point>(
            &Sql::new("SELECT start_ms, fight_id FROM encounters FINAL WHERE {guild}")
                .bind("AND fight_id = ?", fight_id),
        )
        .await?
        .ok_or_else(|| ApiError::not_found(format!("`after`: no encounter {fight_id} in this guild")))?;
    Ok(Some((point.start_ms, point.fight_id)))
}

/// The fights of an export, in start order, after `resume`.
fn fights_sql(filter: &EncounterFilter, resume: Resume) -> Result<Sql, ApiError> {
    let sql = filter
        .apply(Sql::new("SELECT").push(EncounterRow::SELECT).push("FROM encounters FINAL WHERE {guild}"))?;
    let sql = match resume {
        Some((start_ms, fight_id)) => sql
            .bind("AND (start_ms > ?", start_ms)
            .bind("OR (start_ms = ?", start_ms)
            .bind("AND fight_id > ?))", fight_id),
        None => sql,
    };
    Ok(sql.push("ORDER BY start_ms, fight_id"))
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
    responses(
        (status = 200, description = "Streamed fights (with `full=true`, each a `FullEncounter`; `zip`: a CSV per table)", content((EncounterExport = "application/json"), (String = "application/x-ndjson"), (String = "text/csv"), (String = "application/zip"))),
        (status = 404, description = "`after` names no fight of the guild", body = crate::http::docs::Error),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    scope: Scope<Query>,
    Params(params): Params<ExportParams>,
) -> Result<Response, ApiError> {
    let format = params.format.unwrap_or_default();
    let resume = resume_point(&scope.db, &params.after).await?;
    let (export_timeout, stall) = (state.config.export_timeout, state.config.export_stall);
    let (guild_id, guild_name) = (scope.guild_id(), scope.guild_name().to_string());
    if format == Format::Zip {
        let pages = FullPages { db: scope.db.clone(), filter: params.filter(), resume };
        return Ok(download(pages.zip(guild_id, stall), format, guild_id));
    }
    if params.full == Some(true) {
        let pages = FullPages { db: scope.db.clone(), filter: params.filter(), resume };
        return Ok(download(pages.stream(format, guild_id, guild_name, stall), format, guild_id));
    }
    let sql = fights_sql(&params.filter(), resume)?;
    let mut rows = scope.db.cursor::<EncounterRow>(&sql, export_timeout).await?;
    let head = match format {
        Format::Json => format!(
            "{{\"guild_id\":{guild_id},\"guild_name\":{},\"encounters\":[",
            serde_json::to_string(&guild_name).map_err(ApiError::internal)?
        ),
        Format::Ndjson => String::new(),
        Format::Csv | Format::Zip => ENCOUNTERS_CSV_HEAD.into(),
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
    Ok(download(receiver, format, guild_id))
}

/// The response of a streamed export: the chunks as they come, as an attachment.
fn download(
    receiver: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    format: Format,
    guild_id: i64,
) -> Response {
    let body =
        futures::stream::unfold(
            receiver,
            |mut chunks| async move { chunks.recv().await.map(|c| (c, chunks)) },
        );
    let (content_type, extension) = match format {
        Format::Json => ("application/json", "json"),
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Zip => ("application/zip", "zip"),
    };
    let mut response = Body::from_stream(body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert("x-guild-id", HeaderValue::from(guild_id));
    attachment(&mut response, &format!("encounters-guild-{guild_id}.{extension}"));
    response
}

/// Fights per page of a full export: each page is its fights' query, then their players',
/// deaths' and rounds' (one query at a time: a full export holds one query slot).
const FULL_PAGE: i64 = 200;

/// A full export, read a page of fights at a time.
struct FullPages {
    db: GuildDb,
    filter: EncounterFilter,
    resume: Resume,
}

impl FullPages {
    /// The export's chunks (a page each), produced by a task that stops when the reader
    /// stalls for `stall` or goes away.
    fn stream(
        mut self,
        format: Format,
        guild_id: i64,
        guild_name: String,
        stall: std::time::Duration,
    ) -> tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>> {
        let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_BUFFER);
        tokio::spawn(async move {
            let send =
                |chunk| async { matches!(tokio::time::timeout(stall, sender.send(chunk)).await, Ok(Ok(()))) };
            let mut chunk = match format {
                Format::Json => format!(
                    "{{\"guild_id\":{guild_id},\"guild_name\":{},\"encounters\":[",
                    serde_json::to_string(&guild_name).unwrap_or_default()
                )
                .into_bytes(),
                Format::Ndjson | Format::Zip => Vec::new(),
                Format::Csv => FULL_CSV_HEAD.as_bytes().to_vec(),
            };
            let mut first = true;
            loop {
                let (page, last) = match self.next_streamed(guild_id, Parts::ALL).await {
                    Ok(page) => page,
                    Err(error) => {
                        let _ = send(Err(error)).await;
                        return;
                    }
                };
                for fight in &page {
                    let written = match format {
                        Format::Json => {
                            if !first {
                                chunk.push(b',');
                            }
                            serde_json::to_writer(&mut chunk, fight)
                        }
                        Format::Ndjson => serde_json::to_writer(
                            &mut chunk,
                            &Guilded { guild_id, guild_name: guild_name.clone(), data: fight },
                        )
                        .map(|()| chunk.push(b'\n')),
                        Format::Csv | Format::Zip => {
                            let written = player_rows(&mut chunk, guild_id, fight);
                            if let Err(error) = written {
                                let _ = send(Err(error)).await;
                                return;
                            }
                            Ok(())
                        }
                    };
                    if let Err(error) = written {
                        let _ = send(Err(error.into())).await;
                        return;
                    }
                    first = false;
                }
                if last && format == Format::Json {
                    chunk.extend_from_slice(b"]}");
                }
                if !send(Ok(Bytes::from(std::mem::take(&mut chunk)))).await || last {
                    return;
                }
            }
        });
        receiver
    }

    /// Everything as a zip of one CSV per table, streamed: one pass over the pages per
    /// table (a zip's entries follow each other), each reading only what its table needs
    /// ([`ZipTable::parts`]), each page's rows compressed and sent as they are written.
    fn zip(
        mut self,
        guild_id: i64,
        stall: std::time::Duration,
    ) -> tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>> {
        let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_BUFFER);
        tokio::spawn(async move {
            let send =
                |chunk| async { matches!(tokio::time::timeout(stall, sender.send(chunk)).await, Ok(Ok(()))) };
            let out = Drained::default();
            let mut zip = zip::ZipWriter::new_stream(out.clone());
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true);
            let start = self.resume;
            for table in ZipTable::ALL {
                self.resume = start;
                let begun = zip
                    .start_file(table.file(), options)
                    .map_err(std::io::Error::other)
                    .and_then(|()| std::io::Write::write_all(&mut zip, table.head().as_bytes()));
                if let Err(error) = begun {
                    let _ = send(Err(error)).await;
                    return;
                }
                loop {
                    let (page, last) = match self.next_streamed(guild_id, table.parts()).await {
                        Ok(page) => page,
                        Err(error) => {
                            let _ = send(Err(error)).await;
                            return;
                        }
                    };
                    let mut rows = Vec::new();
                    let written = page.iter().try_for_each(|fight| table.rows(&mut rows, guild_id, fight));
                    if let Err(error) = written.and_then(|()| std::io::Write::write_all(&mut zip, &rows)) {
                        let _ = send(Err(error)).await;
                        return;
                    }
                    if !send(Ok(out.take())).await {
                        return;
                    }
                    if last {
                        break;
                    }
                }
            }
            if let Err(error) = zip.finish() {
                let _ = send(Err(std::io::Error::other(error))).await;
                return;
            }
            let _ = send(Ok(out.take())).await;
        });
        receiver
    }

    /// [`Self::next_page`] for a stream: the page and whether it is the last, or the
    /// error to end the stream with (logged).
    async fn next_streamed(
        &mut self,
        guild_id: i64,
        parts: Parts,
    ) -> Result<(Vec<FullEncounter>, bool), std::io::Error> {
        match self.next_page(parts).await {
            Ok(page) => {
                let last = (page.len() as i64) < FULL_PAGE;
                Ok((page, last))
            }
            Err(error) => {
                tracing::error!(guild_id, error = %error.message, "export: reading ClickHouse failed mid-stream");
                Err(std::io::Error::other(error.message))
            }
        }
    }

    /// The next page of fights, each with its players, deaths and rounds.
    async fn next_page(&mut self, parts: Parts) -> Result<Vec<FullEncounter>, ApiError> {
        let sql = fights_sql(&self.filter, self.resume)?.bind("LIMIT ?", FULL_PAGE);
        let fights = self.db.all::<EncounterRow>(&sql).await?;
        if let Some(last) = fights.last() {
            self.resume = Some((last.start_ms, last.fight_id));
        }
        full_fights(&self.db, fights, parts).await
    }
}

/// The header of a full CSV export: the fight's columns, then the player's.
const FULL_CSV_HEAD: &str = "guild_id,id,log_id,kind,name,encounter_id,difficulty,outcome,complete,start,\
duration_ms,key_level,player_guid,player,class,spec_id,item_level,damage_done,healing_done,overhealing,\
absorbs_done,damage_taken,deaths,casts,dps,hps,interrupts,dispels\n";

/// The tables of a zip export, in the order of its entries.
#[derive(Debug, Clone, Copy)]
enum ZipTable {
    Encounters,
    Players,
    Deaths,
    Rounds,
}

impl ZipTable {
    const ALL: [ZipTable; 4] = [ZipTable::Encounters, ZipTable::Players, ZipTable::Deaths, ZipTable::Rounds];

    fn file(self) -> &'static str {
        match self {
            ZipTable::Encounters => "encounters.csv",
            ZipTable::Players => "players.csv",
            ZipTable::Deaths => "deaths.csv",
            ZipTable::Rounds => "rounds.csv",
        }
    }

    /// What of each fight this table's pass reads (the rounds for their own players
    /// and deaths too).
    fn parts(self) -> Parts {
        match self {
            ZipTable::Encounters => Parts { rounds: false, players: false, deaths: false },
            ZipTable::Players => Parts { rounds: true, players: true, deaths: false },
            ZipTable::Deaths => Parts { rounds: true, players: false, deaths: true },
            ZipTable::Rounds => Parts { rounds: true, players: false, deaths: false },
        }
    }

    fn head(self) -> &'static str {
        match self {
            ZipTable::Encounters => ENCOUNTERS_CSV_HEAD,
            ZipTable::Players => FULL_CSV_HEAD,
            ZipTable::Deaths => DEATHS_CSV_HEAD,
            ZipTable::Rounds => ROUNDS_CSV_HEAD,
        }
    }

    /// The fight's rows of this table.
    fn rows(self, out: &mut Vec<u8>, guild_id: i64, fight: &FullEncounter) -> Result<(), std::io::Error> {
        match self {
            ZipTable::Encounters => write_row(out, Format::Csv, guild_id, "", &fight.fight.encounter, true),
            ZipTable::Players => player_rows(out, guild_id, fight),
            ZipTable::Deaths => {
                let mut csv = csv::WriterBuilder::new().has_headers(false).from_writer(&mut *out);
                for (of, d) in fight.fights().flat_map(|f| f.deaths.iter().map(move |d| (f, d))) {
                    csv.write_record([
                        guild_id.to_string(),
                        of.encounter.id.clone(),
                        d.line.to_string(),
                        d.timestamp_ms.to_string(),
                        d.fight_time_ms.to_string(),
                        d.player_guid.clone(),
                        d.player_name.clone(),
                        d.ability.clone(),
                        d.spell_id.map(|v| v.to_string()).unwrap_or_default(),
                        d.source_guid.clone(),
                        d.source_name.clone(),
                        d.amount.to_string(),
                        d.overkill.to_string(),
                    ])?;
                }
                csv.flush()
            }
            ZipTable::Rounds => {
                for round in &fight.rounds {
                    out.extend_from_slice(fight.fight.encounter.id.as_bytes());
                    out.push(b',');
                    write_row(out, Format::Csv, guild_id, "", &round.encounter, true)?;
                }
                Ok(())
            }
        }
    }
}

/// The header of a zip export's deaths.
const DEATHS_CSV_HEAD: &str = "guild_id,encounter_id,line,timestamp_ms,fight_time_ms,player_guid,player,\
ability,spell_id,source_guid,source,amount,overkill\n";

/// The header of a zip export's Solo Shuffle rounds: the match, then the round as a fight.
const ROUNDS_CSV_HEAD: &str = "match_id,guild_id,id,log_id,kind,name,encounter_id,difficulty,outcome,complete,\
start,duration_ms,key_level\n";

/// What a zip writer wrote, taken a page at a time (the writer needs a `Write` it owns).
#[derive(Debug, Clone, Default)]
struct Drained(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Drained {
    /// The bytes written since the last take.
    fn take(&self) -> Bytes {
        Bytes::from(std::mem::take(&mut *self.0.lock().expect("zip buffer lock")))
    }
}

impl std::io::Write for Drained {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("zip buffer lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl FullEncounter {
    /// The fight, then its rounds.
    fn fights(&self) -> impl Iterator<Item = &FullFight> {
        std::iter::once(&self.fight).chain(&self.rounds)
    }
}

/// A fight's players (and its rounds') as rows of a full CSV export, each after its
/// fight's (or round's) cells.
fn player_rows(out: &mut Vec<u8>, guild_id: i64, fight: &FullEncounter) -> Result<(), std::io::Error> {
    let mut csv = csv::WriterBuilder::new().has_headers(false).from_writer(&mut *out);
    let optional = |v: Option<String>| v.unwrap_or_default();
    for (of, p) in fight.fights().flat_map(|f| f.players.iter().map(move |p| (f, p))) {
        let cells = fight_cells(guild_id, &of.encounter);
        let player = [
            p.player_guid.clone(),
            p.name.clone(),
            p.class.clone(),
            optional(p.spec_id.map(|v| v.to_string())),
            optional(p.item_level.map(|v| format!("{v:.1}"))),
            p.damage_done.to_string(),
            p.healing_done.to_string(),
            p.overhealing.to_string(),
            p.absorbs_done.to_string(),
            p.damage_taken.to_string(),
            p.deaths.to_string(),
            p.casts.to_string(),
            format!("{:.1}", p.dps),
            format!("{:.1}", p.hps),
            p.interrupts.to_string(),
            p.dispels.to_string(),
        ];
        csv.write_record(cells.iter().chain(&player))?;
    }
    csv.flush()
}

/// Which parts of a page's fights to read (a zip's pass writes one table and reads what
/// it needs; the others stay empty).
#[derive(Debug, Clone, Copy)]
struct Parts {
    rounds: bool,
    players: bool,
    deaths: bool,
}

impl Parts {
    const ALL: Parts = Parts { rounds: true, players: true, deaths: true };
}

/// Fights with their rounds, and the players and deaths of both (those of `parts`): up
/// to three queries for the whole page (by the page's logs and first lines, a superset
/// narrowed to each fight's own here; the rounds first, since their players and deaths
/// are read with the fights').
async fn full_fights(
    db: &GuildDb,
    fights: Vec<EncounterRow>,
    parts: Parts,
) -> Result<Vec<FullEncounter>, ApiError> {
    use std::collections::HashMap;
    if fights.is_empty() {
        return Ok(Vec::new());
    }
    let sorted = |mut ids: Vec<i64>| {
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let logs = sorted(fights.iter().map(|f| f.log_id).collect());
    let fight_starts = sorted(fights.iter().map(|f| f.start_line).collect());
    let rounds =
        if parts.rounds && fights.iter().any(|f| FightKind::from_code(f.kind) == Some(FightKind::Arena)) {
            db.all::<EncounterRow>(
                &Sql::new("SELECT")
                    .push(EncounterRow::SELECT)
                    .push("FROM encounters FINAL WHERE {guild}")
                    .bind("AND has(?, log_id)", logs.clone())
                    .bind("AND has(?, parent_start_line)", fight_starts.clone())
                    .push("AND round IS NOT NULL ORDER BY log_id, parent_start_line, round"),
            )
            .await?
        } else {
            Vec::new()
        };
    let starts = sorted(fight_starts.into_iter().chain(rounds.iter().map(|r| r.start_line)).collect());
    let players = if parts.players {
        db.all::<PlayerLine>(
            &Sql::new(PLAYERS)
                .bind("AND has(?, log_id)", logs.clone())
                .bind("AND has(?, start_line)", starts.clone())
                .push("ORDER BY log_id, start_line, damage_done DESC, player_guid"),
        )
        .await?
    } else {
        Vec::new()
    };
    let deaths = if parts.deaths {
        db.all::<DeathLine>(
            &Sql::new(DEATHS)
                .bind("AND has(?, log_id)", logs)
                .bind("AND has(?, start_line)", starts)
                .push("ORDER BY log_id, start_line, line, player_guid"),
        )
        .await?
    } else {
        Vec::new()
    };
    let mut players_of: HashMap<(i64, i64), Vec<PlayerLine>> = HashMap::new();
    for p in players {
        players_of.entry((p.log_id, p.start_line)).or_default().push(p);
    }
    let mut deaths_of: HashMap<(i64, i64), Vec<DeathLine>> = HashMap::new();
    for d in deaths {
        deaths_of.entry((d.log_id, d.start_line)).or_default().push(d);
    }
    let mut full = |f: EncounterRow| {
        let key = (f.log_id, f.start_line);
        FullFight {
            start_line: f.start_line,
            end_line: f.end_line,
            parent_start_line: f.parent_start_line,
            players: players_of.remove(&key).unwrap_or_default(),
            deaths: deaths_of.remove(&key).unwrap_or_default(),
            encounter: Encounter::from(f),
        }
    };
    let mut rounds_of: HashMap<(i64, i64), Vec<FullFight>> = HashMap::new();
    for r in rounds {
        if let Some(parent) = r.parent_start_line {
            rounds_of.entry((r.log_id, parent)).or_default().push(full(r));
        }
    }
    Ok(fights
        .into_iter()
        .map(|f| {
            let rounds = rounds_of.remove(&(f.log_id, f.start_line)).unwrap_or_default();
            FullEncounter { fight: full(f), rounds }
        })
        .collect())
}

/// The header of the fights' CSV.
const ENCOUNTERS_CSV_HEAD: &str =
    "guild_id,id,log_id,kind,name,encounter_id,difficulty,outcome,complete,start,duration_ms,key_level\n";

/// A fight's cells in a CSV row ([`ENCOUNTERS_CSV_HEAD`]; a full export's player rows
/// start with them too).
fn fight_cells(guild_id: i64, e: &Encounter) -> [String; 12] {
    let optional = |v: Option<String>| v.unwrap_or_default();
    [
        guild_id.to_string(),
        e.id.clone(),
        e.log_id.clone(),
        e.kind.to_string(),
        e.name.clone(),
        optional(e.encounter_id.map(|v| v.to_string())),
        optional(e.difficulty.map(|v| v.to_string())),
        e.outcome.unwrap_or("").to_string(),
        e.complete.to_string(),
        e.start.clone(),
        e.duration_ms.to_string(),
        optional(e.key_level.map(|v| v.to_string())),
    ]
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
        Format::Csv | Format::Zip => {
            let mut csv = csv::WriterBuilder::new().has_headers(false).from_writer(&mut *out);
            csv.write_record(fight_cells(guild_id, e))?;
            csv.flush()?;
        }
    }
    Ok(())
}
