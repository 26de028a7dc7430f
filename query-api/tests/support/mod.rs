//! Two guilds with real logs in the real local ClickHouse (`WOWLOGS_TEST_CLICKHOUSE`,
//! started by `deploy/local/test.sh`), their keys in the real registry, and the query
//! API's router over them.

#![allow(dead_code)]

pub mod grafana;
pub mod load;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use std::fs::File;
use std::io::BufReader;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower::ServiceExt;
use wowlogs_kafka::KafkaSettings;
use wowlogs_query_api::gate::GateLimits;
use wowlogs_query_api::live::LiveFeed;
use wowlogs_query_api::state::AppState;
use wowlogs_query_api::{QueryApiConfig, internal_router, router};
use wowlogs_store::{StoreSettings, migrate};
use wowlogs_tenancy::{Actor, KeyCache, KeySpec, NewGuild, Permission, Registry};

/// A guild of the test world, with its keys and what its logs hold.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub guild_id: i64,
    pub name: String,
    /// query + stream + admin.
    pub key: String,
    /// upload only: lacks every permission the query API needs.
    pub upload_key: String,
    pub fight_ids: Vec<i64>,
    pub log_ids: Vec<i64>,
    pub upload_ids: Vec<String>,
    pub players: Vec<String>,
    pub events: u64,
}

impl Tenant {
    /// Strings that only this guild's data contains: an answer to another guild must
    /// hold none of them.
    pub fn markers(&self) -> Vec<String> {
        let mut markers = vec![self.name.clone()];
        markers.extend(self.fight_ids.iter().map(|id| id.to_string()));
        // Log ids are short numbers: as the JSON strings the API writes them.
        markers.extend(self.log_ids.iter().map(|id| format!("\"{id}\"")));
        markers.extend(self.upload_ids.iter().cloned());
        markers.extend(self.players.iter().cloned());
        markers
    }
}

#[derive(Debug, Clone)]
pub struct World {
    pub store: StoreSettings,
    pub a: Tenant,
    pub b: Tenant,
}

#[allow(unused_imports)] // each test binary uses some of them
pub use wowlogs_testkit::{brokers, clickhouse as clickhouse_url, fixture};

pub fn actor() -> Actor {
    Actor::new("cli:test", "127.0.0.1")
}

pub async fn tenant(
    registry: &Registry,
    client: &clickhouse::Client,
    name: &str,
    logs: &[(&str, i64)],
) -> Tenant {
    let guild = registry
        .create_guild(
            &NewGuild {
                name: name.into(),
                server: "Stormrage".into(),
                region: "US".into(),
                faction: "Alliance".into(),
                ..NewGuild::default()
            },
            &actor(),
        )
        .await
        .unwrap();
    let spec = |permissions: Vec<Permission>| KeySpec {
        guild_id: guild.guild_id,
        description: "test".into(),
        permissions,
        events_per_minute: 0,
        max_connections: 2,
    };
    let (key, _) = registry
        .create_key(&spec(vec![Permission::Query, Permission::Stream, Permission::Admin]), &actor())
        .await
        .unwrap();
    let (upload_key, _) = registry.create_key(&spec(vec![Permission::Upload]), &actor()).await.unwrap();
    let mut tenant = Tenant {
        guild_id: guild.guild_id,
        name: name.into(),
        key: key.plaintext,
        upload_key: upload_key.plaintext,
        fight_ids: Vec::new(),
        log_ids: Vec::new(),
        upload_ids: Vec::new(),
        players: Vec::new(),
        events: 0,
    };
    for (file, log_id) in logs {
        let upload_id = format!("{:08x}-0000-4000-8000-{:012x}", guild.guild_id, log_id);
        let mut input = BufReader::new(File::open(fixture(file)).unwrap());
        let loaded = load::load_log(client, guild.guild_id, *log_id, &upload_id, &mut input, true).await;
        assert!(loaded.fights > 0, "{file} holds a fight");
        tenant.events += loaded.events;
        tenant.fight_ids.extend(loaded.fight_ids);
        tenant.log_ids.push(*log_id);
        tenant.upload_ids.push(upload_id);
        tenant.players.extend(loaded.players.into_iter().filter(|p| !p.is_empty()));
    }
    tenant.players.sort();
    tenant.players.dedup();
    tenant
}

