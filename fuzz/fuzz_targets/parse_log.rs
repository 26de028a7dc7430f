//! Arbitrary bytes as a combat log: the parser and the encounter core must never panic,
//! and every line must be accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wowlogs_encounters::EncounterSegmenter;
use wowlogs_parser::{LineReader, LogReader, ParseOptions, YearHint};

fuzz_target!(|data: &[u8]| {
    // A small line limit so the fuzzer also reaches the over-long-line path.
    let lines = LineReader::with_max_line_bytes(data, 512);
    let mut reader = LogReader::from_lines(lines, ParseOptions::new(YearHint::FirstLineIn(2024)));
    let mut segmenter = EncounterSegmenter::new();
    let mut out = Vec::new();
    while let Some(parsed) = reader.next_parsed().expect("reading a slice cannot fail") {
        if let Ok(event) = parsed.result {
            segmenter.push(&event, &mut out);
        }
    }
    segmenter.finish(&mut out);
    let stats = reader.stats();
    assert_eq!(stats.events + stats.errors + stats.blank_lines, stats.lines);
});
