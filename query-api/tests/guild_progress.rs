//! The guild progress plan (`/api/v1/guilds/{guild_id}/progress/*`) on the test world's
//! real logs in the real ClickHouse: roles, the roster (Battle.net and CSV), targets,
//! item levels and gear priorities against a hand reading of the fixtures'
//! `COMBATANT_INFO` lines, the message and comparisons.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use support::{Answer, actor, app, get, send, send_json, world};
use wowlogs_tenancy::{KeySpec, Permission, Registry};

/// A key of `guild` with these permissions, and the service that knows it.
async fn key_with(guild: i64, permissions: Vec<Permission>) -> String {
    let spec = KeySpec {
        guild_id: guild,
        description: "progress test".into(),
        permissions,
        events_per_minute: 0,
        max_connections: 2,
    };
    Registry::new(world().store.clone()).create_key(&spec, &actor()).await.unwrap().0.plaintext
}

fn path(guild: i64, rest: &str) -> String {
    format!("/api/v1/guilds/{guild}/progress/{rest}")
}

async fn put_body(app: &axum::Router, uri: &str, key: &str, content_type: &str, body: &str) -> Answer {
    let request = Request::put(uri)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", content_type)
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}

/// Guild A's world is shared by the test binary: roster changes go to a guild of
/// their own, made here with the same fixtures.
async fn own_guild(name: &str) -> (i64, String) {
    // One at a time: the registry numbers a new guild max(id) + 1, which two creations
    // at once would share.
    static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = CREATING.lock().await;
    let client = world().store.client();
    let tenant = support::tenant(
        &Registry::new(world().store.clone()),
        &client,
        name,
        &[("retail_sl_9.2_raid_wipe_snippet.txt", 9_101), ("classic_sod_1.15.1_gnomeregan_raid.txt", 9_102)],
    )
    .await;
    (tenant.guild_id, tenant.key)
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn roles_member_officer_guild_master_another_guild_and_instance_admin() {
    let w = world();
    let a = w.a.guild_id;
    let member = key_with(a, vec![Permission::Query]).await;
    let officer = key_with(a, vec![Permission::Officer]).await;
    let master = key_with(a, vec![Permission::Admin]).await;
    let upload_only = w.a.upload_key.clone();
    let instance = support::instance_key(&w.store).await;
    let app = app().await;
    let reads = [
        ("characters", StatusCode::OK),
        ("character/Alexsmite?realm=twisting-nether", StatusCode::OK),
        ("message", StatusCode::OK),
        ("roadmap", StatusCode::OK),
        ("roster", StatusCode::OK),
        ("comparisons", StatusCode::OK),
    ];
    for (read, status) in reads {
        for (who, key) in [("member", &member), ("officer", &officer), ("guild master", &master)] {
            let answer = get(&app, &path(a, read), Some(key)).await;
            assert_eq!(answer.status, status, "{who} reads {read}: {}", answer.text);
        }
        for (who, key) in [
            ("another guild's key", &w.b.key),
            ("an instance admin", &instance),
            ("an upload key", &upload_only),
        ] {
            assert_eq!(
                get(&app, &path(a, read), Some(key)).await.status,
                StatusCode::FORBIDDEN,
                "{who} on {read}"
            );
        }
        assert_eq!(get(&app, &path(a, read), None).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(get(&app, &path(a, read), Some("wl_not_a_key")).await.status, StatusCode::UNAUTHORIZED);
    }
    // The officers' overview: officers and the guild master, never a member.
    assert_eq!(get(&app, &path(a, "members"), Some(&member)).await.status, StatusCode::FORBIDDEN);
    for key in [&officer, &master] {
        assert_eq!(get(&app, &path(a, "members?sort=ilvl"), Some(key)).await.status, StatusCode::OK);
    }
    // The guild master's writes.
    let message = json!({"message": "Focus on DPS!"});
    for (who, key) in [
        ("member", &member),
        ("officer", &officer),
        ("another guild", &w.b.key),
        ("instance admin", &instance),
    ] {
        let answer = send_json(&app, "PUT", &path(a, "message"), key, message.clone()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{who} writes the message: {}", answer.text);
    }
    let written = send_json(&app, "PUT", &path(a, "message"), &master, message).await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.text);
    assert_eq!(written.json["data"]["message"], "Focus on DPS!");
    // A key names only its own guild, even its guild master's.
    let b = w.b.guild_id;
    assert_eq!(get(&app, &path(b, "characters"), Some(&master)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &path(b, "members"), Some(&officer)).await.status, StatusCode::FORBIDDEN);
    let other = send_json(&app, "PUT", &path(b, "message"), &master, json!({"message": "hi"})).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
}

/// Alexsmite-TwistingNether's `COMBATANT_INFO` in the 9.2 raid snippet (line 9), read
/// by hand: 18 items (retail: no ranged slot, the 18th is the tabard). Counted, in
/// slot order: Head 252, Neck 252, Shoulder 252, (Shirt empty), Chest 249, Waist 249,
/// Legs 246, Feet 252, Wrist 259, Hands 249, Finger 1 262, Finger 2 252, Trinket 1 252,
/// Trinket 2 200, Back 252, Main Hand 252, (Off Hand empty); the tabard (19031,
/// item level 12) does not count. 15 items, 3,730 in all: 248.67.
const ALEXSMITE_GEAR: [(&str, i64, i64); 15] = [
    ("Trinket 2", 184842, 200),
    ("Legs", 185181, 246),
    ("Chest", 185165, 249),
    ("Waist", 185189, 249),
    ("Hands", 185175, 249),
    ("Head", 186287, 252),
    ("Neck", 189827, 252),
    ("Shoulder", 186286, 252),
    ("Feet", 186281, 252),
    ("Finger 2", 186375, 252),
    ("Trinket 1", 186423, 252),
    ("Back", 189815, 252),
    ("Main Hand", 186405, 252),
    ("Wrist", 186321, 259),
    ("Finger 1", 178926, 262),
];

fn gear(answer: &Value) -> Vec<(String, i64, i64)> {
    answer["data"]["gear_priorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["slot"].as_str().unwrap().to_string(),
                g["item_id"].as_i64().unwrap(),
                g["item_level"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn item_level_and_gear_priorities_equal_a_hand_reading_of_combatant_info() {
    let (guild, key) = own_guild("Progress Gear").await;
    let app = app().await;
    let roster =
        "character,rank,main,class\nAlexsmite-twisting-nether-US,1,,\nMeerah-CrusaderStrike-US,2,,\n";
    let set = put_body(&app, &path(guild, "roster"), &key, "text/csv", roster).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let retail = get(&app, &path(guild, "character/Alexsmite?realm=twisting-nether"), Some(&key)).await;
    assert_eq!(retail.status, StatusCode::OK, "{}", retail.text);
    let data = &retail.json["data"];
    assert_eq!(data["item_level"], 248.67, "3,730 / 15");
    assert_eq!(data["current"], 248);
    assert_eq!(data["item_level_source"], "calculated from equipped items");
    let expected: Vec<(String, i64, i64)> =
        ALEXSMITE_GEAR.iter().map(|(s, id, l)| (s.to_string(), *id, *l)).collect();
    assert_eq!(gear(&retail.json), expected, "lowest first; ties in slot order");
    assert_eq!(data["class"], "Priest");

    // Classic (SoD 1.15.1, line 4, Meerah): 19 items, the 18th a relic, the 19th the
    // tabard (5976). Counted: 45 45 48 (shirt 5107 out) 45 45 45 45 44 45 45 36 33 45 45
    // 45 40 45: 17 items, 741 in all: 43.59.
    let classic = get(&app, &path(guild, "characters"), Some(&key)).await;
    let characters = classic.json["data"]["characters"].as_array().unwrap();
    let first =
        characters.iter().find(|c| c["player_guid"] == "Player-5828-01DB541E").expect("a Gnomeregan raider");
    assert_eq!(first["item_level"], 43.59);
    let name = first["name"].as_str().unwrap();
    let one = get(&app, &path(guild, &format!("character/{name}?realm=CrusaderStrike")), Some(&key)).await;
    let lowest: Vec<(String, i64, i64)> = gear(&one.json).into_iter().take(3).collect();
    assert_eq!(
        lowest,
        [
            ("Trinket 1".to_string(), 211449, 33),
            ("Finger 2".to_string(), 2262, 36),
            ("Off Hand".to_string(), 216522, 40)
        ]
    );
    assert!(
        gear(&one.json).iter().any(|(slot, id, _)| slot == "Ranged" && *id == 213355),
        "Classic's relic counts"
    );
    assert!(gear(&one.json).iter().all(|(slot, _, _)| slot != "Tabard" && slot != "Shirt"));
    assert_eq!(get(&app, &path(guild, "character/Nobody"), Some(&key)).await.status, StatusCode::NOT_FOUND);
}

/// A Battle.net roster document (the game data API's shape) of the 9.2 raid's healers
/// and a Gnomeregan raider; Holyper is Alexsmite's alt.
fn battlenet_roster() -> String {
    let member = |name: &str, slug: &str, class: u8, rank: i32, main: Option<&str>| {
        let mut m = json!({
            "character": {
                "key": {"href": format!("https://us.api.blizzard.com/profile/wow/character/{slug}/{}?namespace=profile-us", name.to_lowercase())},
                "name": name, "id": 1000 + i64::from(rank),
                "realm": {"key": {"href": "https://us.api.blizzard.com/data/wow/realm/1?namespace=dynamic-us"}, "id": 1, "slug": slug},
                "level": 60, "playable_class": {"key": {"href": "x"}, "id": class}, "playable_race": {"key": {"href": "x"}, "id": 1}
            },
            "rank": rank
        });
        if let Some(main) = main {
            m["main"] = json!(main);
        }
        m
    };
    json!({
        "_links": {"self": {"href": "https://us.api.blizzard.com/data/wow/guild/twisting-nether/progress-roster/roster?namespace=profile-us"}},
        "guild": {"name": "Progress Roster", "id": 1, "realm": {"name": "Twisting Nether", "id": 1, "slug": "twisting-nether"}, "faction": {"type": "HORDE"}},
        "members": [
            member("Alexsmite", "twisting-nether", 5, 1, None),
            member("Holyper", "twisting-nether", 5, 4, Some("Alexsmite-TwistingNether-US")),
            member("Meerah", "crusader-strike", 7, 3, None),
            member("Neverlogged", "twisting-nether", 1, 5, None)
        ]
    })
    .to_string()
}

fn names(answer: &Value, list: &str) -> Vec<String> {
    answer["data"][list]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["character"].as_str().unwrap().to_string())
        .collect()
}

fn member<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["data"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {answer}"))
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_battlenet_roster_with_targets_gives_every_member_a_status_and_the_exact_messages() {
    let (guild, master) = own_guild("Progress Roster").await;
    let app = app().await;
    // Before a roster, the guild's raiders of two nights stand in: none here (each
    // fixture is one night with other people).
    let before = get(&app, &path(guild, "characters"), Some(&master)).await;
    assert_eq!(before.json["data"]["source"], "unconfirmed");

    let set =
        put_body(&app, &path(guild, "roster?region=us"), &master, "application/json", &battlenet_roster())
            .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.json["data"]["total"], 4);
    let roadmap = json!({"targets": [
        {"week_start": "2020-01-07", "item_level": 250, "label": "the raid's week"},
        {"week_start": "2099-01-06", "item_level": 300}
    ]});
    let written = send_json(&app, "PUT", &path(guild, "roadmap"), &master, roadmap).await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.text);
    assert_eq!(written.json["data"]["current"]["item_level"], 250);
    assert_eq!(written.json["data"]["targets"].as_array().unwrap().len(), 2);

    let overview = get(&app, &path(guild, "members?sort=ilvl"), Some(&master)).await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.text);
    let data = &overview.json["data"];
    assert_eq!(data["source"], "roster");
    assert_eq!(data["target"], 250);
    let alexsmite = member(&overview.json, "Alexsmite");
    assert_eq!(alexsmite["status"], "Behind");
    assert_eq!(alexsmite["message"], "2 iLvl behind. Target: 250, Current: 248");
    assert_eq!(alexsmite["role"], "Healer", "Discipline");
    assert_eq!(alexsmite["rank"], 1);
    // Holyper (line 22): 16 counted items, 4,023 in all: 251.44.
    let holyper = member(&overview.json, "Holyper");
    assert_eq!(holyper["main"], "Alexsmite-TwistingNether-US");
    assert_eq!((&holyper["item_level"], &holyper["status"]), (&json!(251.44), &json!("On Track")));
    assert_eq!(holyper["message"], "Ahead of schedule! Target: 250, Current: 251");
    assert_eq!(member(&overview.json, "Neverlogged")["status"], "Unknown");
    assert_eq!(
        (data["on_track"].as_u64(), data["behind"].as_u64(), data["unknown"].as_u64()),
        (Some(1), Some(2), Some(1))
    );
    let levels: Vec<f64> =
        data["members"].as_array().unwrap().iter().filter_map(|m| m["item_level"].as_f64()).collect();
    assert!(levels.windows(2).all(|w| w[0] >= w[1]), "highest first: {levels:?}");
    let lowest = get(&app, &path(guild, "members?sort=-ilvl"), Some(&master)).await;
    assert_eq!(lowest.json["data"]["members"][0]["name"], "Meerah");

    // Filters: class (any spelling), role, status.
    let priests = get(&app, &path(guild, "members?class=PRIEST"), Some(&master)).await;
    assert_eq!(
        names(&priests.json, "members"),
        ["Alexsmite-twisting-nether-US", "Holyper-twisting-nether-US"]
    );
    let healers = get(&app, &path(guild, "members?role=healer&status=behind"), Some(&master)).await;
    assert!(names(&healers.json, "members").contains(&"Alexsmite-twisting-nether-US".to_string()));
    assert!(!names(&healers.json, "members").iter().any(|n| n.starts_with("Neverlogged")));
    let unknown = get(&app, &path(guild, "members?status=unknown"), Some(&master)).await;
    assert_eq!(names(&unknown.json, "members"), ["Neverlogged-twisting-nether-US"]);
    assert_eq!(
        get(&app, &path(guild, "members?sort=dps"), Some(&master)).await.status,
        StatusCode::BAD_REQUEST
    );
    for nobody in ["members?class=Bard", "members?role=support", "members?status=late"] {
        let answer = get(&app, &path(guild, nobody), Some(&master)).await;
        assert_eq!(answer.status, StatusCode::OK, "{nobody}: a filter matching nobody is an empty list");
        assert_eq!(answer.json["data"]["members"], json!([]), "{nobody}");
    }

    // Ahead of schedule.
    let lower = json!({"targets": [{"week_start": "2020-01-07", "item_level": 240}]});
    assert_eq!(send_json(&app, "PUT", &path(guild, "roadmap"), &master, lower).await.status, StatusCode::OK);
    let one =
        get(&app, &path(guild, "character/Alexsmite?realm=TwistingNether&region=US"), Some(&master)).await;
    assert_eq!(one.json["data"]["message"], "Ahead of schedule! Target: 240, Current: 248");
    assert_eq!(one.json["data"]["status"], "On Track");
    let alts: Vec<&str> = one.json["data"]["alts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["character"].as_str().unwrap())
        .collect();
    assert_eq!(alts, ["Holyper-twisting-nether-US"]);
    let trend = one.json["data"]["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 1, "one night");
    assert_eq!(trend[0]["target"], 240);
    let family = get(&app, &path(guild, "characters?main=Alexsmite-twisting-nether-US"), Some(&master)).await;
    assert_eq!(
        names(&family.json, "characters"),
        ["Alexsmite-twisting-nether-US", "Holyper-twisting-nether-US"]
    );

    // Holyper leaves: out of every view; the roster says one left.
    let csv = "character,rank,main,class\nAlexsmite-TwistingNether-US,1,,Priest\nMeerah-CrusaderStrike-US,3,,Shaman\n";
    let changed = put_body(&app, &path(guild, "roster"), &master, "text/csv", csv).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.json["data"]["left"], 2, "Holyper and Neverlogged");
    let after = get(&app, &path(guild, "characters"), Some(&master)).await;
    assert_eq!(names(&after.json, "characters"), ["Alexsmite-TwistingNether-US", "Meerah-CrusaderStrike-US"]);
    assert_eq!(
        get(&app, &path(guild, "character/Holyper"), Some(&master)).await.status,
        StatusCode::NOT_FOUND
    );

    // Refusals say what is wrong.
    let bad = put_body(
        &app,
        &path(guild, "roster"),
        &master,
        "text/csv",
        "character,rank,main\nA-R-US,0,Ghost-R-US\n",
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("Ghost-R-US"), "{}", bad.text);
    assert_eq!(
        put_body(&app, &path(guild, "roster"), &master, "text/plain", "x").await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn an_alt_in_another_guild_is_never_shown() {
    let (mine, my_key) = own_guild("Progress Alts Mine").await;
    let (theirs, their_key) = own_guild("Progress Alts Theirs").await;
    let app = app().await;
    let mine_roster = "character,rank\nAlexsmite-TwistingNether-US,1\n";
    let their_roster = "character,rank,main\nAlexsmite-TwistingNether-US,1,\nHolyper-TwistingNether-US,2,Alexsmite-TwistingNether-US\n";
    assert_eq!(
        put_body(&app, &path(mine, "roster"), &my_key, "text/csv", mine_roster).await.status,
        StatusCode::OK
    );
    assert_eq!(
        put_body(&app, &path(theirs, "roster"), &their_key, "text/csv", their_roster).await.status,
        StatusCode::OK
    );
    let one = get(&app, &path(mine, "character/Alexsmite?realm=twisting-nether"), Some(&my_key)).await;
    assert_eq!(one.json["data"]["alts"], json!([]), "{}", one.text);
    assert!(!one.text.contains("Holyper"));
    let family = get(&app, &path(mine, "characters?main=Alexsmite-TwistingNether-US"), Some(&my_key)).await;
    assert_eq!(names(&family.json, "characters"), ["Alexsmite-TwistingNether-US"]);
    let theirs_family =
        get(&app, &path(theirs, "characters?main=Alexsmite-TwistingNether-US"), Some(&their_key)).await;
    assert_eq!(names(&theirs_family.json, "characters").len(), 2);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn the_weekly_message_keeps_its_history_and_is_audited() {
    let (guild, master) = own_guild("Progress Message").await;
    let app = app().await;
    let empty = get(&app, &path(guild, "message"), Some(&master)).await;
    assert_eq!(empty.json["data"]["message"], Value::Null);
    for text in ["Focus on DPS!", "Focus on DPS!\nAnd flasks."] {
        let put = send_json(&app, "PUT", &path(guild, "message"), &master, json!({"message": text})).await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    }
    let now = get(&app, &path(guild, "message"), Some(&master)).await;
    assert_eq!(now.json["data"]["message"], "Focus on DPS!\nAnd flasks.");
    assert_eq!(now.json["data"]["week_start"], now.json["data"]["this_week"]);
    assert_eq!(now.json["data"]["history"].as_array().unwrap().len(), 1, "one week, its latest message");
    for bad in [
        json!({"message": ""}),
        json!({"message": "x".repeat(4001)}),
        json!({"message": "a\u{7}b"}),
        json!({"text": "x"}),
    ] {
        assert_eq!(
            send_json(&app, "PUT", &path(guild, "message"), &master, bad).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    // The audit trail names the change (written by the service's auditor, shortly).
    let client = world().store.client();
    let mut found = 0;
    for _ in 0..50 {
        found = client
            .query("SELECT count() AS n FROM audit_log WHERE guild_id = ? AND action = 'progress.message'")
            .bind(guild)
            .fetch_one::<wowlogs_store::rows::Count>()
            .await
            .unwrap()
            .n;
        if found >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found, 2);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn comparisons_count_guilds_that_opt_in_and_name_only_those_that_want_it() {
    let (mine, my_key) = own_guild("Progress Compare Mine").await;
    let (named, named_key) = own_guild("Progress Compare Named").await;
    let (_, _) = own_guild("Progress Compare Private").await;
    let app = app().await;
    let alone = get(&app, &path(mine, "comparisons"), Some(&my_key)).await;
    assert_eq!(alone.status, StatusCode::OK, "{}", alone.text);
    assert_eq!(alone.json["data"]["sharing"], "off");
    assert_eq!(alone.json["data"]["compared_guilds"], 0, "not taking part: sees no one");
    assert!(alone.json["data"]["guild"]["median_item_level"].as_f64().is_some());

    let put =
        send_json(&app, "PUT", &path(mine, "comparisons"), &my_key, json!({"share": "anonymous"})).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let put =
        send_json(&app, "PUT", &path(named, "comparisons"), &named_key, json!({"share": "named"})).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let bad = send_json(&app, "PUT", &path(mine, "comparisons"), &my_key, json!({"share": "public"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let compared = get(&app, &path(mine, "comparisons"), Some(&my_key)).await;
    let data = &compared.json["data"];
    assert_eq!(data["sharing"], "anonymous");
    assert!(data["compared_guilds"].as_u64().unwrap() >= 1, "{}", compared.text);
    assert!(
        !compared.text.contains("Progress Compare Private"),
        "a guild that does not share is never named"
    );
    let named_list: Vec<&str> =
        data["named"].as_array().unwrap().iter().map(|g| g["guild_name"].as_str().unwrap()).collect();
    assert!(named_list.contains(&"Progress Compare Named"));
    assert_eq!(data["guild"]["guild_name"], "Progress Compare Mine");
    assert_eq!(data["item_level_percentile"], 50.0, "the same logs: a tie counts half");

    // The named guild sees the anonymous one counted, never named.
    let theirs = get(&app, &path(named, "comparisons"), Some(&named_key)).await;
    assert!(!theirs.text.contains("Progress Compare Mine"), "{}", theirs.text);
    let one =
        get(&app, &path(mine, "comparisons?guild_name=progress%20compare%20named&region=us"), Some(&my_key))
            .await;
    assert_eq!(one.json["data"]["named"].as_array().unwrap().len(), 1);
    let nobody =
        get(&app, &path(mine, "comparisons?guild_name=Progress%20Compare%20Private"), Some(&my_key)).await;
    assert_eq!(nobody.status, StatusCode::OK, "a filter matching nobody is an empty list");
    assert_eq!(nobody.json["data"]["named"], json!([]));
}

/// The 9.2 raid snippet's one fight, as the encounter consumer publishes it.
fn raid_summary(guild: i64) -> wowlogs_schemas::EncounterSummary {
    use wowlogs_encounters::{EncounterSegmenter, SegmentOutput};
    use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
    let text = std::fs::read(support::fixture("retail_sl_9.2_raid_wipe_snippet.txt")).unwrap();
    let (mut segmenter, mut out) = (EncounterSegmenter::new(), Vec::new());
    for parsed in LogReader::new(text.as_slice(), ParseOptions::new(YearHint::FirstLineIn(2024))) {
        if let ParsedLine::Event(event) = parsed.unwrap() {
            segmenter.push(&event, &mut out);
        }
    }
    segmenter.finish(&mut out);
    let fight =
        out.into_iter().find_map(|o| if let SegmentOutput::Fight(f) = o { Some(f) } else { None }).unwrap();
    wowlogs_schemas::EncounterSummary {
        guild_id: wowlogs_schemas::GuildId(guild),
        log_id: wowlogs_schemas::LogId(9_101),
        fight,
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_fight_that_lifts_a_member_past_the_target_tells_the_live_feed_once() {
    let (guild, master) = own_guild("Progress Live").await;
    let app = app().await;
    let roster = "character,rank\nAlexsmite-TwistingNether-US,1\nHolyper-TwistingNether-US,2\n";
    assert_eq!(
        put_body(&app, &path(guild, "roster"), &master, "text/csv", roster).await.status,
        StatusCode::OK
    );
    let roadmap = json!({"targets": [{"week_start": "2020-01-07", "item_level": 250}]});
    assert_eq!(
        send_json(&app, "PUT", &path(guild, "roadmap"), &master, roadmap).await.status,
        StatusCode::OK
    );
    let state = wowlogs_query_api::state::AppState::new(
        support::keys(&world().store).await,
        support::config(&world().store),
        wowlogs_query_api::live::LiveFeed::default(),
    );
    let watch = state.progress_watch();

    // The same fight again: Alexsmite (248.67) stays Behind, Holyper (251.44) On Track.
    let same = raid_summary(guild);
    assert!(watch.flips(&same).await.unwrap().is_empty(), "nobody's status changed");
    // Alexsmite upgrades to 252 in the next pull: one message, Behind → On Track.
    let mut upgraded = raid_summary(guild);
    let alexsmite = upgraded.fight.players.iter_mut().find(|p| p.name.starts_with("Alexsmite")).unwrap();
    alexsmite.item_level = Some(252.2);
    let flips = watch.flips(&upgraded).await.unwrap();
    assert_eq!(flips.len(), 1, "{flips:?}");
    let body = &flips[0];
    assert_eq!(body["type"], "member_status");
    assert_eq!((&body["previous_status"], &body["status"]), (&json!("Behind"), &json!("On Track")));
    assert_eq!(body["message"], "Ahead of schedule! Target: 250, Current: 252");
    assert_eq!(body["character"], "Alexsmite-TwistingNether-US");
    assert_eq!(body["guild_id"], guild);
    // Once told, not again.
    assert!(watch.flips(&upgraded).await.unwrap().is_empty(), "once told, not again");
}
