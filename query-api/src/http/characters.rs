//! `/api/v1/characters`: everyone the guild's logs have seen, and each one's history.

use super::answer::{Guilded, GuildedPage, cached, guilded, guilded_page, kind_of, outcome, paged};
use crate::auth::{Query, Scope};
use crate::folds::{CHARACTER_COLUMNS, CharacterRecord};
use crate::params::{DayZone, Page, Params, PathId, Validate, rfc3339, text};
use crate::scope::Freshness;
use crate::scope::Sql;
use crate::state::AppState;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;

/// A page of characters.
#[derive(Debug, Serialize, ToSchema)]
pub struct CharacterList {
    pub characters: Vec<Character>,
    /// Characters matching the filters, over all pages.
    pub total: u64,
}

/// A character.
#[derive(Debug, Serialize, ToSchema)]
pub struct Character {
    pub player_guid: String,
    /// `Name-Realm-Region` as the log writes it.
    pub name: String,
    pub class: String,
    pub spec_id: Option<i32>,
    /// Latest known mean item level.
    pub item_level: Option<f64>,
    pub first_seen: String,
    pub last_seen: String,
    pub logs: u64,
    pub fights: i64,
}

impl From<CharacterRecord> for Character {
    fn from(r: CharacterRecord) -> Self {
        Character {
            player_guid: r.player_guid,
            name: r.latest_name,
            class: r.latest_class,
            spec_id: r.latest_spec_id,
            item_level: r.latest_item_level,
            first_seen: rfc3339(r.earliest_seen_ms),
            last_seen: rfc3339(r.latest_seen_ms),
            logs: r.logs,
            fights: r.fights,
        }
    }
}

/// Character list filters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CharacterFilter {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page (default 50, at most 500); `limit` is another name for it.
    #[serde(alias = "limit")]
    pub per_page: Option<u32>,
    /// Part of the name, any case.
    pub name: Option<String>,
    /// Class, as the log writes it (e.g. `MAGE`).
    pub class: Option<String>,
}

impl Validate for CharacterFilter {
    fn validate(&self) -> Result<(), ApiError> {
        Page { page: self.page, per_page: self.per_page }.validate()?;
        text("name", &self.name)?;
        text("class", &self.class)
    }
}

/// The guild's characters (those the log names), most recently seen first.
#[utoipa::path(
    get, path = "/api/v1/characters", tag = "characters",
    params(CharacterFilter),
    security(("bearer" = ["query"])),
    responses((status = 200, description = "A page of characters", body = GuildedPage<CharacterList>))
)]
pub async fn list(
    scope: Scope<Query>,
    Params(filter): Params<CharacterFilter>,
) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Live, ("characters", &filter), async {
        let page = Page { page: filter.page, per_page: filter.per_page };
        let filtered = |sql: Sql| {
            sql.push("AND name != ''")
                .and("AND positionCaseInsensitiveUTF8(name, ?) > 0", filter.name.clone())
                .and("AND class = ?", filter.class.clone())
        };
        let count =
            filtered(Sql::new("SELECT uniqExact(player_guid) AS n FROM character_logs FINAL WHERE {guild}"));
        let rows = filtered(
            Sql::new("SELECT").push(CHARACTER_COLUMNS).push("FROM character_logs FINAL WHERE {guild}"),
        )
        .push("GROUP BY player_guid ORDER BY latest_seen_ms DESC, player_guid");
        let page = paged::<CharacterRecord, _>(&scope.db, &page, count, rows, Character::from).await?;
        guilded_page(&scope, page, |characters, total| CharacterList { characters, total })
    })
    .await
}

/// One fight of a character.
#[derive(Debug, clickhouse::Row, Deserialize, Serialize, ToSchema)]
pub struct CharacterFight {
    #[serde(skip_serializing)]
    fight_id: i64,
    #[serde(skip_serializing)]
    kind_value: i8,
    #[serde(skip_serializing)]
    kill_value: Option<u8>,
    pub boss: String,
    pub difficulty: Option<i32>,
    pub start_ms: i64,
    pub duration_ms: i64,
    pub spec_id: Option<i32>,
    pub item_level: Option<f64>,
    pub damage_done: i64,
    pub healing_done: i64,
    pub damage_taken: i64,
    pub deaths: i64,
    pub dps: f64,
    pub hps: f64,
}

