//! Live logging benchmark: `cargo bench -p wowlogs-cli --bench live`.
//!
//! Starts the upload service, both consumer groups (their default 1 s batches) and the
//! query API (this build's binary) on a fresh database, a guild for each real log,
//! against the local broker
//! (`WOWLOGS_BENCH_BROKERS`, default 127.0.0.1:9092) and ClickHouse (the local stack's,
//! or `WOWLOGS_BENCH_CLICKHOUSE`). Then every real log is written at once, each into a
//! folder of its own, as the game writes it (`wowlogs replay` at game speed, pauses
//! longer than `WOWLOGS_BENCH_MAX_GAP_SECS` = 2 s cut short; `WOWLOGS_BENCH_SPEED`
//! speeds it up), each folder followed by its own `wowlogs watch` with its defaults
//! (a look every 250 ms). For every fight it measures, from the moment its end line is
//! on disk:
//! - until its row is in ClickHouse's `encounters` (what the API answers from);
//! - until `encounter_complete` arrives on a `/ws` connection of the guild;
//!
//! and reports p50, p95 and the worst; and the CPU time and peak RSS of the watcher of
//! the 25-player raid (the Soul Hunters kill) over its replay. Writes
//! `target/benchmarks/live.json`.

mod common;
#[path = "../tests/support/probe.rs"]
mod probe;

use common::machine;
use futures::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wowlogs_cli::replay::{ReplaySettings, Replayed, replay};
use wowlogs_producer::identity::{first_line, live_key, live_log_id};
use wowlogs_schemas::GuildId;
use wowlogs_store::StoreSettings;

fn wowlogs() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wowlogs"));
    command.env("WOWLOGS_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::inherit());
    command
}

