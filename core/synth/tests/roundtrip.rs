//! Generated logs parse cleanly, and the encounter core finds exactly the fights and
//! numbers the generator says it wrote.

use wowlogs_encounters::{EncounterSegmenter, SegmentOutput};
use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
use wowlogs_schemas::FightSummary;
use wowlogs_synth::{SynthConfig, SynthFormat, SynthReport, generate};

struct Analysis {
    fights: Vec<FightSummary>,
    events: u64,
    errors: u64,
    timestamps_sorted: bool,
}

fn analyze(log: &[u8], year: i32) -> Analysis {
    let mut reader = LogReader::new(log, ParseOptions::new(YearHint::FirstLineIn(year)));
    let mut segmenter = EncounterSegmenter::new();
    let mut out = Vec::new();
    let mut last_ts = i64::MIN;
    let mut timestamps_sorted = true;
    for parsed in reader.by_ref() {
        if let ParsedLine::Event(event) = parsed.unwrap() {
            timestamps_sorted &= event.timestamp_ms >= last_ts;
            last_ts = event.timestamp_ms;
            segmenter.push(&event, &mut out);
        }
    }
    segmenter.finish(&mut out);
    let stats = reader.stats();
    let fights = out
        .into_iter()
        .map(|o| match o {
            SegmentOutput::Fight(f) => f,
            SegmentOutput::Anomaly(a) => panic!("{a:?}"),
        })
        .collect();
    Analysis { fights, events: stats.events, errors: stats.errors, timestamps_sorted }
}

/// Short pulls, so a few MiB hold many of them.
fn short_pulls(format: SynthFormat, bytes: u64) -> SynthConfig {
    SynthConfig { pull_seconds: (8, 30), ..SynthConfig::new(format, bytes) }
}

fn synth(config: &SynthConfig) -> (Vec<u8>, SynthReport) {
    let mut log = Vec::new();
    let report = generate(config, &mut log).unwrap();
    (log, report)
}

fn assert_matches_truth(analysis: &Analysis, report: &SynthReport) {
    assert_eq!(analysis.fights.len(), report.fights.len());
    for (got, truth) in analysis.fights.iter().zip(&report.fights) {
        assert_eq!(
            (got.encounter_id, got.kill, got.complete),
            (Some(truth.encounter_id), Some(truth.kill), true)
        );
        assert_eq!((got.start_line as u64, got.end_line as u64), (truth.start_line, truth.end_line));
        assert_eq!(got.duration_ms, truth.duration_ms);
        assert_eq!(got.players.len(), 20);
        for (guid, damage, healing, deaths) in &truth.players {
            let p = got.players.iter().find(|p| &p.guid == guid).unwrap();
            assert_eq!(
                (p.damage_done, p.healing_done, p.deaths),
                (*damage, *healing, *deaths),
                "{guid} in {}",
                got.name
            );
        }
    }
}

#[test]
fn a_v22_raid_night_parses_without_errors_and_matches_the_truth() {
    let (log, report) = synth(&short_pulls(SynthFormat::V22, 3 << 20));
    assert!(report.bytes >= 3 << 20 && report.bytes == log.len() as u64);
    let analysis = analyze(&log, 2025);
    assert_eq!((analysis.errors, analysis.events), (0, report.lines));
    assert!(analysis.timestamps_sorted);
    assert!(report.fights.iter().any(|f| f.kill) && report.fights.iter().any(|f| !f.kill), "kills and wipes");
    assert!(report.fights.iter().any(|f| f.players.iter().any(|p| p.3 > 0)), "deaths");
    assert_matches_truth(&analysis, &report);
    let spec = analysis.fights[0].players.iter().find(|p| p.class.as_deref() == Some("Hunter")).unwrap();
    assert_eq!(spec.spec_id, Some(253));
}

#[test]
fn a_v9_classic_night_matches_the_truth() {
    let (log, report) = synth(&short_pulls(SynthFormat::V9, 2 << 20));
    let analysis = analyze(&log, 2025);
    assert_eq!(analysis.errors, 0);
    assert_matches_truth(&analysis, &report);
}

#[test]
fn a_classic_log_across_new_year_keeps_its_clock_running() {
    let config = SynthConfig { start_ms: 1_735_689_540_000, ..short_pulls(SynthFormat::V9, 3 << 20) }; // 2024-12-31 23:59 UTC
    let (log, report) = synth(&config);
    let text = String::from_utf8(log.clone()).unwrap();
    assert!(
        text.contains("\n12/31 23:") && text.contains("\n1/1 00:"),
        "the night crosses midnight of New Year"
    );
    let analysis = analyze(&log, 2024);
    assert!(analysis.timestamps_sorted, "no jump back a year at midnight");
    assert_matches_truth(&analysis, &report);
}

#[test]
fn the_same_seed_writes_the_same_log() {
    let config = short_pulls(SynthFormat::V22, 256 << 10);
    assert_eq!(synth(&config).0, synth(&config).0);
    let other = SynthConfig { seed: 2, ..config };
    assert_ne!(synth(&other).0, synth(&short_pulls(SynthFormat::V22, 256 << 10)).0);
}

#[test]
fn malformed_lines_are_injected_on_request_and_only_they_fail() {
    let config = SynthConfig { malformed_per_million: 2_000, ..short_pulls(SynthFormat::V22, 2 << 20) };
    let (log, report) = synth(&config);
    assert!(report.malformed_lines > 0);
    let analysis = analyze(&log, 2025);
    assert_eq!(analysis.errors, report.malformed_lines);
    assert_matches_truth(&analysis, &report);
}

/// Every line and the final counts of `log`, parsed on `threads` threads.
fn parse_all(log: &[u8], year: i32, threads: usize) -> (Vec<ParsedLine>, wowlogs_parser::ParseStats) {
    let mut reader =
        LogReader::new(log, ParseOptions::new(YearHint::FirstLineIn(year))).with_threads(threads);
    let lines = reader.by_ref().map(Result::unwrap).collect();
    (lines, reader.stats())
}

#[test]
fn a_large_log_parsed_on_several_threads_reads_line_for_line_as_on_one() {
    // Both formats, New Year crossed inside the classic one, malformed lines in both:
    // several 1 MiB chunks each.
    let classic_new_year = SynthConfig {
        start_ms: 1_735_689_540_000,
        malformed_per_million: 500,
        ..short_pulls(SynthFormat::V9, 6 << 20)
    };
    let retail = SynthConfig { malformed_per_million: 500, ..short_pulls(SynthFormat::V22, 6 << 20) };
    for (config, year) in [(classic_new_year, 2024), (retail, 2025)] {
        let (log, _) = synth(&config);
        let (expected, stats) = parse_all(&log, year, 1);
        assert!(stats.errors > 0 && stats.events > 20_000, "{stats:?}");
        for threads in [2, 4] {
            let (lines, got) = parse_all(&log, year, threads);
            assert_eq!(got, stats, "{threads} threads");
            assert!(lines == expected, "{threads} threads: the lines differ from one thread's");
        }
    }
}
