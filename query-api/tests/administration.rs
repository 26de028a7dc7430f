//! The instance's administration over HTTP, against the real ClickHouse: creating and
//! changing guilds (unique by name, server and region; settings a JSON object; every
//! change audited with the key, address and request id) and moving encounters between
//! guilds (idempotent, both guilds' answers agree); purging a guild.

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{app, get, instance_key, send_json, tenant, world};

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn instance_admins_create_and_change_guilds_and_duplicates_are_refused() {
    let w = world();
    let root = instance_key(&w.store).await;
    let app = app().await;
    let created = send_json(
        &app,
        "POST",
        "/api/v1/admin/guilds",
        &root,
        json!({"guild_name": "Loot Council", "server": "Area 52", "region": "US", "faction": "Horde",
               "settings_json": {"raid_days": ["tue", "thu"], "loot": "council"}, "timezone": "America/New_York"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.json["guild_id"].as_i64().unwrap();
    assert_eq!(created.json["guild_name"], "Loot Council");
    assert_eq!(created.json["data"]["settings_json"]["loot"], "council");
    assert_eq!(
        (created.json["data"]["active"].as_bool(), created.json["data"]["total_encounters"].as_u64()),
        (Some(true), Some(0))
    );

    let twin = send_json(
        &app,
        "POST",
        "/api/v1/admin/guilds",
        &root,
        json!({"guild_name": "loot council", "server": "Area 52", "region": "US"}),
    )
    .await;
    assert_eq!(twin.status, StatusCode::CONFLICT, "{}", twin.text);
    assert!(
        twin.json["error"]["message"].as_str().unwrap().contains(&id.to_string()),
        "names the existing guild"
    );

    let patched = send_json(
        &app,
        "PATCH",
        &format!("/api/v1/admin/guilds/{id}"),
        &root,
        json!({"contact_info": "gm@example.org", "timezone": "Europe/Berlin"}),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(
        (patched.json["data"]["contact_info"].as_str(), patched.json["data"]["timezone"].as_str()),
        (Some("gm@example.org"), Some("Europe/Berlin"))
    );
    assert_eq!(patched.json["data"]["settings_json"]["loot"], "council", "fields left out stay");

    for (body, status) in [
        (json!({"timezone": "not a zone"}), StatusCode::BAD_REQUEST),
        (json!({"settings_json": [1, 2]}), StatusCode::BAD_REQUEST),
        (json!({"guild_name": ""}), StatusCode::BAD_REQUEST),
        (json!({"colour": "red"}), StatusCode::BAD_REQUEST),
        (json!({"guild_name": "x".repeat(129)}), StatusCode::BAD_REQUEST),
    ] {
        let answer =
            send_json(&app, "PATCH", &format!("/api/v1/admin/guilds/{id}"), &root, body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
        assert!(answer.json["error"]["message"].is_string(), "{body}: {}", answer.text);
    }
    let bare = send_json(&app, "POST", "/api/v1/admin/guilds", &root, Value::Null).await;
    assert_eq!(bare.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", bare.text);
    let nobody =
        send_json(&app, "PATCH", "/api/v1/admin/guilds/999999", &root, json!({"region": "EU"})).await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND, "{}", nobody.text);

    let audit = get(&app, &format!("/api/v1/admin/audit?guild_id={id}"), Some(&root)).await;
    let entries = audit.json["data"]["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["guild.update", "progress.seed", "guild.create"],
        "newest first, one entry per change"
    );
    assert!(
        entries
            .iter()
            .all(|e| e["request_id"] == "admin-test-request"
                && e["actor"].as_str().unwrap().starts_with("key-"))
    );
    assert!(entries[0]["detail"].as_str().unwrap().contains("timezone=Europe/Berlin"));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn encounters_move_between_guilds_once_and_both_guilds_see_it() {
    let w = world();
    let registry = wowlogs_tenancy::Registry::new(w.store.clone());
    let client = w.store.client();
    let giver =
        tenant(&registry, &client, "Transfer Source", &[("retail_sl_9.2_raid_wipe_snippet.txt", 9_401)])
            .await;
    let taker = tenant(&registry, &client, "Transfer Target", &[]).await;
    let root = instance_key(&w.store).await;
    let app = app().await;
    let moving = giver.fight_ids[0].to_string();
    let request = json!({"from_guild_id": giver.guild_id, "to_guild_id": taker.guild_id,
                         "encounter_ids": [moving, "123", "not-a-number"]});
    let moved = send_json(&app, "POST", "/api/v1/admin/encounters/transfer", &root, request.clone()).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.json["moved"][0]["from_id"], moving.as_str());
    let new_id = moved.json["moved"][0]["to_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, moving, "the fight id is the target guild's");
    assert_eq!(moved.json["unknown"], json!(["not-a-number", "123"]));

    let again = send_json(&app, "POST", "/api/v1/admin/encounters/transfer", &root, request).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json["moved"], json!([]), "a repeated transfer moves nothing");
    assert_eq!(again.json["already_moved"][0]["to_id"], new_id.as_str());

    let source = get(&app, &format!("/api/v1/encounters/{moving}"), Some(&giver.key)).await;
    assert_eq!(source.status, StatusCode::NOT_FOUND, "gone from the source guild");
    let target = get(&app, &format!("/api/v1/encounters/{new_id}"), Some(&taker.key)).await;
    assert_eq!(target.status, StatusCode::OK, "{}", target.text);
    assert!(!target.json["data"]["players"].as_array().unwrap().is_empty(), "with its players");
    let stats = get(&app, "/api/v1/encounters/stats", Some(&giver.key)).await;
    assert_eq!(
        stats.json["statistics"]["total_encounters"].as_u64(),
        Some(giver.fight_ids.len() as u64 - 1),
        "{}",
        stats.text
    );

    let back =
        json!({"from_guild_id": giver.guild_id, "to_guild_id": w.a.guild_id, "encounter_ids": [moving]});
    let elsewhere = send_json(&app, "POST", "/api/v1/admin/encounters/transfer", &root, back).await;
    assert_eq!(elsewhere.status, StatusCode::CONFLICT, "moved to another guild before: {}", elsewhere.text);

    for guild in [giver.guild_id, taker.guild_id] {
        let audit =
            get(&app, &format!("/api/v1/admin/audit?guild_id={guild}&action=encounters."), Some(&root)).await;
        let entries = audit.json["data"]["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "one entry on each guild's trail: {}", audit.text);
        assert!(entries[0]["detail"].as_str().unwrap().contains(&format!("{moving}->{new_id}")));
    }
    let guild_key = send_json(
        &app,
        "POST",
        "/api/v1/admin/encounters/transfer",
        &giver.key,
        json!({"from_guild_id": giver.guild_id, "to_guild_id": taker.guild_id, "encounter_ids": ["1"]}),
    )
    .await;
    assert_eq!(guild_key.status, StatusCode::FORBIDDEN, "a guild's admin key moves nothing");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn an_instance_admin_purges_a_deactivated_guild_after_a_dry_run_and_no_other_guild_loses_a_row() {
    let w = world();
    let registry = wowlogs_tenancy::Registry::new(w.store.clone());
    let client = w.store.client();
    let leaving =
        tenant(&registry, &client, "Leaving Guild", &[("retail_sl_9.2_raid_wipe_snippet.txt", 9_501)]).await;
    let root = instance_key(&w.store).await;
    let app = app().await;
    let path = format!("/api/v1/admin/guilds/{}/purge", leaving.guild_id);
    let rows_of = |guild: i64| {
        let client = client.clone();
        async move {
            let mut rows = 0;
            for table in ["combat_events", "encounters", "encounter_players", "logs", "api_keys", "guilds"] {
                rows += client
                    .query(&format!("SELECT count() FROM {table} WHERE guild_id = ?"))
                    .bind(guild)
                    .fetch_one::<u64>()
                    .await
                    .unwrap();
            }
            rows
        }
    };
    let others = rows_of(w.a.guild_id).await;
    let before = rows_of(leaving.guild_id).await;

    let by_guild_key = send_json(&app, "POST", &path, &leaving.key, json!({"reason": "x"})).await;
    assert_eq!(by_guild_key.status, StatusCode::FORBIDDEN, "a guild's own admin key purges nothing");
    let dry =
        send_json(&app, "POST", &path, &root, json!({"reason": "asked by the GM", "dry_run": true})).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    assert_eq!(dry.json["dry_run"], true);
    let listed = |answer: &Value, table: &str| {
        answer["tables"].as_array().unwrap().iter().find(|t| t["table"] == table).unwrap()["rows"].as_u64()
    };
    assert!(listed(&dry.json, "combat_events").unwrap() > 0, "{}", dry.text);
    assert_eq!(listed(&dry.json, "guilds"), Some(1), "{}", dry.text);
    assert_eq!(rows_of(leaving.guild_id).await, before, "a dry run changes nothing");

    let active = send_json(&app, "POST", &path, &root, json!({"reason": "asked by the GM"})).await;
    assert_eq!(active.status, StatusCode::CONFLICT, "an active guild is deactivated first: {}", active.text);
    assert!(active.json["error"]["message"].as_str().unwrap().contains("deactivate"), "{}", active.text);
    let no_reason = send_json(&app, "POST", &path, &root, json!({"reason": "  "})).await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST, "{}", no_reason.text);

    let deactivated = send_json(
        &app,
        "POST",
        &format!("/api/v1/admin/guilds/{}/deactivate", leaving.guild_id),
        &root,
        json!({}),
    )
    .await;
    assert_eq!(deactivated.status, StatusCode::OK, "{}", deactivated.text);
    let done = send_json(&app, "POST", &path, &root, json!({"reason": "asked by the GM"})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    // Stored rows, versions not merged yet included: the deactivation wrote the guild's
    // row once more since the dry run.
    assert_eq!(done.json["rows"].as_u64(), dry.json["rows"].as_u64().map(|n| n + 1), "{}", done.text);
    assert_eq!(rows_of(leaving.guild_id).await, 0, "nothing of the guild is left");
    assert_eq!(rows_of(w.a.guild_id).await, others, "another guild keeps every row");
    let details = get(&app, &format!("/api/v1/admin/guilds/{}", leaving.guild_id), Some(&root)).await;
    assert_eq!(details.status, StatusCode::NOT_FOUND, "the guild itself is gone: {}", details.text);
    // Its keys went with it (a service reads them afresh every few seconds; a new one now).
    let refused = get(&support::app().await, "/api/v1/encounters", Some(&leaving.key)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "its keys with it: {}", refused.text);
    let audit = get(
        &app,
        &format!("/api/v1/admin/audit?guild_id={}&action=guild.purge", leaving.guild_id),
        Some(&root),
    )
    .await;
    let entries = audit.json["data"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "the purge is on the guild's trail, which is kept: {}", audit.text);
    assert!(entries[0]["detail"].as_str().unwrap().contains("reason=asked by the GM"), "{}", audit.text);
    let again = send_json(&app, "POST", &path, &root, json!({"reason": "asked by the GM"})).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "a purged guild is no guild: {}", again.text);
}
