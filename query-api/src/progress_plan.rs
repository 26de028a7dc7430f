//! The guild progress plan's data, below the HTTP edge: each guild's plan (its region,
//! time zone, today there and weekly targets) and every member's progress, computed once
//! per cache period and shared by the progress routes and the live feed.
//!
//! Members are the roster the guild master set, matched to the characters the logs saw
//! (`wowlogs_progress::CharacterKey`), or until one is set the characters of the guild's
//! own raid and dungeon fights on two days or more, unconfirmed.

use crate::folds::{CHARACTER_COLUMNS, CharacterRecord};
use crate::params::rfc3339;
use crate::scope::{Freshness, GuildDb, Sql};
use bytes::Bytes;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use wowlogs_http::ApiError;
use wowlogs_progress::{CharacterKey, Status, Target, assess};
use wowlogs_store::rows::{Count, date_of};

/// A value as the cache keeps it.
fn cache_bytes(value: &impl Serialize) -> Result<Bytes, ApiError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(ApiError::internal)
}

/// What every progress answer is computed against: the guild's region (its weekly
/// reset), time zone, today there, and its targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanContext {
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

/// The cache's name for a guild's [`PlanContext`].
const CONTEXT: &str = "progress context";

/// [`context`] of a guild's view, from the cache (`WOWLOGS_QUERY_CACHE_MS`) or read.
pub async fn context_of(db: &GuildDb) -> Result<PlanContext, ApiError> {
    let bytes = db.cached(Freshness::Live, CONTEXT, async { cache_bytes(&read_context(db).await?) }).await?;
    serde_json::from_slice(&bytes).map_err(ApiError::internal)
}

/// Forgets the guild's cached plan in this replica, after the guild master changed it.
pub async fn forget_plan(db: &GuildDb) {
    db.forget(Freshness::Live, CONTEXT).await;
    db.forget(Freshness::Live, MEMBERS).await;
}

