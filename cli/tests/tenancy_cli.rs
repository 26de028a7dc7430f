//! `wowlogs guild` and `wowlogs api-key` against the real local ClickHouse
//! (`WOWLOGS_TEST_CLICKHOUSE`, started by `deploy/local/test.sh`).

mod support;

use support::probe::{free_port, http_get_with};
use support::{clickhouse, http_service, run, unique, wowlogs};

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn a_key_is_printed_once_listed_by_id_and_revoked() {
    let database = unique("wowlogs_test_tenancy_cli");
    let cli = |args: &[&str]| {
        let mut command = wowlogs();
        command.args(args).args(["--clickhouse-url", &clickhouse(), "--database", &database]);
        command
    };
    let created =
        run(&mut cli(&["guild", "create", "--name", "Loothing", "--server", "Stormrage", "--region", "US"]));
    assert_eq!(created.trim(), "created guild 2 \"Loothing\"");
    let key = run(&mut cli(&[
        "api-key",
        "create",
        "--guild",
        "2",
        "--permissions",
        "upload,query",
        "--description",
        "ci",
    ]));
    let key = key.trim();
    assert!(key.starts_with("wl_") && key.len() == 67, "standard output is the key alone: {key:?}");
    let key_id = wowlogs_tenancy::key_id(key);

    let listed = run(&mut cli(&["api-key", "list", "--guild", "2"]));
    assert!(listed.contains(&key_id) && listed.contains("active"), "{listed}");
    assert!(!listed.contains(&key[3..]), "the key is never shown again");

    run(&mut cli(&["api-key", "revoke", &key_id]));
    assert!(run(&mut cli(&["api-key", "list"])).contains("revoked"));

    let refused = cli(&["api-key", "create", "--guild", "42", "--permissions", "query"]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("guild 42 does not exist"));
}

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn operators_administer_guilds_and_instance_keys_from_the_command_line() {
    let database = unique("wowlogs_test_guild_cli");
    let cli = |args: &[&str]| {
        let mut command = wowlogs();
        command.args(args).args(["--clickhouse-url", &clickhouse(), "--database", &database]);
        command
    };
    let failure = |args: &[&str]| {
        let output = cli(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    run(&mut cli(&["guild", "create", "--name", "Loothing", "--server", "Stormrage", "--region", "US"]));
    let twin = failure(&["guild", "create", "--name", "LOOTHING", "--server", "Stormrage", "--region", "US"]);
    assert!(twin.contains("guild 2 already has the name"), "{twin}");
    run(&mut cli(&[
        "guild",
        "update",
        "2",
        "--timezone",
        "Europe/Paris",
        "--settings",
        r#"{"loot":"council"}"#,
    ]));
    assert!(failure(&["guild", "update", "2", "--settings", "[]"]).contains("JSON object"));
    let shown = run(&mut cli(&["guild", "show", "2"]));
    assert!(shown.contains("Europe/Paris") && shown.contains(r#"{"loot":"council"}"#), "{shown}");
    let deactivated = run(&mut cli(&["guild", "deactivate", "2"]));
    assert!(deactivated.contains("deactivated") && deactivated.contains("data is kept"), "{deactivated}");
    assert!(
        run(&mut cli(&["guild", "list"])).lines().any(|l| l.contains("Loothing") && l.ends_with("false"))
    );
    run(&mut cli(&["guild", "reactivate", "2"]));

    let root = cli(&["api-key", "create", "--instance-admin", "--description", "ops"]).output().unwrap();
    assert!(root.status.success());
    assert!(String::from_utf8_lossy(&root.stderr).contains("the instance (administration only)"));
    assert!(String::from_utf8_lossy(&root.stdout).trim().starts_with("wl_"));
    let mixed = failure(&["api-key", "create", "--instance-admin", "--guild", "2", "--permissions", "query"]);
    assert!(mixed.contains("cannot be used with"), "{mixed}");
    let sneaky = failure(&["api-key", "create", "--guild", "2", "--permissions", "query,instance_admin"]);
    assert!(sneaky.contains("holds `instance_admin` alone"), "{sneaky}");
    let listed = run(&mut cli(&["api-key", "list"]));
    assert!(listed.lines().any(|l| l.contains("instance_admin") && l.contains(" 0 ")), "{listed}");
}

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn a_full_export_file_is_imported_into_a_guild_once_and_audited() {
    let database = unique("wowlogs_test_import_cli");
    let cli = |args: &[&str]| {
        let mut command = wowlogs();
        command.args(args).args(["--clickhouse-url", &clickhouse(), "--database", &database]);
        command
    };
    run(&mut cli(&["guild", "create", "--name", "Newcomers"]));
    // One NDJSON line as `GET /api/v1/encounters/export?format=ndjson&full=true` writes it:
    // a wipe with one player and one death (the export's every field; the importer reads
    // what it needs).
    let line = r#"{"guild_id":41,"guild_name":"Elsewhere","data":{"id":"123","log_id":"77","upload_id":"u-77",
        "kind":"encounter","name":"Plexus Sentinel","encounter_id":3129,"difficulty":16,"difficulty_name":"Mythic",
        "group_size":20,"instance_id":2810,"zone_name":"Manaforge Omega","boss_pct":41.5,"boss_pct_missing":null,
        "kill":false,"outcome":"wipe","complete":true,"start":"2025-08-20T19:00:00.000Z","start_ms":1755716400000,
        "end_ms":1755716520000,"duration_ms":120000,"key_level":null,"affixes":[],"match_type":null,"round":null,
        "rounds_won":null,"start_line":10,"end_line":9000,"parent_start_line":null,
        "players":[{"player_guid":"Player-1-0001","name":"Ada-Stormrage-US","class":"Mage","spec_id":63,
        "item_level":700.5,"damage_done":5000000,"healing_done":0,"overhealing":0,"absorbs_done":0,
        "damage_taken":900000,"deaths":1,"casts":80,"dps":41666.7,"hps":0.0,"interrupts":2,"dispels":0}],
        "deaths":[{"line":8000,"timestamp_ms":1755716500000,"fight_time_ms":100000,"player_guid":"Player-1-0001",
        "player_name":"Ada-Stormrage-US","ability":"Obliteration Arcanocannon","spell_id":1219450,
        "source_guid":"Creature-0-1-2810-1-233814-1","source_name":"Plexus Sentinel","amount":2000000,
        "overkill":150000}],"rounds":[]}}"#;
    let file = std::env::temp_dir().join(unique("export") + ".ndjson");
    std::fs::write(&file, line.replace('\n', "") + "\n").unwrap();
    let path = file.to_str().unwrap();
    let first = run(&mut cli(&["guild", "import-export", "2", path, "--quiet"]));
    assert!(
        first.contains("imported into guild 2: 1 fights, 0 rounds, 1 player lines, 1 deaths from 1 logs"),
        "{first}"
    );
    let again = run(&mut cli(&["guild", "import-export", "2", path, "--quiet"]));
    assert!(again.contains("0 fights") && again.contains("1 fights it had already"), "{again}");
    let failure = |args: &[&str]| {
        let output = cli(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(failure(&["guild", "import-export", "42", path]).contains("no guild 42"));
    let other = std::env::temp_dir().join(unique("not-an-export") + ".json");
    std::fs::write(&other, r#"{"guild_id":2,"items":[]}"#).unwrap();
    let refused = failure(&["guild", "import-export", "2", other.to_str().unwrap()]);
    assert!(refused.contains("not a full export"), "{refused}");
    let client = wowlogs_store::StoreSettings::new(clickhouse(), database).client();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let imports: Vec<String> = runtime
        .block_on(
            client
                .query("SELECT detail FROM audit_log WHERE guild_id = 2 AND action = 'encounters.import'")
                .fetch_all(),
        )
        .unwrap();
    assert_eq!(imports.len(), 2, "both runs are audited: {imports:?}");
    assert!(imports.iter().any(|d| d.contains("fights=1 ") && d.contains("already=0")), "{imports:?}");
    std::fs::remove_file(&file).unwrap();
    std::fs::remove_file(&other).unwrap();
}

/// Polls until `path` answers `want` for `key`, at most `limit`; the time it took.
fn until_status(
    port: u16,
    path: &str,
    key: &str,
    want: u16,
    limit: std::time::Duration,
) -> std::time::Duration {
    let started = std::time::Instant::now();
    loop {
        let got = http_get_with(port, path, &[("Authorization", &format!("Bearer {key}"))]).0;
        if got == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{path} answered {got}, not {want}, for {limit:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn a_key_revoked_with_the_cli_stops_working_on_the_running_upload_service_and_query_api_within_five_seconds()
{
    let database = unique("wowlogs_test_revocation");
    let store = ["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), database.clone()];
    run(wowlogs().args(["migrate"]).args(&store));
    let key = run(wowlogs()
        .args(["api-key", "create", "--guild", "1", "--permissions", "upload,query"])
        .args(&store));
    let key = key.trim().to_string();
    let (upload_port, api_port) = (free_port(), free_port());
    let mut services = [
        http_service("serve", upload_port, &store).spawn().unwrap(),
        http_service("query-api", api_port, &store).spawn().unwrap(),
    ];
    let minute = std::time::Duration::from_secs(60);
    // Authenticated: an unknown upload is 404, the stats 200.
    until_status(upload_port, "/api/v1/uploads/none", &key, 404, minute);
    until_status(api_port, "/api/v1/encounters/stats", &key, 200, minute);

    run(wowlogs().args(["api-key", "revoke", &wowlogs_tenancy::key_id(&key)]).args(&store));
    let five = std::time::Duration::from_secs(5);
    let upload = until_status(upload_port, "/api/v1/uploads/none", &key, 401, five);
    let api = until_status(api_port, "/api/v1/encounters/stats", &key, 401, five);
    eprintln!("revocation took effect after {upload:?} (upload service) and {api:?} (query API)");
    for service in &mut services {
        service.kill().unwrap();
        service.wait().unwrap();
    }
}

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn a_guilds_grafana_organisation_needs_grafanas_password_and_a_grafana_that_answers() {
    let database = unique("wowlogs_test_grafana_cli");
    let users_dir = std::env::var("WOWLOGS_TEST_CLICKHOUSE_USERS_DIR").expect("the server's users.d");
    let cli = |args: &[&str]| {
        let mut command = wowlogs();
        command.args(args).args(["--clickhouse-url", &clickhouse(), "--database", &database]);
        command.env_remove("WOWLOGS_GRAFANA_PASSWORD").env("WOWLOGS_CLICKHOUSE_USERS_DIR", &users_dir);
        command
    };
    let failure = |args: &[&str]| {
        let output = cli(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(output.stdout.is_empty(), "no password printed by a failed grant");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    run(&mut cli(&["migrate"]));
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let grant = ["grafana", "grant", "--guild", "2", "--grafana-url", nowhere.as_str()];
    assert!(failure(&grant).contains("needs Grafana's administrator password"));
    let mut with_password = grant.to_vec();
    with_password.extend(["--grafana-password", "admin"]);
    let unreachable = failure(&with_password);
    assert!(unreachable.contains("making guild 2's Grafana organisation"), "{unreachable}");
    // The ClickHouse side was given first, and is taken away as usual.
    assert!(run(&mut cli(&["grafana", "revoke", "--guild", "2"])).contains("\"revoked\""));
}

#[test]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
fn deactivating_a_guild_stops_its_upload_in_flight_within_seconds_and_says_why() {
    let database = unique("wowlogs_test_deactivation");
    let store = ["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), database.clone()];
    run(wowlogs().args(["migrate"]).args(&store));
    let (guild, bearer) = support::guild_with_key(&store, "Going Dark", "upload,query");
    let port = free_port();
    // 12,000 events a minute for the guild (a minute's worth at once, then 200 a second):
    // the 100,000-line raid would take about 7 minutes.
    let _service = support::Service(
        http_service("serve", port, &store).env("WOWLOGS_GUILD_EVENTS_PER_MINUTE", "12000").spawn().unwrap(),
    );
    let minute = std::time::Duration::from_secs(60);
    until_status(port, "/api/v1/uploads/none", bearer.trim_start_matches("Bearer "), 404, minute);
    let copy = support::fresh_copy_of("retail_midnight_12.0_raid_manaforge_soul_hunters_kill_slice.txt");
    let output = std::process::Command::new("curl")
        .args(["-s", "-H", &format!("Authorization: {bearer}"), "-F"])
        .arg(format!("file=@{}", copy.display()))
        .arg(format!("http://127.0.0.1:{port}/api/v1/logs/upload"))
        .output()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let upload_id = answer["upload_id"].as_str().unwrap_or_else(|| panic!("{answer}")).to_string();
    let status = || {
        let (_, body) =
            http_get_with(port, &format!("/api/v1/uploads/{upload_id}"), &[("Authorization", &bearer)]);
        serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default()
    };
    let started = std::time::Instant::now();
    while status()["logs"][0]["events"].as_i64().unwrap_or(0) == 0 {
        assert!(started.elapsed() < minute, "the upload never started: {}", status());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    let deactivated_ms = wowlogs_schemas::now_ms();
    run(wowlogs().args(["guild", "deactivate", &guild.to_string()]).args(&store));
    // The guild's key is refused while it is deactivated (its upload's status too):
    // look again once it is reactivated.
    std::thread::sleep(std::time::Duration::from_secs(12));
    run(wowlogs().args(["guild", "reactivate", &guild.to_string()]).args(&store));
    let mut ended = status();
    let reactivated = std::time::Instant::now();
    while ended["status"].as_str().is_none_or(|s| s == "processing") {
        assert!(reactivated.elapsed() < minute, "no outcome: {ended}");
        std::thread::sleep(std::time::Duration::from_millis(200));
        ended = status();
    }
    let log = &ended["logs"][0];
    let took = log["timestamp_ms"].as_i64().unwrap() - deactivated_ms;
    eprintln!("the upload stopped {took} ms after the deactivation");
    assert!(took < 10_000, "it stopped {took} ms after the deactivation: {ended}");
    assert_eq!(
        (ended["status"].as_str(), log["state"].as_str()),
        (Some("failed"), Some("failed")),
        "{ended}"
    );
    assert!(log["reason"].as_str().unwrap_or("").contains("deactivated"), "{ended}");
    assert!(log["lines"].as_i64().unwrap() < 100_000, "it stopped before the end: {ended}");
    let _ = std::fs::remove_file(copy);
}
