//! The one public entry point: nginx (Debian's, started by `deploy/local/proxy.sh` from
//! the same template compose uses) terminating TLS in front of the real upload service
//! and query API. Checked from outside with curl, as a user would.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::gateway::{Gateway, curl};
use support::probe::free_port;
use support::*;

#[test]
#[ignore = "needs the local broker and ClickHouse (deploy/local/test.sh)"]
fn one_https_entry_point_routes_uploads_queries_and_the_live_feed_with_security_headers() {
    let gateway = Gateway::start("Gateway", "upload,query,stream", "1m");
    let (proxy, bearer, api_log) = (&gateway.proxy, &gateway.bearer, &gateway.api_log);

    // Plain HTTP is sent to HTTPS.
    let (status, head, _) = curl(&format!("http://127.0.0.1:{}/health", proxy.http), &proxy.cert(), &[]);
    assert_eq!(status, 301, "{head}");
    assert!(head.contains(&format!("location: https://127.0.0.1:{}/health", proxy.https)), "{head}");

    // Queries go to the query API, in the specification's envelope, with the security
    // headers on.
    let (status, head, body) = proxy.curl("/api/v1/encounters?limit=1", &["-H", bearer]);
    assert_eq!(status, 200, "{head}{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (answer["guild_name"].as_str(), answer["pagination"]["limit"].as_u64()),
        (Some("Gateway"), Some(1))
    );
    for header in [
        "strict-transport-security: max-age=31536000",
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "referrer-policy: no-referrer",
        "content-security-policy: default-src 'self'",
        "x-request-id: ",
    ] {
        assert!(head.contains(header), "{header} missing: {head}");
    }
    let (status, head, _) = proxy.curl("/api/v1/encounters", &[]);
    assert!(
        status == 401 && head.contains("strict-transport-security"),
        "errors carry the headers too: {head}"
    );

    // Uploads go to the upload service, and their status too.
    let copy = fresh_copy_of("retail_sl_9.2_raid_wipe_snippet.txt");
    let form = format!("file=@{}", copy.display());
    let (status, _, body) = proxy.curl("/api/v1/logs/upload", &["-H", bearer, "-F", &form]);
    assert_eq!(status, 202, "{body}");
    let accepted: serde_json::Value = serde_json::from_str(&body).unwrap();
    let upload_id = accepted["upload_id"].as_str().unwrap().to_string();
    assert!(accepted["message"].as_str().unwrap().contains(&upload_id), "{accepted}");
    until("the upload's status through the entry point", Duration::from_secs(60), || {
        let (status, _, body) = proxy.curl(&format!("/api/v1/uploads/{upload_id}"), &["-H", bearer]);
        status == 200 && body.contains("\"completed\"")
    });
    // Over the entry point's upload limit (here 1 MiB): refused before the service.
    let big = std::env::temp_dir().join(unique("big"));
    std::fs::write(&big, vec![b'x'; 2 << 20]).unwrap();
    let (status, _, _) =
        proxy.curl("/api/v1/logs/upload", &["-H", bearer, "--data-binary", &format!("@{}", big.display())]);
    assert_eq!(status, 413);
    for file in [copy, big] {
        let _ = std::fs::remove_file(file);
    }

    // The live feed's WebSocket upgrade passes through, and its welcome arrives.
    let (status, head, body) = proxy.upgrade("/ws", bearer);
    assert_eq!(status, 101, "{head}");
    assert!(body.contains("\"welcome\"") && body.contains("Gateway"), "{body}");

    // Browsers on an allowed origin may call the API; others get no CORS grant.
    let preflight = |origin: &str| {
        let origin = format!("Origin: {origin}");
        let args = ["-X", "OPTIONS", "-H", &origin, "-H", "Access-Control-Request-Method: GET"];
        proxy.curl("/api/v1/encounters", &args).1
    };
    assert!(
        preflight("https://app.example.com").contains("access-control-allow-origin: https://app.example.com")
    );
    assert!(!preflight("https://evil.example.com").contains("access-control-allow-origin"));

    // A client cannot choose the address it is recorded under: the entry point
    // overwrites X-Forwarded-For, and the API believes it from the proxy only.
    let request_id = unique("forged");
    let request_header = format!("X-Request-Id: {request_id}");
    let (status, head, _) = proxy
        .curl("/api/v1/encounters", &["-H", "X-Forwarded-For: 6.6.6.6", "-H", &request_header, "-H", bearer]);
    assert_eq!(status, 200);
    assert!(head.contains(&format!("x-request-id: {request_id}")), "the caller's request id passes: {head}");
    let mut line = String::new();
    until("the request is logged", Duration::from_secs(10), || {
        let log = std::fs::read_to_string(api_log.path()).unwrap();
        line = log.lines().find(|l| l.contains(&request_id)).unwrap_or_default().to_string();
        !line.is_empty()
    });
    assert!(line.contains("\"client\":\"127.0.0.1\"") && !line.contains("6.6.6.6"), "{line}");

    // The services' metrics are not public.
    assert_eq!(proxy.curl("/metrics", &[]).0, 404);
}

