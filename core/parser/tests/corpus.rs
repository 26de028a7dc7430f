//! Every real log in the fixtures folder (the folder, not a list: a log added there is
//! covered without touching this file) parses with no malformed line.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};

fn fixtures() -> Vec<PathBuf> {
    let logs = wowlogs_testkit::all_fixtures();
    assert!(logs.len() >= 9, "expected the real logs in {}", wowlogs_testkit::fixtures_dir().display());
    logs
}

#[test]
fn every_real_log_parses_without_a_malformed_line() {
    let mut failures = Vec::new();
    for path in fixtures() {
        let file = File::open(&path).unwrap();
        let reader = LogReader::new(BufReader::new(file), ParseOptions::new(YearHint::FirstLineIn(2024)));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (mut lines, mut malformed) = (0u64, Vec::new());
        for parsed in reader {
            lines += 1;
            if let ParsedLine::Malformed(bad) = parsed.unwrap() {
                malformed.push(bad.error.to_string());
            }
        }
        assert!(lines > 0, "{name} is empty");
        if !malformed.is_empty() {
            let sample: Vec<&String> = malformed.iter().take(3).collect();
            failures
                .push(format!("{name}: {} of {lines} lines malformed, e.g. {sample:#?}", malformed.len()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_real_log_has_fields_the_parser_does_not_know() {
    for path in fixtures() {
        let file = File::open(&path).unwrap();
        let reader = LogReader::new(BufReader::new(file), ParseOptions::new(YearHint::FirstLineIn(2024)));
        for parsed in reader {
            if let Ok(ParsedLine::Event(event)) = parsed {
                assert!(
                    event.extra.is_empty(),
                    "{} line {}: {} unknown trailing fields {:?}",
                    path.display(),
                    event.line,
                    event.event_type,
                    event.extra
                );
            }
        }
    }
}
