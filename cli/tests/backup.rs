//! `wowlogs backup` and `wowlogs restore` against the real broker and ClickHouse: two
//! guilds backed up, one restored on a stack of its own (a second broker and a new
//! database: the first stack "wiped"), its tables equal to the originals; restoring
//! twice changes nothing; a damaged backup is refused.

mod support;

use std::time::Duration;
use support::probe::free_port;
use support::*;
use wowlogs_store::StoreSettings;
use wowlogs_tenancy::GuildRow;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_guild_backed_up_and_restored_on_a_new_stack_has_the_same_tables_and_restoring_twice_changes_nothing()
 {
    // Guild ids no other test uses, so the shared broker holds only this test's records of them.
    let base = 9_000_000 + i64::from(std::process::id() % 100_000) * 10;
    let (kept, other) = (base, base + 1);
    let database = unique("wowlogs_test_backup");
    let store = StoreSettings::new(clickhouse(), database.clone());
    let store_args =
        ["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), database.clone()];
    run(wowlogs().arg("migrate").args(&store_args));
    for (guild, name) in [(kept, "Backed Up"), (other, "Left Behind")] {
        wowlogs_store::rows::insert_rows(
            &store.client(),
            &[GuildRow::active(guild, name, 1_700_000_000_000)],
        )
        .await
        .unwrap();
    }
    let kept_log = fixture("classic_sod_1.15.1_gnomeregan_raid.txt");
    let deleted_log = fixture("retail_sl_9.2_raid_wipe_snippet.txt");
    let other_log = fixture("arena_3v3_tww_11.2.0.txt");
    let consumers =
        ConsumerProcess::start_all(&unique("backup"), "backup-1", &clickhouse(), &database, free_port());
    finish(start_import(kept, &[kept_log.clone(), deleted_log.clone()]), "import");
    finish(start_import(other, std::slice::from_ref(&other_log)), "import");
    let kept_analysis = analyze(&kept_log);
    wait_for_guild(&store, kept, &[&kept_analysis, &analyze(&deleted_log)], Duration::from_secs(180)).await;
    wait_for_guild(&store, other, &[&analyze(&other_log)], Duration::from_secs(180)).await;
    consumers.stop();
    // Retention deleted the second log (uploaded 100 days ago, as a newer row of it says):
    // its records stay on the topics, and neither the backup nor the restore has them.
    let now = wowlogs_schemas::now_ms();
    let deleted_id = count(
        &store,
        &format!("SELECT log_id FROM logs FINAL WHERE guild_id = {kept} AND file_name = 'retail_sl_9.2_raid_wipe_snippet.txt'"),
    )
    .await as i64;
    store
        .client()
        .query(&format!(
            "INSERT INTO logs (guild_id, log_id, state, updated, version) \
             VALUES ({kept}, {deleted_id}, 'completed', toDateTime({}, 'UTC'), {})",
            now / 1000 - 100 * 86_400,
            now * 4
        ))
        .execute()
        .await
        .unwrap();
    let plan = wowlogs_store::RetentionPlan::keep_days(kept, (now / 1000) as u32, 30);
    assert_eq!(wowlogs_store::apply_retention(&store, &plan, false).await.unwrap().logs, [deleted_id]);
    // The guild's progress plan, written by its guild master (here with the CLI).
    let roster = backups_dir_file(
        "roster.csv",
        "character,rank,main\nMeerah-CrusaderStrike-US,0,\nAlt-CrusaderStrike-US,3,Meerah-CrusaderStrike-US\n",
    );
    let said = run(wowlogs()
        .args(["progress", "roster", "--guild", &kept.to_string()])
        .args(&store_args)
        .arg(&roster));
    assert!(said.contains("2 members"), "{said}");
    run(wowlogs().args(["progress", "seed-targets", "--guild", &kept.to_string()]).args(&store_args));
    run(wowlogs()
        .args(["progress", "message", "--guild", &kept.to_string(), "Focus on DPS!"])
        .args(&store_args));
    let plan_of = |store: StoreSettings| async move {
        let query = format!(
            "SELECT (SELECT groupArray(character) FROM (SELECT character FROM guild_roster FINAL WHERE guild_id = {kept} AND active = 1 ORDER BY character)), \
             (SELECT count() FROM progress_targets FINAL WHERE guild_id = {kept} AND active = 1), \
             (SELECT groupArray(message) FROM progress_messages FINAL WHERE guild_id = {kept})"
        );
        tsv(&store, &query).await
    };
    let plan = plan_of(store.clone()).await;
    assert!(plan.contains("meerah-crusaderstrike-us") && plan.contains("Focus on DPS!"), "{plan}");
    let original = dump_guild_content(&store, kept).await;
    let published = tsv(&store, &format!("SELECT file_name FROM logs FINAL WHERE guild_id = {kept}")).await;
    assert_eq!(
        published.trim(),
        "classic_sod_1.15.1_gnomeregan_raid.txt",
        "an import publishes base names, never paths"
    );

    let backups = tempfile::tempdir().unwrap();
    for guild in [kept, other] {
        let output = run(wowlogs()
            .args(["backup", "--brokers", &brokers(), "--guild", &guild.to_string()])
            .args(&store_args)
            .arg(backups.path()));
        assert!(output.contains("backed up to"), "{output}");
    }
    let folder = std::fs::read_dir(backups.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(&format!("-guild-{kept}")))
        .expect("the kept guild's backup");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    let records = |source: &str| {
        manifest["files"].as_array().unwrap().iter().find(|f| f["source"] == source).unwrap()["records"]
            .as_u64()
    };
    assert_eq!(records("wowlogs.combat-events.v1"), Some(kept_analysis.events), "{manifest}");
    assert_eq!(records("guilds"), Some(1));
    assert_eq!(records("deleted_logs"), Some(1), "the deletion goes with the backup");
    assert_eq!(records("guild_roster"), Some(2));

    // The stack is gone: a new broker and a new database, the guild restored into them.
    let fresh = Broker::start();
    let restored_db = unique("wowlogs_test_restored");
    let restored = StoreSettings::new(clickhouse(), restored_db.clone());
    let restored_args =
        ["--clickhouse-url".to_string(), clickhouse(), "--database".to_string(), restored_db.clone()];
    let restore =
        || run(wowlogs().args(["restore", "--brokers", &fresh.address]).args(&restored_args).arg(&folder));
    let said = restore();
    assert!(said.contains("restored 1 guilds"), "{said}");
    let consumers = ConsumerProcess::start_all_on(
        &fresh.address,
        "restore",
        "restore-1",
        &clickhouse(),
        &restored_db,
        free_port(),
    );
    wait_for_guild(&restored, kept, &[&kept_analysis], Duration::from_secs(180)).await;
    assert_same_tables(&dump_guild_content(&restored, kept).await, &original);
    assert_eq!(plan_of(restored.clone()).await, plan, "the progress plan comes back with the guild");
    let guilds = tsv(&restored, "SELECT guild_id, name FROM guilds FINAL ORDER BY guild_id").await;
    assert!(guilds.contains(&format!("{kept}\tBacked Up")) && !guilds.contains("Left Behind"), "{guilds}");

    // Restoring again publishes the records again; the tables stay as they are.
    let received = consumers.received();
    restore();
    // Each group reads the events again (and the statuses): at least twice the events more.
    let again = received + 2.0 * kept_analysis.events as f64;
    let mut seen = received;
    until("the consumers read the second restore", Duration::from_secs(120), || {
        seen = consumers.received();
        seen >= again
    });
    println!("records read: {received} after the first restore, {seen} after the second");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_same_tables(&dump_guild_content(&restored, kept).await, &original);
    consumers.stop();

    // A damaged backup is refused before anything is published.
    let events = folder.join("wowlogs.combat-events.v1.avro");
    let mut bytes = std::fs::read(&events).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&events, bytes).unwrap();
    let refused = wowlogs()
        .args(["restore", "--brokers", &fresh.address])
        .args(&restored_args)
        .arg(&folder)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("damaged"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// A file of the test's own (under the system's temporary folder).
fn backups_dir_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("wowlogs-backup-test-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}
