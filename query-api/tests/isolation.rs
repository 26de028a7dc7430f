//! Guild isolation, for every route the service documents (the router and the OpenAPI
//! document come from the same annotations, so a new route is in this matrix without
//! anyone adding it), against the real ClickHouse:
//! - no key, an unknown key: 401; a key of the guild lacking the route's permission: 403;
//! - guild A's key naming guild B's resources (path ids, `log_id` filters): 404, or an
//!   answer about A holding nothing of B's;
//! - injection attempts and oversized or malformed values in every parameter: 400, or an
//!   answer holding nothing of B's, and the tables intact.

mod support;

use axum::body::Body;
use axum::http::Request;
use axum::http::StatusCode;
use serde_json::Value;
use support::{Answer, Tenant, app, get, instance_key, send, send_json, tenant, world};
use wowlogs_query_api::http::docs::{operations, permission_of};
use wowlogs_query_api::public_document;
use wowlogs_store::rows::Count;

/// A route of the document: method, path template, permission, path and query
/// parameter names.
#[derive(Debug, Clone)]
struct Route {
    method: &'static str,
    path: String,
    permission: String,
    path_params: Vec<String>,
    query_params: Vec<String>,
}

/// The routes this service serves: its own part of the document (the upload service's
/// routes are merged in by the binary, `wowlogs_cli::api_docs`, and covered by the upload
/// service's own tests and, through the entry point, by `cli/tests/entry.rs`).
fn routes() -> Vec<Route> {
    let document = public_document([]);
    operations(&document)
        .into_iter()
        .map(|(method, path, operation)| {
            let parameters = operation.parameters.clone().unwrap_or_default();
            let named = |place: &str| {
                parameters
                    .iter()
                    .filter(|p| serde_json::to_value(&p.parameter_in).unwrap() == place)
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>()
            };
            Route {
                method,
                path: path.to_string(),
                permission: permission_of(operation)
                    .unwrap_or_else(|| panic!("{method} {path} declares no permission (security scope)")),
                path_params: named("path"),
                query_params: named("query"),
            }
        })
        .collect()
}

/// A request to a route with its method, with `key` if any.
async fn call(app: &axum::Router, route: &Route, uri: &str, key: Option<&str>) -> Answer {
    let mut request = Request::builder().method(route.method).uri(uri);
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

/// The path with `owner`'s resources in its parameters.
fn path_for(route: &Route, owner: &Tenant) -> String {
    let mut path = route.path.clone();
    for name in &route.path_params {
        let value = match (route.path.as_str(), name.as_str()) {
            (p, "id") if p.starts_with("/api/v1/encounters/") => owner.fight_ids[0].to_string(),
            (p, "guild_id") if p.starts_with("/api/v1/admin/guilds/") => owner.guild_id.to_string(),
            (p, "key_id") if p.starts_with("/api/v1/admin/guilds/") => wowlogs_tenancy::key_id(&owner.key),
            (p, "id") if p.starts_with("/api/v1/uploads/") => owner.upload_ids[0].clone(),
            (p, "log_id") if p.starts_with("/api/v1/logs/") => owner.log_ids[0].to_string(),
            (p, "name") if p.starts_with("/api/v1/characters/") => owner.players[0].clone(),
            (p, "guild_id") if p.starts_with("/api/v1/guilds/") => owner.guild_id.to_string(),
            // A member of the owner's roster (the world's rosters are its players).
            (p, "character_name") if p.contains("/progress/character/") => owner.players[0].clone(),
            _ => panic!(
                "the isolation matrix does not know parameter {{{name}}} of {}: teach path_for",
                route.path
            ),
        };
        path = path.replace(&format!("{{{name}}}"), &value.replace(' ', "%20"));
    }
    path
}

/// Parameters some routes require, so that a request reaches its query.
fn required_query(route: &Route) -> &'static str {
    match route.path.as_str() {
        path if path.ends_with("/search") => "?boss_name=a",
        // Mekgineer Thermaplugg, guild A's raid boss.
        path if path.ends_with("/pulls") => "?encounter_id=2940",
        _ => "",
    }
}

/// The key with every permission but the route's: A's upload-only key has none of
/// query, stream or admin.
fn without_permission(route: &Route, a: &Tenant) -> String {
    assert!(
        ["query", "stream", "officer", "admin", "instance_admin"].contains(&route.permission.as_str()),
        "{route:?}"
    );
    a.upload_key.clone()
}

fn assert_nothing_of(answer: &Answer, other: &Tenant, what: &str) {
    for marker in other.markers() {
        assert!(
            !answer.text.contains(&marker),
            "{what}: the answer holds {marker:?} of guild {}: {}",
            other.guild_id,
            answer.text
        );
    }
}

