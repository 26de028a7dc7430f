//! The whole pipeline, binaries and all: `wowlogs import` into the real broker, both
//! consumer groups (`wowlogs consume ...`) into the real ClickHouse, compared with
//! `wowlogs analyze --format json` of the same files; and the same under faults.

mod support;

use std::path::PathBuf;
use std::time::Duration;
use support::probe::free_port;
use support::*;
use wowlogs_schemas::GuildId;
use wowlogs_store::StoreSettings;
use wowlogs_store::rows::{EncounterDeathRow, EncounterDetailRow, EncounterPlayerRow, EncounterRow};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn every_fixture_lands_in_clickhouse_exactly_as_analyze_reports_it() {
    let guild = 4001;
    let database = unique("wowlogs_test_e2e");
    let store = store(&clickhouse(), &database);
    // Every real log: raids, keys, arenas of every client, Solo Shuffle rounds, logs
    // without fights.
    let files = all_fixtures();
    assert!(files.len() >= 9);
    let analyses: Vec<Analysis> = files.iter().map(|f| analyze(f)).collect();

    let sink = ConsumerProcess::start("events-sink", &unique("e2e-sink"), &clickhouse(), &database, None);
    let encounters = ConsumerProcess::start("encounters", &unique("e2e-enc"), &clickhouse(), &database, None);
    finish(start_import(guild, &files), "import");
    wait_for_guild(&store, guild, &analyses.iter().collect::<Vec<_>>(), Duration::from_secs(180)).await;
    sink.stop();
    encounters.stop();

    for (file, analysis) in files.iter().zip(&analyses) {
        let content = std::fs::read(file).unwrap();
        let log_id = wowlogs_producer::identity::identify(GuildId(guild), &mut &content[..]).unwrap().log_id;
        let events = count(
            &store,
            &format!(
                "SELECT count() FROM combat_events FINAL WHERE guild_id = {guild} AND log_id = {}",
                log_id.0
            ),
        )
        .await;
        assert_eq!(events, analysis.events, "{}: combat_events rows", file.display());

        let mut got: Vec<EncounterRow> = store
            .client()
            .query(
                "SELECT ?fields FROM encounters FINAL WHERE guild_id = ? AND log_id = ? ORDER BY start_line",
            )
            .bind(guild)
            .bind(log_id.0)
            .fetch_all()
            .await
            .unwrap();
        let upload_id = got.first().map(|r| r.upload_id.clone()).unwrap_or_default();
        assert!(got.is_empty() || upload_id.starts_with("import-"), "{upload_id}");
        let mut fights = analysis.fights.clone();
        fights.sort_by_key(|f| f.start_line);
        let expected: Vec<EncounterRow> = fights
            .iter()
            .map(|f| EncounterRow::from_fight(GuildId(guild), log_id, &upload_id, f, f.end_line as u64))
            .collect();
        got.iter_mut().zip(&expected).for_each(|(g, e)| g.version = e.version);
        assert_eq!(got, expected, "{}: encounters", file.display());

        let mut got: Vec<EncounterPlayerRow> = store
            .client()
            .query(
                "SELECT ?fields FROM encounter_players FINAL WHERE guild_id = ? AND log_id = ? \
                 ORDER BY start_line, player_guid",
            )
            .bind(guild)
            .bind(log_id.0)
            .fetch_all()
            .await
            .unwrap();
        let mut expected: Vec<EncounterPlayerRow> = fights
            .iter()
            .flat_map(|f| {
                f.players
                    .iter()
                    .map(|p| EncounterPlayerRow::from_player(GuildId(guild), log_id, f, p, f.end_line as u64))
            })
            .collect();
        expected.sort_by(|a, b| (a.start_line, &a.player_guid).cmp(&(b.start_line, &b.player_guid)));
        assert_eq!(expected.is_empty(), fights.is_empty(), "{}", file.display());
        // The version is the consumer's (end line and whether the log was read whole).
        got.iter_mut().zip(&expected).for_each(|(g, e)| g.version = e.version);
        assert_eq!(got, expected, "{}: encounter_players", file.display());

        // Every fight's bosses, deadliest abilities and interrupts, as analyze has them.
        let mut got: Vec<EncounterDetailRow> = store
            .client()
            .query("SELECT ?fields FROM encounter_details FINAL WHERE guild_id = ? AND log_id = ? ORDER BY start_line")
            .bind(guild)
            .bind(log_id.0)
            .fetch_all()
            .await
            .unwrap();
        let expected: Vec<EncounterDetailRow> = fights
            .iter()
            .map(|f| EncounterDetailRow::from_fight(GuildId(guild), log_id, f, f.end_line as u64))
            .collect();
        got.iter_mut().zip(&expected).for_each(|(g, e)| g.version = e.version);
        assert_eq!(got, expected, "{}: encounter_details", file.display());

        // Every death with its killing blow and recap, as analyze has it.
        let mut got: Vec<EncounterDeathRow> = store
            .client()
            .query(
                "SELECT ?fields FROM encounter_deaths FINAL WHERE guild_id = ? AND log_id = ? \
                 ORDER BY start_line, line, player_guid",
            )
            .bind(guild)
            .bind(log_id.0)
            .fetch_all()
            .await
            .unwrap();
        let mut expected: Vec<EncounterDeathRow> = fights
            .iter()
            .flat_map(|f| {
                f.deaths
                    .iter()
                    .map(|d| EncounterDeathRow::from_death(GuildId(guild), log_id, f, d, f.end_line as u64))
            })
            .collect();
        expected.sort_by(|a, b| {
            (a.start_line, a.line, &a.player_guid).cmp(&(b.start_line, b.line, &b.player_guid))
        });
        got.iter_mut().zip(&expected).for_each(|(g, e)| g.version = e.version);
        assert_eq!(got, expected, "{}: encounter_deaths", file.display());
    }

    // The characters view: the classic raid's players, with the class of the log.
    let classes = tsv(
        &store,
        &format!(
            "SELECT class, count() FROM characters WHERE guild_id = {guild} GROUP BY class ORDER BY class"
        ),
    )
    .await;
    assert!(classes.contains("Hunter"), "{classes}");
}

