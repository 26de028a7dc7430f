//! Helpers shared by the benchmarks: the synthetic input, child processes, the machine.

#![allow(dead_code)]

use bytesize::ByteSize;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wowlogs_synth::{SynthConfig, SynthFormat, generate};

/// `target/` of the workspace.
pub fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// The benchmark input: `WOWLOGS_BENCH_FILE`, or a synthetic log of
/// `WOWLOGS_BENCH_SIZE` (default 1 GiB) generated once into `target/bench-data/`.
pub fn bench_input() -> PathBuf {
    match std::env::var_os("WOWLOGS_BENCH_FILE") {
        Some(path) => PathBuf::from(path),
        None => {
            let size: ByteSize = std::env::var("WOWLOGS_BENCH_SIZE")
                .unwrap_or_else(|_| "1GiB".into())
                .parse()
                .expect("WOWLOGS_BENCH_SIZE");
            ensure_synthetic(&target_dir().join("bench-data"), size.as_u64())
        }
    }
}

/// Runs a command to completion and returns (wall seconds, its own peak RSS in KiB).
pub fn time_child(command: &mut Command) -> (f64, i64) {
    let started = Instant::now();
    // Reaped by `wait4` below, which also returns the child's own resource usage.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("spawn");
    let mut status = 0;
    // SAFETY: `rusage` is plain data, and `wait4` reaps exactly this child, which `Child`
    // never waits for afterwards.
    let rusage = unsafe {
        let mut rusage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut rusage);
        assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
        rusage
    };
    let seconds = started.elapsed().as_secs_f64();
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{command:?} failed: {status}");
    (seconds, rusage.ru_maxrss)
}

pub fn ensure_synthetic(dir: &Path, size: u64) -> PathBuf {
    let path = dir.join(format!("synth-v22-{}.txt", ByteSize::b(size).to_string().replace(' ', "")));
    if !path.exists() {
        std::fs::create_dir_all(dir).expect("create bench-data");
        let started = Instant::now();
        let partial = path.with_extension("partial");
        let report = generate(
            &SynthConfig::new(SynthFormat::V22, size),
            BufWriter::with_capacity(1 << 20, File::create(&partial).expect("create")),
        )
        .expect("generate");
        std::fs::rename(&partial, &path).expect("rename");
        println!(
            "generated {} ({} lines, {} pulls) in {:.1?}",
            path.display(),
            report.lines,
            report.fights.len(),
            started.elapsed()
        );
    }
    path
}

/// Streams the file: the parent must stay small, because a child's peak RSS includes
/// the parent's pages it was forked with.
pub fn count_lines(path: &Path) -> u64 {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).expect("open"));
    let mut lines = 0u64;
    loop {
        let chunk = reader.fill_buf().expect("read");
        if chunk.is_empty() {
            return lines;
        }
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        let len = chunk.len();
        reader.consume(len);
    }
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cpu}, {cores} cores")
}
