//! Members and their progress: the roster (or, until one is set, the characters of the
//! guild's own raid and dungeon fights), each matched to the characters its logs saw,
//! with item level, this week's target, status and message.

use super::context;
use crate::auth::{GuildScope, Member, Officer};
use crate::http::answer::{cached, guilded, json};
use crate::params::{Params, PathId, Validate, rfc3339, text};
use crate::progress_plan::{MemberProgress, PlanContext, members_and_digest, members_of};
use crate::scope::{Freshness, GuildDb, Sql};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;
use wowlogs_progress::{CharacterKey, Status};

/// The characters of the guild with their progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    /// This week's first day (`YYYY-MM-DD`, the guild's region and time zone).
    pub week_start: String,
    /// This week's target, if the roadmap has one.
    pub target: Option<i32>,
    /// `roster` (set by the guild master) or `unconfirmed` (characters of the guild's
    /// raids and dungeons, until a roster is set).
    pub source: String,
    pub characters: Vec<MemberProgress>,
    pub total: usize,
}

/// Narrows the characters to one member's.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CharacterQuery {
    /// A main (`Name-Realm-Region`, realm as a slug or as the log writes it): that
    /// character and its alts in this guild.
    pub main: Option<String>,
}

impl Validate for CharacterQuery {
    fn validate(&self) -> Result<(), ApiError> {
        text("main", &self.main)
    }
}

/// The guild's characters with their current item level, this week's target and
/// progress (`?main=` narrows to one member's main and alts).
#[utoipa::path(
    get, path = "/api/v1/guilds/{guild_id}/progress/characters", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild"), CharacterQuery),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The guild's characters and their progress", body = crate::http::answer::Guilded<MemberList>),
        (status = 403, description = "The key belongs to another guild", body = crate::http::docs::Error),
    )
)]
pub async fn characters(
    scope: GuildScope<Member>,
    Params(query): Params<CharacterQuery>,
) -> Result<Response, ApiError> {
    let all = members_of(&scope.0.db).await?;
    let characters: Vec<MemberProgress> = match &query.main {
        None => all.members,
        Some(main) => {
            let main = CharacterKey::parse(main);
            all.members.into_iter().filter(|m| m.of_family(&main)).collect()
        }
    };
    let list = MemberList {
        week_start: all.week_start,
        target: all.target,
        source: all.source,
        total: characters.len(),
        characters,
    };
    Ok(json(guilded(&scope.0, list)?))
}

/// One equipped slot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GearSlot {
    /// The slot's name (`Head`, `Trinket 1`, …).
    pub slot: String,
    /// The game's inventory slot id (1 to 19).
    pub slot_id: u8,
    pub item_id: i64,
    pub item_level: i32,
}

/// Item level over the weeks, against each week's target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeekPoint {
    pub week_start: String,
    /// The highest mean item level seen that week.
    pub item_level: f64,
    pub target: Option<i32>,
    pub fights: u64,
}

/// A main or alt of the same member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Alt {
    pub character: String,
    pub main: bool,
    pub item_level: Option<f64>,
    pub status: String,
}

/// One character's progress and gear.
#[derive(Debug, Serialize, ToSchema)]
pub struct CharacterProgress {
    #[serde(flatten)]
    pub progress: MemberProgress,
    /// How the item level is computed.
    pub item_level_source: &'static str,
    /// When the equipment below was seen (the start of a fight).
    pub gear_seen: Option<String>,
    /// Every equipped slot that counts towards item level, lowest item level first.
    pub gear_priorities: Vec<GearSlot>,
    /// Weekly item level against the week's target, oldest first.
    pub trend: Vec<WeekPoint>,
    /// The member's main and alts in this guild (this character left out).
    pub alts: Vec<Alt>,
    pub week_start: String,
}

/// Where a character is named: its realm (slug or as the log writes it), and region.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RealmQuery {
    /// The character's realm: `area-52` or `Area52`.
    pub realm: Option<String>,
    /// `US`, `EU`, `KR`, `TW`, `CN`.
    pub region: Option<String>,
}