async fn read_context(db: &GuildDb) -> Result<PlanContext, ApiError> {
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

pub(crate) fn week_target(plan: &PlanContext) -> Option<i32> {
    plan.target().map(|t| t.item_level)
}

/// A roster row as stored.
#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
pub(crate) struct RosterRecord {
    pub name: String,
    pub realm: String,
    pub region: String,
    pub rank: i32,
    pub main: String,
    pub class: String,
}

/// The roster's current members (at most the game's guild size).
pub(crate) async fn roster_of(db: &GuildDb) -> Result<Vec<RosterRecord>, ApiError> {
    db.all::<RosterRecord>(&Sql::new(
        "SELECT name, realm, region, rank, main, class FROM guild_roster FINAL WHERE {guild} AND active = 1 \
         ORDER BY rank, name LIMIT 1000",
    ))
    .await
}

/// A member as the views list them, before their progress.
#[derive(Debug, Clone)]
struct Listed {
    key: CharacterKey,
    rank: Option<i32>,
    main: Option<CharacterKey>,
    class: String,
    confirmed: bool,
    seen: Option<CharacterRecord>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Presence {
    player_guid: String,
    days: u64,
}

/// Days of raid and dungeon fights a character must have been in to stand in for the
/// roster (fewer when the guild has fewer such days: one upload is enough to start).
const STAND_IN_DAYS: u64 = 2;

/// The guild's members: its roster matched to the characters its logs saw, or (no
/// roster yet) the characters of its own raid and dungeon fights on at least
/// [`STAND_IN_DAYS`] days, unconfirmed. Arena opponents and pugs of one night are not.
async fn listed(db: &GuildDb) -> Result<(Vec<Listed>, bool), ApiError> {
    let seen = db
        .all::<CharacterRecord>(
            &Sql::new("SELECT")
                .push(CHARACTER_COLUMNS)
                .push("FROM character_logs FINAL WHERE {guild} AND name != '' GROUP BY player_guid"),
        )
        .await?;
    let roster = roster_of(db).await?;
    if !roster.is_empty() {
        let mut by_name: HashMap<String, Vec<(CharacterKey, &CharacterRecord)>> = HashMap::new();
        for record in &seen {
            let key = CharacterKey::parse(&record.latest_name);
            by_name.entry(key.name.to_lowercase()).or_default().push((key, record));
        }
        let members = roster
            .into_iter()
            .map(|r| {
                let key = CharacterKey::new(&r.name, &r.realm, &r.region);
                let seen = by_name
                    .get(&key.name.to_lowercase())
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| key.matches(k))
                    .max_by_key(|(_, record)| record.latest_seen_ms)
                    .map(|(_, record)| (*record).clone());
                let class = if r.class.is_empty() {
                    seen.as_ref().map(|s| s.latest_class.clone()).unwrap_or_default()
                } else {
                    r.class
                };
                let main = Some(r.main).filter(|m| !m.is_empty()).map(|m| CharacterKey::parse(&m));
                Listed { key, rank: Some(r.rank), main, class, confirmed: true, seen }
            })
            .collect();
        return Ok((members, true));
    }
    let guild_days = db
        .first::<Count>(&Sql::new(
            "SELECT uniqExact(toDate(start)) AS n FROM encounters FINAL WHERE {guild} \
             AND kind IN ('encounter', 'challenge_mode')",
        ))
        .await?
        .map_or(0, |c| c.n);
    let presence = db
        .all::<Presence>(&Sql::new(
            "SELECT player_guid, uniqExact(toDate(start)) AS days FROM encounter_players FINAL WHERE {guild} \
             AND (log_id, start_line) IN (SELECT log_id, start_line FROM encounters FINAL WHERE {guild} \
             AND kind IN ('encounter', 'challenge_mode')) GROUP BY player_guid",
        ))
        .await?;
    let wanted = STAND_IN_DAYS.min(guild_days).max(1);
    let days: HashMap<String, u64> = presence.into_iter().map(|p| (p.player_guid, p.days)).collect();
    let mut members: Vec<Listed> = seen
        .into_iter()
        .filter(|s| days.get(&s.player_guid).is_some_and(|&d| d >= wanted))
        .map(|s| Listed {
            key: CharacterKey::parse(&s.latest_name),
            rank: None,
            main: None,
            class: s.latest_class.clone(),
            confirmed: false,
            seen: Some(s),
        })
        .collect();
    members.sort_by_key(|m| m.key.display());
    Ok((members, false))
}

/// One member's progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberProgress {
    /// `Name-Realm-Region`.
    pub character: String,
    pub name: String,
    pub realm: String,
    pub region: String,
    /// Guild rank (0: the guild master); `null` for a member standing in for the roster.
    pub rank: Option<i32>,
    /// The main, when this character is an alt.
    pub main: Option<String>,
    pub class: String,
    pub spec: Option<String>,
    /// `Tank`, `Healer` or `Damage`, from the latest spec seen.
    pub role: Option<String>,
    /// On the roster the guild master set (false: seen in the guild's raids and
    /// dungeons, standing in until a roster is set).
    pub confirmed: bool,
    /// The character in the logs, when they were seen.
    pub player_guid: Option<String>,
    /// Mean item level of the latest equipment seen ("calculated from equipped items").
    pub item_level: Option<f64>,
    /// The item level compared: the mean truncated, as the character sheet shows it.
    pub current: Option<i32>,
    /// This week's target.
    pub target: Option<i32>,
    /// `current - target`.
    pub difference: Option<i32>,
    /// `On Track`, `Behind` or `Unknown`.
    pub status: String,
    /// `"5 iLvl behind. Target: 265, Current: 260"`, `"Ahead of schedule! …"`.
    pub message: String,
    pub last_seen: Option<String>,
}