/// How many of `messages` are `"N<text>M"` with whole numbers N and M.
fn regex_like(messages: &[&str], text: &str) -> usize {
    messages
        .iter()
        .filter(|m| {
            m.split_once(text)
                .is_some_and(|(n, rest)| n.parse::<u32>().is_ok_and(|n| n > 0) && rest.parse::<i32>().is_ok())
        })
        .count()
}

/// The fields an answer must carry, each a JSON pointer.
fn has(answer: &serde_json::Value, pointers: &[&str], what: &str) {
    for pointer in pointers {
        assert!(answer.pointer(pointer).is_some_and(|v| !v.is_null()), "{what}: no {pointer} in {answer}");
    }
}

/// Every request `../shared/spec/api.md` shows, through the TLS entry point, as its users
/// would send them, checked for status and shape; then the instance's administration as
/// an operator uses it (an instance-admin key made with the CLI).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local broker and ClickHouse (deploy/local/test.sh)"]
async fn the_specifications_requests_answer_as_specified_through_the_entry_point() {
    let gateway = Gateway::start("Loothing", "upload,query,stream", "4g");
    let consumers_port = free_port();
    let _consumers = ConsumerProcess::start_all(
        &unique("seed"),
        "seed-1",
        &clickhouse(),
        &gateway.database,
        consumers_port,
    );

    // Health, as a load balancer and a person ask; metrics restricted.
    for path in ["/health", "/health/ready", "/health/live", "/health/detailed"] {
        let (status, _, answer) = gateway.get(path);
        assert_eq!(status, 200, "{path}: {answer}");
        has(&answer, &["/status", "/service", "/timestamp"], path);
    }
    assert_eq!(gateway.get("/health").2["service"], "query-api");
    // The consumers' own health, on their internal port: the same shape.
    until("the consumers serve their health", Duration::from_secs(60), || {
        probe::http_get(consumers_port, "/health/live").0 == 200
    });
    let (status, body) = probe::http_get(consumers_port, "/health");
    let consumers: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    has(
        &consumers,
        &["/status", "/service", "/timestamp", "/database", "/components/clickhouse/status"],
        "consumers",
    );
    assert_eq!(consumers["service"], "consumers", "{body}");
    has(
        &gateway.get("/health/detailed").2,
        &["/components/clickhouse/status", "/components/kafka/status"],
        "detailed",
    );
    assert_eq!(gateway.get("/metrics").0, 404, "/metrics is not public");
    // Grafana is behind the same entry point at /grafana/; none runs here, so its pages
    // answer as any service that is down does (502, the one error shape), with HSTS.
    let (status, head, answer) = gateway.get("/grafana/");
    assert_eq!((status, answer["error"]["code"].as_str()), (502, Some("unavailable")), "{answer}");
    assert!(head.to_ascii_lowercase().contains("strict-transport-security"), "{head}");
    let (status, head, _) = gateway.get("/grafana");
    assert!(status == 301 && head.contains("/grafana/"), "{status} {head}");

    // The upload: multipart field `file`.
    let log = fresh_copy_of("classic_sod_1.15.1_gnomeregan_raid.txt");
    let form = format!("file=@{};filename=WoWCombatLog.txt", log.display());
    let (status, _, body) =
        gateway.proxy.curl("/api/v1/logs/upload", &["-H", &gateway.bearer, "-F", &form, "-F", "year=2024"]);
    assert_eq!(status, 202, "{body}");
    let upload: serde_json::Value = serde_json::from_str(&body).unwrap();
    has(&upload, &["/upload_id", "/guild_id", "/guild_name", "/file_name", "/status", "/message"], "upload");
    let upload_id = upload["upload_id"].as_str().unwrap();
    assert_eq!(
        (upload["guild_name"].as_str(), upload["status"].as_str()),
        (Some("Loothing"), Some("processing"))
    );
    assert_eq!(upload["file_name"], "WoWCombatLog.txt");
    assert_eq!(upload["message"], format!("File uploaded successfully for Loothing. Upload ID: {upload_id}"));
    // (By its log id: the shared broker also holds other runs' logs of the same guild
    // id, which the consumers bring into this database too.)
    let log_id = upload["log_ids"][0].as_i64().unwrap();
    until("the raid's fight is queryable", Duration::from_secs(180), || {
        gateway.get(&format!("/api/v1/encounters?log_id={log_id}&limit=1")).2["data"]["total"].as_u64()
            == Some(1)
    });

    // Encounters with `limit` as the documentation uses it: 1, 5 and 10.
    for limit in [1, 5, 10] {
        let (status, _, answer) = gateway.get(&format!("/api/v1/encounters?limit={limit}"));
        assert_eq!(status, 200, "{answer}");
        has(
            &answer,
            &["/guild_id", "/guild_name", "/data/encounters", "/data/total", "/pagination"],
            "encounters",
        );
        assert!(answer["data"]["encounters"].as_array().unwrap().len() <= limit);
        assert_eq!(answer["guild_id"].as_i64(), gateway.guild.parse().ok());
    }
    let (status, _, found) = gateway.get("/api/v1/encounters/search?boss_name=Thermaplugg");
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["data"]["encounters"][0]["name"], "Mekgineer Thermaplugg", "{found}");
    let (status, _, stats) = gateway.get("/api/v1/encounters/stats");
    assert_eq!(status, 200, "{stats}");
    has(
        &stats,
        &[
            "/guild_id",
            "/guild_name",
            "/statistics/total_encounters",
            "/statistics/unique_bosses",
            "/statistics/active_characters",
            "/statistics/last_activity",
        ],
        "stats",
    );
    assert!(stats["statistics"]["total_encounters"].as_u64() >= Some(1), "{stats}");

    // Exports: everything, and one encounter.
    let (status, head, all) = gateway.get("/api/v1/encounters/export?format=json");
    assert_eq!(status, 200, "{head}");
    assert_eq!(all["guild_name"], "Loothing");
    assert!(!all["encounters"].as_array().unwrap().is_empty(), "{all}");
    let id = found["data"]["encounters"][0]["id"].as_str().unwrap();
    let (status, head, one) = gateway.get(&format!("/api/v1/encounters/{id}/export"));
    assert_eq!(status, 200, "{head}");
    assert_eq!(one["data"]["encounter"]["id"], id, "{one}");

    // The WebSocket stream, authenticated like the API: its welcome names the guild.
    let (status, head, welcome) = gateway.proxy.upgrade("/ws", &gateway.bearer);
    assert_eq!(status, 101, "{head}");
    // The first frame (more may follow within the 3 s read: the feed is live).
    let json = &welcome[welcome.find('{').expect("a JSON frame")..];
    let welcome: serde_json::Value =
        serde_json::Deserializer::from_str(json).into_iter().next().expect("a frame").unwrap();
    assert_eq!(
        (welcome["type"].as_str(), welcome["guild_name"].as_str()),
        (Some("welcome"), Some("Loothing"))
    );
    assert_eq!(welcome["guild_id"].as_i64(), gateway.guild.parse().ok());

    // The documentation pages (tests/browser.rs renders them).
    for page in ["/docs/", "/redoc", "/reference"] {
        let (status, head, _) = gateway.proxy.curl(page, &[]);
        assert!(status == 200 && head.contains("content-type: text/html"), "{page}: {head}");
    }
    let (status, _, document) = gateway.proxy.curl("/openapi.json", &[]);
    assert!(status == 200 && document.contains("\"/api/v1/logs/upload\""), "one document, uploads included");

    // A key nobody issued: refused, and audited below.
    let bogus = format!("wl_{}", "7".repeat(64));
    let bogus_id = wowlogs_tenancy::key_id(&bogus);
    let (status, _, _) =
        gateway.proxy.curl("/api/v1/encounters", &["-H", &format!("Authorization: Bearer {bogus}")]);
    assert_eq!(status, 401);

    // Administrators: an instance-admin key lists every guild with the specified fields.
    let root = run(wowlogs().args(["api-key", "create", "--instance-admin"]).args(gateway.store_args()));
    let root = format!("Authorization: Bearer {}", root.trim());
    let admin_get = |path: &str| {
        let (status, head, body) = gateway.proxy.curl(path, &["-H", &root]);
        assert_eq!(status, 200, "{path}: {head}{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    until("the services read the new key", Duration::from_secs(10), || {
        gateway.proxy.curl("/api/v1/admin/guilds", &["-H", &root]).0 == 200
    });
    let guilds = admin_get("/api/v1/admin/guilds");
    let listed = guilds["data"]["guilds"].as_array().unwrap();
    let ours =
        listed.iter().find(|g| g["guild_id"].as_i64() == gateway.guild.parse().ok()).expect("our guild");
    has(
        ours,
        &[
            "/guild_id",
            "/guild_name",
            "/server",
            "/region",
            "/faction",
            "/total_encounters",
            "/total_characters",
        ],
        "admin guild list",
    );
    assert!(ours["last_activity"].is_string() && ours["total_encounters"].as_u64() >= Some(1), "{ours}");
    let times: Vec<Option<&str>> = listed.iter().map(|g| g["last_activity"].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest activity first: {times:?}");
    let one = admin_get(&format!("/api/v1/admin/guilds/{}", gateway.guild));
    assert_eq!(
        (one["guild_id"].as_i64(), one["guild_name"].as_str()),
        (gateway.guild.parse().ok(), Some("Loothing"))
    );
    let activity = admin_get(&format!("/api/v1/admin/guilds/{}/activity?days=30", gateway.guild));
    let today = &activity["data"]["activity"].as_array().unwrap().last().cloned().expect("today's activity");
    has(
        today,
        &["/activity_date", "/encounters", "/unique_bosses", "/total_minutes", "/uploads"],
        "activity",
    );
    // Everywhere else the instance's key is refused: it belongs to no guild.
    let (status, _, body) = gateway.proxy.curl("/api/v1/encounters", &["-H", &root]);
    assert!(status == 403 && body.contains("/api/v1/admin/"), "{status} {body}");

    // The upload is on the guild's audit trail, with the client's address as the entry
    // point saw it and the request's id.
    let audit = admin_get(&format!("/api/v1/admin/audit?guild_id={}&action=upload.", gateway.guild));
    let entry = &audit["data"]["entries"][0];
    assert_eq!(entry["action"], "upload.accepted", "{audit}");
    assert!(entry["detail"].as_str().unwrap().contains("file=WoWCombatLog.txt"), "{entry}");
    assert_eq!(entry["remote_addr"], "127.0.0.1");
    assert!(!entry["request_id"].as_str().unwrap().is_empty(), "{entry}");

    // Refused keys are on the instance's trail (once a minute per address, named by
    // their id, never written): the first refusal of this run, sent above.
    until("the refused key is audited", Duration::from_secs(10), || {
        let refused = admin_get("/api/v1/admin/audit?guild_id=0&action=auth.refused");
        refused["data"]["entries"].as_array().unwrap().iter().any(|e| e["target"] == bogus_id.as_str())
    });

    // The guild progress plan (the section "Guild progress"; after the refused key's
    // audit above: refusals are audited once a minute per address): a member (the gateway's
    // `query` key), an officer and the guild master, each with a key made with the CLI.
    let key = |permissions: &str| {
        let made = run(wowlogs()
            .args(["api-key", "create", "--guild", &gateway.guild, "--permissions", permissions])
            .args(gateway.store_args()));
        format!("Authorization: Bearer {}", made.trim())
    };
    let (officer, master) = (key("officer"), key("admin"));
    until("the services read the new keys", Duration::from_secs(10), || {
        gateway.proxy.curl(&format!("/api/v1/guilds/{}/progress/members", gateway.guild), &["-H", &master]).0
            == 200
    });
    let progress = |path: &str| format!("/api/v1/guilds/{}/progress/{path}", gateway.guild);
    let as_json = |body: &str| serde_json::from_str::<serde_json::Value>(body).unwrap_or_default();
    let put = |path: &str, auth: &str, body: &str| {
        let (status, _, answer) = gateway.proxy.curl(
            &progress(path),
            &["-X", "PUT", "-H", auth, "-H", "Content-Type: application/json", "--data", body],
        );
        (status, as_json(&answer))
    };
    // The roster, as a guild master pastes it (a CSV): the Gnomeregan raiders. (Without
    // one, raiders of two days or more stand in, and the shared broker brings other
    // runs' logs of this guild id into this database.)
    let (status, _, roster) = gateway.proxy.curl(
        &progress("roster"),
        &[
            "-X",
            "PUT",
            "-H",
            &master,
            "-H",
            "Content-Type: text/csv",
            "--data-binary",
            "character,rank,main\nFlakeshock-CrusaderStrike,0,\nMeerah-CrusaderStrike,1,\nWauro-CrusaderStrike,2,\n\
             Grepe-CrusaderStrike,2,\nRexas-CrusaderStrike,3,Meerah-CrusaderStrike\n",
        ],
    );
    assert_eq!(status, 200, "{roster}");
    // The Gnomeregan raiders' item levels are 40-46: a target of 45 puts some behind.
    let (status, roadmap) = put(
        "roadmap",
        &master,
        r#"{"targets":[{"week_start":"2020-01-07","item_level":45,"label":"Gnomeregan"}]}"#,
    );
    assert_eq!(status, 200, "{roadmap}");
    let (status, _, characters) = gateway.get(&progress("characters"));
    assert_eq!(status, 200, "{characters}");
    has(
        &characters,
        &["/guild_id", "/guild_name", "/data/characters/0/item_level", "/data/target"],
        "characters",
    );
    let messages: Vec<&str> = characters["data"]["characters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["message"].as_str())
        .collect();
    let behind = regex_like(&messages, " iLvl behind. Target: 45, Current: ");
    let ahead = messages.iter().filter(|m| m.starts_with("Ahead of schedule! Target: 45, Current: ")).count();
    assert!(behind > 0 && behind + ahead == messages.len(), "the specification's two messages: {messages:?}");
    let name = characters["data"]["characters"][0]["name"].as_str().unwrap().to_string();
    let (status, _, one) = gateway.get(&progress(&format!("character/{name}?realm=crusader-strike")));
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["data"]["item_level_source"], "calculated from equipped items");
    let levels: Vec<i64> = one["data"]["gear_priorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["item_level"].as_i64().unwrap())
        .collect();
    assert!(!levels.is_empty() && levels.windows(2).all(|w| w[0] <= w[1]), "lowest first: {levels:?}");
    assert_eq!(gateway.get(&progress("character/Nobody?realm=area-52")).0, 404);
    assert_eq!(gateway.get(&progress("members?sort=ilvl")).0, 403, "a member's key");
    let (status, _, overview) = gateway
        .proxy
        .curl(&progress("members?sort=ilvl&class=Warrior&role=Tank&status=behind"), &["-H", &officer]);
    assert_eq!(status, 200, "{overview}");
    let (status, _, overview) = gateway.proxy.curl(&progress("members?sort=ilvl"), &["-H", &officer]);
    let overview = as_json(&overview);
    assert_eq!(status, 200, "{overview}");
    let statuses: Vec<&str> = overview["data"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert!(statuses.iter().all(|s| ["On Track", "Behind"].contains(s)), "{statuses:?}");
    assert_eq!(put("message", &gateway.bearer, r#"{"message": "Focus on DPS!"}"#).0, 403);
    assert_eq!(put("message", &officer, r#"{"message": "Focus on DPS!"}"#).0, 403);
    assert_eq!(put("message", &master, r#"{"message": "Focus on DPS!"}"#).0, 200);
    let (status, _, message) = gateway.get(&progress("message"));
    assert_eq!((status, message["data"]["message"].as_str()), (200, Some("Focus on DPS!")), "{message}");
    let (status, _, roadmap) = gateway.get(&progress("roadmap"));
    assert_eq!((status, roadmap["data"]["targets"][0]["item_level"].as_i64()), (200, Some(45)), "{roadmap}");
    let (status, _, compared) = gateway.get(&progress("comparisons?guild_name=Test&realm=area-52&region=us"));
    assert_eq!(status, 200, "{compared}");
    has(&compared, &["/data/guild/median_item_level", "/data/sharing"], "comparisons");
    let other = format!("/api/v1/guilds/{}/progress/characters", gateway.guild.parse::<i64>().unwrap() + 1);
    assert_eq!(gateway.get(&other).0, 403, "another guild's id");

    // Deactivating the guild stops its keys within 5 s, uploads included, with the
    // reason; its data stays; reactivating brings them back.
    let post = |path: &str| gateway.proxy.curl(path, &["-X", "POST", "-H", &root]);
    let (status, _, body) = post(&format!("/api/v1/admin/guilds/{}/deactivate", gateway.guild));
    assert_eq!(status, 200, "{body}");
    let deactivated = std::time::Instant::now();
    let copy = fresh_copy_of("retail_sl_9.2_raid_wipe_snippet.txt");
    let form = format!("file=@{}", copy.display());
    let mut refusal = String::new();
    until("the guild's keys are refused by both services", Duration::from_secs(5), || {
        let (status, _, body) =
            gateway.proxy.curl("/api/v1/logs/upload", &["-H", &gateway.bearer, "-F", &form]);
        refusal = body;
        status == 403 && gateway.get("/api/v1/encounters").0 == 403
    });
    println!("deactivation took effect after {} ms", deactivated.elapsed().as_millis());
    assert!(refusal.contains("guild_deactivated") && refusal.contains("Loothing"), "{refusal}");
    let kept = admin_get(&format!("/api/v1/admin/guilds/{}", gateway.guild));
    assert!(kept["data"]["total_encounters"].as_u64() >= Some(1), "the data is kept: {kept}");
    let (status, _, body) = post(&format!("/api/v1/admin/guilds/{}/reactivate", gateway.guild));
    assert_eq!(status, 200, "{body}");
    until("the guild's keys work again", Duration::from_secs(5), || {
        gateway.get("/api/v1/encounters").0 == 200
    });

    // Everything the guild owns, exported; its key rotated; then the guild purged.
    let (status, _, full) =
        gateway.proxy.curl("/api/v1/encounters/export?format=ndjson&full=true", &["-H", &gateway.bearer]);
    assert_eq!(status, 200, "{full}");
    let first: serde_json::Value = serde_json::from_str(full.lines().next().unwrap()).unwrap();
    assert!(first["data"]["players"].as_array().is_some_and(|p| !p.is_empty()), "{first}");
    let own = wowlogs_tenancy::key_id(gateway.bearer.trim_start_matches("Authorization: Bearer "));
    let (status, _, body) =
        post(&format!("/api/v1/admin/guilds/{}/keys/{own}/rotate?overlap_hours=1", gateway.guild));
    assert_eq!(status, 201, "{body}");
    let rotated: serde_json::Value = serde_json::from_str(&body).unwrap();
    let new_bearer = format!("Authorization: Bearer {}", rotated["data"]["key"].as_str().unwrap());
    until("the rotated key works", Duration::from_secs(5), || {
        gateway.proxy.curl("/api/v1/encounters", &["-H", &new_bearer]).0 == 200
    });
    assert_eq!(gateway.get("/api/v1/encounters").0, 200, "the old key works for the overlap");
    let purge = |dry_run: bool| {
        let body = format!(r#"{{"reason":"the entry test","dry_run":{dry_run}}}"#);
        let path = format!("/api/v1/admin/guilds/{}/purge", gateway.guild);
        gateway
            .proxy
            .curl(&path, &["-X", "POST", "-H", &root, "-H", "Content-Type: application/json", "-d", &body])
    };
    let (status, _, dry) = purge(true);
    assert!(status == 200 && dry.contains("\"combat_events\""), "{status} {dry}");
    assert_eq!(purge(false).0, 409, "an active guild is deactivated first");
    assert_eq!(post(&format!("/api/v1/admin/guilds/{}/deactivate", gateway.guild)).0, 200);
    let (status, _, done) = purge(false);
    assert_eq!(status, 200, "{done}");
    let (status, _, _) =
        gateway.proxy.curl(&format!("/api/v1/admin/guilds/{}", gateway.guild), &["-H", &root]);
    assert_eq!(status, 404, "the guild is gone");
    until("the purged guild's keys are refused", Duration::from_secs(5), || {
        gateway.proxy.curl("/api/v1/encounters", &["-H", &new_bearer]).0 == 401
    });
    let _ = std::fs::remove_file(copy);
    let _ = std::fs::remove_file(log);
}

/// schemathesis, from the checks' venv (`deploy/checks/stack.sh` installs it; or
/// `WOWLOGS_SCHEMATHESIS`).
fn schemathesis() -> PathBuf {
    std::env::var_os("WOWLOGS_SCHEMATHESIS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/wowlogs/checks-venv/bin/schemathesis")
    })
}

/// The OpenAPI document tells the truth: schemathesis generates requests from it (valid
/// and invalid), sends them through the TLS entry point with a key holding every
/// permission, and checks every answer against the document with all its checks. `/ws`
/// is left out: schemathesis speaks no WebSocket (the live tests cover it).
#[test]
#[ignore = "needs the local broker and ClickHouse (deploy/local/test.sh)"]
fn schemathesis_finds_nothing_the_document_does_not_say_through_the_entry_point() {
    let gateway = Gateway::start("Fuzzed", "upload,query,stream,admin", "4g");
    let tool = schemathesis();
    assert!(tool.exists(), "{} is missing: run deploy/checks/stack.sh", tool.display());
    // Its cache of earlier failures goes to a folder of this run, not the repository.
    let workdir = tempfile::tempdir().unwrap();
    let output = Command::new(&tool)
        .current_dir(workdir.path())
        .arg("--config-file")
        .arg(repo().join("deploy/checks/schemathesis.toml"))
        .args(["run", &format!("https://127.0.0.1:{}/openapi.json", gateway.proxy.https)])
        .args(["-H", &gateway.bearer, "--tls-verify"])
        .arg(gateway.proxy.cert())
        .args(["--checks", "all", "--exclude-path", "/ws", "--max-examples", "30", "--seed", "20261202"])
        .args(["--no-color"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    let summary = report.find("SUMMARY").map_or(&report[..], |at| &report[at..]);
    println!("{summary}");
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
