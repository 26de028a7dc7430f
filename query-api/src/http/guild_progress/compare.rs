//! How the guild compares with the other guilds of this instance (the specification
//! asks an external ranking site, which a deployment cannot be assumed to reach).
//!
//! A guild takes part when its guild master opts in (`PUT …/comparisons`, `anonymous`
//! or `named`); only a guild that takes part sees the others. Every figure is an
//! aggregate of a guild; a guild that did not opt in to be named is counted, never
//! named. The figures: the median of the latest item level of the characters of the
//! guild's fights in the four weeks before its last fight, and the bosses killed per
//! difficulty.

use crate::auth::{Admin, GuildScope, Member};
use crate::http::answer::{cached, guilded, json};
use crate::params::{JsonBody, Params, Validate, text};
use crate::scope::{Freshness, Sql};
use crate::state::AppState;
use axum::extract::State;
use axum::http::Extensions;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;
use wowlogs_schemas::now_ms;
use wowlogs_store::progress::Sharing;
use wowlogs_tenancy::actor_of;

#[derive(Debug, clickhouse::Row, Deserialize)]
struct SharingRecord {
    guild_id: i64,
    comparisons: String,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct NameRecord {
    guild_id: i64,
    name: String,
    server: String,
    region: String,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct MedianRecord {
    guild_id: i64,
    median_item_level: f64,
    characters: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct KillRecord {
    guild_id: i64,
    difficulty: i32,
    bosses: u64,
}

/// Bosses killed on one difficulty.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DifficultyKills {
    pub difficulty: i32,
    pub difficulty_name: String,
    pub bosses: u64,
    /// Of the compared guilds, the share this guild is ahead of (ties count half), in
    /// percent; `null` with no other guild to compare with.
    pub percentile: Option<f64>,
}

/// One guild's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComparedGuild {
    /// Named only for this guild and guilds that opted in to be named.
    pub guild_name: String,
    pub realm: String,
    pub region: String,
    pub median_item_level: Option<f64>,
    /// Characters the median is of.
    pub characters: u64,
    pub bosses_killed: Vec<DifficultyKills>,
}

/// This guild among the guilds that share their figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct Comparison {
    /// This guild's part: `off`, `anonymous` or `named`.
    pub sharing: &'static str,
    pub guild: ComparedGuild,
    /// Other guilds in the comparison (0 while this guild does not take part).
    pub compared_guilds: usize,
    /// The share of compared guilds whose median item level is below this guild's (ties
    /// count half), in percent.
    pub item_level_percentile: Option<f64>,
    /// The other guilds' median item levels, lowest to highest, anonymous.
    pub others_median_item_levels: Vec<f64>,
    /// Guilds that opted in to be named (narrowed by `guild_name`, `realm`, `region`:
    /// empty when none matches).
    pub named: Vec<ComparedGuild>,
    pub note: String,
}

/// Narrows the named guilds to one.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompareWith {
    /// A guild's name (exact, any case).
    pub guild_name: Option<String>,
    /// Its realm (slug or name).
    pub realm: Option<String>,
    /// Its region.
    pub region: Option<String>,
}

impl Validate for CompareWith {
    fn validate(&self) -> Result<(), ApiError> {
        text("guild_name", &self.guild_name)?;
        text("realm", &self.realm)?;
        crate::params::region("region", &self.region)
    }
}

/// `value`'s percentile among `others`: the share below it, ties counted half.
fn percentile(value: f64, others: &[f64]) -> Option<f64> {
    if others.is_empty() {
        return None;
    }
    let below = others.iter().filter(|&&o| o < value).count() as f64;
    let equal = others.iter().filter(|&&o| o == value).count() as f64;
    Some(((below + equal / 2.0) / others.len() as f64 * 1000.0).round() / 10.0)
}

