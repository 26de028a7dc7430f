//! `wowlogs migrate` against the real local ClickHouse (`WOWLOGS_TEST_CLICKHOUSE`,
//! started by `deploy/local/test.sh`).

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use support::probe::free_port;
use support::{clickhouse, unique, wowlogs};

/// Copies bytes one way until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 || to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

/// Starts forwarding `port` to ClickHouse's HTTP port after `delay` (nothing listens
/// on it before).
fn clickhouse_after(port: u16, delay: Duration) {
    // Its host and port (the URL without its credentials).
    let server = wowlogs_store::StoreSettings::new(clickhouse(), "unused").url;
    let target = server.trim_start_matches("http://").trim_end_matches('/').to_string();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        for client in listener.incoming().flatten() {
            let server = TcpStream::connect(&target).unwrap();
            let (client_reader, server_reader) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || pipe(client_reader, server));
            std::thread::spawn(move || pipe(server_reader, client));
        }
    });
}

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn a_migration_whose_connection_fails_is_tried_again_and_one_refused_is_not() {
    let database = unique("wowlogs_test_migrate_retry");
    let port = free_port();
    clickhouse_after(port, Duration::from_millis(2500));
    let started = Instant::now();
    let credentials = wowlogs_store::StoreSettings::new(clickhouse(), "unused");
    let output = wowlogs()
        .args(["migrate", "--clickhouse-url", &format!("http://127.0.0.1:{port}"), "--database", &database])
        .args(["--clickhouse-user", &credentials.user.unwrap_or_else(|| "default".into())])
        .args(["--clickhouse-password", &credentials.password.unwrap_or_default()])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("applied 0001_pipeline_tables"), "{stdout}");
    assert!(stderr.contains("migration interrupted; retrying"), "the first attempt found nobody: {stderr}");
    assert!(started.elapsed() >= Duration::from_millis(2500));

    // A statement ClickHouse refuses (a database name it cannot take) fails at once.
    let started = Instant::now();
    let refused = wowlogs()
        .args(["migrate", "--clickhouse-url", &clickhouse(), "--database", "no-such`name"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(!String::from_utf8_lossy(&refused.stderr).contains("retrying"));
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}
