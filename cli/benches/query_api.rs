//! Query API load benchmark: `cargo bench -p wowlogs-cli --bench query_api`.
//!
//! 1. Loads ClickHouse (`WOWLOGS_BENCH_CLICKHOUSE`, database `wowlogs_bench_api`) with
//!    synthetic logs for 100 guilds, ≥ 10 M events in all (`WOWLOGS_BENCH_EVENTS`), the
//!    way the consumers would (parser, the encounter consumer's projection, the sink's
//!    rows; Kafka is left out, the pipeline benchmark measures it), and gives each guild
//!    a key. The load is kept between runs (`WOWLOGS_BENCH_RELOAD=1` redoes it).
//! 2. Starts `wowlogs query-api` (this build's binary) and drives it with `wrk` (Debian's
//!    package) at 200 connections (`WOWLOGS_BENCH_CONNECTIONS`) for 20 s per scenario
//!    (`WOWLOGS_BENCH_SECONDS`), every request with a random guild's key: the encounter
//!    list, an encounter's detail (a random fight of that guild), the stats, and the list
//!    with random filters (`varied`: the cache cannot answer it). Twice:
//!    with the default per-guild answer caches (lists and totals 1 s, a finished fight
//!    5 min), and with no cache (every request ClickHouse queries).
//!
//! Prints p50/p95/p99 latency, requests/s and errors (non-2xx included), and writes
//! `target/benchmarks/query_api.json`.

mod api_data;
mod common;
#[path = "../tests/support/probe.rs"]
mod probe;

use api_data::{DATABASE, env_u64, load};
use common::{machine, target_dir};
use probe::free_port;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wowlogs_store::StoreSettings;
use wowlogs_tenancy::{Actor, KeySpec, Permission, Registry};

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Fight {
    guild_id: i64,
    fight_id: i64,
}

/// One key with `query` per guild, created for this run (the plaintext exists only here).
async fn keys(store: &StoreSettings) -> Vec<(i64, String)> {
    let registry = Registry::new(store.clone());
    let actor = Actor::new("bench", "");
    let mut keys = Vec::new();
    for guild in registry.guilds().await.unwrap().into_iter().filter(|g| g.guild_id > 1) {
        let spec = KeySpec {
            guild_id: guild.guild_id,
            description: "load benchmark".into(),
            permissions: vec![Permission::Query],
            events_per_minute: 0,
            max_connections: 0,
        };
        let (key, _) = registry.create_key(&spec, &actor).await.unwrap();
        keys.push((guild.guild_id, key.plaintext));
    }
    keys
}

/// A wrk script: every request picks a random guild (its key) and, for the detail
/// scenario, one of its fights; `done` prints the figures as JSON on the last line.
fn script(path_kind: &str, keys: &[(i64, String)], fights: &[Fight]) -> String {
    let mut lua = String::from("local guilds = {\n");
    for (guild, key) in keys {
        let ids: Vec<String> =
            fights.iter().filter(|f| f.guild_id == *guild).map(|f| format!("\"{}\"", f.fight_id)).collect();
        lua += &format!("  {{ key = \"{key}\", fights = {{ {} }} }},\n", ids.join(", "));
    }
    lua += "}\n";
    lua += &format!("local kind = \"{path_kind}\"\n");
    lua += r#"
math.randomseed(os.time())
request = function()
  local g = guilds[math.random(#guilds)]
  local path
  if kind == "list" then
    path = "/api/v1/encounters?per_page=50"
  elseif kind == "stats" then
    path = "/api/v1/encounters/stats"
  elseif kind == "varied" then
    -- Filters no two requests share, so the cache cannot answer: a page size, a page
    -- and a start time (Unix ms) drawn at random.
    path = string.format("/api/v1/encounters?per_page=%d&page=%d&from=%d",
      math.random(10, 100), math.random(1, 3), math.random(1500000000000, 1800000000000))
  else
    path = "/api/v1/encounters/" .. g.fights[math.random(#g.fights)]
  end
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. g.key })
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, errors, summary.errors.status))
end
"#;
    lua
}

