//! Running the real binaries against the real broker and ClickHouse started by
//! `deploy/local/test.sh` (`WOWLOGS_TEST_BROKERS`, `WOWLOGS_TEST_CLICKHOUSE`).

#![allow(dead_code)]

pub mod gateway;
pub mod probe;

pub use probe::{count, http_get, tsv};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wowlogs_schemas::FightSummary;
use wowlogs_store::StoreSettings;

#[allow(unused_imports)] // each test binary uses some of them
pub use wowlogs_testkit::{all_fixtures, brokers, clickhouse, fixture};

pub use wowlogs_testkit::unique;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn wowlogs() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wowlogs"));
    let log = std::env::var("WOWLOGS_TEST_LOG").unwrap_or_else(|_| "warn".into());
    command.env("WOWLOGS_LOG", log).env_remove("WOWLOGS_CLICKHOUSE_USER");
    command
}

/// `wowlogs <command>` (`serve` or `query-api`) on a local port, against the test broker
/// and the ClickHouse of `store` (`--clickhouse-url … --database …`); logs to stderr.
pub fn http_service(command: &str, port: u16, store: &[String]) -> Command {
    let mut service = wowlogs();
    service
        .args([command, "--brokers", &brokers(), "--listen", &format!("127.0.0.1:{port}")])
        // No internal metrics port unless a test asks (tests run services side by side).
        .env("WOWLOGS_PRODUCER_METRICS_LISTEN", "")
        .env("WOWLOGS_QUERY_API_METRICS_LISTEN", "")
        .args(store)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    service
}