/// Guild A ("Loothing": the Gnomeregan raid, the Shadowlands and the Dimensius wipes) and guild B
/// ("Arena Other Guild": two arena logs), built once per test binary in a database of
/// its own. Their players do not overlap, so B's names are markers of B's data.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let unique =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
                let store = StoreSettings::new(
                    clickhouse_url(),
                    format!("wowlogs_test_api_{}_{unique}", std::process::id()),
                );
                migrate(&store).await.unwrap();
                let registry = Registry::new(store.clone());
                let client = store.client();
                let a = tenant(
                    &registry,
                    &client,
                    "Loothing",
                    &[
                        ("classic_sod_1.15.1_gnomeregan_raid.txt", 7_001),
                        ("retail_sl_9.2_raid_wipe_snippet.txt", 7_002),
                        ("retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt", 7_003),
                    ],
                )
                .await;
                let b = tenant(
                    &registry,
                    &client,
                    "Arena Other Guild",
                    &[("retail_tww_11.0.2_dummies_skirmish.txt", 8_001), ("arena_3v3_tww_11.2.0.txt", 8_002)],
                )
                .await;
                // Each guild's roster: its logs' players (the progress plan's members).
                for tenant in [&a, &b] {
                    let members: Vec<wowlogs_progress::Member> = tenant
                        .players
                        .iter()
                        .map(|name| wowlogs_progress::Member {
                            character: wowlogs_progress::CharacterKey::parse(name),
                            rank: 1,
                            main: None,
                            class: None,
                        })
                        .collect();
                    wowlogs_store::progress::replace_roster(&client, tenant.guild_id, &members, 1)
                        .await
                        .unwrap();
                }
                let shared: Vec<&String> = a.players.iter().filter(|p| b.players.contains(p)).collect();
                assert!(shared.is_empty(), "the fixtures' players overlap: {shared:?}");
                World { store, a, b }
            })
        })
        .join()
        .unwrap()
    })
}

/// Service settings for tests: a generous rate limit and no answer cache unless a test
/// asks (so every request reaches ClickHouse through the isolation layer).
pub fn config(store: &StoreSettings) -> QueryApiConfig {
    QueryApiConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        store: store.clone(),
        kafka: KafkaSettings::new(
            std::env::var("WOWLOGS_TEST_BROKERS").unwrap_or_default(),
            "wowlogs-api-tests",
        ),
        requests_per_minute: NonZeroU32::new(1_000_000).unwrap(),
        cache_ttl: Duration::ZERO,
        fight_cache_ttl: Duration::ZERO,
        max_connections: 100,
        max_connections_per_key: 3,
        max_connections_per_guild: 5,
        cache_max_bytes: 64 << 20,
        cache_max_bytes_per_guild: 64 << 20,
        gate: GateLimits {
            max_queries: 64,
            max_queries_per_key: 64,
            max_queries_per_guild: 64,
            query_timeout: Duration::from_secs(10),
        },
        export_timeout: Duration::from_secs(60),
        export_stall: Duration::from_secs(10),
        ws_ticket_secret: wowlogs_query_api::tickets::TicketSecret(Some("test secret".into())),
        replicas: 1,
    }
}

/// The registry's current keys.
pub async fn keys(store: &StoreSettings) -> Arc<KeyCache> {
    let keys = Arc::new(KeyCache::default());
    keys.refresh(&Registry::new(store.clone())).await.unwrap();
    keys
}

/// The service over the world, with these settings.
pub async fn app_with(config: QueryApiConfig) -> Router {
    apps_with(config).await.0
}

/// The public service and its internal port's routes (`/metrics`), sharing one state.
pub async fn apps_with(config: QueryApiConfig) -> (Router, Router) {
    let keys = keys(&config.store).await;
    let state = AppState::new(keys, config, LiveFeed::default());
    (router(state.clone(), wowlogs_query_api::public_document([])), internal_router(state))
}

pub async fn app() -> Router {
    app_with(config(&world().store)).await
}

/// The service over the world, authenticating with these keys (a test that looks into
/// them: what they recorded).
pub fn app_over(keys: Arc<KeyCache>) -> Router {
    let state = AppState::new(keys, config(&world().store), LiveFeed::default());
    router(state, wowlogs_query_api::public_document([]))
}

/// An answer: status, headers, body (JSON when it parses, else a string).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

pub async fn get(app: &Router, uri: &str, key: Option<&str>) -> Answer {
    let mut request = Request::get(uri);
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

/// `GET uri` with the key, the body as bytes (a zip).
pub async fn get_bytes(app: &Router, uri: &str, key: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request =
        Request::get(uri).header("authorization", format!("Bearer {key}")).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, to_bytes(response.into_body(), 64 << 20).await.unwrap().to_vec())
}

pub async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), 64 << 20).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, headers, text, json }
}

/// A new instance-admin key (no guild), in plaintext.
pub async fn instance_key(store: &StoreSettings) -> String {
    let spec = KeySpec {
        guild_id: wowlogs_tenancy::NO_GUILD,
        description: "instance admin".into(),
        permissions: vec![Permission::InstanceAdmin],
        events_per_minute: 0,
        max_connections: 0,
    };
    Registry::new(store.clone()).create_key(&spec, &actor()).await.unwrap().0.plaintext
}

/// A request with a JSON body (none for `Value::Null`), with `key`.
pub async fn send_json(app: &Router, method: &str, uri: &str, key: &str, body: Value) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {key}"))
        .header("x-request-id", "admin-test-request");
    let request = match body {
        Value::Null => request.body(Body::empty()),
        body => request.header("content-type", "application/json").body(Body::from(body.to_string())),
    };
    send(app, request.unwrap()).await
}
