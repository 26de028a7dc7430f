//! `/api/v1/progress`: the guild's progression, per boss and difficulty, from its logs.

use super::answer::{Guilded, cached, guilded};
use crate::auth::{Query, Scope};
use crate::params::rfc3339;
use crate::scope::Freshness;
use crate::scope::Sql;
use crate::state::AppState;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wowlogs_http::ApiError;

#[derive(Debug, clickhouse::Row, Deserialize)]
struct BossRecord {
    name: String,
    difficulty: Option<i32>,
    encounter_id: Option<i32>,
    pulls: u64,
    kills: u64,
    first_kill_ms: i64,
    fastest_kill_ms: i64,
    longest_wipe_ms: i64,
    time_spent_ms: i64,
    first_pull_ms: i64,
    last_pull_ms: i64,
}

/// One boss on one difficulty.
#[derive(Debug, Serialize, ToSchema)]
pub struct BossProgress {
    pub boss: String,
    pub encounter_id: Option<i32>,
    pub difficulty: Option<i32>,
    pub pulls: u64,
    pub kills: u64,
    /// Pulls that did not kill (including fights the log cut short).
    pub wipes: u64,
    pub killed: bool,
    pub first_kill: Option<String>,
    /// The best attempt: the fastest kill, or the longest wipe while unkilled (the
    /// logs do not record the boss's health at a wipe).
    pub best_attempt_ms: i64,
    pub best_attempt: &'static str,
    /// Time in combat with the boss, every pull.
    pub time_spent_ms: i64,
    pub first_pull: String,
    pub last_pull: String,
}

impl From<BossRecord> for BossProgress {
    fn from(r: BossRecord) -> Self {
        let killed = r.kills > 0;
        BossProgress {
            boss: r.name,
            encounter_id: r.encounter_id,
            difficulty: r.difficulty,
            pulls: r.pulls,
            kills: r.kills,
            wipes: r.pulls - r.kills,
            killed,
            first_kill: killed.then(|| rfc3339(r.first_kill_ms)),
            best_attempt_ms: if killed { r.fastest_kill_ms } else { r.longest_wipe_ms },
            best_attempt: if killed { "fastest_kill" } else { "longest_wipe" },
            time_spent_ms: r.time_spent_ms,
            first_pull: rfc3339(r.first_pull_ms),
            last_pull: rfc3339(r.last_pull_ms),
        }
    }
}

/// Progression: bosses in the order the guild first pulled them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub bosses: Vec<BossProgress>,
    /// Bosses killed at least once, on any difficulty.
    pub bosses_killed: usize,
}

/// Per boss and difficulty: pulls, kills, wipes, first kill, best attempt, time spent.
#[utoipa::path(
    get, path = "/api/v1/progress", tag = "progress",
    security(("bearer" = ["query"])),
    responses((status = 200, description = "The guild's progression", body = Guilded<Progress>))
)]
pub async fn progress(scope: Scope<Query>) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Live, "progress", async {
        let bosses: Vec<BossProgress> = scope
            .db
            .all::<BossRecord>(&Sql::new(
                "SELECT name, difficulty, any(encounter_id) AS encounter_id, count() AS pulls, \
                 countIf(ifNull(kill, 2) = 1) AS kills, minIf(start_ms, ifNull(kill, 2) = 1) AS first_kill_ms, \
                 minIf(duration_ms, ifNull(kill, 2) = 1) AS fastest_kill_ms, \
                 maxIf(duration_ms, ifNull(kill, 2) != 1) AS longest_wipe_ms, sum(duration_ms) AS time_spent_ms, \
                 min(start_ms) AS first_pull_ms, max(start_ms) AS last_pull_ms \
                 FROM encounters FINAL WHERE {guild} AND kind = 'encounter' \
                 GROUP BY name, difficulty ORDER BY first_pull_ms, name",
            ))
            .await?
            .into_iter()
            .map(BossProgress::from)
            .collect();
        let mut killed: Vec<&str> = bosses.iter().filter(|b| b.killed).map(|b| b.boss.as_str()).collect();
        killed.sort_unstable();
        killed.dedup();
        let bosses_killed = killed.len();
        guilded(&scope, Progress { bosses, bosses_killed })
    })
    .await
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(progress))
}
