//! Why did we wipe: a fight's deaths with their recaps, the abilities that hurt the raid
//! most, each boss's health at the end, and one boss's pulls in order.

use super::breakdown::{RaidAbilityLine, raid_done_of};
use super::queries::{DetailParts, abilities_of, at, bosses_of, details_of, fight_row};
use super::{AbilityLine, BossLine, Encounter, Outcome};
use crate::auth::{Query, Scope};
use crate::http::answer::{Guilded, GuildedPage, cached, guilded, guilded_page, paged};
use crate::params::{MAX_DEATHS_PER_PAGE, Page, Params, PathId, Validate};
use crate::scope::{Freshness, GuildDb, Sql};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use wowlogs_http::ApiError;
use wowlogs_schemas::{FightKind, Named};
use wowlogs_store::rows::{EncounterDetailRow, EncounterRow, TableRow};

/// Why a fight has no boss health, as the answers say it.
pub(super) fn missing(row: &EncounterRow) -> Option<String> {
    let boss_fight = row.kind == FightKind::Encounter.code();
    match (&row.boss_pct, row.boss_pct_missing.as_str()) {
        (Some(_), _) => None,
        (None, "") if boss_fight => Some("not_computed".to_string()),
        (None, "") => None,
        (None, reason) => Some(reason.to_string()),
    }
}

/// The abilities that hurt the fight's players most, and the raid's own.
#[derive(Debug, Serialize, ToSchema)]
pub struct FightAbilities {
    pub encounter: Encounter,
    /// Most damage first; "which ability hurt the raid most" is the first.
    pub damage_taken: Vec<AbilityLine>,
    /// The raid's damage done by ability, most first (the players' lines added up; each
    /// player's own are in `/players`).
    pub damage_done: Vec<RaidAbilityLine>,
    /// The raid's healing done by ability, most first.
    pub healing_done: Vec<RaidAbilityLine>,
    /// Boss fights: each boss's health when the pull ended.
    pub bosses: Vec<BossLine>,
}

/// One fight's deadliest abilities and its bosses' health at the end.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}/abilities", tag = "encounters",
    params(("id" = String, Path, description = "Encounter id")),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "Damage taken and the raid's damage and healing done by ability, bosses' health", body = Guilded<FightAbilities>),
        (status = 404, description = "No such fight in this guild"),
    )
)]
pub async fn abilities(scope: Scope<Query>, PathId(id): PathId<String>) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Settled, ("abilities", &id), async {
        let row = fight_row(&scope.db, &id).await?;
        let details = details_of(&scope.db, &row, DetailParts::Wipe).await?;
        let answer = FightAbilities {
            damage_taken: abilities_of(&details),
            damage_done: raid_done_of(&details, "damage"),
            healing_done: raid_done_of(&details, "heal"),
            bosses: bosses_of(&details),
            encounter: row.into(),
        };
        guilded(&scope, answer)
    })
    .await
}

/// An interrupt, dispel or spellsteal by a player (or their pet).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemovalLine {
    pub timestamp_ms: i64,
    /// `interrupt`, `dispel` or `steal`.
    pub kind: String,
    /// The player credited (a pet's owner).
    pub player_guid: String,
    /// Who cast it as the log names it (the player, or their pet).
    pub source_name: String,
    /// The spell used (`Kick`, `Dispel Magic`).
    pub ability: String,
    pub spell_id: i32,
    /// The spell interrupted, or the aura removed or stolen.
    pub removed: String,
    pub removed_spell_id: i32,
    pub target_guid: String,
    pub target_name: String,
}

/// A player's interrupts and dispels in a fight.
#[derive(Debug, Clone, Serialize, ToSchema, clickhouse::Row, Deserialize)]
pub struct RemovalCount {
    pub player_guid: String,
    pub name: String,
    pub interrupts: i64,
    pub dispels: i64,
}

/// Who interrupted and dispelled what in a fight.
#[derive(Debug, Serialize, ToSchema)]
pub struct FightRemovals {
    pub encounter: Encounter,
    /// Players with any, most interrupts first.
    pub players: Vec<RemovalCount>,
    /// Each interrupt, dispel and spellsteal in order (the first 1,000 of a fight).
    pub removals: Vec<RemovalLine>,
}