fn run(command: &mut Command) -> String {
    let output = command.stdout(Stdio::piped()).output().expect("wowlogs");
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn wait_http(port: u16, what: &str) {
    let started = Instant::now();
    while probe::http_get(port, "/health/live").0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(120), "{what} did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// CPU seconds and peak RSS (KiB) of a running process.
fn usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((ticks / hz, hwm))
}

/// Fights' rows by (log id, end line): their fight id and when the row was first seen.
type Rows = HashMap<(i64, i64), (String, Instant)>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// The log id a followed file is published under.
fn live_log_of(guild: i64, path: &Path) -> i64 {
    let start = std::fs::read(path).expect("a replayed file");
    let line = first_line(&start).expect("a first line");
    live_log_id(GuildId(guild), &live_key(line)).0
}

#[tokio::main]
async fn main() {
    let brokers = std::env::var("WOWLOGS_BENCH_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let clickhouse = wowlogs_testkit::bench_clickhouse();
    let speed: f64 = std::env::var("WOWLOGS_BENCH_SPEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let max_gap: f64 =
        std::env::var("WOWLOGS_BENCH_MAX_GAP_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let database = format!("wowlogs_bench_live_{stamp}");
    let store_args =
        ["--clickhouse-url".to_string(), clickhouse.clone(), "--database".to_string(), database.clone()];
    let store = StoreSettings::new(clickhouse.clone(), database.clone());
    run(wowlogs().arg("migrate").args(&store_args));
    run(wowlogs().args(["topics", "create", "--brokers", &brokers]));
    // A guild per real log: as many guilds raiding at once, each with its logger.
    let fixtures = wowlogs_testkit::all_fixtures();
    let guilds: Vec<(i64, String)> = fixtures
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let created = run(wowlogs()
                .args(["guild", "create", "--name", &format!("Live Bench {i}")])
                .args(&store_args));
            let guild: i64 = created.split_whitespace().nth(2).unwrap().parse().unwrap();
            let key = run(wowlogs()
                .args([
                    "api-key",
                    "create",
                    "--guild",
                    &guild.to_string(),
                    "--permissions",
                    "upload,query,stream",
                ])
                .args(&store_args));
            (guild, key.trim().to_string())
        })
        .collect();

    let (upload_port, api_port) = (probe::free_port(), probe::free_port());
    let mut services: Vec<Child> = vec![
        wowlogs()
            .args(["serve", "--brokers", &brokers, "--listen", &format!("127.0.0.1:{upload_port}")])
            .env("WOWLOGS_PRODUCER_METRICS_LISTEN", "")
            .args(&store_args)
            .spawn()
            .unwrap(),
        wowlogs()
            .args(["query-api", "--brokers", &brokers, "--listen", &format!("127.0.0.1:{api_port}")])
            .env("WOWLOGS_QUERY_API_METRICS_LISTEN", "")
            .args(&store_args)
            .spawn()
            .unwrap(),
    ];
    for group in ["events-sink", "encounters"] {
        services.push(
            wowlogs()
                .args(["consume", group, "--brokers", &brokers, "--group-id", &format!("{database}-{group}")])
                .args(["--metrics-addr", ""])
                .args(&store_args)
                .spawn()
                .unwrap(),
        );
    }
    wait_http(upload_port, "the upload service");
    wait_http(api_port, "the query API");

    // `encounter_complete` messages as they arrive (each guild's on its own `/ws`), by
    // fight id.
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    for (_, key) in &guilds {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://127.0.0.1:{api_port}/ws").into_client_request().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("/ws");
        let arrived = arrived.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Ok(text) = message.into_text() else { continue };
                let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if value["type"] == "encounter_complete"
                    && let Some(id) = value["id"].as_str()
                {
                    arrived.lock().unwrap().entry(id.to_string()).or_insert_with(Instant::now);
                }
            }
        });
    }
    // Rows of `encounters` as they appear: (log_id, end_line) → (fight id, when).
    let rows: Arc<Mutex<Rows>> = Arc::default();
    let polling = {
        let rows = rows.clone();
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                let text =
                    probe::tsv(&store, "SELECT log_id, end_line, toString(fight_id) FROM encounters").await;
                let now = Instant::now();
                {
                    let mut rows = rows.lock().unwrap();
                    for line in text.lines() {
                        let mut fields = line.split('\t');
                        let (Some(log), Some(end), Some(id)) = (fields.next(), fields.next(), fields.next())
                        else {
                            continue;
                        };
                        let (Ok(log), Ok(end)) = (log.parse(), end.parse()) else { continue };
                        rows.entry((log, end)).or_insert_with(|| (id.to_string(), now));
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    // Every real log at once, each into its own folder, each folder watched.
    let work = tempfile::tempdir().unwrap();
    let raid = "retail_midnight_12.0_raid_manaforge_soul_hunters_kill_slice.txt";
    let mut replays = Vec::new();
    let mut watchers: Vec<(String, Child)> = Vec::new();
    let began = Instant::now();
    let mut guild_of = HashMap::new();
    for (log, (guild, key)) in fixtures.into_iter().zip(&guilds) {
        let name = log.file_name().unwrap().to_string_lossy().into_owned();
        guild_of.insert(name.clone(), *guild);
        let folder = work.path().join(&name);
        std::fs::create_dir_all(&folder).unwrap();
        let watcher = wowlogs()
            .arg("watch")
            .arg(&folder)
            .args(["--server", &format!("http://127.0.0.1:{upload_port}"), "--key", key, "--state"])
            .arg(work.path().join(format!("{name}.json")))
            .args(["--close-after-secs", "5", "--exit-when-done", "--quiet"])
            .spawn()
            .unwrap();
        watchers.push((name.clone(), watcher));
        let settings = ReplaySettings {
            speed,
            max_gap: Duration::from_secs_f64(max_gap),
            crlf: true,
            toggle: false,
            recreate: false,
            seed: 1,
            started: chrono::DateTime::from_timestamp_millis(wowlogs_schemas::now_ms()).unwrap(),
        };
        replays.push(std::thread::spawn(move || -> (String, Replayed) {
            let bytes = std::fs::read(&log).unwrap();
            (name, replay(&bytes, &folder, &settings, |_, _| {}).expect("replay"))
        }));
    }
    // The raid's watcher's CPU and memory, while it runs.
    let raid_pid = watchers.iter().find(|(n, _)| n == raid).map(|(_, c)| c.id()).expect("the raid's watcher");
    let raid_usage: Arc<Mutex<Option<(f64, u64)>>> = Arc::default();
    {
        let raid_usage = raid_usage.clone();
        std::thread::spawn(move || {
            while let Some(now) = usage(raid_pid) {
                *raid_usage.lock().unwrap() = Some(now);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
    }
    let mut ends: Vec<(String, PathBuf, i64, Instant)> = Vec::new();
    let mut raid_seconds = 0.0;
    for replay in replays {
        let (name, replayed) = replay.join().expect("a replay");
        if name == raid {
            raid_seconds = began.elapsed().as_secs_f64();
        }
        for (path, line, at) in replayed.fight_ends {
            ends.push((name.clone(), path, line, at));
        }
    }
    println!("replayed every real log in {:.0} s ({} fight ends)", began.elapsed().as_secs_f64(), ends.len());
    let deadline = Instant::now() + Duration::from_secs(120);
    let keyed: Vec<(String, (i64, i64), Instant)> = ends
        .iter()
        .map(|(name, path, line, at)| (name.clone(), (live_log_of(guild_of[name], path), *line), *at))
        .collect();
    while Instant::now() < deadline {
        let all = {
            let rows = rows.lock().unwrap();
            let arrived = arrived.lock().unwrap();
            keyed.iter().all(|(_, k, _)| rows.get(k).is_some_and(|(id, _)| arrived.contains_key(id)))
        };
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (_, watcher) in &mut watchers {
        let started = Instant::now();
        while watcher.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = watcher.kill();
    }
    polling.abort();

    let (mut queryable, mut on_ws) = (Vec::new(), Vec::new());
    let mut missing = Vec::new();
    {
        let rows = rows.lock().unwrap();
        let arrived = arrived.lock().unwrap();
        for (name, key, at) in &keyed {
            match rows.get(key) {
                Some((id, row_at)) => {
                    queryable.push(row_at.saturating_duration_since(*at).as_secs_f64());
                    match arrived.get(id) {
                        Some(ws_at) => on_ws.push(ws_at.saturating_duration_since(*at).as_secs_f64()),
                        None => missing.push(format!("{name} line {}: no encounter_complete", key.1)),
                    }
                }
                None => missing.push(format!("{name} line {}: no row", key.1)),
            }
        }
    }
    for line in &missing {
        println!("  missing: {line}");
    }
    queryable.sort_by(f64::total_cmp);
    on_ws.sort_by(f64::total_cmp);
    let (cpu, rss) = raid_usage.lock().unwrap().unwrap_or((f64::NAN, 0));
    println!("machine: {}", machine());
    println!(
        "end line on disk → row in ClickHouse: p50 {:.2} s, p95 {:.2} s, max {:.2} s ({} fights)",
        percentile(&queryable, 0.5),
        percentile(&queryable, 0.95),
        queryable.last().copied().unwrap_or(f64::NAN),
        queryable.len()
    );
    println!(
        "end line on disk → encounter_complete on /ws: p50 {:.2} s, p95 {:.2} s, max {:.2} s ({} fights)",
        percentile(&on_ws, 0.5),
        percentile(&on_ws, 0.95),
        on_ws.last().copied().unwrap_or(f64::NAN),
        on_ws.len()
    );
    println!(
        "the 25-player raid's watcher: {cpu:.2} s CPU over {raid_seconds:.0} s of replay ({:.1} % of a core), peak RSS {} KiB",
        100.0 * cpu / raid_seconds.max(1.0),
        rss
    );
    let report = serde_json::json!({
        "machine": machine(),
        "speed": speed,
        "max_gap_secs": max_gap,
        "fights": keyed.len(),
        "missing": missing,
        "queryable_s": {"p50": percentile(&queryable, 0.5), "p95": percentile(&queryable, 0.95), "max": queryable.last()},
        "websocket_s": {"p50": percentile(&on_ws, 0.5), "p95": percentile(&on_ws, 0.95), "max": on_ws.last()},
        "raid_watcher": {"cpu_s": cpu, "replay_s": raid_seconds, "peak_rss_kib": rss},
    });
    let out = common::target_dir().join("benchmarks/live.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("wrote {}", out.display());
    for mut service in services {
        let _ = service.kill();
        let _ = service.wait();
    }
}
