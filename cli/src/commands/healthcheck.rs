//! `wowlogs healthcheck`: GET a local health endpoint and exit 0 on a 2xx answer. The
//! container image has no curl; Docker's and Compose's health checks run this.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// `http://host:port/path` (plain HTTP: the services' own ports).
    pub url: String,
    /// Seconds to wait for the connection and the answer.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

/// Host with port, and path, of a plain `http://` URL.
fn split_url(url: &str) -> Result<(&str, &str)> {
    let rest = url.strip_prefix("http://").with_context(|| format!("{url}: only http:// URLs"))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    if !authority.contains(':') {
        bail!("{url}: give the port (http://127.0.0.1:8081/health/ready)");
    }
    Ok((authority, path))
}

/// The status code of `GET url`.
pub fn status(url: &str, timeout: Duration) -> Result<u16> {
    let (authority, path) = split_url(url)?;
    let address = authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} has no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .with_context(|| format!("connecting to {authority}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write: a server may answer and close after the first segment it reads.
    let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut head = [0u8; 64];
    let read = stream.read(&mut head).with_context(|| format!("reading the answer of {url}"))?;
    let line = String::from_utf8_lossy(&head[..read]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("{url} did not answer HTTP: {line:?}"))
}

pub fn run(args: &HealthcheckArgs) -> Result<()> {
    let code = status(&args.url, Duration::from_secs(args.timeout))?;
    if !(200..300).contains(&code) {
        bail!("{} answered {code}", args.url);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_splits_into_authority_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8081/health/ready").unwrap(),
            ("127.0.0.1:8081", "/health/ready")
        );
        assert_eq!(split_url("http://localhost:9464").unwrap(), ("localhost:9464", "/"));
        assert!(split_url("https://localhost:9464/").is_err());
        assert!(split_url("http://localhost/health").is_err());
    }

    #[test]
    fn a_2xx_passes_and_anything_else_fails() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for answer in ["HTTP/1.1 200 OK\r\n\r\nup", "HTTP/1.1 503 Service Unavailable\r\n\r\n"] {
                let (mut stream, _) = listener.accept().unwrap();
                // Read the whole request head, as a server does, then answer and close.
                let (mut request, mut buf) = (Vec::new(), [0u8; 256]);
                while !request.ends_with(b"\r\n\r\n") {
                    let n = stream.read(&mut buf).unwrap();
                    assert!(n > 0, "the request ended before its head did");
                    request.extend_from_slice(&buf[..n]);
                }
                stream.write_all(answer.as_bytes()).unwrap();
            }
        });
        let url = format!("http://127.0.0.1:{port}/health/ready");
        let args = HealthcheckArgs { url: url.clone(), timeout: 3 };
        assert!(run(&args).is_ok());
        assert_eq!(run(&args).unwrap_err().to_string(), format!("{url} answered 503"));
        server.join().unwrap();
        assert!(run(&args).is_err(), "nothing listens any more");
    }
}
