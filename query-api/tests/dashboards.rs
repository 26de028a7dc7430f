//! Every ClickHouse query of the Grafana dashboards (`grafana/dashboards/*.json`) runs
//! against the real ClickHouse loaded with the fixtures and returns rows: panels and
//! template variables, with Grafana's macros and variables expanded the way the
//! ClickHouse data source plugin (v4) and Grafana expand them.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use support::world;
use wowlogs_store::StoreSettings;

const CLICKHOUSE_UID: &str = "clickhouse";

fn dashboards() -> Vec<(String, Value)> {
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
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

fn is_clickhouse(datasource: &Value) -> bool {
    datasource["uid"] == CLICKHOUSE_UID
}

/// The dashboard's time range and interval for the test: everything the fixtures hold.
struct Range {
    from: i64,
    to: i64,
    interval_s: i64,
}

const RANGE: Range = Range { from: 946_684_800, to: 4_102_444_800, interval_s: 3_600 };

/// The argument of `$__name(...)` at the start of `rest` (after the name).
fn macro_argument(rest: &str) -> (&str, &str) {
    let rest = rest.strip_prefix('(').expect("macro with an argument");
    let close = rest.find(')').expect("macro argument closed");
    (rest[..close].trim(), &rest[close + 1..])
}

/// The plugin's macros (`pkg/macros` of grafana/clickhouse-datasource v4).
fn expand_macros(sql: &str, range: &Range) -> String {
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
fn expand_variables(sql: &str, values: &[(String, String)]) -> String {
    let mut out = sql.to_string();
    // Longest names first, so `$guild` does not eat a prefix of `$guild_name`.
    let mut sorted: Vec<&(String, String)> = values.iter().collect();
    sorted.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, value) in sorted {
        let quoted = format!("'{}'", value.replace('\'', "''"));
        out = out.replace(&format!("${{{name}:sqlstring}}"), &quoted);
        out = out.replace(&format!("${{{name}:singlequote}}"), &quoted);
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    out
}

fn expand(sql: &str, values: &[(String, String)]) -> String {
    let sql = expand_macros(&expand_variables(sql, values), &RANGE);
    assert!(!sql.contains('$'), "unexpanded macro or variable left in:\n{sql}");
    sql
}

/// The rows of a query, as JSON objects; a failing query fails the test with its SQL.
async fn rows(store: &StoreSettings, sql: &str) -> Vec<Value> {
    let mut cursor = store.client().query(sql).fetch_bytes("JSONEachRow").unwrap();
    let bytes = cursor.collect().await.unwrap_or_else(|e| panic!("ClickHouse refused:\n{sql}\n{e}"));
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A variable's values from its query: `__value` when the query names it, else the
/// first column.
async fn variable_values(store: &StoreSettings, sql: &str) -> Vec<String> {
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

/// Runs every ClickHouse panel of `dashboard` with the variables chosen so: `guild` is
/// guild A of the test world, the others take the first value their query returns, or
/// their "All" value when `all` is set.
async fn check(name: &str, dashboard: &Value, all: bool) -> usize {
    let (store, a) = (&world().store, &world().a);
    let mut values: Vec<(String, String)> = Vec::new();
    for variable in dashboard["templating"]["list"].as_array().into_iter().flatten() {
        if !is_clickhouse(&variable["datasource"]) {
            continue;
        }
        let var = variable["name"].as_str().unwrap().to_string();
        let sql =
            expand(variable["query"].as_str().expect("a ClickHouse variable has an SQL query"), &values);
        let found = variable_values(store, &sql).await;
        assert!(!found.is_empty(), "{name}: variable {var} has no values:\n{sql}");
        let chosen = if var == "guild" {
            let guild = a.guild_id.to_string();
            assert!(
                found.contains(&guild),
                "{name}: the guild variable lists {found:?}, not guild A ({guild})"
            );
            guild
        } else if all && variable["includeAll"] == true {
            variable["allValue"].as_str().expect("an All value the SQL understands").to_string()
        } else {
            found[0].clone()
        };
        values.push((var, chosen));
    }
    let mut checked = 0;
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let datasource =
                if target["datasource"].is_null() { &panel["datasource"] } else { &target["datasource"] };
            if !is_clickhouse(datasource) {
                continue;
            }
            let sql = expand(target["rawSql"].as_str().expect("a ClickHouse target has rawSql"), &values);
            let got = rows(store, &sql).await;
            assert!(
                !got.is_empty(),
                "{name}: panel {:?} returns no rows for {values:?}:\n{sql}",
                panel["title"]
            );
            checked += 1;
        }
    }
    checked
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn every_clickhouse_panel_and_variable_of_every_dashboard_runs_and_returns_rows() {
    let boards = dashboards();
    let names: Vec<&str> = boards.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "api-performance.json",
            "encounter-analysis.json",
            "guild-activity.json",
            "pipeline-health.json",
            "system-resources.json"
        ]
    );
    let mut checked = 0;
    for (name, dashboard) in &boards {
        checked += check(name, dashboard, false).await;
        checked += check(name, dashboard, true).await;
    }
    // Guild activity and encounter analysis: 17 ClickHouse panels, each run twice.
    assert_eq!(checked, 34, "ClickHouse panels checked");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn the_guild_variable_keeps_each_panel_to_one_guild() {
    // Every ClickHouse panel reads one guild's rows, except the operator's storage table.
    for (name, dashboard) in dashboards() {
        for panel in panels(&dashboard) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if !is_clickhouse(&target["datasource"]) || panel["title"] == "Storage per guild" {
                    continue;
                }
                let sql = target["rawSql"].as_str().unwrap();
                assert!(
                    sql.contains("guild_id = ${guild}"),
                    "{name}: {:?} is not filtered by guild",
                    panel["title"]
                );
            }
        }
    }
}

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn macros_expand_like_the_plugin() {
    let range = Range { from: 10, to: 20, interval_s: 60 };
    assert_eq!(
        expand_macros("WHERE $__timeFilter(start) GROUP BY $__timeInterval(start)", &range),
        "WHERE start >= toDateTime(10) AND start <= toDateTime(20) \
         GROUP BY toStartOfInterval(toDateTime(start), INTERVAL 60 second)"
    );
    let values = [("boss".to_string(), "Kel'Thuzad".to_string()), ("guild".to_string(), "7".to_string())];
    assert_eq!(
        expand_variables("guild_id = ${guild} AND name = ${boss:sqlstring} OR $guild", &values),
        "guild_id = 7 AND name = 'Kel''Thuzad' OR 7"
    );
}
