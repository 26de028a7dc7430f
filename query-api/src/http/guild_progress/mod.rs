//! `/api/v1/guilds/{guild_id}/progress/*`: the guild's progress plan (the
//! specification's progress service): each member's item level against this week's
//! target, gear priorities, the officers' overview, the guild master's weekly message,
//! the roadmap, the roster and comparisons with the instance's other guilds.
//!
//! Roles are key permissions ([`crate::auth::Member`], [`crate::auth::Officer`], the
//! guild master's `admin`), and a key names only its own guild ([`GuildScope`]).
//! The pure rules (matching, targets, status and messages) are `wowlogs_progress`'s;
//! the writes are `wowlogs_store::progress`'s.

mod compare;
mod members;
mod plan;

pub use compare::{ComparedGuild, Comparison, DifficultyKills, SharingBody};
pub use members::{
    Alt, CharacterProgress, CharacterQuery, GearSlot, MemberFilter, MemberList, MemberOverview,
    MemberProgress, WeekPoint,
};
pub(crate) use members::{MemberStatuses, member_statuses};
pub use plan::{
    MessageAnswer, MessageBody, MessageEntry, Roadmap, RoadmapBody, RosterAnswer, RosterEntry, TargetEntry,
};

use crate::auth::GuildScope;
use crate::scope::{Freshness, Sql};
use chrono::NaiveDate;
use serde::Deserialize;
use wowlogs_http::ApiError;
use wowlogs_progress::Target;
use wowlogs_store::rows::date_of;

/// What every progress answer is computed against: the guild's region (its weekly
/// reset), time zone, today there, and its targets.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub(crate) struct PlanContext {
    pub region: String,
    pub timezone: String,
    pub today: NaiveDate,
    pub targets: Vec<Target>,
}

impl PlanContext {
    /// This week's first day, in the guild's region and time zone.
    pub fn week_start(&self) -> NaiveDate {
        wowlogs_progress::week_of(self.today, &self.region)
    }

    pub fn target(&self) -> Option<&Target> {
        wowlogs_progress::target_for(&self.targets, self.today)
    }
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct GuildPlace {
    region: String,
    timezone: String,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Today {
    today: u16,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct TargetRecord {
    week_start: u16,
    target_item_level: i32,
    label: String,
}

/// The guild's [`PlanContext`].
pub(crate) async fn context<P>(scope: &GuildScope<P>) -> Result<PlanContext, ApiError> {
    context_of(&scope.0.db).await
}

/// The cache's name for a guild's [`PlanContext`].
const CONTEXT: &str = "progress context";

/// [`context`] of a guild's view, from the cache (`WOWLOGS_QUERY_CACHE_MS`) or read.
pub(crate) async fn context_of(db: &crate::scope::GuildDb) -> Result<PlanContext, ApiError> {
    let bytes = db
        .cached(Freshness::Live, CONTEXT, async { crate::http::answer::json_bytes(&read_context(db).await?) })
        .await?;
    serde_json::from_slice(&bytes).map_err(ApiError::internal)
}

/// Forgets the guild's cached plan in this replica, after the guild master changed it.
pub(crate) async fn forget_plan(db: &crate::scope::GuildDb) {
    db.forget(Freshness::Live, CONTEXT).await;
    db.forget(Freshness::Live, members::MEMBERS).await;
}

async fn read_context(db: &crate::scope::GuildDb) -> Result<PlanContext, ApiError> {
    let place = db
        .first::<GuildPlace>(&Sql::new("SELECT region, timezone FROM guilds FINAL WHERE {guild}"))
        .await?
        .unwrap_or(GuildPlace { region: String::new(), timezone: String::new() });
    let timezone =
        if place.timezone.is_empty() { wowlogs_store::rollups::UTC.to_string() } else { place.timezone };
    let today = db
        .first::<Today>(
            &Sql::new("SELECT toDate(now(), ?) AS today FROM guilds FINAL WHERE {guild} LIMIT 1")
                .value(timezone.as_str()),
        )
        .await?
        .map_or_else(
            || date_of(wowlogs_store::rows::date_number_of_ms(wowlogs_schemas::now_ms())),
            |t| date_of(t.today),
        );
    let targets = db
        .all::<TargetRecord>(&Sql::new(
            "SELECT week_start, target_item_level, label FROM progress_targets FINAL WHERE {guild} AND active = 1 \
             ORDER BY week_start",
        ))
        .await?
        .into_iter()
        .map(|t| Target { week_start: date_of(t.week_start), item_level: t.target_item_level, label: t.label })
        .collect();
    Ok(PlanContext { region: place.region, timezone, today, targets })
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(members::characters))
        .routes(utoipa_axum::routes!(members::character))
        .routes(utoipa_axum::routes!(members::members))
        .routes(utoipa_axum::routes!(plan::message, plan::write_message))
        .routes(utoipa_axum::routes!(plan::roadmap, plan::write_roadmap))
        .routes(utoipa_axum::routes!(plan::roster, plan::write_roster))
        .routes(utoipa_axum::routes!(compare::comparisons, compare::write_sharing))
}
