//! Whole-pipeline benchmark: `cargo bench -p wowlogs-cli --bench pipeline`.
//!
//! Starts both consumer groups (`wowlogs consume events-sink` and `encounters`, this
//! build's binary) on a fresh database, imports the synthetic log (1 GiB by default,
//! see `common`) with `wowlogs import`, and measures until every raw event and every
//! fight is queryable in ClickHouse:
//! - raw rows/s into `combat_events` (end to end, and inside the INSERTs alone, from
//!   the sink's own `wowlogs_consumer_insert_duration_seconds`);
//! - seconds from the start of the import until the last fight is queryable;
//! - each consumer's peak RSS and CPU time, the importer's, and (with
//!   `WOWLOGS_BENCH_PIDS`) the broker's and ClickHouse's, with ClickHouse's own account
//!   of its work (`system.events`: INSERTs, rows inserted and merged, merge time, its
//!   queries' CPU): where the time goes;
//! - the sink alone: a fresh group replaying the same events from the topic (nothing
//!   else running but the broker and ClickHouse).
//!
//! Start the servers first, the broker afresh for every run (the groups are new and
//! read the topic from its start: an earlier run's records would count too, which the
//! bench refuses): `deploy/local/broker.sh start --memory` and
//! `deploy/local/clickhouse.sh start` (or set `WOWLOGS_BENCH_BROKERS` and
//! `WOWLOGS_BENCH_CLICKHOUSE`); `WOWLOGS_BENCH_PIDS=broker=PID,clickhouse=PID` adds their
//! CPU time. Writes `target/benchmarks/pipeline.json`.
//!
//! `WOWLOGS_BENCH_CLUSTER=wowlogs` runs the same against a ClickHouse cluster
//! (`deploy/local/cluster.sh start`, `WOWLOGS_BENCH_CLICKHOUSE` set to one of its
//! servers): the databases are migrated in cluster form and every process gets
//! `WOWLOGS_CLICKHOUSE_CLUSTER`; the figures go to `target/benchmarks/pipeline-cluster.json`.

mod common;
#[path = "../tests/support/probe.rs"]
mod probe;

use common::{bench_input, machine};
use probe::{count, metric_sum};
use std::fs::File;
use std::io::BufReader;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wowlogs_cli::analysis::analyze_stream;
use wowlogs_parser::{ParseOptions, YearHint};
use wowlogs_store::StoreSettings;

fn wowlogs() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wowlogs"));
    command.env("WOWLOGS_LOG", "warn").stdout(Stdio::null());
    if let Some(cluster) = cluster() {
        command.env("WOWLOGS_CLICKHOUSE_CLUSTER", cluster);
    }
    command
}

/// `WOWLOGS_BENCH_CLUSTER`: the ClickHouse cluster holding the tables, if any.
fn cluster() -> Option<String> {
    std::env::var("WOWLOGS_BENCH_CLUSTER").ok().filter(|c| !c.is_empty())
}

/// Where ClickHouse keeps `database` (in cluster form with `WOWLOGS_BENCH_CLUSTER`).
fn store_settings(clickhouse: &str, database: &str) -> StoreSettings {
    StoreSettings { cluster: cluster(), ..StoreSettings::new(clickhouse, database) }
}

/// SIGTERM, then the child's peak RSS in KiB and its CPU seconds.
fn stop(child: Child) -> (i64, f64) {
    // SAFETY: plain signal and `wait4` on our own child, which `Child` never reaps.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        let mut status = 0;
        let mut rusage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut rusage);
        assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "consumer failed: {status}");
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (rusage.ru_maxrss, seconds(rusage.ru_utime) + seconds(rusage.ru_stime))
    }
}

/// The child's peak RSS in KiB and CPU seconds if it has exited (reaped), else `None`.
fn try_reap(child: &Child) -> Option<(i64, f64)> {
    // SAFETY: `wait4` with WNOHANG on our own child, which `Child` never reaps.
    unsafe {
        let mut status = 0;
        let mut rusage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, libc::WNOHANG, &mut rusage);
        if pid == 0 {
            return None;
        }
        assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "import failed: {status}");
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Some((rusage.ru_maxrss, seconds(rusage.ru_utime) + seconds(rusage.ru_stime)))
    }
}

