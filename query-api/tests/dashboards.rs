//! Every ClickHouse query of the Grafana dashboards (`grafana/dashboards/*.json`) runs
//! against the real ClickHouse loaded with the fixtures and returns rows: panels and
//! template variables, with Grafana's macros and variables expanded the way the
//! ClickHouse data source plugin (v4) and Grafana expand them. The operators' data source
//! reads `<database>_analytics`; a guild's own (`wowlogs grafana grant`) reads its
//! `<database>_guild_<G>` as its own user, and must see exactly that guild's rows.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use support::world;
use wowlogs_store::StoreSettings;
use wowlogs_store::analytics::{GuildAccess, analytics_database, await_access, grant_guild};

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
        out = out.replace(&format!("${{{name}:percentencode}}"), &percent_encode(value));
        out = out.replace(&format!("${{{name}:sqlstring}}"), &quoted);
        out = out.replace(&format!("${{{name}:singlequote}}"), &quoted);
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    out
}

/// Grafana's `percentencode` (`encodeURIComponentStrict`): every byte but ASCII letters,
/// digits and `-_.~` as `%XX`.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn expand(sql: &str, values: &[(String, String)]) -> String {
    let sql = expand_macros(&expand_variables(sql, values), &RANGE);
    assert!(!sql.contains('$'), "unexpanded macro or variable left in:\n{sql}");
    sql
}

/// The rows of a query as JSON objects, or ClickHouse's refusal.
async fn try_rows(store: &StoreSettings, sql: &str) -> Result<Vec<Value>, String> {
    let mut cursor = store.client().query(sql).fetch_bytes("JSONEachRow").map_err(|e| e.to_string())?;
    let bytes = cursor.collect().await.map_err(|e| e.to_string())?;
    Ok(String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect())
}

/// The rows of a query; a failing query fails the test with its SQL.
async fn rows(store: &StoreSettings, sql: &str) -> Vec<Value> {
    try_rows(store, sql).await.unwrap_or_else(|e| panic!("ClickHouse refused:\n{sql}\n{e}"))
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

/// The operators' data source: every guild's relations.
fn operators() -> StoreSettings {
    let store = &world().store;
    StoreSettings { database: analytics_database(store), ..store.clone() }
}

/// How a dashboard is opened: as whom, for which guild, with which variables forced.
struct Opening<'a> {
    store: &'a StoreSettings,
    guild: i64,
    /// Use each variable's "All" value where it has one.
    all: bool,
    /// Values given whatever the variable's query lists (as a URL's `var-x=` would).
    forced: &'a [(&'a str, &'a str)],
}

/// One ClickHouse panel target's outcome.
struct Answer {
    title: String,
    sql: String,
    rows: Result<Vec<Value>, String>,
}

/// Opens `dashboard` the way Grafana does: each ClickHouse variable's query (the guild
/// variable must list the opening's guild), then every ClickHouse panel target.
async fn open(name: &str, dashboard: &Value, opening: &Opening<'_>) -> (Vec<(String, String)>, Vec<Answer>) {
    let mut values: Vec<(String, String)> = Vec::new();
    for variable in dashboard["templating"]["list"].as_array().into_iter().flatten() {
        if !is_clickhouse(&variable["datasource"]) {
            continue;
        }
        let var = variable["name"].as_str().unwrap().to_string();
        if let Some((_, value)) = opening.forced.iter().find(|(forced, _)| *forced == var) {
            values.push((var, value.to_string()));
            continue;
        }
        let sql =
            expand(variable["query"].as_str().expect("a ClickHouse variable has an SQL query"), &values);
        let found = variable_values(opening.store, &sql).await;
        let chosen = if var == "guild" {
            let guild = opening.guild.to_string();
            assert!(found.contains(&guild), "{name}: the guild variable lists {found:?}, not guild {guild}");
            guild
        } else if opening.all && variable["includeAll"] == true {
            variable["allValue"].as_str().expect("an All value the SQL understands").to_string()
        } else {
            // A guild with no such values (no raid boss) gets "All" or one that matches nothing.
            found
                .first()
                .cloned()
                .unwrap_or_else(|| variable["allValue"].as_str().unwrap_or("(none)").to_string())
        };
        values.push((var, chosen));
    }
    let mut answers = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let datasource =
                if target["datasource"].is_null() { &panel["datasource"] } else { &target["datasource"] };
            if !is_clickhouse(datasource) {
                continue;
            }
            let sql = expand(target["rawSql"].as_str().expect("a ClickHouse target has rawSql"), &values);
            let rows = try_rows(opening.store, &sql).await;
            answers.push(Answer { title: panel["title"].as_str().unwrap_or("").to_string(), sql, rows });
        }
    }
    (values, answers)
}

