//! Parser + encounter core over one log stream: what `wowlogs analyze` computes.

use serde::Serialize;
use std::io::{self, BufRead};
use wowlogs_encounters::{EncounterSegmenter, SegmentOutput};
use wowlogs_parser::{LogReader, ParseError, ParseOptions, ParseStats};
use wowlogs_schemas::{Anomaly, FightSummary};

/// How many error messages a report quotes; all of them go to `--dead-letters`.
const ERROR_SAMPLES: usize = 20;

/// Everything `analyze` reports about one log.
#[derive(Debug, Clone, Serialize)]
pub struct LogAnalysis {
    /// The file (and zip entry) this log came from.
    pub file: String,
    /// Fights in the order they started.
    pub fights: Vec<FightSummary>,
    pub lines: u64,
    pub events: u64,
    /// Malformed lines (each one is a dead letter).
    pub errors: u64,
    pub blank_lines: u64,
    /// Bytes read after decompression.
    pub bytes: u64,
    pub anomalies: Vec<Anomaly>,
    /// The first few parse errors, as messages.
    pub error_samples: Vec<String>,
}

/// A malformed line as `--dead-letters` writes it (one JSON object per line).
#[derive(Debug, Serialize)]
pub struct DeadLetter<'a> {
    pub file: &'a str,
    pub line: i64,
    pub event: Option<&'a str>,
    pub code: &'static str,
    pub message: String,
    /// The raw line, invalid UTF-8 replaced by U+FFFD.
    pub raw: String,
}

/// Parses and segments one log, parsing on `threads` threads (1: this one; see
/// [`LogReader::with_threads`]). `on_error` sees every malformed line; `on_progress`
/// is called every 64k lines with the running counts.
pub fn analyze_stream(
    file: &str,
    input: &mut dyn BufRead,
    options: ParseOptions,
    threads: usize,
    mut on_error: impl FnMut(DeadLetter<'_>) -> io::Result<()>,
    mut on_progress: impl FnMut(&ParseStats),
) -> io::Result<LogAnalysis> {
    let mut reader = LogReader::new(input, options).with_threads(threads);
    let mut segmenter = EncounterSegmenter::new();
    let mut outputs = Vec::new();
    let mut error_samples = Vec::new();
    let mut since_progress = 0u32;
    while let Some(parsed) = reader.next_parsed()? {
        match parsed.result {
            Ok(event) => segmenter.push(&event, &mut outputs),
            Err(error) => {
                if error_samples.len() < ERROR_SAMPLES {
                    error_samples.push(error.to_string());
                }
                on_error(dead_letter(file, &error, parsed.raw))?;
            }
        }
        since_progress += 1;
        if since_progress == 65_536 {
            since_progress = 0;
            on_progress(&reader.stats());
        }
    }
    segmenter.finish(&mut outputs);
    let stats = reader.stats();
    on_progress(&stats);
    let mut fights = Vec::new();
    let mut anomalies = Vec::new();
    for output in outputs {
        match output {
            SegmentOutput::Fight(fight) => fights.push(fight),
            SegmentOutput::Anomaly(anomaly) => anomalies.push(anomaly),
        }
    }
    // Nested fights complete before their parent; report them in start order.
    fights.sort_by_key(|f| f.start_line);
    Ok(LogAnalysis {
        file: file.to_string(),
        fights,
        lines: stats.lines,
        events: stats.events,
        errors: stats.errors,
        blank_lines: stats.blank_lines,
        bytes: stats.bytes,
        anomalies,
        error_samples,
    })
}

fn dead_letter<'a>(file: &'a str, error: &'a ParseError, raw: &[u8]) -> DeadLetter<'a> {
    DeadLetter {
        file,
        line: error.line,
        event: error.event.as_deref(),
        code: error.code(),
        message: error.to_string(),
        raw: String::from_utf8_lossy(raw).into_owned(),
    }
}