/// Runs the scenarios against a fresh `wowlogs query-api` with this cache setting.
fn scenarios(
    url: &str,
    (cache_ms, fight_cache_ms): (u64, u64),
    keys: &[(i64, String)],
    fights: &[Fight],
) -> Vec<Value> {
    let port = free_port();
    let mut api = Command::new(env!("CARGO_BIN_EXE_wowlogs"))
        .args([
            "query-api",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--clickhouse-url",
            url,
            "--database",
            DATABASE,
        ])
        .args(["--cache-ms", &cache_ms.to_string(), "--fight-cache-ms", &fight_cache_ms.to_string()])
        .args(["--requests-per-minute", "100000000"])
        .env(
            "WOWLOGS_BROKERS",
            std::env::var("WOWLOGS_BENCH_BROKERS").unwrap_or_else(|_| "127.0.0.1:1".into()),
        )
        .env("WOWLOGS_LOG", "error")
        .env("WOWLOGS_QUERY_API_METRICS_LISTEN", "")
        .stdout(Stdio::null())
        .spawn()
        .expect("wowlogs query-api");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the query API did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let connections = env_u64("WOWLOGS_BENCH_CONNECTIONS", 200).to_string();
    let seconds = env_u64("WOWLOGS_BENCH_SECONDS", 20);
    let dir = target_dir().join("benchmarks");
    std::fs::create_dir_all(&dir).unwrap();
    let mut results = Vec::new();
    for kind in ["list", "detail", "stats", "varied"] {
        let script_path = dir.join(format!("query_api_{kind}.lua"));
        std::fs::write(&script_path, script(kind, keys, fights)).unwrap();
        // Warm up (connections, caches), then measure.
        for (duration, measured) in [(3, false), (seconds, true)] {
            let output = Command::new("wrk")
                .args(["-t2", "-c", &connections, "-d", &format!("{duration}s"), "--timeout", "5s"])
                .arg("-s")
                .arg(&script_path)
                .arg(format!("http://127.0.0.1:{port}"))
                .output()
                .expect("wrk (apt-get install wrk)");
            assert!(output.status.success(), "wrk failed: {}", String::from_utf8_lossy(&output.stderr));
            if measured {
                let stdout = String::from_utf8_lossy(&output.stdout);
                let line = stdout.lines().last().unwrap_or_default();
                let mut figures: Value =
                    serde_json::from_str(line).unwrap_or_else(|_| panic!("wrk output: {stdout}"));
                let rps = figures["requests"].as_f64().unwrap() / figures["seconds"].as_f64().unwrap();
                figures["scenario"] = json!(kind);
                figures["cache_ms"] = json!(cache_ms);
                figures["fight_cache_ms"] = json!(fight_cache_ms);
                figures["rps"] = json!(rps.round());
                println!(
                    "{kind:>7} cache {cache_ms:>4}/{fight_cache_ms:>6} ms: p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  {:>7.0} req/s  errors {}",
                    figures["p50_ms"].as_f64().unwrap(),
                    figures["p95_ms"].as_f64().unwrap(),
                    figures["p99_ms"].as_f64().unwrap(),
                    rps,
                    figures["errors"]
                );
                results.push(figures);
            }
        }
    }
    // SAFETY: plain signal to our own child.
    unsafe { libc::kill(api.id() as libc::pid_t, libc::SIGTERM) };
    api.wait().unwrap();
    results
}

fn main() {
    let store = api_data::store();
    let url = store.url.clone();
    let events_wanted = env_u64("WOWLOGS_BENCH_EVENTS", 10_000_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (events, keys, fights) = runtime.block_on(async {
        let events = load(&store, events_wanted).await;
        let keys = keys(&store).await;
        let fights: Vec<Fight> = store
            .client()
            .query("SELECT guild_id, fight_id FROM encounters FINAL")
            .fetch_all()
            .await
            .unwrap();
        (events, keys, fights)
    });
    println!(
        "query API load: {events} events, {} guilds, {} fights; {}",
        keys.len(),
        fights.len(),
        machine()
    );
    // The defaults (lists and totals 1 s, a finished fight 5 min), then no cache at all.
    let mut results = scenarios(&url, (1000, 300_000), &keys, &fights);
    results.extend(scenarios(&url, (0, 0), &keys, &fights));
    let report = json!({
        "machine": machine(),
        "events": events,
        "guilds": keys.len(),
        "fights": fights.len(),
        "connections": env_u64("WOWLOGS_BENCH_CONNECTIONS", 200),
        "results": results,
    });
    let path = target_dir().join("benchmarks/query_api.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("written to {}", path.display());
}
