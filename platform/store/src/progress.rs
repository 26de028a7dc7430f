//! What a guild writes to its progress plan: its roster, its weekly targets, the guild
//! master's weekly guidance and its part in comparisons (migration 0016). Reads are the
//! query API's (guild-scoped, like every other read).
//!
//! Every change writes new versions (the time of the change, in ms): a character who
//! leaves the roster and a target taken off the roadmap are written again with
//! `active = 0`, so history stays and the current state is `FINAL … AND active = 1`.
//! Seeded targets have version 1, so seeding again writes identical rows and any edit
//! of the guild master's wins over them.

use crate::rows::{MessageRow, ProgressSettingsRow, RosterRow, TargetRow, date_number, date_of, insert_rows};
use chrono::NaiveDate;
use serde::Deserialize;
use wowlogs_progress::{Member, Roadmap, Target};

/// Whether a guild takes part in comparisons with the instance's other guilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sharing {
    /// Not compared (the default): its numbers are in no other guild's comparison.
    #[default]
    Off,
    /// Its numbers count in others' comparisons, without its name.
    Anonymous,
    /// Its numbers count with its name.
    Named,
}

impl Sharing {
    pub const ALL: [Sharing; 3] = [Sharing::Off, Sharing::Anonymous, Sharing::Named];

    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::Off => "off",
            Sharing::Anonymous => "anonymous",
            Sharing::Named => "named",
        }
    }

    pub fn parse(text: &str) -> Option<Sharing> {
        Sharing::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// What a roster change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterChange {
    /// Members in the new roster.
    pub members: usize,
    /// Members of the old roster not in the new one (they left).
    pub left: usize,
}

