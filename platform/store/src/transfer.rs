//! Moving encounters from one guild to another (an instance administrator's operation).
//!
//! An encounter is its `encounters` row (with the rounds of a Solo Shuffle match), its
//! details, players and deaths. A transfer writes them under the target guild (the fight id
//! is derived from the guild, so the moved fight gets the target's id), then deletes the
//! source's rows. The log itself (its raw events, its characters' gear, dead letters,
//! characters and `logs` row) stays with the guild that uploaded it.
//!
//! Every transfer is first recorded in `encounter_transfers`, so it is idempotent (a
//! fight already moved is reported as such, never copied twice) and survives a rebuild
//! of the projections from the topics: [`reapply_transfers`] moves again whatever the
//! replay put back under the source guild.

use crate::StoreSettings;
use crate::rows::{
    EncounterDeathRow, EncounterDetailRow, EncounterPlayerRow, EncounterRow, TableRow, fight_id, insert_rows,
};
use serde::{Deserialize, Serialize};
use wowlogs_schemas::{GuildId, LogId};

crate::table_row! {
    /// `encounter_transfers`: one row per fight moved (migration 0006).
    pub struct TransferRow in "encounter_transfers" {
        /// The guild the fight was moved from.
        guild_id: i64 = "Int64",
        log_id: i64 = "Int64",
        start_line: i64 = "Int64",
        /// The fight's id under the source guild (what the caller named).
        fight_id: i64 = "Int64",
        target_guild: i64 = "Int64",
        at_ms: i64 = "Int64",
        actor: String = "String",
    }
}

/// What a transfer did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Transferred {
    /// `(source fight id, target fight id)` of each fight moved now.
    pub moved: Vec<(i64, i64)>,
    /// Fights moved by an earlier transfer to the same target: `(source id, target id)`.
    pub already: Vec<(i64, i64)>,
    /// Ids that are no fight of the source guild (nor moved from it).
    pub unknown: Vec<i64>,
}

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("fight {fight_id} was moved to guild {target} before, not to guild {wanted}")]
    MovedElsewhere { fight_id: i64, target: i64, wanted: i64 },
    #[error("a transfer needs two different guilds")]
    SameGuild,
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct FightKey {
    fight_id: i64,
    log_id: i64,
    start_line: i64,
}

/// Moves the fights `fight_ids` (ids under `source`) to `target`; see the module.
pub async fn transfer_encounters(
    settings: &StoreSettings,
    source: GuildId,
    target: GuildId,
    fight_ids: &[i64],
    actor: &str,
) -> Result<Transferred, TransferError> {
    if source == target {
        return Err(TransferError::SameGuild);
    }
    let client = settings.client();
    let mut outcome = Transferred::default();
    if fight_ids.is_empty() {
        return Ok(outcome);
    }
    let earlier: Vec<TransferRow> = client
        .query("SELECT ?fields FROM encounter_transfers FINAL WHERE guild_id = ? AND has(?, fight_id)")
        .bind(source.0)
        .bind(fight_ids)
        .fetch_all()
        .await?;
    let found: Vec<FightKey> = client
        .query("SELECT fight_id, log_id, start_line FROM encounters FINAL WHERE guild_id = ? AND has(?, fight_id)")
        .bind(source.0)
        .bind(fight_ids)
        .fetch_all()
        .await?;
    let mut moving = Vec::new();
    for &id in fight_ids {
        if let Some(done) = earlier.iter().find(|t| t.fight_id == id) {
            if done.target_guild != target.0 {
                return Err(TransferError::MovedElsewhere {
                    fight_id: id,
                    target: done.target_guild,
                    wanted: target.0,
                });
            }
            // Moved before; rows the topics' replay brought back are moved again below.
            outcome.already.push((id, fight_id(target, LogId(done.log_id), done.start_line)));
            if let Some(key) = found.iter().find(|f| f.fight_id == id) {
                moving.push(transfer_row(source, target, key, actor));
            }
        } else if let Some(key) = found.iter().find(|f| f.fight_id == id) {
            outcome.moved.push((id, fight_id(target, LogId(key.log_id), key.start_line)));
            moving.push(transfer_row(source, target, key, actor));
        } else {
            outcome.unknown.push(id);
        }
    }
    if !moving.is_empty() {
        insert_rows(&client, &moving).await?;
        move_rows(settings, source, target, &moving).await?;
    }
    Ok(outcome)
}

