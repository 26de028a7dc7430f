//! `/api/v1/encounters`: the guild's fights, searched, summed up, in detail and exported.

use super::{Guilded, Paged, attachment, cached, guilded, json, kind_of, outcome, paged};
use crate::auth::{Query, Scope};
use crate::params::{Page, Params, PathId, Validate, instant, rfc3339, text};
use crate::scope::Freshness;
use crate::scope::{GuildDb, Sql};
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;
use wowlogs_store::rows::{EncounterRow, TableRow};

/// A fight.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Encounter {
    /// Stable fight id (a decimal string: it exceeds JavaScript's safe integers).
    pub id: String,
    pub log_id: String,
    pub upload_id: String,
    /// `encounter`, `challenge_mode` or `arena`.
    pub kind: &'static str,
    /// Boss, dungeon or arena.
    pub name: String,
    pub encounter_id: Option<i32>,
    pub difficulty: Option<i32>,
    pub group_size: Option<i32>,
    pub instance_id: Option<i32>,
    /// Kill, timed run or won match; null when the log cannot tell.
    pub kill: Option<bool>,
    /// `kill`/`wipe`, `timed`/`depleted` or `win`/`loss`.
    pub outcome: Option<&'static str>,
    /// False when the log ended before the fight did.
    pub complete: bool,
    pub start: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub key_level: Option<i32>,
    pub affixes: Vec<i32>,
    pub match_type: Option<String>,
}

impl From<EncounterRow> for Encounter {
    fn from(r: EncounterRow) -> Self {
        Encounter {
            id: r.fight_id.to_string(),
            log_id: r.log_id.to_string(),
            upload_id: r.upload_id,
            kind: kind_of(r.kind),
            outcome: outcome(r.kind, r.kill),
            kill: r.kill.map(|k| k == 1),
            name: r.name,
            encounter_id: r.encounter_id,
            difficulty: r.difficulty,
            group_size: r.group_size,
            instance_id: r.instance_id,
            complete: r.complete == 1,
            start: rfc3339(r.start_ms),
            start_ms: r.start_ms,
            end_ms: r.end_ms,
            duration_ms: r.duration_ms,
            key_level: r.key_level,
            affixes: r.affixes,
            match_type: (!r.match_type.is_empty()).then_some(r.match_type),
        }
    }
}

/// Kinds of fight.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Encounter,
    ChallengeMode,
    Arena,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Encounter => "encounter",
            Kind::ChallengeMode => "challenge_mode",
            Kind::Arena => "arena",
        }
    }
}

/// Kill or wipe (timed or depleted, won or lost).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Kill,
    Wipe,
}

/// Filters of the encounter list and export.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EncounterFilter {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page (default 50, at most 500).
    pub per_page: Option<u32>,
    /// Exact boss (or dungeon, arena) name.
    pub boss: Option<String>,
    /// The game's encounter id.
    pub encounter_id: Option<i32>,
    /// Difficulty id (e.g. 16 Mythic raid).
    pub difficulty: Option<i32>,
    #[param(inline)]
    pub kind: Option<Kind>,
    #[param(inline)]
    pub outcome: Option<Outcome>,
    /// Fights starting at or after: RFC 3339, a date or Unix milliseconds.
    pub from: Option<String>,
    /// Fights starting before: RFC 3339, a date or Unix milliseconds.
    pub to: Option<String>,
    /// Only this log's fights.
    pub log_id: Option<i64>,
}

impl EncounterFilter {
    fn page(&self) -> Page {
        Page { page: self.page, per_page: self.per_page }
    }

    /// `WHERE` conditions after the guild's.
    fn apply(&self, sql: Sql) -> Result<Sql, ApiError> {
        let sql = sql
            .and("AND name = ?", self.boss.clone())
            .and("AND encounter_id = ?", self.encounter_id)
            .and("AND difficulty = ?", self.difficulty)
            .and("AND kind = ?", self.kind.map(Kind::as_str))
            .and("AND start_ms >= ?", instant("from", &self.from)?)
            .and("AND start_ms < ?", instant("to", &self.to)?)
            .and("AND log_id = ?", self.log_id);
        Ok(match self.outcome {
            Some(Outcome::Kill) => sql.push("AND ifNull(kill, 2) = 1"),
            Some(Outcome::Wipe) => sql.push("AND ifNull(kill, 2) = 0"),
            None => sql,
        })
    }
}

