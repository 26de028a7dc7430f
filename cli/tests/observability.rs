//! What operators rely on: every metric the Prometheus alerts and the Grafana
//! dashboards name is exposed by the running services, and spans reach an OTLP
//! collector when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::probe::{free_port, http_get, http_get_with, http_post};
use support::{clickhouse, create_topics, http_service, repo, run, unique, wowlogs};

/// Child processes killed when the test ends, passing or not.
struct Services(Vec<Child>);

impl Drop for Services {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn until<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(started.elapsed() < limit, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `POST path` with a body: the status code.
/// Metric names in a text exposition (samples, so histograms give `_bucket`, `_sum`, `_count`).
fn exposed(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| line.split(['{', ' ']).next().unwrap().to_string())
        .collect()
}

/// The metric names of the services a PromQL expression reads: `wowlogs_*`, and the
/// `process_*` metrics every service exports.
fn named_metrics(expr: &str) -> Vec<String> {
    let identifier = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut names = Vec::new();
    for prefix in ["wowlogs_", "process_"] {
        for (at, _) in expr.match_indices(prefix) {
            if expr[..at].chars().next_back().is_some_and(identifier) {
                continue; // inside another name
            }
            let tail = &expr[at..];
            let len = tail.find(|c: char| !identifier(c)).unwrap_or(tail.len());
            names.push(tail[..len].to_string());
        }
    }
    names
}

/// Every alert expression, with the alert's name.
fn alert_expressions() -> Vec<(String, String)> {
    let dir = repo().join("deploy/prometheus/rules");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let rules: serde_norway::Value =
            serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for group in rules["groups"].as_sequence().unwrap() {
            for rule in group["rules"].as_sequence().unwrap() {
                let name = rule["alert"].as_str().or(rule["record"].as_str()).unwrap().to_string();
                found.push((name, rule["expr"].as_str().unwrap().to_string()));
            }
        }
    }
    found
}

/// Every Prometheus query of the dashboards (panels and variables), with where it is.
fn dashboard_expressions() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(repo().join("grafana/dashboards")).unwrap() {
        let path = entry.unwrap().path();
        let board: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for variable in board["templating"]["list"].as_array().unwrap() {
            if variable["datasource"]["type"] == "prometheus" {
                found.push((
                    format!("{file} variable {}", variable["name"]),
                    variable["definition"].to_string(),
                ));
            }
        }
        let mut panels: Vec<&Value> = board["panels"].as_array().unwrap().iter().collect();
        panels.extend(
            board["panels"].as_array().unwrap().iter().flat_map(|p| p["panels"].as_array()).flatten(),
        );
        for panel in panels {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if target["datasource"]["type"] == "prometheus" {
                    let place = format!("{file} panel {}", panel["title"]);
                    found.push((place, target["expr"].as_str().unwrap().to_string()));
                }
            }
        }
    }
    found
}

