//! The producer against a real broker (tansu, started by `deploy/local/test.sh`; set
//! `WOWLOGS_TEST_BROKERS` to run these with `cargo test`). Each test uses its own guild,
//! so they share the topics without seeing each other's records.

use rdkafka::Message;
use rdkafka::message::Headers;
use rdkafka::producer::FutureProducer;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::Duration;
use wowlogs_kafka::{KafkaSettings, Outbox, ensure_topics, read_topic_to_end};
use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
use wowlogs_producer::identity::identify;
use wowlogs_producer::import::{ImportObserver, ImportSettings, LogOutcome, LogReport, import_files};
use wowlogs_producer::intake::{
    Encoders, IntakeCounts, LogJob, NoHooks, publish_log, publish_status, status_of,
};
use wowlogs_producer::registry::{Admission, LogRegistry};
use wowlogs_schemas::now_ms;
use wowlogs_schemas::topics::{self, COMBAT_EVENTS, DEAD_LETTER, UPLOADS};
use wowlogs_schemas::{Codec, CombatEvent, DeadLetter, GuildId, LogId, UploadState, UploadStatus};
use wowlogs_testkit::fixture;

fn settings() -> KafkaSettings {
    KafkaSettings::new(wowlogs_testkit::brokers(), "wowlogs-producer-tests")
}

fn topics_ready() -> KafkaSettings {
    static CREATE: Once = Once::new();
    let settings = settings();
    CREATE.call_once(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(ensure_topics(&settings, &topics::ALL, |t| t.default_partitions, 1)).unwrap();
    });
    settings
}

fn producer(settings: &KafkaSettings) -> FutureProducer {
    settings.producer_config().create().unwrap()
}

struct Quiet;
impl ImportObserver for Quiet {
    fn log_started(&self, _: &str, _: u64) {}
    fn progress(&self, _: &str, _: &IntakeCounts) {}
    fn log_done(&self, _: &LogReport) {}
}

fn import(
    settings: &KafkaSettings,
    registry: &Mutex<LogRegistry>,
    guild: i64,
    files: &[PathBuf],
) -> Vec<LogReport> {
    let import = ImportSettings {
        guild_id: GuildId(guild),
        year: Some(2024),
        utc_offset_minutes: 0,
        parallelism: 2,
        parse_threads: 1,
        max_in_flight: 10_000,
    };
    import_files(&producer(settings), registry, files, &import, &Quiet)
}

/// Every record of `topic` for `guild`, decoded, with its headers checked.
fn records<T: wowlogs_schemas::Record>(settings: &KafkaSettings, topic: &str, guild: i64) -> Vec<T> {
    let codec = Codec::<T>::new().unwrap();
    let mut out = Vec::new();
    read_topic_to_end(settings, topic, Duration::from_secs(60), |message| {
        if message.key() != Some(guild.to_string().as_bytes()) {
            return;
        }
        let headers = message.headers().expect("records carry headers");
        let header = |name: &str| {
            headers
                .iter()
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8(v.to_vec()).unwrap())
        };
        assert_eq!(header(topics::HEADER_GUILD_ID), Some(guild.to_string()));
        assert!(header(topics::HEADER_LOG_ID).is_some());
        // The header names the fingerprint bytes as the message's own header holds them.
        let in_message: String =
            message.payload().unwrap()[2..10].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(header(topics::HEADER_SCHEMA_FINGERPRINT), Some(in_message));
        out.push(codec.decode(message.payload().unwrap()).unwrap());
    })
    .unwrap();
    out
}

fn parsed(path: &Path, guild: i64, log_id: LogId) -> (Vec<CombatEvent>, Vec<i64>) {
    let options = ParseOptions { keep_raw: true, ..ParseOptions::new(YearHint::FirstLineIn(2024)) }
        .for_log(GuildId(guild), log_id);
    let mut events = Vec::new();
    let mut bad_lines = Vec::new();
    for line in LogReader::new(BufReader::new(std::fs::File::open(path).unwrap()), options) {
        match line.unwrap() {
            ParsedLine::Event(e) => events.push(e),
            ParsedLine::Malformed(m) => bad_lines.push(m.error.line),
        }
    }
    (events, bad_lines)
}

fn log_id_of(path: &Path, guild: i64) -> LogId {
    identify(GuildId(guild), &mut BufReader::new(std::fs::File::open(path).unwrap())).unwrap().log_id
}