/// The interrupts, dispels and spellsteals of a fight's row.
fn removals_of(row: &EncounterDetailRow) -> Vec<RemovalLine> {
    (0..row.removal_timestamp_ms.len())
        .map(|i| RemovalLine {
            timestamp_ms: row.removal_timestamp_ms[i],
            kind: at(&row.removal_kind, i),
            player_guid: at(&row.removal_player_guid, i),
            source_name: at(&row.removal_source_name, i),
            ability: at(&row.removal_ability, i),
            spell_id: at(&row.removal_spell_id, i),
            removed: at(&row.removal_removed, i),
            removed_spell_id: at(&row.removal_removed_spell_id, i),
            target_guid: at(&row.removal_target_guid, i),
            target_name: at(&row.removal_target_name, i),
        })
        .collect()
}

/// Who interrupted and dispelled what: each player's counts and every interrupt, dispel
/// and spellsteal of the fight in order.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}/interrupts", tag = "encounters",
    params(("id" = String, Path, description = "Encounter id")),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "Interrupts and dispels", body = Guilded<FightRemovals>),
        (status = 404, description = "No such fight in this guild"),
    )
)]
pub async fn interrupts(scope: Scope<Query>, PathId(id): PathId<String>) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Settled, ("interrupts", &id), async {
        let row = fight_row(&scope.db, &id).await?;
        let players = scope
            .db
            .all::<RemovalCount>(
                &Sql::new(
                    "SELECT player_guid, name, interrupts, dispels FROM encounter_players FINAL WHERE {guild}",
                )
                .bind("AND log_id = ?", row.log_id)
                .bind("AND start_line = ?", row.start_line)
                .push("AND interrupts + dispels > 0 ORDER BY interrupts DESC, dispels DESC, player_guid")
                .bind("LIMIT ?", super::MAX_DETAIL_PLAYERS as i64),
            )
            .await?;
        let details = details_of(&scope.db, &row, DetailParts::Wipe).await?;
        let answer = FightRemovals { players, removals: removals_of(&details), encounter: row.into() };
        guilded(&scope, answer)
    })
    .await
}

/// A line of a death recap.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecapLine {
    pub timestamp_ms: i64,
    /// Milliseconds before the death.
    pub before_death_ms: i64,
    /// `damage` or `heal`.
    pub kind: String,
    pub ability: String,
    pub spell_id: Option<i32>,
    pub source_guid: String,
    pub source_name: String,
    /// Damage (with overkill) or healing (with overhealing); 0 for a hit shields took whole.
    pub amount: i64,
    pub overkill: i64,
    pub absorbed: i64,
    pub overhealing: i64,
    /// The player's health after the line, where the log wrote it.
    pub hp: Option<i64>,
    pub max_hp: Option<i64>,
}

/// The hit that killed a player.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KillingBlowLine {
    pub ability: String,
    pub spell_id: Option<i32>,
    pub source_guid: String,
    pub source_name: String,
    pub amount: i64,
    pub overkill: i64,
}

/// A death with its recap.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeathWithRecap {
    /// 1 for the fight's first death, and so on.
    pub order: u64,
    pub line: i64,
    pub timestamp_ms: i64,
    /// Milliseconds since the pull.
    pub fight_time_ms: i64,
    pub player_guid: String,
    pub player_name: String,
    /// Null when the log has no damage to the player before the death.
    pub killing_blow: Option<KillingBlowLine>,
    /// The 10 s before the death, newest (the killing blow) first, at most 100 lines.
    pub recap: Vec<RecapLine>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct DeathRow {
    line: i64,
    timestamp_ms: i64,
    fight_time_ms: i64,
    player_guid: String,
    player_name: String,
    ability: String,
    spell_id: Option<i32>,
    source_guid: String,
    source_name: String,
    amount: i64,
    overkill: i64,
    recap_timestamp_ms: Vec<i64>,
    recap_kind: Vec<String>,
    recap_ability: Vec<String>,
    recap_spell_id: Vec<Option<i32>>,
    recap_source_guid: Vec<String>,
    recap_source_name: Vec<String>,
    recap_amount: Vec<i64>,
    recap_overkill: Vec<i64>,
    recap_absorbed: Vec<i64>,
    recap_overhealing: Vec<i64>,
    recap_hp: Vec<Option<i64>>,
    recap_max_hp: Vec<Option<i64>>,
}

