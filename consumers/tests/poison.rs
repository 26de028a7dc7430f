//! Poison never stops a group: rows ClickHouse refuses are isolated and dead-lettered,
//! the rest written; against the real ClickHouse and broker (`deploy/local/test.sh`).

use std::time::Duration;
use wowlogs_consumers::batch::{RowBatch, Sinks};
use wowlogs_consumers::metrics::ConsumerMetrics;
use wowlogs_kafka::{KafkaSettings, ensure_topics, read_topic_to_end};
use wowlogs_schemas::{Codec, DeadLetter, topics};
use wowlogs_store::rows::{Count, EncounterRow};
use wowlogs_store::{StoreSettings, migrate};

fn servers() -> (KafkaSettings, StoreSettings) {
    let brokers = wowlogs_testkit::brokers();
    let clickhouse = wowlogs_testkit::clickhouse();
    let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    (
        KafkaSettings::new(brokers, format!("wowlogs-poison-test-{unique}")),
        StoreSettings::new(clickhouse, format!("wowlogs_test_poison_{}_{unique}", std::process::id())),
    )
}

fn fight(guild_id: i64, start_line: i64) -> EncounterRow {
    EncounterRow {
        guild_id,
        log_id: 1,
        start_line,
        fight_id: start_line,
        upload_id: "u".into(),
        kind: 1,
        name: format!("Boss {start_line}"),
        encounter_id: None,
        difficulty: None,
        group_size: None,
        instance_id: None,
        kill: None,
        complete: 1,
        start: 1_700_000_000,
        start_ms: 1_700_000_000_000,
        end_ms: 1_700_000_000_000,
        duration_ms: 0,
        end_line: start_line,
        key_level: None,
        affixes: Vec::new(),
        match_type: String::new(),
        parent_start_line: None,
        version: 1,
        round: None,
        rounds_won: None,
    }
}

#[tokio::test]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_row_clickhouse_refuses_is_dead_lettered_and_the_rest_written() {
    let (kafka, store) = servers();
    migrate(&store).await.unwrap();
    // A check the server enforces at insert (a constraint on current servers; 18.16 has
    // `throwIf`): a row named `poison` is refused, and with it the whole INSERT block.
    store
        .client()
        .query("ALTER TABLE encounters ADD COLUMN refuse_poison UInt8 MATERIALIZED throwIf(name = 'poison')")
        .execute()
        .await
        .unwrap();
    ensure_topics(&kafka, &topics::ALL, |t| t.default_partitions, 1).await.unwrap();
    let sinks = Sinks {
        group: "poison-test".into(),
        clickhouse: store.client(),
        producer: kafka.producer_config().create().unwrap(),
        summaries: Codec::new().unwrap(),
        letters: Codec::new().unwrap(),
        metrics: ConsumerMetrics::new(),
        insert_timeout: std::time::Duration::from_secs(60),
    };
    // A hostile guild's row the server refuses among a victim guild's rows in the same
    // batch.
    let hostile = 91_000 + i64::from(std::process::id() % 1000);
    let mut poison = fight(hostile, 100);
    poison.name = "poison".into();
    let mut encounters: Vec<EncounterRow> = (1..=7).map(|line| fight(90_001, line)).collect();
    encounters.insert(3, poison);
    let mut batch = RowBatch { encounters, ..RowBatch::default() };
    tokio::time::timeout(Duration::from_secs(120), sinks.write(&mut batch))
        .await
        .expect("the group moves on");

    let victims: Count = store
        .client()
        .query("SELECT count() AS n FROM encounters FINAL WHERE guild_id = 90001")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(victims.n, 7, "every good row is written");
    let codec = Codec::<DeadLetter>::new().unwrap();
    let mut refused = Vec::new();
    read_topic_to_end(&kafka, topics::DEAD_LETTER.name, Duration::from_secs(30), |message| {
        if let Some(letter) = rdkafka::Message::payload(message).and_then(|p| codec.decode(p).ok())
            && letter.guild_id.0 == hostile
        {
            refused.push(letter);
        }
    })
    .unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let letter = &refused[0];
    assert_eq!((letter.code.as_str(), letter.line), ("row_refused", 100));
    assert!(letter.message.starts_with("encounters: "), "{}", letter.message);
    assert!(String::from_utf8_lossy(&letter.raw).contains("\"name\":\"poison\""));
}
