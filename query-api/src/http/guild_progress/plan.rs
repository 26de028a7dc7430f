//! What the guild master writes and everyone reads: the weekly message, the roadmap of
//! weekly targets and the roster. Reads are members'; writes take the guild master's
//! `admin` key, are audited, and take effect at once (the views' cached answers within
//! `WOWLOGS_QUERY_CACHE_TTL_MS`).

use super::context;
use crate::auth::{Admin, GuildScope, Member};
use crate::http::answer::{guilded, json};
use crate::params::{JsonBody, Params, Validate, rfc3339};
use crate::progress_plan::{forget_plan, roster_of};
use crate::scope::Sql;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;
use wowlogs_progress::{RosterError, Target};
use wowlogs_schemas::now_ms;
use wowlogs_store::rows::date_of;
use wowlogs_tenancy::actor_of;

/// A ClickHouse failure of a write, as an answer (retryable: 503).
pub(super) fn store_error(error: clickhouse::error::Error) -> ApiError {
    match wowlogs_store::classify(&error) {
        wowlogs_store::ErrorClass::Retryable => ApiError::unavailable(format!("ClickHouse: {error}")),
        wowlogs_store::ErrorClass::Permanent => ApiError::internal(error),
    }
}

/// One message of the guild master's.
#[derive(Debug, Clone, Serialize, ToSchema, clickhouse::Row, Deserialize)]
pub struct MessageEntry {
    #[serde(skip_serializing)]
    week: u16,
    #[serde(skip_serializing)]
    written_ms: i64,
    pub message: String,
    /// The week it was written for (`YYYY-MM-DD`).
    #[serde(skip_deserializing)]
    pub week_start: String,
    #[serde(skip_deserializing)]
    pub written: String,
}

/// The guild master's weekly guidance: the latest, and the last of each earlier week.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageAnswer {
    /// The latest message (`null` before the first).
    pub message: Option<String>,
    pub week_start: Option<String>,
    pub written: Option<String>,
    /// This week's first day: a message written now is this week's.
    pub this_week: String,
    /// The last message of each week, newest first (at most 52 weeks).
    pub history: Vec<MessageEntry>,
}

/// The guild master's weekly guidance, and the weeks before.
#[utoipa::path(
    get, path = "/api/v1/guilds/{guild_id}/progress/message", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild")),
    security(("bearer" = ["query"])),
    responses((status = 200, description = "The weekly message", body = crate::http::answer::Guilded<MessageAnswer>))
)]
pub async fn message(scope: GuildScope<Member>) -> Result<Response, ApiError> {
    let plan = context(&scope).await?;
    let answer = message_answer(&scope, plan.week_start()).await?;
    Ok(json(guilded(&scope.0, answer)?))
}

async fn message_answer<P>(
    scope: &GuildScope<P>,
    this_week: chrono::NaiveDate,
) -> Result<MessageAnswer, ApiError> {
    let mut history = scope
        .0
        .db
        .all::<MessageEntry>(&Sql::new(
            "SELECT week_start AS week, written_ms, message FROM progress_messages FINAL WHERE {guild} \
             ORDER BY week DESC, written_ms DESC LIMIT 1 BY week LIMIT 52",
        ))
        .await?;
    for entry in &mut history {
        entry.week_start = date_of(entry.week).to_string();
        entry.written = rfc3339(entry.written_ms);
    }
    let latest = history.first();
    Ok(MessageAnswer {
        message: latest.map(|m| m.message.clone()),
        week_start: latest.map(|m| m.week_start.clone()),
        written: latest.map(|m| m.written.clone()),
        this_week: this_week.to_string(),
        history,
    })
}

/// Longest message (characters).
const MAX_MESSAGE_CHARS: usize = 4000;

/// The guild master's message for this week.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// 1 to 4,000 characters, not blank; line breaks and tabs allowed, no other control
    /// characters.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$"
    )]
    pub message: String,
}

