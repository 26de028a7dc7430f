//! Purging a guild against the real broker and ClickHouse: every table loses the guild's
//! rows and only those; a rebuild replaying the topics, and a restore of a backup taken
//! before the purge, bring none of it back; a backup taken after leaves it out; a new
//! guild never gets the purged guild's id.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::probe::free_port;
use support::*;
use wowlogs_store::StoreSettings;
use wowlogs_store::purge::{KEPT_TABLES, purged_tables};
use wowlogs_tenancy::GuildRow;

/// Every table of the database with a `guild_id` column, and the guild's rows in it.
async fn rows_per_table(store: &StoreSettings, guild: i64) -> Vec<(String, u64)> {
    let tables = tsv(
        store,
        &format!(
            "SELECT table FROM system.columns WHERE database = '{}' AND name = 'guild_id' \
             AND table IN (SELECT name FROM system.tables WHERE database = '{}' AND engine NOT LIKE '%View') \
             ORDER BY table",
            store.database, store.database
        ),
    )
    .await;
    let mut rows = Vec::new();
    for table in tables.lines() {
        let extra = if table == "encounter_transfers" {
            format!(" OR target_guild = {guild}")
        } else {
            String::new()
        };
        let n = count(store, &format!("SELECT count() FROM {table} WHERE guild_id = {guild}{extra}")).await;
        rows.push((table.to_string(), n));
    }
    rows
}

/// Asserts the purged guild has no row left but in the tables a purge keeps.
async fn assert_gone(store: &StoreSettings, guild: i64, when: &str) {
    let kept: Vec<&str> = KEPT_TABLES.iter().map(|(table, _)| *table).collect();
    let left: Vec<(String, u64)> = rows_per_table(store, guild)
        .await
        .into_iter()
        .filter(|(table, n)| *n > 0 && !kept.contains(&table.as_str()))
        .collect();
    assert!(left.is_empty(), "{when}: guild {guild} still has rows: {left:?}");
}

/// `wowlogs rebuild` of both groups from `brokers`, the events sink first.
fn rebuild_both_on(brokers: &str, database: &str, prefix: &str) {
    for group in ["events-sink", "encounters"] {
        let output = run(wowlogs()
            .args(["rebuild", group, "--brokers", brokers, "--clickhouse-url", &clickhouse()])
            .args(["--database", database, "--group-id", &format!("{prefix}-{group}"), "--metrics-addr", ""])
            .args(["--batch-age-ms", "300", "--session-timeout-ms", "6000"]));
        assert!(output.contains("swapped in the rebuilt tables"), "{output}");
    }
}

/// Both consumer groups (`<prefix>-events-sink`, `<prefix>-encounters`) on `brokers`,
/// each a dynamic member that leaves its group when stopped (a rebuild follows).
fn consumers_on(brokers: &str, database: &str, prefix: &str) -> [ConsumerProcess; 2] {
    ["events-sink", "encounters"].map(|group| {
        let id = format!("{prefix}-{group}");
        ConsumerProcess::start_on(brokers, group, &id, &clickhouse(), database, Some(free_port()), &[])
    })
}

/// Records the groups read since they started.
fn received(groups: &[ConsumerProcess; 2]) -> f64 {
    groups.iter().map(ConsumerProcess::received).sum()
}

/// `wowlogs backup` of every guild into `dir`: the new backup's folder.
fn backup(brokers: &str, store_args: &[String], dir: &Path) -> PathBuf {
    let output = run(wowlogs().args(["backup", "--brokers", brokers]).args(store_args).arg(dir));
    let folder = output.lines().find_map(|l| l.strip_prefix("backed up to ")).expect("the folder").trim();
    PathBuf::from(folder)
}

