//! The encounter projection without a broker: records in, rows out, and the offsets a
//! restart must read again.

use std::collections::HashSet;
use wowlogs_consumers::batch::RowBatch;
use wowlogs_consumers::encounters::EncounterProjector;
use wowlogs_consumers::group::{Projection, Record};
use wowlogs_encounters::{EncounterSegmenter, SegmentOutput};
use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
use wowlogs_schemas::topics::{COMBAT_EVENTS, UPLOADS};
use wowlogs_schemas::{
    Codec, CombatEvent, FightSummary, GuildId, LIVE_UPLOAD_PREFIX, LogId, UploadState, UploadStatus,
};
use wowlogs_store::rows::{EncounterPlayerRow, EncounterRow};
use wowlogs_synth::{SynthConfig, SynthFormat};

const GUILD: GuildId = GuildId(42);
const LOG: LogId = LogId(777);
const PARTITION: i32 = 5;

fn fixture_events(name: &str) -> Vec<CombatEvent> {
    let path = wowlogs_testkit::fixture(name);
    parse(std::io::BufReader::new(std::fs::File::open(path).unwrap()))
}

/// A synthetic raid night: a dozen pulls, kills and wipes, with pets.
fn synthetic_events() -> Vec<CombatEvent> {
    let mut text = Vec::new();
    let config = SynthConfig { pull_seconds: (5, 15), ..SynthConfig::new(SynthFormat::V22, 4_000_000) };
    wowlogs_synth::generate(&config, &mut text).unwrap();
    parse(&text[..])
}

fn parse(input: impl std::io::BufRead) -> Vec<CombatEvent> {
    let options = ParseOptions::new(YearHint::FirstLineIn(2025)).for_log(GUILD, LOG);
    LogReader::new(input, options)
        .map(|p| match p.unwrap() {
            ParsedLine::Event(e) => e,
            ParsedLine::Malformed(m) => panic!("{}", m.error),
        })
        .collect()
}

/// What `analyze` computes for the same events, in end order.
fn analyzed(events: &[CombatEvent]) -> Vec<FightSummary> {
    let mut segmenter = EncounterSegmenter::new();
    let mut out = Vec::new();
    for event in events {
        segmenter.push(event, &mut out);
    }
    segmenter.finish(&mut out);
    out.into_iter()
        .filter_map(|o| match o {
            SegmentOutput::Fight(f) => Some(f),
            SegmentOutput::Anomaly(_) => None,
        })
        .collect()
}

/// The fights as their summaries on the topic carry them (bounded).
fn summarized(events: &[CombatEvent]) -> Vec<FightSummary> {
    analyzed(events).into_iter().map(wowlogs_consumers::encounters::bounded).collect()
}

fn status(state: UploadState, events: &[CombatEvent]) -> UploadStatus {
    UploadStatus {
        guild_id: GUILD,
        log_id: LOG,
        upload_id: "import-test".into(),
        state,
        file_name: "WoWCombatLog.txt".into(),
        content_sha256: String::new(),
        bytes_total: None,
        bytes_read: 0,
        lines: events.len() as i64,
        events: events.len() as i64,
        dead_letters: 0,
        acked_through_line: 0,
        reason: None,
        timestamp_ms: 0,
        last_event_line: (state == UploadState::Completed).then(|| events.last().map_or(0, |e| e.line)),
    }
}

