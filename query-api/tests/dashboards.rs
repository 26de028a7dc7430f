//! Every ClickHouse query of the Grafana dashboards (`grafana/dashboards/*.json`) runs
//! against the real ClickHouse loaded with the fixtures and returns rows: panels and
//! template variables, with Grafana's macros and variables expanded the way the
//! ClickHouse data source plugin (v4) and Grafana expand them. The operators' data source
//! reads `<database>_analytics`; a guild's own (`wowlogs grafana grant`) reads its
//! `<database>_guild_<G>` as its own user, and must see exactly that guild's rows.

mod support;

use serde_json::Value;
use support::grafana::{
    Range, analyst_dashboards, clickhouse_targets, dashboards, expand, expand_macros, expand_variables,
    first_value, is_clickhouse, rows, try_rows, variable_values,
};
use support::world;
use wowlogs_store::StoreSettings;
use wowlogs_store::analytics::{GuildAccess, await_access, grant_guild, operators_settings};

/// `values` with `name` set to `value` (added when missing): what a URL's `var-name=`
/// does to a dashboard.
fn with_value<'a>(values: &[(&'a str, &'a str)], name: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut set: Vec<(&str, &str)> = values.iter().filter(|(k, _)| *k != name).copied().collect();
    set.push((name, value));
    set
}

/// The operators' data source: every guild's relations, under Grafana's profile.
fn operators() -> StoreSettings {
    operators_settings(&world().store)
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
        let var = variable["name"].as_str().unwrap().to_string();
        if let Some((_, value)) = opening.forced.iter().find(|(forced, _)| *forced == var) {
            values.push((var, value.to_string()));
            continue;
        }
        if !is_clickhouse(&variable["datasource"]) {
            // A list typed into the dashboard (its "All" or its first value), a text box.
            let listed = variable["query"].as_str().unwrap_or("");
            let chosen = match variable["allValue"].as_str() {
                Some(all) if opening.all && variable["includeAll"] == true => all.to_string(),
                _ if variable["type"] == "custom" => {
                    listed.split(',').next().unwrap_or("").trim().to_string()
                }
                _ => listed.to_string(),
            };
            values.push((var, chosen));
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
            first_value(&found, variable)
        };
        values.push((var, chosen));
    }
    let mut answers = Vec::new();
    for (title, sql) in clickhouse_targets(dashboard) {
        let sql = expand(&sql, &values);
        let rows = try_rows(opening.store, &sql).await;
        answers.push(Answer { title, sql, rows });
    }
    (values, answers)
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
            "capacity.json",
            "encounter-analysis.json",
            "guild-activity.json",
            "logs-and-audit.json",
            "pipeline-health.json",
            "progress-plan.json",
            "system-resources.json",
            "why-we-wiped.json"
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
    // Guild activity and encounter analysis: 16 ClickHouse panels, why we wiped 6, the
    // progress plan 5 (4 panels, one with two queries), capacity 2, pipeline health's
    // storage table and the audit trail table 1 each, each run twice.
    assert_eq!(checked, 62, "ClickHouse panels checked");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn the_guild_variable_keeps_each_panel_to_one_guild() {
    // Every ClickHouse panel of a dashboard with a guild variable (what a guild's own
    // organisation gets) reads one guild's rows; the guild is a quoted, percent-encoded
    // string made a number by ClickHouse. The operators' boards read every guild.
    for (name, dashboard) in analyst_dashboards() {
        for (title, sql) in clickhouse_targets(&dashboard) {
            assert!(
                sql.contains("guild_id = toInt64('${guild:percentencode}')"),
                "{name}: {title:?} is not filtered by guild"
            );
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
                let forced = with_value(&forced, "guild", &guild_text);
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
async fn a_deactivated_guilds_analysts_see_nothing_until_it_is_reactivated() {
    // A guild of its own (deactivating A or B would change what the other tests see).
    let store = &world().store;
    let registry = wowlogs_tenancy::Registry::new(store.clone());
    let guild = support::tenant(
        &registry,
        &store.client(),
        "Deactivated Guild",
        &[("retail_sl_9.2_raid_wipe_snippet.txt", 9_001)],
    )
    .await
    .guild_id;
    let users_dir =
        std::env::var_os("WOWLOGS_TEST_CLICKHOUSE_USERS_DIR").map(std::path::PathBuf::from).unwrap();
    let password = "analyst-deactivated";
    let access = GuildAccess::new(store, guild, password);
    grant_guild(store, &access, Some(&users_dir)).await.unwrap();
    await_access(store, &access, password, std::time::Duration::from_secs(30)).await.unwrap();
    let user = access.settings(store, password);
    let seen = || async {
        let mut counts = Vec::new();
        for relation in
            ["guilds", "encounters", "encounter_players", "encounter_details", "logs", "guild_days"]
        {
            let counted = rows(&user, &format!("SELECT toUInt32(count()) AS n FROM {relation}")).await;
            counts.push((relation, counted[0]["n"].as_u64().unwrap()));
        }
        counts
    };
    let active = seen().await;
    assert!(active.iter().all(|(_, n)| *n > 0), "{active:?}");
    registry.set_active(guild, false, &support::actor()).await.unwrap();
    let deactivated = seen().await;
    assert!(deactivated.iter().all(|(_, n)| *n == 0), "{deactivated:?}");
    registry.set_active(guild, true, &support::actor()).await.unwrap();
    assert_eq!(seen().await, active);
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
            let chosen: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let unmatched = match variable.as_str() {
                "guild" => "-1",
                "difficulty" => "-2",
                _ => "(none)",
            };
            let nothing = with_value(&chosen, variable, unmatched);
            let (_, empty) = open(
                &name,
                &dashboard,
                &Opening { store: &operators, guild: -1, all: false, forced: &nothing },
            )
            .await;
            for value in hostile {
                let forced = with_value(&nothing, variable, value);
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