impl DeathRow {
    fn into_death(self, order: u64) -> DeathWithRecap {
        let recap = (0..self.recap_timestamp_ms.len())
            .map(|i| RecapLine {
                timestamp_ms: self.recap_timestamp_ms[i],
                before_death_ms: self.timestamp_ms - self.recap_timestamp_ms[i],
                kind: at(&self.recap_kind, i),
                ability: at(&self.recap_ability, i),
                spell_id: at(&self.recap_spell_id, i),
                source_guid: at(&self.recap_source_guid, i),
                source_name: at(&self.recap_source_name, i),
                amount: at(&self.recap_amount, i),
                overkill: at(&self.recap_overkill, i),
                absorbed: at(&self.recap_absorbed, i),
                overhealing: at(&self.recap_overhealing, i),
                hp: at(&self.recap_hp, i),
                max_hp: at(&self.recap_max_hp, i),
            })
            .collect();
        // A death without a hit before it has an empty killing blow row.
        let killing_blow = (!self.ability.is_empty()).then_some(KillingBlowLine {
            ability: self.ability,
            spell_id: self.spell_id,
            source_guid: self.source_guid,
            source_name: self.source_name,
            amount: self.amount,
            overkill: self.overkill,
        });
        DeathWithRecap {
            order,
            line: self.line,
            timestamp_ms: self.timestamp_ms,
            fight_time_ms: self.fight_time_ms,
            player_guid: self.player_guid,
            player_name: self.player_name,
            killing_blow,
            recap,
        }
    }
}

/// A page of a fight's deaths.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeathList {
    /// In the order they happened.
    pub deaths: Vec<DeathWithRecap>,
    /// The fight's deaths, over all pages.
    pub total: u64,
}

/// Pages of deaths: like every list, with at most [`MAX_DEATHS_PER_PAGE`] per page.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeathPage {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Deaths per page (default 50, at most 100); `limit` is another name for it.
    #[param(minimum = 1, maximum = 100)]
    #[serde(alias = "limit")]
    pub per_page: Option<u32>,
}

impl DeathPage {
    fn page(self) -> Page {
        Page { page: self.page, per_page: self.per_page }
    }
}

impl Validate for DeathPage {
    fn validate(&self) -> Result<(), ApiError> {
        self.page().validate()?;
        if self.page().per_page() > MAX_DEATHS_PER_PAGE {
            return Err(ApiError::bad_request(format!(
                "`per_page` must be between 1 and {MAX_DEATHS_PER_PAGE} for deaths"
            )));
        }
        Ok(())
    }
}

/// A fight's deaths in order, each with its recap: what hit (and healed) the player in
/// the 10 s before, the killing blow first.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}/deaths", tag = "encounters",
    params(("id" = String, Path, description = "Encounter id"), DeathPage),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The fight's deaths with their recaps", body = GuildedPage<DeathList>),
        (status = 400, description = "Invalid page"),
        (status = 404, description = "No such fight in this guild"),
    )
)]
pub async fn deaths(
    scope: Scope<Query>,
    PathId(id): PathId<String>,
    Params(page): Params<DeathPage>,
) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Settled, ("deaths", &id, page.page, page.per_page), async {
        let row = fight_row(&scope.db, &id).await?;
        let of_fight = |sql: Sql| {
            sql.bind("AND log_id = ?", row.log_id).bind("AND start_line = ?", row.start_line)
        };
        let count = of_fight(Sql::new("SELECT count() AS n FROM encounter_deaths FINAL WHERE {guild}"));
        let rows = of_fight(Sql::new(
            "SELECT line, timestamp_ms, fight_time_ms, player_guid, player_name, ability, spell_id, source_guid, \
             source_name, amount, overkill, recap_timestamp_ms, recap_kind, recap_ability, recap_spell_id, \
             recap_source_guid, recap_source_name, recap_amount, recap_overkill, recap_absorbed, \
             recap_overhealing, recap_hp, recap_max_hp FROM encounter_deaths FINAL WHERE {guild}",
        ))
        .push("ORDER BY line, player_guid");
        let page = page.page();
        let mut order = page.offset() as u64;
        let listed = paged::<DeathRow, _>(&scope.db, &page, count, rows, |death| {
            order += 1;
            death.into_death(order)
        })
        .await?;
        guilded_page(&scope, listed, |deaths, total| DeathList { deaths, total })
    })
    .await
}

