//! The public services' edges under abuse, with the real binaries, broker and ClickHouse:
//! each hostile client gets its documented status and message while a victim guild's
//! upload goes through; and a ClickHouse stopped for 20 s under query load is answered
//! with fast 503s, the API recovers by itself and an upload made meanwhile loses nothing.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::probe::{free_port, http_get_with, http_post};
use support::*;

fn start(command: &str, port: u16, store_args: &[String], env: &[(&str, &str)]) -> Service {
    let service = http_service(command, port, store_args).envs(env.iter().copied()).spawn().unwrap();
    until(&format!("{command} is live"), Duration::from_secs(60), || {
        support::http_get(port, "/health/live").0 == 200
    });
    Service(service)
}

/// Uploads a file: (status, answer).
fn upload(port: u16, bearer: &str, path: &Path) -> (u16, serde_json::Value) {
    let name = unique("upload");
    let headers = [("Authorization", bearer), ("X-File-Name", name.as_str())];
    let (status, body) = http_post(port, "/api/v1/logs/upload", &headers, &std::fs::read(path).unwrap());
    (status, serde_json::from_str(&body).unwrap_or_else(|_| serde_json::json!({"raw": body})))
}

/// Waits until an upload has been published, and returns its events.
fn published_events(port: u16, bearer: &str, answer: &serde_json::Value) -> u64 {
    let id = answer["upload_id"].as_str().expect("an upload id");
    let mut record = serde_json::Value::Null;
    until("the upload is published", Duration::from_secs(60), || {
        let (_, body) = http_get_with(port, &format!("/api/v1/uploads/{id}"), &[("Authorization", bearer)]);
        record = serde_json::from_str(&body).unwrap_or_default();
        record["status"] == "completed"
    });
    record["logs"][0]["events"].as_u64().expect("events")
}

/// The message of an error answer.
fn message(answer: &serde_json::Value) -> &str {
    answer["error"]["message"].as_str().unwrap_or_default()
}

