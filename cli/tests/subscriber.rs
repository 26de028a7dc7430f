//! A downstream team's subscriber, independent of wowlogs' code: the Python example
//! (`schemas/examples/subscriber.py`: confluent-kafka, fastavro, the published `.avsc`
//! files) reads all four topics of a two-guild import on a broker of the test's own. It
//! stops after arbitrary numbers of records, commits exactly those and starts again, again
//! and again: in the end it has seen every record (none missing; duplicates allowed and
//! counted), each decoded from its framing, its key and headers checked, its fingerprint
//! equal to the subscriber's own computation.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

/// Python with confluent-kafka and fastavro: the checks' venv (`deploy/checks/stack.sh`
/// installs them), or `WOWLOGS_TEST_PYTHON`.
fn python() -> PathBuf {
    std::env::var_os("WOWLOGS_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/wowlogs/checks-venv/bin/python")
    })
}

/// One run of the subscriber: its summary line.
fn subscribe(brokers: &str, group: &str, out: &Path, stop_after: u64) -> serde_json::Value {
    let said = run(std::process::Command::new(python())
        .arg(repo().join("schemas/examples/subscriber.py"))
        .args(["--brokers", brokers, "--group", group, "--stop-after", &stop_after.to_string()])
        .arg("--schemas")
        .arg(repo().join("schemas/avro"))
        .arg("--out")
        .arg(out));
    serde_json::from_str(said.trim()).unwrap_or_else(|e| panic!("{e}: {said}"))
}

/// Every record in an NDJSON file of the subscriber: (topic, identity) -> times seen.
fn seen(out: &Path) -> BTreeMap<(String, String), u64> {
    let mut seen = BTreeMap::new();
    for line in std::fs::read_to_string(out).unwrap().lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = (record["topic"].as_str().unwrap().to_string(), record["id"].to_string());
        *seen.entry(key).or_insert(0) += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse, and Python's confluent-kafka and fastavro: deploy/local/test.sh runs it"]
async fn a_python_subscriber_stopping_and_resuming_anywhere_sees_every_record() {
    let broker = Broker::start();
    let (database, _) = migrated("wowlogs_test_subscriber", &clickhouse());
    let store = store(&clickhouse(), &database);
    // The encounter consumer publishes the fights: all four topics get records.
    let _consumers = [("events-sink", "sink"), ("encounters", "enc")].map(|(group, id)| {
        ConsumerProcess::start_on(&broker.address, group, id, &clickhouse(), &database, None, &[])
    });
    let (big, small) = (61, 62);
    let big_logs = all_fixtures();
    let small_logs =
        vec![fixture("arena_3v3_tww_11.2.0.txt"), fixture("classic_sod_1.15.1_gnomeregan_raid.txt")];
    finish(start_import_on(&broker.address, big, &big_logs), "import");
    finish(start_import_on(&broker.address, small, &small_logs), "import");
    let big_analyses: Vec<Analysis> = big_logs.iter().map(|l| analyze(l)).collect();
    let small_analyses: Vec<Analysis> = small_logs.iter().map(|l| analyze(l)).collect();
    wait_for_guild(&store, big, &big_analyses.iter().collect::<Vec<_>>(), Duration::from_secs(180)).await;
    wait_for_guild(&store, small, &small_analyses.iter().collect::<Vec<_>>(), Duration::from_secs(180)).await;
    let all: Vec<&Analysis> = big_analyses.iter().chain(&small_analyses).collect();
    let events: u64 = all.iter().map(|a| a.events).sum();
    let fights: u64 = all.iter().map(|a| a.fights.len() as u64).sum();
    let dead_letters: u64 = all.iter().map(|a| a.errors).sum();
    // The encounter consumer publishes a fight once its rows are written; give it a moment.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // What the topics hold: one uninterrupted read by a group of its own.
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.ndjson");
    let summary = subscribe(&broker.address, "subscriber-whole", &whole, 0);
    let expected = seen(&whole);
    let on = |topic: &str| expected.keys().filter(|(t, _)| t == topic).count() as u64;
    assert_eq!(on("wowlogs.combat-events.v1"), events, "{summary}");
    assert_eq!(on("wowlogs.encounters.v1"), fights, "{summary}");
    assert_eq!(on("wowlogs.dead-letter.v1"), dead_letters, "{summary}");
    assert!(on("wowlogs.uploads.v1") >= 2 * all.len() as u64, "{summary}");

    // The same with a group that stops after arbitrary numbers of records and resumes
    // where it committed: inside record batches (the producer's hold up to 10,000).
    let resumed = dir.path().join("resumed.ndjson");
    let group = "subscriber-resuming";
    for stop_after in [1, 4_999, 7_919, 13, 20_011, 3_331, 9_973] {
        let said = subscribe(&broker.address, group, &resumed, stop_after);
        assert_eq!(said["processed"], stop_after, "{said}");
    }
    subscribe(&broker.address, group, &resumed, 0);
    let got = seen(&resumed);
    let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).take(5).collect();
    assert!(missing.is_empty(), "records never seen after resuming: {missing:?}");
    let extra: BTreeSet<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(extra.is_empty(), "records that are not on the topics: {extra:?}");
    let duplicates: u64 = got.values().map(|n| n - 1).sum();
    println!("{} records, all seen; {duplicates} seen twice or more after resuming", expected.len());

    // `wowlogs tail` shows the same records, decoded: one guild's, from the beginning.
    let tail = |args: &[&str]| -> Vec<serde_json::Value> {
        run(wowlogs().args(["tail", "--brokers", &broker.address, "--from-beginning"]).args(args))
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    };
    let small_events: u64 = small_analyses.iter().map(|a| a.events).sum();
    let lines = tail(&["--guild", "62", "--topic", "events", "--until-end"]);
    assert_eq!(lines.len() as u64, small_events);
    for line in &lines {
        assert_eq!(
            (line["key"].as_str(), line["value"]["guild_id"].as_i64()),
            (Some("62"), Some(62)),
            "{line}"
        );
        assert_eq!(line["fingerprint_matches_header"], true, "{line}");
        assert_eq!(line["topic"], "wowlogs.combat-events.v1");
    }
    let fights = tail(&["--guild", "62", "--topic", "encounters,uploads", "--until-end"]);
    let small_fights: usize = small_analyses.iter().map(|a| a.fights.len()).sum();
    assert_eq!(fights.iter().filter(|l| l["topic"] == "wowlogs.encounters.v1").count(), small_fights);
    let completed =
        fights.iter().filter(|l| l["topic"] == "wowlogs.uploads.v1" && l["value"]["state"] == "completed");
    assert_eq!(completed.count(), small_logs.len(), "one completed status per log");
    assert_eq!(tail(&["--max-records", "3"]).len(), 3, "--max-records stops it");
}