/// Which boss's pulls.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PullFilter {
    /// The boss: the game's encounter id (a fight's `encounter_id`).
    pub encounter_id: i32,
    /// Difficulty id (e.g. 16 Mythic raid); all difficulties when absent.
    pub difficulty: Option<i32>,
    #[param(inline)]
    pub outcome: Option<Outcome>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Pulls per page (default 50, at most 500); `limit` is another name for it.
    #[serde(alias = "limit")]
    pub per_page: Option<u32>,
}

impl PullFilter {
    fn page(&self) -> Page {
        Page { page: self.page, per_page: self.per_page }
    }

    /// The boss's pulls (a Mythic+ run's bosses too; never arenas or whole keys).
    fn apply(&self, sql: Sql) -> Sql {
        let sql = sql
            .push("AND round IS NULL")
            .bind("AND kind = ?", FightKind::Encounter.name())
            .bind("AND encounter_id = ?", self.encounter_id)
            .and("AND difficulty = ?", self.difficulty);
        match self.outcome {
            Some(Outcome::Kill) => sql.push("AND ifNull(kill, 2) = 1"),
            Some(Outcome::Wipe) => sql.push("AND ifNull(kill, 2) = 0"),
            None => sql,
        }
    }
}

impl Validate for PullFilter {
    fn validate(&self) -> Result<(), ApiError> {
        self.page().validate()
    }
}

/// The first death of a pull.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FirstDeath {
    pub player_name: String,
    /// Milliseconds into the pull.
    pub fight_time_ms: i64,
    /// What killed them (empty when the log has no hit before the death).
    pub ability: String,
    pub source_name: String,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct FirstDeathRow {
    log_id: i64,
    start_line: i64,
    player_name: String,
    /// Milliseconds into the pull.
    pub fight_time_ms: i64,
    /// What killed them (empty when the log has no hit before the death).
    pub ability: String,
    pub source_name: String,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct RaidTotals {
    log_id: i64,
    start_line: i64,
    raid_dps: f64,
    raid_hps: f64,
    deaths: i64,
}

/// One pull of a boss.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pull {
    /// 1 for the boss's first pull (at this filter), and so on.
    pub number: u64,
    #[serde(flatten)]
    pub encounter: Encounter,
    pub deaths: i64,
    pub first_death: Option<FirstDeath>,
    /// The players' DPS and HPS added up.
    pub raid_dps: f64,
    pub raid_hps: f64,
    /// This is the best pull: the fastest kill, or without a kill the lowest boss health.
    pub best: bool,
}

/// A page of one boss's pulls.
#[derive(Debug, Serialize, ToSchema)]
pub struct PullList {
    /// Oldest first.
    pub pulls: Vec<Pull>,
    /// Pulls matching the filter, over all pages.
    pub total: u64,
    /// The best pull's id: the fastest kill, or the wipe with the lowest boss health
    /// (the earliest of equals). Null without pulls.
    pub best_pull_id: Option<String>,
    /// The best pull's boss health (0 for a kill).
    pub best_boss_pct: Option<f64>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Best {
    fight_id: i64,
    boss_pct: Option<f64>,
}

/// Pull over pull: one boss's pulls in order, each with its duration, boss health at the
/// end, deaths, first death and raid DPS/HPS, and the best pull.
#[utoipa::path(
    get, path = "/api/v1/encounters/pulls", tag = "encounters",
    params(PullFilter),
    security(("bearer" = ["query"])),
    responses(
        (status = 200, description = "The boss's pulls, oldest first", body = GuildedPage<PullList>),
        (status = 400, description = "No `encounter_id`, or an invalid filter"),
    )
)]
pub async fn pulls(scope: Scope<Query>, Params(filter): Params<PullFilter>) -> Result<Response, ApiError> {
    cached(&scope, Freshness::Live, ("pulls", &filter), async {
        let db = &scope.db;
        let best = best_pull(db, &filter).await?;
        let count = filter.apply(Sql::new("SELECT count() AS n FROM encounters FINAL WHERE {guild}"));
        let rows = filter
            .apply(Sql::new("SELECT").push(EncounterRow::SELECT).push("FROM encounters FINAL WHERE {guild}"))
            .push("ORDER BY start_ms, fight_id");
        let page = filter.page();
        let listed = paged::<EncounterRow, _>(db, &page, count, rows, |row| row).await?;
        let (totals, first_deaths) = pull_extras(db, &filter, &page).await?;
        let mut number = page.offset() as u64;
        let paged = crate::http::answer::Paged {
            items: listed
                .items
                .into_iter()
                .map(|row| {
                    number += 1;
                    let key = (row.log_id, row.start_line);
                    let raid = totals.get(&key);
                    Pull {
                        number,
                        best: best.as_ref().is_some_and(|b| b.fight_id == row.fight_id),
                        deaths: raid.map_or(0, |t| t.deaths),
                        raid_dps: raid.map_or(0.0, |t| t.raid_dps),
                        raid_hps: raid.map_or(0.0, |t| t.raid_hps),
                        first_death: first_deaths.get(&key).cloned(),
                        encounter: row.into(),
                    }
                })
                .collect(),
            pagination: listed.pagination,
        };
        guilded_page(&scope, paged, |pulls, total| PullList {
            pulls,
            total,
            best_pull_id: best.as_ref().map(|b| b.fight_id.to_string()),
            best_boss_pct: best.as_ref().and_then(|b| b.boss_pct),
        })
    })
    .await
}

