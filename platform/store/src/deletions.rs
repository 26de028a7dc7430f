//! Deleted logs stay deleted (migration 0012). The topics are the system of record and
//! keep every record for ever, so whatever reads them again (a rebuild, a restore, a new
//! consumer group) would bring a deleted log back. A deletion is therefore recorded in
//! `deleted_logs` before any row goes; that table is never rebuilt, a backup carries it,
//! and the consumers drop the rows of every log it lists before they write
//! ([`deleted_among`]).
//!
//! A log is its guild's and its content's (`LogId`): the same file uploaded again is the
//! same log, which the upload service answers as a duplicate of the deleted upload.

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

/// Which of these `(guild, log)` pairs are deleted.
pub async fn deleted_among(
    client: &clickhouse::Client,
    pairs: &HashSet<(i64, i64)>,
) -> Result<HashSet<(i64, i64)>, clickhouse::error::Error> {
    if pairs.is_empty() {
        return Ok(HashSet::new());
    }
    let mut sorted: Vec<(i64, i64)> = pairs.iter().copied().collect();
    sorted.sort_unstable();
    let mut deleted = HashSet::new();
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

/// Every deleted log, as `(guild, log)`: what a backup leaves out and a restore does not
/// publish again.
pub async fn all_deleted(
    client: &clickhouse::Client,
) -> Result<HashSet<(i64, i64)>, clickhouse::error::Error> {
    let pairs = client.query("SELECT guild_id, log_id FROM deleted_logs FINAL").fetch_all::<Pair>().await?;
    Ok(pairs.into_iter().map(|p| (p.guild_id, p.log_id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pairs_are_written_as_integer_tuples() {
        assert_eq!(
            among_statement(&[(1, 2), (3, -4)]),
            "SELECT guild_id, log_id FROM deleted_logs WHERE (guild_id, log_id) IN ((1, 2), (3, -4)) \
             GROUP BY guild_id, log_id"
        );
    }
}