impl Validate for MessageBody {
    fn validate(&self) -> Result<(), ApiError> {
        let length = self.message.chars().count();
        if self.message.trim().is_empty() || length > MAX_MESSAGE_CHARS {
            return Err(ApiError::bad_request(format!("`message` is 1 to {MAX_MESSAGE_CHARS} characters")));
        }
        if self.message.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(ApiError::bad_request(
                "`message` contains control characters (line breaks and tabs are fine)",
            ));
        }
        Ok(())
    }
}

/// Writes this week's guidance (the guild master's `admin` key; others: 403). Every
/// message is kept; the answer is the message view after the change.
#[utoipa::path(
    put, path = "/api/v1/guilds/{guild_id}/progress/message", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild")),
    request_body = MessageBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The message, written", body = crate::http::answer::Guilded<MessageAnswer>),
        (status = 403, description = "Not the guild master's key, or another guild's", body = crate::http::docs::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::http::docs::Error),
    )
)]
pub async fn write_message(
    State(state): State<AppState>,
    scope: GuildScope<Admin>,
    extensions: Extensions,
    JsonBody(body): JsonBody<MessageBody>,
) -> Result<Response, ApiError> {
    let plan = context(&scope).await?;
    let week = plan.week_start();
    let author = scope.0.principal.key_id.clone();
    wowlogs_store::progress::write_message(
        &state.client,
        scope.0.guild_id(),
        week,
        &body.message,
        &author,
        now_ms(),
    )
    .await
    .map_err(store_error)?;
    let actor = actor_of(&author, &extensions);
    state.auditor.record(
        scope.0.guild_id(),
        &actor,
        "progress.message",
        &week.to_string(),
        format!("{} characters", body.message.chars().count()),
    );
    let answer = message_answer(&scope, week).await?;
    Ok(json(guilded(&scope.0, answer)?))
}

/// One week of the roadmap.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    /// The week's first day, `YYYY-MM-DD` (the region's weekly reset).
    #[schema(value_type = String, format = Date)]
    pub week_start: chrono::NaiveDate,
    /// The item level every member should reach that week.
    #[schema(minimum = 1, maximum = 2000)]
    pub item_level: i32,
    /// At most 200 characters, no control characters.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub label: String,
}

/// Every weekly target.
#[derive(Debug, Serialize, ToSchema)]
pub struct Roadmap {
    pub targets: Vec<TargetEntry>,
    /// This week's first day and target.
    pub week_start: String,
    pub current: Option<TargetEntry>,
    /// The guild's region (its weekly reset day) and time zone.
    pub region: String,
    pub timezone: String,
}

fn entry(t: &Target) -> TargetEntry {
    TargetEntry { week_start: t.week_start, item_level: t.item_level, label: t.label.clone() }
}

/// Every weekly target of the season (the milestones), and this week's.
#[utoipa::path(
    get, path = "/api/v1/guilds/{guild_id}/progress/roadmap", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild")),
    security(("bearer" = ["query"])),
    responses((status = 200, description = "The roadmap", body = crate::http::answer::Guilded<Roadmap>))
)]
pub async fn roadmap(scope: GuildScope<Member>) -> Result<Response, ApiError> {
    roadmap_answer(&scope).await
}

/// The roadmap as it is now.
async fn roadmap_answer<P>(scope: &GuildScope<P>) -> Result<Response, ApiError> {
    let plan = context(scope).await?;
    let answer = Roadmap {
        targets: plan.targets.iter().map(entry).collect(),
        week_start: plan.week_start().to_string(),
        current: plan.target().map(entry),
        region: plan.region.clone(),
        timezone: plan.timezone.clone(),
    };
    Ok(json(guilded(&scope.0, answer)?))
}

/// Weeks a roadmap may hold (two years).
const MAX_WEEKS: usize = 104;

/// A new roadmap: it replaces the current one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoadmapBody {
    /// At most 104 weeks; a week named twice keeps its last target.
    #[schema(max_items = 104)]
    pub targets: Vec<TargetEntry>,
}

