//! A guild's activity per day: uploads, fights, bosses.

use super::about;
use super::guilds::registered;
use crate::auth::Administrator;
use crate::http::answer::Guilded;
use crate::params::{Params, PathId, Validate, rfc3339};
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
}

impl Validate for ActivityParams {
    fn validate(&self) -> Result<(), ApiError> {
        match self.days {
            Some(d) if !(1..=366).contains(&d) => {
                Err(ApiError::bad_request("`days` must be between 1 and 366"))
            }
            _ => Ok(()),
        }
    }
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
    /// `YYYY-MM-DD`, UTC.
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
    pub since: String,
    /// Days with any activity, oldest first.
    pub activity: Vec<ActivityDay>,
}

/// Fights, bosses, minutes in combat and uploads per day over the last `days` days.
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
    let now_s = wowlogs_schemas::now_ms() / 1000;
    let since_s = (now_s / 86_400 - i64::from(days) + 1) * 86_400;
    let uploads = db
        .all::<UploadDay>(
            &Sql::new(
                "SELECT toString(toDate(updated)) AS day, count() AS uploads, sum(events) AS events, \
                 sum(dead_letters) AS dead_letters FROM logs FINAL WHERE {guild}",
            )
            .bind("AND updated >= toDateTime(?)", since_s)
            .push("GROUP BY day"),
        )
        .await?;
    // The day roll-ups (`wowlogs_store::rollups`): a few rows per day, not every fight.
    // (Output names differ from `day`: 18.16 would put the alias into the WHERE.)
    let since_day = since_s / 86_400;
    let fights = db
        .all::<FightDay>(
            &Sql::new(
                "SELECT toString(day) AS date, pulls AS encounters, kills, round(fight_ms / 60000, 1) AS total_minutes \
                 FROM guild_days FINAL WHERE {guild} AND pulls > 0",
            )
            .bind("AND day >= toDate(?)", since_day),
        )
        .await?;
    let bosses = db
        .all::<BossDay>(
            &Sql::new(
                "SELECT toString(day) AS date, uniqExact(name) AS unique_bosses FROM guild_day_bosses FINAL \
                 WHERE {guild} AND pulls > 0",
            )
            .bind("AND day >= toDate(?)", since_day)
            .push("GROUP BY day"),
        )
        .await?;
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
    let activity =
        Activity { days, since: rfc3339(since_s * 1000), activity: by_day.into_values().collect() };
    about(guild.guild_id, &guild.name, activity)
}