impl Validate for RealmQuery {
    fn validate(&self) -> Result<(), ApiError> {
        text("realm", &self.realm)?;
        crate::params::region("region", &self.region)
    }
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct GearRecord {
    slot_id: u8,
    item_id: i64,
    item_level: i32,
    timestamp_ms: i64,
}

/// One member: item level "calculated from equipped items", this week's target, the
/// progress message, gear priorities (lowest item level first), the weekly trend and
/// the member's alts in this guild.
#[utoipa::path(
    get, path = "/api/v1/guilds/{guild_id}/progress/character/{character_name}", tag = "guild progress",
    params(
        ("guild_id" = i64, Path, description = "The caller's guild"),
        ("character_name" = String, Path, description = "The character's name (or `Name-Realm-Region`)"),
        RealmQuery,
    ),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The character's progress", body = crate::http::answer::Guilded<CharacterProgress>),
        (status = 403, description = "The key belongs to another guild", body = crate::http::docs::Error),
        (status = 404, description = "No such member of this guild", body = crate::http::docs::Error),
    )
)]
pub async fn character(
    scope: GuildScope<Member>,
    PathId(path): PathId<(i64, String)>,
    Params(place): Params<RealmQuery>,
) -> Result<Response, ApiError> {
    let name = path.1;
    text("character_name", &Some(name.clone()))?;
    // Cached as long as a finished fight's answers, under the digest of the guild's
    // members: a new fight, roster or target changes it, and so the answer.
    let (all, digest) = members_and_digest(&scope.0.db).await?;
    let key = ("progress character", &name, &place.realm, &place.region, digest);
    cached(&scope.0, Freshness::Settled, key, async {
        let mut wanted = CharacterKey::parse(&name);
        if let Some(realm) = &place.realm {
            wanted.realm = realm.trim().to_string();
        }
        if let Some(region) = &place.region {
            wanted.region = region.trim().to_uppercase();
        }
        let plan = context(&scope).await?;
        let member = all
            .members
            .iter()
            .filter(|m| m.key().matches(&wanted))
            .max_by_key(|m| m.last_seen.clone())
            .ok_or_else(|| ApiError::not_found("no such member of this guild (see …/progress/characters)"))?;
        let (gear, trend) = match &member.player_guid {
            Some(guid) => equipment_of(&scope.0.db, &plan, guid).await?,
            None => (Vec::new(), Vec::new()),
        };
        let gear_seen = gear.first().map(|g| rfc3339(g.timestamp_ms));
        let mut gear_priorities: Vec<GearSlot> = gear
            .into_iter()
            .filter_map(|g| {
                let slot = wowlogs_schemas::slots::slot(g.slot_id).filter(|s| s.counts)?;
                Some(GearSlot {
                    slot: slot.name.to_string(),
                    slot_id: g.slot_id,
                    item_id: g.item_id,
                    item_level: g.item_level,
                })
            })
            .collect();
        gear_priorities.sort_by_key(|g| (g.item_level, g.slot_id));
        let family = member.main.as_deref().map_or_else(|| member.key(), CharacterKey::parse);
        let alts = all
            .members
            .iter()
            .filter(|m| m.character != member.character && m.of_family(&family))
            .map(|m| Alt {
                character: m.character.clone(),
                main: m.main.is_none(),
                item_level: m.item_level,
                status: m.status.clone(),
            })
            .collect();
        guilded(
            &scope.0,
            CharacterProgress {
                progress: member.clone(),
                item_level_source: "calculated from equipped items",
                gear_seen,
                gear_priorities,
                trend,
                alts,
                week_start: all.week_start.clone(),
            },
        )
    })
    .await
}

