//! One fight, player by player: each player's damage and healing done and damage taken by
//! ability (hits, crits, absorbed, overhealing) and the auras they had (uptime,
//! applications).

use super::Encounter;
use super::queries::{DetailParts, at, details_of, fight_row};
use crate::auth::{Query, Scope};
use crate::http::answer::{Guilded, cached, guilded};
use crate::params::{Params, PathId, Validate, text};
use crate::scope::{Freshness, Sql};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;
use wowlogs_store::rows::EncounterDetailRow;

/// Players a breakdown lists (a fight's detail lists as many).
const MAX_BREAKDOWN_PLAYERS: usize = 1_000;

/// Which players.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BreakdownFilter {
    /// One player, by GUID or by name as the log writes it (`Name-Realm[-Region]`); a
    /// player not in the fight gives an empty list.
    pub player: Option<String>,
}

impl Validate for BreakdownFilter {
    fn validate(&self) -> Result<(), ApiError> {
        text("player", &self.player)
    }
}

/// Damage or healing one player did with one ability, or damage they took from one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AbilityUseLine {
    /// `damage` (done), `heal` (done) or `taken`.
    pub kind: String,
    pub ability: String,
    pub spell_id: Option<i32>,
    /// Damage done; healing done without overhealing; damage taken.
    pub amount: i64,
    pub hits: i64,
    pub crits: i64,
    /// Share of `hits` that were critical, 0 to 1.
    pub crit_rate: f64,
    pub absorbed: i64,
    pub overhealing: i64,
}

/// One aura on one player.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuraLine {
    pub spell_id: i32,
    pub aura: String,
    pub debuff: bool,
    pub uptime_ms: i64,
    /// Share of the fight the aura was up, 0 to 100.
    pub uptime_pct: f64,
    pub applications: i64,
}

/// One player's breakdown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlayerBreakdown {
    pub player_guid: String,
    pub name: String,
    pub class: String,
    pub spec_id: Option<i32>,
    pub damage_done: i64,
    pub healing_done: i64,
    /// The most done first (at most 25: the fight core's `MAX_ABILITIES_PER_PLAYER`),
    /// then the most taken (at most 15: `MAX_TAKEN_PER_PLAYER`).
    pub abilities: Vec<AbilityUseLine>,
    /// The longest up first (at most 20: `MAX_AURAS_PER_PLAYER`).
    pub auras: Vec<AuraLine>,
}

/// A fight's players with their abilities and auras.
#[derive(Debug, Serialize, ToSchema)]
pub struct FightBreakdown {
    pub encounter: Encounter,
    /// By damage done, then healing done.
    pub players: Vec<PlayerBreakdown>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Player {
    player_guid: String,
    name: String,
    class: String,
    spec_id: Option<i32>,
    damage_done: i64,
    healing_done: i64,
}

/// The whole raid's damage or healing done with one ability in a fight.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RaidAbilityLine {
    pub ability: String,
    pub spell_id: Option<i32>,
    pub amount: i64,
    pub hits: i64,
    pub crits: i64,
    /// Share of `hits` that were critical, 0 to 1.
    pub crit_rate: f64,
    pub overhealing: i64,
    /// Players (with their pets) who used it.
    pub players: i64,
}

/// The raid's damage (`heal`: healing) done by ability, the most first: the players'
/// lines added up (each player's 25 biggest abilities; exact for players who used no
/// more).
pub(super) fn raid_done_of(row: &EncounterDetailRow, kind: &str) -> Vec<RaidAbilityLine> {
    let mut lines: HashMap<(Option<i32>, String), (RaidAbilityLine, std::collections::HashSet<String>)> =
        HashMap::new();
    for i in (0..row.done_kind.len()).filter(|&i| row.done_kind[i] == kind) {
        let key = (at(&row.done_spell_id, i), at(&row.done_ability, i));
        let (line, players) = lines.entry(key.clone()).or_insert_with(|| {
            let line = RaidAbilityLine {
                ability: key.1.clone(),
                spell_id: key.0,
                amount: 0,
                hits: 0,
                crits: 0,
                crit_rate: 0.0,
                overhealing: 0,
                players: 0,
            };
            (line, Default::default())
        });
        line.amount += at(&row.done_amount, i);
        line.hits += at(&row.done_hits, i);
        line.crits += at(&row.done_crits, i);
        line.overhealing += at(&row.done_overhealing, i);
        players.insert(at(&row.done_player_guid, i));
    }
    let mut lines: Vec<RaidAbilityLine> = lines
        .into_values()
        .map(|(mut line, players)| {
            line.players = players.len() as i64;
            line.crit_rate = crit_rate(line.crits, line.hits);
            line
        })
        .collect();
    lines.sort_by(|a, b| {
        b.amount.cmp(&a.amount).then_with(|| (a.spell_id, &a.ability).cmp(&(b.spell_id, &b.ability)))
    });
    lines.truncate(RAID_ABILITIES);
    lines
}