/// ClickHouse's own counters (`system.events`) that split its work: rows inserted and
/// merged, merge time, and the CPU its queries' threads used (background merges not
/// included).
const CLICKHOUSE_EVENTS: [&str; 8] = [
    "InsertQuery",
    "InsertedRows",
    "MergedRows",
    "MergesTimeMilliseconds",
    "SelectQuery",
    "UserTimeMicroseconds",
    "SystemTimeMicroseconds",
    "RealTimeMicroseconds",
];

async fn clickhouse_events(store: &StoreSettings) -> std::collections::BTreeMap<String, f64> {
    let names = CLICKHOUSE_EVENTS.map(|e| format!("'{e}'")).join(",");
    let text =
        probe::tsv(store, &format!("SELECT event, value FROM system.events WHERE event IN ({names})")).await;
    text.lines()
        .filter_map(|l| {
            let (name, value) = l.split_once('\t')?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// CPU seconds (user + system) a process has used so far, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after ") ".
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / per_second)
}

/// `WOWLOGS_BENCH_PIDS=broker=PID,clickhouse=PID`: servers whose CPU time to report.
fn server_pids() -> Vec<(String, u32)> {
    std::env::var("WOWLOGS_BENCH_PIDS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| {
            let (name, pid) = pair.split_once('=')?;
            Some((name.to_string(), pid.trim().parse().ok()?))
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let brokers = std::env::var("WOWLOGS_BENCH_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let clickhouse = wowlogs_testkit::bench_clickhouse();
    let file = bench_input();
    let bytes = std::fs::metadata(&file).expect("bench file").len();

    // What must arrive: analyze's counts for the same file.
    let modified = std::fs::metadata(&file).and_then(|m| m.modified()).expect("bench file");
    let options = ParseOptions::new(YearHint::from_year_or_modified(None, modified));
    let analysis = analyze_stream(
        "bench",
        &mut BufReader::with_capacity(1 << 20, File::open(&file).unwrap()),
        options,
        wowlogs_parser::available_threads(),
        |_| Ok(()),
        |_| {},
    )
    .expect("analyze");
    let (events, fights) = (analysis.events, analysis.fights.len() as u64);
    println!("input: {} ({bytes} bytes, {events} events, {fights} fights)", file.display());

    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let guild = 900_000_000 + (stamp % 1_000_000) as i64;
    let database = format!("wowlogs_bench_{stamp}");
    let store = store_settings(&clickhouse, &database);
    wowlogs_store::migrate(&store).await.expect("migrate");
    // The consumers refuse a broker without the topics (a fresh one has none).
    let created = wowlogs().args(["topics", "create", "--brokers", &brokers]).status().expect("topics");
    assert!(created.success(), "wowlogs topics create failed");
    let consumer = |group: &str, port: u16| {
        wowlogs()
            .args([
                "consume",
                group,
                "--brokers",
                &brokers,
                "--clickhouse-url",
                &clickhouse,
                "--database",
                &database,
            ])
            .args([
                "--group-id",
                &format!("bench-{group}-{stamp}"),
                "--metrics-addr",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--session-timeout-ms", "10000"])
            .spawn()
            .expect("consumer")
    };
    let (sink_port, encounters_port) = (19_474, 19_475);
    let sink = consumer("events-sink", sink_port);
    let encounters = consumer("encounters", encounters_port);
    // Both have joined their groups (and are idle) before the clock starts.
    tokio::time::sleep(Duration::from_secs(8)).await;

    let servers = server_pids();
    let servers_before: Vec<f64> = servers.iter().map(|(_, pid)| cpu_seconds(*pid).unwrap_or(0.0)).collect();
    let events_before = clickhouse_events(&store).await;
    let started = Instant::now();
    #[allow(clippy::zombie_processes)] // reaped by `try_reap` in the loop below
    let import = wowlogs()
        .args(["import", "--brokers", &brokers, "--guild", &guild.to_string()])
        .arg(&file)
        .spawn()
        .expect("import");
    let (mut imported, mut raw_done, mut fights_done) = (None, None, None);
    let mut import_usage = (0, 0.0);
    while raw_done.is_none() || fights_done.is_none() || imported.is_none() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if imported.is_none()
            && let Some(usage) = try_reap(&import)
        {
            imported = Some(started.elapsed());
            import_usage = usage;
        }
        let raw = format!("SELECT count() FROM combat_events WHERE guild_id = {guild}");
        if raw_done.is_none() && count(&store, &raw).await >= events {
            raw_done = Some(started.elapsed());
        }
        let done = format!("SELECT count() FROM encounters WHERE guild_id = {guild}");
        if fights_done.is_none() && count(&store, &done).await >= fights {
            fights_done = Some(started.elapsed());
        }
        assert!(started.elapsed() < Duration::from_secs(1800), "not done after 30 minutes");
    }
    let (imported, raw_done, fights_done) = (imported.unwrap(), raw_done.unwrap(), fights_done.unwrap());
    let server_cpu: Vec<(String, f64)> = servers
        .iter()
        .zip(&servers_before)
        .map(|((name, pid), before)| (name.clone(), cpu_seconds(*pid).unwrap_or(0.0) - before))
        .collect();
    let queryable = raw_done.max(fights_done);
    let events_after = clickhouse_events(&store).await;
    let clickhouse_delta: std::collections::BTreeMap<String, f64> = events_after
        .iter()
        .map(|(name, after)| (name.clone(), after - events_before.get(name).copied().unwrap_or(0.0)))
        .collect();

    let exact =
        count(&store, &format!("SELECT count() FROM combat_events FINAL WHERE guild_id = {guild}")).await;
    assert_eq!(exact, events, "every event exactly once");
    let sink_metrics = probe::http_get(sink_port, "/metrics").1;
    let insert_seconds =
        metric_sum(&sink_metrics, "wowlogs_consumer_insert_duration_seconds_sum", "table=\"combat_events\"");
    let inserted =
        metric_sum(&sink_metrics, "wowlogs_consumer_rows_inserted_total", "table=\"combat_events\"");
    // The groups are new, so they read the topic from its start: records of an earlier
    // import on the same broker would be inserted (and timed) too.
    assert!(
        (inserted as u64) < events + events / 2,
        "the sink inserted {inserted} rows for {events} events: the topic held earlier records; start a fresh \
         broker (deploy/local/broker.sh start --memory)"
    );
    let (sink_rss, sink_cpu) = stop(sink);
    let (encounters_rss, encounters_cpu) = stop(encounters);

    // The sink alone: a fresh group replays the events already on the topic into
    // another database, with nothing else running but the broker and ClickHouse.
    let replay_db = format!("{database}_replay");
    let replay_store = store_settings(&clickhouse, &replay_db);
    wowlogs_store::migrate(&replay_store).await.expect("migrate");
    let replay_started = Instant::now();
    let replay = wowlogs()
        .args([
            "consume",
            "events-sink",
            "--brokers",
            &brokers,
            "--clickhouse-url",
            &clickhouse,
            "--database",
            &replay_db,
        ])
        .args([
            "--group-id",
            &format!("bench-replay-{stamp}"),
            "--metrics-addr",
            &format!("127.0.0.1:{sink_port}"),
        ])
        .args(["--session-timeout-ms", "10000"])
        .spawn()
        .expect("consumer");
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let raw = format!("SELECT count() FROM combat_events WHERE guild_id = {guild}");
        if count(&replay_store, &raw).await >= events {
            break;
        }
        assert!(replay_started.elapsed() < Duration::from_secs(1800), "replay not done after 30 minutes");
    }
    let replay_seconds = replay_started.elapsed().as_secs_f64();
    let replay_metrics = probe::http_get(sink_port, "/metrics").1;
    let replay_insert_seconds = metric_sum(
        &replay_metrics,
        "wowlogs_consumer_insert_duration_seconds_sum",
        "table=\"combat_events\"",
    );
    let (replay_rss, replay_cpu) = stop(replay);

    let results = serde_json::json!({
        "file": file.display().to_string(),
        "bytes": bytes,
        "events": events,
        "fights": fights,
        "machine": machine(),
        "import_seconds": imported.as_secs_f64(),
        "raw_rows_queryable_seconds": raw_done.as_secs_f64(),
        "fights_queryable_seconds": fights_done.as_secs_f64(),
        "queryable_seconds": queryable.as_secs_f64(),
        "raw_rows_per_s_end_to_end": events as f64 / raw_done.as_secs_f64(),
        "raw_rows_per_s_inside_inserts": inserted / insert_seconds,
        "events_sink_peak_rss_mib": sink_rss as f64 / 1024.0,
        "events_sink_cpu_seconds": sink_cpu,
        "encounters_peak_rss_mib": encounters_rss as f64 / 1024.0,
        "encounters_cpu_seconds": encounters_cpu,
        "replay_seconds": replay_seconds,
        "replay_rows_per_s": events as f64 / replay_seconds,
        "replay_insert_seconds": replay_insert_seconds,
        "replay_cpu_seconds": replay_cpu,
        "replay_peak_rss_mib": replay_rss as f64 / 1024.0,
        "import_cpu_seconds": import_usage.1,
        "import_peak_rss_mib": import_usage.0 as f64 / 1024.0,
        "clickhouse_events_until_queryable": clickhouse_delta,
        "server_cpu_seconds_until_queryable": server_cpu.iter().map(|(n, s)| (n.clone(), serde_json::json!(s))).collect::<serde_json::Map<_, _>>(),
    });
    println!("import (parse + encode + produce, acknowledged)   {:>8.1} s", imported.as_secs_f64());
    println!(
        "all raw rows queryable                            {:>8.1} s  ({:.0} rows/s end to end)",
        raw_done.as_secs_f64(),
        events as f64 / raw_done.as_secs_f64()
    );
    println!(
        "inside the sink's INSERTs                         {:>8.1} s  ({:.0} rows/s)",
        insert_seconds,
        inserted / insert_seconds
    );
    println!("all {fights} fights queryable                          {:>8.1} s", fights_done.as_secs_f64());
    println!("whole log queryable                               {:>8.1} s", queryable.as_secs_f64());
    println!(
        "peak RSS: events sink {:.0} MiB, encounters {:.0} MiB; CPU: events sink {sink_cpu:.1} s, encounters {encounters_cpu:.1} s",
        sink_rss as f64 / 1024.0,
        encounters_rss as f64 / 1024.0
    );
    println!("import: CPU {:.1} s, peak RSS {:.0} MiB", import_usage.1, import_usage.0 as f64 / 1024.0);
    for (name, seconds) in &server_cpu {
        println!("CPU of {name} until queryable: {seconds:.1} s");
    }
    let event = |name: &str| clickhouse_delta.get(name).copied().unwrap_or(0.0);
    println!(
        "ClickHouse until queryable: {:.0} INSERTs of {:.0} rows, {:.0} rows merged in {:.1} s of merges, \
         {:.0} SELECTs; its queries' threads used {:.1} s of CPU",
        event("InsertQuery"),
        event("InsertedRows"),
        event("MergedRows"),
        event("MergesTimeMilliseconds") / 1e3,
        event("SelectQuery"),
        (event("UserTimeMicroseconds") + event("SystemTimeMicroseconds")) / 1e6
    );
    println!(
        "replay, the sink alone: {replay_seconds:.1} s ({:.0} rows/s), {replay_insert_seconds:.1} s inside INSERTs, {replay_cpu:.1} s CPU, peak RSS {:.0} MiB",
        events as f64 / replay_seconds,
        replay_rss as f64 / 1024.0
    );
    let name = if cluster().is_some() { "pipeline-cluster.json" } else { "pipeline.json" };
    let out = common::target_dir().join("benchmarks").join(name);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    serde_json::to_writer_pretty(File::create(&out).expect("results"), &results).expect("write");
    println!("machine: {}\nwritten: {}", machine(), out.display());
}