impl Validate for RoadmapBody {
    fn validate(&self) -> Result<(), ApiError> {
        if self.targets.len() > MAX_WEEKS {
            return Err(ApiError::bad_request(format!("a roadmap holds at most {MAX_WEEKS} weeks")));
        }
        for t in &self.targets {
            if !(1..=2000).contains(&t.item_level) {
                return Err(ApiError::bad_request("`item_level` is 1 to 2000"));
            }
            crate::params::bounded(&[("label", Some(&t.label), 200)])?;
        }
        Ok(())
    }
}

/// Replaces the roadmap (the guild master's `admin` key; others: 403): weeks left out
/// are taken off (kept in the history of the table). Audited.
#[utoipa::path(
    put, path = "/api/v1/guilds/{guild_id}/progress/roadmap", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild")),
    request_body = RoadmapBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The roadmap, changed", body = crate::http::answer::Guilded<Roadmap>),
        (status = 403, description = "Not the guild master's key, or another guild's", body = crate::http::docs::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::http::docs::Error),
    )
)]
pub async fn write_roadmap(
    State(state): State<AppState>,
    scope: GuildScope<Admin>,
    extensions: Extensions,
    JsonBody(body): JsonBody<RoadmapBody>,
) -> Result<Response, ApiError> {
    // A week named twice keeps its last target.
    let mut weeks = std::collections::BTreeMap::new();
    for t in &body.targets {
        weeks.insert(
            t.week_start,
            Target { week_start: t.week_start, item_level: t.item_level, label: t.label.clone() },
        );
    }
    let targets: Vec<Target> = weeks.into_values().collect();
    let taken_off =
        wowlogs_store::progress::replace_targets(&state.client, scope.0.guild_id(), &targets, now_ms())
            .await
            .map_err(store_error)?;
    forget_plan(&scope.0.db).await;
    state.auditor.record(
        scope.0.guild_id(),
        &actor_of(&scope.0.principal.key_id, &extensions),
        "progress.roadmap",
        "targets",
        format!("{} weeks, {taken_off} taken off", targets.len()),
    );
    roadmap_answer(&scope).await
}

/// One member of the roster as set.
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterEntry {
    pub character: String,
    pub rank: i32,
    pub main: Option<String>,
    pub class: String,
}

/// The roster the guild master set (empty until set: the views then use the guild's
/// raid and dungeon characters, unconfirmed).
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterAnswer {
    pub members: Vec<RosterEntry>,
    pub total: usize,
    /// After a change: members of the old roster not in the new one.
    pub left: Option<usize>,
}

async fn roster_answer<P>(scope: &GuildScope<P>, left: Option<usize>) -> Result<RosterAnswer, ApiError> {
    let members: Vec<RosterEntry> = roster_of(&scope.0.db)
        .await?
        .into_iter()
        .map(|r| RosterEntry {
            character: wowlogs_progress::CharacterKey::new(&r.name, &r.realm, &r.region).display(),
            rank: r.rank,
            main: Some(r.main).filter(|m| !m.is_empty()),
            class: r.class,
        })
        .collect();
    Ok(RosterAnswer { total: members.len(), members, left })
}

/// The roster.
#[utoipa::path(
    get, path = "/api/v1/guilds/{guild_id}/progress/roster", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild")),
    security(("bearer" = ["query"])),
    responses((status = 200, description = "The roster", body = crate::http::answer::Guilded<RosterAnswer>))
)]
pub async fn roster(scope: GuildScope<Member>) -> Result<Response, ApiError> {
    let answer = roster_answer(&scope, None).await?;
    Ok(json(guilded(&scope.0, answer)?))
}

/// The region of a roster's characters, when the document does not say.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RosterPlace {
    /// `US`, `EU`, `KR`, `TW`, `CN` (default: the guild's region).
    pub region: Option<String>,
}

