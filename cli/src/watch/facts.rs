//! What the watcher tells of a file as it is written: its header (version, advanced
//! logging) and its pulls, read off the lines that say so.

use super::lines::Line;
use wowlogs_parser::{LineParser, ParseOptions, YearHint};
use wowlogs_schemas::{Payload, now_ms};

/// See the module's documentation.
pub struct FileFacts {
    parser: LineParser,
    /// `COMBAT_LOG_VERSION` and its `ADVANCED_LOG_ENABLED`, once the header is read.
    pub version: Option<i32>,
    pub advanced: Option<bool>,
    /// Pulls ended (`ENCOUNTER_END`), and the last one's result (`Dimensius — wipe`).
    pub pulls: u32,
    pub last_pull: Option<String>,
    /// A pull in progress: its boss.
    pub pulling: Option<String>,
}

impl Default for FileFacts {
    fn default() -> Self {
        Self {
            parser: LineParser::new(ParseOptions::new(YearHint::last_written_at(now_ms()))),
            version: None,
            advanced: None,
            pulls: 0,
            last_pull: None,
            pulling: None,
        }
    }
}

impl FileFacts {
    /// Reads a complete line (only those naming a header or an encounter are parsed).
    pub fn line(&mut self, line: &Line<'_>) {
        let interesting = [&b"COMBAT_LOG_VERSION,"[..], b"ENCOUNTER_START,", b"ENCOUNTER_END,"];
        if line.truncated || !interesting.iter().any(|name| memchr::memmem::find(line.bytes, name).is_some())
        {
            return;
        }
        let Ok(event) = self.parser.parse(line.number, line.bytes) else { return };
        match event.payload {
            Payload::LogVersion(header) => {
                self.version = Some(header.version);
                self.advanced = Some(header.advanced_log_enabled);
            }
            Payload::EncounterStart(start) => self.pulling = Some(start.encounter_name),
            Payload::EncounterEnd(end) => {
                self.pulls += 1;
                self.pulling = None;
                let outcome = if end.success { "kill" } else { "wipe" };
                self.last_pull = Some(format!("{} — {outcome}", end.encounter_name));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::lines::LineScan;

    #[test]
    fn the_header_and_each_pull_are_read_off_the_lines() {
        let log = "4/2/2026 20:00:00.000-4  COMBAT_LOG_VERSION,22,ADVANCED_LOG_ENABLED,0,BUILD_VERSION,11.2.0,PROJECT_ID,1\n\
4/2/2026 20:00:01.000-4  ENCOUNTER_START,3135,\"Dimensius, the All-Devouring\",14,20,2810\n\
4/2/2026 20:00:22.000-4  ENCOUNTER_END,3135,\"Dimensius, the All-Devouring\",14,20,0,21009\n";
        let mut facts = FileFacts::default();
        let mut scan = LineScan::default();
        scan.feed(log.as_bytes(), |line| facts.line(&line));
        assert_eq!((facts.version, facts.advanced, facts.pulls), (Some(22), Some(false), 1));
        assert_eq!(facts.last_pull.as_deref(), Some("Dimensius, the All-Devouring — wipe"));
        assert_eq!(facts.pulling, None);
    }
}
