//! `/api/v1/encounters`: the guild's fights, searched, summed up, in detail and exported.
//!
//! The answer shapes and filters are here; [`handlers`] answers the requests from
//! [`queries`], and [`export`] streams downloads.

mod breakdown;
mod export;
mod handlers;
mod queries;
mod wipes;

pub use export::{ExportParams, FightExport, Format, FullEncounter, FullFight};
pub use handlers::SearchParams;
pub use queries::{MAX_DETAIL_DEATHS, MAX_DETAIL_PLAYERS, MAX_DETAIL_ROUNDS};
pub use wipes::{DeathWithRecap, Pull, RecapLine};

use super::answer::{kind_of, outcome};
use crate::params::{Page, Validate, instant, rfc3339, text};
use crate::scope::Sql;
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;
use wowlogs_schemas::{FightKind, Named};
use wowlogs_store::rows::EncounterRow;

/// A fight.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Encounter {
    /// Stable fight id (a decimal string: it exceeds JavaScript's safe integers).
    pub id: String,
    pub log_id: String,
    pub upload_id: String,
    /// `encounter`, `challenge_mode`, `arena` or `battleground`.
    pub kind: &'static str,
    /// Boss, dungeon, arena or battleground.
    pub name: String,
    pub encounter_id: Option<i32>,
    pub difficulty: Option<i32>,
    /// The difficulty as players name it (`Mythic`, `Heroic`, `LFR`, `Mythic+`, ...);
    /// null for an id the table does not know.
    pub difficulty_name: Option<&'static str>,
    pub group_size: Option<i32>,
    pub instance_id: Option<i32>,
    /// The zone (`Manaforge Omega`), from the log's zone lines; null when it has none.
    pub zone_name: Option<String>,
    /// Boss fights: the bosses' combined health when the pull ended, in percent of their
    /// maximum (0 on a kill). Null for other fights and when the log cannot tell.
    pub boss_pct: Option<f64>,
    /// Why a boss fight has no `boss_pct`: `advanced_logging_off` (the log has no unit
    /// health), `no_boss_seen`, or `not_computed` (stored before boss health existed:
    /// `wowlogs rebuild encounters` computes it).
    pub boss_pct_missing: Option<String>,
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
    /// A Solo Shuffle round's number (rounds are listed under their match's detail).
    pub round: Option<i32>,
    /// A Solo Shuffle match: the rounds the log owner's side won.
    pub rounds_won: Option<i32>,
}

impl From<EncounterRow> for Encounter {
    fn from(r: EncounterRow) -> Self {
        let boss_pct_missing = wipes::missing(&r);
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
            difficulty_name: r.difficulty.and_then(wowlogs_encounters::difficulty_name),
            group_size: r.group_size,
            instance_id: r.instance_id,
            boss_pct_missing,
            boss_pct: r.boss_pct,
            zone_name: (!r.zone_name.is_empty()).then_some(r.zone_name),
            complete: r.complete == 1,
            start: rfc3339(r.start_ms),
            start_ms: r.start_ms,
            end_ms: r.end_ms,
            duration_ms: r.duration_ms,
            key_level: r.key_level,
            affixes: r.affixes,
            match_type: (!r.match_type.is_empty()).then_some(r.match_type),
            round: r.round,
            rounds_won: r.rounds_won,
        }
    }
}

/// A page of fights.
#[derive(Debug, Serialize, ToSchema)]
pub struct EncounterList {
    pub encounters: Vec<Encounter>,
    /// Fights matching the filters, over all pages.
    pub total: u64,
}

impl EncounterList {
    pub fn of(encounters: Vec<Encounter>, total: u64) -> Self {
        EncounterList { encounters, total }
    }
}

/// Kinds of fight.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Encounter,
    ChallengeMode,
    Arena,
    Battleground,
}

impl Kind {
    /// The contract's name of the kind (the `Enum8` label).
    fn as_str(self) -> &'static str {
        let kind = match self {
            Kind::Encounter => FightKind::Encounter,
            Kind::ChallengeMode => FightKind::ChallengeMode,
            Kind::Arena => FightKind::Arena,
            Kind::Battleground => FightKind::Battleground,
        };
        kind.name()
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
    /// Items per page (default 50, at most 500); `limit` is another name for it.
    #[serde(alias = "limit")]
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

