//! Roll-ups against the real local ClickHouse (see migrations.rs for how to run them):
//! whatever happened to a guild's fights (written twice, replaced by a fuller read,
//! deleted), the day roll-ups read through the analysts' relations equal what the
//! deduplicated fights say.

use serde_json::Value;
use wowlogs_store::analytics::{RELATIONS, analytics_database};
use wowlogs_store::rollups::{Days, refresh};
use wowlogs_store::{StoreSettings, migrate};

fn fresh_database(test: &str) -> StoreSettings {
    StoreSettings::new(
        wowlogs_testkit::clickhouse(),
        wowlogs_testkit::unique(&format!("wowlogs_test_{test}")),
    )
}

async fn rows(store: &StoreSettings, sql: &str) -> Vec<Value> {
    // ClickHouse 18.16 gives each column of each part a read buffer of
    // `max_read_buffer_size` (1 MiB) under FINAL: a guild's fights in 262 monthly parts
    // would need 9.3 GiB (measured), past the server's per-query limit. A current server
    // (chdb 26.9) reads the same FINAL over 262 parts of 30 columns within 200 MB.
    let client = store.client().with_setting("max_read_buffer_size", "65536");
    let mut cursor = client.query(sql).fetch_bytes("JSONEachRow").unwrap();
    let bytes = cursor.collect().await.unwrap_or_else(|e| panic!("{sql}\n{e}"));
    String::from_utf8(bytes.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

const GUILD: i64 = 7;
/// 2024-03-01 and 2024-03-02, 20:00 UTC.
const DAY_ONE: u32 = 1_709_323_200;
const DAY_TWO: u32 = DAY_ONE + 86_400;

/// A fight of `GUILD`'s log 1 at `start_line`: (kind, boss, difficulty, kill, start, ms,
/// version, round), with two players.
async fn fight(
    store: &StoreSettings,
    start_line: i64,
    fight: (&str, &str, i32, u8, u32, i64, u64, Option<i32>),
) {
    let (kind, name, difficulty, kill, start, duration_ms, version, round) = fight;
    let round = round.map_or("NULL".to_string(), |r| r.to_string());
    store
        .client()
        .query(&format!(
            "INSERT INTO encounters (guild_id, log_id, start_line, kind, name, difficulty, kill, start, \
             duration_ms, version, round) VALUES ({GUILD}, 1, {start_line}, '{kind}', '{name}', {difficulty}, \
             {kill}, {start}, {duration_ms}, {version}, {round})"
        ))
        .execute()
        .await
        .unwrap();
    for (guid, player, dps) in [("Player-1", "Aa", 1000.0 + start_line as f64), ("Player-2", "Bb", 500.0)] {
        store
            .client()
            .query(&format!(
                "INSERT INTO encounter_players (guild_id, log_id, start_line, start, player_guid, name, class, \
                 dps, hps, deaths, item_level, version) VALUES ({GUILD}, 1, {start_line}, {start}, '{guid}', \
                 '{player}', 'MAGE', {dps}, 10, 1, 400.5, {version})"
            ))
            .execute()
            .await
            .unwrap();
    }
}

/// The roll-ups as the dashboards read them, and the same figures from the fights.
async fn compare(store: &StoreSettings) -> usize {
    let analytics = StoreSettings { database: analytics_database(store), ..store.clone() };
    let rolled = rows(
        &analytics,
        &format!(
            "SELECT toString(day) AS day, pulls, kills, raid_pulls, arena_matches, fight_ms FROM guild_days \
             WHERE guild_id = {GUILD} ORDER BY day"
        ),
    )
    .await;
    let direct = rows(
        &analytics,
        &format!(
            "SELECT toString(toDate(start)) AS day, count() AS pulls, countIf(kill = 1) AS kills, \
             countIf(kind = 'encounter') AS raid_pulls, countIf(kind = 'arena') AS arena_matches, \
             sum(duration_ms) AS fight_ms FROM encounters WHERE guild_id = {GUILD} AND round IS NULL \
             GROUP BY day ORDER BY day"
        ),
    )
    .await;
    assert_eq!(rolled, direct, "guild_days");
    let rolled = rows(
        &analytics,
        &format!(
            "SELECT name, sum(fights) AS fought, sum(dps_sum) / sum(fights) AS dps, sum(deaths) AS died \
             FROM guild_day_players WHERE guild_id = {GUILD} GROUP BY name ORDER BY name"
        ),
    )
    .await;
    let direct = rows(
        &analytics,
        &format!(
            "SELECT name, count() AS fought, avg(dps) AS dps, sum(deaths) AS died FROM encounter_players \
             WHERE guild_id = {GUILD} GROUP BY name ORDER BY name"
        ),
    )
    .await;
    assert_eq!(rolled, direct, "guild_day_players");
    let rolled = rows(
        &analytics,
        &format!(
            "SELECT toString(day) AS day, name, difficulty, pulls, kills, wipes FROM guild_day_bosses \
             WHERE guild_id = {GUILD} ORDER BY day, name, difficulty"
        ),
    )
    .await;
    let direct = rows(
        &analytics,
        &format!(
            "SELECT toString(toDate(start)) AS day, name, ifNull(difficulty, -1) AS difficulty, count() AS pulls, \
             countIf(kill = 1) AS kills, countIf(kill = 0) AS wipes FROM encounters \
             WHERE guild_id = {GUILD} AND kind = 'encounter' GROUP BY day, name, difficulty ORDER BY day, name, difficulty"
        ),
    )
    .await;
    assert_eq!(rolled, direct, "guild_day_bosses");
    same_rows_every_guild_and_one_guild(store).await;
    rows(&analytics, &format!("SELECT day FROM guild_days WHERE guild_id = {GUILD}")).await.len()
}

/// Every relation, as the operators read it (every guild: the latest row of each key by
/// `argMax`) and as the guild's own database does (its rows with `FINAL`), holds the
/// same rows of the guild.
async fn same_rows_every_guild_and_one_guild(store: &StoreSettings) {
    // A guild's relations show its rows while it is registered and active.
    let register = format!(
        "INSERT INTO guilds (guild_id, name, server, region, faction, settings, active, created, version) \
         VALUES ({GUILD}, 'Roll-up Guild', '', '', '', '{{}}', 1, now(), 1)"
    );
    store.client().query(&register).execute().await.unwrap();
    let analytics = StoreSettings { database: analytics_database(store), ..store.clone() };
    for relation in RELATIONS {
        let sorted = |mut found: Vec<Value>| {
            found.sort_by_key(|row| row.to_string());
            found
        };
        let every =
            rows(&analytics, &format!("SELECT * FROM {} WHERE guild_id = {GUILD}", relation.name)).await;
        let own = rows(store, &relation.select(&store.database, Some(GUILD))).await;
        assert_eq!(sorted(every), sorted(own), "{}", relation.name);
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn each_latest_relation_names_every_column_of_its_table_once() {
    #[derive(Debug, clickhouse::Row, serde::Deserialize)]
    struct Column {
        name: String,
    }
    let store = fresh_database("relation_columns");
    migrate(&store).await.unwrap();
    for relation in RELATIONS {
        let Some((table, mut named)) = relation.latest_columns() else { continue };
        let mut columns: Vec<String> = store
            .client()
            .query("SELECT name FROM system.columns WHERE database = ? AND table = ?")
            .bind(&store.database)
            .bind(table)
            .fetch_all::<Column>()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        columns.sort();
        named.sort();
        assert_eq!(named, columns, "{}: the relation's key and values, and version", relation.name);
    }
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn day_roll_ups_equal_the_fights_after_rewrites_replacements_and_deletions() {
    let store = fresh_database("rollups");
    migrate(&store).await.unwrap();
    let client = store.client();
    // Day one: two pulls of a boss (a wipe, then a kill), an arena match with a round.
    fight(&store, 10, ("encounter", "Boss", 16, 0, DAY_ONE, 300_000, 20, None)).await;
    fight(&store, 20, ("encounter", "Boss", 16, 1, DAY_ONE + 600, 240_000, 40, None)).await;
    fight(&store, 30, ("arena", "Nagrand", 0, 1, DAY_ONE + 1200, 90_000, 60, None)).await;
    fight(&store, 31, ("arena", "Nagrand", 0, 1, DAY_ONE + 1210, 30_000, 62, Some(1))).await;
    // Day two: one pull.
    fight(&store, 40, ("encounter", "Other", 15, 0, DAY_TWO, 60_000, 80, None)).await;
    refresh(&client, GUILD, &Days::of_starts([DAY_ONE, DAY_TWO])).await.unwrap();
    assert_eq!(compare(&store).await, 2);

    // The same fights delivered again, and the first replaced by a fuller read (a kill,
    // longer): refreshed, the roll-ups count each fight once, as last written.
    fight(&store, 20, ("encounter", "Boss", 16, 1, DAY_ONE + 600, 240_000, 40, None)).await;
    fight(&store, 10, ("encounter", "Boss", 16, 1, DAY_ONE, 320_000, 21, None)).await;
    refresh(&client, GUILD, &Days::of_starts([DAY_ONE])).await.unwrap();
    assert_eq!(compare(&store).await, 2);

    // Day two's only fight deleted (as retention or a transfer does): the day is gone.
    for table in ["encounters", "encounter_players"] {
        client
            .query(&format!("ALTER TABLE {table} DELETE WHERE guild_id = {GUILD} AND start_line = 40"))
            .execute()
            .await
            .unwrap();
    }
    wowlogs_store::retention::wait_for_mutations(&store, std::time::Duration::from_secs(60)).await.unwrap();
    wowlogs_store::rollups::refresh_guilds(&store, &[GUILD]).await.unwrap();
    assert_eq!(compare(&store).await, 1, "day two has no fights left");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_guild_whose_fights_span_22_years_is_refreshed_whole_in_pieces() {
    // One pull a month from January 2005 to October 2026: 262 monthly partitions, where
    // current ClickHouse refuses an INSERT touching more than 100 (18.16 has no such
    // limit, so the rows go in at once here), and every refresh piece touches at most
    // MONTHS_PER_REFRESH of them.
    let store = fresh_database("rollups_span");
    migrate(&store).await.unwrap();
    let client = store.client();
    let months = 262;
    let start = |m: u32| format!("toDateTime('2005-01-03 20:00:00', 'UTC') + toIntervalMonth({m})");
    let fights: Vec<String> = (0..months)
        .map(|m| {
            format!(
                "({GUILD}, 1, {}, 'encounter', 'Boss', 16, {}, {}, 60000, 1, NULL)",
                10 + m,
                m % 2,
                start(m)
            )
        })
        .collect();
    client
        .query(&format!(
            "INSERT INTO encounters (guild_id, log_id, start_line, kind, name, difficulty, kill, start, \
             duration_ms, version, round) VALUES {}",
            fights.join(", ")
        ))
        .execute()
        .await
        .unwrap();
    let players: Vec<String> = (0..months)
        .map(|m| {
            format!("({GUILD}, 1, {}, {}, 'Player-1', 'Aa', 'MAGE', 900, 10, 0, 400.5, 1)", 10 + m, start(m))
        })
        .collect();
    client
        .query(&format!(
            "INSERT INTO encounter_players (guild_id, log_id, start_line, start, player_guid, name, class, \
             dps, hps, deaths, item_level, version) VALUES {}",
            players.join(", ")
        ))
        .execute()
        .await
        .unwrap();
    wowlogs_store::rollups::refresh_guilds(&store, &[GUILD]).await.unwrap();
    assert_eq!(compare(&store).await, months as usize, "every month's day is rolled up");

    // The first ten years deleted (as retention does): refreshed whole, they read as gone.
    for table in ["encounters", "encounter_players"] {
        client
            .query(&format!("ALTER TABLE {table} DELETE WHERE guild_id = {GUILD} AND start < toDateTime('2015-01-01 00:00:00', 'UTC')"))
            .execute()
            .await
            .unwrap();
    }
    wowlogs_store::retention::wait_for_mutations(&store, std::time::Duration::from_secs(60)).await.unwrap();
    wowlogs_store::rollups::refresh_guilds(&store, &[GUILD]).await.unwrap();
    assert_eq!(compare(&store).await, months as usize - 120);
}

/// Registers `GUILD` with time zone `zone` (a later `version` replaces an earlier).
async fn zoned(store: &StoreSettings, zone: &str, version: u64) {
    store
        .client()
        .query(
            "INSERT INTO guilds (guild_id, name, server, region, faction, settings, active, created, timezone, version) \
             VALUES (?, 'Night Raiders', '', '', '', '{}', 1, now(), ?, ?)",
        )
        .bind(GUILD)
        .bind(zone)
        .bind(version)
        .execute()
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_guilds_days_are_dates_in_its_time_zone_and_follow_a_change_of_zone() {
    let store = fresh_database("rollups_zone");
    migrate(&store).await.unwrap();
    let client = store.client();
    let analytics = StoreSettings { database: analytics_database(&store), ..store.clone() };
    zoned(&store, "America/New_York", 1).await;
    // One raid night in New York (UTC-5 in March): pulls at 18:30 and 22:00 local,
    // 23:30 UTC on March 1st and 03:00 UTC on March 2nd.
    let (evening, late) = (DAY_ONE + 3 * 3600 + 1800, DAY_ONE + 7 * 3600);
    fight(&store, 10, ("encounter", "Boss", 16, 0, evening, 60_000, 1, None)).await;
    fight(&store, 20, ("encounter", "Boss", 16, 1, late, 60_000, 1, None)).await;
    // What the encounter consumer does after a batch: the UTC days of its fights.
    refresh(&client, GUILD, &Days::of_starts([evening, late])).await.unwrap();
    let days = |zone_too: bool| {
        let analytics = analytics.clone();
        async move {
            let zone = if zone_too { ", zone" } else { "" };
            rows(
                &analytics,
                &format!("SELECT toString(day) AS day, pulls, kills{zone} FROM guild_days WHERE guild_id = {GUILD} ORDER BY day"),
            )
            .await
        }
    };
    assert_eq!(
        days(true).await,
        vec![
            serde_json::json!({"day": "2024-03-01", "pulls": "2", "kills": "1", "zone": "America/New_York"})
        ]
    );
    let players = rows(
        &analytics,
        &format!("SELECT toString(day) AS day, fights FROM guild_day_players WHERE guild_id = {GUILD} AND name = 'Aa'"),
    )
    .await;
    assert_eq!(players, vec![serde_json::json!({"day": "2024-03-01", "fights": "2"})]);
    // Nothing is stale while the days are the guild's zone's.
    assert_eq!(wowlogs_store::rollups::refresh_stale_zones(&store).await.unwrap(), Vec::<i64>::new());

    // The guild moves to UTC without its days being computed again (as after an
    // upgrade from UTC-only days): `migrate`'s check finds it and computes them again.
    zoned(&store, "UTC", 2).await;
    assert_eq!(wowlogs_store::rollups::refresh_stale_zones(&store).await.unwrap(), vec![GUILD]);
    assert_eq!(
        days(false).await,
        vec![
            serde_json::json!({"day": "2024-03-01", "pulls": "1", "kills": "0"}),
            serde_json::json!({"day": "2024-03-02", "pulls": "1", "kills": "1"}),
        ]
    );
    assert_eq!(wowlogs_store::rollups::refresh_stale_zones(&store).await.unwrap(), Vec::<i64>::new());
}
