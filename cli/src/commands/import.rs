//! `wowlogs import`: bulk import of historical logs into the topics.

use crate::commands::KafkaArgs;
use crate::report::group;
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wowlogs_producer::import::{
    ImportObserver, ImportSettings, LogOutcome, LogReport, expand_inputs, import_files,
};
use wowlogs_producer::intake::IntakeCounts;
use wowlogs_producer::registry::LogRegistry;
use wowlogs_schemas::GuildId;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The guild the logs belong to.
    #[arg(long, env = "WOWLOGS_GUILD_ID")]
    pub guild: i64,

    /// Log files (.txt, .gz, .zip), folders (searched recursively) or glob patterns.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,

    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// Year of the first line of logs with `M/D` timestamps; default: each file's modification time.
    #[arg(long, env = "WOWLOGS_YEAR")]
    pub year: Option<i32>,

    /// UTC offset, in hours, of the computer that wrote `M/D` timestamps.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, env = "WOWLOGS_UTC_OFFSET")]
    pub utc_offset: f64,

    /// Files imported at once (default: twice the number of cores: each file waits for the
    /// broker to acknowledge its last events, and the others parse meanwhile).
    #[arg(long, env = "WOWLOGS_IMPORT_PARALLELISM")]
    pub parallel: Option<usize>,

    /// Threads parsing each file (default: the cores shared among the files imported at
    /// once, so one big file gets every core and many files get one each). A file over
    /// 1 MiB is cut into blocks of whole lines parsed side by side, with the same result.
    #[arg(long, env = "WOWLOGS_PARSE_THREADS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    /// Unacknowledged messages per file before parsing waits for the broker.
    #[arg(long, env = "WOWLOGS_MAX_IN_FLIGHT", default_value_t = 200_000)]
    pub max_in_flight: usize,

    /// Never show progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &ImportArgs) -> Result<()> {
    let files = expand_inputs(&args.paths)?;
    if files.is_empty() {
        bail!("no log files (.txt, .gz, .zip) found in {}", args.paths.join(", "));
    }
    let settings = args.kafka.settings("wowlogs-import");
    crate::commands::topics::ensure_defaults(&settings)?;
    let registry = LogRegistry::load(&settings, Duration::from_secs(300))
        .with_context(|| format!("reading the upload history from {}", settings.brokers))?;
    let producer: rdkafka::producer::FutureProducer =
        settings.producer_config().create().context("creating the Kafka producer")?;
    let parallelism =
        args.parallel.unwrap_or_else(|| files_at_once(wowlogs_parser::available_threads())).max(1);
    let import = ImportSettings {
        guild_id: GuildId(args.guild),
        year: args.year,
        utc_offset_minutes: (args.utc_offset * 60.0).round() as i32,
        parallelism,
        parse_threads: args.threads.map_or_else(
            || threads_per_file(wowlogs_parser::available_threads(), parallelism.min(files.len())),
            usize::from,
        ),
        max_in_flight: args.max_in_flight,
    };
    let bars = Bars::new(args.quiet);
    let started = Instant::now();
    let reports = import_files(&producer, &Mutex::new(registry), &files, &import, &bars);
    bars.clear();
    summarize(&reports, files.len(), started.elapsed())
}