impl Validate for EncounterFilter {
    fn validate(&self) -> Result<(), ApiError> {
        self.page().validate()?;
        text("boss", &self.boss)?;
        let (from, to) = (instant("from", &self.from)?, instant("to", &self.to)?);
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(ApiError::bad_request("`from` must be before `to`"));
        }
        Ok(())
    }
}

/// A page of fights, newest first.
async fn page_of(db: &GuildDb, filter: &EncounterFilter) -> Result<Paged<Encounter>, ApiError> {
    let count = filter.apply(Sql::new("SELECT count() AS n FROM encounters FINAL WHERE {guild}"))?;
    let rows = filter
        .apply(Sql::new("SELECT").push(EncounterRow::SELECT).push("FROM encounters FINAL WHERE {guild}"))?
        .push("ORDER BY start_ms DESC, fight_id");
    paged::<EncounterRow, _>(db, &filter.page(), count, rows, Encounter::from).await
}

/// List the guild's fights, newest first, with filters.
#[utoipa::path(
    get, path = "/api/v1/encounters", tag = "encounters",
    params(EncounterFilter),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "A page of fights", body = Guilded<Paged<Encounter>>),
        (status = 400, description = "Invalid filter"), (status = 401, description = "Missing or invalid key"),
        (status = 403, description = "The key lacks `query`"), (status = 429, description = "Rate limited"),
    )
)]
pub async fn list(
    scope: Scope<Query>,
    uri: Uri,
    Params(filter): Params<EncounterFilter>,
) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Live, &uri, async { guilded(&scope, page_of(&scope.db, &filter).await?) }).await
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
    /// Items per page (default 50, at most 500).
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
        (status = 200, description = "Matching fights, newest first", body = Guilded<Paged<Encounter>>),
        (status = 400, description = "Missing or invalid `boss_name`"),
    )
)]
pub async fn search(
    scope: Scope<Query>,
    uri: Uri,
    Params(params): Params<SearchParams>,
) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Live, &uri, async {
        let page = Page { page: params.page, per_page: params.per_page };
        let matching =
            |sql: Sql| sql.bind("AND positionCaseInsensitiveUTF8(name, ?) > 0", params.boss_name.trim());
        let count = matching(Sql::new("SELECT count() AS n FROM encounters FINAL WHERE {guild}"));
        let rows = matching(
            Sql::new("SELECT").push(EncounterRow::SELECT).push("FROM encounters FINAL WHERE {guild}"),
        )
        .push("ORDER BY start_ms DESC, fight_id");
        guilded(&scope, paged::<EncounterRow, _>(&scope.db, &page, count, rows, Encounter::from).await?)
    })
    .await
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct FightTotals {
    encounters: u64,
    kills: u64,
    wipes: u64,
    unique_bosses: u64,
    logs: u64,
    time_ms: i64,
    last_ms: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct CharacterTotals {
    characters: u64,
    active: u64,
}

/// The guild's totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    /// Fights of every kind.
    pub encounters: u64,
    pub kills: u64,
    /// Fights not won (wipes, incomplete fights, depleted keys, lost matches).
    pub wipes: u64,
    /// Distinct bosses fought (raid and dungeon bosses, not arenas or keys).
    pub unique_bosses: u64,
    pub logs: u64,
    /// Named characters seen in any log.
    pub characters: u64,
    /// Characters seen in fights of the 30 days before the last activity.
    pub active_characters: u64,
    pub time_in_combat_ms: i64,
    /// When the last fight ended (null with no fights).
    pub last_activity: Option<String>,
}

const DAY_MS: i64 = 86_400_000;

