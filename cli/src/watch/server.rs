//! Sending a followed file to a deployment's live sessions, through its HTTPS entry
//! point: `PUT /api/v1/live/{key}/{offset}` per piece, `POST /api/v1/live/{key}/close`.

use super::sink::{Piece, Sent, Sink};
use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use std::path::Path;
use std::time::Duration;

/// How long one request may take (a piece waits while the guild is over its events per
/// minute, or the broker is slow).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// The wait before trying an unreachable server again, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Names the session for the entry point, which keeps a session on one replica.
const SESSION_HEADER: &str = "X-Wowlogs-Session";

/// See the module's documentation.
pub struct ServerSink {
    client: Client,
    base: String,
    key: String,
    backoff: Duration,
}

impl ServerSink {
    /// A sink to `server` (`https://wowlogs.example`) with an API key allowed to upload.
    /// Certificates are checked against the system's store (`SSL_CERT_FILE` names
    /// another bundle) and, with `cacert`, that PEM file's authorities too.
    pub fn new(server: &str, key: &str, cacert: Option<&Path>) -> Result<Self> {
        let mut builder = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("wowlogs-watch/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = cacert {
            let pem = std::fs::read(path).with_context(|| format!("reading --cacert {}", path.display()))?;
            for certificate in reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("{} is not a PEM certificate bundle", path.display()))?
            {
                builder = builder.add_root_certificate(certificate);
            }
        }
        Ok(Self {
            client: builder.build().context("setting up the HTTPS client")?,
            base: server.trim_end_matches('/').to_string(),
            key: key.to_string(),
            backoff: FIRST_BACKOFF,
        })
    }

    /// The answer to a request, as what became of the piece.
    fn answer(&mut self, result: reqwest::Result<Response>) -> Result<Sent> {
        let response = match result {
            Ok(response) => response,
            Err(error) if error_chain(&error).contains("certificate") => bail!(
                "{} presented a certificate this machine does not trust ({}): pass the authority that \
                 signed it with --cacert FILE (the local stack's is .local-stack/proxy/ca.crt), or set \
                 SSL_CERT_FILE to a bundle that holds it",
                self.base,
                error_chain(&error)
            ),
            Err(error) => {
                let after = self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                let why = format!("cannot reach {}: {}", self.base, error_chain(&error));
                return Ok(Sent::Retry { after, why });
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let body: serde_json::Value = response.json().unwrap_or_default();
        let message = body["error"]["message"].as_str().unwrap_or_default().to_string();
        if status.is_success() {
            self.backoff = FIRST_BACKOFF;
            let next = body["next_offset"].as_u64().context("the server's answer has no next_offset")?;
            return Ok(if body["state"] == "completed" { Sent::Closed } else { Sent::Next(next) });
        }
        match status {
            StatusCode::CONFLICT if body["error"]["code"] == "session_closed" => Ok(Sent::Closed),
            StatusCode::CONFLICT if body["error"]["expected_offset"].is_u64() => {
                self.backoff = FIRST_BACKOFF;
                Ok(Sent::Next(body["error"]["expected_offset"].as_u64().unwrap_or(0)))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                bail!(
                    "{} refused the API key ({status}): {message}; it needs the `upload` permission",
                    self.base
                )
            }
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => bail!(
                "{} has no live sessions ({status}): is it a wowlogs entry point, and new enough?",
                self.base
            ),
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::PAYLOAD_TOO_LARGE => Ok(Sent::Refused(message)),
            _ => {
                let after = retry_after.unwrap_or(self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                Ok(Sent::Retry { after, why: format!("{} answered {status}: {message}", self.base) })
            }
        }
    }
}

impl Sink for ServerSink {
    fn send(&mut self, piece: Piece<'_>) -> Result<Sent> {
        let url = format!("{}/api/v1/live/{}/{}", self.base, piece.key, piece.offset);
        let result = self
            .client
            .put(url)
            .query(&[("file_name", piece.name)])
            .bearer_auth(&self.key)
            .header(SESSION_HEADER, piece.key)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(piece.bytes.to_vec())
            .send();
        self.answer(result)
    }

    fn close(&mut self, _name: &str, key: &str, bytes: u64) -> Result<Sent> {
        let url = format!("{}/api/v1/live/{key}/close", self.base);
        let request = self.client.post(url).query(&[("bytes", bytes)]).bearer_auth(&self.key);
        let result = request.header(SESSION_HEADER, key).send();
        self.answer(result)
    }
}

/// An error with its causes (`error sending request: … connection refused`).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