impl Validate for RosterPlace {
    fn validate(&self) -> Result<(), ApiError> {
        crate::params::region("region", &self.region)
    }
}

/// The shape of a Battle.net guild roster document that is read (everything else in
/// it is ignored); `main` is ours, beside a member that is an alt. For the document:
/// `wowlogs_progress::parse_battlenet` reads it.
#[derive(Debug, ToSchema)]
pub struct BattlenetRoster {
    pub members: Vec<BattlenetMember>,
}

/// A member of a [`BattlenetRoster`].
#[derive(Debug, ToSchema)]
pub struct BattlenetMember {
    pub character: BattlenetCharacter,
    /// 0 is the guild master.
    pub rank: i32,
    /// The main's `Name-Realm-Region`, when this character is an alt.
    pub main: Option<String>,
}

/// A character of a [`BattlenetMember`].
#[derive(Debug, ToSchema)]
pub struct BattlenetCharacter {
    pub name: String,
    #[schema(value_type = Object)]
    pub realm: serde_json::Value,
    #[schema(value_type = Object)]
    pub playable_class: serde_json::Value,
}

/// Largest roster document: a Battle.net roster of 1,000 members is about 800 KB.
const MAX_ROSTER_BYTES: usize = 2 * 1024 * 1024;

/// Replaces the roster (the guild master's `admin` key; others: 403) with a Battle.net
/// guild roster document as it is (`application/json`) or a CSV (`text/csv`: header
/// `character,rank,main,class`). Members of the old roster left out have left (their
/// history stays). Audited.
#[utoipa::path(
    put, path = "/api/v1/guilds/{guild_id}/progress/roster", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild"), RosterPlace),
    request_body(
        description = "A Battle.net guild roster document as the game data API gives it (application/json), or a CSV \
                       with a header `character,rank,main,class` (text/csv)",
        content(
            (BattlenetRoster = "application/json"),
            (String = "text/csv"),
        )
    ),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The roster, changed", body = crate::http::answer::Guilded<RosterAnswer>),
        (status = 400, description = "The roster is refused: what and where", body = crate::http::docs::Error),
        (status = 403, description = "Not the guild master's key, or another guild's", body = crate::http::docs::Error),
        (status = 413, description = "Larger than 2 MiB", body = crate::http::docs::Error),
        (status = 415, description = "Neither JSON nor CSV", body = crate::http::docs::Error),
    )
)]
pub async fn write_roster(
    State(state): State<AppState>,
    scope: GuildScope<Admin>,
    Params(place): Params<RosterPlace>,
    extensions: Extensions,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    use axum::http::StatusCode;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if kind != "application/json" && kind != "text/csv" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send a Battle.net guild roster document as `application/json`, or a CSV as `text/csv`",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_ROSTER_BYTES).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the roster is larger than {MAX_ROSTER_BYTES} bytes, or could not be read"),
        )
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::bad_request("the roster is not UTF-8"))?;
    let plan = context(&scope).await?;
    let region = place.region.clone().unwrap_or(plan.region);
    let parsed = if kind == "text/csv" {
        wowlogs_progress::parse_csv(text, &region)
    } else {
        wowlogs_progress::parse_battlenet(text, &region)
    };
    let members = parsed.map_err(|e: RosterError| ApiError::bad_request(e.to_string()))?;
    let change =
        wowlogs_store::progress::replace_roster(&state.client, scope.0.guild_id(), &members, now_ms())
            .await
            .map_err(store_error)?;
    forget_plan(&scope.0.db).await;
    state.auditor.record(
        scope.0.guild_id(),
        &actor_of(&scope.0.principal.key_id, &extensions),
        "progress.roster",
        "roster",
        format!(
            "{} members ({}), {} left",
            change.members,
            if kind == "text/csv" { "CSV" } else { "Battle.net" },
            change.left
        ),
    );
    let answer = roster_answer(&scope, Some(change.left)).await?;
    Ok(json(guilded(&scope.0, answer)?))
}
