//! `wowlogs synth`: write a synthetic raid log for benchmarks and large tests.

use crate::progress;
use anyhow::{Context, Result};
use bytesize::ByteSize;
use clap::{Args, ValueEnum};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use wowlogs_synth::{SynthConfig, SynthFormat, generate};

/// Which client's log layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Retail 11.2 (`COMBAT_LOG_VERSION` 22).
    V22,
    /// Classic 1.15 (`COMBAT_LOG_VERSION` 9).
    V9,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// About how much to write (e.g. 1GiB, 200MB); generation stops after the pull that reaches it.
    #[arg(long, default_value = "100MiB")]
    pub size: ByteSize,

    /// Log layout.
    #[arg(long, value_enum, default_value_t = FormatArg::V22)]
    pub format: FormatArg,

    /// Random seed: the same seed writes the same log.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Truncated (malformed) lines to inject per million lines, to exercise dead letters.
    #[arg(long, default_value_t = 0)]
    pub malformed_per_million: u32,

    /// Where to write (`-` for standard output).
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,

    /// Never show a progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &SynthArgs) -> Result<()> {
    let format = match args.format {
        FormatArg::V22 => SynthFormat::V22,
        FormatArg::V9 => SynthFormat::V9,
    };
    let config = SynthConfig {
        seed: args.seed,
        malformed_per_million: args.malformed_per_million,
        ..SynthConfig::new(format, args.size.as_u64())
    };
    let out: Box<dyn Write> = if args.output.as_os_str() == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(
            File::create(&args.output).with_context(|| format!("cannot create {}", args.output.display()))?,
        )
    };
    let bar = progress::bytes_bar(Some(config.target_bytes), "synth", args.quiet);
    let report = generate(&config, BufWriter::with_capacity(1 << 20, bar.wrap_write(out)))?;
    bar.finish_and_clear();
    let kills = report.fights.iter().filter(|f| f.kill).count();
    eprintln!(
        "wrote {} ({} lines): {} pulls, {kills} kills, {} wipes, {} malformed lines",
        ByteSize::b(report.bytes),
        report.lines,
        report.fights.len(),
        report.fights.len() - kills,
        report.malformed_lines
    );
    Ok(())
}