#[test]
#[ignore = "needs the local broker and ClickHouse (deploy/local/test.sh)"]
fn slow_clients_stalled_bodies_and_a_full_spool_are_refused_while_a_victim_uploads() {
    let (_, store_args) = migrated("edges", &clickhouse());
    let (_, victim) = guild_with_key(&store_args, "Victim", "upload,query");
    let (_, hostile) = guild_with_key(&store_args, "Hostile", "upload");
    let port = free_port();
    let _service = start(
        "serve",
        port,
        &store_args,
        &[
            ("WOWLOGS_HEADER_TIMEOUT_MS", "1000"),
            ("WOWLOGS_BODY_IDLE_TIMEOUT_MS", "1000"),
            ("WOWLOGS_SPOOL_MAX_BYTES", "4MiB"),
            ("WOWLOGS_MAX_CONCURRENT_UPLOADS_PER_GUILD", "1"),
        ],
    );
    let log = fresh_copy_of("retail_sl_9.2_raid_wipe_snippet.txt");
    assert!(std::fs::metadata(&log).unwrap().len() < 1 << 20, "the victim's log fits the spool budget");

    // 1. Slowloris: 200 connections that never finish their request headers. Each is
    // answered 408 (or closed) after the header timeout; the victim's upload meanwhile
    // is accepted.
    let mut slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.write_all(b"POST /api/v1/logs/upload HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n").unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    let (status, answer) = upload(port, &victim, &log);
    assert_eq!(status, 202, "the victim's upload beside 200 slow clients: {answer}");
    println!("victim upload beside 200 slow clients: {:?}", started.elapsed());
    assert_eq!(published_events(port, &victim, &answer), analyze(&log).events, "nothing of it is lost");
    std::thread::sleep(Duration::from_millis(1500));
    for stream in &mut slow {
        stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut answer = String::new();
        let read = stream.read_to_string(&mut answer);
        assert!(read.is_ok(), "a slow client's connection is closed after the header timeout: {read:?}");
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    }

    // 2. A body that stalls after a few bytes: 408 naming the setting, and the guild's
    // only upload slot is given back (its next upload is not refused with 429).
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /api/v1/logs/upload HTTP/1.1\r\nHost: x\r\nAuthorization: {hostile}\r\nContent-Length: 100000\r\n\r\n12/1 20:00"
    )
    .unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut head = [0u8; 4096];
    let n = stream.read(&mut head).unwrap();
    let answer = String::from_utf8_lossy(&head[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("WOWLOGS_BODY_IDLE_TIMEOUT_MS"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered after the idle timeout");
    let notes = std::env::temp_dir().join(unique("notes"));
    std::fs::write(&notes, "not a combat log\n".repeat(100)).unwrap();
    let (status, answer) = upload(port, &hostile, &notes);
    assert_eq!(status, 422, "the slot was given back: refused for its content, not 429: {answer}");

    // 3. An upload larger than the spool budget: 507 naming the setting; the victim's
    // next upload goes through at the same time.
    let big = std::env::temp_dir().join(unique("big"));
    std::fs::write(&big, vec![b'x'; 5 << 20]).unwrap();
    let hostile_upload = {
        let hostile = hostile.clone();
        let big = big.clone();
        std::thread::spawn(move || upload(port, &hostile, &big))
    };
    let second = fresh_copy_of("retail_sl_9.2_raid_wipe_snippet.txt");
    let (status, answer) = upload(port, &victim, &second);
    assert_eq!(status, 202, "the victim's upload beside a spool flood: {answer}");
    assert_eq!(published_events(port, &victim, &answer), analyze(&second).events);
    let (status, answer) = hostile_upload.join().unwrap();
    assert_eq!(status, 507, "{answer}");
    assert!(message(&answer).contains("WOWLOGS_SPOOL_MAX_BYTES"), "{answer}");
    for file in [log, notes, big, second] {
        let _ = std::fs::remove_file(file);
    }
}

/// A ClickHouse of the test's own, which it can stop and start.
struct PrivateClickHouse {
    state: tempfile::TempDir,
    http_port: u16,
    tcp_port: u16,
}

impl PrivateClickHouse {
    fn script(&self, action: &str) -> Command {
        let mut command = Command::new(repo().join("deploy/local/clickhouse.sh"));
        command.arg(action).arg("--state").arg(self.state.path());
        command
    }

    /// Starts it (again): its URL, with the credentials the script made at the first
    /// start (the same at every start of one state directory).
    fn start(&self) -> String {
        let mut command = self.script("start");
        command.args(["--http-port", &self.http_port.to_string(), "--tcp-port", &self.tcp_port.to_string()]);
        run(&mut command).trim().to_string()
    }

    fn stop(&self) {
        run(&mut self.script("stop"));
    }
}

impl Drop for PrivateClickHouse {
    fn drop(&mut self) {
        let _ = self.script("stop").output();
    }
}

/// The `q`th quantile of `values` (sorted here).
fn quantile(values: &mut [Duration], q: f64) -> Duration {
    values.sort();
    values[((values.len() as f64 - 1.0) * q).round() as usize]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local broker and ClickHouse (deploy/local/test.sh)"]
async fn while_clickhouse_is_down_the_api_answers_503_fast_recovers_by_itself_and_uploads_keep_their_data() {
    let clickhouse = PrivateClickHouse {
        state: tempfile::tempdir().unwrap(),
        http_port: free_port(),
        tcp_port: free_port(),
    };
    let url = clickhouse.start();
    let (database, store_args) = migrated("fault", &url);
    let (guild, bearer) = guild_with_key(&store_args, "Steadfast", "upload,query");
    let (api_port, upload_port, metrics_port) = (free_port(), free_port(), free_port());
    let _api = start(
        "query-api",
        api_port,
        &store_args,
        &[
            ("WOWLOGS_QUERY_CACHE_MS", "0"),
            ("WOWLOGS_QUERY_TIMEOUT_MS", "2000"),
            // Fast 503s come back quicker than fights: the load outruns the default rate.
            ("WOWLOGS_KEY_REQUESTS_PER_MINUTE", "1000000"),
            ("WOWLOGS_KEY_REFRESH_MS", "500"),
            ("WOWLOGS_KEY_MAX_STALENESS_MS", "10000"),
        ],
    );
    let keys = [("WOWLOGS_KEY_REFRESH_MS", "500"), ("WOWLOGS_KEY_MAX_STALENESS_MS", "10000")];
    let _uploads = start("serve", upload_port, &store_args, &keys);
    let _consumers = ConsumerProcess::start_all(&unique("fault"), "fault-1", &url, &database, metrics_port);

    // Query load: 8 clients, each asking for the guild's fights again and again.
    let running = Arc::new(AtomicBool::new(true));
    let answers: Arc<Mutex<Vec<(Instant, u16, Duration)>>> = Arc::default();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (running, answers, bearer) = (running.clone(), answers.clone(), bearer.clone());
            std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let (status, _) =
                        http_get_with(api_port, "/api/v1/encounters", &[("Authorization", bearer.as_str())]);
                    answers.lock().unwrap().push((sent, status, sent.elapsed()));
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));

    // ClickHouse stops for 20 s; an upload arrives meanwhile.
    let stopping = Instant::now();
    clickhouse.stop();
    let stopped = Instant::now();
    let log = fresh_copy_of("retail_sl_9.2_raid_wipe_snippet.txt");
    let expected = analyze(&log);
    let (status, answer) = upload(upload_port, &bearer, &log);
    assert_eq!(status, 202, "uploads do not need ClickHouse: {answer}");
    std::thread::sleep(Duration::from_secs(20).saturating_sub(stopped.elapsed()));
    // Keys unread for over 10 s are no longer trusted: both services fail closed, and
    // /health says so.
    let (status, body) = http_get_with(api_port, "/api/v1/encounters", &[("Authorization", bearer.as_str())]);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("WOWLOGS_KEY_MAX_STALENESS_MS"), "{body}");
    let (status, body) =
        http_post(upload_port, "/api/v1/logs/upload", &[("Authorization", bearer.as_str())], b"x");
    assert!(status == 503 && body.contains("WOWLOGS_KEY_MAX_STALENESS_MS"), "{status} {body}");
    let health: serde_json::Value = serde_json::from_str(&support::http_get(api_port, "/health").1).unwrap();
    assert_eq!(health["components"]["api_keys"]["status"], "refusing", "{health}");
    assert_eq!(health["components"]["api_keys"]["fails_closed_in_ms"], 0, "{health}");
    clickhouse.start();
    let restarted = Instant::now();
    until("the API answers 200 again by itself", Duration::from_secs(30), || {
        http_get_with(api_port, "/api/v1/encounters", &[("Authorization", bearer.as_str())]).0 == 200
    });
    let recovered = restarted.elapsed();
    running.store(false, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }

    // While it was down (after the breaker's first few failures), every answer was a
    // 503 and came fast.
    let answers = std::mem::take(&mut *answers.lock().unwrap());
    let before: Vec<u16> =
        answers.iter().filter(|(sent, _, latency)| *sent + *latency < stopping).map(|a| a.1).collect();
    let failed = before.iter().filter(|&&status| status != 200).count();
    assert!(
        !before.is_empty() && failed == 0,
        "{failed} of {} answers before the stop were not 200",
        before.len()
    );
    let down: Vec<_> = answers
        .iter()
        .filter(|(sent, ..)| *sent > stopped + Duration::from_secs(1) && *sent < restarted)
        .collect();
    assert!(down.len() > 200, "load went on while ClickHouse was down: {} answers", down.len());
    let statuses: std::collections::BTreeSet<u16> = down.iter().map(|(_, status, _)| *status).collect();
    assert_eq!(statuses, [503].into(), "only 503 while ClickHouse is down");
    until("the upload service trusts its keys again", Duration::from_secs(10), || {
        // An empty upload: refused for itself (422), no longer for stale keys (503).
        http_post(upload_port, "/api/v1/logs/upload", &[("Authorization", bearer.as_str())], b"").0 == 422
    });
    let mut latencies: Vec<Duration> = down.iter().map(|(.., latency)| *latency).collect();
    let p99 = quantile(&mut latencies, 0.99);
    println!(
        "ClickHouse down 20 s: {} answers, all 503, p50 {:?}, p99 {p99:?}; 200 again {recovered:?} after restart",
        down.len(),
        quantile(&mut latencies, 0.5)
    );
    assert!(p99 < Duration::from_millis(100), "p99 of the 503s: {p99:?}");

    // The upload made while ClickHouse was down lands whole once it is back. (By its log
    // id: the shared broker also holds other runs' logs of the same guild id, which the
    // consumers bring into this database too.)
    let log_id = answer["log_ids"][0].as_i64().expect("the upload's log id");
    let store = store(&url, &database);
    let of_log = |table: &str| {
        format!("SELECT count() FROM {table} FINAL WHERE guild_id = {guild} AND log_id = {log_id}")
    };
    let limit = Duration::from_secs(120);
    wait_for(&store, &format!("{} AND state = 'completed'", of_log("logs")), 1, limit).await;
    wait_for(&store, &of_log("combat_events"), expected.events, limit).await;
    wait_for(&store, &of_log("encounters"), expected.fights.len() as u64, limit).await;
}

