//! What each endpoint answers, for a guild with real logs in the real ClickHouse.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use support::{app, app_with, apps_with, config, get, send, tenant, world};

/// The items of a list answer: `data` holds them under their name, beside `total`.
fn items(answer: &Value) -> &Vec<Value> {
    let data = answer["data"].as_object().unwrap_or_else(|| panic!("a list answer: {answer}"));
    data.iter().find(|(name, _)| *name != "total").and_then(|(_, items)| items.as_array()).unwrap()
}

/// The total of a list answer (also its `pagination.total`).
fn total(answer: &Value) -> Option<u64> {
    assert_eq!(answer["data"]["total"], answer["pagination"]["total"], "{answer}");
    answer["data"]["total"].as_u64()
}

fn ids(answer: &Value) -> Vec<String> {
    items(answer).iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn the_encounter_list_holds_the_guilds_fights_newest_first_with_filters() {
    let (app, a) = (app().await, &world().a);
    let all = get(&app, "/api/v1/encounters", Some(&a.key)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(
        (all.json["guild_id"].as_i64(), all.json["guild_name"].as_str()),
        (Some(a.guild_id), Some("Loothing"))
    );
    assert_eq!(total(&all.json), Some(a.fight_ids.len() as u64));
    let mut listed = ids(&all.json);
    let starts: Vec<i64> = items(&all.json).iter().map(|e| e["start_ms"].as_i64().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first: {starts:?}");
    listed.sort();
    let mut expected: Vec<String> = a.fight_ids.iter().map(|id| id.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);

    let boss =
        get(&app, "/api/v1/encounters?boss=Mekgineer%20Thermaplugg&kind=encounter", Some(&a.key)).await;
    assert_eq!(total(&boss.json), Some(1), "{}", boss.text);
    assert_eq!(items(&boss.json)[0]["name"], "Mekgineer Thermaplugg");
    let by_log = get(&app, &format!("/api/v1/encounters?log_id={}", a.log_ids[1]), Some(&a.key)).await;
    let log = a.log_ids[1].to_string();
    assert!(items(&by_log.json).iter().all(|e| e["log_id"].as_str() == Some(log.as_str())));
    let none = get(&app, "/api/v1/encounters?from=2030-01-01", Some(&a.key)).await;
    assert_eq!(total(&none.json), Some(0));
    // A range that ends before it starts holds nothing (what the document's types allow).
    let backwards = get(&app, "/api/v1/encounters?from=2024-03-02&to=2024-03-01", Some(&a.key)).await;
    assert_eq!((backwards.status, total(&backwards.json)), (StatusCode::OK, Some(0)));
    let paged = get(&app, "/api/v1/encounters?per_page=1&page=2", Some(&a.key)).await;
    assert_eq!(ids(&paged.json), vec![ids(&all.json)[1].clone()]);
    // The specification's `limit` is `per_page`; the envelope says where the page is.
    let limited = get(&app, "/api/v1/encounters?limit=1&page=2", Some(&a.key)).await;
    assert_eq!(ids(&limited.json), ids(&paged.json), "{}", limited.text);
    let pagination = &limited.json["pagination"];
    assert_eq!((pagination["page"].as_u64(), pagination["limit"].as_u64()), (Some(2), Some(1)));
    assert_eq!(pagination["pages"].as_u64(), Some(a.fight_ids.len() as u64));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_solo_shuffle_is_listed_once_with_its_rounds_in_its_detail() {
    let store = &world().store;
    let registry = wowlogs_tenancy::Registry::new(store.clone());
    let shuffle = "retail_df_10.0.2beta_solo_shuffle_advanced_off.txt";
    let c = tenant(&registry, &store.client(), "Shuffle Guild", &[(shuffle, 9_001)]).await;
    let app = app().await;
    let list = get(&app, "/api/v1/encounters?kind=arena", Some(&c.key)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(total(&list.json), Some(1), "the match, not its rounds: {}", list.text);
    let shuffle = &items(&list.json)[0];
    assert_eq!((shuffle["rounds_won"].as_i64(), shuffle["outcome"].as_str()), (Some(0), Some("loss")));
    let none = get(&app, "/api/v1/encounters?kind=battleground", Some(&c.key)).await;
    assert_eq!((none.status, total(&none.json)), (StatusCode::OK, Some(0)));
    let id = shuffle["id"].as_str().unwrap();
    let detail = get(&app, &format!("/api/v1/encounters/{id}"), Some(&c.key)).await;
    let rounds: Vec<(i64, &str)> = detail.json["data"]["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["round"].as_i64().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(rounds, (1..=6).map(|n| (n, "loss")).collect::<Vec<_>>(), "{}", detail.text);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn search_finds_bosses_by_any_part_of_the_name_in_any_case() {
    let (app, a) = (app().await, &world().a);
    let found = get(&app, "/api/v1/encounters/search?boss_name=thermap", Some(&a.key)).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(total(&found.json), Some(1));
    assert_eq!(items(&found.json)[0]["name"], "Mekgineer Thermaplugg");
    let missing = get(&app, "/api/v1/encounters/search", Some(&a.key)).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.json["error"]["message"].as_str().unwrap().contains("boss_name"), "{}", missing.text);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn stats_sum_up_the_guilds_fights_and_characters() {
    let (app, a) = (app().await, &world().a);
    let stats = get(&app, "/api/v1/encounters/stats", Some(&a.key)).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.text);
    assert_eq!(stats.json["guild_name"], "Loothing");
    let s = &stats.json["statistics"];
    assert_eq!(s["total_encounters"].as_u64(), Some(a.fight_ids.len() as u64));
    assert_eq!(s["kills"].as_u64().unwrap() + s["wipes"].as_u64().unwrap(), a.fight_ids.len() as u64);
    assert_eq!(s["logs"].as_u64(), Some(a.log_ids.len() as u64));
    assert_eq!(s["total_characters"].as_u64(), Some(a.players.len() as u64));
    assert!(s["active_characters"].as_u64().unwrap() > 0);
    assert!(s["last_activity"].as_str().unwrap().starts_with("202"));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn an_encounter_has_every_players_numbers_and_the_death_recap() {
    let (app, a) = (app().await, &world().a);
    let boss = get(&app, "/api/v1/encounters?boss=Mekgineer%20Thermaplugg", Some(&a.key)).await;
    let id = items(&boss.json)[0]["id"].as_str().unwrap().to_string();
    let detail = get(&app, &format!("/api/v1/encounters/{id}"), Some(&a.key)).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert_eq!(detail.json["data"]["encounter"]["id"], id.as_str());
    let players = detail.json["data"]["players"].as_array().unwrap();
    assert!(players.len() >= 10, "a raid: {}", players.len());
    let damage: Vec<i64> = players.iter().map(|p| p["damage_done"].as_i64().unwrap()).collect();
    assert!(damage.windows(2).all(|w| w[0] >= w[1]), "by damage");
    let deaths = detail.json["data"]["deaths"].as_array().unwrap();
    let player_deaths: i64 = players.iter().map(|p| p["deaths"].as_i64().unwrap()).sum();
    assert_eq!(deaths.len() as i64, player_deaths);
    assert_eq!(get(&app, "/api/v1/encounters/12345", Some(&a.key)).await.status, StatusCode::NOT_FOUND);
    let beyond = get(&app, "/api/v1/encounters/9402014132554220745", Some(&a.key)).await;
    assert_eq!(beyond.status, StatusCode::NOT_FOUND, "digits past any id are no fight, not a bad request");
    assert_eq!(
        get(&app, "/api/v1/encounters/not-a-number", Some(&a.key)).await.status,
        StatusCode::BAD_REQUEST
    );
}

/// The Dimensius wipe (fixture read line by line in core/encounters/tests/why_we_wiped.rs):
/// Dimensius at 11,389,021 of 11,998,750 when the pull ended; Xamymage died first, 9.962 s
/// in, to Oblivion; Devour hurt the raid most.
async fn dimensius_wipe(app: &axum::Router, key: &str) -> String {
    let boss = get(app, "/api/v1/encounters?encounter_id=3135", Some(key)).await;
    assert_eq!(total(&boss.json), Some(1), "{}", boss.text);
    items(&boss.json)[0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_wipe_says_how_far_the_boss_got_and_what_hurt_the_raid_most() {
    let (app, a) = (app().await, &world().a);
    let id = dimensius_wipe(&app, &a.key).await;
    let detail = get(&app, &format!("/api/v1/encounters/{id}"), Some(&a.key)).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    let encounter = &detail.json["data"]["encounter"];
    let pct = 100.0 * 11_389_021.0 / 11_998_750.0;
    assert_eq!(encounter["boss_pct"].as_f64(), Some(pct));
    assert_eq!(encounter["boss_pct_missing"], Value::Null);
    assert_eq!(
        (encounter["difficulty"].as_i64(), encounter["difficulty_name"].as_str()),
        (Some(14), Some("Normal"))
    );
    assert_eq!(encounter["outcome"], "wipe");
    let bosses = detail.json["data"]["bosses"].as_array().unwrap();
    assert_eq!(bosses.len(), 1);
    assert_eq!(
        (bosses[0]["name"].as_str(), bosses[0]["npc_id"].as_i64(), bosses[0]["current_hp"].as_i64()),
        (Some("Dimensius"), Some(241_517), Some(11_389_021))
    );
    let taken = detail.json["data"]["damage_taken_by_ability"].as_array().unwrap();
    assert_eq!(taken[0]["ability"], "Devour");
    let amounts: Vec<i64> = taken.iter().map(|t| t["amount"].as_i64().unwrap()).collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "most first: {amounts:?}");

    let abilities = get(&app, &format!("/api/v1/encounters/{id}/abilities"), Some(&a.key)).await;
    assert_eq!(abilities.status, StatusCode::OK, "{}", abilities.text);
    assert_eq!(abilities.json["data"]["damage_taken"], detail.json["data"]["damage_taken_by_ability"]);
    assert_eq!(abilities.json["data"]["bosses"], detail.json["data"]["bosses"]);

    // The Shadowlands snippet has no advanced logging: no figure, and why.
    let lihuvim = get(&app, "/api/v1/encounters?encounter_id=2539", Some(&a.key)).await;
    let snippet = &items(&lihuvim.json)[0];
    assert_eq!(
        (snippet["boss_pct"].clone(), snippet["boss_pct_missing"].as_str()),
        (Value::Null, Some("advanced_logging_off"))
    );
    // Not a boss fight: neither.
    let b = &world().b;
    let arena = get(&app, "/api/v1/encounters?kind=arena", Some(&b.key)).await;
    assert!(items(&arena.json).iter().all(|e| e["boss_pct"].is_null() && e["boss_pct_missing"].is_null()));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn every_death_of_a_wipe_comes_with_its_recap_in_order() {
    let (app, a) = (app().await, &world().a);
    let id = dimensius_wipe(&app, &a.key).await;
    let deaths = get(&app, &format!("/api/v1/encounters/{id}/deaths"), Some(&a.key)).await;
    assert_eq!(deaths.status, StatusCode::OK, "{}", deaths.text);
    let listed = items(&deaths.json);
    let detail = get(&app, &format!("/api/v1/encounters/{id}"), Some(&a.key)).await;
    assert_eq!(total(&deaths.json), Some(detail.json["data"]["deaths"].as_array().unwrap().len() as u64));
    let first = &listed[0];
    assert_eq!(
        (first["order"].as_u64(), first["player_name"].as_str(), first["fight_time_ms"].as_i64()),
        (Some(1), Some("Xamymage-Kazzak-EU"), Some(9_962))
    );
    assert_eq!(
        (first["killing_blow"]["ability"].as_str(), first["killing_blow"]["overkill"].as_i64()),
        (Some("Oblivion"), Some(397_246))
    );
    let recap = first["recap"].as_array().unwrap();
    assert_eq!(recap.len(), 13);
    assert_eq!(
        (recap[0]["ability"].as_str(), recap[0]["before_death_ms"].as_i64(), recap[0]["hp"].as_i64()),
        (Some("Oblivion"), Some(16), Some(0))
    );
    assert_eq!(
        (recap[12]["ability"].as_str(), recap[12]["amount"].as_i64()),
        (Some("Cosmic Radiation"), Some(2_175))
    );
    let orders: Vec<u64> = listed.iter().map(|d| d["order"].as_u64().unwrap()).collect();
    assert_eq!(orders, (1..=listed.len() as u64).collect::<Vec<_>>());

    // The wipe has one death: a page of one is it, the second page is empty.
    assert_eq!(listed.len(), 1);
    let one = get(&app, &format!("/api/v1/encounters/{id}/deaths?per_page=1"), Some(&a.key)).await;
    assert_eq!(items(&one.json)[0], listed[0]);
    let second_page =
        get(&app, &format!("/api/v1/encounters/{id}/deaths?per_page=1&page=2"), Some(&a.key)).await;
    assert_eq!((items(&second_page.json).len(), total(&second_page.json)), (0, Some(1)));
    let too_many = get(&app, &format!("/api/v1/encounters/{id}/deaths?per_page=101"), Some(&a.key)).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    // Another guild's key sees no such fight.
    let b = &world().b;
    assert_eq!(
        get(&app, &format!("/api/v1/encounters/{id}/deaths"), Some(&b.key)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("/api/v1/encounters/{id}/abilities"), Some(&b.key)).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Gnomeregan: Meerah's Kick stops STX-98/PO's Toxic Ventilation (the log's first
/// SPELL_INTERRUPT, 19:58:09.692; dispels come before it); the raid is in the zone
/// `Gnomeregan`.
#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_fight_says_who_interrupted_and_dispelled_what() {
    let (app, a) = (app().await, &world().a);
    let boss = get(&app, "/api/v1/encounters?encounter_id=2940", Some(&a.key)).await;
    let id = items(&boss.json)[0]["id"].as_str().unwrap().to_string();
    assert_eq!(items(&boss.json)[0]["zone_name"], "Gnomeregan");
    let answer = get(&app, &format!("/api/v1/encounters/{id}/interrupts"), Some(&a.key)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let removals = answer.json["data"]["removals"].as_array().unwrap();
    let first = removals.iter().find(|r| r["kind"] == "interrupt").expect("an interrupt");
    assert_eq!(
        (
            first["kind"].as_str(),
            first["source_name"].as_str(),
            first["ability"].as_str(),
            first["removed"].as_str()
        ),
        (Some("interrupt"), Some("Meerah-CrusaderStrike"), Some("Kick"), Some("Toxic Ventilation"))
    );
    let players = answer.json["data"]["players"].as_array().unwrap();
    let meerah = players.iter().find(|p| p["name"] == "Meerah-CrusaderStrike").expect("Meerah kicked");
    let listed: usize = answer.json["data"]["removals"].as_array().unwrap().len();
    let counted: i64 =
        players.iter().map(|p| p["interrupts"].as_i64().unwrap() + p["dispels"].as_i64().unwrap()).sum();
    assert_eq!(listed as i64, counted, "every interrupt and dispel is listed");
    let detail = get(&app, &format!("/api/v1/encounters/{id}"), Some(&a.key)).await;
    let line = detail.json["data"]["players"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Meerah-CrusaderStrike")
        .cloned();
    assert_eq!(line.map(|p| p["interrupts"].clone()), Some(meerah["interrupts"].clone()));
    let b = &world().b;
    assert_eq!(
        get(&app, &format!("/api/v1/encounters/{id}/interrupts"), Some(&b.key)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn pull_over_pull_lists_a_bosss_pulls_with_the_best_one() {
    let (app, a) = (app().await, &world().a);
    let id = dimensius_wipe(&app, &a.key).await;
    let pulls = get(&app, "/api/v1/encounters/pulls?encounter_id=3135&difficulty=14", Some(&a.key)).await;
    assert_eq!(pulls.status, StatusCode::OK, "{}", pulls.text);
    assert_eq!(total(&pulls.json), Some(1));
    let pull = &pulls.json["data"]["pulls"][0];
    assert_eq!(
        (pull["number"].as_u64(), pull["id"].as_str(), pull["best"].as_bool()),
        (Some(1), Some(id.as_str()), Some(true))
    );
    assert_eq!(pulls.json["data"]["best_pull_id"], id.as_str());
    assert_eq!(pulls.json["data"]["best_boss_pct"], pull["boss_pct"]);
    assert_eq!(
        (pull["first_death"]["player_name"].as_str(), pull["first_death"]["ability"].as_str()),
        (Some("Xamymage-Kazzak-EU"), Some("Oblivion"))
    );
    let deaths = get(&app, &format!("/api/v1/encounters/{id}/deaths"), Some(&a.key)).await;
    assert_eq!(pull["deaths"].as_u64(), total(&deaths.json));
    assert!(pull["raid_dps"].as_f64().unwrap() > 0.0 && pull["raid_hps"].as_f64().unwrap() > 0.0);

    // Gnomeregan's one pull is a kill: the best, at 0.
    let kill = get(&app, "/api/v1/encounters/pulls?encounter_id=2940", Some(&a.key)).await;
    assert_eq!(
        (kill.json["data"]["pulls"][0]["best"].as_bool(), kill.json["data"]["best_boss_pct"].as_f64()),
        (Some(true), Some(0.0))
    );
    let nameless = get(&app, "/api/v1/encounters/pulls", Some(&a.key)).await;
    // The boss is required (the document says so): without it, a clear refusal.
    assert_eq!(nameless.status, StatusCode::BAD_REQUEST, "{}", nameless.text);
    let elsewhere = get(&app, "/api/v1/encounters/pulls?encounter_id=3135", Some(&world().b.key)).await;
    assert_eq!(total(&elsewhere.json), Some(0), "another guild has no pull of it");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn one_encounter_exports_as_json_or_csv() {
    let (app, a) = (app().await, &world().a);
    let id = a.fight_ids[0];
    let json = get(&app, &format!("/api/v1/encounters/{id}/export"), Some(&a.key)).await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.text);
    assert!(json.headers["content-disposition"].to_str().unwrap().contains(&format!("encounter-{id}.json")));
    let csv = get(&app, &format!("/api/v1/encounters/{id}/export?format=csv"), Some(&a.key)).await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.text.lines().count(), 1 + json.json["data"]["players"].as_array().unwrap().len());
    assert!(csv.text.starts_with("guild_id,encounter_id,boss,player"));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn the_export_streams_every_matching_fight_in_three_formats() {
    let (app, a) = (app().await, &world().a);
    let total = a.fight_ids.len();
    let json = get(&app, "/api/v1/encounters/export", Some(&a.key)).await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.text);
    assert_eq!(json.json["guild_id"].as_i64(), Some(a.guild_id));
    assert_eq!(json.json["encounters"].as_array().unwrap().len(), total);
    let ndjson = get(&app, "/api/v1/encounters/export?format=ndjson", Some(&a.key)).await;
    let lines: Vec<Value> = ndjson.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), total);
    assert!(
        lines.iter().all(|l| l["guild_id"].as_i64() == Some(a.guild_id) && l["guild_name"] == "Loothing")
    );
    let csv = get(&app, "/api/v1/encounters/export?format=csv&kind=encounter", Some(&a.key)).await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.text.lines().count(), 1 + total);
    assert_eq!(
        get(&app, "/api/v1/encounters/export?format=xml", Some(&a.key)).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn characters_list_and_history_with_item_level_trend() {
    let (app, a) = (app().await, &world().a);
    let list = get(&app, "/api/v1/characters?per_page=500", Some(&a.key)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(total(&list.json), Some(a.players.len() as u64));
    let with_ilvl = items(&list.json)
        .iter()
        .find(|c| c["item_level"].is_number())
        .expect("the raid log has COMBATANT_INFO item levels")
        .clone();
    let name = with_ilvl["name"].as_str().unwrap();
    let encoded = name.replace(' ', "%20");
    let history = get(&app, &format!("/api/v1/characters/{encoded}"), Some(&a.key)).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    assert_eq!(history.json["data"]["character"]["name"], name);
    let fights = history.json["data"]["fights"].as_array().unwrap();
    assert!(!fights.is_empty());
    assert!(fights.iter().all(|f| a.fight_ids.contains(&f["encounter"].as_str().unwrap().parse().unwrap())));
    let trend = history.json["data"]["item_level_trend"].as_array().unwrap();
    assert!(!trend.is_empty() && trend[0]["mean"].as_f64().unwrap() > 0.0, "{trend:?}");
    let filtered = get(&app, &format!("/api/v1/characters?name={}", &encoded[..3]), Some(&a.key)).await;
    assert!(items(&filtered.json).iter().any(|c| c["name"] == name));
    assert_eq!(
        get(&app, "/api/v1/characters/Nobody-Nowhere", Some(&a.key)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn progress_counts_pulls_kills_and_time_per_boss() {
    let (app, a) = (app().await, &world().a);
    let progress = get(&app, "/api/v1/progress", Some(&a.key)).await;
    assert_eq!(progress.status, StatusCode::OK, "{}", progress.text);
    let bosses = progress.json["data"]["bosses"].as_array().unwrap();
    let thermaplugg = bosses.iter().find(|b| b["boss"] == "Mekgineer Thermaplugg").expect("the raid boss");
    assert_eq!(thermaplugg["pulls"].as_u64(), Some(1));
    assert_eq!(
        thermaplugg["kills"].as_u64().unwrap() + thermaplugg["wipes"].as_u64().unwrap(),
        thermaplugg["pulls"].as_u64().unwrap()
    );
    assert!(thermaplugg["time_spent_ms"].as_i64().unwrap() > 0);
    assert_eq!(thermaplugg["best_attempt_ms"].as_i64(), thermaplugg["time_spent_ms"].as_i64(), "one pull");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn logs_and_uploads_show_what_was_uploaded() {
    let (app, a) = (app().await, &world().a);
    let logs = get(&app, "/api/v1/logs", Some(&a.key)).await;
    assert_eq!(logs.status, StatusCode::OK, "{}", logs.text);
    assert_eq!(total(&logs.json), Some(a.log_ids.len() as u64));
    assert!(items(&logs.json).iter().all(|l| l["state"] == "completed"));
    let misspelt = get(&app, "/api/v1/logs?pages=2", Some(&a.key)).await;
    assert_eq!(misspelt.status, StatusCode::BAD_REQUEST, "an unknown parameter is refused, not ignored");
    let upload = get(&app, &format!("/api/v1/uploads/{}", a.upload_ids[0]), Some(&a.key)).await;
    assert_eq!(upload.status, StatusCode::OK, "{}", upload.text);
    assert_eq!(upload.json["data"]["status"], "completed");
    assert_eq!(upload.json["data"]["logs"][0]["log_id"], a.log_ids[0].to_string());
    let unknown = get(&app, "/api/v1/uploads/00000000-0000-4000-8000-000000000000", Some(&a.key)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

/// A short log with three kinds of bad line among good ones, as a hand-edited or
/// corrupted file holds them; the last is longer than an answer carries.
fn log_with_bad_lines() -> String {
    let good = "7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0";
    [
        "7/28/2024 14:36:49.528-4  COMBAT_LOG_VERSION,21,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,11.0.2,PROJECT_ID,1",
        good,
        "7/28/2024 14:36:49.599-4  SPELL_DAMAGE,Player-1-0A,\"Cut-Off\",0x511",
        good,
        "this is not a combat log line",
        good,
        &format!("7/28/2024 14:36:50.000-4  SPELL_HEAL,{}", "x".repeat(3_000)),
        "",
    ]
    .join("\n")
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_guild_reads_which_lines_of_its_log_were_refused_and_why() {
    let world = world();
    let registry = wowlogs_tenancy::Registry::new(world.store.clone());
    let scribes = tenant(&registry, &world.store.client(), "Careless Scribes", &[]).await;
    let log_id = 7_077;
    let mut input = std::io::Cursor::new(log_with_bad_lines().into_bytes());
    support::load::load_log(
        &world.store.client(),
        scribes.guild_id,
        log_id,
        "scribes-upload",
        &mut input,
        true,
    )
    .await;
    let app = app().await;
    let path = format!("/api/v1/logs/{log_id}/dead-letters");

    let letters = get(&app, &path, Some(&scribes.key)).await;
    assert_eq!(letters.status, StatusCode::OK, "{}", letters.text);
    let data = &letters.json["data"];
    assert_eq!(
        (data["log_id"].as_str(), data["total"].as_u64()),
        (Some("7077"), Some(3)),
        "{}",
        letters.text
    );
    let lines: Vec<(i64, &str)> = data["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["line"].as_i64().unwrap(), l["code"].as_str().unwrap()))
        .collect();
    assert_eq!(lines, [(3, "field_count"), (5, "missing_timestamp"), (7, "field_count")], "{}", letters.text);
    let first = &data["dead_letters"][0];
    assert_eq!((first["source"].as_str(), first["event"].as_str()), (Some("parser"), Some("SPELL_DAMAGE")));
    assert!(first["reason"].as_str().unwrap().starts_with("line 3: SPELL_DAMAGE"), "{first}");
    assert_eq!(first["text"], "7/28/2024 14:36:49.599-4  SPELL_DAMAGE,Player-1-0A,\"Cut-Off\",0x511");
    assert!(first["text_cut_from"].is_null(), "{first}");
    let long = &data["dead_letters"][2];
    assert_eq!(long["text"].as_str().unwrap().chars().count(), 2_000, "bounded: {long}");
    let long_line = log_with_bad_lines().lines().nth(6).unwrap().chars().count() as u64;
    assert_eq!(long["text_cut_from"].as_u64(), Some(long_line), "{long}");
    // The log's own count says the same, and pages follow the log's order.
    let logs = get(&app, "/api/v1/logs", Some(&scribes.key)).await;
    assert_eq!(items(&logs.json)[0]["dead_letters"], 3, "{}", logs.text);
    let second = get(&app, &format!("{path}?per_page=2&page=2"), Some(&scribes.key)).await;
    assert_eq!(second.json["data"]["dead_letters"][0]["line"], 7, "{}", second.text);
    assert_eq!(second.json["data"]["total"], 3);

    // Another guild's key learns nothing of them; a log that is nobody's, neither.
    let other = get(&app, &path, Some(&world.a.key)).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text);
    assert!(!other.text.contains("SPELL_DAMAGE"), "{}", other.text);
    assert_eq!(
        get(&app, "/api/v1/logs/99999999999999999999/dead-letters", Some(&scribes.key)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/api/v1/logs/x1/dead-letters", Some(&scribes.key)).await.status,
        StatusCode::BAD_REQUEST
    );
    // A guild's own log without a bad line: an empty page, not an error.
    let clean =
        get(&app, &format!("/api/v1/logs/{}/dead-letters", world.a.log_ids[0]), Some(&world.a.key)).await;
    assert_eq!(
        (clean.status, clean.json["data"]["total"].as_u64()),
        (StatusCode::OK, Some(0)),
        "{}",
        clean.text
    );
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_guild_admin_issues_and_revokes_its_own_keys_over_the_api() {
    let world = world();
    let registry = wowlogs_tenancy::Registry::new(world.store.clone());
    let keepers = tenant(&registry, &world.store.client(), "Key Keepers", &[]).await;
    let keys = format!("/api/v1/admin/guilds/{}/keys", keepers.guild_id);
    let app = app().await;

    // Issued: the key once, with the specification's limits unless given.
    let body = serde_json::json!({"description": "officer laptop", "permissions": ["query", "officer"]});
    let issued = support::send_json(&app, "POST", &keys, &keepers.key, body).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
    assert_eq!(issued.headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    let key = issued.json["data"]["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("wl_") && key.len() == 67, "{key}");
    let info = &issued.json["data"]["key_info"];
    assert_eq!(info["key_id"].as_str(), Some(wowlogs_tenancy::key_id(&key).as_str()));
    assert_eq!(info["permissions"], serde_json::json!(["query", "officer"]));
    assert_eq!(
        (info["events_per_minute"].as_u64(), info["max_connections"].as_u64()),
        (Some(15_000), Some(10))
    );
    assert_eq!(issued.json["guild_id"], keepers.guild_id);

    // Listed, never shown again; it works for what it was given.
    let listed = get(&app, &keys, Some(&keepers.key)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert!(listed.json["data"]["keys"].as_array().unwrap().iter().any(|k| k["key_id"] == info["key_id"]));
    assert!(!listed.text.contains(&key), "the key is shown once only");
    let fresh = support::app().await; // a replica that has read the registry since
    assert_eq!(get(&fresh, "/api/v1/encounters", Some(&key)).await.status, StatusCode::OK);
    assert_eq!(get(&fresh, &keys, Some(&key)).await.status, StatusCode::FORBIDDEN, "no `admin` given");

    // Refused: permissions that are not a guild key's, none at all, unknown fields.
    for bad in [
        serde_json::json!({"permissions": ["instance_admin"]}),
        serde_json::json!({"permissions": []}),
        serde_json::json!({"permissions": ["query"], "guild_id": 1}),
    ] {
        let refused = support::send_json(&app, "POST", &keys, &keepers.key, bad.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}: {}", refused.text);
    }

    // A key cannot revoke itself (the administrator would lock itself out).
    let own = wowlogs_tenancy::key_id(&keepers.key);
    let itself =
        support::send_json(&app, "POST", &format!("{keys}/{own}/revoke"), &keepers.key, Value::Null).await;
    assert_eq!(itself.status, StatusCode::CONFLICT, "{}", itself.text);

    // Revoked: refused by a replica that has read the registry since; audited.
    let key_id = info["key_id"].as_str().unwrap();
    let revoked =
        support::send_json(&app, "POST", &format!("{keys}/{key_id}/revoke"), &keepers.key, Value::Null).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert_eq!(revoked.json["data"]["revoked"], true);
    assert_eq!(
        get(&support::app().await, "/api/v1/encounters", Some(&key)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = support::send_json(
        &app,
        "POST",
        &format!("{keys}/key-000000000000/revoke"),
        &keepers.key,
        Value::Null,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    let audit = get(&app, "/api/v1/admin/audit", Some(&keepers.key)).await;
    let trail: Vec<(&str, &str)> = items(&audit.json)
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap_or_default()))
        .collect();
    assert!(
        trail.contains(&("api_key.create", key_id)) && trail.contains(&("api_key.revoke", key_id)),
        "{trail:?}"
    );

    // An instance administrator issues for any guild; another guild's admin for none.
    let instance = support::instance_key(&world.store).await;
    let app = support::app().await;
    let by_instance = serde_json::json!({"permissions": ["upload"], "events_per_minute": 0});
    let made = support::send_json(&app, "POST", &keys, &instance, by_instance).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.json["data"]["key_info"]["events_per_minute"], 0);
    let other =
        support::send_json(&app, "POST", &keys, &world.a.key, serde_json::json!({"permissions": ["query"]}))
            .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_rotated_key_works_beside_its_replacement_for_the_overlap_and_an_expired_key_is_refused() {
    let world = world();
    let registry = wowlogs_tenancy::Registry::new(world.store.clone());
    let rotators = tenant(&registry, &world.store.client(), "Key Rotators", &[]).await;
    let keys = format!("/api/v1/admin/guilds/{}/keys", rotators.guild_id);
    let app = app().await;
    let body =
        serde_json::json!({"description": "uploader", "permissions": ["query"], "expires_in_days": 90});
    let issued = support::send_json(&app, "POST", &keys, &rotators.key, body).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
    let old_key = issued.json["data"]["key"].as_str().unwrap().to_string();
    let old_id = issued.json["data"]["key_info"]["key_id"].as_str().unwrap().to_string();
    let expires = |info: &Value| {
        chrono::DateTime::parse_from_rfc3339(info["expires_at"].as_str().unwrap()).unwrap().timestamp_millis()
    };
    let now = wowlogs_schemas::now_ms();
    let days_90 = expires(&issued.json["data"]["key_info"]) - now;
    assert!((89 * 86_400_000..=90 * 86_400_000).contains(&days_90), "issued for 90 days: {}", issued.text);

    let rotate = format!("{keys}/{old_id}/rotate?overlap_hours=2");
    let rotated = support::send_json(&app, "POST", &rotate, &rotators.key, Value::Null).await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.text);
    assert_eq!(rotated.headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    let data = &rotated.json["data"];
    let new_key = data["key"].as_str().unwrap().to_string();
    assert_ne!(new_key, old_key);
    assert_eq!(data["key_info"]["permissions"], serde_json::json!(["query"]), "the same permissions");
    assert_eq!(data["key_info"]["description"], "uploader");
    assert_eq!(data["replaces"]["key_id"], old_id.as_str());
    let overlap = expires(&data["replaces"]) - wowlogs_schemas::now_ms();
    assert!((7_100_000..=7_200_000).contains(&overlap), "the old key works two more hours: {}", rotated.text);
    let fresh = support::app().await;
    for key in [&old_key, &new_key] {
        assert_eq!(
            get(&fresh, "/api/v1/encounters", Some(key)).await.status,
            StatusCode::OK,
            "both work now"
        );
    }
    for bad in ["overlap_hours=0", "overlap_hours=721", "overlap=3"] {
        let refused = support::send_json(
            &app,
            "POST",
            &format!("{keys}/{old_id}/rotate?{bad}"),
            &rotators.key,
            Value::Null,
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}: {}", refused.text);
    }

    // An expiry set on a key: by default a day from now; the bounds are checked.
    let new_id = data["key_info"]["key_id"].as_str().unwrap().to_string();
    let expire = format!("{keys}/{new_id}/expire");
    let set = support::send_json(&app, "POST", &expire, &rotators.key, Value::Null).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let day = expires(&set.json["data"]) - wowlogs_schemas::now_ms();
    assert!((86_300_000..=86_400_000).contains(&day), "a day from now: {}", set.text);
    let later =
        support::send_json(&app, "POST", &format!("{expire}?in_hours=48"), &rotators.key, Value::Null).await;
    assert!(expires(&later.json["data"]) - wowlogs_schemas::now_ms() > 47 * 3_600_000, "{}", later.text);
    for bad in ["in_hours=0", "in_hours=87601"] {
        let refused =
            support::send_json(&app, "POST", &format!("{expire}?{bad}"), &rotators.key, Value::Null).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}: {}", refused.text);
    }

    // Past its expiry (here set by the registry, as the overlap's end would) it is refused.
    registry.set_expiry(&old_id, Some(wowlogs_schemas::now_ms() - 1), &support::actor()).await.unwrap();
    let after = support::app().await;
    let refused = get(&after, "/api/v1/encounters", Some(&old_key)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
    assert!(refused.text.contains("expired"), "{}", refused.text);
    assert_eq!(get(&after, "/api/v1/encounters", Some(&new_key)).await.status, StatusCode::OK);
    let listed = get(&after, &keys, Some(&rotators.key)).await;
    let old = listed.json["data"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == old_id.as_str())
        .cloned();
    assert_eq!(old.map(|k| k["expired"].clone()), Some(Value::Bool(true)), "{}", listed.text);
    let again = support::send_json(&after, "POST", &rotate, &rotators.key, Value::Null).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "an expired key is not rotated: {}", again.text);
    let bad_expiry = serde_json::json!({"permissions": ["query"], "expires_in_days": 0});
    let refused = support::send_json(&app, "POST", &keys, &rotators.key, bad_expiry).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    let audit = get(&after, "/api/v1/admin/audit", Some(&rotators.key)).await;
    let rotated_entry =
        items(&audit.json).iter().any(|e| e["action"] == "api_key.rotate" && e["target"] == old_id.as_str());
    assert!(rotated_entry, "{}", audit.text);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn admins_see_their_guild_its_keys_activity_and_audit_trail() {
    let (app, a) = (app().await, &world().a);
    let guilds = get(&app, "/api/v1/admin/guilds?limit=5", Some(&a.key)).await;
    assert_eq!(guilds.status, StatusCode::OK, "{}", guilds.text);
    assert_eq!(
        (guilds.json["guild_id"].as_i64(), guilds.json["guild_name"].as_str()),
        (Some(a.guild_id), Some("Loothing"))
    );
    let listed = guilds.json["data"]["guilds"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "a guild's admin key sees its own guild only");
    assert_eq!(
        (listed[0]["guild_id"].as_i64(), listed[0]["guild_name"].as_str(), listed[0]["server"].as_str()),
        (Some(a.guild_id), Some("Loothing"), Some("Stormrage"))
    );
    assert_eq!(listed[0]["total_encounters"].as_u64(), Some(a.fight_ids.len() as u64));
    assert!(listed[0]["total_characters"].as_u64().unwrap() > 0 && listed[0]["last_activity"].is_string());
    assert_eq!(guilds.json["pagination"]["limit"], 5);
    let one = get(&app, &format!("/api/v1/admin/guilds/{}", a.guild_id), Some(&a.key)).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(
        (one.json["guild_name"].as_str(), one.json["data"]["guild_name"].as_str()),
        (Some("Loothing"), Some("Loothing"))
    );
    assert_eq!(one.json["data"]["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        (one.json["data"]["timezone"].as_str(), one.json["data"]["settings_json"].is_object()),
        (Some("UTC"), true)
    );
    assert!(!one.text.contains(&a.key) && !one.text.contains("key_hash"), "never a key or its hash");
    let other = get(&app, &format!("/api/v1/admin/guilds/{}", world().b.guild_id), Some(&a.key)).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "another guild does not exist for a guild's key");
    let activity =
        get(&app, &format!("/api/v1/admin/guilds/{}/activity?days=7", a.guild_id), Some(&a.key)).await;
    assert_eq!(activity.status, StatusCode::OK, "{}", activity.text);
    let days = activity.json["data"]["activity"].as_array().unwrap();
    assert_eq!(
        days.iter().map(|d| d["uploads"].as_u64().unwrap()).sum::<u64>(),
        a.log_ids.len() as u64,
        "every log uploaded today"
    );
    assert!(days.iter().all(|d| d["activity_date"].is_string() && d["total_minutes"].is_number()));
    let audit = get(&app, "/api/v1/admin/audit", Some(&a.key)).await;
    let actions: Vec<&str> = items(&audit.json).iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"guild.create") && actions.contains(&"api_key.create"), "{actions:?}");
    assert!(items(&audit.json).iter().all(|e| e["guild_id"] == a.guild_id));
    let others =
        get(&app, &format!("/api/v1/admin/audit?guild_id={}", world().b.guild_id), Some(&a.key)).await;
    assert_eq!(others.status, StatusCode::NOT_FOUND, "a guild's key reads its own trail only");
    let too_far =
        get(&app, &format!("/api/v1/admin/guilds/{}/activity?days=1000", a.guild_id), Some(&a.key)).await;
    assert_eq!(too_far.status, StatusCode::BAD_REQUEST);
    let create = send(
        &app,
        Request::post("/api/v1/admin/guilds")
            .header("authorization", format!("Bearer {}", a.key))
            .header("content-type", "application/json")
            .body(Body::from(r#"{"guild_name": "Mine Now"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN, "only instance administrators create guilds");
    assert!(create.json["error"]["message"].as_str().unwrap().contains("instance-admin"));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn legacy_keys_work_with_a_deprecation_header_and_request_ids_are_propagated() {
    let (app, a) = (app().await, &world().a);
    let request = Request::get("/api/v1/encounters/stats")
        .header("x-api-key", &a.key)
        .header("x-request-id", "raid-night-42")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["deprecation"], "true");
    assert_eq!(answer.headers["x-request-id"], "raid-night-42");
    let fresh = get(&app, "/api/v1/encounters/stats", Some(&a.key)).await;
    assert!(fresh.headers.get("deprecation").is_none());
    assert_eq!(fresh.headers["x-request-id"].len(), 36, "a new UUID");
    let unknown = get(&app, "/api/v1/nothing-here", Some(&a.key)).await;
    assert_eq!(
        (unknown.status, unknown.json["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert!(unknown.headers.contains_key("x-request-id"));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_key_over_its_request_rate_gets_429_with_retry_after() {
    let a = &world().a;
    let mut config = config(&world().store);
    config.requests_per_minute = std::num::NonZeroU32::new(3).unwrap();
    let app = app_with(config).await;
    for _ in 0..3 {
        assert_eq!(get(&app, "/api/v1/encounters/stats", Some(&a.key)).await.status, StatusCode::OK);
    }
    let limited = get(&app, "/api/v1/encounters/stats", Some(&a.key)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.text);
    assert!(limited.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(limited.json["error"]["code"], "rate_limited");
    let other = get(&app, "/api/v1/encounters/stats", Some(&world().b.key)).await;
    assert_eq!(other.status, StatusCode::OK, "another key has its own bucket");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn cached_answers_stay_within_their_guild() {
    let mut config = config(&world().store);
    config.cache_ttl = std::time::Duration::from_secs(60);
    let app = app_with(config).await;
    let (a, b) = (&world().a, &world().b);
    let first = get(&app, "/api/v1/encounters", Some(&a.key)).await;
    let again = get(&app, "/api/v1/encounters", Some(&a.key)).await;
    assert_eq!(first.text, again.text);
    let other = get(&app, "/api/v1/encounters", Some(&b.key)).await;
    assert_eq!(
        other.json["guild_id"].as_i64(),
        Some(b.guild_id),
        "same URL, other guild: not A's cached answer"
    );
}

/// The answer caches' bytes, from `/metrics`.
async fn cache_bytes(app: &axum::Router) -> u64 {
    let metrics = get(app, "/metrics", None).await.text;
    let line = metrics.lines().find(|l| l.starts_with("wowlogs_api_cache_bytes ")).expect("the cache gauge");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// A metric's value from a `/metrics` text, by its line's start (name and labels).
fn metric(text: &str, series: &str) -> f64 {
    let line = text.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("no {series}: {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Operators see how often the caches spare ClickHouse (the hit-rate alert reads it),
/// and each service's own CPU, memory, files and threads.
#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn cache_lookups_are_counted_as_hits_and_misses_and_the_process_is_measured() {
    let mut config = config(&world().store);
    config.cache_ttl = std::time::Duration::from_secs(60);
    let (app, internal) = apps_with(config).await;
    let a = &world().a;
    for _ in 0..3 {
        assert_eq!(get(&app, "/api/v1/encounters/stats", Some(&a.key)).await.status, StatusCode::OK);
    }
    let text = get(&internal, "/metrics", None).await.text;
    assert_eq!(metric(&text, "wowlogs_api_cache_lookups_total{outcome=\"miss\"}"), 1.0, "computed once");
    assert_eq!(
        metric(&text, "wowlogs_api_cache_lookups_total{outcome=\"hit\"}"),
        2.0,
        "then answered from the cache"
    );
    assert!(metric(&text, "process_resident_memory_bytes") > 1e6);
    assert!(metric(&text, "process_threads") >= 1.0);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn cache_entries_come_from_validated_parameters_and_the_cache_holds_its_byte_budget() {
    let mut config = config(&world().store);
    config.cache_ttl = std::time::Duration::from_secs(60);
    config.cache_max_bytes = 64 * 1024;
    let (app, internal) = apps_with(config).await;
    let a = &world().a;
    let one = get(&app, "/api/v1/encounters/stats", Some(&a.key)).await;
    assert_eq!(one.status, StatusCode::OK);
    let after_one = cache_bytes(&internal).await;
    assert!(after_one > 0, "the answer is cached");
    // Query strings the endpoint ignores, and spellings of the same page, reuse it.
    for i in 0..300 {
        let junk = get(&app, &format!("/api/v1/encounters/stats?junk={i}"), Some(&a.key)).await;
        assert_eq!(junk.text, one.text);
    }
    assert_eq!(cache_bytes(&internal).await, after_one, "no entry per ignored query string");
    let page = get(&app, "/api/v1/encounters?page=1", Some(&a.key)).await.text;
    let with_bytes = cache_bytes(&internal).await;
    assert_eq!(get(&app, "/api/v1/encounters?page=01", Some(&a.key)).await.text, page);
    assert_eq!(cache_bytes(&internal).await, with_bytes, "page=01 is page=1");
    // Many distinct answers: the cache stays within its bytes.
    for page in 1..400 {
        get(&app, &format!("/api/v1/encounters?page={page}&per_page=500"), Some(&a.key)).await;
    }
    let held = cache_bytes(&internal).await;
    assert!(held <= 64 * 1024, "{held} bytes held, over the 64 KiB budget");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn health_reports_each_component_and_metrics_count_requests() {
    let (app, internal) = apps_with(config(&world().store)).await;
    let health = get(&app, "/health", None).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    assert_eq!(health.json["components"]["clickhouse"]["status"], "up");
    assert!(health.json["components"]["clickhouse"]["latency_ms"].as_f64().is_some());
    // The specification's fields: status, service, database, timestamp.
    assert_eq!(health.json["service"], "query-api", "{}", health.text);
    assert_eq!(health.json["database"], "connected", "{}", health.text);
    assert!(["healthy", "degraded"].contains(&health.json["status"].as_str().unwrap()), "{}", health.text);
    assert!(health.json["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{}", health.text);
    assert!(health.json["components"]["kafka"]["status"].is_string());
    assert_eq!(get(&app, "/health/live", None).await.status, StatusCode::OK);
    let detailed = get(&app, "/health/detailed", None).await;
    assert_eq!(
        detailed.json["components"]["clickhouse"]["status"], "up",
        "the specification's path: {}",
        detailed.text
    );
    assert_eq!(get(&app, "/health/ready", None).await.status, StatusCode::OK);
    get(&app, "/api/v1/progress", Some(&world().a.key)).await;
    assert_eq!(get(&app, "/metrics", None).await.status, StatusCode::NOT_FOUND, "not on the public port");
    let metrics = get(&internal, "/metrics", None).await;
    assert!(
        metrics.text.contains("wowlogs_api_http_requests_total{route=\"/api/v1/progress\",status=\"200\"} 1"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains(&format!(
        "wowlogs_api_guild_request_duration_seconds_count{{guild_id=\"{}\",status=\"200\"}}",
        world().a.guild_id
    )));
    assert!(metrics.text.contains("wowlogs_api_http_request_duration_seconds_bucket"));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn the_openapi_document_and_the_offline_docs_page_cover_every_route() {
    let app = app().await;
    let document = get(&app, "/openapi.json", None).await;
    assert_eq!(document.status, StatusCode::OK);
    assert!(document.json["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&String> = document.json["paths"].as_object().unwrap().keys().collect();
    assert!(paths.len() >= 16, "{paths:?}");
    let reference = get(&app, "/reference", None).await;
    assert_eq!(reference.status, StatusCode::OK);
    for path in &paths {
        assert!(reference.text.contains(&format!("<code>{path}</code>")), "/reference lacks {path}");
    }
    assert!(
        !reference.text.contains("<script") && !reference.text.contains("https://"),
        "nothing fetched from elsewhere"
    );
    // Swagger UI and ReDoc from the binary: every script and style they load is served
    // here (tests/browser.rs in the CLI renders them in Chromium with no network).
    let swagger = get(&app, "/docs/", None).await;
    assert_eq!(swagger.status, StatusCode::OK, "{}", swagger.text);
    let initializer = get(&app, "/docs/swagger-initializer.js", None).await;
    assert!(
        initializer.text.contains("/openapi.json") && initializer.text.contains("\"validatorUrl\": \"none\""),
        "{}",
        initializer.text
    );
    let redoc = get(&app, "/redoc", None).await;
    assert_eq!(redoc.status, StatusCode::OK);
    for page in [&swagger, &redoc] {
        for source in page.text.split("src=\"").skip(1).map(|s| &s[..s.find('"').unwrap()]) {
            assert!(!source.contains("//"), "a script from elsewhere: {source}");
            let path = if source.starts_with('/') {
                source.to_string()
            } else {
                format!("/docs/{}", source.trim_start_matches("./"))
            };
            let script = get(&app, &path, None).await;
            assert_eq!(script.status, StatusCode::OK, "{path}");
            assert!(!script.text.is_empty(), "{path}");
        }
        assert!(!page.text.contains("<script>"), "no inline script (the entry point's CSP refuses them)");
    }
}

/// A crafted boss fight: `players` players whose names are 60,000 characters each hit
/// the boss once, then die (what a hostile log can make of one fight).
fn crafted_fight(players: usize) -> String {
    let stamp = |second: usize| format!("1/1/2025 20:{:02}:{:02}.000", second / 60, second % 60);
    let name = |i: usize| format!("{}{i:05}", "n".repeat(60_000));
    let mut log = vec![format!("{}  ENCOUNTER_START,2940,\"Mekgineer Thermaplugg\",198,25,90", stamp(0))];
    for i in 0..players {
        log.push(format!(
            "{}  SPELL_DAMAGE,Player-1-{i:05},\"{}\",0x511,0x0,Creature-0-1-2-3-4-5,\"Dummy\",0xa48,0x0,1,\"Bolt\",0x4,100,100,-1,4,0,0,0,nil,nil,nil",
            stamp(1),
            name(i)
        ));
        log.push(format!(
            "{}  UNIT_DIED,0000000000000000,nil,0x80000000,0x80000000,Player-1-{i:05},\"{}\",0x511,0x0,0",
            stamp(2),
            name(i)
        ));
    }
    log.push(format!("{}  ENCOUNTER_END,2940,\"Mekgineer Thermaplugg\",198,25,0", stamp(3)));
    log.join("\n") + "\n"
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_crafted_fight_answers_within_its_bounds_in_detail_and_exports() {
    use wowlogs_query_api::http::encounters::{MAX_DETAIL_DEATHS, MAX_DETAIL_PLAYERS};
    let world = world();
    let registry = wowlogs_tenancy::Registry::new(world.store.clone());
    let client = world.store.client();
    let mut crafted = tenant(&registry, &client, "Crafted Fight Guild", &[]).await;
    let players = MAX_DETAIL_PLAYERS + 200;
    let log = crafted_fight(players);
    let loaded = support::load::load_log(
        &client,
        crafted.guild_id,
        9_001,
        "00000000-0000-4000-8000-000000009001",
        &mut log.as_bytes(),
        false,
    )
    .await;
    assert_eq!(loaded.fights, 1);
    crafted.fight_ids = loaded.fight_ids;
    let (app, id) = (app().await, crafted.fight_ids[0]);

    let detail = get(&app, &format!("/api/v1/encounters/{id}"), Some(&crafted.key)).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", &detail.text[..200.min(detail.text.len())]);
    let data = &detail.json["data"];
    assert_eq!(data["players"].as_array().unwrap().len(), MAX_DETAIL_PLAYERS);
    assert!(data["deaths"].as_array().unwrap().len() <= MAX_DETAIL_DEATHS);
    assert_eq!(data["truncated"], true, "the answer says it is cut");
    // 1,200 names of 60,000 characters, listed with the players and again with the deaths,
    // are 144 MB; bounded names and lists keep the answer about a megabyte (1,030,013 bytes).
    eprintln!("crafted fight of {players} players: detail answer {} bytes", detail.text.len());
    assert!(detail.text.len() < 2 << 20, "{} bytes", detail.text.len());
    let name = data["players"][0]["name"].as_str().unwrap();
    assert_eq!(name.chars().count(), wowlogs_store::rows::MAX_NAME_CHARS);

    let csv = get(&app, &format!("/api/v1/encounters/{id}/export?format=csv"), Some(&crafted.key)).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.text.lines().count(), 1 + MAX_DETAIL_PLAYERS);
    assert!(csv.text.len() < 1 << 20, "{} bytes", csv.text.len());

    // A real fight is whole and says so.
    let a = &world.a;
    let real = get(&app, &format!("/api/v1/encounters/{}", a.fight_ids[0]), Some(&a.key)).await;
    assert_eq!(real.json["data"]["truncated"], false);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn an_upload_of_many_logs_lists_its_first_thousand_and_counts_them_all() {
    use wowlogs_query_api::http::logs::MAX_UPLOAD_LOGS;
    use wowlogs_store::rows::{LogRow, insert_rows};
    let world = world();
    let registry = wowlogs_tenancy::Registry::new(world.store.clone());
    let client = world.store.client();
    let guild = tenant(&registry, &client, "Many Logs Guild", &[]).await;
    // An upload from before logs per upload were bounded: 1,005 logs, the last failed.
    let upload_id = "00000000-0000-4000-8000-00000000abcd";
    let total = MAX_UPLOAD_LOGS + 5;
    let rows: Vec<LogRow> = (0..total as i64)
        .map(|i| LogRow {
            guild_id: guild.guild_id,
            log_id: 50_000 + i,
            content_sha256: format!("{i:064x}"),
            upload_id: if i == 0 { upload_id.to_string() } else { format!("{upload_id}-{i}") },
            file_name: format!("many.zip:{i}.txt"),
            state: if i + 1 == total as i64 { 4 } else { 3 },
            bytes_read: 1,
            lines: 1,
            events: 1,
            dead_letters: 0,
            reason: String::new(),
            updated: 1_700_000_000,
            version: 1,
        })
        .collect();
    insert_rows(&client, &rows).await.unwrap();
    let app = app().await;
    let upload = get(&app, &format!("/api/v1/uploads/{upload_id}"), Some(&guild.key)).await;
    assert_eq!(upload.status, StatusCode::OK, "{}", &upload.text[..200.min(upload.text.len())]);
    assert_eq!(upload.json["data"]["logs"].as_array().unwrap().len() as u64, MAX_UPLOAD_LOGS);
    assert_eq!(upload.json["data"]["logs_total"], total);
    assert_eq!(upload.json["data"]["status"], "failed", "the unlisted failed log still counts");
}

/// Kiritimati is UTC+14 all year: a fight's date there is its UTC start plus 14 hours.
const KIRITIMATI: &str = "Pacific/Kiritimati";

fn kiritimati_date(start_utc_s: i64) -> String {
    chrono::DateTime::from_timestamp(start_utc_s + 14 * 3600, 0).unwrap().date_naive().to_string()
}

fn utc_date(start_utc_s: i64) -> String {
    chrono::DateTime::from_timestamp(start_utc_s, 0).unwrap().date_naive().to_string()
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn per_day_views_count_days_in_the_guilds_time_zone_and_in_utc_when_asked() {
    #[derive(Debug, clickhouse::Row, serde::Deserialize)]
    struct Start {
        start: u32,
        name: String,
    }
    let store = &world().store;
    let registry = wowlogs_tenancy::Registry::new(store.clone());
    let client = store.client();
    let night =
        tenant(&registry, &client, "Night Owls", &[("retail_sl_9.2_raid_wipe_snippet.txt", 9_101)]).await;
    // A pull yesterday at 23:30 UTC: today in Kiritimati, yesterday in UTC.
    let now_s = wowlogs_schemas::now_ms() / 1000;
    let late = (now_s / 86_400 - 1) * 86_400 + 23 * 3600 + 1800;
    client
        .query(
            "INSERT INTO encounters (guild_id, log_id, start_line, start, start_ms, kind, name, kill, duration_ms, version) \
             VALUES (?, 9102, 1, toDateTime(?, 'UTC'), ?, 'encounter', 'Late Boss', 0, 60000, 1)",
        )
        .bind(night.guild_id)
        .bind(late)
        .bind(late * 1000)
        .execute()
        .await
        .unwrap();
    let update = wowlogs_tenancy::GuildUpdate { timezone: Some(KIRITIMATI.into()), ..Default::default() };
    registry.update_guild(night.guild_id, &update, &support::actor()).await.unwrap();
    // An unknown zone is refused by name, before anything changes.
    let unknown =
        wowlogs_tenancy::GuildUpdate { timezone: Some("Atlantis/Lost_City".into()), ..Default::default() };
    let refused = registry.update_guild(night.guild_id, &unknown, &support::actor()).await.unwrap_err();
    assert!(refused.to_string().contains("Atlantis/Lost_City"), "{refused}");

    let app = app().await;
    let activity = |zone: &'static str| {
        let (app, key, guild) = (app.clone(), night.key.clone(), night.guild_id);
        async move {
            let uri = format!("/api/v1/admin/guilds/{guild}/activity?days=3{zone}");
            let answer = get(&app, &uri, Some(&key)).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
            answer.json["data"].clone()
        }
    };
    let dates = |data: &Value| -> Vec<(String, u64)> {
        data["activity"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["encounters"].as_u64().unwrap() > 0)
            .map(|d| (d["activity_date"].as_str().unwrap().to_string(), d["encounters"].as_u64().unwrap()))
            .collect()
    };
    let own = activity("").await;
    assert_eq!(own["timezone"], KIRITIMATI);
    assert_eq!(dates(&own), vec![(kiritimati_date(late), 1)], "{own}");
    let utc = activity("&timezone=UTC").await;
    assert_eq!(utc["timezone"], "UTC");
    assert_eq!(dates(&utc), vec![(utc_date(late), 1)], "{utc}");
    assert_ne!(kiritimati_date(late), utc_date(late));
    let bad = get(
        &app,
        &format!("/api/v1/admin/guilds/{}/activity?timezone=Mars", night.guild_id),
        Some(&night.key),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);

    // A character's item-level trend: one point per date of its fights, in either zone.
    let player = client
        .query("SELECT toUInt32(start) AS start, name FROM encounter_players FINAL WHERE guild_id = ? AND isNotNull(item_level) AND name != '' LIMIT 1")
        .bind(night.guild_id)
        .fetch_one::<Start>()
        .await
        .unwrap();
    let trend = |zone: &'static str| {
        let (app, key, name) = (app.clone(), night.key.clone(), player.name.clone());
        async move {
            let uri = format!("/api/v1/characters/{}{zone}", wowlogs_http::percent_encode(&name));
            let answer = get(&app, &uri, Some(&key)).await;
            assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.text);
            answer.json["data"].clone()
        }
    };
    let own = trend("").await;
    assert_eq!(own["timezone"], KIRITIMATI);
    assert_eq!(own["item_level_trend"][0]["day"], kiritimati_date(i64::from(player.start)).as_str(), "{own}");
    let utc = trend("?timezone=UTC").await;
    assert_eq!(utc["item_level_trend"][0]["day"], utc_date(i64::from(player.start)).as_str(), "{utc}");
}

/// Each player's abilities and auras through the API: Xamymage in the Dimensius wipe
/// (auras read off the fixture in core/encounters/tests/abilities.rs); each player's
/// abilities add up to their damage and healing done.
#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_fight_breaks_each_player_down_by_ability_and_aura() {
    let (app, a) = (app().await, &world().a);
    let id = dimensius_wipe(&app, &a.key).await;
    let all = get(&app, &format!("/api/v1/encounters/{id}/players"), Some(&a.key)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let players = all.json["data"]["players"].as_array().unwrap();
    assert!(players.len() >= 10, "{}", players.len());
    for player in players {
        let abilities = player["abilities"].as_array().unwrap();
        let done = abilities.iter().filter(|a| a["kind"] != "taken").count();
        if done < 25 {
            let sum = |kind: &str| -> i64 {
                abilities.iter().filter(|a| a["kind"] == kind).map(|a| a["amount"].as_i64().unwrap()).sum()
            };
            assert_eq!(sum("damage"), player["damage_done"].as_i64().unwrap(), "{}", player["name"]);
            assert_eq!(sum("heal"), player["healing_done"].as_i64().unwrap(), "{}", player["name"]);
        }
    }
    let one =
        get(&app, &format!("/api/v1/encounters/{id}/players?player=Xamymage-Kazzak-EU"), Some(&a.key)).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    let mage = &one.json["data"]["players"].as_array().unwrap()[0];
    assert_eq!(one.json["data"]["players"].as_array().unwrap().len(), 1);
    let aura = |spell_id: i64| {
        let found = mage["auras"].as_array().unwrap().iter().find(|a| a["spell_id"] == spell_id).cloned();
        found.unwrap_or_else(|| panic!("{spell_id}: {}", mage["auras"]))
    };
    assert_eq!(
        (aura(212_653)["aura"].as_str(), aura(212_653)["uptime_ms"].as_i64()),
        (Some("Shimmer"), Some(646))
    );
    assert_eq!(
        (aura(1_229_325)["debuff"].as_bool(), aura(1_229_325)["uptime_ms"].as_i64()),
        (Some(true), Some(2_006))
    );
    let top = &players[0]["abilities"].as_array().unwrap()[0];
    assert!(
        top["hits"].as_i64().unwrap() >= top["crits"].as_i64().unwrap()
            && top["amount"].as_i64().unwrap() > 0
    );
    let rate = top["crits"].as_f64().unwrap() / top["hits"].as_f64().unwrap();
    assert_eq!(top["crit_rate"].as_f64(), Some(rate));
    // The raid's damage done by ability is the players' lines added up.
    let raid = get(&app, &format!("/api/v1/encounters/{id}/abilities"), Some(&a.key)).await;
    let done = raid.json["data"]["damage_done"].as_array().unwrap();
    assert!(!done.is_empty() && !raid.json["data"]["healing_done"].as_array().unwrap().is_empty());
    let (ability, amount) = (done[0]["ability"].as_str().unwrap(), done[0]["amount"].as_i64().unwrap());
    let added: i64 = players
        .iter()
        .flat_map(|p| p["abilities"].as_array().unwrap().iter())
        .filter(|l| l["kind"] == "damage" && l["ability"] == ability && l["spell_id"] == done[0]["spell_id"])
        .map(|l| l["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(amount, added, "{ability}");
    let missing =
        get(&app, &format!("/api/v1/encounters/{id}/players?player=Nobody-Nowhere"), Some(&a.key)).await;
    assert_eq!(missing.status, StatusCode::OK, "{}", missing.text);
    assert_eq!(missing.json["data"]["players"], serde_json::json!([]), "a filter that matches nobody");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_full_export_holds_every_players_numbers_and_resumes_after_a_cut() {
    let (app, w) = (app().await, world());
    let a = &w.a;
    let full = get(&app, "/api/v1/encounters/export?format=ndjson&full=true", Some(&a.key)).await;
    assert_eq!(full.status, StatusCode::OK, "{}", full.text);
    let lines: Vec<Value> = full.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), a.fight_ids.len(), "every fight once");
    // Per player: damage done, healing done, damage taken, deaths; and the deaths listed.
    let mut exported: std::collections::BTreeMap<String, [i64; 4]> = Default::default();
    let mut death_lines = 0;
    for line in &lines {
        assert_eq!(line["guild_id"].as_i64(), Some(a.guild_id));
        let fight = &line["data"];
        assert!(fight["id"].is_string() && fight["rounds"].is_array(), "{fight}");
        for p in fight["players"].as_array().unwrap() {
            let sums = exported.entry(p["player_guid"].as_str().unwrap().to_string()).or_default();
            for (i, field) in ["damage_done", "healing_done", "damage_taken", "deaths"].iter().enumerate() {
                sums[i] += p[field].as_i64().unwrap();
            }
            assert!(p.get("log_id").is_none(), "the grouping columns are not shown: {p}");
        }
        death_lines += fight["deaths"].as_array().unwrap().len() as u64;
    }
    let stored: Vec<(String, i64, i64, i64, i64)> = w
        .store
        .client()
        .query(
            "SELECT player_guid, sum(damage_done), sum(healing_done), sum(damage_taken), sum(deaths) \
             FROM encounter_players FINAL WHERE guild_id = ? AND (log_id, start_line) IN \
             (SELECT log_id, start_line FROM encounters FINAL WHERE guild_id = ? AND round IS NULL) \
             GROUP BY player_guid ORDER BY player_guid",
        )
        .bind(a.guild_id)
        .bind(a.guild_id)
        .fetch_all()
        .await
        .unwrap();
    let stored: std::collections::BTreeMap<String, [i64; 4]> =
        stored.into_iter().map(|(guid, d, h, t, n)| (guid, [d, h, t, n])).collect();
    assert!(!stored.is_empty());
    assert_eq!(exported, stored, "every player's totals, as stored");
    let deaths: u64 = w
        .store
        .client()
        .query("SELECT count() FROM encounter_deaths FINAL WHERE guild_id = ?")
        .bind(a.guild_id)
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(death_lines, deaths, "every death, in its fight");
    assert!(deaths > 0);
    for name in &w.b.players {
        assert!(!full.text.contains(name.as_str()), "none of B's players: {name}");
    }

    // The same fights as one JSON document, and as CSV one row per player.
    let json = get(&app, "/api/v1/encounters/export?full=true", Some(&a.key)).await;
    let fights = json.json["encounters"].as_array().unwrap();
    assert_eq!(fights.len(), lines.len());
    assert_eq!(fights[0]["players"], lines[0]["data"]["players"]);
    let csv = get(&app, "/api/v1/encounters/export?format=csv&full=true", Some(&a.key)).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let damage_at = reader.headers().unwrap().iter().position(|h| h == "damage_done").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let players: usize = lines.iter().map(|l| l["data"]["players"].as_array().unwrap().len()).sum();
    assert_eq!(rows.len(), players, "one row per player of each fight");
    let damage: i64 = rows.iter().map(|r| r[damage_at].parse::<i64>().unwrap()).sum();
    assert_eq!(damage, stored.values().map(|s| s[0]).sum::<i64>());

    // A download cut after some fights resumes after the last one it got.
    let cut = lines.len() / 2;
    assert!(cut > 0, "enough fights to cut");
    let last = lines[cut - 1]["data"]["id"].as_str().unwrap();
    let rest =
        get(&app, &format!("/api/v1/encounters/export?format=ndjson&full=true&after={last}"), Some(&a.key))
            .await;
    let rest: Vec<Value> = rest.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rest, lines[cut..], "the fights after the cut, whole");
    let plain =
        get(&app, &format!("/api/v1/encounters/export?format=ndjson&after={last}"), Some(&a.key)).await;
    assert_eq!(plain.text.lines().count(), lines.len() - cut, "the plain export resumes the same way");
    let b_fight = w.b.fight_ids[0];
    let elsewhere = get(&app, &format!("/api/v1/encounters/export?after={b_fight}"), Some(&a.key)).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "B's fight is no place to resume from: {}",
        elsewhere.text
    );
    let bad = get(&app, "/api/v1/encounters/export?after=yesterday", Some(&a.key)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

/// Every player's totals over every fight (Solo Shuffle rounds included) of a guild:
/// damage and healing done, overhealing, absorbs, damage taken, deaths, casts,
/// interrupts, dispels; and the guild's deaths by killing blow.
async fn player_totals(
    client: &clickhouse::Client,
    guild: i64,
) -> (std::collections::BTreeMap<String, Vec<i64>>, Vec<(String, String, i64)>) {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Totals {
        player_guid: String,
        totals: Vec<i64>,
    }
    let totals: Vec<Totals> = client
        .query(
            "SELECT player_guid, [sum(damage_done), sum(healing_done), sum(overhealing), sum(absorbs_done), \
             sum(damage_taken), sum(deaths), sum(casts), sum(interrupts), sum(dispels)] AS totals \
             FROM encounter_players FINAL WHERE guild_id = ? GROUP BY player_guid ORDER BY player_guid",
        )
        .bind(guild)
        .fetch_all()
        .await
        .unwrap();
    let deaths: Vec<(String, String, i64)> = client
        .query(
            "SELECT player_guid, ability, sum(amount) FROM encounter_deaths FINAL WHERE guild_id = ? \
             GROUP BY player_guid, ability ORDER BY player_guid, ability",
        )
        .bind(guild)
        .fetch_all()
        .await
        .unwrap();
    (totals.into_iter().map(|t| (t.player_guid, t.totals)).collect(), deaths)
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_full_export_imported_into_a_fresh_guild_gives_every_player_the_same_totals() {
    // Every real log, in a guild of a database of its own.
    let store = wowlogs_store::StoreSettings::new(
        support::clickhouse_url(),
        wowlogs_testkit::unique("wowlogs_test_reimport"),
    );
    wowlogs_store::migrate(&store).await.unwrap();
    let (registry, client) = (wowlogs_tenancy::Registry::new(store.clone()), store.client());
    let source = tenant(&registry, &client, "Exporters", &[]).await;
    for (i, log) in wowlogs_testkit::all_fixtures().iter().enumerate() {
        let mut input = std::io::BufReader::new(std::fs::File::open(log).unwrap());
        let upload = format!("{:08x}-0000-4000-8000-{i:012x}", source.guild_id);
        support::load::load_log(&client, source.guild_id, 9_000 + i as i64, &upload, &mut input, false).await;
    }
    let fresh = tenant(&registry, &client, "Importers", &[]).await;
    let app = support::app_with(config(&store)).await;

    let export = get(&app, "/api/v1/encounters/export?format=ndjson&full=true", Some(&source.key)).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    let file = std::env::temp_dir().join(wowlogs_testkit::unique("reimport") + ".ndjson");
    std::fs::write(&file, &export.text).unwrap();
    let import = |guild: i64| {
        let (store, file) = (store.clone(), file.clone());
        async move {
            let opened = std::io::BufReader::new(std::fs::File::open(&file).unwrap());
            let mut reader = wowlogs_store::import::ExportReader::new(opened, 64);
            let mut importer = wowlogs_store::import::Importer::new(guild);
            loop {
                let fights = reader.next_chunk().unwrap();
                if fights.is_empty() {
                    break;
                }
                importer.write(&store, &fights).await.unwrap();
            }
            assert_eq!(reader.source_guild, Some(source.guild_id));
            importer.imported
        }
    };
    let imported = import(fresh.guild_id).await;
    let lines: Vec<Value> = export.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let rounds: usize = lines.iter().map(|l| l["data"]["rounds"].as_array().unwrap().len()).sum();
    assert_eq!((imported.fights as usize, imported.rounds as usize), (lines.len(), rounds));
    assert!(rounds > 0, "the Solo Shuffle's rounds are exported with the match");
    assert_eq!(imported.already, 0);
    // The zip's players and deaths hold the rounds' too, as many as the NDJSON.
    let (status, _, zipped) =
        support::get_bytes(&app, "/api/v1/encounters/export?format=zip", &source.key).await;
    assert_eq!(status, StatusCode::OK);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped)).unwrap();
    let mut rows = |name: &str| csv::Reader::from_reader(archive.by_name(name).unwrap()).records().count();
    let lines_of = |part: &str| -> usize {
        let fights = lines.iter().map(|l| &l["data"]);
        let all = fights.flat_map(|f| std::iter::once(f).chain(f["rounds"].as_array().unwrap()));
        all.map(|f| f[part].as_array().unwrap().len()).sum()
    };
    assert_eq!(rows("players.csv"), lines_of("players"));
    assert_eq!(rows("deaths.csv"), lines_of("deaths"));
    assert_eq!(rows("rounds.csv"), rounds);

    // Every player's totals, every death, as the source guild has them.
    let (exported, exported_deaths) = player_totals(&client, source.guild_id).await;
    let (reimported, reimported_deaths) = player_totals(&client, fresh.guild_id).await;
    assert!(exported.len() > 50, "every log's players: {}", exported.len());
    assert_eq!(reimported, exported, "every player's totals");
    assert_eq!(reimported_deaths, exported_deaths, "every death and its killing blow");

    // Through the API: the guild's totals, each player's page, and the export again
    // (the same fights, under the fresh guild's ids).
    let stats = |key: String| {
        let app = app.clone();
        async move { get(&app, "/api/v1/encounters/stats", Some(&key)).await.json["statistics"].clone() }
    };
    let (theirs, ours) = (stats(source.key.clone()).await, stats(fresh.key.clone()).await);
    assert!(theirs["total_encounters"].as_u64().unwrap() > 0, "{theirs}");
    assert_eq!(ours, theirs, "the guild's totals");
    let characters = |key: String| {
        let app = app.clone();
        async move {
            get(&app, "/api/v1/characters?per_page=500", Some(&key)).await.json["data"]["characters"].clone()
        }
    };
    let theirs = characters(source.key.clone()).await;
    assert!(theirs.as_array().is_some_and(|c| c.len() > 50), "{theirs}");
    assert_eq!(characters(fresh.key.clone()).await, theirs, "every character, seen as often and as recently");
    let again = get(&app, "/api/v1/encounters/export?format=ndjson&full=true", Some(&fresh.key)).await;
    let again: Vec<Value> = again.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(again.len(), lines.len());
    let strip = |fight: &Value| {
        let mut fight = fight["data"].clone();
        let object = fight.as_object_mut().unwrap();
        object.remove("id");
        for round in object["rounds"].as_array_mut().unwrap() {
            round.as_object_mut().unwrap().remove("id");
        }
        fight
    };
    for (theirs, ours) in lines.iter().zip(&again) {
        assert_eq!(strip(ours), strip(theirs), "the same fight, players and deaths");
        assert_eq!(ours["guild_id"].as_i64(), Some(fresh.guild_id));
    }

    // Importing the file again changes nothing.
    let twice = import(fresh.guild_id).await;
    assert_eq!((twice.fights, twice.already), (0, lines.len() as u64));
    assert_eq!(player_totals(&client, fresh.guild_id).await.0, exported);
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_keys_list_says_when_each_key_was_last_used() {
    let world = world();
    let registry = wowlogs_tenancy::Registry::new(world.store.clone());
    let users = tenant(&registry, &world.store.client(), "Key Users", &[]).await;
    let keys = support::keys(&world.store).await;
    let app = support::app_over(keys.clone());
    let before = wowlogs_schemas::now_ms();
    assert_eq!(get(&app, "/api/v1/encounters", Some(&users.key)).await.status, StatusCode::OK);
    assert!(keys.write_usage(&registry).await.unwrap() >= 1, "the key used is written");
    assert_eq!(keys.write_usage(&registry).await.unwrap(), 0, "once: nothing new since");
    let listed = get(&app, &format!("/api/v1/admin/guilds/{}/keys", users.guild_id), Some(&users.key)).await;
    let list = listed.json["data"]["keys"].as_array().unwrap().clone();
    let used = wowlogs_tenancy::key_id(&users.key);
    let of = |id: &str| list.iter().find(|k| k["key_id"] == id).unwrap()["last_used"].clone();
    let at = chrono::DateTime::parse_from_rfc3339(of(&used).as_str().unwrap()).unwrap().timestamp_millis();
    assert!(at >= before && at <= wowlogs_schemas::now_ms(), "{}", listed.text);
    let idle = wowlogs_tenancy::key_id(&users.upload_key);
    assert_eq!(of(&idle), Value::Null, "never used: {}", listed.text);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_zip_export_holds_a_csv_per_table_with_every_fight_player_and_death() {
    let (app, w) = (app().await, world());
    let a = &w.a;
    let (status, headers, bytes) =
        support::get_bytes(&app, "/api/v1/encounters/export?format=zip", &a.key).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(headers["content-type"], "application/zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name(name).unwrap(), &mut text).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let head: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        (head, rows)
    };
    let (_, fights) = read("encounters.csv");
    assert_eq!(fights.len(), a.fight_ids.len(), "every fight");
    let count = |sql: &str| {
        let client = w.store.client();
        let sql = sql.to_string();
        async move { client.query(&sql).bind(a.guild_id).fetch_one::<u64>().await.unwrap() }
    };
    let (head, players) = read("players.csv");
    let stored_players = count(
        "SELECT count() FROM encounter_players FINAL WHERE guild_id = ? AND (log_id, start_line) IN \
         (SELECT log_id, start_line FROM encounters FINAL WHERE round IS NULL)",
    )
    .await;
    assert_eq!(players.len() as u64, stored_players, "every player of every fight");
    let damage_at = head.iter().position(|h| h == "damage_done").unwrap();
    let damage: i64 = players.iter().map(|r| r[damage_at].parse::<i64>().unwrap()).sum();
    let stored_damage: i64 = w
        .store
        .client()
        .query(
            "SELECT sum(damage_done) FROM encounter_players FINAL WHERE guild_id = ? AND (log_id, start_line) IN \
             (SELECT log_id, start_line FROM encounters FINAL WHERE round IS NULL)",
        )
        .bind(a.guild_id)
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(damage, stored_damage);
    let (_, deaths) = read("deaths.csv");
    let stored_deaths = count("SELECT count() FROM encounter_deaths FINAL WHERE guild_id = ?").await;
    assert_eq!(deaths.len() as u64, stored_deaths, "every death");
    let (head, _) = read("rounds.csv");
    assert_eq!(head[0], "match_id", "rounds name their match");
}