fn summarize(reports: &[LogReport], files: usize, elapsed: Duration) -> Result<()> {
    let (mut events, mut dead_letters, mut failed) = (0u64, 0u64, 0usize);
    for report in reports {
        let line = match &report.outcome {
            LogOutcome::Imported { counts } => {
                events += counts.events;
                dead_letters += counts.dead_letters;
                format!(
                    "imported  {} events, {} dead letters",
                    group(counts.events as i64),
                    group(counts.dead_letters as i64)
                )
            }
            LogOutcome::Resumed { after_line, counts } => {
                events += counts.events;
                dead_letters += counts.dead_letters;
                format!(
                    "resumed after line {}: {} events, {} dead letters",
                    group(*after_line),
                    group(counts.events as i64),
                    group(counts.dead_letters as i64)
                )
            }
            LogOutcome::Duplicate { upload_id } => format!("skipped   already imported ({upload_id})"),
            LogOutcome::Failed { reason } => {
                failed += 1;
                format!("FAILED    {reason}")
            }
        };
        let log = report.log_id.map(|id| format!(" [log {id}]")).unwrap_or_default();
        println!("{}{log}: {line}", report.name);
    }
    let rate = events as f64 / elapsed.as_secs_f64().max(1e-3);
    println!(
        "\n{files} files, {} logs, {} events, {} dead letters, {failed} failed in {:.1} s ({} events/s)",
        reports.len(),
        group(events as i64),
        group(dead_letters as i64),
        elapsed.as_secs_f64(),
        group(rate as i64)
    );
    if failed > 0 {
        bail!("{failed} logs failed; rerun the same command to resume them");
    }
    Ok(())
}

/// One progress bar per log being published.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, (ProgressBar, Instant)>>,
}

impl Bars {
    fn new(quiet: bool) -> Self {
        let multi = MultiProgress::new();
        if quiet || !std::io::stderr().is_terminal() {
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
        Self { multi, bars: Mutex::new(HashMap::new()) }
    }

    fn clear(&self) {
        let _ = self.multi.clear();
    }
}

impl ImportObserver for Bars {
    fn log_started(&self, name: &str, bytes: u64) {
        let bar = self.multi.add(ProgressBar::new(bytes));
        bar.set_style(
            ProgressStyle::with_template("{prefix:30!} [{bar:25}] {bytes}/{total_bytes} eta {eta} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        let short =
            std::path::Path::new(name).file_name().map_or(name.into(), |n| n.to_string_lossy().into_owned());
        bar.set_prefix(short);
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bars.lock().expect("bars lock").insert(name.to_string(), (bar, Instant::now()));
    }

    fn progress(&self, name: &str, counts: &IntakeCounts) {
        if let Some((bar, started)) = self.bars.lock().expect("bars lock").get(name) {
            bar.set_position(counts.bytes);
            let rate = counts.events as f64 / started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{} events, {} events/s",
                group(counts.events as i64),
                group(rate as i64)
            ));
        }
    }

    fn log_done(&self, report: &LogReport) {
        if let Some((bar, _)) = self.bars.lock().expect("bars lock").remove(&report.name) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

/// Files imported side by side by default on `cores` cores. A file ends by waiting for
/// the broker to acknowledge all its events, which for a folder of small logs is much of
/// each file's time: with as many files as cores, 1,000 logs of 1.4 MiB kept 61 % of two
/// cores busy and took 34.6 s; with twice as many, 85 % and 24.1 s; four times as many
/// gained nothing more (BENCHMARKS.md, "A folder of 1,000 logs").
fn files_at_once(cores: usize) -> usize {
    cores.max(1) * 2
}

/// Parsing threads for each file when `files_at_once` files are imported side by side on
/// `cores` cores: the cores shared out, at least one each.
fn threads_per_file(cores: usize, files_at_once: usize) -> usize {
    (cores / files_at_once.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::{files_at_once, threads_per_file};

    #[test]
    fn twice_as_many_files_as_cores_are_imported_at_once() {
        assert_eq!(files_at_once(2), 4);
        assert_eq!(files_at_once(8), 16);
        assert_eq!(files_at_once(0), 2);
        // So one big file still gets every core, and a few big files share them out.
        assert_eq!(threads_per_file(2, files_at_once(2).min(1)), 2);
        assert_eq!(threads_per_file(8, files_at_once(8).min(3)), 2);
    }

    #[test]
    fn one_big_file_gets_every_core_and_many_files_one_core_each() {
        assert_eq!(threads_per_file(8, 1), 8);
        assert_eq!(threads_per_file(8, 3), 2);
        assert_eq!(threads_per_file(8, 8), 1);
        assert_eq!(threads_per_file(2, 16), 1);
        assert_eq!(threads_per_file(2, 0), 2);
    }
}
