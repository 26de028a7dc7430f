//! `wowlogs retention` with per-guild policies against the real local ClickHouse: a
//! guild's policy applies from upload time, a historical import stays, guilds without a
//! policy keep everything, and every run is on the audit trail.

mod support;

use support::{clickhouse, count, run, unique, wowlogs};
use wowlogs_store::StoreSettings;

const DAY: i64 = 86_400;

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn each_guilds_policy_removes_its_logs_by_upload_time_and_every_run_is_audited() {
    let database = unique("wowlogs_test_retention_cli");
    let store = ["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), database.clone()];
    run(wowlogs().arg("migrate").args(&store));
    let created = run(wowlogs()
        .args(["guild", "create", "--name", "Short Memory", "--retention-days", "30"])
        .args(&store));
    assert!(created.starts_with("created guild 2"), "{created}");
    let settings = StoreSettings::new(clickhouse(), database.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now = wowlogs_schemas::now_ms() / 1000;
    let sql = |statement: String| runtime.block_on(settings.client().query(&statement).execute()).unwrap();
    // Guild 2: a log uploaded 100 days ago, and a raid of 2020 imported yesterday;
    // guild 1 (no policy): a log uploaded 100 days ago.
    for (guild, log_id, uploaded, fought) in [
        (2, 1, now - 100 * DAY, now - 100 * DAY),
        (2, 2, now - DAY, 1_578_000_000),
        (1, 3, now - 100 * DAY, now - 100 * DAY),
    ] {
        sql(format!(
            "INSERT INTO logs (guild_id, log_id, state, updated) VALUES ({guild}, {log_id}, 'completed', toDateTime({uploaded}, 'UTC'))"
        ));
        sql(format!(
            "INSERT INTO combat_events (guild_id, log_id, line, timestamp, timestamp_ms) VALUES ({guild}, {log_id}, 1, toDateTime({fought}, 'UTC'), {fought}000)"
        ));
    }
    let events = |guild: i64| {
        runtime.block_on(count(
            &settings,
            &format!("SELECT count() FROM combat_events WHERE guild_id = {guild}"),
        ))
    };

    let dry = run(wowlogs().args(["retention", "--dry-run"]).args(&store));
    assert!(
        dry.contains("guild 2 \"Short Memory\": keeping 30 days after upload, would remove 1 logs"),
        "{dry}"
    );
    assert!(dry.contains("guild 1 \"Default Guild\": logs kept for good"), "{dry}");
    assert_eq!((events(1), events(2)), (1, 2), "a dry run changes nothing");

    let done = run(wowlogs().args(["retention"]).args(&store));
    assert!(done.contains("removed 1 logs"), "{done}");
    assert_eq!(events(2), 1, "the log uploaded 100 days ago went; the 2020 raid imported yesterday stayed");
    assert_eq!(events(1), 1, "a guild without a policy keeps everything");

    let audited = runtime.block_on(support::tsv(
        &settings,
        "SELECT action, detail FROM audit_log WHERE guild_id = 2 AND action LIKE 'retention.%' ORDER BY at_ms, action",
    ));
    let actions: Vec<&str> = audited.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(actions, ["retention.plan", "retention.plan", "retention.delete"], "{audited}");
    assert!(audited.lines().last().unwrap().contains("logs=1 combat_events=1"), "{audited}");

    // A default for guilds without a policy of their own.
    run(wowlogs().args(["retention", "--days", "30"]).args(&store));
    assert_eq!(events(1), 0, "GUILD_DATA_RETENTION_DAYS / --days applies to guilds without a policy");
}

#[test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
fn an_operator_purges_named_logs_of_one_guild_for_good_and_it_is_audited() {
    let database = unique("wowlogs_test_purge_cli");
    let store = ["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), database.clone()];
    run(wowlogs().arg("migrate").args(&store));
    run(wowlogs().args(["guild", "create", "--name", "Careful"]).args(&store));
    let settings = StoreSettings::new(clickhouse(), database.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sql = |statement: String| runtime.block_on(settings.client().query(&statement).execute()).unwrap();
    let now = wowlogs_schemas::now_ms() / 1000;
    // Guild 2's logs 11 and 12; guild 1's log 13.
    for (guild, log_id) in [(2, 11), (2, 12), (1, 13)] {
        sql(format!(
            "INSERT INTO logs (guild_id, log_id, state, updated) VALUES ({guild}, {log_id}, 'completed', toDateTime({now}, 'UTC'))"
        ));
        sql(format!(
            "INSERT INTO combat_events (guild_id, log_id, line, timestamp, timestamp_ms) VALUES ({guild}, {log_id}, 1, toDateTime({now}, 'UTC'), {now}000)"
        ));
    }
    let events = |log: i64| {
        runtime.block_on(count(&settings, &format!("SELECT count() FROM combat_events WHERE log_id = {log}")))
    };
    let purge = |extra: &[&str]| {
        run(wowlogs()
            .args(["guild", "purge-logs", "2", "11", "13", "--reason", "the raider asked"])
            .args(extra)
            .args(&store))
    };
    let dry = purge(&["--dry-run"]);
    assert!(dry.contains("would purge 1 logs") && dry.contains("unknown 13 (no log of guild 2)"), "{dry}");
    assert_eq!((events(11), events(12), events(13)), (1, 1, 1), "a dry run changes nothing");

    let done = purge(&[]);
    assert!(done.contains("purged 1 logs"), "{done}");
    assert_eq!((events(11), events(12), events(13)), (0, 1, 1), "log 11 went; 12 and guild 1's 13 stayed");
    let recorded = runtime.block_on(support::tsv(
        &settings,
        "SELECT guild_id, log_id, reason FROM deleted_logs FINAL ORDER BY log_id",
    ));
    assert_eq!(recorded.trim(), "2\t11\tthe raider asked", "recorded, so no replay brings it back");
    let audited = runtime.block_on(support::tsv(
        &settings,
        "SELECT action, detail FROM audit_log WHERE guild_id = 2 AND action = 'logs.purge'",
    ));
    assert!(
        audited.contains("logs=1 combat_events=1") && audited.contains("reason=the raider asked"),
        "{audited}"
    );
}