/// One partition of each topic, as (topic, offset, payload) in the order a consumer
/// might read them: the first status, every event, and the completed status read
/// `completed_after` events into the log (statuses and events are separate topics,
/// so the end may be read before the last events).
fn partition(events: &[CombatEvent], completed_after: usize) -> Vec<(&'static str, i64, Vec<u8>)> {
    let (event_codec, status_codec) =
        (Codec::<CombatEvent>::new().unwrap(), Codec::<UploadStatus>::new().unwrap());
    let encode_status = |s: &UploadStatus| {
        let mut buf = Vec::new();
        status_codec.encode(s, &mut buf).unwrap();
        buf
    };
    let mut records = vec![(UPLOADS.name, 0, encode_status(&status(UploadState::Parsing, events)))];
    for (i, event) in events.iter().enumerate() {
        if i == completed_after {
            records.push((UPLOADS.name, 1, encode_status(&status(UploadState::Completed, events))));
        }
        let mut buf = Vec::new();
        event_codec.encode(event, &mut buf).unwrap();
        records.push((COMBAT_EVENTS.name, i as i64, buf));
    }
    if completed_after >= events.len() {
        records.push((UPLOADS.name, 1, encode_status(&status(UploadState::Completed, events))));
    }
    records
}

fn feed(projector: &mut EncounterProjector, records: &[(&'static str, i64, Vec<u8>)], batch: &mut RowBatch) {
    for (topic, offset, payload) in records {
        let record = Record { topic, partition: PARTITION, offset: *offset, payload, received_ms: 0 };
        projector.take(record, batch).unwrap();
    }
}

/// What a consumer restarted from these committed offsets (events topic, uploads topic)
/// reads again.
fn read_again(
    records: &[(&'static str, i64, Vec<u8>)],
    events_from: i64,
    statuses_from: i64,
) -> Vec<(&'static str, i64, Vec<u8>)> {
    records
        .iter()
        .filter(|(topic, offset, _)| {
            *offset >= if *topic == COMBAT_EVENTS.name { events_from } else { statuses_from }
        })
        .cloned()
        .collect()
}

fn sorted_encounters(batch: &RowBatch) -> Vec<EncounterRow> {
    let mut rows = batch.fights.encounters.clone();
    rows.sort_by_key(|r| r.start_line);
    rows.dedup_by_key(|r| r.start_line);
    rows
}

fn sorted_players(batch: &RowBatch) -> Vec<EncounterPlayerRow> {
    let mut rows = batch.fights.players.clone();
    rows.sort_by(|a, b| (a.start_line, &a.player_guid).cmp(&(b.start_line, &b.player_guid)));
    rows.dedup_by(|a, b| (a.start_line, &a.player_guid) == (b.start_line, &b.player_guid));
    rows
}

#[test]
fn a_whole_log_gives_the_fights_analyze_gives() {
    for events in [fixture_events("classic_sod_1.15.1_gnomeregan_raid.txt"), synthetic_events()] {
        whole_log_gives_the_fights_analyze_gives(&events);
    }
}

fn whole_log_gives_the_fights_analyze_gives(events: &[CombatEvent]) {
    let expected = analyzed(events);
    assert!(!expected.is_empty());
    let mut projector = EncounterProjector::new();
    let mut batch = RowBatch::default();
    feed(&mut projector, &partition(events, events.len()), &mut batch);

    assert_eq!(projector.open_logs(), 0, "the completed status closes the log");
    let summaries: Vec<&FightSummary> = batch.summaries.iter().map(|s| &s.fight).collect();
    assert_eq!(summaries, summarized(events).iter().collect::<Vec<_>>());
    assert_eq!(batch.fights.encounters.len(), expected.len());
    assert_eq!(batch.fights.details.len(), expected.len(), "one details row per fight");
    assert!(batch.fights.encounters.iter().all(|r| r.upload_id == "import-test" && r.guild_id == GUILD.0));
    let players: usize = expected.iter().map(|f| f.players.len()).sum();
    assert_eq!(batch.fights.players.len(), players);
    let deaths: usize = expected.iter().map(|f| f.deaths.len()).sum();
    assert_eq!(batch.fights.deaths.len(), deaths);
    let characters: HashSet<&str> = batch.fights.characters.iter().map(|c| c.player_guid.as_str()).collect();
    let in_fights: HashSet<&str> =
        expected.iter().flat_map(|f| f.players.iter().map(|p| p.guid.as_str())).collect();
    assert_eq!(characters, in_fights);
}

#[test]
fn a_completed_status_read_early_waits_for_the_last_event() {
    let events = fixture_events("retail_sl_9.2_raid_wipe_snippet.txt");
    let mut projector = EncounterProjector::new();
    let mut batch = RowBatch::default();
    let records = partition(&events, events.len() / 2);
    let (before_last, last) = records.split_at(records.len() - 1);
    feed(&mut projector, before_last, &mut batch);
    assert_eq!(projector.open_logs(), 1, "the end is known, the last event is not read yet");
    feed(&mut projector, last, &mut batch);
    assert_eq!(projector.open_logs(), 0);
    assert_eq!(batch.summaries.iter().map(|s| s.fight.clone()).collect::<Vec<_>>(), summarized(&events));
}

#[test]
fn fights_wait_for_the_upload_id_of_the_first_status() {
    let events = fixture_events("retail_sl_9.2_raid_wipe_snippet.txt");
    let mut records = partition(&events, events.len());
    let first_status = records.remove(0);
    let mut projector = EncounterProjector::new();
    let mut batch = RowBatch::default();
    feed(&mut projector, &records[..records.len() - 1], &mut batch);
    assert!(batch.fights.encounters.is_empty(), "no fight row without its upload id");
    feed(&mut projector, &[first_status], &mut batch);
    feed(&mut projector, &records[records.len() - 1..], &mut batch);
    assert_eq!(batch.fights.encounters.len(), analyzed(&events).len());
    assert!(batch.fights.encounters.iter().all(|r| r.upload_id == "import-test"));
}

#[test]
fn offsets_stay_at_the_first_record_of_an_open_log() {
    let events = fixture_events("arena_3v3_tww_11.2.0.txt");
    let records = partition(&events, events.len());
    let mut projector = EncounterProjector::new();
    let mut batch = RowBatch::default();
    feed(&mut projector, &records[..10], &mut batch);
    assert_eq!(projector.restart_offset(COMBAT_EVENTS.name, PARTITION), Some(0));
    assert_eq!(projector.restart_offset(UPLOADS.name, PARTITION), Some(0));
    assert_eq!(
        projector.restart_offset(COMBAT_EVENTS.name, PARTITION + 1),
        None,
        "other partitions are free"
    );
    feed(&mut projector, &records[10..], &mut batch);
    assert_eq!(projector.restart_offset(COMBAT_EVENTS.name, PARTITION), None, "a whole log pins nothing");
}

#[test]
fn a_restart_from_the_committed_offsets_gives_identical_rows() {
    let events = synthetic_events();
    assert!(analyzed(&events).len() >= 5, "several fights before and after the crash");
    let records = partition(&events, events.len());
    let mut clean = RowBatch::default();
    feed(&mut EncounterProjector::new(), &records, &mut clean);

    // A consumer dies two thirds of the way; its rows so far were written, and the
    // commit it made says where the next one starts.
    let crash_at = records.len() * 2 / 3;
    let mut first = EncounterProjector::new();
    let mut written = RowBatch::default();
    feed(&mut first, &records[..crash_at], &mut written);
    let restart = first.restart_offset(COMBAT_EVENTS.name, PARTITION).unwrap();
    let restart_status = first.restart_offset(UPLOADS.name, PARTITION).unwrap();
    drop(first);
    feed(&mut EncounterProjector::new(), &read_again(&records, restart, restart_status), &mut written);

    assert_eq!(sorted_encounters(&written), sorted_encounters(&clean));
    assert_eq!(sorted_players(&written), sorted_players(&clean));
}

#[test]
fn events_read_twice_are_applied_once() {
    let events = synthetic_events();
    let mut records = partition(&events, events.len());
    // A resumed import publishes a few events again.
    let again: Vec<_> = records[5000..5100].to_vec();
    records.splice(5100..5100, again);
    let mut batch = RowBatch::default();
    feed(&mut EncounterProjector::new(), &records, &mut batch);
    assert_eq!(batch.summaries.iter().map(|s| s.fight.clone()).collect::<Vec<_>>(), summarized(&events));
}

#[test]
fn a_lost_partition_forgets_its_open_logs() {
    let events = fixture_events("retail_sl_9.2_raid_wipe_snippet.txt");
    let records = partition(&events, events.len());
    let mut projector = EncounterProjector::new();
    feed(&mut projector, &records[..10], &mut RowBatch::default());
    let kept: HashSet<(String, i32)> =
        [(COMBAT_EVENTS.name.to_string(), PARTITION), (UPLOADS.name.to_string(), PARTITION)].into();
    projector.retain_assigned(&kept);
    assert_eq!(projector.open_logs(), 1);
    projector.retain_assigned(&HashSet::new());
    assert_eq!(projector.open_logs(), 0);
    assert_eq!(projector.restart_offset(COMBAT_EVENTS.name, PARTITION), None);
}

#[test]
fn undecodable_records_are_refused_with_a_reason() {
    let mut projector = EncounterProjector::new();
    let record = Record {
        topic: COMBAT_EVENTS.name,
        partition: 0,
        offset: 0,
        payload: b"\x00garbage",
        received_ms: 0,
    };
    let reason = projector.take(record, &mut RowBatch::default()).unwrap_err();
    assert!(!reason.is_empty());
}

/// The records of a log without its completed status: events, then `ending` if any.
fn without_end(events: &[CombatEvent], ending: Option<UploadStatus>) -> Vec<(&'static str, i64, Vec<u8>)> {
    let mut records: Vec<_> = partition(events, usize::MAX)
        .into_iter()
        .filter(|(topic, offset, _)| !(*topic == UPLOADS.name && *offset == 1))
        .collect();
    if let Some(status) = ending {
        let mut buf = Vec::new();
        Codec::<UploadStatus>::new().unwrap().encode(&status, &mut buf).unwrap();
        records.push((UPLOADS.name, 1, buf));
    }
    records
}

#[test]
fn a_failed_upload_ends_its_log_with_what_it_published() {
    let events = fixture_events("classic_sod_1.15.1_gnomeregan_raid.txt");
    let half = &events[..events.len() / 2];
    let mut failed = status(UploadState::Failed, half);
    failed.acked_through_line = half.last().unwrap().line;
    let mut projector = EncounterProjector::new();
    let mut batch = RowBatch::default();
    feed(&mut projector, &without_end(half, Some(failed)), &mut batch);
    assert_eq!(projector.open_logs(), 0, "the log is closed and its pin released");
    assert_eq!(projector.restart_offset(COMBAT_EVENTS.name, PARTITION), None);
}

#[test]
fn a_refused_upload_holds_nothing_open() {
    let mut refused = status(UploadState::Failed, &[]);
    refused.reason = Some("the upload is empty".into());
    let mut projector = EncounterProjector::new();
    let mut batch = RowBatch::default();
    feed(&mut projector, &without_end(&[], Some(refused)), &mut batch);
    assert_eq!(projector.open_logs(), 0);
}

#[test]
fn a_log_that_never_ends_is_closed_after_the_idle_time() {
    let events = fixture_events("classic_sod_1.15.1_gnomeregan_raid.txt");
    let mut projector = EncounterProjector::with_idle(std::time::Duration::from_secs(60));
    let mut batch = RowBatch::default();
    feed(&mut projector, &without_end(&events, None), &mut batch);
    assert_eq!(projector.open_logs(), 1);
    projector.expire(59_999, &mut batch);
    assert_eq!(projector.open_logs(), 1, "not idle yet");
    projector.expire(60_000, &mut batch);
    assert_eq!(projector.open_logs(), 0);
    assert_eq!(projector.restart_offset(COMBAT_EVENTS.name, PARTITION), None, "the pin is released");
    assert_eq!(sorted_encounters(&batch).len(), analyzed(&events).len(), "its fights are stored");
}

#[test]
fn a_log_followed_live_waits_out_a_raids_break_before_it_is_closed() {
    let events = fixture_events("classic_sod_1.15.1_gnomeregan_raid.txt");
    let half = &events[..events.len() / 2];
    // Every status of a live log carries the session's upload id.
    let live = UploadStatus {
        upload_id: format!("{LIVE_UPLOAD_PREFIX}2-0123456789abcdef"),
        ..status(UploadState::Accepted, &[])
    };
    let mut records = without_end(half, None);
    for (topic, _, payload) in &mut records {
        if *topic == UPLOADS.name {
            payload.clear();
            Codec::<UploadStatus>::new().unwrap().encode(&live, payload).unwrap();
        }
    }
    let mut projector = EncounterProjector::with_idle(std::time::Duration::from_secs(60))
        .live_idle(std::time::Duration::from_secs(3600));
    let mut batch = RowBatch::default();
    feed(&mut projector, &records, &mut batch);
    assert_eq!(projector.open_logs(), 1);
    projector.expire(30 * 60_000, &mut batch);
    assert_eq!(projector.open_logs(), 1, "half an hour without a line: a break, not an end");
    projector.expire(3_600_000, &mut batch);
    assert_eq!(projector.open_logs(), 0, "an hour: the watcher is gone");
}

#[test]
fn fight_summaries_carry_the_top_players_with_names_cut() {
    let events = fixture_events("classic_sod_1.15.1_gnomeregan_raid.txt");
    let mut batch = RowBatch::default();
    feed(&mut EncounterProjector::new(), &partition(&events, events.len()), &mut batch);
    let summary = &batch.summaries[0];
    assert!(summary.fight.players.len() <= wowlogs_consumers::encounters::SUMMARY_MAX_PLAYERS);
    assert!(
        summary
            .fight
            .players
            .iter()
            .all(|p| p.name.chars().count() <= wowlogs_consumers::encounters::SUMMARY_MAX_NAME_CHARS)
    );
    assert_eq!(summary.fight.players.len(), 10, "a ten-player raid is not cut");
}

/// Rows as a `ReplacingMergeTree` ends up holding them: per identity, the highest
/// version, the later insert on a tie.
fn merged(batch: &RowBatch) -> (Vec<EncounterRow>, Vec<EncounterPlayerRow>) {
    let mut fights: std::collections::BTreeMap<(i64, i64, i64), EncounterRow> = Default::default();
    for row in &batch.fights.encounters {
        let key = (row.guild_id, row.log_id, row.start_line);
        if fights.get(&key).is_none_or(|kept| row.version >= kept.version) {
            fights.insert(key, row.clone());
        }
    }
    let mut players: std::collections::BTreeMap<(i64, i64, i64, String), EncounterPlayerRow> =
        Default::default();
    for row in &batch.fights.players {
        let key = (row.guild_id, row.log_id, row.start_line, row.player_guid.clone());
        if players.get(&key).is_none_or(|kept| row.version >= kept.version) {
            players.insert(key, row.clone());
        }
    }
    (fights.into_values().collect(), players.into_values().collect())
}

/// Several logs of several guilds in flight on one partition: each log's statuses and
/// events, interleaved in chunks, as (topic, offset, payload).
fn interleaved() -> Vec<(&'static str, i64, Vec<u8>)> {
    let codec = Codec::<CombatEvent>::new().unwrap();
    let statuses = Codec::<UploadStatus>::new().unwrap();
    let logs: Vec<(GuildId, LogId, Vec<CombatEvent>)> = [
        (GuildId(1), LogId(11), fixture_events("classic_sod_1.15.1_gnomeregan_raid.txt")),
        (GuildId(2), LogId(22), fixture_events("retail_sl_9.2_raid_wipe_snippet.txt")),
        (GuildId(3), LogId(33), synthetic_events()),
        (GuildId(1), LogId(44), fixture_events("arena_3v3_tww_11.2.0.txt")),
        (GuildId(2), LogId(55), fixture_events("retail_tww_11.0.2_dummies_skirmish.txt")),
    ]
    .into_iter()
    .map(|(guild, log, events)| {
        let events = events.into_iter().map(|e| CombatEvent { guild_id: guild, log_id: log, ..e }).collect();
        (guild, log, events)
    })
    .collect();
    let status_of = |guild: GuildId, log: LogId, state: UploadState, events: &[CombatEvent]| {
        let mut status = status(state, events);
        (status.guild_id, status.log_id, status.upload_id) = (guild, log, format!("import-{}", log.0));
        let mut buf = Vec::new();
        statuses.encode(&status, &mut buf).unwrap();
        buf
    };
    let (mut records, mut event_offset, mut status_offset) = (Vec::new(), 0i64, 0i64);
    let mut cursors = vec![0usize; logs.len()];
    for (guild, log, events) in &logs {
        records.push((UPLOADS.name, status_offset, status_of(*guild, *log, UploadState::Accepted, events)));
        status_offset += 1;
    }
    // Round robin, a chunk of each log's events at a time; a log's completed status
    // right after its last event.
    while cursors.iter().zip(&logs).any(|(c, (_, _, events))| *c < events.len()) {
        for (i, (guild, log, events)) in logs.iter().enumerate() {
            let end = (cursors[i] + 97).min(events.len());
            for event in &events[cursors[i]..end] {
                let mut buf = Vec::new();
                codec.encode(event, &mut buf).unwrap();
                records.push((COMBAT_EVENTS.name, event_offset, buf));
                event_offset += 1;
            }
            if cursors[i] < events.len() && end == events.len() {
                records.push((
                    UPLOADS.name,
                    status_offset,
                    status_of(*guild, *log, UploadState::Completed, events),
                ));
                status_offset += 1;
            }
            cursors[i] = end;
        }
    }
    records
}

#[test]
fn a_crash_at_any_point_of_an_interleaved_import_gives_the_rows_of_a_clean_run() {
    let records = interleaved();
    let mut clean = RowBatch::default();
    feed(&mut EncounterProjector::new(), &records, &mut clean);
    let expected = merged(&clean);
    assert!(expected.0.len() >= 8, "{} fights", expected.0.len());
    let points = 30;
    for k in 1..points {
        let crash_at = records.len() * k / points;
        // What the dead consumer had written, and what it had committed per topic: the
        // next offset, or an open log's pin if earlier.
        let mut written = RowBatch::default();
        let mut first = EncounterProjector::new();
        feed(&mut first, &records[..crash_at], &mut written);
        let committed = |topic: &str| {
            let next =
                records[..crash_at].iter().filter(|r| r.0 == topic).map(|r| r.1 + 1).max().unwrap_or(0);
            first.restart_offset(topic, PARTITION).map_or(next, |pin| pin.min(next))
        };
        let (events_from, statuses_from) = (committed(COMBAT_EVENTS.name), committed(UPLOADS.name));
        feed(&mut EncounterProjector::new(), &read_again(&records, events_from, statuses_from), &mut written);
        let got = merged(&written);
        assert_eq!(got.0, expected.0, "crash after {crash_at} of {} records: encounters", records.len());
        assert_eq!(got.1, expected.1, "crash after {crash_at} of {} records: players", records.len());
    }
}

#[test]
fn a_log_read_again_from_the_middle_never_replaces_the_rows_of_its_full_read() {
    // After a restart, another log's pin can make a closed log be read again from the
    // middle: without its start (pets summoned before a pull, gear) its fights may come
    // out different, and must lose against the full read's rows.
    let events = synthetic_events();
    let codec = Codec::<CombatEvent>::new().unwrap();
    let statuses = Codec::<UploadStatus>::new().unwrap();
    let encode_status = |state: UploadState, lines: i64| {
        let mut s = status(state, &events);
        (s.lines, s.events) = (lines, lines);
        let mut buf = Vec::new();
        statuses.encode(&s, &mut buf).unwrap();
        buf
    };
    let mut records = vec![(UPLOADS.name, 0, encode_status(UploadState::Accepted, 0))];
    for (i, event) in events.iter().enumerate() {
        let mut buf = Vec::new();
        codec.encode(event, &mut buf).unwrap();
        records.push((COMBAT_EVENTS.name, i as i64, buf));
    }
    records.push((UPLOADS.name, 1, encode_status(UploadState::Completed, events.len() as i64)));
    let mut full = RowBatch::default();
    feed(&mut EncounterProjector::new(), &records, &mut full);
    let middle = records.len() / 2;
    let mut partial = RowBatch::default();
    feed(&mut EncounterProjector::new(), &records[middle..], &mut partial);
    assert!(!partial.fights.encounters.is_empty(), "fights after the middle are recomputed");
    for row in &partial.fights.encounters {
        let kept = full.fights.encounters.iter().find(|f| f.start_line == row.start_line).unwrap();
        assert!(row.version < kept.version, "line {}: {} vs {}", row.start_line, row.version, kept.version);
    }
    for row in &partial.fights.players {
        let kept = full
            .fights
            .players
            .iter()
            .find(|p| (p.start_line, &p.player_guid) == (row.start_line, &row.player_guid));
        assert!(kept.is_none_or(|kept| row.version < kept.version));
    }
}

#[test]
fn a_guild_past_its_open_logs_bound_closes_its_own_least_recently_active_log_and_no_one_elses() {
    let events = fixture_events("classic_sod_1.15.1_gnomeregan_raid.txt");
    let codec: Codec<CombatEvent> = Codec::new().unwrap();
    let mut projector = EncounterProjector::new().open_logs_per_guild(3);
    let mut batch = RowBatch::default();
    // Each log starts and never ends; `at` is when its first record was received.
    let mut start = |guild: i64, log: i64, at: i64, projector: &mut EncounterProjector| {
        for (i, event) in events.iter().take(200).enumerate() {
            let event = CombatEvent { guild_id: GuildId(guild), log_id: LogId(log), ..event.clone() };
            let mut payload = Vec::new();
            codec.encode(&event, &mut payload).unwrap();
            let offset = log * 1_000 + i as i64;
            let record = Record {
                topic: COMBAT_EVENTS.name,
                partition: PARTITION,
                offset,
                payload: &payload,
                received_ms: at,
            };
            projector.take(record, &mut batch).unwrap();
        }
    };
    start(2, 20, 0, &mut projector); // another guild's log, the oldest of all
    for log in 1..=3 {
        start(1, log, 100 * log, &mut projector);
    }
    assert_eq!((projector.open_logs(), projector.logs_shed()), (4, 0), "within the bound");
    start(1, 1, 1_000, &mut projector); // log 1 is active again: log 2 is now the least recent
    start(1, 4, 1_100, &mut projector);
    start(1, 5, 1_200, &mut projector);
    assert_eq!(projector.open_logs(), 4, "guild 1 keeps three, guild 2 its one");
    assert_eq!(projector.logs_shed(), 2);
    // The shed logs were guild 1's least recently active (2, then 3): each boss pull they
    // had begun is closed as incomplete, and nothing of any other log.
    let closed: Vec<(i64, i64, u8)> =
        batch.fights.encounters.iter().map(|r| (r.guild_id, r.log_id, r.complete)).collect();
    assert_eq!(closed, [(1, 2, 0), (1, 3, 0)]);
    // Guild 1's log 1 still holds the partition at its first record.
    assert_eq!(projector.restart_offset(COMBAT_EVENTS.name, PARTITION), Some(1_000));
}
