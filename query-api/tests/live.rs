//! The live feed and key revocation, over real sockets: the service on a local port,
//! its feed reading the real broker (`WOWLOGS_TEST_BROKERS`), keys in the real registry.

mod support;

use futures::StreamExt;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use std::time::{Duration, Instant};
use support::{actor, brokers, config, keys, tenant, world};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use wowlogs_kafka::{KafkaSettings, ensure_topics};
use wowlogs_query_api::live::LiveFeed;
use wowlogs_query_api::router;
use wowlogs_query_api::state::AppState;
use wowlogs_schemas::topics::{self, ENCOUNTERS, UPLOADS, guild_key};
use wowlogs_schemas::{
    Codec, EncounterSummary, FightKind, FightSummary, GuildId, LogId, PlayerMetrics, UploadState,
    UploadStatus,
};
use wowlogs_tenancy::{KeySpec, Permission, Registry};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The service on a free local port, its keys refreshed every 500 ms and its live feed
/// reading the broker from the topics' current end.
async fn serve() -> (String, LiveFeed) {
    let mut config = config(&world().store);
    config.kafka = KafkaSettings::new(brokers(), format!("wowlogs-api-live-test-{}", std::process::id()));
    ensure_topics(&config.kafka, &topics::ALL, |t| t.default_partitions, 1).await.unwrap();
    let keys = keys(&config.store).await;
    keys.clone().keep_fresh(Registry::new(config.store.clone()), Duration::from_millis(500));
    let live = LiveFeed::default();
    let state = AppState::new(keys, config, live.clone());
    live.spawn_reader(state.config.kafka.clone(), state.metrics.clone(), Some(state.progress_watch()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router(state, wowlogs_query_api::public_document([]))).await.unwrap()
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !live.is_reading() {
        assert!(Instant::now() < deadline, "the live feed did not start reading the topics");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (format!("127.0.0.1:{}", address.port()), live)
}

async fn connect(address: &str, key: &str) -> Result<Socket, WsError> {
    let mut request = format!("ws://{address}/ws").into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket)
}

/// The close the server sends next, past any message before it (as `{"closed": code}`).
async fn closing(socket: &mut Socket) -> Value {
    loop {
        let message = next_json(socket, Duration::from_secs(5)).await.expect("the open stream is closed");
        if message.get("closed").is_some() {
            return message;
        }
    }
}

async fn next_json(socket: &mut Socket, within: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(within, socket.next()).await.ok()?? {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Message::Close(frame)) => {
                let reason = frame.as_ref().map(|f| f.reason.to_string());
                return Some(
                    serde_json::json!({"closed": frame.map(|f| u16::from(f.code)), "reason": reason}),
                );
            }
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

fn status(guild: i64, upload_id: &str) -> UploadStatus {
    UploadStatus {
        guild_id: GuildId(guild),
        log_id: LogId(guild * 100),
        upload_id: upload_id.into(),
        state: UploadState::Parsing,
        file_name: "WoWCombatLog.txt".into(),
        content_sha256: String::new(),
        bytes_total: Some(1000),
        bytes_read: 250,
        lines: 10,
        events: 9,
        dead_letters: 1,
        acked_through_line: 10,
        reason: None,
        timestamp_ms: 1_700_000_000_000,
        last_event_line: None,
    }
}

fn summary(guild: i64, boss: &str) -> EncounterSummary {
    let player = |name: &str, dps: f64| PlayerMetrics {
        guid: format!("Player-1-{name}"),
        name: name.into(),
        class: Some("MAGE".into()),
        spec_id: Some(63),
        item_level: Some(600.0),
        damage_done: (dps * 300.0) as i64,
        healing_done: 0,
        overhealing: 0,
        absorbs_done: 0,
        damage_taken: 0,
        deaths: 0,
        casts: 1,
        interrupts: 0,
        dispels: 0,
        dps,
        hps: 0.0,
        abilities: Vec::new(),
        auras: Vec::new(),
    };
    EncounterSummary {
        guild_id: GuildId(guild),
        log_id: LogId(guild * 100),
        fight: FightSummary {
            kind: FightKind::Encounter,
            name: boss.into(),
            encounter_id: Some(2902),
            difficulty: Some(16),
            group_size: Some(20),
            instance_id: Some(2657),
            kill: Some(true),
            complete: true,
            start_ms: 1_700_000_000_000,
            end_ms: 1_700_000_300_000,
            duration_ms: 300_000,
            start_line: 5,
            end_line: 500,
            key_level: None,
            affixes: Vec::new(),
            match_type: None,
            parent_start_line: None,
            round: None,
            rounds_won: None,
            players: (0..7).map(|i| player(&format!("Top{i}-Realm"), 1000.0 - f64::from(i))).collect(),
            deaths: Vec::new(),
            boss_pct: None,
            boss_pct_missing: None,
            bosses: Vec::new(),
            damage_taken_by_ability: Vec::new(),
            removals: Vec::new(),
            zone_name: None,
        },
    }
}

async fn publish(producer: &FutureProducer, guild: i64, upload_id: &str, boss: &str) {
    let mut payload = Vec::new();
    Codec::<UploadStatus>::new().unwrap().encode(&status(guild, upload_id), &mut payload).unwrap();
    let key = guild_key(GuildId(guild));
    producer
        .send(FutureRecord::to(UPLOADS.name).key(&key).payload(&payload), Duration::from_secs(10))
        .await
        .unwrap();
    payload.clear();
    Codec::<EncounterSummary>::new().unwrap().encode(&summary(guild, boss), &mut payload).unwrap();
    producer
        .send(FutureRecord::to(ENCOUNTERS.name).key(&key).payload(&payload), Duration::from_secs(10))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn each_connection_gets_a_welcome_then_only_its_guilds_progress_and_fights() {
    let (address, _) = serve().await;
    let (a, b) = (&world().a, &world().b);
    let mut socket_a = connect(&address, &a.key).await.unwrap();
    let mut socket_b = connect(&address, &b.key).await.unwrap();
    let welcome = next_json(&mut socket_a, Duration::from_secs(5)).await.unwrap();
    assert_eq!((welcome["type"].as_str(), welcome["guild_id"].as_i64()), (Some("welcome"), Some(a.guild_id)));
    assert_eq!(welcome["guild_name"], "Loothing");
    assert_eq!(
        next_json(&mut socket_b, Duration::from_secs(5)).await.unwrap()["guild_id"].as_i64(),
        Some(b.guild_id)
    );

    let producer: FutureProducer =
        KafkaSettings::new(brokers(), "wowlogs-api-live-test").producer_config().create().unwrap();
    // B's messages first, then A's: A's connection must see A's and never B's.
    publish(&producer, b.guild_id, "upload-of-b", "Boss Of B").await;
    publish(&producer, a.guild_id, "upload-of-a", "Boss Of A").await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let message =
            next_json(&mut socket_a, Duration::from_secs(20)).await.expect("A's two messages arrive");
        assert_eq!(message["guild_id"].as_i64(), Some(a.guild_id), "only A's messages: {message}");
        assert_eq!(message["guild_name"], "Loothing", "every message names the guild: {message}");
        assert!(!message.to_string().contains("of B") && !message.to_string().contains("Of B"), "{message}");
        seen.push(message);
    }
    let progress = seen.iter().find(|m| m["type"] == "progress").expect("a progress message");
    assert_eq!(
        (progress["upload_id"].as_str(), progress["progress"].as_f64()),
        (Some("upload-of-a"), Some(25.0))
    );
    let fight =
        seen.iter().find(|m| m["type"] == "encounter_complete").expect("an encounter_complete message");
    assert_eq!((fight["boss_name"].as_str(), fight["kill"].as_bool()), (Some("Boss Of A"), Some(true)));
    assert_eq!(fight["duration_ms"].as_i64(), Some(300_000));
    assert_eq!(fight["top_players"].as_array().unwrap().len(), 5, "the top five of seven");
    assert_eq!(fight["top_players"][0]["name"], "Top0-Realm");
    // And B's connection had B's, not A's.
    for _ in 0..2 {
        let message =
            next_json(&mut socket_b, Duration::from_secs(20)).await.expect("B's two messages arrive");
        assert_eq!(message["guild_id"].as_i64(), Some(b.guild_id), "{message}");
    }
    assert!(next_json(&mut socket_a, Duration::from_millis(500)).await.is_none(), "nothing more for A");
    socket_a.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn the_stream_needs_the_stream_permission_and_respects_the_keys_connection_limit() {
    let (address, _) = serve().await;
    let a = &world().a;
    match connect(&address, &a.upload_key).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("an upload-only key must not stream: {other:?}"),
    }
    match connect(&address, "wl_not_a_key").await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("an unknown key must not stream: {other:?}"),
    }
    // The world's keys allow two connections each.
    let first = connect(&address, &a.key).await.unwrap();
    let second = connect(&address, &a.key).await.unwrap();
    match connect(&address, &a.key).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("a third connection must be refused: {other:?}"),
    }
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match connect(&address, &a.key).await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(error) => panic!("a freed connection slot is reusable: {error}"),
        }
    }
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_guild_holds_at_most_its_connections_over_all_its_keys_and_other_guilds_connect() {
    let (address, _) = serve().await;
    let w = world();
    let registry = Registry::new(w.store.clone());
    let guild = tenant(&registry, &w.store.client(), "Many Keys", &[]).await;
    // Three more keys of 3 connections each: 12 by the keys' limits, 5 by the guild's.
    let mut keys = vec![guild.key.clone()];
    for n in 0..3 {
        let spec = KeySpec {
            guild_id: guild.guild_id,
            description: format!("key {n}"),
            permissions: vec![Permission::Stream],
            events_per_minute: 0,
            max_connections: 3,
        };
        keys.push(registry.create_key(&spec, &actor()).await.unwrap().0.plaintext);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for key in &keys {
        while http(&address, "POST", "/api/v1/ws/ticket", key).await.0 == 401 {
            assert!(Instant::now() < deadline, "the new keys are known within 5 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut open = Vec::new();
    for key in keys.iter().cycle().take(5) {
        open.push(connect(&address, key).await.unwrap());
    }
    match connect(&address, &keys[3]).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 429, "the guild's sixth connection"),
        other => panic!("a sixth connection of the guild must be refused: {other:?}"),
    }
    let other = connect(&address, &w.b.key).await.expect("another guild connects");
    drop((open, other));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_key_without_its_own_limit_gets_the_services_and_oversized_client_messages_close_the_stream() {
    let (address, _) = serve().await;
    let w = world();
    let spec = KeySpec {
        guild_id: w.a.guild_id,
        description: "no limit of its own".into(),
        permissions: vec![Permission::Stream],
        events_per_minute: 0,
        max_connections: 0,
    };
    let (key, _) = Registry::new(w.store.clone()).create_key(&spec, &actor()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut sockets = Vec::new();
    while sockets.is_empty() {
        match connect(&address, &key.plaintext).await {
            Ok(socket) => sockets.push(socket),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(error) => panic!("the new key streams within 5 s: {error}"),
        }
    }
    // The service's default for such keys is 3 in these tests (20 by default).
    for _ in 1..3 {
        sockets.push(connect(&address, &key.plaintext).await.unwrap());
    }
    match connect(&address, &key.plaintext).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("a fourth connection must be refused: {other:?}"),
    }
    let mut socket = sockets.pop().unwrap();
    assert_eq!(next_json(&mut socket, Duration::from_secs(5)).await.unwrap()["type"], "welcome");
    use futures::SinkExt;
    // Over the 4 KiB a client may send: the server ends the connection.
    let _ = socket.send(Message::Text("x".repeat(10_000).into())).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Err(_) => panic!("the connection stayed open after a 10,000-byte message"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Ok(_))) => continue,
        }
    }
    // A small message is fine.
    let mut socket = sockets.pop().unwrap();
    socket.send(Message::Text("hello".into())).await.unwrap();
    assert_eq!(next_json(&mut socket, Duration::from_secs(5)).await.unwrap()["type"], "welcome");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_revoked_key_stops_working_within_five_seconds_even_mid_stream() {
    let (address, _) = serve().await;
    let w = world();
    let registry = Registry::new(w.store.clone());
    let spec = KeySpec {
        guild_id: w.a.guild_id,
        description: "to revoke".into(),
        permissions: vec![Permission::Query, Permission::Stream],
        events_per_minute: 0,
        max_connections: 0,
    };
    let (key, row) = registry.create_key(&spec, &actor()).await.unwrap();
    // The running service learns of the new key at its next refresh.
    let deadline = Instant::now() + Duration::from_secs(5);
    while http_status(&address, "/api/v1/encounters/stats", &key.plaintext).await != 200 {
        assert!(Instant::now() < deadline, "a new key works within 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut socket = connect(&address, &key.plaintext).await.unwrap();
    assert_eq!(next_json(&mut socket, Duration::from_secs(5)).await.unwrap()["type"], "welcome");

    let revoked_at = Instant::now();
    registry.revoke_key(&row.key_id, &actor()).await.unwrap();
    while http_status(&address, "/api/v1/encounters/stats", &key.plaintext).await != 401 {
        assert!(revoked_at.elapsed() < Duration::from_secs(5), "revocation took effect within 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Other tests' messages for guild A may come first; the close must follow.
    let closed = closing(&mut socket).await;
    assert_eq!(
        closed["closed"].as_u64(),
        Some(u64::from(wowlogs_query_api::http::ws::CLOSE_REVOKED)),
        "{closed}"
    );
    // The service cannot tell a revoked key from an expired one (both are gone from its
    // keys): the reason names both, as the 401 does.
    assert_eq!(closed["reason"], "API key revoked or expired", "{closed}");
    assert!(revoked_at.elapsed() < Duration::from_secs(5), "within 5 s: {:?}", revoked_at.elapsed());
    assert_eq!(
        http_status(&address, "/api/v1/encounters/stats", &w.a.key).await,
        200,
        "other keys still work"
    );
}

/// `METHOD path` with a bearer key over a plain socket: (status code, body).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_deactivated_guilds_open_streams_close_within_five_seconds_and_reactivation_lets_it_back() {
    let (address, _) = serve().await;
    let w = world();
    let registry = Registry::new(w.store.clone());
    let guild = tenant(&registry, &w.store.client(), "Deactivated Mid-Stream", &[]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while http_status(&address, "/api/v1/encounters/stats", &guild.key).await != 200 {
        assert!(Instant::now() < deadline, "a new guild's key works within 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut socket = connect(&address, &guild.key).await.unwrap();
    assert_eq!(next_json(&mut socket, Duration::from_secs(5)).await.unwrap()["type"], "welcome");

    let deactivated_at = Instant::now();
    registry.set_active(guild.guild_id, false, &actor()).await.unwrap();
    let closed = closing(&mut socket).await;
    assert_eq!(
        closed["closed"].as_u64(),
        Some(u64::from(wowlogs_query_api::http::ws::CLOSE_GUILD_DEACTIVATED)),
        "{closed}"
    );
    assert!(deactivated_at.elapsed() < Duration::from_secs(5), "within 5 s: {:?}", deactivated_at.elapsed());
    assert!(connect(&address, &guild.key).await.is_err(), "a new stream of the deactivated guild is refused");

    registry.set_active(guild.guild_id, true, &actor()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut socket = loop {
        match connect(&address, &guild.key).await {
            Ok(socket) => break socket,
            Err(_) => {
                assert!(
                    Instant::now() < deadline,
                    "reactivation lets the guild's keys stream again within 5 s"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(next_json(&mut socket, Duration::from_secs(5)).await.unwrap()["type"], "welcome");
}

async fn http(address: &str, method: &str, path: &str, key: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default())
}

/// `GET path` with the key: the status code.
async fn http_status(address: &str, path: &str, key: &str) -> u16 {
    http(address, "GET", path, key).await.0
}

/// `POST path` with the key: the answer's body.
async fn http_post(address: &str, path: &str, key: &str) -> String {
    http(address, "POST", path, key).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_browser_opens_the_feed_with_a_single_use_ticket_never_the_key_in_the_url() {
    let (address, _) = serve().await;
    let a = &world().a;
    let answer: Value =
        serde_json::from_str(&http_post(&address, "/api/v1/ws/ticket", &a.key).await).unwrap();
    let ticket = answer["data"]["ticket"].as_str().expect("a ticket").to_string();
    assert!(ticket.starts_with("wst_") && !ticket.contains(&a.key), "{answer}");
    assert_eq!(answer["data"]["expires_in_s"], 30);
    // No header: the ticket alone opens the guild's feed.
    let url = format!("ws://{address}{}", answer["data"]["url"].as_str().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("the ticket opens /ws");
    let welcome = next_json(&mut socket, Duration::from_secs(5)).await.unwrap();
    assert_eq!((welcome["type"].as_str(), welcome["guild_id"].as_i64()), (Some("welcome"), Some(a.guild_id)));
    // Once only; a made-up ticket neither.
    for url in [url.clone(), format!("ws://{address}/ws?ticket=wst_0000")] {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
            other => panic!("{url}: {other:?}"),
        }
    }
    // A key without `stream` gets no ticket.
    let refused: Value =
        serde_json::from_str(&http_post(&address, "/api/v1/ws/ticket", &a.upload_key).await).unwrap();
    assert_eq!(refused["error"]["code"], "forbidden", "{refused}");
    socket.close(None).await.unwrap();
}