#[test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
fn every_fixture_comes_back_from_the_broker_exactly_as_parsed() {
    let settings = topics_ready();
    let guild = 1001;
    let names = [
        "arena_3v3_tww_11.2.0.txt",
        "classic_sod_1.15.1_gnomeregan_raid.txt",
        "retail_sl_9.2_raid_wipe_snippet.txt",
        "retail_tww_11.0.2_dummies_skirmish.txt",
    ];
    let files: Vec<PathBuf> = names.iter().map(|n| fixture(n)).collect();
    let registry = Mutex::new(LogRegistry::default());
    let reports = import(&settings, &registry, guild, &files);
    assert_eq!(reports.len(), 4);
    assert!(reports.iter().all(|r| matches!(r.outcome, LogOutcome::Imported { .. })), "{reports:?}");

    let published: Vec<CombatEvent> = records(&settings, COMBAT_EVENTS.name, guild);
    for file in &files {
        let log_id = log_id_of(file, guild);
        let (expected, _) = parsed(file, guild, log_id);
        let mut got: Vec<CombatEvent> = published.iter().filter(|e| e.log_id == log_id).cloned().collect();
        got.sort_by_key(|e| e.line);
        assert_eq!(got.len(), expected.len(), "{}", file.display());
        assert!(got == expected, "{}: published events differ from the parser's", file.display());
    }
    let statuses: Vec<UploadStatus> = records(&settings, UPLOADS.name, guild);
    let classic = log_id_of(&files[1], guild);
    let done = statuses.iter().find(|s| s.log_id == classic && s.state == UploadState::Completed).unwrap();
    assert_eq!(
        (done.lines, done.events, done.dead_letters, done.acked_through_line, done.last_event_line),
        (13_351, 13_351, 0, 13_351, Some(13_351))
    );
    let running = statuses.iter().find(|s| s.log_id == classic && s.state == UploadState::Parsing).unwrap();
    assert_eq!(running.last_event_line, None, "only a completed status knows the last event");
}

#[test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
fn a_second_import_of_the_same_file_is_a_duplicate_and_publishes_nothing() {
    let settings = topics_ready();
    let guild = 1002;
    let file = fixture("retail_sl_9.2_raid_wipe_snippet.txt");
    let registry = Mutex::new(LogRegistry::default());
    assert!(matches!(
        import(&settings, &registry, guild, std::slice::from_ref(&file))[0].outcome,
        LogOutcome::Imported { .. }
    ));
    let before = records::<CombatEvent>(&settings, COMBAT_EVENTS.name, guild).len();

    // A new process knows only what the uploads topic says.
    let reloaded = Mutex::new(LogRegistry::load(&settings, Duration::from_secs(60)).unwrap());
    let again = import(&settings, &reloaded, guild, &[file]);
    assert!(
        matches!(&again[0].outcome, LogOutcome::Duplicate { upload_id } if upload_id.starts_with("import-")),
        "{again:?}"
    );
    assert_eq!(records::<CombatEvent>(&settings, COMBAT_EVENTS.name, guild).len(), before);
}

/// A reader that fails after `limit` bytes, like a disk or connection that dies.
struct FailingAfter<R> {
    inner: R,
    left: usize,
}

impl<R: Read> Read for FailingAfter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("the disk went away"));
        }
        let len = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..len])?;
        self.left -= n;
        Ok(n)
    }
}

#[test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
fn an_interrupted_import_resumes_and_publishes_each_line_exactly_once() {
    let settings = topics_ready();
    let guild = 1003;
    let file = fixture("classic_sod_1.15.1_gnomeregan_raid.txt");
    let log_id = log_id_of(&file, guild);
    let encoders = Encoders::new().unwrap();
    let job = LogJob {
        guild_id: GuildId(guild),
        log_id,
        upload_id: "interrupted-run".into(),
        file_name: file.display().to_string(),
        content_sha256: String::new(),
        bytes_total: None,
        resume_after_line: 0,
        options: ParseOptions::new(YearHint::FirstLineIn(2024)),
        parse_threads: 2,
    };
    let mut outbox = Outbox::new(producer(&settings), 1_000);
    let failing = FailingAfter { inner: std::fs::File::open(&file).unwrap(), left: 1_500_000 };
    let mut input: Box<dyn BufRead> = Box::new(BufReader::with_capacity(64 * 1024, failing));
    let failure = publish_log(&job, &mut input, &encoders, &mut outbox, &now_ms, &mut NoHooks).unwrap_err();
    let reached = failure.counts.acked_through_line;
    assert!(reached > 1_000, "{failure}: only {reached} lines acknowledged");
    let failed = status_of(&job, UploadState::Failed, &failure.counts, Some(failure.to_string()), now_ms());
    publish_status(&failed, &encoders, &mut outbox, &mut |_, _| {}).unwrap();
    outbox.flush(|_, _| {}).unwrap();

    let registry = LogRegistry::load(&settings, Duration::from_secs(60)).unwrap();
    assert_eq!(registry.admit(GuildId(guild), log_id), Admission::Resume { after_line: reached });
    let reports = import(&settings, &Mutex::new(registry), guild, std::slice::from_ref(&file));
    assert!(
        matches!(reports[0].outcome, LogOutcome::Resumed { after_line, .. } if after_line == reached),
        "{reports:?}"
    );

    let mut lines: BTreeMap<i64, usize> = BTreeMap::new();
    for event in records::<CombatEvent>(&settings, COMBAT_EVENTS.name, guild) {
        *lines.entry(event.line).or_default() += 1;
    }
    assert_eq!(lines.len(), 13_351, "every line is published");
    assert!(lines.values().all(|&n| n == 1), "no line is published twice");
}