/// How the guild compares with the instance's guilds that share their figures.
#[utoipa::path(
    get, path = "/api/v1/guilds/{guild_id}/progress/comparisons", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild"), CompareWith),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The comparison", body = crate::http::answer::Guilded<Comparison>),
    )
)]
pub async fn comparisons(
    scope: GuildScope<Member>,
    Params(with): Params<CompareWith>,
) -> Result<Response, ApiError> {
    let key = (&with.guild_name, &with.realm, &with.region);
    cached(&scope.0, Freshness::Live, ("progress comparisons", key), async {
        let own = scope.0.guild_id();
        let db = scope.0.db.sharing().ok_or_else(|| ApiError::internal("a comparison is one guild's"))?;
        let sharing: HashMap<i64, Sharing> = db
            .all::<SharingRecord>(&Sql::new("SELECT guild_id, comparisons FROM progress_settings FINAL WHERE {guild}"))
            .await?
            .into_iter()
            .map(|s| (s.guild_id, Sharing::parse(&s.comparisons).unwrap_or_default()))
            .collect();
        let mine = sharing.get(&own).copied().unwrap_or_default();
        // A guild that does not take part sees only itself.
        let db = if mine == Sharing::Off { scope.0.db.clone() } else { db };
        let names: HashMap<i64, NameRecord> = db
            .all::<NameRecord>(&Sql::new("SELECT guild_id, name, server, region FROM guilds FINAL WHERE {guild}"))
            .await?
            .into_iter()
            .map(|n| (n.guild_id, n))
            .collect();
        let medians: HashMap<i64, MedianRecord> = db
            .all::<MedianRecord>(&Sql::new(
                "SELECT guild_id, quantileExact(0.5)(level) AS median_item_level, count() AS characters FROM \
                 (SELECT guild_id, player_guid, argMax(assumeNotNull(item_level), start) AS level, max(start) AS last \
                 FROM encounter_players WHERE {guild} AND isNotNull(item_level) GROUP BY guild_id, player_guid) \
                 ANY INNER JOIN (SELECT guild_id, max(start) AS guild_last FROM encounter_players WHERE {guild} \
                 GROUP BY guild_id) USING guild_id WHERE last >= guild_last - 28 * 86400 GROUP BY guild_id",
            ))
            .await?
            .into_iter()
            .map(|m| (m.guild_id, m))
            .collect();
        let mut kills: HashMap<i64, BTreeMap<i32, u64>> = HashMap::new();
        for k in db
            .all::<KillRecord>(&Sql::new(
                "SELECT guild_id, assumeNotNull(difficulty) AS difficulty, uniqExact(assumeNotNull(encounter_id)) AS bosses \
                 FROM encounters WHERE {guild} AND kind = 'encounter' AND kill = 1 AND isNotNull(difficulty) \
                 AND isNotNull(encounter_id) GROUP BY guild_id, difficulty",
            ))
            .await?
        {
            kills.entry(k.guild_id).or_default().insert(k.difficulty, k.bosses);
        }
        let others: Vec<i64> = names.keys().copied().filter(|&g| g != own && sharing.contains_key(&g)).collect();
        let median_of = |g: i64| medians.get(&g).map(|m| (m.median_item_level * 100.0).round() / 100.0);
        let figures = |g: i64, named: bool| {
            let place = names.get(&g);
            let text = |f: fn(&NameRecord) -> &String| if named { place.map(|p| f(p).clone()).unwrap_or_default() } else { String::new() };
            let bosses_killed = kills
                .get(&g)
                .into_iter()
                .flatten()
                .map(|(&difficulty, &bosses)| {
                    let theirs: Vec<f64> = others
                        .iter()
                        .filter(|&&o| o != g)
                        .map(|o| kills.get(o).and_then(|k| k.get(&difficulty)).copied().unwrap_or(0) as f64)
                        .collect();
                    DifficultyKills {
                        difficulty,
                        difficulty_name: wowlogs_encounters::difficulty_label(difficulty),
                        bosses,
                        percentile: if g == own { percentile(bosses as f64, &theirs) } else { None },
                    }
                })
                .collect();
            ComparedGuild {
                guild_name: text(|p| &p.name),
                realm: text(|p| &p.server),
                region: text(|p| &p.region),
                median_item_level: median_of(g),
                characters: medians.get(&g).map_or(0, |m| m.characters),
                bosses_killed,
            }
        };
        let guild = figures(own, true);
        let mut others_median: Vec<f64> = others.iter().filter_map(|&g| median_of(g)).collect();
        others_median.sort_by(f64::total_cmp);
        let matches = |n: &NameRecord| {
            with.guild_name.as_ref().is_none_or(|w| n.name.eq_ignore_ascii_case(w.trim()))
                && with.realm.as_ref().is_none_or(|w| wowlogs_progress::realm_slug(&n.server) == wowlogs_progress::realm_slug(w))
                && with.region.as_ref().is_none_or(|w| n.region.eq_ignore_ascii_case(w.trim()))
        };
        let mut named: Vec<ComparedGuild> = others
            .iter()
            .filter(|g| sharing.get(g) == Some(&Sharing::Named))
            .filter(|g| names.get(g).is_some_and(matches))
            .map(|&g| figures(g, true))
            .collect();
        named.sort_by(|a, b| a.guild_name.cmp(&b.guild_name));
        let note = if mine == Sharing::Off {
            "This guild does not take part in comparisons: its guild master opts in with PUT \
             /api/v1/guilds/{guild_id}/progress/comparisons ({\"share\": \"anonymous\"} or \"named\"), and then sees the \
             other guilds that do."
                .to_string()
        } else {
            format!("Compared with {} other guild(s) of this instance that share their figures.", others.len())
        };
        guilded(
            &scope.0,
            Comparison {
                sharing: mine.as_str(),
                item_level_percentile: guild.median_item_level.and_then(|m| percentile(m, &others_median)),
                guild,
                compared_guilds: others.len(),
                others_median_item_levels: others_median,
                named,
                note,
            },
        )
    })
    .await
}

