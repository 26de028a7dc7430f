//! Grafana's side of the dashboards, for the tests and the dashboards benchmark: the
//! provisioned dashboards (`grafana/dashboards/*.json`), their ClickHouse panels and
//! variables, and the expansion of the ClickHouse data source plugin's (v4) macros and
//! of Grafana's variable formats.

#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;
use wowlogs_store::StoreSettings;

pub const CLICKHOUSE_UID: &str = "clickhouse";

pub fn dashboards() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../grafana/dashboards");
    let mut found: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.file_name().unwrap().to_string_lossy().into_owned(), json)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Panels, with those inside rows.
pub fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

pub fn is_clickhouse(datasource: &Value) -> bool {
    datasource["uid"] == CLICKHOUSE_UID
}

/// The dashboard's time range and interval for the test: everything the fixtures hold.
pub struct Range {
    pub from: i64,
    pub to: i64,
    pub interval_s: i64,
}

pub const RANGE: Range = Range { from: 946_684_800, to: 4_102_444_800, interval_s: 3_600 };

/// The argument of `$__name(...)` at the start of `rest` (after the name).
pub fn macro_argument(rest: &str) -> (&str, &str) {
    let rest = rest.strip_prefix('(').expect("macro with an argument");
    let close = rest.find(')').expect("macro argument closed");
    (rest[..close].trim(), &rest[close + 1..])
}

/// The plugin's macros (`pkg/macros` of grafana/clickhouse-datasource v4).
pub fn expand_macros(sql: &str, range: &Range) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find("$__") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        let (name, tail) = after.split_at(name_len);
        rest = match name {
            "timeFilter" => {
                let (column, tail) = macro_argument(tail);
                out.push_str(&format!(
                    "{column} >= toDateTime({}) AND {column} <= toDateTime({})",
                    range.from, range.to
                ));
                tail
            }
            "dateFilter" => {
                let (column, tail) = macro_argument(tail);
                out.push_str(&format!(
                    "{column} >= toDate(toDateTime({})) AND {column} <= toDate(toDateTime({}))",
                    range.from, range.to
                ));
                tail
            }
            "timeInterval" => {
                let (column, tail) = macro_argument(tail);
                out.push_str(&format!(
                    "toStartOfInterval(toDateTime({column}), INTERVAL {} second)",
                    range.interval_s
                ));
                tail
            }
            "fromTime" => {
                out.push_str(&format!("toDateTime({})", range.from));
                tail
            }
            "toTime" => {
                out.push_str(&format!("toDateTime({})", range.to));
                tail
            }
            "interval_s" => {
                out.push_str(&range.interval_s.to_string());
                tail
            }
            other => panic!("macro $__{other} is not expanded by this test: add it"),
        };
    }
    out.push_str(rest);
    out
}

/// Grafana's variable interpolation: `${name}`, `${name:sqlstring}`, `$name`.
pub fn expand_variables(sql: &str, values: &[(String, String)]) -> String {
    let mut out = sql.to_string();
    // Longest names first, so `$guild` does not eat a prefix of `$guild_name`.
    let mut sorted: Vec<&(String, String)> = values.iter().collect();
    sorted.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, value) in sorted {
        let quoted = format!("'{}'", value.replace('\'', "''"));
        out = out.replace(&format!("${{{name}:percentencode}}"), &percent_encode(value));
        out = out.replace(&format!("${{{name}:sqlstring}}"), &quoted);
        out = out.replace(&format!("${{{name}:singlequote}}"), &quoted);
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    out
}

/// Grafana's `percentencode` (`encodeURIComponentStrict`).
pub use wowlogs_http::percent_encode;

pub fn expand(sql: &str, values: &[(String, String)]) -> String {
    let sql = expand_macros(&expand_variables(sql, values), &RANGE);
    assert!(!sql.contains('$'), "unexpanded macro or variable left in:\n{sql}");
    sql
}

/// The dashboards a guild's own organisation gets: every one with a ClickHouse guild
/// variable.
pub fn analyst_dashboards() -> Vec<(String, Value)> {
    dashboards()
        .into_iter()
        .filter(|(_, board)| {
            board["templating"]["list"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v["name"] == "guild" && is_clickhouse(&v["datasource"]))
        })
        .collect()
}

/// A panel target that runs on ClickHouse: its panel's title and its SQL.
pub fn clickhouse_targets(dashboard: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let datasource =
                if target["datasource"].is_null() { &panel["datasource"] } else { &target["datasource"] };
            if is_clickhouse(datasource) {
                let sql = target["rawSql"].as_str().expect("a ClickHouse target has rawSql").to_string();
                found.push((panel["title"].as_str().unwrap_or("").to_string(), sql));
            }
        }
    }
    found
}

/// The rows of a query as JSON objects, or ClickHouse's refusal.
pub async fn try_rows(store: &StoreSettings, sql: &str) -> Result<Vec<Value>, String> {
    let mut cursor = store.client().query(sql).fetch_bytes("JSONEachRow").map_err(|e| e.to_string())?;
    let bytes = cursor.collect().await.map_err(|e| e.to_string())?;
    Ok(String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect())
}

/// The rows of a query; a failing query fails the test with its SQL.
pub async fn rows(store: &StoreSettings, sql: &str) -> Vec<Value> {
    try_rows(store, sql).await.unwrap_or_else(|e| panic!("ClickHouse refused:\n{sql}\n{e}"))
}

/// A variable's values from its query: `__value` when the query names it, else the
/// first column.
pub async fn variable_values(store: &StoreSettings, sql: &str) -> Vec<String> {
    rows(store, sql)
        .await
        .iter()
        .map(|row| {
            let row = row.as_object().unwrap();
            let value = row.get("__value").or_else(|| row.values().next()).unwrap();
            value.as_str().map_or_else(|| value.to_string(), str::to_string)
        })
        .collect()
}

/// What Grafana selects for a variable by default: the first value its query lists;
/// with none (a guild with no raid boss), its "All" value, else one that matches nothing.
pub fn first_value(found: &[String], variable: &Value) -> String {
    found.first().cloned().unwrap_or_else(|| variable["allValue"].as_str().unwrap_or("(none)").to_string())
}
