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
//!    Then `cold` (`WOWLOGS_BENCH_ONLY=cold` runs it alone), with no cache: every request
//!    a random one of a fight's detail, the list with a random combination of its
//!    filters, a random page of characters, the stats and the progression.
//! 3. One guild at its limits beside another (`neighbour`): guild B's uncached lists
//!    alone, then while guild A floods the API through 20 keys at 190 connections
//!    (`WOWLOGS_BENCH_ONLY=neighbour` runs this part alone).
//! 4. The progress plan (`progress`; `WOWLOGS_BENCH_ONLY=progress` runs it alone): each
//!    guild gets a 40-member roster (its characters, padded with members never seen),
//!    the default roadmap, half of them share in comparisons, and an officer's key; then
//!    every progress route (characters, one character with a random member, the
//!    officers' overview with random filters, message, roadmap, comparisons) with the
//!    default caches and with none.
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

/// One key with `permissions` per guild, created for this run (the plaintext exists
/// only here).
async fn keys(store: &StoreSettings, permissions: &[Permission]) -> Vec<(i64, String)> {
    let registry = Registry::new(store.clone());
    let mut keys = Vec::new();
    for guild in registry.guilds().await.unwrap().into_iter().filter(|g| g.guild_id > 1) {
        keys.push(guild_key_with(store, guild.guild_id, permissions).await);
    }
    keys
}

/// A new key with `query` for `guild`.
async fn guild_key(store: &StoreSettings, guild: i64) -> (i64, String) {
    guild_key_with(store, guild, &[Permission::Query]).await
}

async fn guild_key_with(store: &StoreSettings, guild: i64, permissions: &[Permission]) -> (i64, String) {
    let spec = KeySpec {
        guild_id: guild,
        description: "load benchmark".into(),
        permissions: permissions.to_vec(),
        events_per_minute: 0,
        max_connections: 0,
    };
    let (key, _) = Registry::new(store.clone()).create_key(&spec, &Actor::new("bench", "")).await.unwrap();
    (guild, key.plaintext)
}

/// A wrk script: every request picks a random guild (its key) and, for the detail
/// scenario, one of its fights (for the progress plan's character, one of its
/// `members`); `done` prints the figures as JSON on the last line.
fn script(path_kind: &str, keys: &[(i64, String)], fights: &[Fight]) -> String {
    script_with(path_kind, keys, fights, &[])
}

