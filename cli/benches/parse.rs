//! Parse throughput benchmark: `cargo bench -p wowlogs-cli --bench parse`.
//!
//! On a synthetic raid log (1 GiB by default, generated once into
//! `target/bench-data/`), it measures, each in its own process so that peak RSS is
//! that run's alone:
//! - `cat FILE > /dev/null`: the physical reference (page cache to user space);
//! - parse only: bytes to typed events, on one thread and on every core
//!   ([`LogReader::with_threads`]);
//! - `wowlogs analyze --format json`: parse + encounter core + JSON, with `--threads 1`
//!   and with its default (every core);
//! - parse only of a real retail log read into memory, one thread and every core.
//!
//! Environment: `WOWLOGS_BENCH_SIZE` (default `1GiB`), `WOWLOGS_BENCH_FILE` (use this
//! log instead), `WOWLOGS_BENCH_OUT` (default `target/benchmarks/parse.json`).

use bytesize::ByteSize;
use serde::Serialize;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use wowlogs_parser::{LogReader, ParseOptions, YearHint};

mod common;

use common::{bench_input, count_lines, machine, time_child};

const CHILD_ENV: &str = "WOWLOGS_BENCH_CHILD";
const REPEAT_ENV: &str = "WOWLOGS_BENCH_REPEAT";
const THREADS_ENV: &str = "WOWLOGS_BENCH_THREADS";
/// Passes over the real retail fixture (3.6 MB) for the real-data run.
const FIXTURE_REPEAT: u64 = 60;

#[derive(Debug, Serialize)]
struct Run {
    name: String,
    seconds: f64,
    mb_per_s: f64,
    lines_per_s: f64,
    peak_rss_mb: f64,
}

#[derive(Debug, Serialize)]
struct Results {
    file: String,
    bytes: u64,
    lines: u64,
    machine: String,
    runs: Vec<Run>,
}

/// The allocator the `wowlogs` binary uses, so the child parses as the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        let repeat = std::env::var(REPEAT_ENV).ok().and_then(|n| n.parse().ok()).unwrap_or(1);
        let threads = std::env::var(THREADS_ENV).ok().and_then(|n| n.parse().ok()).unwrap_or(1);
        parse_only(Path::new(&path), repeat, threads);
        return;
    }
    let target = common::target_dir();
    let file = bench_input();
    let bytes = std::fs::metadata(&file).expect("bench file").len();
    let lines = count_lines(&file);
    let mb = bytes as f64 / 1e6;

    // Warm the page cache so every run reads from memory, as `cat` does.
    time_child(Command::new("cat").arg(&file).stdout(Stdio::null()));
    let mut runs = Vec::new();
    let cores = wowlogs_parser::available_threads();
    let mut record = |name: String, (seconds, rss_kb): (f64, i64)| {
        let run = Run {
            name,
            seconds,
            mb_per_s: mb / seconds,
            lines_per_s: lines as f64 / seconds,
            peak_rss_mb: rss_kb as f64 / 1024.0,
        };
        println!(
            "{:<28} {:>8.2} s {:>9.0} MB/s {:>12.0} lines/s   peak RSS {:>7.1} MiB",
            run.name, run.seconds, run.mb_per_s, run.lines_per_s, run.peak_rss_mb
        );
        runs.push(run);
    };
    println!("input: {} ({}, {} lines)", file.display(), ByteSize::b(bytes), lines);
    record("cat > /dev/null".into(), time_child(Command::new("cat").arg(&file).stdout(Stdio::null())));
    let me = std::env::current_exe().expect("bench executable");
    for threads in [1, cores] {
        let name =
            if threads == 1 { "parse (1 thread)".into() } else { format!("parse ({threads} threads)") };
        let mut child = Command::new(&me);
        child.env(CHILD_ENV, &file).env(THREADS_ENV, threads.to_string()).stdout(Stdio::null());
        record(name, time_child(&mut child));
    }
    for threads in [1, cores] {
        let name = format!("analyze --threads {threads}");
        let mut analyze = Command::new(env!("CARGO_BIN_EXE_wowlogs"));
        analyze
            .args([
                "analyze",
                "--quiet",
                "--format",
                "json",
                "--year",
                "2025",
                "--threads",
                &threads.to_string(),
            ])
            .arg(&file)
            .stdout(Stdio::null());
        record(name, time_child(&mut analyze));
    }
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/retail_tww_11.0.2_dummies_skirmish.txt");
    let mut real = Vec::new();
    for threads in [1, cores].into_iter().filter(|_| fixture.exists()) {
        // Real lines are shorter than synthetic ones (~270 vs ~340 bytes): report both.
        let (seconds, rss) = time_child(
            Command::new(&me)
                .env(CHILD_ENV, &fixture)
                .env(REPEAT_ENV, FIXTURE_REPEAT.to_string())
                .env(THREADS_ENV, threads.to_string())
                .stdout(Stdio::null()),
        );
        let fixture_bytes = std::fs::metadata(&fixture).expect("fixture").len() * FIXTURE_REPEAT;
        let fixture_lines = count_lines(&fixture) * FIXTURE_REPEAT;
        let run = Run {
            name: format!("parse real retail log, in memory, {threads} thread(s)"),
            seconds,
            mb_per_s: fixture_bytes as f64 / 1e6 / seconds,
            lines_per_s: fixture_lines as f64 / seconds,
            peak_rss_mb: rss as f64 / 1024.0,
        };
        println!(
            "{:<28} {:>8.2} s {:>9.0} MB/s {:>12.0} lines/s   peak RSS {:>7.1} MiB  ({} x {})",
            format!("parse real log ({threads} thr.)"),
            run.seconds,
            run.mb_per_s,
            run.lines_per_s,
            run.peak_rss_mb,
            FIXTURE_REPEAT,
            fixture.display()
        );
        real.push(run);
    }
    runs.extend(real);
    let results = Results { file: file.display().to_string(), bytes, lines, machine: machine(), runs };
    let out = std::env::var_os("WOWLOGS_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("benchmarks/parse.json"));
    std::fs::create_dir_all(out.parent().expect("has a parent")).expect("create output dir");
    serde_json::to_writer_pretty(File::create(&out).expect("create results"), &results)
        .expect("write results");
    println!("machine: {}\nwritten: {}", results.machine, out.display());
}

/// The child: parse the file to typed events on `threads` threads and report the
/// counts. With `repeat > 1` the file is read into memory first and parsed that many
/// times.
fn parse_only(path: &Path, repeat: u64, threads: usize) {
    let started = Instant::now();
    let mut checksum = 0i64;
    let (mut events, mut errors) = (0, 0);
    let mut parse = |input: &mut dyn BufRead| {
        let mut reader =
            LogReader::new(input, ParseOptions::new(YearHint::FirstLineIn(2025))).with_threads(threads);
        while let Some(parsed) = reader.next_parsed().expect("read") {
            // Touch every event so the work cannot be optimised away.
            if let Ok(event) = parsed.result {
                checksum = checksum.wrapping_add(event.timestamp_ms ^ event.line);
            }
        }
        events += reader.stats().events;
        errors += reader.stats().errors;
    };
    if repeat > 1 {
        let text = std::fs::read(path).expect("read");
        for _ in 0..repeat {
            parse(&mut &text[..]);
        }
    } else {
        parse(&mut BufReader::with_capacity(256 * 1024, File::open(path).expect("open")));
    }
    eprintln!("parsed {events} events, {errors} errors in {:?} (checksum {checksum})", started.elapsed());
    assert_eq!(errors, 0, "the input parses cleanly");
}
