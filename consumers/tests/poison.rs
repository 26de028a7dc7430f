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

/// The dead letters of `guild` on the dead-letter topic.
fn letters_of(kafka: &KafkaSettings, guild: i64) -> Vec<DeadLetter> {
    let codec = Codec::<DeadLetter>::new().unwrap();
    let mut letters = Vec::new();
    read_topic_to_end(kafka, topics::DEAD_LETTER.name, Duration::from_secs(30), |message| {
        if let Some(letter) = rdkafka::Message::payload(message).and_then(|p| codec.decode(p).ok())
            && letter.guild_id.0 == guild
        {
            letters.push(letter);
        }
    })
    .unwrap();
    letters
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
        complete: 1,
        start: 1_700_000_000,
        start_ms: 1_700_000_000_000,
        end_ms: 1_700_000_000_000,
        end_line: start_line,
        version: 1,
        ..EncounterRow::default()
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
        registry: store.client(),
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
    let fights = wowlogs_store::rows::FightRows { encounters, ..Default::default() };
    let mut batch = RowBatch { fights, ..RowBatch::default() };
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
    let refused = letters_of(&kafka, hostile);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let letter = &refused[0];
    assert_eq!((letter.code.as_str(), letter.line), ("row_refused", 100));
    assert!(letter.message.starts_with("encounters: "), "{}", letter.message);
    assert!(String::from_utf8_lossy(&letter.raw).contains("\"name\":\"poison\""));
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_dead_letter_too_large_for_the_broker_goes_with_its_raw_cut_or_is_reported_never_holding_the_group()
{
    use wowlogs_consumers::batch::{MAX_DEAD_LETTER_RAW, dead_letter};
    let (kafka, _) = servers();
    ensure_topics(&kafka, &topics::ALL, |t| t.default_partitions, 1).await.unwrap();
    let guild = 93_000 + i64::from(std::process::id() % 1000);
    let limit: usize = topics::MAX_MESSAGE_BYTES.parse().unwrap();
    let letter = |line: i64| DeadLetter {
        guild_id: wowlogs_schemas::GuildId(guild),
        log_id: wowlogs_schemas::LogId(1),
        upload_id: String::new(),
        source: "dead-letter-test".into(),
        line,
        event: None,
        code: "row_refused".into(),
        message: "encounters: refused".into(),
        // Larger than any message the topics take.
        raw: vec![b'x'; limit + 1],
        timestamp_ms: 0,
    };
    let codec = Codec::<DeadLetter>::new().unwrap();
    let metrics = ConsumerMetrics::new();
    let producer: rdkafka::producer::FutureProducer = kafka.producer_config().create().unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        dead_letter(&producer, &codec, &letter(1), "dead-letter-test", "encounters", &metrics),
    )
    .await
    .expect("a letter too large is cut, not retried for ever");

    // A producer whose messages cannot even hold the cut letter: reported, given up on.
    let tiny: rdkafka::producer::FutureProducer =
        kafka.producer_config().set("message.max.bytes", "30000").create().unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        dead_letter(&tiny, &codec, &letter(2), "dead-letter-test", "encounters", &metrics),
    )
    .await
    .expect("an unsendable letter does not hold the group");
    let exposition = metrics.render();
    let series = |name: &str| {
        exposition
            .lines()
            .find(|l| l.starts_with(name) && l.contains("group=\"dead-letter-test\""))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_string)
    };
    assert_eq!(series("wowlogs_consumer_dead_letters_total").as_deref(), Some("1"), "{exposition}");
    assert_eq!(
        series("wowlogs_consumer_dead_letters_unsendable_total").as_deref(),
        Some("1"),
        "{exposition}"
    );

    let sent = letters_of(&kafka, guild);
    assert_eq!(sent.len(), 1, "the cut letter, once");
    assert_eq!((sent[0].line, sent[0].raw.len()), (1, MAX_DEAD_LETTER_RAW));
    assert!(sent[0].message.contains(&format!("raw cut to {MAX_DEAD_LETTER_RAW} of {} bytes", limit + 1)));
}
