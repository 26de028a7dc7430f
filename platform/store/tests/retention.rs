//! Retention against the real local ClickHouse (`WOWLOGS_TEST_CLICKHOUSE`, started by
//! `deploy/local/test.sh`).

use wowlogs_store::rows::Count;
use wowlogs_store::{RetentionPlan, StoreSettings, apply_retention, migrate};

fn fresh_database() -> StoreSettings {
    let url = std::env::var("WOWLOGS_TEST_CLICKHOUSE")
        .expect("run deploy/local/test.sh or set WOWLOGS_TEST_CLICKHOUSE to the local ClickHouse's HTTP URL");
    let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    StoreSettings::new(url, format!("wowlogs_test_retention_{}_{unique}", std::process::id()))
}

async fn count(settings: &StoreSettings, sql: &str) -> u64 {
    settings.client().query(sql).fetch_one::<Count>().await.unwrap().n
}

const OLD: u32 = 1_578_000_000; // 2020-01-02
const NOW: u32 = 1_763_000_000; // 2025-11-13

async fn seed(settings: &StoreSettings) {
    for guild in [1, 2] {
        for (line, at) in [(1, OLD), (2, NOW - 86_400)] {
            let insert = format!(
                "INSERT INTO combat_events (guild_id, log_id, line, timestamp, timestamp_ms) \
                 VALUES ({guild}, 9, {line}, toDateTime({at}, 'UTC'), {at}000)"
            );
            settings.client().query(&insert).execute().await.unwrap();
            let insert = format!(
                "INSERT INTO encounters (guild_id, log_id, start_line, name, start, start_ms) \
                 VALUES ({guild}, 9, {line}, 'Boss', toDateTime({at}, 'UTC'), {at}000)"
            );
            settings.client().query(&insert).execute().await.unwrap();
        }
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn old_rows_of_one_guild_go_and_everything_else_stays() {
    let settings = fresh_database();
    migrate(&settings).await.unwrap();
    seed(&settings).await;

    let plan = RetentionPlan::keep_days(NOW, 30, Some(1));
    let dry = apply_retention(&settings, &plan, true).await.unwrap();
    assert_eq!(dry.iter().find(|t| t.table == "combat_events").unwrap().rows, 1);
    assert_eq!(
        count(&settings, "SELECT count() AS n FROM combat_events").await,
        4,
        "a dry run changes nothing"
    );

    apply_retention(&settings, &plan, false).await.unwrap();
    assert_eq!(count(&settings, "SELECT count() AS n FROM combat_events WHERE guild_id = 1").await, 1);
    assert_eq!(count(&settings, "SELECT count() AS n FROM encounters WHERE guild_id = 1").await, 1);
    assert_eq!(
        count(&settings, "SELECT count() AS n FROM combat_events WHERE guild_id = 2").await,
        2,
        "guild 2 keeps its old rows"
    );

    let everyone = RetentionPlan::keep_days(NOW, 30, None);
    let outcome = apply_retention(&settings, &everyone, false).await.unwrap();
    let events = outcome.iter().find(|t| t.table == "combat_events").unwrap();
    assert_eq!(events.partitions_dropped, vec!["202001".to_string()], "the old month goes whole");
    assert_eq!(count(&settings, "SELECT count() AS n FROM combat_events").await, 2, "the recent rows stay");
    assert_eq!(
        count(&settings, "SELECT count() AS n FROM encounters WHERE start < toDateTime(1600000000)").await,
        0
    );
}
