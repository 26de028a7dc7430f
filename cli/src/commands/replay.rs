//! `wowlogs replay`: writes a real log into a folder as the game would during a raid
//! (see [`crate::replay`]).

use crate::replay::{ReplaySettings, replay};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Duration;

/// Write a real log into a folder the way the game writes it during a raid (for
/// trying `wowlogs watch`): at game speed or faster, in irregular pieces that cut
/// lines and characters, optionally with CRLF, a switch to a new file between two
/// fights and a re-created file.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The log to replay (plain text).
    #[arg(value_name = "LOG")]
    pub file: PathBuf,
    /// The folder to write into (created if missing).
    #[arg(long)]
    pub into: PathBuf,
    /// How many times faster than the game (1: game speed).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Longest pause between two lines, in game seconds (breaks are cut short).
    #[arg(long, default_value_t = 10.0)]
    pub max_gap_secs: f64,
    /// Write CRLF line ends, as the game does on Windows.
    #[arg(long)]
    pub crlf: bool,
    /// Switch to a new file between two fights, near the middle (logging toggled).
    #[arg(long)]
    pub toggle: bool,
    /// Delete and write again the first file once, a quarter of the way in.
    #[arg(long)]
    pub recreate: bool,
    /// Seeds the pieces' sizes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &ReplayArgs) -> Result<()> {
    anyhow::ensure!(args.speed > 0.0, "--speed must be above 0");
    let log = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    std::fs::create_dir_all(&args.into).with_context(|| format!("creating {}", args.into.display()))?;
    let settings = ReplaySettings {
        speed: args.speed,
        max_gap: Duration::from_secs_f64(args.max_gap_secs.max(0.0)),
        crlf: args.crlf,
        toggle: args.toggle,
        recreate: args.recreate,
        seed: args.seed,
        started: chrono::DateTime::from_timestamp_millis(wowlogs_schemas::now_ms()).unwrap_or_default(),
    };
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} lines {msg}").expect("a valid template"),
    );
    let replayed = replay(&log, &args.into, &settings, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("writing into {}", args.into.display()))?;
    bar.finish_and_clear();
    for file in &replayed.files {
        println!("{}", file.display());
    }
    eprintln!("{} lines, {} fights ended", replayed.lines, replayed.fight_ends.len());
    Ok(())
}
