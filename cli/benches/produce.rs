//! Produce-path benchmark: `cargo bench -p wowlogs-cli --bench produce`.
//!
//! Imports the synthetic log (1 GiB by default, see `common`) into a running local
//! broker and prints, each on one thread:
//! - parse only (bytes to events);
//! - parse + Avro encode (single-object messages, raw line kept, as published);
//! - parse + encode + produce (the importer: idempotent lz4 producer, acknowledged),
//!   so the broker's share is the difference with the line above.
//!
//! Start the broker first: `deploy/local/broker.sh start --memory` (or set
//! `WOWLOGS_BENCH_BROKERS`). Writes `target/benchmarks/produce.json`.

mod common;

use common::{bench_input, count_lines, machine};
use serde::Serialize;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;
use wowlogs_kafka::{KafkaSettings, ensure_topics};
use wowlogs_parser::{LogReader, ParseOptions, YearHint};
use wowlogs_producer::import::{ImportObserver, ImportSettings, LogOutcome, LogReport, import_files};
use wowlogs_producer::intake::IntakeCounts;
use wowlogs_producer::registry::LogRegistry;
use wowlogs_schemas::{Codec, CombatEvent, GuildId, topics};

#[derive(Debug, Serialize)]
struct Run {
    name: &'static str,
    seconds: f64,
    events_per_s: f64,
    mb_per_s: f64,
}

struct Quiet;
impl ImportObserver for Quiet {
    fn log_started(&self, _: &str, _: u64) {}
    fn progress(&self, _: &str, _: &IntakeCounts) {}
    fn log_done(&self, _: &LogReport) {}
}

fn main() {
    let file = bench_input();
    let bytes = std::fs::metadata(&file).expect("bench file").len();
    let lines = count_lines(&file);
    let mb = bytes as f64 / 1e6;
    println!("input: {} ({bytes} bytes, {lines} lines)", file.display());
    let mut runs = Vec::new();
    let mut record = |name, seconds: f64, events: u64| {
        let run = Run { name, seconds, events_per_s: events as f64 / seconds, mb_per_s: mb / seconds };
        println!(
            "{:<34} {:>7.2} s {:>10.0} events/s {:>7.0} MB/s",
            run.name, run.seconds, run.events_per_s, run.mb_per_s
        );
        runs.push(run);
    };

    let (seconds, events) = parse_and_maybe_encode(&file, false);
    record("parse", seconds, events);
    let (seconds, events) = parse_and_maybe_encode(&file, true);
    record("parse + encode", seconds, events);

    let brokers = std::env::var("WOWLOGS_BENCH_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let settings = KafkaSettings::new(brokers, "wowlogs-bench");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(ensure_topics(&settings, &topics::ALL, |t| t.default_partitions, 1))
        .expect("the broker answers (deploy/local/broker.sh start --memory)");
    let producer = settings.producer_config().create().expect("producer");
    // A guild of its own per run, so every run publishes the whole log.
    let guild =
        GuildId(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64);
    let import = ImportSettings {
        guild_id: guild,
        year: Some(2025),
        utc_offset_minutes: 0,
        parallelism: 1,
        parse_threads: 1,
        max_in_flight: 200_000,
    };
    let started = Instant::now();
    let reports = import_files(
        &producer,
        &Mutex::new(LogRegistry::default()),
        std::slice::from_ref(&file),
        &import,
        &Quiet,
    );
    let seconds = started.elapsed().as_secs_f64();
    let LogOutcome::Imported { counts } = &reports[0].outcome else { panic!("import failed: {reports:?}") };
    record("parse + encode + produce (acked)", seconds, counts.events);

    let out = std::env::var_os("WOWLOGS_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::target_dir().join("benchmarks/produce.json"));
    std::fs::create_dir_all(out.parent().expect("parent")).expect("output dir");
    let results = serde_json::json!({"file": file.display().to_string(), "bytes": bytes, "lines": lines, "machine": machine(), "runs": runs});
    serde_json::to_writer_pretty(File::create(&out).expect("results"), &results).expect("write");
    println!("machine: {}\nwritten: {}", machine(), out.display());
}

/// One thread: parse every line, and encode each event as the producer does.
fn parse_and_maybe_encode(file: &std::path::Path, encode: bool) -> (f64, u64) {
    let codec = Codec::<CombatEvent>::new().expect("codec");
    let options = ParseOptions { keep_raw: encode, ..ParseOptions::new(YearHint::FirstLineIn(2025)) };
    let mut reader =
        LogReader::new(BufReader::with_capacity(256 * 1024, File::open(file).expect("open")), options);
    let mut buf = Vec::with_capacity(2048);
    let mut encoded_bytes = 0usize;
    let started = Instant::now();
    while let Some(parsed) = reader.next_parsed().expect("read") {
        if let (true, Ok(event)) = (encode, parsed.result) {
            buf.clear();
            codec.encode(&event, &mut buf).expect("encode");
            encoded_bytes += buf.len();
        }
    }
    if encode {
        println!("  (encoded {:.0} MB of Avro messages)", encoded_bytes as f64 / 1e6);
    }
    (started.elapsed().as_secs_f64(), reader.stats().events)
}