fn transfer_row(source: GuildId, target: GuildId, key: &FightKey, actor: &str) -> TransferRow {
    TransferRow {
        guild_id: source.0,
        log_id: key.log_id,
        start_line: key.start_line,
        fight_id: key.fight_id,
        target_guild: target.0,
        at_ms: wowlogs_schemas::now_ms(),
        actor: actor.to_string(),
    }
}

/// Applies every recorded transfer again (after the projections were rebuilt from the
/// topics); returns the fights moved.
pub async fn reapply_transfers(settings: &StoreSettings) -> Result<usize, TransferError> {
    let transfers: Vec<TransferRow> =
        settings.client().query("SELECT ?fields FROM encounter_transfers FINAL").fetch_all().await?;
    let mut pairs: Vec<(i64, i64)> = transfers.iter().map(|t| (t.guild_id, t.target_guild)).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut moved = 0;
    for (source, target) in pairs {
        let rows: Vec<TransferRow> =
            transfers.iter().filter(|t| (t.guild_id, t.target_guild) == (source, target)).cloned().collect();
        moved += move_rows(settings, GuildId(source), GuildId(target), &rows).await?;
    }
    Ok(moved)
}

/// Copies the fights' rows (with their Solo Shuffle rounds) from `source` to `target`
/// and deletes them from `source`; returns how many fights were still under `source`.
async fn move_rows(
    settings: &StoreSettings,
    source: GuildId,
    target: GuildId,
    fights: &[TransferRow],
) -> Result<usize, clickhouse::error::Error> {
    let client = settings.client();
    let mut moved = 0;
    for fight in fights {
        // The fight, and its rounds if it is a match.
        let condition = "guild_id = ? AND log_id = ? AND (start_line = ? OR parent_start_line = ?)";
        let mut encounters: Vec<EncounterRow> = client
            .query(&format!("SELECT ?fields FROM encounters FINAL WHERE {condition}"))
            .bind(source.0)
            .bind(fight.log_id)
            .bind(fight.start_line)
            .bind(fight.start_line)
            .fetch_all()
            .await?;
        if encounters.is_empty() {
            continue;
        }
        moved += 1;
        let lines: Vec<i64> = encounters.iter().map(|e| e.start_line).collect();
        let of_fights = "guild_id = ? AND log_id = ? AND has(?, start_line)";
        let mut players: Vec<EncounterPlayerRow> = client
            .query(&format!("SELECT ?fields FROM encounter_players FINAL WHERE {of_fights}"))
            .bind(source.0)
            .bind(fight.log_id)
            .bind(&lines)
            .fetch_all()
            .await?;
        let mut deaths: Vec<EncounterDeathRow> = client
            .query(&format!("SELECT ?fields FROM encounter_deaths FINAL WHERE {of_fights}"))
            .bind(source.0)
            .bind(fight.log_id)
            .bind(&lines)
            .fetch_all()
            .await?;
        let mut details: Vec<EncounterDetailRow> = client
            .query(&format!("SELECT ?fields FROM encounter_details FINAL WHERE {of_fights}"))
            .bind(source.0)
            .bind(fight.log_id)
            .bind(&lines)
            .fetch_all()
            .await?;
        // Players, deaths and details first, the fight last: the API reads a fight as complete
        // once its row exists (as the encounter consumer writes them).
        players.iter_mut().for_each(|p| p.guild_id = target.0);
        deaths.iter_mut().for_each(|d| d.guild_id = target.0);
        details.iter_mut().for_each(|d| d.guild_id = target.0);
        for e in &mut encounters {
            e.guild_id = target.0;
            e.fight_id = fight_id(target, LogId(e.log_id), e.start_line);
        }
        insert_rows(&client, &players).await?;
        insert_rows(&client, &deaths).await?;
        insert_rows(&client, &details).await?;
        insert_rows(&client, &encounters).await?;
        for table in [
            EncounterRow::TABLE,
            EncounterDetailRow::TABLE,
            EncounterPlayerRow::TABLE,
            EncounterDeathRow::TABLE,
        ] {
            client
                .query(&format!("ALTER TABLE {} DELETE WHERE {of_fights}", settings.alter_target(table)))
                .bind(source.0)
                .bind(fight.log_id)
                .bind(&lines)
                .execute()
                .await?;
        }
    }
    if moved > 0 {
        crate::retention::wait_for_mutations(settings, std::time::Duration::from_secs(120)).await?;
        crate::rollups::refresh_guilds(settings, &[source.0, target.0]).await?;
    }
    Ok(moved)
}
