//! A guild's activity per day: uploads, fights, bosses.

use super::about;
use super::guilds::registered;
use crate::auth::Administrator;
use crate::http::answer::Guilded;
use crate::params::{DayZone, Params, PathId, Validate, from_one_to, rfc3339};
use crate::scope::Sql;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use wowlogs_tenancy::ApiError;

/// Activity window.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// Days back from today (default 30, at most 366).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<u32>,
    /// `UTC` for UTC dates; by default the guild's own time zone's.
    #[param(pattern = "^[Uu][Tt][Cc]$")]
    pub timezone: Option<String>,
}

impl ActivityParams {
    fn zone(&self) -> DayZone {
        DayZone { timezone: self.timezone.clone() }
    }
}

impl Validate for ActivityParams {
    fn validate(&self) -> Result<(), ApiError> {
        from_one_to("days", self.days, 366)?;
        self.zone().validate()
    }
}

/// The first day of the window in the zone, and the instant it began.
#[derive(Debug, clickhouse::Row, Deserialize)]
struct Since {
    day: u32,
    at: u32,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct UploadDay {
    day: String,
    uploads: u64,
    events: i64,
    dead_letters: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct FightDay {
    date: String,
    encounters: u64,
    kills: u64,
    total_minutes: f64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct BossDay {
    date: String,
    unique_bosses: u64,
}

/// One day of a guild's activity.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ActivityDay {
    /// `YYYY-MM-DD`, a date in the answer's `timezone`.
    pub activity_date: String,
    /// Fights fought that day (by the log's own time), kills among them, distinct
    /// bosses and minutes in combat.
    pub encounters: u64,
    pub kills: u64,
    pub unique_bosses: u64,
    pub total_minutes: f64,
    /// Logs uploaded that day (by upload time), with their events and dead letters.
    pub uploads: u64,
    pub events: i64,
    pub dead_letters: i64,
}

/// A guild's activity over the last days.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activity {
    pub days: u32,
    /// When the first day of the window began.
    pub since: String,
    /// The time zone the days are dates in: the guild's own (UTC unless set), or UTC
    /// when asked (`?timezone=UTC`).
    pub timezone: String,
    /// Days with any activity, oldest first.
    pub activity: Vec<ActivityDay>,
}

/// The zone a guild's registry row names (UTC when none).
fn guild_zone(guild: &wowlogs_tenancy::GuildRow) -> &str {
    if guild.timezone.is_empty() { wowlogs_store::rollups::UTC } else { &guild.timezone }
}

/// Fights, bosses, minutes in combat and uploads per day over the last `days` days, a
/// day being a date in the guild's time zone (or UTC's, when asked).
#[utoipa::path(
    get, path = "/api/v1/admin/guilds/{guild_id}/activity", tag = "admin",
    params(("guild_id" = i64, Path, description = "Guild id", minimum = 1), ActivityParams),
    security(("bearer" = ["admin"]), ("bearer" = ["instance_admin"])),
    responses((status = 200, description = "Activity per day", body = Guilded<Activity>))
)]
pub async fn activity(
    admin: Administrator,
    PathId(guild_id): PathId<i64>,
    Params(params): Params<ActivityParams>,
) -> Result<Response, ApiError> {
    let db = admin.guild(guild_id)?;
    let guild = registered(&db).await?;
    let days = params.days.unwrap_or(30);
    let zone = db.day_zone(&params.zone()).await?;
    // Today in the zone, back `days - 1` days: that day's number and when it began.
    let back = i64::from(days) - 1;
    let since = db
        .first::<Since>(
            &Sql::new(
                "SELECT toUInt32(toDate(now(), ?) - ?) AS day, \
                 toUInt32(toUnixTimestamp(toStartOfDay(now(), ?)) - ? * 86400) AS at",
            )
            .value(zone.as_str())
            .value(back)
            .value(zone.as_str())
            .value(back),
        )
        .await?
        .ok_or_else(|| ApiError::internal("no answer to today's date"))?;
    let uploads = db
        .all::<UploadDay>(
            &Sql::new(
                "SELECT toString(toDate(updated, ?)) AS day, count() AS uploads, sum(events) AS events, \
                 sum(dead_letters) AS dead_letters FROM logs FINAL WHERE {guild}",
            )
            .value(zone.as_str())
            .bind("AND updated >= toDateTime(?)", i64::from(since.at))
            .push("GROUP BY day"),
        )
        .await?;
    // The day roll-ups (`wowlogs_store::rollups`), in the guild's zone: a few rows per
    // day, not every fight. UTC dates of a guild in another zone come from its fights.
    // (Output names differ from `day`: 18.16 would put the alias into the WHERE.)
    let (fights_sql, bosses_sql) = if zone == guild_zone(&guild) {
        (
            Sql::new(
                "SELECT toString(day) AS date, pulls AS encounters, kills, round(fight_ms / 60000, 1) AS total_minutes \
                 FROM guild_days FINAL WHERE {guild} AND pulls > 0",
            )
            .bind("AND day >= toDate(?)", i64::from(since.day)),
            Sql::new(
                "SELECT toString(day) AS date, uniqExact(name) AS unique_bosses FROM guild_day_bosses FINAL \
                 WHERE {guild} AND pulls > 0",
            )
            .bind("AND day >= toDate(?)", i64::from(since.day))
            .push("GROUP BY day"),
        )
    } else {
        (
            Sql::new(
                "SELECT toString(toDate(start, ?)) AS date, count() AS encounters, \
                 countIf(ifNull(kill, 0) = 1) AS kills, round(sum(duration_ms) / 60000, 1) AS total_minutes \
                 FROM encounters FINAL WHERE {guild} AND round IS NULL",
            )
            .value(zone.as_str())
            .bind("AND start >= toDateTime(?)", i64::from(since.at))
            .push("GROUP BY date"),
            Sql::new(
                "SELECT toString(toDate(start, ?)) AS date, uniqExact(name) AS unique_bosses \
                 FROM encounters FINAL WHERE {guild} AND kind = 'encounter'",
            )
            .value(zone.as_str())
            .bind("AND start >= toDateTime(?)", i64::from(since.at))
            .push("GROUP BY date"),
        )
    };
    let fights = db.all::<FightDay>(&fights_sql).await?;
    let bosses = db.all::<BossDay>(&bosses_sql).await?;
    let mut by_day: BTreeMap<String, ActivityDay> = BTreeMap::new();
    fn day<'a>(by_day: &'a mut BTreeMap<String, ActivityDay>, date: &str) -> &'a mut ActivityDay {
        by_day
            .entry(date.to_string())
            .or_insert_with(|| ActivityDay { activity_date: date.to_string(), ..ActivityDay::default() })
    }
    for u in uploads {
        let d = day(&mut by_day, &u.day);
        (d.uploads, d.events, d.dead_letters) = (u.uploads, u.events, u.dead_letters);
    }
    for f in fights {
        let d = day(&mut by_day, &f.date);
        (d.encounters, d.kills, d.total_minutes) = (f.encounters, f.kills, f.total_minutes);
    }
    for b in bosses {
        day(&mut by_day, &b.date).unique_bosses = b.unique_bosses;
    }
    let activity = Activity {
        days,
        since: rfc3339(i64::from(since.at) * 1000),
        timezone: zone,
        activity: by_day.into_values().collect(),
    };
    about(guild.guild_id, &guild.name, activity)
}