/// This guild's part in comparisons.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharingBody {
    /// `off` (the default), `anonymous` (counted, not named) or `named`.
    pub share: Share,
}

/// A guild's part in comparisons.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Share {
    Off,
    Anonymous,
    Named,
}

impl From<Share> for Sharing {
    fn from(share: Share) -> Self {
        match share {
            Share::Off => Sharing::Off,
            Share::Anonymous => Sharing::Anonymous,
            Share::Named => Sharing::Named,
        }
    }
}

impl Validate for SharingBody {
    fn validate(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Sets whether this guild takes part in comparisons (the guild master's `admin` key;
/// others: 403). Audited.
#[utoipa::path(
    put, path = "/api/v1/guilds/{guild_id}/progress/comparisons", tag = "guild progress",
    params(("guild_id" = i64, Path, description = "The caller's guild")),
    request_body = SharingBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The guild's part, as set", body = crate::http::answer::Guilded<SharingBody>),
        (status = 403, description = "Not the guild master's key, or another guild's", body = crate::http::docs::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::http::docs::Error),
    )
)]
pub async fn write_sharing(
    State(state): State<AppState>,
    scope: GuildScope<Admin>,
    extensions: Extensions,
    JsonBody(body): JsonBody<SharingBody>,
) -> Result<Response, ApiError> {
    let sharing = Sharing::from(body.share);
    wowlogs_store::progress::set_sharing(&state.client, scope.0.guild_id(), sharing, now_ms())
        .await
        .map_err(super::plan::store_error)?;
    state.auditor.record(
        scope.0.guild_id(),
        &actor_of(&scope.0.principal.key_id, &extensions),
        "progress.comparisons",
        sharing.as_str(),
        String::new(),
    );
    Ok(json(guilded(&scope.0, SharingBody { share: body.share })?))
}