/// The peak resident memory of a process so far, in bytes (`VmHWM`).
pub fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/<pid>/status");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Polls `check` every 100 ms until it holds, or fails the test after `limit`.
pub fn until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A service process, killed when dropped.
pub struct Service(pub Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A new database on `clickhouse`, migrated: its name and the `--clickhouse-url …
/// --database …` arguments naming it.
pub fn migrated(prefix: &str, clickhouse: &str) -> (String, [String; 4]) {
    let database = unique(prefix);
    let store_args =
        ["--clickhouse-url".to_string(), clickhouse.to_string(), "--database".to_string(), database.clone()];
    run(wowlogs().arg("migrate").args(&store_args));
    (database, store_args)
}

/// A guild and a key of it with `permissions`: (guild id, `Bearer <key>`).
pub fn guild_with_key(store_args: &[String], name: &str, permissions: &str) -> (i64, String) {
    let created = run(wowlogs().args(["guild", "create", "--name", name]).args(store_args));
    let guild: i64 = created.split_whitespace().nth(2).unwrap().parse().unwrap();
    let key = run(wowlogs()
        .args(["api-key", "create", "--guild", &guild.to_string(), "--permissions", permissions])
        .args(store_args));
    (guild, format!("Bearer {}", key.trim()))
}

/// A copy of a real log that no earlier run uploaded (the upload history lives on the
/// shared broker, and guild ids repeat across test databases): the log and one more
/// line, a comment the parser counts as malformed.
pub fn fresh_copy_of(name: &str) -> PathBuf {
    let copy = std::env::temp_dir().join(unique("log"));
    let mut content = std::fs::read(fixture(name)).unwrap();
    content.extend_from_slice(format!("\n# {}\n", unique("run")).as_bytes());
    std::fs::write(&copy, content).unwrap();
    copy
}

/// Runs a command to success, returning its standard output.
pub fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// `wowlogs synth` into `dir`.
pub fn synth(dir: &Path, size: &str, seed: u64) -> PathBuf {
    let path = dir.join(format!("synth-{seed}.txt"));
    run(wowlogs().args(["synth", "--size", size, "--seed", &seed.to_string(), "--output"]).arg(&path));
    path
}

/// What `wowlogs analyze --format json` says about one file.
#[derive(Debug, serde::Deserialize)]
pub struct Analysis {
    pub fights: Vec<FightSummary>,
    pub events: u64,
    pub errors: u64,
}

pub fn analyze(path: &Path) -> Analysis {
    serde_json::from_str(&run(wowlogs().args(["analyze", "--format", "json"]).arg(path))).unwrap()
}

/// `wowlogs import` of files for a guild, started in the background.
pub fn start_import(guild: i64, files: &[PathBuf]) -> Child {
    start_import_on(&brokers(), guild, files)
}

/// [`start_import`] to another broker.
pub fn start_import_on(brokers: &str, guild: i64, files: &[PathBuf]) -> Child {
    wowlogs()
        .args(["import", "--brokers", brokers, "--guild", &guild.to_string()])
        .args(files)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn finish(mut child: Child, what: &str) {
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    assert!(status.success(), "{what}: {status}: {stderr}");
}

/// `wowlogs topics create`, as a deployment runs it before any consumer (compose's
/// `topics` service, the k8s job): consumers refuse to start on a broker without the
/// topics, and a test may be the first to touch a fresh broker. Idempotent.
pub fn create_topics(brokers: &str) {
    run(wowlogs().args(["topics", "create", "--brokers", brokers]));
}

/// A broker of a test's own (in memory), stopped when dropped: for tests whose
/// consumers must read only what the test published.
pub struct Broker {
    state: tempfile::TempDir,
    pub address: String,
}

impl Broker {
    pub fn start() -> Self {
        let state = tempfile::tempdir().unwrap();
        let port = probe::free_port().to_string();
        let address = run(Command::new(repo().join("deploy/local/broker.sh"))
            .args(["start", "--memory", "--port", &port, "--state"])
            .arg(state.path()))
        .trim()
        .to_string();
        Broker { state, address }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("deploy/local/broker.sh"))
            .args(["stop", "--state"])
            .arg(self.state.path())
            .output();
    }
}

/// A consumer group process; killed (SIGKILL) when dropped.
pub struct ConsumerProcess {
    pub child: Child,
    pub metrics_port: Option<u16>,
}

impl ConsumerProcess {
    /// `wowlogs consume <group>` into `database` of `clickhouse`.
    pub fn start(
        group: &str,
        group_id: &str,
        clickhouse: &str,
        database: &str,
        metrics_port: Option<u16>,
    ) -> Self {
        Self::start_with(group, group_id, clickhouse, database, metrics_port, &[])
    }

    /// The same, with extra environment variables (`WOWLOGS_CONSUMER_*` settings).
    pub fn start_with(
        group: &str,
        group_id: &str,
        clickhouse: &str,
        database: &str,
        metrics_port: Option<u16>,
        env: &[(&str, &str)],
    ) -> Self {
        Self::start_on(&brokers(), group, group_id, clickhouse, database, metrics_port, env)
    }

    /// [`Self::start_with`] reading another broker.
    pub fn start_on(
        brokers: &str,
        group: &str,
        group_id: &str,
        clickhouse: &str,
        database: &str,
        metrics_port: Option<u16>,
        env: &[(&str, &str)],
    ) -> Self {
        let metrics_addr = metrics_port.map(|p| format!("127.0.0.1:{p}")).unwrap_or_default();
        create_topics(brokers);
        let child = wowlogs()
            .envs(env.iter().copied())
            .args(["consume", group, "--brokers", brokers, "--clickhouse-url", clickhouse])
            .args(["--database", database, "--group-id", group_id, "--metrics-addr", &metrics_addr])
            // Small batches, so commits fall inside the producer's record batches.
            .args(["--batch-age-ms", "300", "--batch-rows", "7919", "--session-timeout-ms", "6000"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        ConsumerProcess { child, metrics_port }
    }

    /// `wowlogs consume all` with static membership (`--instance-id`) and the default
    /// session timeout, as a supervisor runs it: both groups, `<prefix>-events-sink` and
    /// `<prefix>-encounters`.
    pub fn start_all(
        prefix: &str,
        instance: &str,
        clickhouse: &str,
        database: &str,
        metrics_port: u16,
    ) -> Self {
        Self::start_all_on(&brokers(), prefix, instance, clickhouse, database, metrics_port)
    }

    /// [`Self::start_all`] reading another broker.
    pub fn start_all_on(
        brokers: &str,
        prefix: &str,
        instance: &str,
        clickhouse: &str,
        database: &str,
        metrics_port: u16,
    ) -> Self {
        create_topics(brokers);
        let child = wowlogs()
            .args(["consume", "all", "--brokers", brokers, "--clickhouse-url", clickhouse])
            .args(["--database", database, "--group-id", prefix, "--instance-id", instance])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(["--batch-age-ms", "300", "--batch-rows", "7919"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        ConsumerProcess { child, metrics_port: Some(metrics_port) }
    }

    /// The process's peak resident memory so far, in bytes (`VmHWM`).
    pub fn peak_rss(&self) -> u64 {
        peak_rss(self.child.id())
    }

    /// Records received since the process started (both groups).
    pub fn received(&self) -> f64 {
        let (_, body) = self.get("/metrics");
        probe::metric_sum(&body, "wowlogs_consumer_messages_total", "")
    }

    /// Rows the process has inserted into `table` since it started.
    pub fn inserted(&self, table: &str) -> f64 {
        let (_, body) = self.get("/metrics");
        probe::metric_sum(&body, "wowlogs_consumer_rows_inserted_total{", &format!("table=\"{table}\""))
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the consumer exits cleanly on SIGTERM: {status}");
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// `GET path` on the metrics endpoint: (status code, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let port = self.metrics_port.expect("started with a metrics port");
        http_get(port, path)
    }
}

impl Drop for ConsumerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn store(url: &str, database: &str) -> StoreSettings {
    StoreSettings::new(url.to_string(), database.to_string())
}

/// Waits until `sql` counts `expected`.
pub async fn wait_for(store: &StoreSettings, sql: &str, expected: u64, limit: Duration) {
    let started = Instant::now();
    loop {
        let n = count(store, sql).await;
        if n == expected {
            return;
        }
        assert!(started.elapsed() < limit, "{sql}: {n}, expected {expected} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits until a guild's tables hold everything of logs with these analyses.
pub async fn wait_for_guild(store: &StoreSettings, guild: i64, expected: &[&Analysis], limit: Duration) {
    let events: u64 = expected.iter().map(|a| a.events).sum();
    let fights: usize = expected.iter().map(|a| a.fights.len()).sum();
    let logs = expected.len() as u64;
    wait_for(
        store,
        &format!("SELECT count() FROM logs FINAL WHERE guild_id = {guild} AND state = 'completed'"),
        logs,
        limit,
    )
    .await;
    wait_for(
        store,
        &format!("SELECT count() FROM combat_events FINAL WHERE guild_id = {guild}"),
        events,
        limit,
    )
    .await;
    wait_for(
        store,
        &format!("SELECT count() FROM encounters FINAL WHERE guild_id = {guild}"),
        fights as u64,
        limit,
    )
    .await;
}

/// Every projection table of a guild, in a fixed order, as text: two runs that must
/// be identical compare equal here.
pub async fn dump_guild(store: &StoreSettings, guild: i64) -> Vec<(String, String)> {
    dump_guild_columns(store, guild, "*").await
}

/// [`dump_guild`] without the rows' `version` column: what a guild's data is, whatever
/// offsets its records were read at (a restore publishes them on another broker).
pub async fn dump_guild_content(store: &StoreSettings, guild: i64) -> Vec<(String, String)> {
    dump_guild_columns(store, guild, "content").await
}

async fn dump_guild_columns(store: &StoreSettings, guild: i64, columns: &str) -> Vec<(String, String)> {
    let select = |table: &str| {
        let table = table.to_string();
        async move {
            if columns == "*" {
                return "*".to_string();
            }
            let names = tsv(
                store,
                &format!(
                    "SELECT name FROM system.columns WHERE database = '{}' AND table = '{table}' AND name != 'version'",
                    store.database
                ),
            )
            .await;
            names.lines().collect::<Vec<_>>().join(", ")
        }
    };
    let tables = [
        ("combat_events", "log_id, line"),
        ("encounters", "log_id, start_line"),
        ("encounter_details", "log_id, start_line"),
        ("encounter_players", "log_id, start_line, player_guid"),
        ("encounter_deaths", "log_id, start_line, line, player_guid"),
        ("character_logs", "player_guid, log_id"),
        ("character_gear", "player_guid, log_id, line, slot"),
        ("dead_letters", "log_id, source, line"),
    ];
    let mut out = Vec::new();
    for (table, key) in tables {
        let columns = select(table).await;
        let text = tsv(
            store,
            &format!("SELECT {columns} FROM {table} FINAL WHERE guild_id = {guild} ORDER BY {key}"),
        )
        .await;
        out.push((table.to_string(), text));
    }
    let columns = select("characters").await;
    let characters = tsv(
        store,
        &format!("SELECT {columns} FROM characters WHERE guild_id = {guild} ORDER BY player_guid"),
    )
    .await;
    out.push(("characters".to_string(), characters));
    out
}

/// Asserts two dumps are identical, naming the first table that differs.
pub fn assert_same_tables(got: &[(String, String)], clean: &[(String, String)]) {
    for ((table, a), (_, b)) in got.iter().zip(clean) {
        assert!(!b.is_empty() || table == "dead_letters", "{table} is empty in the clean run");
        if a != b {
            let (la, lb) = (a.lines().count(), b.lines().count());
            let first = a.lines().zip(b.lines()).find(|(x, y)| x != y);
            panic!("{table} differs from the clean run: {la} rows vs {lb}; first difference: {first:?}");
        }
    }
}
