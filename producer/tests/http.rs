//! The upload service, through its router (no sockets), publishing to the real local
//! broker (`WOWLOGS_TEST_BROKERS`, started by `deploy/local/test.sh`).

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use std::io::Write;
use std::num::NonZeroU32;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};
use tower::ServiceExt;
use wowlogs_kafka::{KafkaSettings, ensure_topics};
use wowlogs_producer::config::UploadConfig;
use wowlogs_producer::http::{internal_router, router};
use wowlogs_producer::registry::LogRegistry;
use wowlogs_producer::state::AppState;
use wowlogs_schemas::topics;
use wowlogs_tenancy::KeyCache;
use wowlogs_tenancy::{ApiKeyRow, GuildRow, KeySpec};

const UPLOADER: &str = "wl_test_uploader_guild_2001";
const READER: &str = "wl_test_readonly_guild_2001";
const OTHER_GUILD: &str = "wl_test_uploader_guild_2002";
/// Only the flood test uploads for guild 2003.
const FLOODER: &str = "wl_test_uploader_guild_2003";

fn settings() -> KafkaSettings {
    KafkaSettings::new(wowlogs_testkit::brokers(), "wowlogs-http-tests")
}

fn app(max_upload_bytes: u64, events_per_minute: u32) -> Router {
    router(state(max_upload_bytes, events_per_minute))
}

fn state(max_upload_bytes: u64, events_per_minute: u32) -> AppState {
    state_with(config(max_upload_bytes, events_per_minute))
}

fn config(max_upload_bytes: u64, events_per_minute: u32) -> UploadConfig {
    UploadConfig {
        max_upload_bytes,
        max_decompressed_bytes: 1 << 30,
        max_logs_per_upload: 1_000,
        max_concurrent_uploads: 64,
        max_concurrent_uploads_per_guild: 4,
        guild_events_per_minute: NonZeroU32::new(events_per_minute).unwrap(),
        guild_uploads_per_minute: NonZeroU32::new(1000).unwrap(),
        spool_dir: std::env::temp_dir(),
        max_in_flight: 10_000,
        parse_threads: 1,
        max_spool_bytes: 1 << 40,
        max_spool_bytes_per_guild: 1 << 40,
        body_idle_timeout: std::time::Duration::from_secs(30),
        body_timeout: std::time::Duration::from_secs(600),
        guild_decompressed_per_hour: 1 << 40,
        replicas: 1,
        live: Default::default(),
    }
}

fn state_with(config: UploadConfig) -> AppState {
    static CREATE: Once = Once::new();
    let settings = settings();
    CREATE.call_once(|| {
        // Each test has its own runtime; create the topics once, on a plain thread.
        let settings = settings.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(ensure_topics(&settings, &topics::ALL, |t| t.default_partitions, 1)).unwrap();
        })
        .join()
        .unwrap();
    });
    let keys = KeyCache::with_keys([
        registered(UPLOADER, guild(2001, "Loothing"), &["upload", "query"]),
        registered(READER, guild(2001, "Loothing"), &["query"]),
        registered(OTHER_GUILD, guild(2002, "Other Guild"), &["upload", "query"]),
        registered(FLOODER, guild(2003, "Flooders"), &["upload"]),
    ]);
    let producer = settings.producer_config().create().unwrap();
    AppState::new(Arc::new(keys), LogRegistry::default(), producer, settings, config)
}

fn guild(guild_id: i64, name: &str) -> GuildRow {
    GuildRow::active(guild_id, name, 1)
}

/// A registry key as `wowlogs api-key create` stores it (its hash), with no limit of its
/// own beyond the guild's.
fn registered(key: &str, guild: GuildRow, permissions: &[&str]) -> (ApiKeyRow, GuildRow) {
    let permissions = permissions.iter().map(|p| p.parse().unwrap()).collect();
    let spec = KeySpec {
        guild_id: guild.guild_id,
        description: "test".into(),
        permissions,
        events_per_minute: 0,
        max_connections: 1,
    };
    let row = ApiKeyRow::active(key, &spec, 1);
    (row, guild)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = wowlogs_testkit::fixture(name);
    std::fs::read(path).unwrap()
}

