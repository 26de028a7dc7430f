//! `wowlogs analyze`: parse and segment logs in-process, no servers needed.

use crate::analysis::{LogAnalysis, analyze_stream};
use crate::progress;
use crate::report;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use wowlogs_parser::{ParseOptions, YearHint, for_each_log};

/// Output format of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One table per fight, for people.
    Table,
    /// One JSON object per log, for programs.
    Json,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Combat logs: WoWCombatLog.txt, .gz, or .zip (each .txt inside is a log); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, env = "WOWLOGS_FORMAT")]
    pub format: Format,

    /// Year of the first line of logs with `M/D` timestamps (Classic, retail before 11.0).
    /// By default it comes from the file's modification time.
    #[arg(long, env = "WOWLOGS_YEAR")]
    pub year: Option<i32>,

    /// UTC offset, in hours, of the computer that wrote `M/D` timestamps (e.g. -5 for New York in
    /// winter). `M/D/YYYY` timestamps carry their own offset.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, env = "WOWLOGS_UTC_OFFSET")]
    pub utc_offset: f64,

    /// Write every malformed line to this file, one JSON object per line (line, event, error, raw text).
    #[arg(long, value_name = "FILE")]
    pub dead_letters: Option<PathBuf>,

    /// Threads parsing each log (default: every core). A log over 1 MiB is cut into
    /// blocks of whole lines parsed side by side, with the same result as on one thread.
    #[arg(long, env = "WOWLOGS_PARSE_THREADS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    /// Never show a progress bar (it only shows on a terminal anyway).
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &AnalyzeArgs) -> Result<()> {
    let mut dead_letters = match &args.dead_letters {
        Some(path) => Some(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    let stdout = io::stdout();
    let mut failed = Vec::new();
    for path in &args.files {
        match analyze_file(args, path, dead_letters.as_mut().map(|w| w as &mut dyn Write)) {
            Ok(analyses) => {
                let mut out = stdout.lock();
                for analysis in &analyses {
                    match args.format {
                        Format::Json => {
                            serde_json::to_writer(&mut out, analysis)?;
                            writeln!(out)?;
                        }
                        Format::Table => write!(out, "{}", report::render(analysis))?,
                    }
                    if analysis.events == 0 && analysis.errors > 0 {
                        failed.push(format!(
                            "{}: no line is a combat-log event; is this a WoWCombatLog.txt?",
                            analysis.file
                        ));
                    }
                }
            }
            Err(e) => failed.push(format!("{}: {e:#}", path.display())),
        }
    }
    if let Some(mut writer) = dead_letters {
        writer.flush()?;
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

fn analyze_file(
    args: &AnalyzeArgs,
    path: &Path,
    mut dead_letters: Option<&mut dyn Write>,
) -> Result<Vec<LogAnalysis>> {
    let (input, size, year): (Box<dyn Read>, Option<u64>, YearHint) = if path == Path::new("-") {
        (Box::new(io::stdin().lock()), None, YearHint::from_year_or_modified(args.year, SystemTime::now()))
    } else {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let metadata = file.metadata()?;
        let modified = metadata.modified().unwrap_or_else(|_| SystemTime::now());
        (Box::new(file), Some(metadata.len()), YearHint::from_year_or_modified(args.year, modified))
    };
    // As the importer reads it: lines dated more than a day from now are implausible.
    let options = ParseOptions {
        old_format_utc_offset_minutes: (args.utc_offset * 60.0).round() as i32,
        ..ParseOptions::new(year)
    }
    .received_at(wowlogs_schemas::now_ms());
    let bar = progress::bytes_bar(size, &path.display().to_string(), args.quiet);
    let mut analyses = Vec::new();
    let result = for_each_log(bar.wrap_read(input), |entry, log: &mut dyn BufRead| -> Result<()> {
        let name = match entry {
            Some(entry) => format!("{}:{entry}", path.display()),
            None => path.display().to_string(),
        };
        let analysis = analyze_stream(
            &name,
            log,
            options,
            args.threads.map_or_else(wowlogs_parser::available_threads, usize::from),
            |letter| match dead_letters.as_mut() {
                Some(writer) => {
                    serde_json::to_writer(&mut *writer, &letter)?;
                    writer.write_all(b"\n")
                }
                None => Ok(()),
            },
            |stats| bar.set_message(progress::lines_message(stats.lines, bar.elapsed())),
        )?;
        analyses.push(analysis);
        Ok(())
    });
    bar.finish_and_clear();
    result?;
    Ok(analyses)
}
