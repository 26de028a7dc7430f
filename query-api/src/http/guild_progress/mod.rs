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

pub use crate::progress_plan::MemberProgress;
pub use compare::{ComparedGuild, Comparison, DifficultyKills, Share, SharingBody};
pub use members::{
    Alt, CharacterProgress, CharacterQuery, GearSlot, MemberFilter, MemberList, MemberOverview, MemberSort,
    WeekPoint,
};
pub use plan::{
    BattlenetCharacter, BattlenetMember, BattlenetRoster, MessageAnswer, MessageBody, MessageEntry, Roadmap,
    RoadmapBody, RosterAnswer, RosterEntry, TargetEntry,
};

use crate::auth::GuildScope;
use wowlogs_http::ApiError;

/// The guild's [`PlanContext`].
pub(crate) async fn context<P>(scope: &GuildScope<P>) -> Result<crate::progress_plan::PlanContext, ApiError> {
    crate::progress_plan::context_of(&scope.0.db).await
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
