//! The registry against the real local ClickHouse (`WOWLOGS_TEST_CLICKHOUSE`, started by
//! `deploy/local/test.sh`). Each test migrates a database of its own.

use wowlogs_store::rows::{TableRow, declared_columns, table_columns};
use wowlogs_store::{StoreSettings, migrate};
use wowlogs_tenancy::{
    Actor, ApiKeyRow, AuditRow, GuildRow, GuildUpdate, KeySpec, NO_GUILD, NewGuild, Permission, Registry,
    RegistryError, hash,
};

async fn fresh() -> (StoreSettings, Registry) {
    let url = wowlogs_testkit::clickhouse();
    let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let store = StoreSettings::new(url, format!("wowlogs_test_tenancy_{}_{unique}", std::process::id()));
    migrate(&store).await.unwrap();
    (store.clone(), Registry::new(store))
}

fn cli() -> Actor {
    Actor::new("cli:test", "")
}

async fn assert_describes<T: TableRow>(store: &StoreSettings) {
    let described = table_columns(store, T::TABLE).await.unwrap();
    assert_eq!(described, declared_columns::<T>(), "{} differs from its row type", T::TABLE);
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn the_row_types_match_the_tables() {
    let (store, _) = fresh().await;
    assert_describes::<GuildRow>(&store).await;
    assert_describes::<ApiKeyRow>(&store).await;
    assert_describes::<AuditRow>(&store).await;
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn guilds_and_keys_are_created_listed_revoked_and_audited_without_storing_a_key() {
    let (store, registry) = fresh().await;
    let default = registry.guild(1).await.unwrap().expect("the default guild exists after migrating");
    assert_eq!(default.name, "Default Guild");

    let guild = registry
        .create_guild(
            &NewGuild {
                name: "Loothing".into(),
                server: "Stormrage".into(),
                region: "US".into(),
                faction: "Alliance".into(),
                ..NewGuild::default()
            },
            &cli(),
        )
        .await
        .unwrap();
    assert_eq!(guild.guild_id, 2);
    assert_eq!(registry.guilds().await.unwrap().len(), 2);

    let spec = KeySpec {
        guild_id: 2,
        description: "uploader".into(),
        permissions: vec![Permission::Query, Permission::Upload, Permission::Query],
        events_per_minute: 15_000,
        max_connections: 10,
    };
    let (key, row) = registry.create_key(&spec, &cli()).await.unwrap();
    assert_eq!(row.key_hash, hash(&key.plaintext));
    assert_eq!(row.permissions(), vec![Permission::Upload, Permission::Query]);
    let active = registry.active_keys().await.unwrap();
    assert!(active.iter().any(|(k, g)| k.key_id == key.key_id && g.name == "Loothing"));

    // The plaintext is nowhere in the database.
    let secret = &key.plaintext[3..];
    for table in ["api_keys", "audit_log", "guilds"] {
        let dump = store
            .client()
            .query(&format!("SELECT * FROM {table}"))
            .fetch_bytes("TSV")
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert!(!String::from_utf8_lossy(&dump).contains(secret), "{table} holds the key");
    }

    let revoked = registry.revoke_key(&key.key_id, &cli()).await.unwrap();
    assert_eq!(revoked.revoked, 1);
    assert!(registry.active_keys().await.unwrap().iter().all(|(k, _)| k.key_id != key.key_id));
    assert_eq!(registry.keys(Some(2)).await.unwrap().len(), 1, "a revoked key is listed once, as revoked");

    let audit: Vec<AuditRow> =
        store.client().query("SELECT ?fields FROM audit_log ORDER BY at_ms").fetch_all().await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["guild.create", "progress.seed", "api_key.create", "api_key.revoke"]);
    assert!(audit.iter().all(|a| a.actor == "cli:test" && a.guild_id == 2));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn keys_need_an_existing_guild_and_a_permission() {
    let (_, registry) = fresh().await;
    let spec = |guild_id, permissions| KeySpec {
        guild_id,
        description: String::new(),
        permissions,
        events_per_minute: 0,
        max_connections: 0,
    };
    assert!(matches!(
        registry.create_key(&spec(99, vec![Permission::Query]), &cli()).await,
        Err(RegistryError::NoSuchGuild(99))
    ));
    assert!(matches!(registry.create_key(&spec(1, vec![]), &cli()).await, Err(RegistryError::NoPermissions)));
    assert!(matches!(
        registry.revoke_key("key-000000000000", &cli()).await,
        Err(RegistryError::NoSuchKey(_))
    ));
    assert!(matches!(
        registry.create_guild(&NewGuild::default(), &cli()).await,
        Err(RegistryError::EmptyName)
    ));
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn guilds_are_unique_by_name_server_and_region_and_changes_are_audited() {
    let (store, registry) = fresh().await;
    let loothing = NewGuild {
        name: "Loothing".into(),
        server: "Stormrage".into(),
        region: "US".into(),
        settings: r#"{"raid_days": ["wed", "thu"]}"#.into(),
        timezone: "America/Chicago".into(),
        ..NewGuild::default()
    };
    let created = registry.create_guild(&loothing, &cli()).await.unwrap();
    assert_eq!(
        (created.settings.as_str(), created.timezone.as_str()),
        (r#"{"raid_days":["wed","thu"]}"#, "America/Chicago")
    );
    let twin = NewGuild { name: " loothing ".into(), server: "stormrage".into(), ..loothing.clone() };
    assert!(matches!(
        registry.create_guild(&twin, &cli()).await,
        Err(RegistryError::Duplicate { existing, .. }) if existing == created.guild_id
    ));
    let elsewhere = NewGuild { region: "EU".into(), ..loothing.clone() };
    let other = registry.create_guild(&elsewhere, &cli()).await.expect("another region is another guild");

    let renamed = GuildUpdate { region: Some("US".into()), ..GuildUpdate::default() };
    assert!(
        matches!(
            registry.update_guild(other.guild_id, &renamed, &cli()).await,
            Err(RegistryError::Duplicate { .. })
        ),
        "an update cannot make a duplicate either"
    );
    let update = GuildUpdate { contact_info: Some("officers@example.org".into()), ..GuildUpdate::default() };
    let updated = registry.update_guild(created.guild_id, &update, &cli()).await.unwrap();
    assert_eq!((updated.contact_info.as_str(), updated.name.as_str()), ("officers@example.org", "Loothing"));
    let bad = GuildUpdate { settings: Some("[1, 2]".into()), ..GuildUpdate::default() };
    assert!(matches!(
        registry.update_guild(created.guild_id, &bad, &cli()).await,
        Err(RegistryError::Settings(_))
    ));

    let (_, key) = registry
        .create_key(
            &KeySpec {
                guild_id: created.guild_id,
                description: String::new(),
                permissions: vec![Permission::Query],
                events_per_minute: 0,
                max_connections: 0,
            },
            &cli(),
        )
        .await
        .unwrap();
    registry.set_active(created.guild_id, false, &cli()).await.unwrap();
    registry.set_active(created.guild_id, false, &cli()).await.unwrap();
    let (_, guild) =
        registry.active_keys().await.unwrap().into_iter().find(|(k, _)| k.key_id == key.key_id).unwrap();
    assert!(!guild.is_active(), "a deactivated guild's keys are still known, to be refused with the reason");
    registry.set_active(created.guild_id, true, &cli()).await.unwrap();
    assert!(registry.guild(created.guild_id).await.unwrap().unwrap().is_active());

    let actions: Vec<String> = store
        .client()
        .query("SELECT ?fields FROM audit_log WHERE guild_id = ? ORDER BY at_ms")
        .bind(created.guild_id)
        .fetch_all::<AuditRow>()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        actions,
        [
            "guild.create",
            "progress.seed",
            "guild.update",
            "api_key.create",
            "guild.deactivate",
            "guild.reactivate"
        ],
        "one entry per change; deactivating twice is one change"
    );
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn instance_admin_keys_belong_to_no_guild_and_hold_that_permission_alone() {
    let (_, registry) = fresh().await;
    let spec = |guild_id, permissions| KeySpec {
        guild_id,
        description: "root".into(),
        permissions,
        events_per_minute: 0,
        max_connections: 0,
    };
    let (_, row) =
        registry.create_key(&spec(NO_GUILD, vec![Permission::InstanceAdmin]), &cli()).await.unwrap();
    let (_, guild) =
        registry.active_keys().await.unwrap().into_iter().find(|(k, _)| k.key_id == row.key_id).unwrap();
    assert_eq!(guild.guild_id, NO_GUILD);
    for refused in [
        spec(1, vec![Permission::InstanceAdmin]),
        spec(NO_GUILD, vec![Permission::InstanceAdmin, Permission::Query]),
        spec(NO_GUILD, vec![Permission::Query]),
    ] {
        assert!(
            matches!(registry.create_key(&refused, &cli()).await, Err(RegistryError::InstanceAdminAlone)),
            "{refused:?}"
        );
    }
}