/// The dashboards a guild's own organisation gets: every one with a guild variable.
fn analyst_dashboards() -> Vec<(String, Value)> {
    dashboards()
        .into_iter()
        .filter(|(_, board)| {
            board["templating"]["list"].as_array().into_iter().flatten().any(|v| v["name"] == "guild")
        })
        .collect()
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
    let store = operators();
    let mut checked = 0;
    for (name, dashboard) in &boards {
        for all in [false, true] {
            let opening = Opening { store: &store, guild: world().a.guild_id, all, forced: &[] };
            let (values, answers) = open(name, dashboard, &opening).await;
            for answer in answers {
                let rows = answer.rows.unwrap_or_else(|e| panic!("ClickHouse refused:\n{}\n{e}", answer.sql));
                assert!(
                    !rows.is_empty(),
                    "{name}: panel {:?} returns no rows for {values:?}:\n{}",
                    answer.title,
                    answer.sql
                );
                checked += 1;
            }
        }
    }
    // Guild activity and encounter analysis: 16 ClickHouse panels, pipeline health's
    // storage table 1, each run twice.
    assert_eq!(checked, 34, "ClickHouse panels checked");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn the_guild_variable_keeps_each_panel_to_one_guild() {
    // Every ClickHouse panel reads one guild's rows, except the operator's storage table;
    // the guild is a quoted, percent-encoded string made a number by ClickHouse.
    for (name, dashboard) in dashboards() {
        for panel in panels(&dashboard) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if !is_clickhouse(&target["datasource"]) || panel["title"] == "Storage per guild" {
                    continue;
                }
                let sql = target["rawSql"].as_str().unwrap();
                assert!(
                    sql.contains("guild_id = toInt64('${guild:percentencode}')"),
                    "{name}: {:?} is not filtered by guild",
                    panel["title"]
                );
            }
        }
    }
}

/// Grants guilds A and B of the test world their own users (once per test binary: a
/// grant drops and creates the relations again, which a test reading them would see).
async fn guild_users() -> &'static [(i64, StoreSettings); 2] {
    static USERS: tokio::sync::OnceCell<[(i64, StoreSettings); 2]> = tokio::sync::OnceCell::const_new();
    USERS.get_or_init(grant_both).await
}