/// One equipped slot of one `COMBATANT_INFO` of a character, with its day.
#[derive(Debug, clickhouse::Row, Deserialize)]
struct SnapshotSlot {
    day: String,
    timestamp_ms: i64,
    log_id: i64,
    line: i64,
    average_item_level: f64,
    slot_id: u8,
    item_id: i64,
    item_level: i32,
}

/// Equipment snapshots read for one character, newest first (about 2,000 fights).
const SNAPSHOT_ROWS: i64 = 40_000;

/// A character's equipment from one read of `character_gear`: the slots of the latest
/// snapshot, and each week's highest item level (weeks of the guild's region, days of
/// its time zone) against that week's target.
async fn equipment_of(
    db: &GuildDb,
    plan: &PlanContext,
    player_guid: &str,
) -> Result<(Vec<GearRecord>, Vec<WeekPoint>), ApiError> {
    let rows = db
        .all::<SnapshotSlot>(
            &Sql::new(
                "SELECT toString(toDate(timestamp, ?)) AS day, timestamp_ms, log_id, line, average_item_level, \
                 slot AS slot_id, item_id, item_level FROM character_gear WHERE {guild} AND player_guid = ? \
                 ORDER BY timestamp_ms DESC, log_id DESC, line DESC, slot_id LIMIT ?",
            )
            .value(plan.timezone.as_str())
            .value(player_guid)
            .value(SNAPSHOT_ROWS),
        )
        .await?;
    // The latest snapshot's slots (a row written twice, not yet merged, counts once).
    let mut gear: Vec<GearRecord> = Vec::new();
    if let Some(first) = rows.first() {
        for row in rows.iter().take_while(|r| {
            (r.timestamp_ms, r.log_id, r.line) == (first.timestamp_ms, first.log_id, first.line)
        }) {
            if gear.last().is_none_or(|g| g.slot_id != row.slot_id) {
                gear.push(GearRecord {
                    slot_id: row.slot_id,
                    item_id: row.item_id,
                    item_level: row.item_level,
                    timestamp_ms: row.timestamp_ms,
                });
            }
        }
    }
    // Each day's best snapshot and how many fights, oldest first, folded into weeks.
    // A snapshot is its (time, log, line); a day keeps its best item level and snapshots.
    type Day = (f64, std::collections::HashSet<(i64, i64, i64)>);
    let mut days: std::collections::BTreeMap<&str, Day> = std::collections::BTreeMap::new();
    for row in &rows {
        let day = days.entry(row.day.as_str()).or_insert((f64::MIN, Default::default()));
        day.0 = day.0.max(row.average_item_level);
        day.1.insert((row.timestamp_ms, row.log_id, row.line));
    }
    let mut weeks: Vec<WeekPoint> = Vec::new();
    for (day, (best, fights)) in days {
        let Ok(date) = day.parse::<chrono::NaiveDate>() else { continue };
        let week = wowlogs_progress::week_of(date, &plan.region);
        let week_text = week.to_string();
        let best = (best * 100.0).round() / 100.0;
        match weeks.last_mut() {
            Some(last) if last.week_start == week_text => {
                last.item_level = last.item_level.max(best);
                last.fights += fights.len() as u64;
            }
            _ => weeks.push(WeekPoint {
                week_start: week_text,
                item_level: best,
                target: wowlogs_progress::target_for(&plan.targets, week).map(|t| t.item_level),
                fights: fights.len() as u64,
            }),
        }
    }
    Ok((gear, weeks))
}

/// The officers' overview: filters and order. A filter no member matches gives an
/// empty list, as every filter does.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberFilter {
    /// `ilvl` (highest first), `-ilvl` (lowest first), `name` (the default), `rank` or
    /// `status` (Behind first, furthest behind first); members with no item level seen
    /// come last.
    pub sort: Option<MemberSort>,
    /// A class (`Warrior`, `Death Knight`; any case, spaces optional).
    pub class: Option<String>,
    /// `Tank`, `Healer` or `Damage` (`DPS`), any case.
    pub role: Option<String>,
    /// `on_track`, `behind` or `unknown` (`On Track` too), any case.
    pub status: Option<String>,
}

