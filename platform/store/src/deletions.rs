//! Deleted logs stay deleted (migration 0012). The topics are the system of record and
//! keep every record for ever, so whatever reads them again (a rebuild, a restore, a new
//! consumer group) would bring a deleted log back. A deletion is therefore recorded in
//! `deleted_logs` before any row goes; that table is never rebuilt, a backup carries it,
//! and the consumers drop the rows of every log it lists before they write
//! ([`deleted_among`]).
//!
//! A log is its guild's and its content's (`LogId`): the same file uploaded again is the
//! same log, which the upload service answers as a duplicate of the deleted upload.
//!
//! A whole guild purged by an instance administrator (`crate::purge`) is recorded the
//! same way, once, in `purged_guilds` (migration 0017): every log of that guild counts
//! as deleted, including logs still on their way through the topics when it was purged.

use crate::rows::insert_rows;
use serde::Deserialize;
use std::collections::HashSet;

crate::table_row! {
    /// `deleted_logs`: one row per log deleted (migration 0012).
    pub struct DeletedLogRow in "deleted_logs" {
        guild_id: i64 = "Int64",
        log_id: i64 = "Int64",
        /// `retention`, or what the operator who deleted it said.
        reason: String = "String",
        at_ms: i64 = "Int64",
        actor: String = "String",
    }
}

/// Records that these logs of `guild_id` are deleted (before their rows go).
pub async fn record_deleted(
    client: &clickhouse::Client,
    guild_id: i64,
    logs: &[i64],
    reason: &str,
    actor: &str,
) -> Result<(), clickhouse::error::Error> {
    let at_ms = wowlogs_schemas::now_ms();
    let rows: Vec<DeletedLogRow> = logs
        .iter()
        .map(|&log_id| DeletedLogRow {
            guild_id,
            log_id,
            reason: reason.to_string(),
            at_ms,
            actor: actor.to_string(),
        })
        .collect();
    insert_rows(client, &rows).await
}

crate::table_row! {
    /// `purged_guilds`: one row per guild whose data was purged (migration 0017).
    pub struct PurgedGuildRow in "purged_guilds" {
        guild_id: i64 = "Int64",
        /// What the administrator who purged it said.
        reason: String = "String",
        at_ms: i64 = "Int64",
        actor: String = "String",
    }
}

/// Records that `guild_id` is purged (before its rows go).
pub async fn record_purged(
    client: &clickhouse::Client,
    guild_id: i64,
    reason: &str,
    actor: &str,
) -> Result<(), clickhouse::error::Error> {
    let row = PurgedGuildRow {
        guild_id,
        reason: reason.to_string(),
        at_ms: wowlogs_schemas::now_ms(),
        actor: actor.to_string(),
    };
    insert_rows(client, std::slice::from_ref(&row)).await
}

/// Everything deleted: single logs, and whole guilds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deletions {
    /// `(guild, log)` of each log deleted.
    pub logs: HashSet<(i64, i64)>,
    /// Guilds purged: every log of theirs is deleted.
    pub guilds: HashSet<i64>,
}

impl Deletions {
    /// Whether the log `log_id` of `guild_id` is deleted (itself, or with its guild).
    pub fn covers(&self, guild_id: i64, log_id: i64) -> bool {
        self.guilds.contains(&guild_id) || self.logs.contains(&(guild_id, log_id))
    }