async fn grant_both() -> [(i64, StoreSettings); 2] {
    let store = &world().store;
    let users_dir = std::env::var_os("WOWLOGS_TEST_CLICKHOUSE_USERS_DIR").map(std::path::PathBuf::from).expect(
        "run deploy/local/test.sh or set WOWLOGS_TEST_CLICKHOUSE_USERS_DIR to the local ClickHouse's users.d",
    );
    let mut users = Vec::new();
    for guild in [world().a.guild_id, world().b.guild_id] {
        let password = format!("analyst-{guild}");
        let access = GuildAccess::new(store, guild, &password);
        grant_guild(store, &access, Some(&users_dir)).await.unwrap();
        await_access(store, &access, &password, std::time::Duration::from_secs(30)).await.unwrap();
        users.push((guild, access.settings(store, &password)));
    }
    users.try_into().unwrap()
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_guilds_own_user_sees_on_every_panel_exactly_what_operators_see_of_that_guild() {
    let users = guild_users().await;
    let operators = operators();
    let mut compared = 0;
    for (guild, user) in users {
        let other = users.iter().map(|(g, _)| *g).find(|g| g != guild).unwrap();
        for (name, dashboard) in analyst_dashboards() {
            for all in [false, true] {
                // The guild variable of a guild's organisation lists that guild alone.
                let (values, own) =
                    open(&name, &dashboard, &Opening { store: user, guild: *guild, all, forced: &[] }).await;
                let forced: Vec<(&str, &str)> =
                    values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let (_, seen) = open(
                    &name,
                    &dashboard,
                    &Opening { store: &operators, guild: *guild, all, forced: &forced },
                )
                .await;
                for (mine, theirs) in own.iter().zip(&seen) {
                    let mine_rows = mine.rows.as_ref().unwrap_or_else(|e| {
                        panic!("{name}: {:?} refused to guild {guild}'s user: {e}\n{}", mine.title, mine.sql)
                    });
                    assert_eq!(
                        Some(mine_rows),
                        theirs.rows.as_ref().ok(),
                        "{name}: {:?} for guild {guild}",
                        mine.title
                    );
                    compared += 1;
                }
                // Naming the other guild (a URL's var-guild) finds nothing of it.
                let guild_text = other.to_string();
                let mut forced = forced.clone();
                forced.retain(|(k, _)| *k != "guild");
                forced.push(("guild", &guild_text));
                let (_, stolen) =
                    open(&name, &dashboard, &Opening { store: user, guild: other, all, forced: &forced })
                        .await;
                let (_, nothing) = open(
                    &name,
                    &dashboard,
                    &Opening {
                        store: &operators,
                        guild: -1,
                        all,
                        forced: &[("guild", "-1"), ("boss", "(none)"), ("difficulty", "-1")],
                    },
                )
                .await;
                for (stolen, nothing) in stolen.iter().zip(&nothing) {
                    assert_eq!(
                        stolen.rows.as_ref().ok(),
                        nothing.rows.as_ref().ok(),
                        "{name}: {:?} showed guild {other} to guild {guild}'s user",
                        stolen.title
                    );
                }
            }
        }
        let guild_variable = rows(user, "SELECT toString(guild_id) AS g FROM guilds").await;
        assert_eq!(guild_variable, vec![serde_json::json!({"g": guild.to_string()})]);
    }
    assert!(compared >= 2 * 2 * 16, "{compared} panels compared");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_guilds_user_can_read_its_own_database_and_nothing_else() {
    let users = guild_users().await;
    let db = &world().store.database;
    let (a, user) = &users[0];
    let b = users[1].0;
    for sql in [
        format!("SELECT count() FROM {db}.encounters"),
        format!("SELECT count() FROM {db}.api_keys"),
        format!("SELECT count() FROM {db}.audit_log"),
        format!("SELECT count() FROM {db}.combat_events"),
        format!("SELECT count() FROM {db}_analytics.encounters"),
        format!("SELECT count() FROM {db}_guild_{b}.encounters"),
        format!("SELECT count() FROM {db}_guild_views.encounters_g{b}"),
        format!("SELECT count() FROM {db}_guild_views.encounters_g{a}"),
        "SELECT * FROM remote('127.0.0.1', system.one)".to_string(),
        "SELECT * FROM url('http://127.0.0.1:1/', CSV, 'x String')".to_string(),
        "SELECT * FROM file('users.xml', CSV, 'x String')".to_string(),
        format!(
            "CREATE TABLE {db}_guild_{a}.copy AS {db}_guild_{a}.encounters ENGINE = Distributed(wowlogs_guild_reader, {db}, encounters)"
        ),
        format!("DROP TABLE {db}_guild_{a}.encounters"),
    ] {
        let refused = try_rows(user, &sql).await;
        assert!(refused.is_err(), "guild {a}'s user ran {sql}: {refused:?}");
    }
    let databases = rows(user, "SELECT name FROM system.databases ORDER BY name").await;
    let own = format!("{db}_guild_{a}");
    assert!(
        databases.iter().all(|row| row["name"] == "system" || row["name"] == own.as_str()),
        "{databases:?}"
    );
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_hostile_value_in_any_variable_is_inert() {
    let operators = operators();
    let a = world().a.guild_id.to_string();
    let hostile = [
        "1 OR 1=1",
        "0) OR (1=1",
        "1' OR '1'='1",
        "x\\' OR 1=1 -- ",
        "'; DROP TABLE encounters; --",
        "1 UNION ALL SELECT name FROM system.tables",
    ];
    let mut tried = 0;
    for (name, dashboard) in analyst_dashboards() {
        let variables: Vec<String> = dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| is_clickhouse(&v["datasource"]))
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect();
        let (values, _) = open(
            &name,
            &dashboard,
            &Opening { store: &operators, guild: world().a.guild_id, all: false, forced: &[] },
        )
        .await;
        for variable in &variables {
            // What the dashboard shows when this variable matches nothing.
            let mut nothing: Vec<(&str, &str)> =
                values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let unmatched = match variable.as_str() {
                "guild" => "-1",
                "difficulty" => "-2",
                _ => "(none)",
            };
            for pair in nothing.iter_mut().filter(|(k, _)| k == variable) {
                pair.1 = unmatched;
            }
            let (_, empty) = open(
                &name,
                &dashboard,
                &Opening { store: &operators, guild: -1, all: false, forced: &nothing },
            )
            .await;
            for value in hostile {
                let mut forced = nothing.clone();
                for pair in forced.iter_mut().filter(|(k, _)| k == variable) {
                    pair.1 = value;
                }
                let (_, answers) = open(
                    &name,
                    &dashboard,
                    &Opening { store: &operators, guild: -1, all: false, forced: &forced },
                )
                .await;
                for (answer, empty) in answers.iter().zip(&empty) {
                    // Refused (not a number), or the answer for a value matching nothing.
                    if let Ok(rows) = &answer.rows {
                        assert_eq!(
                            Some(rows),
                            empty.rows.as_ref().ok(),
                            "{name}: {variable} = {value:?} changed {:?}:\n{}",
                            answer.title,
                            answer.sql
                        );
                    }
                    tried += 1;
                }
            }
        }
    }
    assert!(tried > 100, "{tried} hostile openings");
    // Nothing was dropped, and guild A still answers.
    let count = rows(&operators, &format!("SELECT count() AS n FROM encounters WHERE guild_id = {a}")).await;
    assert_ne!(count[0]["n"], serde_json::json!("0"));
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
