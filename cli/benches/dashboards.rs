//! Dashboard benchmark: `cargo bench -p wowlogs-cli --bench dashboards`.
//!
//! On the query API benchmark's data set (`api_data`: 100 guilds, ~12.8 M events; loaded
//! if missing), opens the analyst dashboards (`guild-activity`, `encounter-analysis`, `why-we-wiped`)
//! the way Grafana does, `WOWLOGS_BENCH_LOADS` (10) at a time for `WOWLOGS_BENCH_SECONDS`
//! (20) each way: every load picks one of the two dashboards and a guild at random, runs
//! the dashboard's ClickHouse variable queries in order, then all its ClickHouse panel
//! queries at once, and starts again as soon as all have answered (a closed loop). Three
//! ways:
//!
//! - the operators' data source (`<db>_analytics`, every guild, under Grafana's profile);
//! - each guild's own data source (`<db>_guild_<G>` as its own user; needs
//!   `WOWLOGS_BENCH_CLICKHOUSE_USERS_DIR`, the server's users.d, on servers that keep
//!   users in files: skipped when unset);
//! - each guild's relations read directly, under the guild profile
//!   (`<db>_bench_direct_<G>`): what a guild's user reads on a current server (views
//!   filtered by guild, behind row policies), without the loopback hop of the
//!   `Distributed` tables a server that keeps users in files needs.
//!
//! The data set is measured settled (`OPTIMIZE ... FINAL` on the tables the relations
//! read, as background merges leave them), so runs compare.
//!
//! Prints p50/p95/p99 of every panel query and of whole loads, and writes
//! `target/benchmarks/dashboards.json`.

mod api_data;
mod common;
#[path = "../../query-api/tests/support/grafana.rs"]
mod grafana;

use common::{machine, target_dir};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wowlogs_store::StoreSettings;
use wowlogs_store::analytics::{
    GUILD_PROFILE, GuildAccess, RELATIONS, await_access, grant_guild, guild_view_statements,
    operators_settings,
};
use wowlogs_store::rows::Count;

/// What one way of opening the dashboards reads with, per guild.
type Sources = Vec<(i64, StoreSettings)>;

/// Latencies in milliseconds by panel (and `load` for whole loads).
type Samples = Arc<Mutex<BTreeMap<String, Vec<f64>>>>;

fn record(samples: &Samples, what: &str, started: Instant) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    samples.lock().unwrap().entry(what.to_string()).or_default().push(ms);
}

