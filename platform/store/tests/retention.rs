//! Retention against the real local ClickHouse (`WOWLOGS_TEST_CLICKHOUSE`, started by
//! `deploy/local/test.sh`): logs go by upload time, whole, one guild at a time.

use wowlogs_store::rows::Count;
use wowlogs_store::{LOG_TABLES, RetentionPlan, StoreSettings, apply_retention, migrate};

fn fresh_database() -> StoreSettings {
    StoreSettings::new(wowlogs_testkit::clickhouse(), wowlogs_testkit::unique("wowlogs_test_retention"))
}

async fn count(settings: &StoreSettings, sql: &str) -> u64 {
    settings.client().query(sql).fetch_one::<Count>().await.unwrap().n
}

const COMBAT_2020: u32 = 1_578_000_000; // 2020-01-02: an old raid, imported lately
const NOW: u32 = 1_763_000_000; // 2025-11-13
const DAY: u32 = 86_400;

/// A log of `guild` uploaded at `uploaded`, its fights fought at `fought`: a row in every
/// table a log has.
async fn log(settings: &StoreSettings, guild: i64, log_id: i64, uploaded: u32, fought: u32) {
    let statements = [
        format!(
            "INSERT INTO logs (guild_id, log_id, state, updated) VALUES ({guild}, {log_id}, 'completed', toDateTime({uploaded}, 'UTC'))"
        ),
        format!(
            "INSERT INTO combat_events (guild_id, log_id, line, timestamp, timestamp_ms) VALUES ({guild}, {log_id}, 1, toDateTime({fought}, 'UTC'), {fought}000)"
        ),
        format!(
            "INSERT INTO encounters (guild_id, log_id, start_line, name, start, start_ms) VALUES ({guild}, {log_id}, 1, 'Boss', toDateTime({fought}, 'UTC'), {fought}000)"
        ),
        format!(
            "INSERT INTO encounter_details (guild_id, log_id, start_line, start) VALUES ({guild}, {log_id}, 1, toDateTime({fought}, 'UTC'))"
        ),
        format!(
            "INSERT INTO encounter_players (guild_id, log_id, start_line, player_guid, start) VALUES ({guild}, {log_id}, 1, 'Player-1', toDateTime({fought}, 'UTC'))"
        ),
        format!(
            "INSERT INTO encounter_deaths (guild_id, log_id, start_line, line, player_guid, start) VALUES ({guild}, {log_id}, 1, 2, 'Player-1', toDateTime({fought}, 'UTC'))"
        ),
        format!(
            "INSERT INTO character_logs (guild_id, player_guid, log_id, first_seen) VALUES ({guild}, 'Player-1', {log_id}, toDateTime({fought}, 'UTC'))"
        ),
        format!(
            "INSERT INTO character_gear (guild_id, player_guid, log_id, line, timestamp, slot) VALUES ({guild}, 'Player-1', {log_id}, 2, toDateTime({fought}, 'UTC'), 1)"
        ),
        format!(
            "INSERT INTO dead_letters (guild_id, log_id, source, line, timestamp) VALUES ({guild}, {log_id}, 'parser', 3, toDateTime({fought}, 'UTC'))"
        ),
    ];
    for statement in statements {
        settings.client().query(&statement).execute().await.unwrap();
    }
}

async fn rows_of(settings: &StoreSettings, guild: i64, log_id: i64) -> Vec<u64> {
    let mut rows = Vec::new();
    for table in LOG_TABLES {
        rows.push(
            count(
                settings,
                &format!("SELECT count() AS n FROM {table} WHERE guild_id = {guild} AND log_id = {log_id}"),
            )
            .await,
        );
    }
    rows
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_guilds_logs_go_whole_by_upload_time_and_a_historical_import_stays() {
    let settings = fresh_database();
    migrate(&settings).await.unwrap();
    log(&settings, 1, 10, NOW - 100 * DAY, NOW - 100 * DAY).await; // uploaded long ago: goes
    log(&settings, 1, 11, NOW - DAY, COMBAT_2020).await; // an old raid imported yesterday: stays
    log(&settings, 2, 10, NOW - 100 * DAY, NOW - 100 * DAY).await; // another guild's: stays
    let every = vec![1; LOG_TABLES.len()];
    assert_eq!(rows_of(&settings, 1, 10).await, every, "the seed fills every table of a log");

    let plan = RetentionPlan::keep_days(1, NOW, 30);
    let dry = apply_retention(&settings, &plan, true).await.unwrap();
    assert_eq!(dry.logs, vec![10]);
    assert!(dry.tables.iter().all(|t| t.rows == 1), "{dry:?}");
    assert_eq!(rows_of(&settings, 1, 10).await, every, "a dry run changes nothing");

    let removed = apply_retention(&settings, &plan, false).await.unwrap();
    assert_eq!(removed, dry, "what goes is what the dry run said");
    assert_eq!(rows_of(&settings, 1, 10).await, vec![0; LOG_TABLES.len()], "the log goes whole");
    assert_eq!(rows_of(&settings, 1, 11).await, every, "a historical import is kept: its upload is recent");
    assert_eq!(rows_of(&settings, 2, 10).await, every, "another guild's logs are its own policy's");

    let again = apply_retention(&settings, &plan, false).await.unwrap();
    assert!(again.logs.is_empty(), "nothing left to remove");
}
