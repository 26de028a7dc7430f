//! The documentation and the live feed in a real browser: Debian's headless Chromium
//! (`deploy/local/install-chromium.sh`), driven over the DevTools protocol, opens
//! `/docs` (Swagger UI) and `/redoc` (ReDoc) through the TLS entry point with no network
//! beyond this machine, and a script in the page opens the live feed with a WebSocket
//! ticket, as a browser application would.
//!
//! "No network": every host but loopback resolves nowhere and goes through a proxy that
//! does not exist, and every request the page makes is recorded: all of them must be to
//! the entry point, none refused by its Content-Security-Policy.

mod support;

use base64::Engine;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::gateway::Gateway;
use support::probe::free_port;
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// Chromium with a DevTools port and an empty profile, killed when dropped.
struct Chromium {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Chromium {
    fn start() -> Self {
        let profile = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(std::env::var("WOWLOGS_CHROMIUM").unwrap_or_else(|_| "chromium".into()))
            .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
            .args(["--disable-extensions", "--window-size=1280,900"])
            // No network: other hosts resolve nowhere and would go through a dead proxy
            // (loopback is never proxied).
            .arg("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
            .arg("--proxy-server=http://127.0.0.1:9")
            // The entry point's certificate is the local stack's self-signed one.
            .arg("--ignore-certificate-errors")
            .arg(format!("--remote-debugging-port={port}"))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium: run deploy/local/install-chromium.sh");
        let chromium = Chromium { child, port, _profile: profile };
        until("Chromium's DevTools answer", Duration::from_secs(30), || {
            chromium.devtools("/json/list").0 == 200
        });
        chromium
    }

    /// `GET path` on the DevTools port (with curl: it answers HTTP/1.1 only).
    fn devtools(&self, path: &str) -> (u16, String) {
        let output = Command::new("curl")
            .args(["-s", "--max-time", "5", "-w", "\n%{http_code}"])
            .arg(format!("http://127.0.0.1:{}{path}", self.port))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// The DevTools WebSocket of the open page.
    fn page(&self) -> String {
        let (_, body) = self.devtools("/json/list");
        let targets: Vec<Value> = serde_json::from_str(&body).unwrap();
        let page = targets.iter().find(|t| t["type"] == "page").expect("a page target");
        page["webSocketDebuggerUrl"].as_str().unwrap().to_string()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One page over the DevTools protocol: commands, and the events seen so far.
struct Page {
    socket: Socket,
    next_id: u64,
    events: Vec<Value>,
}

impl Page {
    async fn connect(url: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut page = Page { socket, next_id: 0, events: Vec::new() };
        for domain in ["Page.enable", "Network.enable", "Log.enable", "Runtime.enable"] {
            page.call(domain, json!({})).await;
        }
        page
    }

    /// Sends a command and waits for its result, keeping the events that come first.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let command = json!({"id": id, "method": method, "params": params});
        self.socket.send(Message::Text(command.to_string().into())).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method}"))
                .unwrap()
                .unwrap();
            let Message::Text(text) = message else { continue };
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
            self.events.push(value);
        }
    }

    /// Evaluates an expression in the page (awaiting a promise), returning its value.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {result}");
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page.
    async fn until(&mut self, what: &str, expression: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.eval(expression).await != Value::Bool(true) {
            assert!(tokio::time::Instant::now() < deadline, "{what}: not within 60 s");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// A screenshot's share of pixels that differ from its most common colour (0: blank).
    async fn drawn_share(&mut self) -> f64 {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"})).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let step = info.color_type.samples();
        let mut counts = std::collections::HashMap::new();
        for pixel in pixels[..info.buffer_size()].chunks(step) {
            *counts.entry(pixel.to_vec()).or_insert(0usize) += 1;
        }
        let total: usize = counts.values().sum();
        let background = counts.values().max().copied().unwrap_or(0);
        (total - background) as f64 / total as f64
    }

    /// Every URL the page requested so far.
    fn requested(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .map(|e| e["params"]["request"]["url"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Console and browser log lines so far (CSP violations are reported there).
    fn logged(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str() {
                Some("Log.entryAdded") => Some(e["params"]["entry"]["text"].to_string()),
                Some("Runtime.exceptionThrown") => Some(e["params"]["exceptionDetails"].to_string()),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local broker, ClickHouse, nginx and Chromium (deploy/local/test.sh)"]
async fn the_docs_render_offline_and_a_page_script_opens_the_live_feed_with_a_ticket() {
    let gateway = Gateway::start("Browsers", "query,stream", "1m");
    let origin = format!("https://127.0.0.1:{}", gateway.proxy.https);
    let chromium = Chromium::start();
    let mut page = Page::connect(&chromium.page()).await;

    // Swagger UI at /docs: every operation rendered, from files of the entry point.
    page.call("Page.navigate", json!({"url": format!("{origin}/docs/")})).await;
    page.until("Swagger UI lists the operations", "document.querySelectorAll('.opblock').length >= 20").await;
    let operations = page.eval("document.querySelectorAll('.opblock').length").await;
    let drawn = page.drawn_share().await;
    assert!(drawn > 0.02, "the Swagger UI screenshot is blank ({drawn:.4} drawn)");
    let title = page.eval("document.querySelector('.title')?.textContent ?? ''").await;
    assert!(title.as_str().unwrap().contains("wowlogs"), "{title}");

    // ReDoc at /redoc.
    page.call("Page.navigate", json!({"url": format!("{origin}/redoc")})).await;
    page.until("ReDoc renders the operations", "document.querySelectorAll('[data-section-id]').length >= 20")
        .await;
    let drawn_redoc = page.drawn_share().await;
    assert!(drawn_redoc > 0.02, "the ReDoc screenshot is blank ({drawn_redoc:.4} drawn)");
    let upload_documented = page.eval("document.body.innerText.includes('/api/v1/logs/upload')").await;
    assert_eq!(upload_documented, Value::Bool(true), "the upload route is in the one document");

    // A page script: a ticket for the key, then the live feed with it (browsers cannot
    // set headers on a WebSocket).
    let key = gateway.bearer.trim_start_matches("Authorization: Bearer ");
    let script = format!(
        r#"(async () => {{
            const answer = await fetch('/api/v1/ws/ticket', {{method: 'POST', headers: {{Authorization: 'Bearer {key}'}}}});
            const ticket = (await answer.json()).data;
            return await new Promise((resolve, reject) => {{
                const socket = new WebSocket(`wss://${{location.host}}${{ticket.url}}`);
                socket.onmessage = (event) => {{ socket.close(); resolve(event.data); }};
                socket.onerror = () => reject(new Error('the WebSocket failed'));
                setTimeout(() => reject(new Error('no message within 10 s')), 10000);
            }});
        }})()"#
    );
    let first = page.eval(&script).await;
    let welcome: Value = serde_json::from_str(first.as_str().unwrap()).unwrap();
    assert_eq!(
        (welcome["type"].as_str(), welcome["guild_name"].as_str()),
        (Some("welcome"), Some("Browsers"))
    );
    assert_eq!(welcome["guild_id"].as_i64(), gateway.guild.parse().ok());

    // Nothing came from elsewhere, nothing was refused.
    page.call("Runtime.evaluate", json!({"expression": "1"})).await;
    let requested = page.requested();
    assert!(requested.len() >= 5, "{requested:?}");
    for url in &requested {
        let local = url.starts_with(&format!("{origin}/"))
            || url.starts_with(&format!("wss://127.0.0.1:{}/", gateway.proxy.https))
            || url.starts_with("data:")
            || url.starts_with("blob:");
        assert!(local, "the page fetched {url} from elsewhere: {requested:?}");
    }
    let logged = page.logged();
    assert!(
        !logged.iter().any(|line| line.contains("Content Security Policy") || line.contains("net::ERR")),
        "{logged:#?}"
    );
    println!(
        "Swagger UI: {operations} operations, {:.1} % drawn; ReDoc: {:.1} % drawn; {} requests, all to the entry point",
        drawn * 100.0,
        drawn_redoc * 100.0,
        requested.len()
    );
}
