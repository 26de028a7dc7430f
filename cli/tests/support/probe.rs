//! Looking at running services from outside: ClickHouse counts, HTTP endpoints and
//! Prometheus text. Shared by the CLI's tests and its benchmarks (each uses a part).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::Duration;
use wowlogs_store::StoreSettings;

/// A query's result as TSV text ("" while the table does not exist yet).
pub async fn tsv(store: &StoreSettings, sql: &str) -> String {
    match store.client().query(sql).fetch_bytes("TSV") {
        Ok(mut cursor) => match cursor.collect().await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => String::new(),
        },
        Err(_) => String::new(),
    }
}

/// A count query's number (0 while the table does not exist yet).
pub async fn count(store: &StoreSettings, sql: &str) -> u64 {
    tsv(store, sql).await.trim().parse().unwrap_or(0)
}

/// `GET path` on a local port: (status code, body); (0, "") when nothing listens.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    http_get_with(port, path, &[])
}

/// `GET path` on a local port with extra headers (`("Authorization", "Bearer …")`).
pub fn http_get_with(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    exchange(stream, &format!("GET {path} HTTP/1.0\r\n{}", head_lines(headers)), b"")
}

/// `POST path` of `body` on a local port with extra headers: (status code, body).
pub fn http_post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!("POST {path} HTTP/1.0\r\n{}Content-Length: {}\r\n", head_lines(headers), body.len());
    exchange(stream, &head, body)
}

/// `Host` and the extra headers, one `Name: value\r\n` line each.
fn head_lines(headers: &[(&str, &str)]) -> String {
    let extra: String = headers.iter().map(|(name, value)| format!("{name}: {value}\r\n")).collect();
    format!("Host: localhost\r\n{extra}")
}

/// Sends a request (`head` without its closing blank line, then `body`) and reads the
/// whole HTTP/1.0 answer: (status code, body); 0 when the answer has no status line, or
/// when the server closed the connection before taking the request (a service still
/// starting may accept and reset: callers polling for it try again).
fn exchange(mut stream: std::net::TcpStream, head: &str, body: &[u8]) -> (u16, String) {
    if write!(stream, "{head}\r\n").and_then(|()| stream.write_all(body)).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (code, body)
}

/// A local port nothing listens on (at the time of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A metric summed over the label sets that contain `label`, from the text exposition.
pub fn metric_sum(exposition: &str, name: &str, label: &str) -> f64 {
    exposition
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
