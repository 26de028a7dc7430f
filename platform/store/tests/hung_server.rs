//! A ClickHouse that takes the connection and never answers: an insert with a deadline
//! fails with a retryable timeout instead of waiting for ever. No server needed: the
//! "server" is a local socket that reads and never writes.

use std::time::{Duration, Instant};
use wowlogs_store::rows::{LogRow, insert_rows_within};
use wowlogs_store::{ErrorClass, classify};

#[tokio::test]
async fn an_insert_a_hung_server_never_answers_times_out_retryably() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // Accept and read whatever comes, answer nothing, keep the connection open.
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            held.push(tokio::spawn(async move {
                let mut sink = Vec::new();
                let _ = tokio::io::AsyncReadExt::read_to_end(&mut socket, &mut sink).await;
                std::future::pending::<()>().await;
            }));
        }
    });
    let client = clickhouse::Client::default().with_url(format!("http://{address}")).with_validation(false);
    let rows = [LogRow {
        guild_id: 1,
        log_id: 1,
        content_sha256: String::new(),
        upload_id: "u".into(),
        file_name: "WoWCombatLog.txt".into(),
        state: 3,
        bytes_read: 0,
        lines: 0,
        events: 0,
        dead_letters: 0,
        reason: String::new(),
        updated: 0,
        version: 1,
    }];
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        insert_rows_within(&client, &rows, Some(Duration::from_millis(500))),
    )
    .await
    .expect("the insert's own deadline ends it, not the test's");
    let error = outcome.expect_err("nothing was answered");
    assert!(matches!(error, clickhouse::error::Error::TimedOut), "{error:?}");
    assert_eq!(classify(&error), ErrorClass::Retryable);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}