/// A guild no earlier run against the same broker used (imports of the same content
/// for the same guild are duplicates and publish nothing). Each test takes a `base` of
/// its own, a million apart (5 to 8 and 4 million here; 9 million in backup.rs and
/// hostile.rs): two tests of one run with the same base would share a guild.
fn fresh_guild(base: i64) -> i64 {
    base + i64::from(std::process::id() % 100_000) * 10
}

/// Fresh groups read everything into another database: what the tables must hold.
async fn clean_run(clickhouse: &str, guild: i64, expected: &Analysis) -> Vec<(String, String)> {
    let database = unique("wowlogs_test_clean");
    let store = store(clickhouse, &database);
    let sink = ConsumerProcess::start("events-sink", &unique("clean-sink"), clickhouse, &database, None);
    let encounters = ConsumerProcess::start("encounters", &unique("clean-enc"), clickhouse, &database, None);
    wait_for_guild(&store, guild, &[expected], Duration::from_secs(300)).await;
    sink.stop();
    encounters.stop();
    dump_guild(&store, guild).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn consumers_killed_mid_import_again_and_again_come_back_by_themselves_to_identical_tables() {
    // What a supervisor does: the same command, the same group ids, the default session
    // timeout (30 s). Static membership gives the restarted process its partitions back
    // at once; without it the broker waited for the dead member (measured: minutes, and
    // past 5 minutes on CI's machine).
    let guild = fresh_guild(8_000_000);
    let dir = tempfile::tempdir().unwrap();
    let file = synth(dir.path(), "150MB", 13);
    let analysis = analyze(&file);
    assert!(analysis.fights.len() >= 3, "{} fights", analysis.fights.len());
    let database = unique("wowlogs_test_restart");
    let store = store(&clickhouse(), &database);
    let (prefix, instance) = (unique("restart"), unique("host"));
    let mut consumers = ConsumerProcess::start_all(&prefix, &instance, &clickhouse(), &database, free_port());
    // Both groups have joined and process records before the large import starts.
    let warm_up = fixture("arena_3v3_tww_11.2.0.txt");
    finish(start_import(guild + 1, std::slice::from_ref(&warm_up)), "warm-up import");
    wait_for_guild(&store, guild + 1, &[&analyze(&warm_up)], Duration::from_secs(120)).await;
    let warm_up_fights = consumers.inserted("encounters");
    let mut import = start_import(guild, std::slice::from_ref(&file));
    for round in 0..3 {
        // Let it read a while, then kill it and start it again. The first time, kill it
        // as soon as it has written its first fight, so the kill falls in the middle of
        // the log: seen on its own metrics, polled every 10 ms, well within the 300 ms
        // before its next batch (watching the table itself was slower than the consumer:
        // once every fight was written before the test saw the first).
        let started = std::time::Instant::now();
        while consumers.received() < 20_000.0
            || (round == 0 && consumers.inserted("encounters") == warm_up_fights)
        {
            assert!(started.elapsed() < Duration::from_secs(300), "round {round}: nothing read");
            tokio::time::sleep(Duration::from_millis(if round == 0 { 10 } else { 100 })).await;
        }
        let importing = import.try_wait().unwrap().is_none();
        consumers.kill();
        if round == 0 {
            // What must hold is that the consumers died in the middle of the log. The
            // import itself may already be done: it publishes faster than they write.
            let fights =
                count(&store, &format!("SELECT count() FROM encounters FINAL WHERE guild_id = {guild}"))
                    .await;
            assert!(fights > 0, "killed after the first fight was written");
            assert!((fights as usize) < analysis.fights.len(), "killed mid-log: {fights} fights written");
            eprintln!(
                "killed with {fights}/{} fights written, the import {}",
                analysis.fights.len(),
                if importing { "still running" } else { "done" }
            );
        }
        consumers = ConsumerProcess::start_all(&prefix, &instance, &clickhouse(), &database, free_port());
        let restarted = std::time::Instant::now();
        while consumers.received() == 0.0 {
            assert!(
                restarted.elapsed() < Duration::from_secs(20),
                "round {round}: the restarted consumer read nothing for 20 s (session timeout 30 s)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("round {round}: reading again after {:?}", restarted.elapsed());
    }
    finish(import, "import");
    wait_for_guild(&store, guild, &[&analysis], Duration::from_secs(300)).await;
    consumers.stop();
    let got = dump_guild(&store, guild).await;
    assert_same_tables(&got, &clean_run(&clickhouse(), guild, &analysis).await);
}

/// A ClickHouse of the test's own, which it stops and starts.
struct OwnClickHouse {
    state: tempfile::TempDir,
    http_port: String,
    tcp_port: String,
}

impl OwnClickHouse {
    fn script(&self, action: &str) -> String {
        let mut command = std::process::Command::new(repo().join("deploy/local/clickhouse.sh"));
        command.arg(action).arg("--state").arg(self.state.path());
        if action == "start" {
            command.args(["--http-port", &self.http_port, "--tcp-port", &self.tcp_port]);
        }
        run(&mut command).trim().to_string()
    }
}

impl Drop for OwnClickHouse {
    fn drop(&mut self) {
        let _ = std::process::Command::new(repo().join("deploy/local/clickhouse.sh"))
            .arg("stop")
            .arg("--state")
            .arg(self.state.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn consumers_wait_out_twenty_seconds_without_clickhouse_and_finish_identically() {
    let own = OwnClickHouse {
        state: tempfile::tempdir().unwrap(),
        http_port: std::env::var("WOWLOGS_TEST_OUTAGE_HTTP_PORT").unwrap_or_else(|_| "28123".into()),
        tcp_port: std::env::var("WOWLOGS_TEST_OUTAGE_TCP_PORT").unwrap_or_else(|_| "29000".into()),
    };
    let clickhouse = own.script("start");
    let guild = fresh_guild(6_000_000);
    let dir = tempfile::tempdir().unwrap();
    let file = synth(dir.path(), "40MB", 12);
    let analysis = analyze(&file);
    let database = unique("wowlogs_test_outage");
    let store = store(&clickhouse, &database);
    let metrics_port = 19_464;
    let mut sink = ConsumerProcess::start(
        "events-sink",
        &unique("outage-sink"),
        &clickhouse,
        &database,
        Some(metrics_port),
    );
    let mut encounters =
        ConsumerProcess::start("encounters", &unique("outage-enc"), &clickhouse, &database, None);
    // Both groups have joined and write rows; then ClickHouse goes away while the
    // import runs, so every row of the log has to wait for it.
    let warm_up = fixture("arena_3v3_tww_11.2.0.txt");
    finish(start_import(guild + 1, std::slice::from_ref(&warm_up)), "warm-up import");
    wait_for_guild(&store, guild + 1, &[&analyze(&warm_up)], Duration::from_secs(120)).await;
    own.script("stop");
    let import = start_import(guild, std::slice::from_ref(&file));
    let mut saw_not_ready = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(sink.alive() && encounters.alive(), "the consumers wait for ClickHouse instead of exiting");
        saw_not_ready |= sink.get("/health/ready").0 == 503;
    }
    own.script("start");
    finish(import, "import");
    wait_for_guild(&store, guild, &[&analysis], Duration::from_secs(300)).await;
    assert!(saw_not_ready, "readiness reports the outage");
    let (_, metrics) = sink.get("/metrics");
    let retries = probe::metric_sum(&metrics, "wowlogs_consumer_insert_failures_total{", "");
    assert!(retries > 0.0, "failed inserts were retried:\n{metrics}");
    sink.stop();
    encounters.stop();

    let got = dump_guild(&store, guild).await;
    assert_same_tables(&got, &clean_run(&clickhouse, guild, &analysis).await);
}

/// `logs` imported for `guild` and read by both groups (fresh group ids starting with
/// `prefix`) into `database`, the groups stopped: the logs' analyses and the group ids.
async fn imported(
    guild: i64,
    database: &str,
    store: &StoreSettings,
    logs: &[PathBuf],
    prefix: &str,
) -> (Vec<Analysis>, (String, String)) {
    let analyses: Vec<Analysis> = logs.iter().map(|f| analyze(f)).collect();
    let groups = (unique(&format!("{prefix}-sink")), unique(&format!("{prefix}-enc")));
    let sink = ConsumerProcess::start("events-sink", &groups.0, &clickhouse(), database, None);
    let encounters = ConsumerProcess::start("encounters", &groups.1, &clickhouse(), database, None);
    finish(start_import(guild, logs), "import");
    wait_for_guild(store, guild, &analyses.iter().collect::<Vec<_>>(), Duration::from_secs(180)).await;
    sink.stop();
    encounters.stop();
    (analyses, groups)
}

/// `wowlogs rebuild` of both groups, the events sink first.
fn rebuild_both(database: &str, (sink_group, encounters_group): (&str, &str)) {
    for (group, group_id) in [("events-sink", sink_group), ("encounters", encounters_group)] {
        let output = run(wowlogs()
            .args(["rebuild", group, "--brokers", &brokers(), "--clickhouse-url", &clickhouse()])
            .args(["--database", database, "--group-id", group_id, "--metrics-addr", ""])
            .args(["--batch-age-ms", "300", "--session-timeout-ms", "6000"]));
        assert!(output.contains("swapped in the rebuilt tables"), "{output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_rebuild_swaps_in_tables_equal_to_the_incremental_ones_and_the_groups_go_on() {
    let guild = fresh_guild(7_000_000);
    let database = unique("wowlogs_test_rebuild");
    let store = store(&clickhouse(), &database);
    let first = [fixture("arena_3v3_tww_11.2.0.txt"), fixture("classic_sod_1.15.1_gnomeregan_raid.txt")];
    let (analyses, (sink_group, encounters_group)) =
        imported(guild, &database, &store, &first, "rebuild").await;
    // An instance administrator moved one fight to another guild: the rebuild, which
    // replays it under this guild, moves it there again.
    let target = guild + 1;
    let moved =
        count(&store, &format!("SELECT min(fight_id) FROM encounters FINAL WHERE guild_id = {guild}")).await;
    let done =
        wowlogs_store::transfer_encounters(&store, GuildId(guild), GuildId(target), &[moved as i64], "test")
            .await
            .unwrap();
    assert_eq!(done.moved.len(), 1, "{done:?}");
    let in_target = |store: StoreSettings| async move {
        let fights = tsv(
            &store,
            &format!("SELECT fight_id, log_id, start_line, name, duration_ms FROM encounters FINAL WHERE guild_id = {target} ORDER BY start_line"),
        )
        .await;
        let players =
            count(&store, &format!("SELECT count() FROM encounter_players FINAL WHERE guild_id = {target}"))
                .await;
        (fights, players)
    };
    let moved_rows = in_target(store.clone()).await;
    assert!(!moved_rows.0.is_empty() && moved_rows.1 > 0, "{moved_rows:?}");
    let incremental = dump_guild(&store, guild).await;

    // A projection gone wrong: a fight that never happened.
    let bogus = format!(
        "INSERT INTO encounters (guild_id, log_id, start_line, name) VALUES ({guild}, 1, 1, 'bogus')"
    );
    store.client().query(&bogus).execute().await.unwrap();

    rebuild_both(&database, (&sink_group, &encounters_group));
    assert_same_tables(&dump_guild(&store, guild).await, &incremental);
    assert_eq!(in_target(store.clone()).await, moved_rows, "the transferred fight stays transferred");
    // And back (the groups' check below counts every fight of the guild).
    let back = wowlogs_store::transfer_encounters(
        &store,
        GuildId(target),
        GuildId(guild),
        &[done.moved[0].1],
        "test",
    )
    .await
    .unwrap();
    assert_eq!(back.moved, [(done.moved[0].1, moved as i64)], "a fight moved back gets its first id again");
    let previous = count(
        &store,
        &format!("SELECT count() FROM {database}_rebuild.previous_encounters WHERE guild_id = {guild} AND name = 'bogus'"),
    )
    .await;
    assert_eq!(previous, 1, "the previous tables are kept beside the rebuilt ones");
    let leftovers = count(
        &store,
        &format!("SELECT count() FROM system.databases WHERE name = '{database}_rebuild_analytics'"),
    )
    .await;
    assert_eq!(leftovers, 0, "no analytics relations over the previous tables");

    // The groups continue from where the rebuild stopped.
    let later = fixture("retail_sl_9.2_raid_wipe_snippet.txt");
    let later_analysis = analyze(&later);
    let sink = ConsumerProcess::start("events-sink", &sink_group, &clickhouse(), &database, None);
    let encounters = ConsumerProcess::start("encounters", &encounters_group, &clickhouse(), &database, None);
    finish(start_import(guild, std::slice::from_ref(&later)), "second import");
    let all: Vec<&Analysis> = analyses.iter().chain([&later_analysis]).collect();
    wait_for_guild(&store, guild, &all, Duration::from_secs(180)).await;
    sink.stop();
    encounters.stop();
}

/// A log retention deleted stays deleted: a rebuild replays every record of the topics,
/// the deleted log's included, and the consumers drop its rows (`deleted_logs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn a_log_deleted_by_retention_never_comes_back_with_a_rebuild() {
    let guild = fresh_guild(4_000_000);
    let database = unique("wowlogs_test_deleted");
    let store = store(&clickhouse(), &database);
    let logs = [fixture("arena_3v3_tww_11.2.0.txt"), fixture("retail_sl_9.2_raid_wipe_snippet.txt")];
    let (analyses, groups) = imported(guild, &database, &store, &logs, "deleted").await;
    let log_ids =
        tsv(&store, &format!("SELECT log_id FROM logs FINAL WHERE guild_id = {guild} ORDER BY log_id")).await;
    let ids: Vec<i64> = log_ids.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{log_ids}");
    // The first log was uploaded 100 days ago (a newer version of its row says so).
    let now = wowlogs_schemas::now_ms();
    let uploaded = now / 1000 - 100 * 86_400;
    store
        .client()
        .query(&format!(
            "INSERT INTO logs (guild_id, log_id, state, updated, version) \
             VALUES ({guild}, {}, 'completed', toDateTime({uploaded}, 'UTC'), {})",
            ids[0],
            now * 4
        ))
        .execute()
        .await
        .unwrap();
    let plan = wowlogs_store::RetentionPlan::keep_days(guild, (now / 1000) as u32, 30);
    let removed = wowlogs_store::apply_retention(&store, &plan, false).await.unwrap();
    assert_eq!(removed.logs, [ids[0]]);
    let rows_of = |log: i64| {
        let store = store.clone();
        async move {
            let mut rows = 0;
            for table in [
                "combat_events",
                "character_gear",
                "encounters",
                "encounter_players",
                "logs",
                "character_logs",
            ] {
                rows += count(
                    &store,
                    &format!("SELECT count() FROM {table} WHERE guild_id = {guild} AND log_id = {log}"),
                )
                .await;
            }
            rows
        }
    };
    assert_eq!(rows_of(ids[0]).await, 0, "retention removed the log");
    let kept = rows_of(ids[1]).await;
    assert!(kept > 0);

    // The topics still hold every record of the deleted log: the rebuild reads them all.
    rebuild_both(&database, (&groups.0, &groups.1));
    assert_eq!(rows_of(ids[0]).await, 0, "a rebuild does not bring the deleted log back");
    assert_eq!(rows_of(ids[1]).await, kept, "the other log is whole");
    let events: u64 = analyses.iter().map(|a| a.events).sum::<u64>();
    let left =
        count(&store, &format!("SELECT count() FROM combat_events FINAL WHERE guild_id = {guild}")).await;
    assert!(left > 0 && left < events, "only the kept log's events: {left} of {events}");
    let recorded =
        tsv(&store, &format!("SELECT log_id, reason FROM deleted_logs FINAL WHERE guild_id = {guild}")).await;
    assert_eq!(recorded.trim(), format!("{}\tretention", ids[0]));
}

/// The event log is the system of record: with every ClickHouse table gone (the whole
/// database dropped), `wowlogs migrate` and a rebuild of each group from the topics give
/// back the same tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn every_table_dropped_comes_back_identical_from_the_topics() {
    let guild = fresh_guild(5_000_000);
    let database = unique("wowlogs_test_from_log");
    let store = store(&clickhouse(), &database);
    let logs = [fixture("retail_sl_9.2_raid_wipe_snippet.txt"), fixture("arena_3v3_tww_11.2.0.txt")];
    let (_, groups) = imported(guild, &database, &store, &logs, "from-log").await;
    let before = dump_guild(&store, guild).await;

    store.server_client().query(&format!("DROP DATABASE {database}")).execute().await.unwrap();
    let gone =
        count(&store, &format!("SELECT count() FROM system.tables WHERE database = '{database}'")).await;
    assert_eq!(gone, 0, "every table is gone");
    run(wowlogs().args(["migrate", "--clickhouse-url", &clickhouse(), "--database", &database]));
    rebuild_both(&database, (&groups.0, &groups.1));
    assert_same_tables(&dump_guild(&store, guild).await, &before);
}
