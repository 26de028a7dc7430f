//! The events sink between a real broker and a real ClickHouse (both started by
//! `deploy/local/test.sh`; set `WOWLOGS_TEST_BROKERS` and `WOWLOGS_TEST_CLICKHOUSE`).

use rdkafka::producer::{FutureProducer, FutureRecord};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wowlogs_consumers::events_sink::run;
use wowlogs_consumers::group::GroupConfig;
use wowlogs_consumers::metrics::ConsumerMetrics;
use wowlogs_kafka::{KafkaSettings, ensure_topics};
use wowlogs_producer::import::{ImportObserver, ImportSettings, LogOutcome, LogReport, import_files};
use wowlogs_producer::intake::IntakeCounts;
use wowlogs_producer::registry::LogRegistry;
use wowlogs_schemas::{GuildId, topics};
use wowlogs_store::rows::Count;
use wowlogs_store::{StoreSettings, migrate};
use wowlogs_testkit::fixture;

struct Quiet;
impl ImportObserver for Quiet {
    fn log_started(&self, _: &str, _: u64) {}
    fn progress(&self, _: &str, _: &IntakeCounts) {}
    fn log_done(&self, _: &LogReport) {}
}

fn servers(test: &str) -> (KafkaSettings, StoreSettings) {
    let (brokers, clickhouse) = (wowlogs_testkit::brokers(), wowlogs_testkit::clickhouse());
    let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    (
        KafkaSettings::new(brokers, format!("wowlogs-sink-test-{test}")),
        StoreSettings::new(clickhouse, format!("wowlogs_test_sink_{test}_{}_{unique}", std::process::id())),
    )
}

/// Small batches and a short session: a test group.
fn group_config(kafka: &KafkaSettings, store: &StoreSettings, group_id: String) -> GroupConfig {
    GroupConfig {
        kafka: kafka.clone(),
        store: store.clone(),
        registry: store.clone(),
        group_id,
        batch_rows: 10_000,
        batch_bytes: 32 << 20,
        log_idle: Duration::from_secs(900),
        live_log_idle: Duration::from_secs(3600),
        max_open_logs_per_guild: 64,
        instance_id: None,
        batch_age: Duration::from_millis(300),
        session_timeout: Duration::from_secs(6),
        stop_when_idle: None,
        insert_timeout: Duration::from_secs(60),
    }
}

async fn count(store: &StoreSettings, sql: &str) -> u64 {
    store.client().query(sql).fetch_one::<Count>().await.map(|c| c.n).unwrap_or(0)
}