fn is_json_error(answer: &Answer, status: StatusCode, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.text);
    assert!(
        answer.json["error"]["code"].is_string() && answer.json["error"]["message"].is_string(),
        "{what}: {}",
        answer.text
    );
}

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn every_documented_route_is_in_the_matrix() {
    let routes = routes();
    let paths: Vec<&str> = routes.iter().map(|r| r.path.as_str()).collect();
    for expected in [
        "/api/v1/encounters",
        "/api/v1/encounters/search",
        "/api/v1/encounters/stats",
        "/api/v1/encounters/{id}",
        "/api/v1/encounters/{id}/export",
        "/api/v1/encounters/{id}/deaths",
        "/api/v1/encounters/{id}/abilities",
        "/api/v1/encounters/{id}/interrupts",
        "/api/v1/encounters/pulls",
        "/api/v1/encounters/export",
        "/api/v1/characters",
        "/api/v1/characters/{name}",
        "/api/v1/progress",
        "/api/v1/logs",
        "/api/v1/uploads/{id}",
        "/api/v1/logs/{log_id}/dead-letters",
        "/api/v1/admin/guilds",
        "/api/v1/admin/guilds/{guild_id}",
        "/api/v1/admin/guilds/{guild_id}/activity",
        "/api/v1/admin/guilds/{guild_id}/keys",
        "/api/v1/admin/guilds/{guild_id}/keys/{key_id}/revoke",
        "/api/v1/admin/guilds/{guild_id}/keys/{key_id}/rotate",
        "/api/v1/admin/guilds/{guild_id}/keys/{key_id}/expire",
        "/api/v1/admin/guilds/{guild_id}/purge",
        "/api/v1/admin/audit",
        "/ws",
        "/api/v1/ws/ticket",
    ] {
        assert!(paths.contains(&expected), "{expected} is not documented: {paths:?}");
    }
    let mut changes: Vec<String> =
        routes.iter().filter(|r| r.method != "GET").map(|r| format!("{} {}", r.method, r.path)).collect();
    changes.sort();
    assert_eq!(
        changes,
        [
            "PATCH /api/v1/admin/guilds/{guild_id}",
            "POST /api/v1/admin/encounters/transfer",
            "POST /api/v1/admin/guilds",
            "POST /api/v1/admin/guilds/{guild_id}/deactivate",
            "POST /api/v1/admin/guilds/{guild_id}/keys",
            "POST /api/v1/admin/guilds/{guild_id}/keys/{key_id}/expire",
            "POST /api/v1/admin/guilds/{guild_id}/keys/{key_id}/revoke",
            "POST /api/v1/admin/guilds/{guild_id}/keys/{key_id}/rotate",
            "POST /api/v1/admin/guilds/{guild_id}/purge",
            "POST /api/v1/admin/guilds/{guild_id}/reactivate",
            "POST /api/v1/ws/ticket",
            "PUT /api/v1/guilds/{guild_id}/progress/comparisons",
            "PUT /api/v1/guilds/{guild_id}/progress/message",
            "PUT /api/v1/guilds/{guild_id}/progress/roadmap",
            "PUT /api/v1/guilds/{guild_id}/progress/roster",
        ],
        "reads only, but for the WebSocket ticket, the instance's administration, a guild's keys and the guild \
         master's plan"
    );
    for change in routes.iter().filter(|r| r.method != "GET" && r.path.starts_with("/api/v1/admin/")) {
        // A guild's `admin` key manages its own guild's keys; every other change is the
        // instance administrators'.
        let expected = if change.path.contains("/keys") { "admin" } else { "instance_admin" };
        assert_eq!(change.permission, expected, "{change:?}");
    }
    for change in routes.iter().filter(|r| r.method != "GET" && r.path.starts_with("/api/v1/guilds/")) {
        assert_eq!(change.permission, "admin", "the guild master's: {change:?}");
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn without_a_valid_key_or_permission_every_route_is_refused() {
    let (app, a) = (app().await, &world().a);
    for route in routes() {
        let uri = format!("{}{}", path_for(&route, a), required_query(&route));
        is_json_error(
            &call(&app, &route, &uri, None).await,
            StatusCode::UNAUTHORIZED,
            &format!("{uri} without a key"),
        );
        let forged = format!("wl_{}", "0".repeat(64));
        is_json_error(
            &call(&app, &route, &uri, Some(&forged)).await,
            StatusCode::UNAUTHORIZED,
            &format!("{uri} with an unknown key"),
        );
        let answer = call(&app, &route, &uri, Some(&without_permission(&route, a))).await;
        is_json_error(&answer, StatusCode::FORBIDDEN, &format!("{uri} without `{}`", route.permission));
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_guilds_key_never_reaches_another_guilds_data() {
    let (app, w) = (app().await, world());
    let (a, b) = (&w.a, &w.b);
    let mut checked = 0;
    for route in routes().into_iter().filter(|r| r.path != "/ws") {
        if route.permission == "instance_admin" {
            // A guild's admin key changes no guild, its own or another's.
            for owner in [a, b] {
                let answer = call(&app, &route, &path_for(&route, owner), Some(&a.key)).await;
                is_json_error(&answer, StatusCode::FORBIDDEN, &format!("{} with A's admin key", route.path));
            }
            checked += 1;
            continue;
        }
        if route.path.starts_with("/api/v1/guilds/") {
            // The guild is in the path: another guild's id is 403 whatever the rest
            // (the guild master's writes are tested with their bodies in guild_progress.rs).
            let answer = call(&app, &route, &path_for(&route, b), Some(&a.key)).await;
            is_json_error(&answer, StatusCode::FORBIDDEN, &format!("{} naming B", route.path));
            assert_nothing_of(&answer, b, &route.path);
            if route.method != "GET" {
                checked += 1;
                continue;
            }
        }
        if route.method != "GET" && route.path.starts_with("/api/v1/admin/guilds/") {
            // Issuing or revoking another guild's keys with A's admin key: 404, with a
            // body that would otherwise be taken (A's own are issued and revoked in
            // endpoints.rs, not here: revoking A's key would end the other tests).
            let request = Request::builder()
                .method(route.method)
                .uri(path_for(&route, b))
                .header("authorization", format!("Bearer {}", a.key))
                .header("content-type", "application/json")
                .body(Body::from(r#"{"description":"from A","permissions":["query"]}"#))
                .unwrap();
            let answer = send(&app, request).await;
            is_json_error(
                &answer,
                StatusCode::NOT_FOUND,
                &format!("{} naming B with A's admin key", route.path),
            );
            assert_nothing_of(&answer, b, &route.path);
            checked += 1;
            continue;
        }
        // A's own resources: found, so the 404s below are about ownership.
        let own =
            call(&app, &route, &format!("{}{}", path_for(&route, a), required_query(&route)), Some(&a.key))
                .await;
        assert_eq!(own.status, StatusCode::OK, "{} with A's own ids: {}", route.path, own.text);
        assert_nothing_of(&own, b, &route.path);
        if own.json.is_object() {
            assert_eq!(own.json["guild_id"].as_i64(), Some(a.guild_id), "{}: {}", route.path, own.text);
        }
        // B's resources through A's key.
        let uri = format!("{}{}", path_for(&route, b), required_query(&route));
        let answer = call(&app, &route, &uri, Some(&a.key)).await;
        if route.path.starts_with("/api/v1/guilds/") {
            is_json_error(&answer, StatusCode::FORBIDDEN, &uri);
        } else if route.path_params.is_empty() {
            assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.text);
        } else {
            is_json_error(&answer, StatusCode::NOT_FOUND, &uri);
        }
        assert_nothing_of(&answer, b, &uri);
        // B's log ids in A's filters.
        if route.query_params.iter().any(|p| p == "log_id") {
            let separator = if uri.contains('?') { '&' } else { '?' };
            let filtered = call(
                &app,
                &route,
                &format!("{}{separator}log_id={}", path_for(&route, a), b.log_ids[0]),
                Some(&a.key),
            )
            .await;
            assert_nothing_of(&filtered, b, &format!("{} with B's log id", route.path));
        }
        checked += 1;
    }
    assert!(checked >= 15, "every route but /ws: {checked}");
}

/// Values that would change a query if they reached its text.
const INJECTIONS: &[&str] = &[
    "' OR 1=1 --",
    "x') OR guild_id != 0 --",
    "1 OR 1=1",
    "1; DROP TABLE encounters",
    "\\' OR 1=1 --",
    "{guild}",
    "%27%20OR%20%271%27%3D%271",
    "Thermaplugg' UNION ALL SELECT name FROM guilds --",
];

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn injection_attempts_in_every_parameter_are_refused_or_inert() {
    let (app, w) = (app().await, world());
    let (a, b) = (&w.a, &w.b);
    let client = w.store.client();
    let tables = || async {
        client
            .query("SELECT count() AS n FROM system.tables WHERE database = currentDatabase()")
            .fetch_one::<Count>()
            .await
            .unwrap()
            .n
    };
    let before = tables().await;
    for route in routes().into_iter().filter(|r| r.path != "/ws" && r.method == "GET") {
        for attempt in INJECTIONS {
            for parameter in &route.query_params {
                let uri = format!("{}?{parameter}={}", path_for(&route, a), encode(attempt));
                let answer = get(&app, &uri, Some(&a.key)).await;
                // A progress character's realm names the resource: no such one is 404.
                let names_resource = route.path.contains("/progress/character/");
                assert!(
                    matches!(answer.status, StatusCode::OK | StatusCode::BAD_REQUEST)
                        || (names_resource && answer.status == StatusCode::NOT_FOUND),
                    "{uri}: {} {}",
                    answer.status,
                    answer.text
                );
                assert_nothing_of(&answer, b, &uri);
            }
            for parameter in &route.path_params {
                let uri = route.path.replace(&format!("{{{parameter}}}"), &encode(attempt));
                let answer = get(&app, &uri, Some(&a.key)).await;
                assert!(
                    matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST),
                    "{uri}: {} {}",
                    answer.status,
                    answer.text
                );
                assert_nothing_of(&answer, b, &uri);
            }
        }
    }
    assert_eq!(tables().await, before, "no table dropped or created");
    let fights = get(&app, "/api/v1/encounters/stats", Some(&a.key)).await;
    assert_eq!(
        fights.json["statistics"]["total_encounters"].as_u64(),
        Some(a.fight_ids.len() as u64),
        "data intact"
    );
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn oversized_and_malformed_parameters_get_400_naming_the_parameter() {
    let (app, a) = (app().await, &world().a);
    let long = "x".repeat(5000);
    let cases = [
        ("/api/v1/encounters?page=abc".to_string(), "page"),
        ("/api/v1/encounters?page=0".to_string(), "page"),
        ("/api/v1/encounters?per_page=100000".to_string(), "per_page"),
        ("/api/v1/encounters?page=99999999999".to_string(), "page"),
        ("/api/v1/encounters?difficulty=hard".to_string(), "difficulty"),
        ("/api/v1/encounters?kind=raid".to_string(), "kind"),
        ("/api/v1/encounters?outcome=maybe".to_string(), "outcome"),
        ("/api/v1/encounters?from=yesterday".to_string(), "from"),
        ("/api/v1/encounters?log_id=99999999999999999999999".to_string(), "log_id"),
        ("/api/v1/encounters?bosss=typo".to_string(), "bosss"),
        (format!("/api/v1/encounters?boss={}", &long[..200]), "boss"),
        (format!("/api/v1/encounters?boss={long}"), "4096"),
        ("/api/v1/encounters?boss=a%00b".to_string(), "boss"),
        ("/api/v1/encounters/search?boss_name=".to_string(), "boss_name"),
        ("/api/v1/characters?name=%20%20".to_string(), "name"),
        (format!("/api/v1/characters/{}", &long[..300]), "name"),
        ("/api/v1/encounters/12abc".to_string(), "encounter id"),
        ("/api/v1/encounters/1/export?format=ndjson".to_string(), "json"),
        (format!("/api/v1/admin/guilds/{}/activity?days=0", a.guild_id), "days"),
        ("/api/v1/admin/guilds/abc".to_string(), "path"),
        ("/api/v1/uploads/has_underscore".to_string(), "upload id"),
    ];
    for (uri, named) in cases {
        let answer = get(&app, &uri, Some(&a.key)).await;
        is_json_error(&answer, StatusCode::BAD_REQUEST, &uri);
        let message = answer.json["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{uri}: the message {message:?} should name {named:?}");
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn instance_admin_keys_read_any_guild_under_admin_and_nothing_elsewhere() {
    let w = world();
    let root = instance_key(&w.store).await;
    let app = app().await;
    let mut checked = 0;
    for route in routes() {
        let admin = route.path.starts_with("/api/v1/admin/");
        if admin && route.method != "GET" {
            continue; // the instance's changes: tests/administration.rs
        }
        for owner in [&w.a, &w.b] {
            let uri = format!("{}{}", path_for(&route, owner), required_query(&route));
            let answer = call(&app, &route, &uri, Some(&root)).await;
            if !admin {
                is_json_error(&answer, StatusCode::FORBIDDEN, &format!("{uri} with an instance-admin key"));
                let message = answer.json["error"]["message"].as_str().unwrap();
                assert!(message.contains("/api/v1/admin/"), "{uri}: {message}");
                continue;
            }
            assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.text);
            if route.path_params.is_empty() {
                assert!(answer.json.get("guild_id").is_none(), "{uri}: about no one guild: {}", answer.text);
            } else {
                assert_eq!(answer.json["guild_id"].as_i64(), Some(owner.guild_id), "{uri}: {}", answer.text);
            }
        }
        checked += 1;
    }
    assert!(checked >= 17, "every route but the instance's changes: {checked}");
    let listed = get(&app, "/api/v1/admin/guilds?per_page=500", Some(&root)).await;
    let ids: Vec<i64> = listed.json["data"]["guilds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["guild_id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&w.a.guild_id) && ids.contains(&w.b.guild_id), "every guild: {ids:?}");
    let audit = get(&app, "/api/v1/admin/audit?per_page=500", Some(&root)).await;
    let trails: Vec<i64> = audit.json["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["guild_id"].as_i64().unwrap())
        .collect();
    assert!(trails.contains(&w.a.guild_id) && trails.contains(&w.b.guild_id), "every guild's trail");
    let only_b = get(&app, &format!("/api/v1/admin/audit?guild_id={}", w.b.guild_id), Some(&root)).await;
    assert!(only_b.json["data"]["entries"].as_array().unwrap().iter().all(|e| e["guild_id"] == w.b.guild_id));
    for nobody in
        ["/api/v1/admin/guilds/0", "/api/v1/admin/guilds/999999", "/api/v1/admin/guilds/-1/activity"]
    {
        let answer = get(&app, nobody, Some(&root)).await;
        assert!(
            matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST),
            "{nobody}: {}",
            answer.text
        );
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_deactivated_guilds_keys_are_refused_everywhere_and_its_data_is_kept() {
    let w = world();
    let registry = wowlogs_tenancy::Registry::new(w.store.clone());
    let gone =
        tenant(&registry, &w.store.client(), "Deactivated Guild", &[("arena_3v3_tww_11.2.0.txt", 9_301)])
            .await;
    let root = instance_key(&w.store).await;
    let before = app().await;
    let own = get(&before, "/api/v1/encounters", Some(&gone.key)).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    let deactivated = send_json(
        &before,
        "POST",
        &format!("/api/v1/admin/guilds/{}/deactivate", gone.guild_id),
        &root,
        Value::Null,
    )
    .await;
    assert_eq!(deactivated.status, StatusCode::OK, "{}", deactivated.text);
    assert_eq!(deactivated.json["data"]["active"], false);

    // Services see it at their next key refresh: a service started now has.
    let after = app().await;
    for route in routes() {
        let uri = format!("{}{}", path_for(&route, &gone), required_query(&route));
        let answer = call(&after, &route, &uri, Some(&gone.key)).await;
        is_json_error(&answer, StatusCode::FORBIDDEN, &format!("{uri} with a deactivated guild's key"));
        assert_eq!(answer.json["error"]["code"], "guild_deactivated", "{uri}");
    }
    let listed = get(&after, "/api/v1/admin/guilds?per_page=500", Some(&root)).await;
    assert!(!listed.text.contains("Deactivated Guild"), "inactive guilds leave the list");
    let all = get(&after, "/api/v1/admin/guilds?per_page=500&include_inactive=true", Some(&root)).await;
    assert!(all.text.contains("Deactivated Guild"), "{}", all.text);
    let details = get(&after, &format!("/api/v1/admin/guilds/{}", gone.guild_id), Some(&root)).await;
    assert_eq!(
        details.json["data"]["total_encounters"].as_u64(),
        Some(gone.fight_ids.len() as u64),
        "the data is kept"
    );
    let audit =
        get(&after, &format!("/api/v1/admin/audit?guild_id={}&action=guild.", gone.guild_id), Some(&root))
            .await;
    let entry = &audit.json["data"]["entries"][0];
    assert_eq!(entry["action"], "guild.deactivate", "{}", audit.text);
    assert_eq!(entry["request_id"], "admin-test-request");
    assert!(entry["actor"].as_str().unwrap().starts_with("key-"));

    let reactivated = send_json(
        &after,
        "POST",
        &format!("/api/v1/admin/guilds/{}/reactivate", gone.guild_id),
        &root,
        Value::Null,
    )
    .await;
    assert_eq!(reactivated.status, StatusCode::OK, "{}", reactivated.text);
    let again = get(&app().await, "/api/v1/encounters", Some(&gone.key)).await;
    assert_eq!(again.status, StatusCode::OK, "a reactivated guild's keys work again: {}", again.text);
    assert_eq!(again.json["data"]["total"].as_u64(), Some(gone.fight_ids.len() as u64));
}