/// The status code of an HTTP answer's first line, read within `limit` (0: none).
fn status_of(stream: &mut TcpStream, limit: Duration) -> (u16, String) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut head = vec![0u8; 2048];
    let n = stream.read(&mut head).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]).into_owned();
    let code = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local broker and ClickHouse (deploy/local/test.sh)"]
async fn slow_export_downloads_of_one_key_cannot_take_the_query_slots_of_other_guilds() {
    let (database, store_args) = migrated("edges", &clickhouse());
    let (hostile_guild, hostile) = guild_with_key(&store_args, "Hoarder", "query");
    let (_, victim) = guild_with_key(&store_args, "Victim", "query");
    // 200,000 fights for the hostile guild: an export of tens of megabytes, far more than
    // socket buffers hold, so a download that reads nothing stalls its stream.
    let store = store(&clickhouse(), &database);
    store
        .client()
        .query(&format!(
            "INSERT INTO encounters (guild_id, log_id, start_line, fight_id, kind, name, complete, start, \
             start_ms, end_ms, duration_ms, end_line, version) \
             SELECT {hostile_guild}, 1, number, number, 'encounter', 'Boss', 1, toDateTime(1700000000 + number), \
             (1700000000 + number) * 1000, (1700000000 + number) * 1000 + 1000, 1000, number, 1 \
             FROM system.numbers LIMIT 200000"
        ))
        .execute()
        .await
        .unwrap();
    let port = free_port();
    let api = start(
        "query-api",
        port,
        &store_args,
        &[
            ("WOWLOGS_MAX_QUERIES_PER_KEY", "4"),
            ("WOWLOGS_MAX_CLICKHOUSE_QUERIES", "8"),
            ("WOWLOGS_EXPORT_STALL_MS", "2000"),
            ("WOWLOGS_QUERY_CACHE_MS", "0"),
            ("WOWLOGS_KEY_REQUESTS_PER_MINUTE", "1000000"),
        ],
    );

    // 150 export downloads by one key, none of them read.
    let request = format!(
        "GET /api/v1/encounters/export?format=ndjson HTTP/1.1\r\nHost: x\r\nAuthorization: {hostile}\r\n\r\n"
    );
    let mut downloads: Vec<TcpStream> = (0..150)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            stream
        })
        .collect();
    // Meanwhile another guild's queries are answered, promptly.
    let mut latencies = Vec::new();
    for _ in 0..50 {
        let sent = Instant::now();
        let (status, body) =
            http_get_with(port, "/api/v1/encounters/stats", &[("Authorization", victim.as_str())]);
        assert_eq!(status, 200, "{body}");
        latencies.push(sent.elapsed());
    }
    let p99 = quantile(&mut latencies, 0.99);
    println!("victim beside 150 stalled exports: p50 {:?}, p99 {p99:?}", quantile(&mut latencies, 0.5));
    assert!(p99 < Duration::from_millis(500), "the victim's p99: {p99:?}");

    // The key ran 4 exports; the others were told 429, naming the limit. The 4 stalled
    // ones were stopped after 2 s, and the key may query again.
    std::thread::sleep(Duration::from_secs(4));
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for stream in &mut downloads {
        let (status, text) = status_of(stream, Duration::from_secs(5));
        if status == 429 {
            assert!(text.contains("WOWLOGS_MAX_QUERIES_PER_KEY"), "{text}");
        }
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(statuses.get(&200), Some(&4), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&146), "{statuses:?}");
    drop(downloads);
    let (status, body) =
        http_get_with(port, "/api/v1/encounters/stats", &[("Authorization", hostile.as_str())]);
    assert_eq!(status, 200, "the stalled exports gave their slots back: {body}");
    let rss = peak_rss(api.0.id());
    println!("query API peak RSS: {} MiB", rss >> 20);
    assert!(rss < 512 << 20, "{} MiB", rss >> 20);
}

#[test]
fn settings_that_cannot_work_are_refused_at_start_with_the_variable_named() {
    let refused = |command: &str, env: (&str, &str)| {
        let output = wowlogs().arg(command).env(env.0, env.1).output().unwrap();
        assert!(!output.status.success(), "{command} with {}={} started", env.0, env.1);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(stderr.contains(env.0), "{command}: {stderr}");
    };
    refused("query-api", ("WOWLOGS_KEY_REFRESH_MS", "0"));
    refused("serve", ("WOWLOGS_KEY_REFRESH_MS", "0"));
    refused("query-api", ("WOWLOGS_KEY_MAX_STALENESS_MS", "1000"));
    refused("query-api", ("WOWLOGS_QUERY_TIMEOUT_MS", "0"));
    refused("query-api", ("WOWLOGS_HEADER_TIMEOUT_MS", "0"));
    refused("serve", ("WOWLOGS_MAX_CONCURRENT_UPLOADS", "0"));
    refused("serve", ("WOWLOGS_SPOOL_MAX_BYTES", "0"));
    refused("query-api", ("WOWLOGS_CORS_ORIGINS", "*"));
    refused("serve", ("WOWLOGS_CORS_ORIGINS", "app.example.com"));
}
