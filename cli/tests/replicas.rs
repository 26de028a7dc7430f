//! Two upload-service replicas behind the one entry point agree: they follow the uploads
//! topic into one shared view, so either answers for any upload and knows every log
//! published through the other; the same file sent to both at once ends as one log, one
//! set of rows and one status; and they hold a guild's limits together (each its share).
//! Two query API replicas behind the same entry point give the same answers.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::gateway::Proxy;
use support::probe::{free_port, http_get_with};
use support::*;

/// A raw upload whose body never finishes (it holds an upload slot until closed):
/// the status line if the service answered within a second, else `None`.
fn stalled_upload(port: u16, bearer: &str) -> (TcpStream, Option<String>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /api/v1/logs/upload HTTP/1.1\r\nHost: localhost\r\nAuthorization: {bearer}\r\n\
         Content-Length: 1000000\r\nX-File-Name: WoWCombatLog.txt\r\n\r\n10/9 20:02:23.481  SPELL_AURA_APPLIED"
    )
    .unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut answer = [0u8; 512];
    let status = match stream.read(&mut answer) {
        Ok(n) if n > 0 => {
            Some(String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or("").to_string())
        }
        _ => None,
    };
    (stream, status)
}

#[test]
#[ignore = "needs the local broker, ClickHouse and nginx (deploy/local/test.sh)"]
fn two_upload_replicas_publish_a_file_once_answer_for_each_other_and_share_the_guilds_limits() {
    let database = unique("wowlogs_test_replicas");
    let store =
        vec!["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), database.clone()];
    run(wowlogs().arg("migrate").args(&store));
    let (guild, bearer) = guild_with_key(&store, "Twins", "upload,query,stream");
    let auth = format!("Authorization: {bearer}");
    let (a, b, api, api2) = (free_port(), free_port(), free_port(), free_port());
    let replica = |port: u16| {
        Service(
            http_service("serve", port, &store)
                .env("WOWLOGS_PRODUCER_REPLICAS", "2")
                .env("WOWLOGS_MAX_CONCURRENT_UPLOADS_PER_GUILD", "2")
                .spawn()
                .unwrap(),
        )
    };
    // Replicas share the secret WebSocket tickets are signed with (as the k8s Deployment's do).
    let query_api = |port: u16| {
        Service(
            http_service("query-api", port, &store)
                .env("WOWLOGS_WS_TICKET_SECRET", "the replicas' shared secret")
                .env("WOWLOGS_QUERY_API_REPLICAS", "2")
                .env("WOWLOGS_MAX_WEBSOCKETS_PER_GUILD", "2")
                .spawn()
                .unwrap(),
        )
    };
    let _services = [replica(a), replica(b), query_api(api), query_api(api2)];
    for port in [a, b, api, api2] {
        until("the services are live", Duration::from_secs(60), || http_get(port, "/health/live").0 == 200);
    }
    let proxy = Proxy::start_with(
        &format!("127.0.0.1:{a},127.0.0.1:{b}"),
        &format!("127.0.0.1:{api},127.0.0.1:{api2}"),
        "1g",
    );
    let _consumers =
        ConsumerProcess::start_all(&unique("twins"), "twins-1", &clickhouse(), &database, free_port());

    // The same file to both replicas at the same moment.
    let copy = fresh_copy_of("retail_sl_9.2_raid_wipe_snippet.txt");
    let form = format!("file=@{}", copy.display());
    let send = |port: u16| {
        let (auth, form) = (auth.clone(), form.clone());
        std::thread::spawn(move || {
            let output = std::process::Command::new("curl")
                .args(["-s", "-w", "\n%{http_code}", "-H", &auth, "-F", &form])
                .arg(format!("http://127.0.0.1:{port}/api/v1/logs/upload"))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            let (body, code) = text.rsplit_once('\n').unwrap();
            (code.to_string(), serde_json::from_str::<serde_json::Value>(body).unwrap())
        })
    };
    let (first, second) = (send(a), send(b));
    let answers = [first.join().unwrap(), second.join().unwrap()];
    for (code, answer) in &answers {
        assert!(["200", "202"].contains(&code.as_str()), "{code} {answer}");
    }
    let log_ids: Vec<&serde_json::Value> = answers.iter().map(|(_, a)| &a["log_ids"][0]).collect();
    assert_eq!(log_ids[0], log_ids[1], "one log, whichever replica took it");
    let log_id = log_ids[0].as_i64().unwrap();
    let settings = wowlogs_store::StoreSettings::new(clickhouse(), database.clone());
    let expected = analyze(&copy).events;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    until("the log's rows are in ClickHouse", Duration::from_secs(120), || {
        runtime.block_on(count(
            &settings,
            &format!(
                "SELECT count() FROM combat_events FINAL WHERE guild_id = {guild} AND log_id = {log_id}"
            ),
        )) == expected
    });
    // The log's row follows its statuses, which may land after its last events.
    let logs_row = || {
        runtime.block_on(tsv(
            &settings,
            &format!("SELECT state, events FROM logs FINAL WHERE guild_id = {guild} AND log_id = {log_id}"),
        ))
    };
    until("the log's row says completed", Duration::from_secs(60), || {
        logs_row().trim().starts_with("completed")
    });
    assert_eq!(logs_row().trim(), format!("completed\t{expected}"), "one log row, one set of rows");

    // Either replica, and the entry point, answers for either upload, with one status.
    for (_, answer) in &answers {
        let upload_id = answer["upload_id"].as_str().unwrap();
        for port in [a, b] {
            let mut status = String::new();
            until("the replica knows the upload", Duration::from_secs(30), || {
                let (code, body) = http_get_with(
                    port,
                    &format!("/api/v1/uploads/{upload_id}"),
                    &[("Authorization", &bearer)],
                );
                status = body;
                code == 200 && status.contains("\"completed\"")
            });
            assert!(status.contains(&log_id.to_string()), "{status}");
        }
        let (code, _, body) = proxy.curl(&format!("/api/v1/uploads/{upload_id}"), &["-H", &auth]);
        assert!(code == 200 && body.contains("\"completed\""), "{code} {body}");
    }
    let direct = |port: u16, path: &str| {
        let output = std::process::Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}", "-H", &auth])
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // Each replica caches live answers for WOWLOGS_QUERY_CACHE_MS (1 s): one may still
    // hold the answer from before the fight for that long.
    until("the fight is queryable on both query APIs", Duration::from_secs(120), || {
        let path = format!("/api/v1/encounters?log_id={log_id}");
        [api, api2].iter().all(|port| direct(*port, &path).contains("\"total\":1"))
    });
    std::thread::sleep(Duration::from_millis(1_100)); // every cached answer is from after it
    // Two query API replicas give the same answers (the second of each pair through the
    // entry point, which balances them).
    for path in [
        format!("/api/v1/encounters?log_id={log_id}"),
        "/api/v1/encounters/stats".to_string(),
        "/api/v1/progress".to_string(),
        "/api/v1/characters?per_page=500".to_string(),
    ] {
        let (one, two) = (direct(api, &path), direct(api2, &path));
        assert!(one.ends_with("\n200"), "{path}: {one}");
        assert_eq!(one, two, "{path}: the replicas disagree");
        let body = one.rsplit_once('\n').unwrap().0;
        for _ in 0..2 {
            let (code, _, through) = proxy.curl(&path, &["-H", &auth]);
            assert_eq!((code, through.as_str()), (200, body), "{path} through the entry point");
        }
    }

    // A browser's WebSocket ticket from one query API replica opens the feed on the other
    // (no session affinity needed), once there; each replica takes it once at most.
    let ticket = |port: u16| {
        let output = std::process::Command::new("curl")
            .args(["-s", "-X", "POST", "-H", &auth])
            .arg(format!("http://127.0.0.1:{port}/api/v1/ws/ticket"))
            .output()
            .unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        answer["data"]["ticket"].as_str().unwrap_or_else(|| panic!("a ticket: {answer}")).to_string()
    };
    let open = |port: u16, ticket: &str| {
        let url = format!("ws://127.0.0.1:{port}/ws?ticket={ticket}");
        runtime.block_on(async {
            match tokio_tungstenite::connect_async(url.as_str()).await {
                Ok((mut socket, _)) => {
                    use futures::StreamExt;
                    let welcome = tokio::time::timeout(Duration::from_secs(5), socket.next()).await;
                    let text = welcome.ok().flatten().and_then(Result::ok).map(|m| m.to_string());
                    Ok(text.unwrap_or_default())
                }
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
                Err(other) => panic!("{url}: {other}"),
            }
        })
    };
    let from_one = ticket(api);
    let welcome = open(api2, &from_one).expect("the other replica accepts the ticket");
    assert!(
        welcome.contains("\"welcome\"") && welcome.contains(&format!("\"guild_id\":{guild}")),
        "{welcome}"
    );
    assert_eq!(open(api2, &from_one), Err(401), "once on each replica");
    let forged = from_one.replacen("wst_key-", "wst_key-0", 1);
    assert_eq!(open(api, &forged), Err(401), "a ticket changed on the way");

    // The guild may hold 2 live connections; each query API replica holds one of them.
    let hold = |port: u16| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://127.0.0.1:{port}/ws").into_client_request().unwrap();
        request.headers_mut().insert("authorization", bearer.parse().unwrap());
        runtime.block_on(async {
            match tokio_tungstenite::connect_async(request).await {
                Ok((socket, _)) => Ok(socket),
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
                Err(other) => panic!("{other}"),
            }
        })
    };
    let mut held = Vec::new();
    until("the ticket's connection is let go", Duration::from_secs(10), || match hold(api) {
        Ok(socket) => {
            held.push(socket);
            true
        }
        Err(_) => false,
    });
    assert_eq!(hold(api).err(), Some(429), "the first replica's share is one");
    held.push(hold(api2).expect("the other replica holds the guild's second"));
    assert_eq!(hold(api2).err(), Some(429), "two in all");
    drop(held);

    // Sent again to the other replica later: a duplicate there too.
    let again = send(b).join().unwrap();
    assert_eq!(again.0, "200", "{}", again.1);
    assert_eq!(again.1["status"], "duplicate");

    // The guild may have 2 uploads in progress; each replica holds one of them.
    let (_held_a, on_a) = stalled_upload(a, &bearer);
    assert_eq!(on_a, None, "the first upload on A is taken (its body still to come)");
    let (_, over_a) = stalled_upload(a, &bearer);
    assert!(over_a.as_deref().is_some_and(|s| s.contains("429")), "A's share is one: {over_a:?}");
    let (_held_b, on_b) = stalled_upload(b, &bearer);
    assert_eq!(on_b, None, "B holds the guild's other upload");
    let (_, over_b) = stalled_upload(b, &bearer);
    assert!(over_b.as_deref().is_some_and(|s| s.contains("429")), "two in progress in all: {over_b:?}");
    let _ = std::fs::remove_file(copy);
}
