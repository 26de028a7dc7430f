//! The public entry point of a test: nginx (`deploy/local/proxy.sh`) in front of both
//! services of a fresh database, with one guild and its key.

use super::probe::free_port;
use super::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The proxy of a test, stopped when dropped.
pub struct Proxy {
    state: tempfile::TempDir,
    pub https: u16,
    pub http: u16,
}

impl Proxy {
    pub fn start(uploads: u16, api: u16, max_upload: &str) -> Self {
        Self::start_with(&format!("127.0.0.1:{uploads}"), &format!("127.0.0.1:{api}"), max_upload)
    }

    /// In front of these addresses (several, comma-separated: replicas).
    ///
    /// A port found free can be taken by another test's server before nginx binds it
    /// (seen twice in full runs: "bind() ... Address already in use"); such a start is
    /// tried again on other ports, a few times, and any other failure fails the test.
    pub fn start_with(uploads: &str, api: &str, max_upload: &str) -> Self {
        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            let proxy = Proxy { state: tempfile::tempdir().unwrap(), https: free_port(), http: free_port() };
            let output = Command::new(repo().join("deploy/local/proxy.sh"))
                .args([
                    "start",
                    "--https-port",
                    &proxy.https.to_string(),
                    "--http-port",
                    &proxy.http.to_string(),
                ])
                .args(["--uploads", uploads, "--query-api", api])
                // No Grafana runs in the tests: a port nothing listens on.
                .args(["--grafana", &format!("127.0.0.1:{}", free_port())])
                .args(["--max-upload", max_upload, "--state"])
                .arg(proxy.state.path())
                .output()
                .unwrap();
            if output.status.success() {
                return proxy;
            }
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                attempt < ATTEMPTS && stderr.contains("Address already in use"),
                "proxy.sh start (attempt {attempt}): {stderr}"
            );
        }
        unreachable!("the last attempt returns or fails")
    }

    pub fn cert(&self) -> PathBuf {
        self.state.path().join("proxy/tls.crt")
    }

    /// A WebSocket upgrade of `path` with the header `auth`, read for 3 s: (status,
    /// headers, the frames' bytes as text).
    pub fn upgrade(&self, path: &str, auth: &str) -> (u16, String, String) {
        let headers = ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13"];
        let mut args = vec!["--http1.1", "-N", "--max-time", "3", "-H", auth];
        for header in headers.iter().chain(&["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]) {
            args.extend(["-H", header]);
        }
        self.curl(path, &args)
    }

    /// `curl` against the entry point, checking its certificate: (status, headers, body).
    pub fn curl(&self, path: &str, args: &[&str]) -> (u16, String, String) {
        let url = format!("https://127.0.0.1:{}{path}", self.https);
        curl(&url, &self.cert(), args)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("deploy/local/proxy.sh"))
            .arg("stop")
            .arg("--state")
            .arg(self.state.path())
            .output();
    }
}

/// One curl request: (status, headers, body).
pub fn curl(url: &str, cert: &Path, args: &[&str]) -> (u16, String, String) {
    let output = Command::new("curl")
        .args(["-s", "-D", "-", "--max-time", "20", "--cacert"])
        .arg(cert)
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// Both services of a fresh database behind a proxy of their own, with one guild and its
/// key; the query API's request log goes to `api_log`.
pub struct Gateway {
    pub proxy: Proxy,
    pub bearer: String,
    pub guild: String,
    pub database: String,
    pub api_log: tempfile::NamedTempFile,
    _services: Vec<Service>,
}

impl Gateway {
    pub fn start(name: &str, permissions: &str, max_upload: &str) -> Self {
        let database = unique("entry");
        let store =
            ["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), database.clone()];
        run(wowlogs().arg("migrate").args(&store));
        let created = run(wowlogs().args(["guild", "create", "--name", name]).args(&store));
        let guild = created.split_whitespace().nth(2).unwrap().to_string();
        let key = run(wowlogs()
            .args(["api-key", "create", "--guild", &guild, "--permissions", permissions])
            .args(&store));
        let bearer = format!("Authorization: Bearer {}", key.trim());
        let (uploads_port, api_port) = (free_port(), free_port());
        let api_log = tempfile::NamedTempFile::new().unwrap();
        let services = vec![
            Service(http_service("serve", uploads_port, &store).spawn().unwrap()),
            Service(
                http_service("query-api", api_port, &store)
                    .env("WOWLOGS_CORS_ORIGINS", "https://app.example.com")
                    .env("WOWLOGS_LOG", "info")
                    .args(["--log-format", "json"])
                    .stderr(api_log.reopen().unwrap())
                    .spawn()
                    .unwrap(),
            ),
        ];
        for port in [uploads_port, api_port] {
            until("the services are live", Duration::from_secs(60), || {
                http_get(port, "/health/live").0 == 200
            });
        }
        let proxy = Proxy::start(uploads_port, api_port, max_upload);
        Gateway { proxy, bearer, guild, database, api_log, _services: services }
    }

    /// `--clickhouse-url … --database …` of the gateway's database, for the CLI.
    pub fn store_args(&self) -> Vec<String> {
        vec!["--clickhouse-url".into(), clickhouse(), "--database".into(), self.database.clone()]
    }

    /// `curl` through the entry point with the guild's key.
    pub fn get(&self, path: &str) -> (u16, String, serde_json::Value) {
        let (status, head, body) = self.proxy.curl(path, &["-H", &self.bearer]);
        (status, head, serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)))
    }
}