/// The records a backup holds of a source (topic or table).
fn records(folder: &Path, source: &str) -> Option<u64> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    manifest["files"].as_array().unwrap().iter().find(|f| f["source"] == source)?["records"].as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_purged_guild_leaves_no_row_and_stays_gone_through_a_rebuild_and_a_restore() {
    // A broker of the test's own: the rebuild and the restore replay this test's records only.
    let broker = Broker::start();
    let (kept, purged) = (1, 2);
    let (database, store_args) = migrated("wowlogs_test_purge", &clickhouse());
    let store = StoreSettings::new(clickhouse(), database.clone());
    for (guild, name) in [(kept, "Stays"), (purged, "Leaves")] {
        wowlogs_store::rows::insert_rows(
            &store.client(),
            &[GuildRow::active(guild, name, 1_700_000_000_000)],
        )
        .await
        .unwrap();
    }
    let kept_log = fixture("classic_sod_1.15.1_gnomeregan_raid.txt");
    let purged_log = fixture("arena_3v3_tww_11.2.0.txt");
    let consumers = consumers_on(&broker.address, &database, "purge");
    finish(start_import_on(&broker.address, kept, std::slice::from_ref(&kept_log)), "import");
    finish(start_import_on(&broker.address, purged, std::slice::from_ref(&purged_log)), "import");
    let kept_analysis = analyze(&kept_log);
    wait_for_guild(&store, kept, &[&kept_analysis], Duration::from_secs(180)).await;
    wait_for_guild(&store, purged, &[&analyze(&purged_log)], Duration::from_secs(180)).await;
    consumers.into_iter().for_each(ConsumerProcess::stop);
    // What the guild wrote itself: a key, and its guild master's message.
    let guild_arg = ["--guild".to_string(), purged.to_string()];
    run(wowlogs()
        .args(["api-key", "create", "--permissions", "query"])
        .args(guild_arg.clone())
        .args(&store_args));
    run(wowlogs().args(["progress", "message", "Pull at eight"]).args(guild_arg.clone()).args(&store_args));
    let before: Vec<(String, u64)> = rows_per_table(&store, purged).await;
    for table in [
        "combat_events",
        "encounters",
        "encounter_players",
        "logs",
        "api_keys",
        "progress_messages",
        "guild_days",
        "guilds",
    ] {
        assert!(before.iter().any(|(t, n)| t == table && *n > 0), "the guild has {table} rows: {before:?}");
    }
    // Every table holding a guild's rows is one a purge empties or one it keeps on purpose.
    let known: Vec<&str> = purged_tables().chain(KEPT_TABLES.iter().map(|(t, _)| *t)).collect();
    let unknown: Vec<&String> =
        before.iter().map(|(t, _)| t).filter(|t| !known.contains(&t.as_str())).collect();
    assert!(unknown.is_empty(), "tables a purge does not know: {unknown:?}");
    let kept_content = dump_guild_content(&store, kept).await;
    let backups = tempfile::tempdir().unwrap();
    let old_backup = backup(&broker.address, &store_args, backups.path());
    assert_eq!(records(&old_backup, "guilds"), Some(2), "taken before the purge: both guilds");

    let purge = |extra: &[&str]| {
        wowlogs()
            .args(["guild", "purge", &purged.to_string(), "--reason", "the guild left the instance"])
            .args(extra)
            .args(&store_args)
            .output()
            .unwrap()
    };
    let dry = purge(&["--dry-run"]);
    let said = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success() && said.contains(&format!("would purge guild {purged}")), "{said}");
    assert!(said.contains("combat_events"), "the dry run lists what would go: {said}");
    assert_eq!(rows_per_table(&store, purged).await, before, "a dry run changes nothing");
    let refused = purge(&[]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("deactivate it before purging"), "an active guild is refused: {why}");
    run(wowlogs().args(["guild", "deactivate", &purged.to_string()]).args(&store_args));
    let done = purge(&[]);
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success() && said.contains(&format!("purged guild {purged}")), "{said}");
    assert_gone(&store, purged, "after the purge").await;
    assert_same_tables(&dump_guild_content(&store, kept).await, &kept_content);
    let audit = tsv(
        &store,
        &format!("SELECT action, detail FROM audit_log WHERE guild_id = {purged} AND action = 'guild.purge'"),
    )
    .await;
    assert!(
        audit.contains("reason=the guild left the instance") && audit.contains("combat_events="),
        "{audit}"
    );

    // The topics still hold every record of the guild: a rebuild reads them all.
    rebuild_both_on(&broker.address, &database, "purge");
    assert_gone(&store, purged, "after a rebuild").await;
    assert_same_tables(&dump_guild_content(&store, kept).await, &kept_content);

    // A backup from before the purge, restored on the live instance: the guild's rows
    // are not written and its records are not published again.
    let consumers = consumers_on(&broker.address, &database, "purge");
    let before_restore = received(&consumers);
    let said =
        run(wowlogs().args(["restore", "--brokers", &broker.address]).args(&store_args).arg(&old_backup));
    assert!(said.contains("restored 1 guilds"), "only the guild that stays: {said}");
    let again = before_restore + 2.0 * kept_analysis.events as f64;
    until("the consumers read the restored records", Duration::from_secs(120), || {
        received(&consumers) >= again
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    consumers.into_iter().for_each(ConsumerProcess::stop);
    assert_gone(&store, purged, "after a restore of a backup from before the purge").await;
    assert_same_tables(&dump_guild_content(&store, kept).await, &kept_content);

    // A backup taken now leaves the guild out and carries its purge.
    let new_backup = backup(&broker.address, &store_args, backups.path());
    assert_eq!(records(&new_backup, "purged_guilds"), Some(1));
    assert_eq!(records(&new_backup, "guilds"), Some(1));
    // The staying guild's events twice (imported, then published again by the restore),
    // none of the purged guild's.
    assert_eq!(records(&new_backup, "wowlogs.combat-events.v1"), Some(2 * kept_analysis.events));

    // The next guild is not given the purged guild's id (its records are still on the topics).
    let created = run(wowlogs().args(["guild", "create", "--name", "Newcomers"]).args(&store_args));
    let id: i64 = created.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert_eq!(id, purged + 1, "{created}");
}
