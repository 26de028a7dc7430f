//! Folds of the pipeline's rows that several answers share.

use serde::Deserialize;

/// The fold of `character_logs` rows into one per character (as the `characters` view).
/// Aliases differ from the columns: ClickHouse resolves a `WHERE` column to a `SELECT`
/// alias of the same name, which would put aggregates in `WHERE`.
pub const CHARACTER_COLUMNS: &str = "player_guid, argMax(name, last_seen_ms) AS latest_name, \
     argMaxIf(class, last_seen_ms, class != '') AS latest_class, \
     argMaxIf(spec_id, last_seen_ms, isNotNull(spec_id)) AS latest_spec_id, \
     argMaxIf(item_level, last_seen_ms, isNotNull(item_level)) AS latest_item_level, \
     toInt64(min(first_seen)) * 1000 AS earliest_seen_ms, max(last_seen_ms) AS latest_seen_ms, \
     count() AS logs, sum(fights) AS fights";

/// One character, folded from its `character_logs` rows ([`CHARACTER_COLUMNS`]).
#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
pub struct CharacterRecord {
    pub player_guid: String,
    pub latest_name: String,
    pub latest_class: String,
    pub latest_spec_id: Option<i32>,
    pub latest_item_level: Option<f64>,
    pub earliest_seen_ms: i64,
    pub latest_seen_ms: i64,
    pub logs: u64,
    pub fights: i64,
}