/// The orders of the officers' overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
pub enum MemberSort {
    #[serde(rename = "ilvl")]
    ItemLevel,
    #[serde(rename = "-ilvl")]
    ItemLevelAscending,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "rank")]
    Rank,
    #[serde(rename = "status")]
    Status,
}

impl Validate for MemberFilter {
    fn validate(&self) -> Result<(), ApiError> {
        text("class", &self.class)?;
        text("role", &self.role)?;
        text("status", &self.status)
    }
}

/// Every member with their status, and how many are where.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOverview {
    pub week_start: String,
    pub target: Option<i32>,
    pub source: String,
    pub members: Vec<MemberProgress>,
    /// Members matching the filters.
    pub total: usize,
    /// Of every member (filters aside): `On Track`, `Behind`, `Unknown`.
    pub on_track: usize,
    pub behind: usize,
    pub unknown: usize,
}

/// The officers' overview: every member with status `On Track` / `Behind`, sortable
/// by item level and filtered by class, role and status (officers and the guild master;
/// a member's key: 403).
#[utoipa::path(
    get, path = "/api/v1/guilds/{guild_id}/progress/members", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild"), MemberFilter),
    security(("bearer" = ["officer"])),
    responses(
        (status = 200, description = "Every member and their status", body = crate::http::answer::Guilded<MemberOverview>),
        (status = 400, description = "An unknown order", body = crate::http::docs::Error),
        (status = 403, description = "Not an officer's key, or another guild's", body = crate::http::docs::Error),
    )
)]
pub async fn members(
    scope: GuildScope<Officer>,
    Params(filter): Params<MemberFilter>,
) -> Result<Response, ApiError> {
    let all = members_of(&scope.0.db).await?;
    let count = |status: Status| all.members.iter().filter(|m| m.status() == status).count();
    let (on_track, behind, unknown) = (count(Status::OnTrack), count(Status::Behind), count(Status::Unknown));
    // An unknown class, role or status matches nobody.
    let class = filter.class.as_deref().map(wowlogs_encounters::class_named);
    let role = filter.role.as_deref().map(|r| wowlogs_encounters::Role::parse(r).map(|r| r.as_str()));
    let status = filter.status.as_deref().map(Status::parse);
    let mut members: Vec<MemberProgress> = all
        .members
        .into_iter()
        .filter(|m| class.is_none_or(|c| c.is_some() && wowlogs_encounters::class_named(&m.class) == c))
        .filter(|m| role.is_none_or(|r| r.is_some() && m.role.as_deref() == r))
        .filter(|m| status.is_none_or(|wanted| wanted == Some(m.status())))
        .collect();
    // Members with no item level seen come last either way.
    let by_level =
        |a: &MemberProgress, b: &MemberProgress, highest_first: bool| match (a.item_level, b.item_level) {
            (Some(x), Some(y)) if highest_first => y.total_cmp(&x),
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => y.is_some().cmp(&x.is_some()),
        };
    match filter.sort {
        Some(MemberSort::ItemLevel) => members.sort_by(|a, b| by_level(a, b, true)),
        Some(MemberSort::ItemLevelAscending) => members.sort_by(|a, b| by_level(a, b, false)),
        Some(MemberSort::Rank) => members.sort_by_key(|m| (m.rank.unwrap_or(i32::MAX), m.character.clone())),
        Some(MemberSort::Status) => members
            .sort_by_key(|m| (m.status() != Status::Behind, m.difference.unwrap_or(0), m.character.clone())),
        _ => members.sort_by(|a, b| a.character.cmp(&b.character)),
    }
    let overview = MemberOverview {
        week_start: all.week_start,
        target: all.target,
        source: all.source,
        total: members.len(),
        members,
        on_track,
        behind,
        unknown,
    };
    Ok(json(guilded(&scope.0, overview)?))
}
