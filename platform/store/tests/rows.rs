//! Each row type against its real table (the safety net for the client's row validation,
//! which cannot run on ClickHouse 18.16): `DESCRIBE TABLE` says exactly the declared
//! columns and types, and rows made from a real log survive an insert and a read.

use wowlogs_encounters::{EncounterSegmenter, SegmentOutput};
use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
use wowlogs_schemas::{DeadLetter, FightSummary, GuildId, LogId, UploadState, UploadStatus};
use wowlogs_store::rows::{
    CharacterLogRow, CombatEventRow, Count, DeadLetterRow, EncounterDeathRow, EncounterPlayerRow,
    EncounterRow, GearRow, LogRow, MessageRow, ProgressSettingsRow, RosterRow, TableRow, TargetRow,
    declared_columns, insert_rows, table_columns,
};
use wowlogs_store::{StoreSettings, migrate};

async fn migrated(test: &str) -> StoreSettings {
    let settings = StoreSettings::new(
        wowlogs_testkit::clickhouse(),
        wowlogs_testkit::unique(&format!("wowlogs_test_{test}")),
    );
    migrate(&settings).await.unwrap();
    settings
}

async fn assert_describes<T: TableRow>(settings: &StoreSettings) {
    let described = table_columns(settings, T::TABLE).await.unwrap();
    assert_eq!(described, declared_columns::<T>(), "{} differs from its row type", T::TABLE);
}

async fn round_trip<T>(settings: &StoreSettings, rows: &[T], order_by: &str)
where
    T: TableRow
        + clickhouse::RowOwned
        + clickhouse::RowRead
        + clickhouse::RowWrite
        + PartialEq
        + std::fmt::Debug,
{
    assert!(!rows.is_empty(), "{}: no sample rows", T::TABLE);
    let client = settings.client();
    insert_rows(&client, rows).await.unwrap();
    let columns = T::COLUMNS.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let read: Vec<T> = client
        .query(&format!("SELECT {columns} FROM {} FINAL ORDER BY {order_by}", T::TABLE))
        .fetch_all::<T>()
        .await
        .unwrap();
    assert_eq!(read.len(), rows.len(), "{}", T::TABLE);
    assert!(read == rows, "{}: rows read back differ from rows written", T::TABLE);
}

