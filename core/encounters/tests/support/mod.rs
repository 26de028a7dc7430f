//! Small logs written inline, run through the parser and the segmenter.

#![allow(dead_code)]

pub mod independent;

use wowlogs_encounters::{EncounterSegmenter, SegmentOutput};
use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
use wowlogs_schemas::{Anomaly, FightSummary};

/// `(second, body)` pairs into a log (2025-01-01, UTC).
pub fn log(lines: &[(u32, String)]) -> String {
    lines.iter().map(|(s, body)| format!("1/1/2025 20:{:02}:{:02}.000  {body}\n", s / 60, s % 60)).collect()
}

pub fn run(text: &str) -> (Vec<FightSummary>, Vec<Anomaly>, EncounterSegmenter) {
    let mut segmenter = EncounterSegmenter::new();
    let mut out = Vec::new();
    for parsed in LogReader::new(text.as_bytes(), ParseOptions::new(YearHint::FirstLineIn(2025))) {
        match parsed.unwrap() {
            ParsedLine::Event(event) => segmenter.push(&event, &mut out),
            ParsedLine::Malformed(bad) => panic!("{}", bad.error),
        }
    }
    let (mut fights, mut anomalies) = (Vec::new(), Vec::new());
    let mut finished = Vec::new();
    segmenter.finish(&mut finished);
    for o in out.into_iter().chain(finished) {
        match o {
            SegmentOutput::Fight(f) => fights.push(f),
            SegmentOutput::Anomaly(a) => anomalies.push(a),
        }
    }
    (fights, anomalies, segmenter)
}

/// Every fight of a log file (old-format timestamps read as 2024).
pub fn fights_of(path: &std::path::Path) -> Vec<FightSummary> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut segmenter = EncounterSegmenter::new();
    let mut out = Vec::new();
    for parsed in LogReader::new(text.as_slice(), ParseOptions::new(YearHint::FirstLineIn(2024))) {
        if let ParsedLine::Event(event) = parsed.unwrap() {
            segmenter.push(&event, &mut out);
        }
    }
    segmenter.finish(&mut out);
    out.into_iter()
        .map(|o| match o {
            SegmentOutput::Fight(f) => f,
            SegmentOutput::Anomaly(a) => panic!("{}: unexpected anomaly {a:?}", path.display()),
        })
        .collect()
}