/// The share of `hits` that were critical, 0 to 1 (0 without hits).
fn crit_rate(crits: i64, hits: i64) -> f64 {
    if hits > 0 { crits as f64 / hits as f64 } else { 0.0 }
}

/// Abilities the raid's lists keep.
const RAID_ABILITIES: usize = 25;

/// Each player's abilities and auras out of the fight's details row, by player GUID.
fn by_player(
    row: &EncounterDetailRow,
    duration_ms: i64,
) -> HashMap<String, (Vec<AbilityUseLine>, Vec<AuraLine>)> {
    let mut players: HashMap<String, (Vec<AbilityUseLine>, Vec<AuraLine>)> = HashMap::new();
    for i in 0..row.done_player_guid.len() {
        let hits = at(&row.done_hits, i);
        let crits = at(&row.done_crits, i);
        players.entry(at(&row.done_player_guid, i)).or_default().0.push(AbilityUseLine {
            kind: at(&row.done_kind, i),
            ability: at(&row.done_ability, i),
            spell_id: at(&row.done_spell_id, i),
            amount: at(&row.done_amount, i),
            hits,
            crits,
            crit_rate: crit_rate(crits, hits),
            absorbed: at(&row.done_absorbed, i),
            overhealing: at(&row.done_overhealing, i),
        });
    }
    for i in 0..row.aura_player_guid.len() {
        let uptime_ms = at(&row.aura_uptime_ms, i);
        let pct =
            if duration_ms > 0 { (100.0 * uptime_ms as f64 / duration_ms as f64).min(100.0) } else { 0.0 };
        players.entry(at(&row.aura_player_guid, i)).or_default().1.push(AuraLine {
            spell_id: at(&row.aura_spell_id, i),
            aura: at(&row.aura_name, i),
            debuff: at(&row.aura_debuff, i) == 1,
            uptime_ms,
            uptime_pct: (pct * 10.0).round() / 10.0,
            applications: at(&row.aura_applications, i),
        });
    }
    players
}

/// Each player's damage and healing done by ability, and the auras they had.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}/players", tag = "encounters",
    params(("id" = String, Path, description = "Encounter id"), BreakdownFilter),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "Each player's abilities and auras", body = Guilded<FightBreakdown>),
        (status = 404, description = "No such fight in this guild"),
    )
)]
pub async fn players(
    scope: Scope<Query>,
    PathId(id): PathId<String>,
    Params(filter): Params<BreakdownFilter>,
) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Settled, ("breakdown", &id, &filter.player), async {
        let row = fight_row(&scope.db, &id).await?;
        let mut players = scope
            .db
            .all::<Player>(
                &Sql::new(
                    "SELECT player_guid, name, class, spec_id, damage_done, healing_done \
                     FROM encounter_players FINAL WHERE {guild}",
                )
                .bind("AND log_id = ?", row.log_id)
                .bind("AND start_line = ?", row.start_line)
                .push("ORDER BY damage_done DESC, healing_done DESC, player_guid")
                .bind("LIMIT ?", MAX_BREAKDOWN_PLAYERS as i64),
            )
            .await?;
        if let Some(wanted) = &filter.player {
            players.retain(|p| &p.player_guid == wanted || &p.name == wanted);
        }
        let details = details_of(&scope.db, &row, DetailParts::Breakdown).await?;
        let mut tables = by_player(&details, row.duration_ms);
        let players = players
            .into_iter()
            .map(|p| {
                let (abilities, auras) = tables.remove(&p.player_guid).unwrap_or_default();
                PlayerBreakdown {
                    player_guid: p.player_guid,
                    name: p.name,
                    class: p.class,
                    spec_id: p.spec_id,
                    damage_done: p.damage_done,
                    healing_done: p.healing_done,
                    abilities,
                    auras,
                }
            })
            .collect();
        guilded(&scope, FightBreakdown { encounter: row.into(), players })
    })
    .await
}