    /// `WHERE` conditions after the guild's. Solo Shuffle rounds are not fights of the
    /// list: they are in their match's detail.
    fn apply(&self, sql: Sql) -> Result<Sql, ApiError> {
        let sql = sql
            .push("AND round IS NULL")
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
        // A `from` after `to` is an empty range, answered as such (no fights), not an error.
        instant("from", &self.from)?;
        instant("to", &self.to)?;
        Ok(())
    }
}

/// The stats answer: the caller's guild and its `statistics` (the specification's shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct GuildStats {
    pub guild_id: i64,
    pub guild_name: String,
    pub statistics: Stats,
}

/// The guild's totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    /// Fights of every kind.
    pub total_encounters: u64,
    pub kills: u64,
    /// Fights not won (wipes, incomplete fights, depleted keys, lost matches).
    pub wipes: u64,
    /// Distinct bosses fought (raid and dungeon bosses, not arenas or keys).
    pub unique_bosses: u64,
    pub logs: u64,
    /// Named characters seen in any log.
    pub total_characters: u64,
    /// Characters seen in fights of the 30 days before the last activity.
    pub active_characters: u64,
    pub time_in_combat_ms: i64,
    /// When the last fight ended (null with no fights).
    pub last_activity: Option<String>,
}

/// One player's numbers in a fight.
#[derive(Debug, Clone, clickhouse::Row, Deserialize, Serialize, ToSchema)]
pub struct PlayerLine {
    /// The fight's log and first line (read to group a page of fights' players; not shown).
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub log_id: i64,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub start_line: i64,
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
    /// Casts interrupted, pets' included.
    pub interrupts: i64,
    /// Auras dispelled or stolen, pets' included.
    pub dispels: i64,
}

/// A player death and its killing blow.
#[derive(Debug, Clone, clickhouse::Row, Deserialize, Serialize, ToSchema)]
pub struct DeathLine {
    /// The fight's log and first line (read to group a page of fights' deaths; not shown).
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub log_id: i64,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub start_line: i64,
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

/// A boss's health when the pull ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BossLine {
    pub guid: String,
    pub name: String,
    /// The creature id in the GUID.
    pub npc_id: Option<i32>,
    /// 0 once it died, and on a kill.
    pub current_hp: i64,
    pub max_hp: i64,
    /// `current_hp` over `max_hp`, in percent.
    pub pct: f64,
    /// The log has its death during the pull.
    pub died: bool,
}

/// Damage the fight's players took from one ability.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AbilityLine {
    /// Spell name, `Melee`, or the environmental type (`Falling`, `Lava`, ...).
    pub ability: String,
    pub spell_id: Option<i32>,
    /// Damage taken (with overkill).
    pub amount: i64,
    /// Taken by shields (not in `amount`).
    pub absorbed: i64,
    pub hits: i64,
    /// Distinct players hit.
    pub players: i64,
    /// Deaths whose killing blow it was.
    pub killing_blows: i64,
}

/// A fight with every player's numbers and the death recap.
#[derive(Debug, Serialize, ToSchema)]
pub struct EncounterDetail {
    pub encounter: Encounter,
    /// A Solo Shuffle match's rounds, in order (empty for other fights).
    pub rounds: Vec<Encounter>,
    /// By damage done, highest first.
    pub players: Vec<PlayerLine>,
    /// In order (their recaps: `/api/v1/encounters/{id}/deaths`).
    pub deaths: Vec<DeathLine>,
    /// Boss fights: each boss's health when the pull ended, largest first (a council has
    /// several).
    pub bosses: Vec<BossLine>,
    /// The abilities that hurt the fight's players most, most first (at most 25).
    pub damage_taken_by_ability: Vec<AbilityLine>,
    /// True when a list above was cut at its bound (1,000 players, 5,000 deaths, 100
    /// rounds: only a crafted log comes near them); a real fight is always whole.
    pub truncated: bool,
}

/// Routes of this module, for the router and the OpenAPI document.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    // `/search`, `/stats` and `/export` before `/{id}` (axum prefers static segments anyway).
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(handlers::list))
        .routes(utoipa_axum::routes!(handlers::search))
        .routes(utoipa_axum::routes!(handlers::stats))
        .routes(utoipa_axum::routes!(export::export))
        .routes(utoipa_axum::routes!(wipes::pulls))
        .routes(utoipa_axum::routes!(handlers::detail))
        .routes(utoipa_axum::routes!(wipes::deaths))
        .routes(utoipa_axum::routes!(wipes::abilities))
        .routes(utoipa_axum::routes!(wipes::interrupts))
        .routes(utoipa_axum::routes!(breakdown::players))
        .routes(utoipa_axum::routes!(export::export_one))
}
