//! Live logging end to end: `wowlogs replay` writes real logs into a folder as the game
//! does during a raid (irregular pieces cutting lines and characters, CRLF, a new file
//! mid-way, a re-created file), `wowlogs watch` follows the folder into a real upload
//! service, and the consumers fill ClickHouse. Every log must end exactly as a bulk
//! import of the same files: the same events, dead letters, fights, players, deaths.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::probe::free_port;
use support::{
    Broker, ConsumerProcess, Service, all_fixtures, clickhouse, count, finish, fixture, guild_with_key,
    migrated, start_import_on, store, tsv, unique, wowlogs,
};
use wowlogs_store::StoreSettings;

/// The upload service on `port`, against the test's own broker.
fn upload_service(broker: &str, port: u16, store_args: &[String]) -> Service {
    let child = wowlogs()
        .args(["serve", "--brokers", broker, "--listen", &format!("127.0.0.1:{port}")])
        .env("WOWLOGS_PRODUCER_METRICS_LISTEN", "")
        .args(store_args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while support::http_get(port, "/health/live").0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(60), "the upload service did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Service(child)
}

/// `wowlogs watch` of `folder` into the upload service on `port`, stopping once every
/// file it follows is closed.
fn watcher(folder: &Path, state: &Path, port: u16, bearer: &str) -> Service {
    Service(
        wowlogs()
            .arg("watch")
            .arg(folder)
            .args(["--server", &format!("http://127.0.0.1:{port}")])
            .args(["--key", bearer.trim_start_matches("Bearer ")])
            .arg("--state")
            .arg(state)
            .args(["--close-after-secs", "3", "--poll-ms", "50", "--exit-when-done", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    )
}

/// `wowlogs replay` of a real log into `folder`.
fn replay(log: &Path, folder: &Path, speed: &str, extra: &[&str]) -> Child {
    wowlogs()
        .arg("replay")
        .arg(log)
        .arg("--into")
        .arg(folder)
        .args(["--speed", speed, "--max-gap-secs", "0.2", "--quiet"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn written_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
}

fn wait_exit(child: &mut Child, what: &str, limit: Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{what}: {status}");
            return;
        }
        assert!(started.elapsed() < limit, "{what}: still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A guild's rows in every projection table, without what names the guild, the log or
/// the upload (a fight's id, made of its log's, and a dead letter's receipt time): what two guilds that received the
/// same files must hold alike.
async fn content(store: &StoreSettings, guild: i64) -> Vec<(String, Vec<String>)> {
    let tables = [
        "combat_events",
        "encounters",
        "encounter_details",
        "encounter_players",
        "encounter_deaths",
        "character_logs",
        "character_gear",
        "dead_letters",
    ];
    let mut out = Vec::new();
    for table in tables {
        let columns = tsv(
            store,
            &format!(
                "SELECT name FROM system.columns WHERE database = '{}' AND table = '{table}' \
                 AND name NOT IN ('guild_id', 'log_id', 'upload_id', 'fight_id', 'version') \
                 AND NOT (table = 'dead_letters' AND name IN ('timestamp', 'timestamp_ms'))",
                store.database
            ),
        )
        .await;
        let columns = columns.lines().collect::<Vec<_>>().join(", ");
        let text = tsv(store, &format!("SELECT {columns} FROM {table} FINAL WHERE guild_id = {guild}")).await;
        let mut rows: Vec<String> = text.lines().map(str::to_string).collect();
        rows.sort();
        out.push((table.to_string(), rows));
    }
    out
}

fn assert_same(live: &[(String, Vec<String>)], bulk: &[(String, Vec<String>)], what: &str) {
    for ((table, a), (_, b)) in live.iter().zip(bulk) {
        if a != b {
            let first = a.iter().zip(b).find(|(x, y)| x != y);
            panic!(
                "{what}: {table} differs: {} live rows vs {} imported; first difference: {first:?}",
                a.len(),
                b.len()
            );
        }
    }
}

/// Waits until both guilds hold the same number of completed logs, events and fights,
/// the live guild `logs` of them.
async fn wait_alike(store: &StoreSettings, live: i64, bulk: i64, logs: u64) {
    let started = Instant::now();
    let counts = async |guild: i64| {
        (
            count(
                store,
                &format!("SELECT count() FROM logs FINAL WHERE guild_id = {guild} AND state = 'completed'"),
            )
            .await,
            count(store, &format!("SELECT count() FROM combat_events FINAL WHERE guild_id = {guild}")).await,
            count(store, &format!("SELECT count() FROM encounters FINAL WHERE guild_id = {guild}")).await,
        )
    };
    loop {
        let (a, b) = (counts(live).await, counts(bulk).await);
        if a == b && a.0 == logs {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "live {a:?} vs imported {b:?}, {logs} logs expected"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

struct Pipeline {
    broker: Broker,
    store: StoreSettings,
    store_args: [String; 4],
    _consumers: (ConsumerProcess, ConsumerProcess),
}

fn pipeline(prefix: &str) -> Pipeline {
    let broker = Broker::start();
    let (database, store_args) = migrated(prefix, &clickhouse());
    let consumers = (
        ConsumerProcess::start_on(
            &broker.address,
            "events-sink",
            &unique("live-sink"),
            &clickhouse(),
            &database,
            None,
            &[],
        ),
        ConsumerProcess::start_on(
            &broker.address,
            "encounters",
            &unique("live-enc"),
            &clickhouse(),
            &database,
            None,
            &[],
        ),
    );
    Pipeline { broker, store: store(&clickhouse(), &database), store_args, _consumers: consumers }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local ClickHouse (deploy/local/test.sh); starts a broker of its own"]
async fn every_real_log_watched_while_the_game_writes_it_ends_as_a_bulk_import_of_its_files() {
    let pipeline = pipeline("wowlogs_test_live");
    let (live, bearer) = guild_with_key(&pipeline.store_args, "Live", "upload,query");
    let (bulk, _) = guild_with_key(&pipeline.store_args, "Imported", "upload");
    let port = free_port();
    let _upload = upload_service(&pipeline.broker.address, port, &pipeline.store_args);
    let work = tempfile::tempdir().unwrap();
    let mut files_written = 0;
    for (i, log) in all_fixtures().iter().enumerate() {
        let name = log.file_name().unwrap().to_string_lossy().into_owned();
        let folder = work.path().join(&name);
        std::fs::create_dir_all(&folder).unwrap();
        let mut watch = watcher(&folder, &work.path().join(format!("{name}.state.json")), port, &bearer);
        // Every other log with CRLF line ends; every log cut differently.
        let crlf = if i % 2 == 0 { "--crlf" } else { "--seed" };
        let seed = (i + 1).to_string();
        let extra = if crlf == "--crlf" {
            vec!["--crlf", "--toggle", "--recreate", "--seed", &seed]
        } else {
            vec!["--toggle", "--recreate", "--seed", &seed]
        };
        let replayed = replay(log, &folder, "2000", &extra);
        finish(replayed, &format!("replaying {name}"));
        wait_exit(&mut watch.0, &format!("watching {name}"), Duration::from_secs(120));
        let files = written_files(&folder);
        files_written += files.len() as u64;
        finish(start_import_on(&pipeline.broker.address, bulk, &files), &format!("importing {name}"));
    }
    wait_alike(&pipeline.store, live, bulk, files_written).await;
    let (a, b) = (content(&pipeline.store, live).await, content(&pipeline.store, bulk).await);
    assert!(a[0].1.len() > 100_000, "every log's events: {}", a[0].1.len());
    assert_same(&a, &b, "every real log");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local ClickHouse (deploy/local/test.sh); starts a broker of its own"]
async fn a_watcher_killed_and_an_upload_service_down_for_60_s_mid_raid_lose_and_repeat_nothing() {
    let pipeline = pipeline("wowlogs_test_live_outage");
    let (live, bearer) = guild_with_key(&pipeline.store_args, "Live", "upload,query");
    let (bulk, _) = guild_with_key(&pipeline.store_args, "Imported", "upload");
    let port = free_port();
    let mut upload = Some(upload_service(&pipeline.broker.address, port, &pipeline.store_args));
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("Logs");
    std::fs::create_dir_all(&folder).unwrap();
    let state = work.path().join("watch.json");
    let log = fixture("retail_midnight_12.0_raid_manaforge_soul_hunters_kill_slice.txt");
    let mut watch = watcher(&folder, &state, port, &bearer);
    // The 25-player kill written over about two minutes.
    let mut replayed = replay(&log, &folder, "8", &["--crlf", "--seed", "5"]);
    let size = std::fs::metadata(&log).unwrap().len();
    let written =
        || written_files(&folder).iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum::<u64>();
    let until_written = |fraction: f64| {
        let started = Instant::now();
        while (written() as f64) < size as f64 * fraction {
            assert!(started.elapsed() < Duration::from_secs(300), "the replay stalled");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The watcher killed a quarter of the way in, and started again.
    until_written(0.25);
    drop(watch);
    std::thread::sleep(Duration::from_secs(2));
    watch = watcher(&folder, &state, port, &bearer);
    // The upload service killed at half-way, and back 60 s later.
    until_written(0.5);
    drop(upload.take());
    let down = Instant::now();
    std::thread::sleep(Duration::from_secs(60));
    upload = Some(upload_service(&pipeline.broker.address, port, &pipeline.store_args));
    eprintln!("the upload service was down for {:?}", down.elapsed());
    replayed.wait().unwrap();
    wait_exit(&mut watch.0, "the watcher", Duration::from_secs(300));
    let files = written_files(&folder);
    finish(start_import_on(&pipeline.broker.address, bulk, &files), "importing the written file");
    wait_alike(&pipeline.store, live, bulk, files.len() as u64).await;
    assert_same(&content(&pipeline.store, live).await, &content(&pipeline.store, bulk).await, "the outage");
    drop(upload);
}
