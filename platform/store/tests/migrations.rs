//! Migrations against the real local ClickHouse (started by `deploy/local/test.sh`; set
//! `WOWLOGS_TEST_CLICKHOUSE` to an HTTP URL to run these with `cargo test`). Each test
//! migrates a database of its own.

use wowlogs_store::rows::Count;
use wowlogs_store::{Down, MIGRATIONS, Migrated, MigrationError, StoreSettings, latest, migrate, migrate_to};

fn fresh_database(test: &str) -> StoreSettings {
    StoreSettings::new(
        wowlogs_testkit::clickhouse(),
        wowlogs_testkit::unique(&format!("wowlogs_test_{test}")),
    )
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Name {
    name: String,
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn every_migration_applies_once_and_a_second_run_changes_nothing() {
    let settings = fresh_database("once");
    let applied = migrate(&settings).await.unwrap();
    assert_eq!(applied, MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>());
    assert!(migrate(&settings).await.unwrap().is_empty(), "nothing is pending the second time");

    let client = settings.client();
    let tables: Vec<String> = client
        .query("SELECT name FROM system.tables WHERE database = ? ORDER BY name")
        .bind(&settings.database)
        .fetch_all::<Name>()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    for table in [
        "api_keys",
        "audit_log",
        "character_logs",
        "characters",
        "combat_events",
        "dead_letters",
        "encounter_deaths",
        "encounter_details",
        "encounter_players",
        "encounters",
        "guilds",
        "logs",
        "schema_migrations",
    ] {
        assert!(tables.contains(&table.to_string()), "missing {table}: {tables:?}");
    }
    let guilds = client
        .query("SELECT count() AS n FROM guilds FINAL WHERE guild_id = 1")
        .fetch_one::<Count>()
        .await
        .unwrap();
    assert_eq!(guilds.n, 1, "the default guild exists");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn concurrent_migrations_are_safe() {
    let settings = fresh_database("concurrent");
    let runs = futures_like_join(&settings).await;
    assert!(runs.iter().all(Result::is_ok), "{runs:?}");
    let client = settings.client();
    let versions =
        client.query("SELECT count() AS n FROM schema_migrations FINAL").fetch_one::<Count>().await.unwrap();
    assert_eq!(versions.n as usize, MIGRATIONS.len());
}

async fn futures_like_join(settings: &StoreSettings) -> Vec<Result<Vec<u32>, wowlogs_store::MigrationError>> {
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let settings = settings.clone();
            tokio::spawn(async move { migrate(&settings).await })
        })
        .collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn every_table_leads_its_sorting_key_with_guild_id() {
    #[derive(Debug, clickhouse::Row, serde::Deserialize)]
    struct Key {
        name: String,
        sorting_key: String,
    }
    let settings = fresh_database("keys");
    migrate(&settings).await.unwrap();
    let keys = settings
        .client()
        .query(
            "SELECT name, sorting_key FROM system.tables WHERE database = ? AND name != 'schema_migrations' AND engine != 'View'",
        )
        .bind(&settings.database)
        .fetch_all::<Key>()
        .await
        .unwrap();
    assert_eq!(keys.len(), 23, "{keys:?}");
    for key in keys {
        assert!(key.sorting_key.starts_with("guild_id"), "{}: {}", key.name, key.sorting_key);
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn player_and_death_rows_written_before_0009_get_their_fights_name_and_difficulty_in_every_relation() {
    #[derive(Debug, clickhouse::Row, serde::Deserialize, PartialEq)]
    struct Context {
        fight_name: String,
        difficulty: Option<i32>,
    }
    let settings = fresh_database("context");
    migrate(&settings).await.unwrap();
    let client = settings.client();
    // A fight with a player and a death as 0008 wrote them (no fight name), then 0009
    // (and 0010, which lifts 0009's rows above their twins) run again as if new.
    for statement in [
        "INSERT INTO encounters (guild_id, log_id, start_line, kind, name, difficulty, version) \
         VALUES (3, 1, 10, 'encounter', 'Kel''Thuzad', 16, 5)",
        "INSERT INTO encounter_players (guild_id, log_id, start_line, player_guid, name, dps, version) \
         VALUES (3, 1, 10, 'Player-1', 'Aa', 1000, 5)",
        "INSERT INTO encounter_deaths (guild_id, log_id, start_line, line, player_guid, ability, version) \
         VALUES (3, 1, 10, 12, 'Player-1', 'Frost Blast', 5)",
        "ALTER TABLE schema_migrations DELETE WHERE version IN (9, 10)",
    ] {
        client.query(statement).execute().await.unwrap();
    }
    wowlogs_store::retention::wait_for_mutations(&settings, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(migrate(&settings).await.unwrap(), vec![9, 10]);
    let wanted = vec![Context { fight_name: "Kel'Thuzad".into(), difficulty: Some(16) }];
    // The tables as written, and the operators' relations, which take the row of the
    // highest version (not the last written): the same answer, on every read.
    let analytics = wowlogs_store::analytics::analytics_database(&settings);
    for table in ["encounter_players", "encounter_deaths"] {
        for from in [format!("{table} FINAL"), format!("{analytics}.{table}")] {
            for _ in 0..5 {
                let found: Vec<Context> = client
                    .query(&format!("SELECT fight_name, difficulty FROM {from} WHERE guild_id = 3"))
                    .fetch_all()
                    .await
                    .unwrap();
                assert_eq!(found, wanted, "{from}");
            }
        }
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn days_rolled_up_before_0011_learn_when_their_last_fight_ended() {
    #[derive(Debug, clickhouse::Row, serde::Deserialize, PartialEq)]
    struct Day {
        pulls: u64,
        last_end_ms: i64,
    }
    let settings = fresh_database("last_end");
    migrate(&settings).await.unwrap();
    let client = settings.client();
    // Two fights of a day, and the day's roll-up as 0008 computed it (no end), then
    // 0011 run again as if it were new.
    for statement in [
        "INSERT INTO encounters (guild_id, log_id, start_line, kind, name, start, start_ms, end_ms, version) \
         VALUES (3, 1, 10, 'encounter', 'Boss', 1709323200, 1709323200000, 1709323500000, 5), \
                (3, 1, 90, 'encounter', 'Boss', 1709323800, 1709323800000, 1709324100000, 5)",
        "INSERT INTO guild_days (guild_id, day, pulls, version) VALUES (3, toDate(1709323200), 2, 7)",
        "ALTER TABLE schema_migrations DELETE WHERE version = 11",
    ] {
        client.query(statement).execute().await.unwrap();
    }
    wowlogs_store::retention::wait_for_mutations(&settings, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(migrate(&settings).await.unwrap(), vec![11]);
    let days: Vec<Day> = client
        .query("SELECT pulls, last_end_ms FROM guild_days FINAL WHERE guild_id = 3")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(days, vec![Day { pulls: 2, last_end_ms: 1_709_324_100_000 }]);
}

/// Every table's columns and their types (the migrations' bookkeeping left out), in a
/// fixed order: two databases with the same schema compare equal.
async fn schema_of(settings: &StoreSettings) -> Vec<(String, String, String)> {
    #[derive(Debug, clickhouse::Row, serde::Deserialize)]
    struct Column {
        table: String,
        name: String,
        r#type: String,
    }
    let columns = settings
        .client()
        .query(
            "SELECT table, name, type FROM system.columns WHERE database = ? AND table != 'schema_migrations' \
             ORDER BY table, name",
        )
        .bind(&settings.database)
        .fetch_all::<Column>()
        .await
        .unwrap();
    columns.into_iter().map(|c| (c.table, c.name, c.r#type)).collect()
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn each_migration_that_can_be_undone_gives_back_the_schema_before_it_and_applies_again() {
    let undoable: Vec<u32> =
        MIGRATIONS.iter().filter(|m| matches!(m.down(), Down::Sql(_))).map(|m| m.version).collect();
    assert!(undoable.len() >= 8, "{undoable:?}");
    for version in undoable {
        let before = fresh_database(&format!("down_before_{version}"));
        assert_eq!(migrate_to(&before, version - 1).await.unwrap().applied.len(), version as usize - 1);
        let expected = schema_of(&before).await;
        let after = fresh_database(&format!("down_after_{version}"));
        migrate_to(&after, version).await.unwrap();
        let with_it = schema_of(&after).await;
        let undone = migrate_to(&after, version - 1).await.unwrap();
        assert_eq!(undone, Migrated { applied: vec![], undone: vec![version] });
        let got = schema_of(&after).await;
        assert_eq!(got, expected, "undoing {version} gives back the schema before it");
        if version != 10 {
            assert_ne!(with_it, expected, "{version} changed the schema (0010 writes rows only)");
        }
        let again = migrate_to(&after, version).await.unwrap();
        assert_eq!(again.applied, vec![version], "and it applies again");
        assert_eq!(schema_of(&after).await, with_it);
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_rollback_past_a_migration_that_cannot_be_undone_is_refused_before_any_change() {
    let settings = fresh_database("down_refused");
    migrate(&settings).await.unwrap();
    let before = schema_of(&settings).await;
    let refused = migrate_to(&settings, 16).await.unwrap_err();
    let said = refused.to_string();
    assert!(
        said.contains("0018_key_expiry cannot be undone") && said.contains("nothing was changed"),
        "{said}"
    );
    assert_eq!(schema_of(&settings).await, before, "0019, which could be undone, is still there");
    assert!(matches!(migrate_to(&settings, latest() + 1).await, Err(MigrationError::NoSuchVersion(_))));
    let undone = migrate_to(&settings, latest() - 1).await.unwrap();
    assert_eq!(undone.undone, vec![latest()], "the latest alone can go");
    assert_eq!(migrate(&settings).await.unwrap(), vec![latest()], "and come back");
}