/// Totals over the guild's fights and characters.
#[utoipa::path(
    get, path = "/api/v1/encounters/stats", tag = "encounters",
    security(("bearer" = ["query"])),
    responses((status = 200, description = "Totals", body = Guilded<Stats>))
)]
pub async fn stats(scope: Scope<Query>, uri: Uri) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Live, &uri, async {
        let fights = scope
            .db
            .first::<FightTotals>(&Sql::new(
                "SELECT count() AS encounters, countIf(ifNull(kill, 2) = 1) AS kills, \
                 countIf(ifNull(kill, 2) != 1) AS wipes, uniqExactIf(name, kind = 'encounter') AS unique_bosses, \
                 uniqExact(log_id) AS logs, sum(duration_ms) AS time_ms, max(end_ms) AS last_ms \
                 FROM encounters FINAL WHERE {guild}",
            ))
            .await?
            .ok_or_else(|| ApiError::internal("an aggregate returned no row"))?;
        let since = fights.last_ms - 30 * DAY_MS;
        let characters = scope
            .db
            .first::<CharacterTotals>(
                &Sql::new(
                    "SELECT uniqExact(player_guid) AS characters, uniqExactIf(player_guid, last_seen_ms >= ?) AS active \
                     FROM character_logs FINAL WHERE {guild} AND name != ''",
                )
                .value(since),
            )
            .await?
            .ok_or_else(|| ApiError::internal("an aggregate returned no row"))?;
        let stats = Stats {
            encounters: fights.encounters,
            kills: fights.kills,
            wipes: fights.wipes,
            unique_bosses: fights.unique_bosses,
            logs: fights.logs,
            characters: characters.characters,
            active_characters: if fights.encounters == 0 { 0 } else { characters.active },
            time_in_combat_ms: fights.time_ms,
            last_activity: (fights.encounters > 0).then(|| rfc3339(fights.last_ms)),
        };
        guilded(&scope, stats)
    })
    .await
}

/// One player's numbers in a fight.
#[derive(Debug, Clone, clickhouse::Row, Deserialize, Serialize, ToSchema)]
pub struct PlayerLine {
    pub player_guid: String,
    pub name: String,
    pub class: String,
    pub spec_id: Option<i32>,
    pub item_level: Option<f64>,
    pub damage_done: i64,
    pub healing_done: i64,
    pub overhealing: i64,
    pub absorbs_done: i64,
    pub damage_taken: i64,
    pub deaths: i64,
    pub casts: i64,
    pub dps: f64,
    pub hps: f64,
}

/// A player death and its killing blow.
#[derive(Debug, Clone, clickhouse::Row, Deserialize, Serialize, ToSchema)]
pub struct DeathLine {
    pub line: i64,
    pub timestamp_ms: i64,
    /// Milliseconds since the pull.
    pub fight_time_ms: i64,
    pub player_guid: String,
    pub player_name: String,
    /// What killed the player (spell, `Melee`, `Falling`, ...).
    pub ability: String,
    pub spell_id: Option<i32>,
    pub source_guid: String,
    pub source_name: String,
    pub amount: i64,
    pub overkill: i64,
}

/// A fight with every player's numbers and the death recap.
#[derive(Debug, Serialize, ToSchema)]
pub struct EncounterDetail {
    pub encounter: Encounter,
    /// By damage done, highest first.
    pub players: Vec<PlayerLine>,
    /// In order.
    pub deaths: Vec<DeathLine>,
}

/// The fight with this id, if it is the guild's: anything else is 404 (never echoing
/// the id), whether it
/// exists for another guild or not at all.
async fn detail_of(db: &GuildDb, id: &str) -> Result<EncounterDetail, ApiError> {
    let not_found = || ApiError::not_found("no such encounter in this guild");
    let fight_id: i64 =
        id.parse().map_err(|_| ApiError::bad_request("an encounter id is a decimal integer"))?;
    let record = db
        .first::<EncounterRow>(
            &Sql::new("SELECT")
                .push(EncounterRow::SELECT)
                .push("FROM encounters FINAL WHERE {guild}")
                .bind("AND fight_id = ?", fight_id),
        )
        .await?
        .ok_or_else(not_found)?;
    let players = db
        .all::<PlayerLine>(
            &Sql::new(
                "SELECT player_guid, name, class, spec_id, item_level, damage_done, healing_done, overhealing, \
                 absorbs_done, damage_taken, deaths, casts, dps, hps FROM encounter_players FINAL WHERE {guild}",
            )
            .bind("AND log_id = ?", record.log_id)
            .bind("AND start_line = ?", record.start_line)
            .push("ORDER BY damage_done DESC, player_guid"),
        )
        .await?;
    let deaths = db
        .all::<DeathLine>(
            &Sql::new(
                "SELECT line, timestamp_ms, fight_time_ms, player_guid, player_name, ability, spell_id, source_guid, \
                 source_name, amount, overkill FROM encounter_deaths FINAL WHERE {guild}",
            )
            .bind("AND log_id = ?", record.log_id)
            .bind("AND start_line = ?", record.start_line)
            .push("ORDER BY line, player_guid"),
        )
        .await?;
    Ok(EncounterDetail { encounter: record.into(), players, deaths })
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
pub async fn detail(scope: Scope<Query>, uri: Uri, PathId(id): PathId<String>) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Settled, &uri, async { guilded(&scope, detail_of(&scope.db, &id).await?) })
        .await
}