/// One load of dashboard `board` for `guild`, through `store`.
async fn load_once(board: &Value, guild: i64, store: &StoreSettings, samples: &Samples) {
    let started = Instant::now();
    let mut queries = Vec::new();
    {
        let mut values: Vec<(String, String)> = Vec::new();
        for variable in board["templating"]["list"].as_array().into_iter().flatten() {
            if !grafana::is_clickhouse(&variable["datasource"]) {
                continue;
            }
            let name = variable["name"].as_str().unwrap().to_string();
            let value = if name == "guild" {
                guild.to_string()
            } else {
                let sql = grafana::expand(variable["query"].as_str().unwrap(), &values);
                let asked = Instant::now();
                let found = grafana::variable_values(store, &sql).await;
                record(samples, &format!("variable {name}"), asked);
                grafana::first_value(&found, variable)
            };
            values.push((name, value));
        }
        for (title, sql) in grafana::clickhouse_targets(board) {
            queries.push((title, grafana::expand(&sql, &values)));
        }
    }
    let panels = queries.into_iter().map(|(title, sql)| {
        let samples = samples.clone();
        async move {
            let asked = Instant::now();
            grafana::rows(store, &sql).await;
            record(&samples, &title, asked);
        }
    });
    futures::future::join_all(panels).await;
    record(samples, "load (whole dashboard)", started);
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Runs the closed loop of `loads` concurrent dashboard loads over `sources`.
async fn measure(way: &str, sources: &Sources, loads: usize, seconds: u64) -> Value {
    let boards = Arc::new(grafana::analyst_dashboards());
    let samples: Samples = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers = (0..loads).map(|worker| {
        let (boards, samples, sources) = (boards.clone(), samples.clone(), sources.clone());
        tokio::spawn(async move {
            let mut done = 0;
            // Each worker its own sequence of guilds (a linear congruential generator).
            let mut state = worker as u64 * 7919 + 17;
            while Instant::now() < deadline {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let (guild, store) = &sources[(state >> 33) as usize % sources.len()];
                let (_, board) = &boards[(state >> 13) as usize % boards.len()];
                load_once(board, *guild, store, &samples).await;
                done += 1;
            }
            done
        })
    });
    let completed: usize = futures::future::join_all(workers).await.into_iter().map(|d| d.unwrap()).sum();
    let samples = samples.lock().unwrap();
    let mut panels = Vec::new();
    let mut every_query: Vec<f64> = Vec::new();
    for (what, latencies) in samples.iter() {
        let mut sorted = latencies.clone();
        sorted.sort_by(f64::total_cmp);
        if !what.starts_with("load") {
            every_query.extend(&sorted);
        }
        panels.push(json!({
            "query": what, "n": sorted.len(),
            "p50_ms": percentile(&sorted, 0.50), "p95_ms": percentile(&sorted, 0.95), "p99_ms": percentile(&sorted, 0.99),
        }));
    }
    every_query.sort_by(f64::total_cmp);
    panels.sort_by(|a, b| b["p95_ms"].as_f64().partial_cmp(&a["p95_ms"].as_f64()).unwrap());
    println!("{way}: {completed} dashboard loads in {seconds} s, {loads} at a time");
    for panel in &panels {
        println!(
            "  {:<32} n {:>6}  p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms",
            panel["query"].as_str().unwrap(),
            panel["n"],
            panel["p50_ms"].as_f64().unwrap(),
            panel["p95_ms"].as_f64().unwrap(),
            panel["p99_ms"].as_f64().unwrap()
        );
    }
    let (p50, p95, p99) =
        (percentile(&every_query, 0.5), percentile(&every_query, 0.95), percentile(&every_query, 0.99));
    println!("  every panel and variable query: p50 {p50:.1} ms  p95 {p95:.1} ms  p99 {p99:.1} ms");
    json!({ "way": way, "loads": completed, "concurrent": loads, "seconds": seconds,
            "queries": {"n": every_query.len(), "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}, "by_query": panels })
}

/// Merges what the relations read, as background merges eventually do.
async fn settle(store: &StoreSettings) {
    for relation in RELATIONS {
        for table in relation.tables {
            store.client().query(&format!("OPTIMIZE TABLE {table} FINAL")).execute().await.unwrap();
        }
    }
}

/// Guild `guild`'s relations as plain views in a database of their own, read under the
/// guild profile.
async fn direct_relations(store: &StoreSettings, guild: i64) -> StoreSettings {
    let database = format!("{}_bench_direct_{guild}", store.database);
    let mut statements = vec![format!("CREATE DATABASE IF NOT EXISTS {database}")];
    statements.extend(guild_view_statements(store, guild, &database));
    wowlogs_store::execute_all(&store.server_client(), statements).await.unwrap();
    StoreSettings { database, profile: Some(GUILD_PROFILE.to_string()), ..store.clone() }
}

fn main() {
    let store = api_data::store();
    let loads = api_data::env_u64("WOWLOGS_BENCH_LOADS", 10) as usize;
    let seconds = api_data::env_u64("WOWLOGS_BENCH_SECONDS", 20);
    let events_wanted = api_data::env_u64("WOWLOGS_BENCH_EVENTS", 10_000_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime.block_on(async {
        let events = api_data::load(&store, events_wanted).await;
        // A data set loaded before the roll-ups existed gets them now.
        wowlogs_store::migrate(&store).await.unwrap();
        let guilds: Vec<i64> =
            grafana::rows(&store, "SELECT DISTINCT guild_id FROM encounters ORDER BY guild_id")
                .await
                .iter()
                .map(|r| {
                    r["guild_id"]
                        .as_str()
                        .map_or_else(|| r["guild_id"].as_i64().unwrap(), |s| s.parse().unwrap())
                })
                .collect();
        let rolled =
            store.client().query("SELECT count() AS n FROM guild_days").fetch_one::<Count>().await.unwrap().n;
        if rolled == 0 {
            wowlogs_store::rollups::refresh_guilds(&store, &guilds).await.unwrap();
        }
        settle(&store).await;
        println!("dashboards: {events} events, {} guilds with fights; {}", guilds.len(), machine());
        let operators = operators_settings(&store);
        let mut results = vec![
            measure("operators", &guilds.iter().map(|g| (*g, operators.clone())).collect(), loads, seconds)
                .await,
        ];
        if let Some(dir) = std::env::var_os("WOWLOGS_BENCH_CLICKHOUSE_USERS_DIR") {
            let mut own = Vec::new();
            for guild in &guilds {
                let password = format!("bench-analyst-{guild}");
                let access = GuildAccess::new(&store, *guild, &password);
                grant_guild(&store, &access, Some(std::path::Path::new(&dir))).await.unwrap();
                await_access(&store, &access, &password, Duration::from_secs(30)).await.unwrap();
                own.push((*guild, access.settings(&store, &password)));
            }
            results.push(measure("guild users", &own, loads, seconds).await);
        }
        let mut direct = Vec::new();
        for guild in &guilds {
            direct.push((*guild, direct_relations(&store, *guild).await));
        }
        results.push(measure("guild relations, no hop", &direct, loads, seconds).await);
        json!({ "machine": machine(), "events": events, "guilds": guilds.len(), "results": results })
    });
    let path = target_dir().join("benchmarks/dashboards.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("written to {}", path.display());
}