fn fixture_log(
    name: &str,
    guild: GuildId,
    log: LogId,
) -> (Vec<wowlogs_schemas::CombatEvent>, Vec<FightSummary>) {
    let path = wowlogs_testkit::fixture(name);
    let options =
        ParseOptions { keep_raw: true, ..ParseOptions::new(YearHint::FirstLineIn(2024)) }.for_log(guild, log);
    let mut segmenter = EncounterSegmenter::new();
    let (mut events, mut out) = (Vec::new(), Vec::new());
    for parsed in LogReader::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()), options) {
        let ParsedLine::Event(event) = parsed.unwrap() else { panic!("fixture line fails to parse") };
        segmenter.push(&event, &mut out);
        events.push(event);
    }
    segmenter.finish(&mut out);
    let fights = out
        .into_iter()
        .filter_map(|o| if let SegmentOutput::Fight(f) = o { Some(f) } else { None })
        .collect();
    (events, fights)
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn every_row_type_matches_its_table_and_survives_a_round_trip() {
    let settings = migrated("rows").await;
    let (guild, log) = (GuildId(7), LogId(42));
    let (events, fights) = fixture_log("retail_tww_11.0.2_dummies_skirmish.txt", guild, log);

    assert_describes::<CombatEventRow>(&settings).await;
    let mut event_rows: Vec<CombatEventRow> =
        events.iter().map(|e| CombatEventRow::from_event(e, 1)).collect();
    event_rows.sort_by_key(|r| r.line);
    round_trip(&settings, &event_rows, "line").await;

    assert_describes::<EncounterRow>(&settings).await;
    let encounter_rows: Vec<EncounterRow> =
        fights.iter().map(|f| EncounterRow::from_fight(guild, log, "u-1", f, 1)).collect();
    round_trip(&settings, &encounter_rows, "start_line").await;

    assert_describes::<EncounterPlayerRow>(&settings).await;
    let mut players: Vec<EncounterPlayerRow> = fights
        .iter()
        .flat_map(|f| f.players.iter().map(move |p| EncounterPlayerRow::from_player(guild, log, f, p, 1)))
        .collect();
    players.sort_by(|a, b| a.player_guid.cmp(&b.player_guid));
    round_trip(&settings, &players, "player_guid").await;

    assert_describes::<EncounterDeathRow>(&settings).await;
    let deaths: Vec<EncounterDeathRow> = fights
        .iter()
        .flat_map(|f| f.deaths.iter().map(move |d| EncounterDeathRow::from_death(guild, log, f, d, 1)))
        .collect();
    round_trip(&settings, &deaths, "line").await;

    assert_describes::<CharacterLogRow>(&settings).await;
    let mut characters: Vec<CharacterLogRow> =
        fights[0].players.iter().map(|p| CharacterLogRow::first(guild, log, &fights[0], p)).collect();
    characters.sort_by(|a, b| a.player_guid.cmp(&b.player_guid));
    round_trip(&settings, &characters, "player_guid").await;

    assert_describes::<LogRow>(&settings).await;
    let status = UploadStatus {
        guild_id: guild,
        log_id: log,
        upload_id: "u-1".into(),
        state: UploadState::Completed,
        file_name: "WoWCombatLog.txt".into(),
        content_sha256: "ab".repeat(32),
        bytes_total: Some(3_652_143),
        bytes_read: 3_652_143,
        lines: 13_361,
        events: 13_361,
        dead_letters: 0,
        acked_through_line: 13_361,
        reason: None,
        timestamp_ms: 1_722_192_160_517,
        last_event_line: None,
    };
    round_trip(&settings, &[LogRow::from_status(&status)], "log_id").await;

    assert_describes::<GearRow>(&settings).await;
    let mut gear: Vec<GearRow> = events.iter().flat_map(|e| GearRow::from_event(e, 1)).collect();
    assert!(!gear.is_empty(), "the fixture's COMBATANT_INFO lines");
    gear.sort_by(|a, b| (&a.player_guid, a.line, a.slot).cmp(&(&b.player_guid, b.line, b.slot)));
    round_trip(&settings, &gear, "player_guid, line, slot").await;
    for row in [RosterRow {
        guild_id: 7,
        character: "xamy-area52-us".into(),
        name: "Xamy".into(),
        active: 1,
        ..Default::default()
    }] {
        assert_describes::<RosterRow>(&settings).await;
        round_trip(&settings, &[row], "character").await;
    }
    assert_describes::<TargetRow>(&settings).await;
    round_trip(
        &settings,
        &[TargetRow {
            guild_id: 7,
            week_start: 20_793,
            target_item_level: 265,
            active: 1,
            ..Default::default()
        }],
        "week_start",
    )
    .await;
    assert_describes::<MessageRow>(&settings).await;
    round_trip(
        &settings,
        &[MessageRow {
            guild_id: 7,
            week_start: 20_793,
            message: "Focus on DPS!".into(),
            ..Default::default()
        }],
        "written_ms",
    )
    .await;
    assert_describes::<ProgressSettingsRow>(&settings).await;
    round_trip(
        &settings,
        &[ProgressSettingsRow { guild_id: 7, comparisons: "named".into(), ..Default::default() }],
        "guild_id",
    )
    .await;

    assert_describes::<wowlogs_store::transfer::TransferRow>(&settings).await;
    assert_describes::<wowlogs_store::deletions::DeletedLogRow>(&settings).await;
    assert_describes::<DeadLetterRow>(&settings).await;
    let letter = DeadLetter {
        guild_id: guild,
        log_id: log,
        upload_id: "u-1".into(),
        source: "parser".into(),
        line: 99,
        event: Some("SPELL_DAMAGE".into()),
        code: "field_count".into(),
        message: "line 99: SPELL_DAMAGE has 31 fields, expected 22 or 39".into(),
        raw: b"7/28/2024 14:36:49.599-4  SPELL_DAMAGE,..".to_vec(),
        timestamp_ms: 1_722_192_160_517,
    };
    round_trip(&settings, &[DeadLetterRow::from_letter(&letter, 1)], "line").await;
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn rows_travel_the_same_with_and_without_compression() {
    // `WOWLOGS_CLICKHOUSE_COMPRESSION=none`: inserts and answers in plain bytes.
    let plain = StoreSettings { compress: false, ..migrated("rows_plain").await };
    let (guild, log) = (GuildId(7), LogId(43));
    let (events, _) = fixture_log("retail_tww_11.0.2_dummies_skirmish.txt", guild, log);
    let mut rows: Vec<CombatEventRow> = events.iter().map(|e| CombatEventRow::from_event(e, 1)).collect();
    rows.sort_by_key(|r| r.line);
    round_trip(&plain, &rows, "line").await;
    let compressed = StoreSettings { compress: true, ..plain.clone() };
    let n = compressed.client().query("SELECT count() AS n FROM combat_events").fetch_one::<Count>().await;
    assert_eq!(n.unwrap().n, rows.len() as u64, "what one wrote plain the other reads compressed");
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_redelivered_row_replaces_its_twin() {
    let settings = migrated("replace").await;
    let (events, _) = fixture_log("arena_3v3_tww_11.2.0.txt", GuildId(8), LogId(43));
    let rows: Vec<CombatEventRow> = events.iter().map(|e| CombatEventRow::from_event(e, 1)).collect();
    let client = settings.client();
    for _ in 0..2 {
        insert_rows(&client, &rows).await.unwrap();
    }
    let exact =
        client.query("SELECT count() AS n FROM combat_events FINAL").fetch_one::<Count>().await.unwrap();
    assert_eq!(exact.n as usize, rows.len(), "FINAL sees each event once");
}
