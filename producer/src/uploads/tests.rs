//! The upload use case's tests: refusals decided before anything is published, records
//! and the registry, per-guild budgets.

use super::*;
use std::io::Write;
use wowlogs_kafka::KafkaSettings;
use wowlogs_tenancy::Permission;

/// The use case with a producer that is never reached: refusals are decided before
/// anything is published (their status record is sent in the background).
fn uploads() -> Arc<Uploads> {
    let producer = KafkaSettings::new("127.0.0.1:1", "uploads-test")
        .producer_config()
        .set("message.timeout.ms", "200")
        .create()
        .unwrap();
    let config = UploadConfig {
        max_upload_bytes: 1 << 20,
        max_decompressed_bytes: 1 << 30,
        max_logs_per_upload: 1_000,
        max_concurrent_uploads: 4,
        max_concurrent_uploads_per_guild: 2,
        guild_events_per_minute: NonZeroU32::new(1000).unwrap(),
        guild_uploads_per_minute: NonZeroU32::new(1000).unwrap(),
        spool_dir: std::env::temp_dir(),
        max_in_flight: 16,
        parse_threads: 2,
        max_spool_bytes: 1 << 30,
        max_spool_bytes_per_guild: 1 << 30,
        body_idle_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_secs(60),
        guild_decompressed_per_hour: 1 << 30,
        replicas: 1,
        live: Default::default(),
    };
    Arc::new(Uploads::new(LogRegistry::default(), producer, config, ProducerMetrics::new()))
}

#[test]
fn replicas_enforce_their_share_of_each_guild_limit() {
    let config = UploadConfig { replicas: 2, ..uploads().config.clone() };
    let shared = config.clone().per_replica();
    assert_eq!(shared.guild_events_per_minute.get(), config.guild_events_per_minute.get() / 2);
    assert_eq!(shared.guild_uploads_per_minute.get(), config.guild_uploads_per_minute.get() / 2);
    assert_eq!(shared.max_concurrent_uploads_per_guild, 1);
    assert_eq!(shared.guild_decompressed_per_hour, config.guild_decompressed_per_hour / 2);
    assert_eq!(share(1, 3), 1, "never below one");
    assert_eq!(
        UploadConfig { replicas: 1, ..config.clone() }.per_replica().max_concurrent_uploads_per_guild,
        2
    );
}

fn slot() -> UploadSlot {
    UploadSlots::new(1, 1, u64::MAX, u64::MAX).try_take(GuildId(7)).unwrap()
}

fn principal() -> Principal {
    Principal {
        guild_id: GuildId(7),
        guild_name: "Loothing".into(),
        key_id: "key-1".into(),
        permissions: vec![Permission::Upload],
        events_per_minute: 0,
        max_connections: 0,
        guild_active: true,
        expires_ms: 0,
    }
}