/// Replaces a guild's roster: `members` are its members from now on; anyone of the
/// current roster not among them has left (kept, inactive).
pub async fn replace_roster(
    client: &clickhouse::Client,
    guild_id: i64,
    members: &[Member],
    now_ms: i64,
) -> Result<RosterChange, clickhouse::error::Error> {
    let version = now_ms.max(1) as u64;
    let mut rows: Vec<RosterRow> = members
        .iter()
        .map(|m| RosterRow {
            guild_id,
            character: m.character.id(),
            name: m.character.name.clone(),
            realm: m.character.realm.clone(),
            region: m.character.region.clone(),
            rank: m.rank,
            main: m.main.as_ref().map(|k| k.display()).unwrap_or_default(),
            class: m.class.unwrap_or_default().to_string(),
            active: 1,
            updated_ms: now_ms,
            version,
        })
        .collect();
    let current = client
        .query(&format!(
            "SELECT {} FROM guild_roster FINAL WHERE guild_id = ? AND active = 1",
            <RosterRow as crate::rows::TableRow>::SELECT
        ))
        .bind(guild_id)
        .fetch_all::<RosterRow>()
        .await?;
    let staying: std::collections::HashSet<&str> = rows.iter().map(|r| r.character.as_str()).collect();
    let left: Vec<RosterRow> = current
        .into_iter()
        .filter(|r| !staying.contains(r.character.as_str()))
        .map(|r| RosterRow { active: 0, updated_ms: now_ms, version, ..r })
        .collect();
    let change = RosterChange { members: rows.len(), left: left.len() };
    rows.extend(left);
    insert_rows(client, &rows).await?;
    Ok(change)
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct WeekRow {
    week_start: u16,
}

/// Replaces a guild's targets: `targets` are its roadmap from now on; weeks of the
/// current one not among them are taken off (kept, inactive). Returns how many went.
pub async fn replace_targets(
    client: &clickhouse::Client,
    guild_id: i64,
    targets: &[Target],
    now_ms: i64,
) -> Result<usize, clickhouse::error::Error> {
    let version = now_ms.max(2) as u64;
    let current = client
        .query("SELECT week_start FROM progress_targets FINAL WHERE guild_id = ? AND active = 1")
        .bind(guild_id)
        .fetch_all::<WeekRow>()
        .await?;
    let mut rows = target_rows(guild_id, targets, now_ms, version);
    let kept: std::collections::HashSet<u16> = rows.iter().map(|r| r.week_start).collect();
    let gone: Vec<TargetRow> = current
        .into_iter()
        .filter(|w| !kept.contains(&w.week_start))
        .map(|w| TargetRow {
            guild_id,
            week_start: w.week_start,
            active: 0,
            updated_ms: now_ms,
            version,
            ..Default::default()
        })
        .collect();
    let taken_off = gone.len();
    rows.extend(gone);
    insert_rows(client, &rows).await?;
    Ok(taken_off)
}

fn target_rows(guild_id: i64, targets: &[Target], now_ms: i64, version: u64) -> Vec<TargetRow> {
    targets
        .iter()
        .map(|t| TargetRow {
            guild_id,
            week_start: date_number(t.week_start),
            target_item_level: t.item_level,
            label: t.label.clone(),
            active: 1,
            updated_ms: now_ms,
            version,
        })
        .collect()
}

/// The version of seeded targets: below any edit's (a time in ms).
const SEEDED_VERSION: u64 = 1;

/// A guild's targets from `roadmap`, if it has none yet (never had any: a guild master
/// who cleared the roadmap keeps it clear). Seeding again changes nothing. Returns the
/// targets written (0 when the guild had some).
pub async fn seed_targets(
    client: &clickhouse::Client,
    guild_id: i64,
    region: &str,
    roadmap: &Roadmap,
    season_start: Option<NaiveDate>,
) -> Result<usize, clickhouse::error::Error> {
    let had = client
        .query("SELECT count() AS n FROM progress_targets WHERE guild_id = ?")
        .bind(guild_id)
        .fetch_one::<crate::rows::Count>()
        .await?;
    if had.n > 0 {
        return Ok(0);
    }
    let rows = target_rows(guild_id, &roadmap.targets(region, season_start), 0, SEEDED_VERSION);
    insert_rows(client, &rows).await?;
    Ok(rows.len())
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct GuildRegion {
    guild_id: i64,
    region: String,
}

/// [`seed_targets`] for every active guild: `(guild id, targets written)` of each.
pub async fn seed_every_guild(
    client: &clickhouse::Client,
    roadmap: &Roadmap,
    season_start: Option<NaiveDate>,
) -> Result<Vec<(i64, usize)>, clickhouse::error::Error> {
    let guilds = client
        .query(
            "SELECT guild_id, region FROM guilds FINAL WHERE active = 1 AND guild_id > 0 ORDER BY guild_id",
        )
        .fetch_all::<GuildRegion>()
        .await?;
    let mut seeded = Vec::with_capacity(guilds.len());
    for guild in guilds {
        seeded.push((
            guild.guild_id,
            seed_targets(client, guild.guild_id, &guild.region, roadmap, season_start).await?,
        ));
    }
    Ok(seeded)
}

/// Writes the guild master's guidance for the week starting `week_start` (every
/// message is kept: the latest of a week is the week's).
pub async fn write_message(
    client: &clickhouse::Client,
    guild_id: i64,
    week_start: NaiveDate,
    message: &str,
    author: &str,
    now_ms: i64,
) -> Result<(), clickhouse::error::Error> {
    let row = MessageRow {
        guild_id,
        week_start: date_number(week_start),
        written_ms: now_ms,
        message: message.to_string(),
        author: author.to_string(),
        version: now_ms.max(0) as u64,
    };
    insert_rows(client, &[row]).await
}

/// Sets whether a guild takes part in comparisons.
pub async fn set_sharing(
    client: &clickhouse::Client,
    guild_id: i64,
    sharing: Sharing,
    now_ms: i64,
) -> Result<(), clickhouse::error::Error> {
    let row = ProgressSettingsRow {
        guild_id,
        comparisons: sharing.as_str().to_string(),
        updated_ms: now_ms,
        version: now_ms.max(0) as u64,
    };
    insert_rows(client, &[row]).await
}

/// A guild's targets as stored, oldest week first (for the CLI; the API reads its own).
pub async fn targets_of(
    client: &clickhouse::Client,
    guild_id: i64,
) -> Result<Vec<Target>, clickhouse::error::Error> {
    let rows = client
        .query(&format!(
            "SELECT {} FROM progress_targets FINAL WHERE guild_id = ? AND active = 1 ORDER BY week_start",
            <TargetRow as crate::rows::TableRow>::SELECT
        ))
        .bind(guild_id)
        .fetch_all::<TargetRow>()
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Target {
            week_start: date_of(r.week_start),
            item_level: r.target_item_level,
            label: r.label,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_parses_its_three_names() {
        assert_eq!(Sharing::parse("Named"), Some(Sharing::Named));
        assert_eq!(Sharing::parse(" off"), Some(Sharing::Off));
        assert_eq!(Sharing::parse("public"), None);
        assert_eq!(Sharing::default(), Sharing::Off);
    }
}