fn script_with(
    path_kind: &str,
    keys: &[(i64, String)],
    fights: &[Fight],
    members: &[(i64, Vec<String>)],
) -> String {
    let mut lua = String::from("local guilds = {\n");
    for (guild, key) in keys {
        let ids: Vec<String> =
            fights.iter().filter(|f| f.guild_id == *guild).map(|f| format!("\"{}\"", f.fight_id)).collect();
        let names: Vec<String> = members
            .iter()
            .filter(|(g, _)| g == guild)
            .flat_map(|(_, names)| names.iter().map(|n| format!("\"{}\"", encode(n))))
            .collect();
        lua += &format!(
            "  {{ id = {guild}, key = \"{key}\", fights = {{ {} }}, members = {{ {} }} }},\n",
            ids.join(", "),
            names.join(", ")
        );
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
  elseif string.sub(kind, 1, 9) == "progress/" then
    local route = string.sub(kind, 10)
    local base = "/api/v1/guilds/" .. g.id .. "/progress/"
    if route == "character" then
      path = base .. "character/" .. g.members[math.random(#g.members)]
    elseif route == "members" then
      -- The officers' overview with filters drawn at random (the cache rarely helps).
      local sorts = { "ilvl", "-ilvl", "name", "rank", "status" }
      local roles = { "", "&role=Tank", "&role=Healer", "&role=Damage" }
      local statuses = { "", "&status=behind", "&status=on_track" }
      path = base .. "members?sort=" .. sorts[math.random(#sorts)] .. roles[math.random(#roles)]
        .. statuses[math.random(#statuses)]
    else
      path = base .. route
    end
  elseif kind == "cold" then
    -- What the cache cannot answer, never twice the same (the API runs with no cache):
    -- a fight's detail, the list with a random combination of its filters, the
    -- characters with a random page, the stats and the progression, drawn at random.
    local r = math.random(100)
    if r <= 35 then
      path = "/api/v1/encounters/" .. g.fights[math.random(#g.fights)]
    elseif r <= 70 then
      path = string.format("/api/v1/encounters?per_page=%d&page=%d", math.random(10, 100), math.random(1, 3))
      local difficulties = { 14, 15, 16, 17 }
      if math.random(2) == 1 then path = path .. "&difficulty=" .. difficulties[math.random(#difficulties)] end
      if math.random(2) == 1 then path = path .. (math.random(2) == 1 and "&outcome=kill" or "&outcome=wipe") end
      if math.random(2) == 1 then path = path .. "&from=" .. math.random(1500000000000, 1800000000000) end
      if math.random(2) == 1 then path = path .. "&to=" .. math.random(1500000000000, 1800000000000) end
      if math.random(4) == 1 then path = path .. "&kind=encounter" end
    elseif r <= 85 then
      path = string.format("/api/v1/characters?per_page=%d&page=%d", math.random(10, 100), math.random(1, 2))
    elseif r <= 93 then
      path = "/api/v1/encounters/stats"
    else
      path = "/api/v1/progress"
    end
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

/// A fresh `wowlogs query-api` on a free port with this cache setting and the default
/// per-key and per-guild limits (no rate limit): the child and its port, once it listens.
fn start_api(url: &str, (cache_ms, fight_cache_ms): (u64, u64)) -> (std::process::Child, u16) {
    let port = free_port();
    let api = Command::new(env!("CARGO_BIN_EXE_wowlogs"))
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
    (api, port)
}

/// Stops a query API started by [`start_api`].
fn stop_api(mut api: std::process::Child) {
    // SAFETY: plain signal to our own child.
    unsafe { libc::kill(api.id() as libc::pid_t, libc::SIGTERM) };
    api.wait().unwrap();
}

/// `wrk` for `seconds` at `connections` with the script at `script_path`: its figures.
fn wrk(port: u16, connections: u64, seconds: u64, script_path: &std::path::Path) -> Value {
    let output = Command::new("wrk")
        .args(["-t2", "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "--timeout", "5s"])
        .arg("-s")
        .arg(script_path)
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .expect("wrk (apt-get install wrk)");
    assert!(output.status.success(), "wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let mut figures: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("wrk output: {stdout}"));
    let rps = figures["requests"].as_f64().unwrap() / figures["seconds"].as_f64().unwrap();
    figures["rps"] = json!(rps.round());
    figures
}

fn print_figures(label: &str, figures: &Value) {
    println!(
        "{label}: p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  {:>7.0} req/s  errors {} (non-2xx {})",
        figures["p50_ms"].as_f64().unwrap(),
        figures["p95_ms"].as_f64().unwrap(),
        figures["p99_ms"].as_f64().unwrap(),
        figures["rps"].as_f64().unwrap(),
        figures["errors"],
        figures["non_2xx"]
    );
}

/// Runs the scenarios against a fresh `wowlogs query-api` with this cache setting.
fn scenarios(url: &str, caches: (u64, u64), keys: &[(i64, String)], fights: &[Fight]) -> Vec<Value> {
    let scripts =
        ["list", "detail", "stats", "varied"].map(|kind| (kind.to_string(), script(kind, keys, fights)));
    measure(url, caches, &scripts)
}

/// Each `(scenario, wrk script)` in turn against a fresh `wowlogs query-api` with this
/// cache setting, at `WOWLOGS_BENCH_CONNECTIONS` for `WOWLOGS_BENCH_SECONDS` after 3 s
/// of warming up (connections, caches).
fn measure(url: &str, caches: (u64, u64), scripts: &[(String, String)]) -> Vec<Value> {
    let (cache_ms, fight_cache_ms) = caches;
    let (api, port) = start_api(url, caches);
    let connections = env_u64("WOWLOGS_BENCH_CONNECTIONS", 200);
    let seconds = env_u64("WOWLOGS_BENCH_SECONDS", 20);
    let dir = target_dir().join("benchmarks");
    std::fs::create_dir_all(&dir).unwrap();
    let mut results = Vec::new();
    for (kind, lua) in scripts {
        let script_path = dir.join(format!("query_api_{}.lua", kind.replace('/', "_")));
        std::fs::write(&script_path, lua).unwrap();
        wrk(port, connections, 3, &script_path);
        let mut figures = wrk(port, connections, seconds, &script_path);
        figures["scenario"] = json!(kind);
        figures["cache_ms"] = json!(cache_ms);
        figures["fight_cache_ms"] = json!(fight_cache_ms);
        print_figures(&format!("{kind:>22} cache {cache_ms:>4}/{fight_cache_ms:>6} ms"), &figures);
        results.push(figures);
    }
    stop_api(api);
    results
}

/// One guild at its limits, another guild's latency: guild B (one key, 10 connections)
/// reads its fight list uncached, first alone, then while guild A floods the same query
/// API through 20 keys of its own at 190 connections with uncached, varied lists (each
/// key within its own limit, the guild far past its share of ClickHouse slots). B's
/// p50/p95/p99 both ways, and how A's requests were answered.
fn neighbour(url: &str, store: &StoreSettings, keys: &[(i64, String)], fights: &[Fight]) -> Vec<Value> {
    let (noisy, victim) = (keys[0].0, keys[1].clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let noisy_keys: Vec<(i64, String)> = runtime.block_on(async {
        let mut made = Vec::new();
        for _ in 0..20 {
            made.push(guild_key(store, noisy).await);
        }
        made
    });
    let seconds = env_u64("WOWLOGS_BENCH_SECONDS", 20);
    let dir = target_dir().join("benchmarks");
    let victim_script = dir.join("query_api_neighbour_victim.lua");
    std::fs::write(&victim_script, script("varied", std::slice::from_ref(&victim), fights)).unwrap();
    let noisy_script = dir.join("query_api_neighbour_flood.lua");
    std::fs::write(&noisy_script, script("varied", &noisy_keys, fights)).unwrap();
    let (api, port) = start_api(url, (0, 0));
    wrk(port, 10, 3, &victim_script);
    let mut alone = wrk(port, 10, seconds, &victim_script);
    alone["scenario"] = json!("neighbour: guild B alone");
    print_figures("guild B alone            ", &alone);
    let flood = std::thread::spawn(move || wrk(port, 190, seconds + 6, &noisy_script));
    std::thread::sleep(Duration::from_secs(3));
    let mut beside = wrk(port, 10, seconds, &victim_script);
    beside["scenario"] = json!("neighbour: guild B beside guild A's flood");
    let mut flooding = flood.join().unwrap();
    flooding["scenario"] = json!("neighbour: guild A's flood (20 keys)");
    print_figures("guild B beside A's flood ", &beside);
    print_figures("guild A's flood (20 keys)", &flooding);
    stop_api(api);
    vec![alone, beside, flooding]
}

/// A name as a URL path segment.
fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

/// Members each guild's roster gets in the progress part.
const ROSTER: usize = 40;

/// Gives every guild a roster of [`ROSTER`] members (its characters first, then members
/// never seen), the default roadmap, and half of them a part in comparisons; returns
/// each guild's members' names (as the character route takes them).
async fn progress_plans(store: &StoreSettings, keys: &[(i64, String)]) -> Vec<(i64, Vec<String>)> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Name {
        latest: String,
    }
    let client = store.client();
    wowlogs_store::progress::seed_every_guild(&client, &wowlogs_progress::Roadmap::default_roadmap(), None)
        .await
        .unwrap();
    let mut plans = Vec::new();
    for (index, (guild, _)) in keys.iter().enumerate() {
        let mut names: Vec<String> = client
            .query(
                "SELECT argMax(name, last_seen_ms) AS latest FROM character_logs FINAL WHERE guild_id = ? \
                 AND name != '' GROUP BY player_guid ORDER BY latest LIMIT ?",
            )
            .bind(*guild)
            .bind(ROSTER as u64)
            .fetch_all::<Name>()
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.latest)
            .collect();
        for i in names.len()..ROSTER {
            names.push(format!("Benchmember{i}-Nowhere-US"));
        }
        let members: Vec<wowlogs_progress::Member> = names
            .iter()
            .enumerate()
            .map(|(i, name)| wowlogs_progress::Member {
                character: wowlogs_progress::CharacterKey::parse(name),
                rank: (i % 6) as i32,
                main: None,
                class: None,
            })
            .collect();
        wowlogs_store::progress::replace_roster(&client, *guild, &members, wowlogs_schemas::now_ms())
            .await
            .unwrap();
        let sharing = if index % 2 == 0 {
            wowlogs_store::progress::Sharing::Anonymous
        } else {
            wowlogs_store::progress::Sharing::Off
        };
        wowlogs_store::progress::set_sharing(&client, *guild, sharing, wowlogs_schemas::now_ms())
            .await
            .unwrap();
        plans.push((*guild, members.iter().map(|m| m.character.name.clone()).collect()));
    }
    plans
}

/// The progress routes, with this cache setting.
fn progress_scenarios(
    url: &str,
    caches: (u64, u64),
    keys: &[(i64, String)],
    members: &[(i64, Vec<String>)],
) -> Vec<Value> {
    let scripts = ["characters", "character", "members", "message", "roadmap", "comparisons"].map(|route| {
        let kind = format!("progress/{route}");
        let lua = script_with(&kind, keys, &[], members);
        (kind, lua)
    });
    measure(url, caches, &scripts)
}

fn main() {
    let store = api_data::store();
    // With its credentials (a StoreSettings keeps its URL without them).
    let url = wowlogs_testkit::bench_clickhouse();
    let events_wanted = env_u64("WOWLOGS_BENCH_EVENTS", 10_000_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (events, keys, fights) = runtime.block_on(async {
        let events = load(&store, events_wanted).await;
        let keys = keys(&store, &[Permission::Query]).await;
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
    // WOWLOGS_BENCH_ONLY=neighbour (or progress) runs that part alone.
    let only = std::env::var("WOWLOGS_BENCH_ONLY").unwrap_or_default();
    let mut results = Vec::new();
    if only.is_empty() {
        results.extend(scenarios(&url, (1000, 300_000), &keys, &fights));
        results.extend(scenarios(&url, (0, 0), &keys, &fights));
    }
    if only.is_empty() || only == "cold" {
        results.extend(measure(&url, (0, 0), &[("cold".to_string(), script("cold", &keys, &fights))]));
    }
    if only.is_empty() || only == "neighbour" {
        results.extend(neighbour(&url, &store, &keys, &fights));
    }
    if only.is_empty() || only == "progress" {
        let (officers, members) = runtime.block_on(async {
            let members = progress_plans(&store, &keys).await;
            (self::keys(&store, &[Permission::Query, Permission::Officer]).await, members)
        });
        results.extend(progress_scenarios(&url, (1000, 300_000), &officers, &members));
        results.extend(progress_scenarios(&url, (0, 0), &officers, &members));
    }
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