impl MemberProgress {
    fn of(member: &Listed, target: Option<i32>) -> (Self, Status) {
        let seen = member.seen.as_ref();
        let assessment = assess(seen.and_then(|s| s.latest_item_level), target);
        let spec_id = seen.and_then(|s| s.latest_spec_id);
        let progress = MemberProgress {
            character: member.key.display(),
            name: member.key.name.clone(),
            realm: member.key.realm.clone(),
            region: member.key.region.clone(),
            rank: member.rank,
            main: member.main.as_ref().map(CharacterKey::display),
            class: member.class.clone(),
            spec: spec_id.and_then(wowlogs_encounters::spec_name).map(str::to_string),
            role: spec_id.and_then(wowlogs_encounters::role_of_spec).map(|r| r.as_str().to_string()),
            confirmed: member.confirmed,
            player_guid: seen.map(|s| s.player_guid.clone()),
            item_level: seen.and_then(|s| s.latest_item_level).map(|l| (l * 100.0).round() / 100.0),
            current: assessment.current,
            target: assessment.target,
            difference: assessment.difference,
            status: assessment.status.as_str().to_string(),
            message: assessment.message,
            last_seen: seen.map(|s| rfc3339(s.latest_seen_ms)),
        };
        (progress, assessment.status)
    }
}

impl MemberProgress {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Unknown)
    }

    pub fn key(&self) -> CharacterKey {
        CharacterKey::new(&self.name, &self.realm, &self.region)
    }

    /// Whether this is `main` or one of its alts.
    pub fn of_family(&self, main: &CharacterKey) -> bool {
        self.key().matches(main)
            || self.main.as_deref().is_some_and(|of| CharacterKey::parse(of).matches(main))
    }
}

/// Every member with their progress this week: what every progress view is cut from,
/// computed once per guild and cached for `WOWLOGS_QUERY_CACHE_MS` (forgotten in this
/// replica when the guild master changes the roster or the roadmap).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Members {
    pub week_start: String,
    pub target: Option<i32>,
    pub source: String,
    pub members: Vec<MemberProgress>,
}

/// The cache's name for [`Members`].
pub(crate) const MEMBERS: &str = "progress members";

/// The guild's [`Members`], from the cache or computed.
pub(crate) async fn members_of(db: &GuildDb) -> Result<Members, ApiError> {
    Ok(members_and_digest(db).await?.0)
}

/// [`members_of`] with a digest of the cached bytes it was read from: what changes when
/// a fight, the roster or a target changes the plan.
pub(crate) async fn members_and_digest(db: &GuildDb) -> Result<(Members, u64), ApiError> {
    let bytes = db
        .cached(Freshness::Live, MEMBERS, async {
            let plan = context_of(db).await?;
            let target = week_target(&plan);
            let (listed, confirmed) = listed(db).await?;
            cache_bytes(&Members {
                week_start: plan.week_start().to_string(),
                target,
                source: if confirmed { "roster" } else { "unconfirmed" }.to_string(),
                members: listed.iter().map(|m| MemberProgress::of(m, target).0).collect(),
            })
        })
        .await?;
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        hasher.finish()
    };
    Ok((serde_json::from_slice(&bytes).map_err(ApiError::internal)?, digest))
}

/// Each member's status now, by the GUID their logs name them with, and this week's
/// target: what the live feed compares a finished fight's item levels with.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemberStatuses {
    pub target: Option<i32>,
    /// Player GUID → (`Name-Realm-Region`, status).
    pub by_guid: HashMap<String, (String, Status)>,
}

/// The guild's [`MemberStatuses`].
pub(crate) async fn member_statuses(db: &GuildDb) -> Result<MemberStatuses, ApiError> {
    let members = members_of(db).await?;
    let by_guid = members
        .members
        .into_iter()
        .filter_map(|m| {
            let status = m.status();
            m.player_guid.map(|guid| (guid, (m.character, status)))
        })
        .collect();
    Ok(MemberStatuses { target: members.target, by_guid })
}