    /// Whether `guild_id` was purged.
    pub fn purged(&self, guild_id: i64) -> bool {
        self.guilds.contains(&guild_id)
    }
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Guild {
    guild_id: i64,
}

/// Which of these guilds are purged.
pub async fn purged_among(
    client: &clickhouse::Client,
    guilds: &[i64],
) -> Result<HashSet<i64>, clickhouse::error::Error> {
    if guilds.is_empty() {
        return Ok(HashSet::new());
    }
    let found = client
        .query("SELECT guild_id FROM purged_guilds WHERE has(?, guild_id) GROUP BY guild_id")
        .bind(guilds)
        .fetch_all::<Guild>()
        .await?;
    Ok(found.into_iter().map(|g| g.guild_id).collect())
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Pair {
    guild_id: i64,
    log_id: i64,
}

/// The statement that finds which of these `(guild, log)` pairs are deleted (the pairs
/// are integers, written into the text: 18.16 binds no tuple arrays).
fn among_statement(pairs: &[(i64, i64)]) -> String {
    let list: Vec<String> = pairs.iter().map(|(g, l)| format!("({g}, {l})")).collect();
    format!(
        "SELECT guild_id, log_id FROM deleted_logs WHERE (guild_id, log_id) IN ({}) GROUP BY guild_id, log_id",
        list.join(", ")
    )
}

/// Which of these `(guild, log)` pairs are deleted, themselves or with their guild.
pub async fn deleted_among(
    client: &clickhouse::Client,
    pairs: &HashSet<(i64, i64)>,
) -> Result<HashSet<(i64, i64)>, clickhouse::error::Error> {
    if pairs.is_empty() {
        return Ok(HashSet::new());
    }
    let mut sorted: Vec<(i64, i64)> = pairs.iter().copied().collect();
    sorted.sort_unstable();
    let mut guilds: Vec<i64> = sorted.iter().map(|&(guild, _)| guild).collect();
    guilds.dedup();
    let purged = purged_among(client, &guilds).await?;
    let mut deleted: HashSet<(i64, i64)> =
        sorted.iter().copied().filter(|(guild, _)| purged.contains(guild)).collect();
    sorted.retain(|(guild, _)| !purged.contains(guild));
    for chunk in sorted.chunks(1_000) {
        let found = client.query(&among_statement(chunk)).fetch_all::<Pair>().await?;
        deleted.extend(found.into_iter().map(|p| (p.guild_id, p.log_id)));
    }
    Ok(deleted)
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct LogId {
    log_id: i64,
}

/// Which of these log ids are logs of `guild_id` (an operator's purge names them).
pub async fn logs_of_guild(
    client: &clickhouse::Client,
    guild_id: i64,
    ids: &[i64],
) -> Result<Vec<i64>, clickhouse::error::Error> {
    let found = client
        .query("SELECT log_id FROM logs FINAL WHERE guild_id = ? AND has(?, log_id) ORDER BY log_id")
        .bind(guild_id)
        .bind(ids)
        .fetch_all::<LogId>()
        .await?;
    Ok(found.into_iter().map(|l| l.log_id).collect())
}

/// Every deleted log and purged guild: what a backup leaves out and a restore does not
/// publish (or, for a purged guild, write) again.
pub async fn all_deleted(client: &clickhouse::Client) -> Result<Deletions, clickhouse::error::Error> {
    let pairs = client.query("SELECT guild_id, log_id FROM deleted_logs FINAL").fetch_all::<Pair>().await?;
    let guilds =
        client.query("SELECT guild_id FROM purged_guilds GROUP BY guild_id").fetch_all::<Guild>().await?;
    Ok(Deletions {
        logs: pairs.into_iter().map(|p| (p.guild_id, p.log_id)).collect(),
        guilds: guilds.into_iter().map(|g| g.guild_id).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purged_guild_covers_every_log_of_its_own_and_none_of_another() {
        let deletions = Deletions { logs: HashSet::from([(1, 10)]), guilds: HashSet::from([2]) };
        assert!(deletions.covers(1, 10) && !deletions.covers(1, 11), "a deleted log of a living guild");
        assert!(deletions.covers(2, 10) && deletions.covers(2, 999), "every log of a purged guild");
        assert!(!deletions.covers(3, 10) && deletions.purged(2) && !deletions.purged(1));
    }

    #[test]
    fn the_pairs_are_written_as_integer_tuples() {
        assert_eq!(
            among_statement(&[(1, 2), (3, -4)]),
            "SELECT guild_id, log_id FROM deleted_logs WHERE (guild_id, log_id) IN ((1, 2), (3, -4)) \
             GROUP BY guild_id, log_id"
        );
    }
}