/// The best of the boss's pulls: a kill (the fastest) before any wipe, then the lowest
/// boss health, then the earliest.
async fn best_pull(db: &GuildDb, filter: &PullFilter) -> Result<Option<Best>, ApiError> {
    let sql = filter.apply(Sql::new("SELECT fight_id, boss_pct FROM encounters FINAL WHERE {guild}")).push(
        "ORDER BY ifNull(kill, 0) DESC, if(ifNull(kill, 0) = 1, duration_ms, 0), ifNull(boss_pct, 1000), \
             start_ms, fight_id LIMIT 1",
    );
    db.first::<Best>(&sql).await
}

type PullKey = (i64, i64);

/// The raid's totals and the first death of each pull of the page.
async fn pull_extras(
    db: &GuildDb,
    filter: &PullFilter,
    page: &Page,
) -> Result<(HashMap<PullKey, RaidTotals>, HashMap<PullKey, FirstDeath>), ApiError> {
    let of_page = |sql: Sql| {
        filter
            .apply(sql.push(
                "AND (log_id, start_line) IN (SELECT log_id, start_line FROM encounters FINAL WHERE {guild}",
            ))
            .push("ORDER BY start_ms, fight_id")
            .bind("LIMIT ?", i64::from(page.per_page()))
            .bind("OFFSET ?", page.offset())
            .push(")")
    };
    let totals = db
        .all::<RaidTotals>(
            &of_page(Sql::new(
                "SELECT log_id, start_line, sum(dps) AS raid_dps, sum(hps) AS raid_hps, sum(deaths) AS deaths \
                 FROM encounter_players FINAL WHERE {guild}",
            ))
            .push("GROUP BY log_id, start_line"),
        )
        .await?;
    let firsts = db
        .all::<FirstDeathRow>(
            &of_page(Sql::new(
                "SELECT log_id, start_line, argMin(player_name, line) AS player_name, \
                 min(fight_time_ms) AS fight_time_ms, argMin(ability, line) AS ability, \
                 argMin(source_name, line) AS source_name FROM encounter_deaths FINAL WHERE {guild}",
            ))
            .push("GROUP BY log_id, start_line"),
        )
        .await?;
    Ok((
        totals.into_iter().map(|t| ((t.log_id, t.start_line), t)).collect(),
        firsts
            .into_iter()
            .map(|f| {
                let first = FirstDeath {
                    player_name: f.player_name,
                    fight_time_ms: f.fight_time_ms,
                    ability: f.ability,
                    source_name: f.source_name,
                };
                ((f.log_id, f.start_line), first)
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_deaths_holds_at_most_a_hundred() {
        let page = |per_page| DeathPage { page: None, per_page: Some(per_page) };
        assert!(page(100).validate().is_ok());
        assert!(page(101).validate().is_err());
    }
}
