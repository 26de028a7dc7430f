//! `wowlogs watch --local`: each followed file analysed on the spot, with no server;
//! each fight printed, as `wowlogs analyze` prints it, as soon as it ends.

use super::lines::LineScan;
use super::sink::{Piece, Sent, Sink};
use std::collections::HashMap;
use wowlogs_encounters::{EncounterSegmenter, SegmentOutput};
use wowlogs_parser::{LineParser, ParseOptions, YearHint};
use wowlogs_schemas::{FightSummary, now_ms};

struct Analysis {
    scan: LineScan,
    parser: LineParser,
    segmenter: EncounterSegmenter,
    next: u64,
}

/// See the module's documentation: `print` receives each fight as it ends.
pub struct LocalSink<P> {
    files: HashMap<String, Analysis>,
    outputs: Vec<SegmentOutput>,
    print: P,
}

impl<P: FnMut(&FightSummary)> LocalSink<P> {
    pub fn new(print: P) -> Self {
        Self { files: HashMap::new(), outputs: Vec::new(), print }
    }

    fn analysis(&mut self, key: &str) -> &mut Analysis {
        self.files.entry(key.to_string()).or_insert_with(|| Analysis {
            scan: LineScan::default(),
            parser: LineParser::new(ParseOptions::new(YearHint::last_written_at(now_ms()))),
            segmenter: EncounterSegmenter::new(),
            next: 0,
        })
    }

    fn print_fights(&mut self) {
        for output in self.outputs.drain(..) {
            if let SegmentOutput::Fight(fight) = output {
                (self.print)(&fight);
            }
        }
    }
}

impl<P: FnMut(&FightSummary)> Sink for LocalSink<P> {
    fn send(&mut self, piece: Piece<'_>) -> anyhow::Result<Sent> {
        let mut outputs = std::mem::take(&mut self.outputs);
        let analysis = self.analysis(piece.key);
        if piece.offset != analysis.next {
            // This analysis holds the file from its start: start again from there.
            return Ok(Sent::Next(analysis.next));
        }
        let Analysis { scan, parser, segmenter, next } = analysis;
        scan.feed(piece.bytes, |line| {
            if line.truncated || line.bytes.is_empty() {
                return;
            }
            if let Ok(event) = parser.parse(line.number, line.bytes) {
                segmenter.push(&event, &mut outputs);
            }
        });
        *next += piece.bytes.len() as u64;
        let next = *next;
        self.outputs = outputs;
        self.print_fights();
        Ok(Sent::Next(next))
    }

    fn close(&mut self, _name: &str, key: &str, _bytes: u64) -> anyhow::Result<Sent> {
        let mut outputs = std::mem::take(&mut self.outputs);
        if let Some(mut analysis) = self.files.remove(key) {
            let Analysis { scan, parser, segmenter, .. } = &mut analysis;
            scan.finish(|line| {
                if !line.truncated
                    && !line.bytes.is_empty()
                    && let Ok(event) = parser.parse(line.number, line.bytes)
                {
                    segmenter.push(&event, &mut outputs);
                }
            });
            segmenter.finish(&mut outputs);
        }
        self.outputs = outputs;
        self.print_fights();
        Ok(Sent::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fight_is_printed_as_its_end_line_arrives_whatever_the_cuts() {
        let log = wowlogs_testkit::fixture("retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt");
        let bytes = std::fs::read(log).unwrap();
        let fights = std::cell::RefCell::new(Vec::new());
        let mut sink = LocalSink::new(|fight: &FightSummary| fights.borrow_mut().push(fight.end_line));
        let mut offset = 0;
        for piece in bytes.chunks(7_919) {
            let sent = sink.send(Piece { name: "x.txt", key: "k", offset, bytes: piece }).unwrap();
            offset += piece.len() as u64;
            assert_eq!(sent, Sent::Next(offset));
        }
        let ended_before_close = fights.borrow().len();
        assert_eq!(sink.close("x.txt", "k", offset).unwrap(), Sent::Closed);
        drop(sink);
        assert!(
            ended_before_close >= 1,
            "the wipe is printed when its ENCOUNTER_END arrives, not at the close"
        );
        let analyzed = crate::analysis::analyze_stream(
            "x",
            &mut &bytes[..],
            ParseOptions::new(YearHint::last_written_at(now_ms())),
            1,
            |_| Ok(()),
            |_| {},
        )
        .unwrap();
        assert_eq!(fights.into_inner(), analyzed.fights.iter().map(|f| f.end_line).collect::<Vec<_>>());
    }
}