#[test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
fn malformed_lines_become_dead_letters_and_the_rest_is_published() {
    let settings = topics_ready();
    let guild = 1004;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.txt");
    let mut text = std::fs::read(fixture("arena_3v3_tww_11.2.0.txt")).unwrap();
    text.extend_from_slice(b"8/30/2025 21:05:52.0008  SPELL_DAMAGE,Player-11-0E88FF6F,\"Broken\n");
    text.extend_from_slice(b"\x89PNG\x00\x01garbage\n");
    std::fs::write(&path, &text).unwrap();
    let reports = import(&settings, &Mutex::new(LogRegistry::default()), guild, std::slice::from_ref(&path));
    let LogOutcome::Imported { counts } = &reports[0].outcome else { panic!("{reports:?}") };
    assert_eq!((counts.events, counts.dead_letters), (32, 2));

    let letters: Vec<DeadLetter> = records(&settings, DEAD_LETTER.name, guild);
    assert_eq!(letters.len(), 2);
    assert_eq!(
        (letters[0].line, letters[0].code.as_str(), letters[0].source.as_str()),
        (33, "truncated", "parser")
    );
    assert_eq!(letters[1].raw, b"\x89PNG\x00\x01garbage");
    assert_eq!(records::<CombatEvent>(&settings, COMBAT_EVENTS.name, guild).len(), 32);
}

/// Statuses written before the compacted upload-state topic existed (on the uploads
/// topic only) are copied into it, so the registry, which reads that topic, still knows
/// the logs they published; and every status written since lands on both topics, the
/// compacted one keyed by guild, log and upload.
#[test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
fn statuses_from_before_the_upload_state_topic_are_backfilled_and_new_ones_land_on_both() {
    let settings = topics_ready();
    let guild = GuildId(1011);
    let legacy = UploadStatus {
        guild_id: guild,
        log_id: LogId(77),
        upload_id: format!("legacy-{}", now_ms()),
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
        timestamp_ms: now_ms(),
        last_event_line: Some(10),
    };
    // As a producer of the previous release wrote it: the uploads topic only.
    let codec = Codec::<UploadStatus>::new().unwrap();
    let mut buf = Vec::new();
    let route = wowlogs_kafka::encode(&codec, &legacy, &mut buf).unwrap();
    let mut outbox = Outbox::new(producer(&settings), 16);
    outbox.send(&route, &buf, (), |_, _| {}).unwrap();
    outbox.flush(|_, _| {}).unwrap();
    let before = LogRegistry::load(&settings, Duration::from_secs(60)).unwrap();
    assert_eq!(before.admit(guild, LogId(77)), Admission::New, "not on the upload-state topic yet");

    let copied = wowlogs_producer::registry::backfill_upload_state(
        &settings,
        producer(&settings),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(copied >= 1);
    let after = LogRegistry::load(&settings, Duration::from_secs(60)).unwrap();
    assert!(matches!(after.admit(guild, LogId(77)), Admission::Duplicate(_)), "known once backfilled");

    // A status written now: on the uploads topic keyed by guild, on the upload-state topic
    // keyed by guild, log and upload, the same bytes and headers.
    let job = LogJob {
        guild_id: guild,
        log_id: LogId(78),
        upload_id: format!("new-{}", now_ms()),
        file_name: "WoWCombatLog.txt".into(),
        content_sha256: String::new(),
        bytes_total: None,
        resume_after_line: 0,
        options: ParseOptions::new(YearHint::FirstLineIn(2024)),
        parse_threads: 2,
    };
    let mut outbox = Outbox::new(producer(&settings), 16);
    let encoders = Encoders::new().unwrap();
    let counts = IntakeCounts::default();
    let accepted = status_of(&job, UploadState::Accepted, &counts, None, now_ms());
    publish_status(&accepted, &encoders, &mut outbox, &mut |_, _| {}).unwrap();
    outbox.flush(|_, _| {}).unwrap();
    let find = |topic: &str| {
        let mut found = Vec::new();
        read_topic_to_end(&settings, topic, Duration::from_secs(60), |message| {
            let status = codec.decode(message.payload().unwrap()).unwrap();
            if status.upload_id == job.upload_id {
                let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
                let headers = message.headers().unwrap().iter().count();
                found.push((key, headers, message.payload().unwrap().to_vec()));
            }
        })
        .unwrap();
        found
    };
    let (on_uploads, on_state) = (find(UPLOADS.name), find(topics::UPLOAD_STATE.name));
    assert_eq!((on_uploads.len(), on_state.len()), (1, 1));
    assert_eq!(on_uploads[0].0, "1011");
    assert_eq!(on_state[0].0, format!("1011:78:{}", job.upload_id));
    assert_eq!(
        (on_uploads[0].1, &on_uploads[0].2),
        (on_state[0].1, &on_state[0].2),
        "same headers and value"
    );
}