/// Export formats.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    Ndjson,
    Csv,
}

/// Export format of one fight.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FightExport {
    /// `json` (the fight, players and deaths) or `csv` (one row per player).
    #[param(inline)]
    pub format: Option<Format>,
}

impl Validate for FightExport {
    fn validate(&self) -> Result<(), ApiError> {
        match self.format {
            Some(Format::Ndjson) => Err(ApiError::bad_request("one fight exports as `json` or `csv`")),
            _ => Ok(()),
        }
    }
}

/// One fight as a download: JSON, or CSV with one row per player.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}/export", tag = "encounters",
    params(("id" = String, Path, description = "Encounter id"), FightExport),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The fight as an attachment", content((EncounterDetail = "application/json"), (String = "text/csv"))),
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
        Format::Csv => {
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

/// Every fight matching the filters, streamed as it is read (constant memory however
/// many there are): a JSON document, NDJSON (one fight per line, each with the guild) or
/// CSV.
#[utoipa::path(
    get, path = "/api/v1/encounters/export", tag = "encounters",
    params(ExportParams),
    security(("bearer" = ["query"])),
    responses((status = 200, description = "Streamed fights", content((String = "application/json"), (String = "application/x-ndjson"), (String = "text/csv"))))
)]
pub async fn export(scope: Scope<Query>, Params(params): Params<ExportParams>) -> Result<Response, ApiError> {
    let format = params.format.unwrap_or_default();
    let sql = params
        .filter()
        .apply(Sql::new("SELECT").push(EncounterRow::SELECT).push("FROM encounters FINAL WHERE {guild}"))?
        .push("ORDER BY start_ms, fight_id");
    let cursor = scope.db.cursor::<EncounterRow>(&sql)?;
    let (guild_id, guild_name) = (scope.guild_id(), scope.guild_name().to_string());
    let head = match format {
        Format::Json => format!(
            "{{\"guild_id\":{guild_id},\"guild_name\":{},\"encounters\":[",
            serde_json::to_string(&guild_name).map_err(ApiError::internal)?
        ),
        Format::Ndjson => String::new(),
        Format::Csv => "guild_id,id,log_id,kind,name,encounter_id,difficulty,outcome,complete,start,duration_ms,key_level\n".into(),
    };
    struct Export {
        cursor: clickhouse::query::RowCursor<EncounterRow>,
        first: bool,
        done: bool,
    }
    let state = Export { cursor, first: true, done: false };
    let rows = futures::stream::unfold(state, move |mut state| {
        let guild_name = guild_name.clone();
        async move {
            if state.done {
                return None;
            }
            let mut chunk = Vec::with_capacity(EXPORT_CHUNK * 256);
            for _ in 0..EXPORT_CHUNK {
                match state.cursor.next().await {
                    Ok(Some(record)) => {
                        let encounter = Encounter::from(record);
                        if let Err(error) =
                            write_row(&mut chunk, format, guild_id, &guild_name, &encounter, state.first)
                        {
                            return Some((Err(error), Export { done: true, ..state }));
                        }
                        state.first = false;
                    }
                    Ok(None) => {
                        state.done = true;
                        if format == Format::Json {
                            chunk.extend_from_slice(b"]}");
                        }
                        break;
                    }
                    Err(error) => {
                        tracing::error!(%error, "export: reading ClickHouse failed mid-stream");
                        return Some((Err(std::io::Error::other(error)), Export { done: true, ..state }));
                    }
                }
            }
            Some((Ok(Bytes::from(chunk)), state))
        }
    });
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) }).chain(rows);
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

/// Routes of this module, for the router and the OpenAPI document.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    // `/search`, `/stats` and `/export` before `/{id}` (axum prefers static segments anyway).
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(search))
        .routes(utoipa_axum::routes!(stats))
        .routes(utoipa_axum::routes!(export))
        .routes(utoipa_axum::routes!(detail))
        .routes(utoipa_axum::routes!(export_one))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wowlogs_store::rows::TableRow;

    #[test]
    fn the_selected_columns_are_the_row_types_in_order() {
        let names: Vec<&str> = EncounterRow::COLUMNS.iter().map(|(name, _)| *name).collect();
        let selected: Vec<&str> = EncounterRow::SELECT.split(',').map(str::trim).collect();
        assert_eq!(selected, names);
    }
}