fn upload_request(key: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut request = Request::post("/api/v1/logs/upload").header("x-file-name", "WoWCombatLog.txt");
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    request.header(header::CONTENT_LENGTH, body.len()).body(Body::from(body)).unwrap()
}

fn multipart_request(key: &str, file_name: &str, content: &[u8]) -> Request<Body> {
    let boundary = "wowlogs-test-boundary";
    let mut body = Vec::new();
    write!(body, "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").unwrap();
    body.extend_from_slice(content);
    write!(body, "\r\n--{boundary}--\r\n").unwrap();
    Request::post("/api/v1/logs/upload")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap()
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The statuses on the uploads topic that `wanted` picks, once there are at least
/// `at_least` of them (or after 30 s, whatever there is).
async fn statuses_on_topic(
    wanted: impl Fn(&wowlogs_schemas::UploadStatus) -> bool,
    at_least: usize,
) -> Vec<wowlogs_schemas::UploadStatus> {
    let codec = wowlogs_schemas::Codec::<wowlogs_schemas::UploadStatus>::new().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut statuses = Vec::new();
        wowlogs_kafka::read_topic_to_end(
            &settings(),
            topics::UPLOADS.name,
            Duration::from_secs(30),
            |message| {
                let status = codec.decode(rdkafka::Message::payload(message).unwrap()).unwrap();
                if wanted(&status) {
                    statuses.push(status);
                }
            },
        )
        .unwrap();
        if statuses.len() >= at_least || Instant::now() > deadline {
            return statuses;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn wait_until_done(app: &Router, key: &str, upload_id: &str) -> Value {
    let started = Instant::now();
    loop {
        let request = Request::get(format!("/api/v1/uploads/{upload_id}"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = send(app, request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] != "processing" {
            return body;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "upload {upload_id} did not finish: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn keys_are_required_and_must_allow_uploads() {
    let app = app(1 << 30, 10_000_000);
    let body = fixture("arena_3v3_tww_11.2.0.txt");
    let (status, headers, error) = send(&app, upload_request(None, body.clone())).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    assert_eq!(headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
    let (status, _, _) = send(&app, upload_request(Some("wl_not_a_real_key_at_all"), body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, error) = send(&app, upload_request(Some(READER), body)).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn an_upload_is_accepted_published_and_reported_only_to_its_guild() {
    let app = app(1 << 30, 10_000_000);
    let (status, _, accepted) =
        send(&app, upload_request(Some(UPLOADER), fixture("arena_3v3_tww_11.2.0.txt"))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(
        (accepted["guild_id"].as_i64(), accepted["guild_name"].as_str()),
        (Some(2001), Some("Loothing"))
    );
    assert_eq!(
        (accepted["file_name"].as_str(), accepted["status"].as_str()),
        (Some("WoWCombatLog.txt"), Some("processing"))
    );
    let upload_id = accepted["upload_id"].as_str().unwrap().to_string();
    assert_eq!(
        accepted["message"],
        format!("File uploaded successfully for Loothing. Upload ID: {upload_id}"),
        "the specification's message"
    );

    let done = wait_until_done(&app, UPLOADER, &upload_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let log = &done["logs"][0];
    assert_eq!(
        (log["lines"].as_i64(), log["events"].as_i64(), log["dead_letters"].as_i64()),
        (Some(32), Some(32), Some(0))
    );

    // Another guild's key cannot even learn that the upload exists.
    let request = Request::get(format!("/api/v1/uploads/{upload_id}"))
        .header(header::AUTHORIZATION, format!("Bearer {OTHER_GUILD}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The same file again is a duplicate, answered with the existing upload.
    let (status, _, again) =
        send(&app, upload_request(Some(UPLOADER), fixture("arena_3v3_tww_11.2.0.txt"))).await;
    assert_eq!((status, again["status"].as_str()), (StatusCode::OK, Some("duplicate")), "{again}");
    assert_eq!(again["upload_id"].as_str(), Some(upload_id.as_str()));
    assert_eq!(again["log_ids"], accepted["log_ids"]);
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_gzipped_multipart_upload_is_published() {
    let app = app(1 << 30, 10_000_000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&fixture("retail_sl_9.2_raid_wipe_snippet.txt")).unwrap();
    let (status, _, accepted) =
        send(&app, multipart_request(OTHER_GUILD, "raid.txt.gz", &gz.finish().unwrap())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["file_name"], "raid.txt.gz");
    let done = wait_until_done(&app, OTHER_GUILD, accepted["upload_id"].as_str().unwrap()).await;
    assert_eq!((done["status"].as_str(), done["logs"][0]["events"].as_i64()), (Some("completed"), Some(24)));
    assert_eq!(done["logs"][0]["file_name"], "raid.txt.gz");
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_zip_holding_an_uploaded_log_before_a_new_one_publishes_the_new_ones_content() {
    let app = app(1 << 30, 10_000_000);
    let (old, new) = (fixture("arena_3v3_tww_11.2.0.txt"), fixture("retail_sl_9.2_raid_wipe_snippet.txt"));
    let (status, _, first) = send(&app, upload_request(Some(UPLOADER), old.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    wait_until_done(&app, UPLOADER, first["upload_id"].as_str().unwrap()).await;

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in [("old.txt", &old), ("new.txt", &new)] {
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(content).unwrap();
    }
    let archive = zip.finish().unwrap().into_inner();
    let (status, _, accepted) = send(&app, multipart_request(UPLOADER, "logs.zip", &archive)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["log_ids"].as_array().unwrap().len(), 1, "only the new entry: {accepted}");
    let done = wait_until_done(&app, UPLOADER, accepted["upload_id"].as_str().unwrap()).await;
    let log = &done["logs"][0];
    assert_eq!(log["file_name"], "logs.zip:new.txt");
    // The new entry's 24 events under the new entry's id, not the old entry's 32 lines.
    assert_eq!(
        (log["log_id"].clone(), log["events"].as_i64()),
        (accepted["log_ids"][0].clone(), Some(24)),
        "{done}"
    );
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_guild_with_its_uploads_in_progress_is_told_to_wait_and_other_guilds_are_not() {
    // One upload at a time per guild; 3,000 events a minute hold the raid's 13,000 events
    // in publishing for minutes.
    let state = state_with(UploadConfig { max_concurrent_uploads_per_guild: 1, ..config(1 << 30, 3_000) });
    let app = router(state.clone());
    let raid = fixture("classic_sod_1.15.1_gnomeregan_raid.txt");
    let (status, _, accepted) = send(&app, upload_request(Some(UPLOADER), raid)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let (status, headers, refused) =
        send(&app, upload_request(Some(UPLOADER), fixture("arena_3v3_tww_11.2.0.txt"))).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("already has 1 uploads in progress"), "{message}");
    assert_eq!(headers[header::RETRY_AFTER], "5");
    let (status, _, other) =
        send(&app, upload_request(Some(OTHER_GUILD), fixture("arena_3v3_tww_11.2.0.txt"))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "another guild is not held up: {other}");
    // The throttled upload stops (resumable) instead of holding the test for minutes.
    state.drain().await;
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_stop_records_the_logs_it_did_not_reach_as_stopped_without_reading_them() {
    // A zip whose first log outlasts the guild's 3,000 events a minute, then 999 small
    // logs; content unique to this run, so nothing of it is a duplicate.
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("long.txt", zip::write::SimpleFileOptions::default()).unwrap();
    for i in 0..5_000 {
        writeln!(zip, "7/28/2024 14:36:49.528-4  ZONE_CHANGE,{i},\"Run {run}\",0").unwrap();
    }
    for i in 0..999 {
        zip.start_file(format!("small-{i}.txt"), zip::write::SimpleFileOptions::default()).unwrap();
        writeln!(zip, "7/28/2024 14:36:49.528-4  ZONE_CHANGE,{i},\"Run {run} small\",0").unwrap();
    }
    let archive = zip.finish().unwrap().into_inner();
    let state = state_with(config(1 << 30, 3_000));
    let app = router(state.clone());
    let (status, _, accepted) = send(&app, multipart_request(UPLOADER, "night.zip", &archive)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let upload_id = accepted["upload_id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(60), state.drain()).await.expect("the stop ends");
    eprintln!("an upload of 1,000 logs stopped in {:?}", stopping.elapsed());
    let request = Request::get(format!("/api/v1/uploads/{upload_id}"))
        .header(header::AUTHORIZATION, format!("Bearer {UPLOADER}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, record) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["status"], "failed", "{record}");
    let logs = record["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1_000);
    let resumable = |log: &Value| log["reason"].as_str().is_some_and(|r| r.contains("upload the file again"));
    assert!(logs.iter().all(|log| log["state"] == "failed" && resumable(log)), "{:?}", &logs[..2]);
    assert!(
        logs[0]["acked_through_line"].as_i64().unwrap() > 0,
        "the first log was being published: {}",
        logs[0]
    );
    // Before, each of them was opened and had its one event published before the stop
    // interrupted it.
    let unread = logs[1..].iter().filter(|log| log["events"] == 0 && log["acked_through_line"] == 0).count();
    assert_eq!(unread, 999, "the logs the stop did not reach were not read: {}", logs[1]);
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_guild_over_its_share_of_the_spool_is_told_to_wait_and_other_guilds_upload() {
    // A share smaller than one real log: the guild's upload is refused while it streams.
    let state = state_with(UploadConfig { max_spool_bytes_per_guild: 4_096, ..config(1 << 30, 10_000_000) });
    let app = router(state.clone());
    let log = fixture("arena_3v3_tww_11.2.0.txt");
    assert!(log.len() > 4_096);
    let (status, headers, refused) = send(&app, upload_request(Some(UPLOADER), log.clone())).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("guild_spool_full")),
        "{refused}"
    );
    assert!(refused["error"]["message"].as_str().unwrap().contains("WOWLOGS_SPOOL_MAX_BYTES_PER_GUILD"));
    assert!(headers.contains_key(header::RETRY_AFTER));
    let small = "7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0\n".repeat(20);
    let unique = format!(
        "{small}7/28/2024 14:36:49.528-4  ZONE_CHANGE,2,\"{}\",0\n",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    let (status, _, other) = send(&app, upload_request(Some(OTHER_GUILD), unique.into_bytes())).await;
    assert!(
        status == StatusCode::ACCEPTED || status == StatusCode::OK,
        "another guild uploads: {status} {other}"
    );
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_body_trickled_past_the_whole_bodys_deadline_is_cut_and_its_slot_given_back() {
    // A byte every 100 ms never trips the idle timeout (30 s here); the whole body's
    // deadline does.
    let state = state_with(UploadConfig {
        body_timeout: Duration::from_secs(2),
        max_concurrent_uploads_per_guild: 1,
        ..config(1 << 30, 10_000_000)
    });
    let app = router(state.clone());
    let trickle = futures::stream::unfold(0u64, |sent| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"7")), sent + 1))
    });
    let request = Request::post("/api/v1/logs/upload")
        .header(header::AUTHORIZATION, format!("Bearer {UPLOADER}"))
        .header("x-file-name", "WoWCombatLog.txt")
        .body(Body::from_stream(trickle))
        .unwrap();
    let started = Instant::now();
    let (status, _, refused) = send(&app, request).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::REQUEST_TIMEOUT, Some("request_timeout")),
        "{refused}"
    );
    assert!(refused["error"]["message"].as_str().unwrap().contains("WOWLOGS_BODY_TIMEOUT_MS"), "{refused}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "cut by the whole body's deadline, not the idle one"
    );
    // The guild's one slot is free again.
    let (status, _, after) = send(&app, upload_request(Some(UPLOADER), b"not a log\n".repeat(10))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{after}");
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn uploads_over_the_size_limit_are_refused() {
    let app = app(1_000, 10_000_000);
    let (status, _, error) =
        send(&app, upload_request(Some(UPLOADER), fixture("arena_3v3_tww_11.2.0.txt"))).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("upload_too_large"))
    );
    // Without a Content-Length the limit holds while streaming.
    let request = Request::post("/api/v1/logs/upload")
        .header(header::AUTHORIZATION, format!("Bearer {UPLOADER}"))
        .body(Body::from(fixture("arena_3v3_tww_11.2.0.txt")))
        .unwrap();
    assert_eq!(send(&app, request).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_zip_of_more_logs_than_one_upload_may_hold_is_refused_before_anything_is_published() {
    // The shape measured against the service: a small zip of very many one-line logs
    // (here 20,000; 1,000 allowed by the test's configuration, as by default).
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..20_000 {
        zip.start_file(format!("WoWCombatLog-{i}.txt"), zip::write::SimpleFileOptions::default()).unwrap();
        writeln!(zip, "7/28/2024 14:36:49.528-4  ZONE_CHANGE,{i},\"Orgrimmar\",0").unwrap();
    }
    let archive = zip.finish().unwrap().into_inner();
    let app = app(1 << 30, 10_000_000);
    let (status, _, refused) = send(&app, multipart_request(UPLOADER, "years.zip", &archive)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_many_logs")),
        "{refused}"
    );
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("more than 1000 logs") && message.contains("wowlogs import"), "{message}");
    // On the uploads topic: its one failed status, under its own id, and nothing else.
    let upload_id = refused["error"]["upload_id"].as_str().expect("the refusal names its upload");
    let statuses = statuses_on_topic(|s| s.upload_id == upload_id, 1).await;
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].state, wowlogs_schemas::UploadState::Failed);
    assert!(
        statuses[0].reason.as_deref().is_some_and(|r| r.contains("WOWLOGS_MAX_LOGS_PER_UPLOAD")),
        "{statuses:?}"
    );
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn files_that_are_not_combat_logs_are_refused_with_a_reason() {
    let app = app(1 << 30, 10_000_000);
    let (status, _, error) = send(&app, upload_request(Some(UPLOADER), Vec::new())).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("empty_upload"))
    );
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00".to_vec();
    let (status, _, error) = send(&app, upload_request(Some(UPLOADER), png)).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_combat_log"))
    );
    assert!(error["error"]["message"].as_str().unwrap().contains("WoWCombatLog.txt"));
}

/// Refused uploads are uploads: each has its own id and exactly one `failed` status on
/// the uploads topic, and each spends one of the guild's upload requests, so a client
/// sending bad files in a loop is cut off with 429 before more is read or published.
#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn refused_uploads_have_their_own_id_and_status_and_spend_the_guilds_requests() {
    let started_ms = wowlogs_schemas::now_ms();
    let per_minute = NonZeroU32::new(5).unwrap();
    let app = router(state_with(UploadConfig {
        guild_uploads_per_minute: per_minute,
        ..config(1 << 30, 10_000_000)
    }));
    let garbage = || b"Dear diary, today we wiped again.\n".repeat(50);
    let mut refused = std::collections::BTreeSet::new();
    for _ in 0..per_minute.get() {
        let (status, _, error) = send(&app, upload_request(Some(FLOODER), garbage())).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_combat_log"))
        );
        refused.insert(error["error"]["upload_id"].as_str().expect("a refused upload's id").to_string());
    }
    assert_eq!(refused.len(), per_minute.get() as usize, "every refused upload has an id of its own");
    let (status, headers, error) = send(&app, upload_request(Some(FLOODER), garbage())).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    assert!(
        error["error"]["message"].as_str().unwrap().contains("WOWLOGS_GUILD_UPLOADS_PER_MINUTE"),
        "{error}"
    );
    assert!(error["error"].get("upload_id").is_none(), "a request refused before it is read is no upload");
    assert!(headers.contains_key(header::RETRY_AFTER));
    let (status, ..) = send(&app, upload_request(Some(OTHER_GUILD), garbage())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "another guild's requests are its own");

    // On the topic: one terminal status per refused upload, each with a log id of its
    // own, and nothing for the request cut off.
    let statuses =
        statuses_on_topic(|s| s.guild_id.0 == 2003 && s.timestamp_ms >= started_ms, refused.len()).await;
    let ids: std::collections::BTreeSet<_> = statuses.iter().map(|s| s.upload_id.clone()).collect();
    assert_eq!((statuses.len(), &ids), (refused.len(), &refused), "one status per refused upload, no other");
    let log_ids: std::collections::BTreeSet<_> = statuses.iter().map(|s| s.log_id.0).collect();
    assert_eq!(log_ids.len(), refused.len(), "each refused upload has a log id of its own");
    for status in &statuses {
        assert_eq!(status.state, wowlogs_schemas::UploadState::Failed);
        assert_ne!(status.log_id.0, 0);
        assert!(status.reason.as_deref().unwrap_or_default().starts_with("not a combat log"), "{status:?}");
    }
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_guild_over_its_event_rate_is_told_when_to_retry() {
    // 30 events a minute: the 24-event log and the requests' own admissions exhaust it
    // (later copies of the log are answered 409 or 200 but still count).
    let state = state(1 << 30, 30);
    let app = router(state.clone());
    let mut limited = None;
    for _ in 0..40 {
        let answer =
            send(&app, upload_request(Some(OTHER_GUILD), fixture("retail_sl_9.2_raid_wipe_snippet.txt")))
                .await;
        if answer.0 == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(answer);
            break;
        }
        assert!(
            [StatusCode::ACCEPTED, StatusCode::OK, StatusCode::CONFLICT].contains(&answer.0),
            "{answer:?}"
        );
    }
    let (_, headers, error) = limited.expect("a 429 within 40 uploads at 30 events/min");
    let retry_after: u64 = headers.get(header::RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(error["error"]["code"], "rate_limited");
    // The accepted upload may still be waiting for tokens: shutdown releases it.
    state.drain().await;
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn the_legacy_x_api_key_header_still_works_and_is_marked_deprecated() {
    let app = app(1 << 30, 10_000_000);
    let request = Request::get("/api/v1/uploads/no-such-upload")
        .header("x-api-key", UPLOADER)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "authenticated, then not found");
    let (status, headers, _) = send(&app, {
        let mut r = upload_request(None, fixture("arena_3v3_tww_11.2.0.txt"));
        r.headers_mut().insert("x-api-key", READER.parse().unwrap());
        r
    })
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let _ = headers;
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn health_and_metrics_report_the_broker_and_the_counters() {
    let state = state(1 << 30, 10_000_000);
    let (app, internal) = (router(state.clone()), internal_router(state));
    let (status, _, health) = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!((status, health["components"]["kafka"]["status"].as_str()), (StatusCode::OK, Some("up")));
    assert_eq!(health["service"], "upload", "{health}");
    assert!(
        health["timestamp"].is_string() && health["components"]["api_keys"]["status"].is_string(),
        "{health}"
    );
    assert_eq!(send(&app, Request::get("/health/live").body(Body::empty()).unwrap()).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, Request::get("/health/ready").body(Body::empty()).unwrap()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await.0,
        StatusCode::NOT_FOUND,
        "metrics are on the internal port only"
    );
    let response = internal.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    let text = String::from_utf8(to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(text.contains("wowlogs_producer_http_requests_total"), "{text}");
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_year_for_old_format_logs_must_be_a_year_of_the_game() {
    let app = app(1 << 30, 10_000_000);
    let body = fixture("classic_sod_1.15.1_gnomeregan_raid.txt");
    for query in ["year=1999", "year=soon", "yaer=2024"] {
        let mut request = upload_request(Some(UPLOADER), body.clone());
        *request.uri_mut() = format!("/api/v1/logs/upload?{query}").parse().unwrap();
        let (status, _, error) = send(&app, request).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{query}"
        );
    }
}

fn live_request(method: &str, uri: &str, key: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_live_session_takes_each_byte_once_by_offset_and_closes_into_the_log_an_upload_finds() {
    let app = app(1 << 30, 10_000_000);
    // A file of this run's own: its first line names the session, and the upload
    // history on the shared broker outlives runs.
    let first = format!("# live test {:?}\n", Instant::now());
    let content = [first.as_bytes(), &fixture("retail_sl_9.2_raid_wipe_snippet.txt")].concat();
    let key = wowlogs_producer::identity::live_key(first.trim_end().as_bytes());
    let put = |offset: usize, bytes: &[u8]| {
        live_request(
            "PUT",
            &format!("/api/v1/live/{key}/{offset}?file_name=WoWCombatLog-120626_201503.txt"),
            UPLOADER,
            bytes.to_vec(),
        )
    };
    let (status, _, body) = send(&app, put(0, &content[..1000])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["next_offset"].as_u64(), body["state"].as_str()), (Some(1000), Some("open")));
    let (status, _, body) = send(&app, put(0, &content[..1000])).await;
    assert_eq!(
        (status, body["next_offset"].as_u64()),
        (StatusCode::OK, Some(1000)),
        "the same chunk twice: no change"
    );
    let (status, _, body) = send(&app, put(5000, &content[5000..6000])).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        (body["error"]["code"].as_str(), body["error"]["expected_offset"].as_u64()),
        (Some("offset_gap"), Some(1000))
    );
    let (status, _, body) = send(&app, put(500, &content[500..3000])).await;
    assert_eq!(
        (status, body["next_offset"].as_u64()),
        (StatusCode::OK, Some(3000)),
        "an overlap: only the new bytes"
    );
    let (status, _, body) = send(&app, put(3000, &content[3000..])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Another guild knows nothing of it; a key that may only query cannot send.
    let other = live_request("GET", &format!("/api/v1/live/{key}"), OTHER_GUILD, Vec::new());
    assert_eq!(send(&app, other).await.0, StatusCode::NOT_FOUND);
    let reader = live_request("PUT", &format!("/api/v1/live/{key}/0"), READER, content.clone());
    assert_eq!(send(&app, reader).await.0, StatusCode::FORBIDDEN);
    let close = |bytes: usize| {
        live_request("POST", &format!("/api/v1/live/{key}/close?bytes={bytes}"), UPLOADER, Vec::new())
    };
    let (status, _, body) = send(&app, close(content.len() + 1)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["expected_offset"].as_u64(), Some(content.len() as u64));
    let (status, _, closed) = send(&app, close(content.len())).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["state"], "completed");
    let lines = wowlogs_parser::LogReader::new(
        &content[..],
        wowlogs_parser::ParseOptions::new(wowlogs_parser::YearHint::FirstLineIn(2022)),
    )
    .filter(|line| matches!(line, Ok(wowlogs_parser::ParsedLine::Event(_))))
    .count();
    assert_eq!(closed["events"].as_u64(), Some(lines as u64), "{closed}");
    assert_eq!(closed["dead_letters"].as_u64(), Some(1), "the first line is no event");
    let (status, _, again) = send(&app, close(content.len())).await;
    assert_eq!(
        (status, &again["log_id"]),
        (StatusCode::OK, &closed["log_id"]),
        "closing twice answers the same"
    );
    let (status, _, body) = send(&app, put(0, &content)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("session_closed")),
        "{body}"
    );
    // The same file uploaded whole later is that log, already there.
    let (status, _, uploaded) = send(&app, upload_request(Some(UPLOADER), content.clone())).await;
    assert_eq!(status, StatusCode::OK, "{uploaded}");
    assert_eq!(uploaded["status"], "duplicate");
    assert_eq!(uploaded["log_ids"][0].to_string().trim_matches('"'), closed["log_id"].as_str().unwrap());
    // What does not name a session, or a first chunk that does not prove it, is refused.
    let bad = live_request("PUT", "/api/v1/live/..%2Fetc/0", UPLOADER, content.clone());
    assert_eq!(send(&app, bad).await.0, StatusCode::BAD_REQUEST);
    let other_key = wowlogs_producer::identity::live_key(b"another first line");
    let wrong = live_request("PUT", &format!("/api/v1/live/{other_key}/0"), UPLOADER, content.clone());
    let (status, _, body) = send(&app, wrong).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("session_key_mismatch"))
    );
    let unfinished = live_request(
        "PUT",
        &format!("/api/v1/live/{other_key}/0"),
        UPLOADER,
        b"12/6 20:15:03.000  SPELL".to_vec(),
    );
    let (status, _, body) = send(&app, unfinished).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("no_first_line"))
    );
    let later = live_request("PUT", &format!("/api/v1/live/{other_key}/100"), UPLOADER, b"x".to_vec());
    let (status, _, body) = send(&app, later).await;
    assert_eq!(
        (status, body["error"]["expected_offset"].as_u64()),
        (StatusCode::CONFLICT, Some(0)),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
async fn a_guild_live_session_held_back_by_its_limit_does_not_slow_another_guilds() {
    // Each guild may publish 2,000 events a minute: the flooder's 25-player raid (over
    // 100,000 events) waits on it; the other guild's small file must not.
    let state = state(1 << 30, 2_000);
    let app = router(state.clone());
    let stamp = format!("{:?}", Instant::now());
    let file = |name: &str, who: &str| {
        let first = format!("# live isolation {who} {stamp}\n");
        let content = [first.as_bytes(), &fixture(name)].concat();
        (wowlogs_producer::identity::live_key(first.trim_end().as_bytes()), content)
    };
    let (big_key, big) = file("retail_midnight_12.0_raid_manaforge_soul_hunters_kill_slice.txt", "flooder");
    let flooding = {
        let app = app.clone();
        tokio::spawn(async move {
            for (i, chunk) in big.chunks(1 << 20).enumerate() {
                let uri = format!("/api/v1/live/{big_key}/{}", i << 20);
                let (status, _, body) = send(&app, live_request("PUT", &uri, FLOODER, chunk.to_vec())).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        })
    };
    // Let the flooder reach its limit.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (key, small) = file("retail_sl_9.2_raid_wipe_snippet.txt", "victim");
    let started = Instant::now();
    let (status, _, body) =
        send(&app, live_request("PUT", &format!("/api/v1/live/{key}/0"), OTHER_GUILD, small.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let close = format!("/api/v1/live/{key}/close?bytes={}", small.len());
    let (status, _, closed) = send(&app, live_request("POST", &close, OTHER_GUILD, Vec::new())).await;
    let took = started.elapsed();
    assert_eq!((status, closed["state"].as_str()), (StatusCode::OK, Some("completed")), "{closed}");
    assert!(took < Duration::from_secs(5), "the other guild's file took {took:?} beside the flooder");
    assert!(!flooding.is_finished(), "the flooder is still held back by its own limit");
    flooding.abort();
    // Shutting down parks the flooder's session (its log stays open, resumable).
    tokio::time::timeout(Duration::from_secs(30), state.drain()).await.expect("the service drains");
}