async fn wait_for(store: &StoreSettings, sql: &str, expected: u64) {
    let started = Instant::now();
    loop {
        let n = count(store, sql).await;
        if n == expected {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{sql}: {n}, expected {expected}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn events_statuses_and_dead_letters_land_in_clickhouse_once() {
    let (kafka, store) = servers("land");
    ensure_topics(&kafka, &topics::ALL, |t| t.default_partitions, 1).await.unwrap();
    migrate(&store).await.unwrap();
    let guild = 3001;

    // A real log with two bad lines appended, imported through the producer.
    let dir = std::env::temp_dir().join(format!("wowlogs-sink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mixed.txt");
    let mut text = std::fs::read(fixture("arena_3v3_tww_11.2.0.txt")).unwrap();
    text.extend_from_slice(
        b"8/30/2025 21:05:52.0008  SPELL_DAMAGE,Player-11-0E88FF6F,\"Broken\nnot a log line\n",
    );
    std::fs::write(&path, text).unwrap();
    let producer: FutureProducer = kafka.producer_config().create().unwrap();
    let import = ImportSettings {
        guild_id: GuildId(guild),
        year: Some(2025),
        utc_offset_minutes: 0,
        parallelism: 1,
        parse_threads: 2,
        max_in_flight: 1000,
    };
    let reports = {
        let (producer, path) = (producer.clone(), path.clone());
        tokio::task::spawn_blocking(move || {
            import_files(&producer, &Mutex::new(LogRegistry::default()), &[path], &import, &Quiet)
        })
        .await
        .unwrap()
    };
    assert!(matches!(reports[0].outcome, LogOutcome::Imported { .. }), "{reports:?}");

    // And a record nobody can decode.
    let key = guild.to_string();
    producer
        .send(
            FutureRecord::to(topics::COMBAT_EVENTS.name).key(&key).payload(&b"\x00garbage"[..]),
            Duration::from_secs(10),
        )
        .await
        .unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = group_config(&kafka, &store, format!("wowlogs-events-sink-test-{}", std::process::id()));
    let metrics = ConsumerMetrics::new();
    let sink = tokio::spawn(run(config, metrics.clone(), async {
        let _ = stopped.await;
    }));

    wait_for(&store, &format!("SELECT count() AS n FROM combat_events FINAL WHERE guild_id = {guild}"), 32)
        .await;
    wait_for(&store, &format!("SELECT count() AS n FROM logs FINAL WHERE guild_id = {guild} AND state = 'completed' AND events = 32 AND dead_letters = 2"), 1).await;
    wait_for(
        &store,
        &format!(
            "SELECT count() AS n FROM dead_letters FINAL WHERE guild_id = {guild} AND source = 'parser'"
        ),
        2,
    )
    .await;
    wait_for(
        &store,
        &format!(
            "SELECT count() AS n FROM dead_letters FINAL WHERE guild_id = {guild} AND code = 'undecodable'"
        ),
        1,
    )
    .await;
    stop.send(()).unwrap();
    sink.await.unwrap().unwrap();
    let exposition = metrics.render();
    assert!(
        exposition.contains("wowlogs_consumer_dead_letters_total{group=\"wowlogs-events-sink-test-"),
        "the undecodable record is counted: {exposition}"
    );
    assert!(exposition.contains("wowlogs_consumer_rows_inserted_total"), "{exposition}");
    let damage = count(&store, &format!("SELECT toUInt64(sum(amount)) AS n FROM combat_events FINAL WHERE guild_id = {guild} AND event_type = 'RANGE_DAMAGE'")).await;
    assert_eq!(damage, 598_949, "the hunter's four hits, as analyze counts them");
    let _ = std::fs::remove_dir_all(dir);
}

/// Records the offsets of one partition it is given; writes nothing.
struct Recorder {
    partition: i32,
    seen: std::sync::Arc<Mutex<Vec<i64>>>,
}

impl wowlogs_consumers::group::Projection for Recorder {
    fn topics(&self) -> Vec<&'static str> {
        vec![topics::COMBAT_EVENTS.name]
    }

    fn take(
        &mut self,
        record: wowlogs_consumers::group::Record<'_>,
        _: &mut wowlogs_consumers::batch::RowBatch,
    ) -> Result<(), String> {
        if record.partition == self.partition {
            self.seen.lock().unwrap().push(record.offset);
        }
        Ok(())
    }
}

/// Resuming from a committed offset inside a record batch: every record from the
/// committed offset on is processed, and none before it. (Unpatched tansu 0.6.0 answers
/// such a fetch with the next batch and fails this: deploy/local/patches/.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_group_resuming_inside_a_record_batch_loses_nothing_and_skips_what_was_done() {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{Offset, TopicPartitionList};

    let (kafka, store) = servers("resume");
    ensure_topics(&kafka, &topics::ALL, |t| t.default_partitions, 1).await.unwrap();
    let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let key = (8_000_000 + unique % 1_000_000).to_string();

    // 32 records in one record batch (sent together, within one linger).
    let producer: FutureProducer = kafka.producer_config().set("linger.ms", "200").create().unwrap();
    let deliveries: Vec<_> = (0..32)
        .map(|i: u32| {
            let payload = i.to_be_bytes();
            producer
                .send_result(FutureRecord::to(topics::COMBAT_EVENTS.name).key(&key).payload(&payload[..]))
                .unwrap()
        })
        .collect();
    let mut offsets = Vec::new();
    for delivery in deliveries {
        let delivered = delivery.await.unwrap().unwrap();
        offsets.push((delivered.partition, delivered.offset));
    }
    let (partition, first) = offsets[0];
    assert!(offsets.iter().all(|(p, _)| *p == partition));

    // The group stopped half-way through the batch; elsewhere it is (about) at the end.
    let group_id = format!("wowlogs-resume-test-{unique}");
    let committer: BaseConsumer = kafka.client_config().set("group.id", &group_id).create().unwrap();
    let metadata =
        committer.fetch_metadata(Some(topics::COMBAT_EVENTS.name), Duration::from_secs(10)).unwrap();
    let mut committed = TopicPartitionList::new();
    for p in metadata.topics()[0].partitions() {
        let at = if p.id() == partition {
            first + 16
        } else {
            committer.fetch_watermarks(topics::COMBAT_EVENTS.name, p.id(), Duration::from_secs(10)).unwrap().1
        };
        committed.add_partition_offset(topics::COMBAT_EVENTS.name, p.id(), Offset::Offset(at)).unwrap();
    }
    committer.commit(&committed, CommitMode::Sync).unwrap();
    drop(committer);

    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = group_config(&kafka, &store, group_id);
    let recorder = Recorder { partition, seen: seen.clone() };
    let group = tokio::spawn(async move {
        wowlogs_consumers::group::run_group(&config, recorder, ConsumerMetrics::new(), async {
            let _ = stopped.await;
        })
        .await
    });
    let started = Instant::now();
    let last = first + 31;
    while !seen.lock().unwrap().contains(&last) {
        assert!(started.elapsed() < Duration::from_secs(90), "the batch's last record never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(()).unwrap();
    group.await.unwrap().unwrap();
    let mut ours: Vec<i64> =
        seen.lock().unwrap().iter().copied().filter(|o| *o >= first - 10_000 && *o <= last).collect();
    ours.sort_unstable();
    ours.dedup();
    assert_eq!(
        ours,
        (first + 16..=last).collect::<Vec<_>>(),
        "from the committed offset on, nothing before it"
    );
}
