//! What every test shares, in one place: where the real combat logs are, and where the
//! servers that `deploy/local/test.sh` starts are. A dev-dependency only; it depends on
//! none of the workspace's crates, so any crate's tests may use it.
//!
//! | variable | what | default |
//! |---|---|---|
//! | `WOWLOGS_FIXTURES` | the real logs' folder | `../shared/fixtures` beside the repository |
//! | `WOWLOGS_TEST_BROKERS` | the local broker (tansu) | none: tests that need it say so |
//! | `WOWLOGS_TEST_CLICKHOUSE` | the local ClickHouse's HTTP URL, with its credentials | none: tests that need it say so |
//! | `WOWLOGS_BENCH_CLICKHOUSE` | the ClickHouse benchmarks load | the local stack's (`.local-stack/clickhouse.url`) |

use std::path::PathBuf;

/// The real logs' folder: `WOWLOGS_FIXTURES`, else `shared/fixtures` beside the
/// repository (where the project's machines have it).
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("WOWLOGS_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"))
}

/// One real log, by file name.
pub fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

/// Every real log in the folder (the folder, not a list: a log added there is covered
/// without touching a test), sorted by name.
pub fn all_fixtures() -> Vec<PathBuf> {
    let dir = fixtures_dir();
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the real logs' folder {}: {e} (set WOWLOGS_FIXTURES)", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    logs.sort();
    logs
}

/// A name no other test run uses: `prefix`, the process id and the time (for a test's
/// own database, group or topic).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// The local broker's address (`WOWLOGS_TEST_BROKERS`).
pub fn brokers() -> String {
    std::env::var("WOWLOGS_TEST_BROKERS").expect(
        "this test needs the local broker: run deploy/local/test.sh, or start it with \
         `deploy/local/broker.sh start --memory --port 19092` and set WOWLOGS_TEST_BROKERS=127.0.0.1:19092",
    )
}

/// The local ClickHouse's HTTP URL (`WOWLOGS_TEST_CLICKHOUSE`).
pub fn clickhouse() -> String {
    std::env::var("WOWLOGS_TEST_CLICKHOUSE").expect(
        "this test needs the local ClickHouse: run deploy/local/test.sh, or set WOWLOGS_TEST_CLICKHOUSE to its HTTP URL",
    )
}

/// The ClickHouse a benchmark loads: `WOWLOGS_BENCH_CLICKHOUSE`, else the local stack's
/// (`.local-stack/clickhouse.url`: its URL with the `default` user's password, which
/// `deploy/local/clickhouse.sh` writes there).
pub fn bench_clickhouse() -> String {
    if let Ok(url) = std::env::var("WOWLOGS_BENCH_CLICKHOUSE") {
        return url;
    }
    let stack = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.local-stack/clickhouse.url");
    std::fs::read_to_string(&stack).map(|url| url.trim().to_string()).unwrap_or_else(|e| {
        panic!(
            "this benchmark needs a ClickHouse: start the local stack (deploy/local/stack.sh start) or set \
             WOWLOGS_BENCH_CLICKHOUSE to a URL with its credentials ({}: {e})",
            stack.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_logs_are_found_sorted() {
        let logs = all_fixtures();
        assert!(logs.len() >= 11, "{logs:?}");
        assert!(logs.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(fixture("arena_3v3_tww_11.2.0.txt"), fixtures_dir().join("arena_3v3_tww_11.2.0.txt"));
    }
}