/// A zip of `count` one-line logs (`WoWCombatLog-<i>.txt`).
pub(super) fn zip_of_logs(count: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..count {
        zip.start_file(format!("WoWCombatLog-{i}.txt"), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(format!("7/28/2024 14:36:49.528-4  ZONE_CHANGE,{i},\"Orgrimmar\",0\n").as_bytes())
            .unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub(super) fn spool(content: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(content).unwrap();
    file
}

#[test]
fn a_finished_uploads_record_leaves_memory_and_its_status_comes_from_the_registry() {
    let uploads = Uploads {
        ledger: Mutex::new(Ledger::keeping_finished(LogRegistry::default(), Duration::ZERO)),
        ..Arc::into_inner(uploads()).unwrap()
    };
    let status = UploadStatus {
        guild_id: GuildId(7),
        log_id: LogId(2),
        upload_id: "u-1".into(),
        state: UploadState::Completed,
        file_name: "WoWCombatLog.txt".into(),
        content_sha256: String::new(),
        bytes_total: None,
        bytes_read: 10,
        lines: 10,
        events: 10,
        dead_letters: 0,
        acked_through_line: 10,
        reason: None,
        timestamp_ms: 1,
        last_event_line: None,
    };
    let record = UploadRecord {
        upload_id: "u-1".into(),
        guild_id: GuildId(7),
        guild_name: "Loothing".into(),
        file_name: "WoWCombatLog.txt".into(),
        status: "completed".into(),
        logs: vec![status.clone()],
    };
    uploads.ledger().start(record, []);
    uploads.ledger().learn(status);
    uploads.ledger().upload_ended("u-1", "completed");
    let answered = uploads.status(&principal(), "u-1").expect("still known");
    assert_eq!((answered.status.as_str(), answered.logs.len()), ("completed", 1));
    assert_eq!(uploads.records_held(), 0, "the record left memory");
    let other = Principal { guild_id: GuildId(8), ..principal() };
    assert!(uploads.status(&other, "u-1").is_none(), "another guild's upload stays unknown");
}

#[tokio::test]
async fn an_upload_expanding_past_its_guilds_hourly_budget_is_refused_naming_the_setting() {
    let config = UploadConfig { guild_decompressed_per_hour: 1 << 20, ..uploads().config.clone() };
    let uploads = Arc::new(Uploads::new(
        LogRegistry::default(),
        uploads().producer.clone(),
        config,
        ProducerMetrics::new(),
    ));
    let text = "7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0\n".repeat(40_000);
    let refused =
        uploads.receive(&principal(), "u-test", slot(), spool(text.as_bytes()), "big.txt".into(), None).await;
    let refusal = refused.unwrap_err();
    assert!(matches!(refusal, Refusal::LargerThanHourlyBudget { budget: 1_048_576, .. }), "{refusal:?}");
    assert!(refusal.to_string().contains("WOWLOGS_GUILD_DECOMPRESSED_BYTES_PER_HOUR"), "{refusal}");
}

#[test]
fn every_upload_request_spends_one_of_its_guilds_budget_and_other_guilds_keep_theirs() {
    let config =
        UploadConfig { guild_uploads_per_minute: NonZeroU32::new(3).unwrap(), ..uploads().config.clone() };
    let uploads =
        Uploads::new(LogRegistry::default(), uploads().producer.clone(), config, ProducerMetrics::new());
    for _ in 0..3 {
        assert_eq!(uploads.spend_request(&principal()), None);
    }
    let wait = uploads.spend_request(&principal()).expect("the fourth request in a minute waits");
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
    let other = Principal { guild_id: GuildId(8), key_id: "key-2".into(), ..principal() };
    assert_eq!(uploads.spend_request(&other), None, "another guild's budget is its own");
    let same_guild_other_key = Principal { key_id: "key-3".into(), ..principal() };
    assert!(uploads.spend_request(&same_guild_other_key).is_some(), "a new key does not refill the guild's");
}

#[tokio::test]
async fn an_empty_upload_is_refused() {
    let refused =
        uploads().receive(&principal(), "u-test", slot(), spool(b""), "WoWCombatLog.txt".into(), None).await;
    assert_eq!(refused.unwrap_err(), Refusal::Empty);
}

#[tokio::test]
async fn a_file_without_combat_log_events_is_refused() {
    let text = b"Dear diary,\ntoday we killed nothing.\n".repeat(20);
    let refused =
        uploads().receive(&principal(), "u-test", slot(), spool(&text), "notes.txt".into(), None).await;
    assert_eq!(refused.unwrap_err(), Refusal::NotACombatLog { read: 40, malformed: 40 });
}

#[tokio::test]
async fn a_file_mostly_not_a_combat_log_is_refused_before_anything_is_published() {
    const EVENT: &str = "7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0\n";
    // A real event now and then, hidden in garbage: 3,334 events in the first 10,000.
    let text = format!("{EVENT}garbage line\ngarbage line\n").repeat(5_000);
    let refused =
        uploads().receive(&principal(), "u-test", slot(), spool(text.as_bytes()), "x.txt".into(), None).await;
    let refusal = refused.unwrap_err();
    assert_eq!(refusal, Refusal::NotACombatLog { read: 10_000, malformed: 6_666 });
    assert!(refusal.to_string().starts_with("not a combat log: 6666 of the first 10000 lines"), "{refusal}");
}

#[tokio::test]
async fn another_guilds_upload_is_not_found() {
    let uploads = uploads();
    let record = UploadRecord {
        upload_id: "u-1".into(),
        guild_id: GuildId(8),
        guild_name: "Other".into(),
        file_name: "WoWCombatLog.txt".into(),
        status: "processing".into(),
        logs: Vec::new(),
    };
    uploads.ledger().start(record, []);
    assert!(uploads.status(&principal(), "u-1").is_none());
    assert!(uploads.status(&principal(), "u-2").is_none());
}

#[tokio::test]
async fn an_upload_of_more_logs_than_one_upload_may_hold_is_refused_naming_the_setting() {
    let config = UploadConfig { max_logs_per_upload: 3, ..uploads().config.clone() };
    let uploads = Arc::new(Uploads::new(
        LogRegistry::default(),
        uploads().producer.clone(),
        config,
        ProducerMetrics::new(),
    ));
    let refused = uploads
        .receive(&principal(), "u-many", slot(), spool(&zip_of_logs(4)), "logs.zip".into(), None)
        .await;
    let refusal = refused.unwrap_err();
    assert_eq!(refusal, Refusal::TooManyLogs { limit: 3 });
    assert_eq!(refusal.code(), "too_many_logs");
    assert!(refusal.has_status(), "its one failed status is published");
    assert!(refusal.to_string().contains("WOWLOGS_MAX_LOGS_PER_UPLOAD"), "{refusal}");
    assert_eq!(uploads.records_held(), 0, "nothing of it is kept");
}