/// Jobs of the scrape configuration.
fn scrape_jobs() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("deploy/prometheus/prometheus.yml")).unwrap();
    let config: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    config["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|job| job["job_name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
fn every_metric_the_alerts_and_dashboards_name_is_exposed_by_the_running_services() {
    let database = unique("wowlogs_test_observability");
    let store = ["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), database.clone()];
    let brokers = support::brokers();
    run(wowlogs().args(["migrate"]).args(&store));
    create_topics(&brokers);
    let key = run(wowlogs()
        .args(["api-key", "create", "--guild", "1", "--permissions", "upload,query"])
        .args(&store));
    let key = key.trim().to_string();
    let bearer = format!("Bearer {key}");
    let (upload_port, consumer_port, api_port) = (free_port(), free_port(), free_port());
    // The services' metrics are on internal ports of their own.
    let (upload_metrics, api_metrics) = (free_port(), free_port());
    let _services = Services(vec![
        http_service("serve", upload_port, &store)
            .env("WOWLOGS_PRODUCER_METRICS_LISTEN", format!("127.0.0.1:{upload_metrics}"))
            .spawn()
            .unwrap(),
        wowlogs()
            .args(["consume", "all", "--brokers", &brokers, "--group-id", &database, "--batch-age-ms", "300"])
            .args(["--metrics-addr", &format!("127.0.0.1:{consumer_port}")])
            .args(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
        http_service("query-api", api_port, &store)
            .env("WOWLOGS_QUERY_API_METRICS_LISTEN", format!("127.0.0.1:{api_metrics}"))
            .spawn()
            .unwrap(),
    ]);
    let minute = Duration::from_secs(60);
    for port in [upload_port, consumer_port, api_port] {
        until("the service is live", minute, || (http_get(port, "/health/live").0 == 200).then_some(()));
    }

    // Traffic that makes every series exist: an upload through the pipeline into
    // ClickHouse and a few query API requests.
    // The fixture plus one malformed line: unique content (the upload service refuses a
    // log it has seen before) and a dead letter.
    let mut log = std::fs::read(support::fixture("classic_sod_1.15.1_gnomeregan_raid.txt")).unwrap();
    log.extend_from_slice(format!("\n{database} is not a combat log line\n").as_bytes());
    let headers = [("Authorization", bearer.as_str()), ("X-File-Name", "gnomeregan.txt")];
    assert_eq!(http_post(upload_port, "/api/v1/logs/upload", &headers, &log).0, 202);
    let api = |path: &str| http_get_with(api_port, path, &[("Authorization", &bearer)]);
    until("the fight is in ClickHouse and the query API lists it", Duration::from_secs(120), || {
        let (status, body) = api("/api/v1/encounters");
        // (Earlier runs on the same broker may add guild 1's earlier uploads.)
        (status == 200 && body.contains("\"total\":") && !body.contains("\"total\":0")).then_some(())
    });
    assert_eq!(api("/api/v1/progress").0, 200);
    until("the consumers report their lag", minute, || {
        http_get(consumer_port, "/metrics").1.contains("wowlogs_consumer_lag_messages{").then_some(())
    });

    let mut names = BTreeSet::new();
    for port in [upload_port, api_port] {
        assert_eq!(http_get(port, "/metrics").0, 404, "metrics are not on the public port");
    }
    for port in [upload_metrics, consumer_port, api_metrics] {
        let (status, text) = http_get(port, "/metrics");
        assert_eq!(status, 200);
        names.extend(exposed(&text));
    }
    let jobs = scrape_jobs();
    let expressions: Vec<(String, String)> =
        alert_expressions().into_iter().chain(dashboard_expressions()).collect();
    assert!(expressions.len() > 30, "alerts and dashboard queries found: {}", expressions.len());
    for (place, expr) in &expressions {
        let metrics = named_metrics(expr);
        let reads_up = expr.contains("up{");
        // The machine alerts read the exporters Prometheus scrapes beside the services
        // (compose's node-exporter and kafka-exporter, which cannot run here): their
        // jobs must be scraped.
        let exporter = EXPORTERS.iter().find(|(prefix, _)| expr.contains(prefix));
        if let Some((_, job)) = exporter {
            assert!(
                jobs.contains(*job),
                "{place} reads the {job} exporter, which Prometheus does not scrape"
            );
        }
        assert!(
            !metrics.is_empty() || reads_up || exporter.is_some(),
            "{place}: names no wowlogs or exporter metric: {expr}"
        );
        for metric in metrics {
            assert!(names.contains(&metric), "{place}: {metric} is not exposed by any service: {expr}");
        }
        if reads_up {
            for job in ["producer", "consumers", "query-api"] {
                assert!(
                    jobs.contains(job),
                    "{place} reads up of job {job}, which Prometheus does not scrape"
                );
            }
        }
    }
    eprintln!("{} expressions checked against {} exposed series names", expressions.len(), names.len());
}

/// The exporters whose metrics alerts may read (metric prefix, Prometheus job).
const EXPORTERS: [(&str, &str); 2] = [("node_", "node"), ("kafka_", "kafka")];

/// An OTLP/HTTP collector on a local port: hands over each request's path and body.
fn collector() -> (u16, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            // Headers, then as many body bytes as Content-Length says.
            let (head_end, length) = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break (None, 0);
                }
                data.extend_from_slice(&buf[..n]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (Some(end + 4), length);
                }
            };
            let Some(head_end) = head_end else { continue };
            while data.len() < head_end + length {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            let path = String::from_utf8_lossy(&data[..head_end])
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = sender.send((path, data[head_end..].to_vec()));
        }
    });
    (port, received)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
fn with_otel_exporter_otlp_endpoint_set_request_spans_reach_the_collector() {
    let database = unique("wowlogs_test_otlp");
    let store = ["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), database];
    run(wowlogs().args(["migrate"]).args(&store));
    let (collector_port, received) = collector();
    let api_port = free_port();
    let _services = Services(vec![
        http_service("query-api", api_port, &store)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{collector_port}"))
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .spawn()
            .unwrap(),
    ]);
    let request_id = unique("otlp-probe");
    until("the query API is live", Duration::from_secs(60), || {
        (http_get_with(api_port, "/health/live", &[("x-request-id", &request_id)]).0 == 200).then_some(())
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (path, body) =
            received.recv_timeout(left).expect("an export with the request's span within 30 s");
        assert_eq!(path, "/v1/traces", "OTLP/HTTP trace exports go to <endpoint>/v1/traces");
        if contains(&body, &request_id) {
            assert!(contains(&body, "wowlogs-query-api"), "the service name is in the export's resource");
            assert!(contains(&body, "GET /health/live"), "the span is named after the method and route");
            break;
        }
    }
}