/// A fight in a character's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// The encounter id (`/api/v1/encounters/{id}`).
    pub encounter: String,
    pub kind: &'static str,
    pub outcome: Option<&'static str>,
    pub start: String,
    #[serde(flatten)]
    pub numbers: CharacterFight,
}

/// Item level on one day.
#[derive(Debug, clickhouse::Row, Deserialize, Serialize, ToSchema)]
pub struct ItemLevelPoint {
    /// `YYYY-MM-DD`, the day of the fights (a date in the answer's `timezone`).
    pub day: String,
    pub mean: f64,
    pub max: f64,
    pub fights: u64,
}

/// A character's summary, fights (newest first) and item-level trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct CharacterHistory {
    pub character: Character,
    pub fights: Vec<HistoryEntry>,
    pub item_level_trend: Vec<ItemLevelPoint>,
    /// The time zone the trend's days are dates in: the guild's own (UTC unless set),
    /// or UTC when asked (`?timezone=UTC`).
    pub timezone: String,
}

/// Fights a character history lists.
const HISTORY_FIGHTS: i64 = 500;

/// One character by exact name: per-fight history and item-level trend over time.
#[utoipa::path(
    get, path = "/api/v1/characters/{name}", tag = "characters",
    params(("name" = String, Path, description = "Exact character name, as the log writes it (`Name-Realm-Region`)"), DayZone),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The character's history", body = Guilded<CharacterHistory>),
        (status = 404, description = "No such character in this guild's logs"),
    )
)]
pub async fn detail(
    scope: Scope<Query>,
    PathId(name): PathId<String>,
    Params(zone): Params<DayZone>,
) -> Result<Response, ApiError> {
    text("name", &Some(name.clone()))?;
    cached(&scope, Freshness::Live, ("character", &name, zone.utc()), async {
        let character = scope
            .db
            .first::<CharacterRecord>(
                &Sql::new("SELECT")
                    .push(CHARACTER_COLUMNS)
                    .push("FROM character_logs FINAL WHERE {guild}")
                    .bind("AND name = ?", name.as_str())
                    .push("GROUP BY player_guid ORDER BY latest_seen_ms DESC LIMIT 1"),
            )
            .await?
            .ok_or_else(|| ApiError::not_found("no such character in this guild's logs"))?;
        let fights = scope
            .db
            .all::<CharacterFight>(
                &Sql::new(
                    "SELECT fight_id, kind_value, kill_value, boss, difficulty, start_ms, duration_ms, spec_id, \
                     item_level, damage_done, healing_done, damage_taken, deaths, dps, hps FROM \
                     (SELECT log_id, start_line, spec_id, item_level, damage_done, healing_done, damage_taken, \
                     deaths, dps, hps FROM encounter_players FINAL WHERE {guild} AND player_guid = ?) \
                     ANY INNER JOIN \
                     (SELECT log_id, start_line, fight_id, toInt8(kind) AS kind_value, kill AS kill_value, \
                     name AS boss, difficulty, start_ms, duration_ms FROM encounters FINAL WHERE {guild} AND round IS NULL) \
                     USING (log_id, start_line) ORDER BY start_ms DESC LIMIT ?",
                )
                .value(character.player_guid.as_str())
                .value(HISTORY_FIGHTS),
            )
            .await?;
        let timezone = scope.db.day_zone(&zone).await?;
        let item_level_trend = scope
            .db
            .all::<ItemLevelPoint>(
                &Sql::new(
                    "SELECT toString(toDate(start, ?)) AS day, avg(assumeNotNull(item_level)) AS mean, \
                     max(assumeNotNull(item_level)) AS max, count() AS fights \
                     FROM encounter_players FINAL WHERE {guild} AND player_guid = ? AND isNotNull(item_level) \
                     GROUP BY day ORDER BY day",
                )
                .value(timezone.as_str())
                .value(character.player_guid.as_str()),
            )
            .await?;
        let fights = fights
            .into_iter()
            .map(|f| HistoryEntry {
                encounter: f.fight_id.to_string(),
                kind: kind_of(f.kind_value),
                outcome: outcome(f.kind_value, f.kill_value),
                start: rfc3339(f.start_ms),
                numbers: f,
            })
            .collect();
        guilded(&scope, CharacterHistory { character: character.into(), fights, item_level_trend, timezone })
    })
    .await
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(detail))
}
