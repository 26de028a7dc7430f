//! The queries behind the encounter endpoints, each reading through the caller's
//! [`GuildDb`] (so each is scoped to the caller's guild).

use super::{
    AbilityLine, BossLine, DeathLine, Encounter, EncounterDetail, EncounterFilter, PlayerLine, Stats,
};
use crate::http::answer::{Paged, paged};
use crate::params::{numeric_id, rfc3339};
use crate::scope::{GuildDb, Sql};
use serde::Deserialize;
use std::sync::LazyLock;
use wowlogs_http::ApiError;
use wowlogs_schemas::{FightKind, Named};
use wowlogs_store::rows::{EncounterDetailRow, EncounterRow, TableRow};

/// A page of fights, newest first.
pub(super) async fn page_of(db: &GuildDb, filter: &EncounterFilter) -> Result<Paged<Encounter>, ApiError> {
    let count = filter.apply(Sql::new("SELECT count() AS n FROM encounters FINAL WHERE {guild}"))?;
    let rows = filter
        .apply(Sql::new("SELECT").push(EncounterRow::SELECT).push("FROM encounters FINAL WHERE {guild}"))?
        .push("ORDER BY start_ms DESC, fight_id");
    paged::<EncounterRow, _>(db, &filter.page(), count, rows, Encounter::from).await
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct FightTotals {
    encounters: u64,
    kills: u64,
    wipes: u64,
    unique_bosses: u64,
    logs: u64,
    time_ms: i64,
    last_ms: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct CharacterTotals {
    characters: u64,
    active: u64,
}

const DAY_MS: i64 = 86_400_000;

/// The most players, deaths and rounds one fight's detail (and its exports) carries,
/// so a crafted fight cannot make an answer as large as its log (issue 27): a real
/// raid has at most 40 players, a few dozen deaths and a Solo Shuffle 6 rounds. Names
/// are already bounded by the rows (`wowlogs_store::rows::MAX_NAME_CHARS`).
pub const MAX_DETAIL_PLAYERS: usize = 1_000;
pub const MAX_DETAIL_DEATHS: usize = 5_000;
pub const MAX_DETAIL_ROUNDS: usize = 100;

/// `rows` cut to `max`, and whether there were more (the query asked for one more).
fn bounded<T>(mut rows: Vec<T>, max: usize) -> (Vec<T>, bool) {
    let cut = rows.len() > max;
    rows.truncate(max);
    (rows, cut)
}

/// Totals over the guild's fights and characters.
pub(super) async fn totals(db: &GuildDb) -> Result<Stats, ApiError> {
    // The day roll-ups (`wowlogs_store::rollups`): a few rows per day, not every fight.
    // Distinct logs do not add up over days; they are counted on the fights without
    // `FINAL`, which is exact here: every version of a fight has the fight's log.
    let fights = db
        .first::<FightTotals>(&Sql::new(
            "SELECT sum(pulls) AS encounters, sum(kills) AS kills, toUInt64(encounters - kills) AS wipes, \
             (SELECT uniqExact(name) FROM guild_day_bosses FINAL WHERE {guild} AND pulls > 0) AS unique_bosses, \
             (SELECT uniqExact(log_id) FROM encounters WHERE {guild} AND round IS NULL) AS logs, \
             sum(fight_ms) AS time_ms, max(last_end_ms) AS last_ms \
             FROM guild_days FINAL WHERE {guild} AND pulls > 0",
        ))
        .await?
        .ok_or_else(|| ApiError::internal("an aggregate returned no row"))?;
    let since = fights.last_ms - 30 * DAY_MS;
    let characters = db
        .first::<CharacterTotals>(
            &Sql::new(
                "SELECT uniqExact(player_guid) AS characters, uniqExactIf(player_guid, last_seen_ms >= ?) AS active \
                 FROM character_logs FINAL WHERE {guild} AND name != ''",
            )
            .value(since),
        )
        .await?
        .ok_or_else(|| ApiError::internal("an aggregate returned no row"))?;
    Ok(Stats {
        total_encounters: fights.encounters,
        kills: fights.kills,
        wipes: fights.wipes,
        unique_bosses: fights.unique_bosses,
        logs: fights.logs,
        total_characters: characters.characters,
        active_characters: if fights.encounters == 0 { 0 } else { characters.active },
        time_in_combat_ms: fights.time_ms,
        last_activity: (fights.encounters > 0).then(|| rfc3339(fights.last_ms)),
    })
}

/// The fight with this id, if it is the guild's: anything else is 404 (never echoing
/// the id), whether it exists for another guild or not at all.
pub(super) async fn fight_row(db: &GuildDb, id: &str) -> Result<EncounterRow, ApiError> {
    let not_found = || ApiError::not_found("no such encounter in this guild");
    let fight_id = numeric_id(id, "an encounter id", not_found)?;
    db.first::<EncounterRow>(
        &Sql::new("SELECT")
            .push(EncounterRow::SELECT)
            .push("FROM encounters FINAL WHERE {guild}")
            .bind("AND fight_id = ?", fight_id),
    )
    .await?
    .ok_or_else(not_found)
}

/// A fight's players ([`PlayerLine`]), to be narrowed to fights and ordered.
pub(super) const PLAYERS: &str = "SELECT log_id, start_line, player_guid, name, class, spec_id, item_level, \
     damage_done, healing_done, overhealing, absorbs_done, damage_taken, deaths, casts, dps, hps, interrupts, \
     dispels FROM encounter_players FINAL WHERE {guild}";

/// A fight's deaths ([`DeathLine`]), to be narrowed to fights and ordered.
pub(super) const DEATHS: &str = "SELECT log_id, start_line, line, timestamp_ms, fight_time_ms, player_guid, \
     player_name, ability, spell_id, source_guid, source_name, amount, overkill \
     FROM encounter_deaths FINAL WHERE {guild}";

/// The fight with this id, with its players, deaths and rounds. After the fight's row,
/// its parts are asked for at once: one round trip's wait instead of four (three but for
/// an arena match: only a Solo Shuffle has rounds).
pub(super) async fn detail_of(db: &GuildDb, id: &str) -> Result<EncounterDetail, ApiError> {
    let record = fight_row(db, id).await?;
    let players = Sql::new(PLAYERS)
        .bind("AND log_id = ?", record.log_id)
        .bind("AND start_line = ?", record.start_line)
        .push("ORDER BY damage_done DESC, player_guid")
        .bind("LIMIT ?", MAX_DETAIL_PLAYERS as i64 + 1);
    let deaths = Sql::new(DEATHS)
        .bind("AND log_id = ?", record.log_id)
        .bind("AND start_line = ?", record.start_line)
        .push("ORDER BY line, player_guid")
        .bind("LIMIT ?", MAX_DETAIL_DEATHS as i64 + 1);
    // Only an arena match (a Solo Shuffle) has rounds: no query for the others.
    let has_rounds = FightKind::from_code(record.kind) == Some(FightKind::Arena);
    let rounds = async {
        if !has_rounds {
            return Ok(Vec::new());
        }
        db.all::<EncounterRow>(
            &Sql::new("SELECT")
                .push(EncounterRow::SELECT)
                .push("FROM encounters FINAL WHERE {guild}")
                .bind("AND log_id = ?", record.log_id)
                .bind("AND parent_start_line = ?", record.start_line)
                .push("AND round IS NOT NULL ORDER BY round")
                .bind("LIMIT ?", MAX_DETAIL_ROUNDS as i64 + 1),
        )
        .await
    };
    // Each runs to its end even if another fails (`join!`, not `try_join!`): one of them
    // may be the circuit breaker's probe, whose success closes it; dropped mid-flight by
    // a sibling's refusal, no probe would ever finish and the breaker would stay open.
    let (players, deaths, rounds, details) = futures::join!(
        db.all::<PlayerLine>(&players),
        db.all::<DeathLine>(&deaths),
        rounds,
        details_of(db, &record, DetailParts::Summary)
    );
    let (players, deaths, rounds, details) = (players?, deaths?, rounds?, details?);
    let (players, players_cut) = bounded(players, MAX_DETAIL_PLAYERS);
    let (deaths, deaths_cut) = bounded(deaths, MAX_DETAIL_DEATHS);
    let (rounds, rounds_cut) = bounded(rounds, MAX_DETAIL_ROUNDS);
    let rounds = rounds.into_iter().map(Encounter::from).collect();
    let truncated = players_cut || deaths_cut || rounds_cut;
    let bosses = bosses_of(&details);
    let damage_taken_by_ability = abilities_of(&details);
    Ok(EncounterDetail {
        encounter: record.into(),
        rounds,
        players,
        deaths,
        bosses,
        damage_taken_by_ability,
        truncated,
    })
}

/// Which of a fight's detail arrays a page shows: a detail row holds every player's
/// abilities and auras too, so reading it whole for the bosses alone decompresses ten
/// times what the fight's page needs.
#[derive(Debug, Clone, Copy)]
pub(super) enum DetailParts {
    /// Bosses and the deadliest abilities: the fight's page.
    Summary,
    /// Those, interrupts and dispels, and the raid's damage and healing by ability: why we wiped.
    Wipe,
    /// Each player's abilities and auras: the breakdown.
    Breakdown,
}

impl DetailParts {
    /// `EncounterDetailRow`'s `SELECT` list with only these arrays read from disk.
    fn select(self) -> &'static str {
        static SUMMARY: LazyLock<String> =
            LazyLock::new(|| EncounterDetailRow::select_arrays(&["boss_", "taken_"]));
        static WIPE: LazyLock<String> =
            LazyLock::new(|| EncounterDetailRow::select_arrays(&["boss_", "taken_", "removal_", "done_"]));
        static BREAKDOWN: LazyLock<String> =
            LazyLock::new(|| EncounterDetailRow::select_arrays(&["done_", "aura_"]));
        match self {
            DetailParts::Summary => &SUMMARY,
            DetailParts::Wipe => &WIPE,
            DetailParts::Breakdown => &BREAKDOWN,
        }
    }
}

/// A fight's details (bosses, deadliest abilities, interrupts, abilities and auras; the
/// arrays of `parts`, the others empty); empty for a fight stored before they existed.
pub(super) async fn details_of(
    db: &GuildDb,
    fight: &EncounterRow,
    parts: DetailParts,
) -> Result<EncounterDetailRow, ApiError> {
    let details = db
        .first::<EncounterDetailRow>(
            &Sql::new("SELECT")
                .push(parts.select())
                .push("FROM encounter_details FINAL WHERE {guild}")
                .bind("AND log_id = ?", fight.log_id)
                .bind("AND start_line = ?", fight.start_line),
        )
        .await?;
    Ok(details.unwrap_or_default())
}

/// The bosses of a fight's row.
pub(super) fn bosses_of(row: &EncounterDetailRow) -> Vec<BossLine> {
    (0..row.boss_guid.len())
        .map(|i| {
            let (current_hp, max_hp) = (at(&row.boss_current_hp, i), at(&row.boss_max_hp, i));
            BossLine {
                guid: row.boss_guid[i].clone(),
                name: at(&row.boss_name, i),
                npc_id: at(&row.boss_npc_id, i),
                current_hp,
                max_hp,
                pct: wowlogs_encounters::bosses::percent(current_hp, max_hp),
                died: at(&row.boss_died, i) == 1,
            }
        })
        .collect()
}

/// The deadliest abilities of a fight's row.
pub(super) fn abilities_of(row: &EncounterDetailRow) -> Vec<AbilityLine> {
    (0..row.taken_ability.len())
        .map(|i| AbilityLine {
            ability: row.taken_ability[i].clone(),
            spell_id: at(&row.taken_spell_id, i),
            amount: at(&row.taken_amount, i),
            absorbed: at(&row.taken_absorbed, i),
            hits: at(&row.taken_hits, i),
            players: at(&row.taken_players, i),
            killing_blows: at(&row.taken_killing_blows, i),
        })
        .collect()
}

/// The `i`th element of one of a row's parallel arrays (written together, so of equal
/// length; a short one reads as empty, 0 or null rather than failing the answer).
pub(super) fn at<T: Clone + Default>(values: &[T], i: usize) -> T {
    values.get(i).cloned().unwrap_or_default()
}
