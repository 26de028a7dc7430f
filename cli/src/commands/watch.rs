//! `wowlogs watch`: follows the game's log folder during a raid (see [`crate::watch`]).

use crate::watch::checkpoint::default_path;
use crate::watch::folder::default_folder;
use crate::watch::local::LocalSink;
use crate::watch::server::ServerSink;
use crate::watch::sink::Sink;
use crate::watch::{Reporter, WatchSettings, watch};
use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Duration;
use wowlogs_schemas::FightSummary;

/// Follow the game's log folder during a raid: each pull reaches the server as the game
/// writes it (queryable and on the live feed seconds after it ends), or, with
/// `--local`, is analysed and printed here as it ends.
///
/// The newest log, if written within `--recent-minutes`, is followed from its start,
/// and every log the game starts from now on; what was sent is checkpointed, so a
/// restart goes on where it stopped. An unreachable server is retried for as long as it
/// takes (the log on disk keeps what is not sent yet).
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The game's Logs folder (default: where the game writes it on this OS, e.g.
    /// `C:\Program Files (x86)\World of Warcraft\_retail_\Logs`).
    pub folder: Option<PathBuf>,

    /// The deployment's HTTPS entry point (`https://wowlogs.example`).
    #[arg(long, env = "WOWLOGS_SERVER", required_unless_present = "local")]
    pub server: Option<String>,

    /// An API key of the guild with the `upload` permission.
    #[arg(long, env = "WOWLOGS_API_KEY", hide_env_values = true, required_unless_present = "local")]
    pub key: Option<String>,

    /// A PEM file of certificate authorities to trust besides the system's (a private
    /// CA, such as the local stack's `.local-stack/tls/ca.pem`); `SSL_CERT_FILE` replaces
    /// the system's bundle.
    #[arg(long, env = "WOWLOGS_CACERT")]
    pub cacert: Option<PathBuf>,

    /// Analyse here, with no server: each fight is printed as `wowlogs analyze` prints it,
    /// as soon as it ends.
    #[arg(long, conflicts_with_all = ["server", "key", "cacert"])]
    pub local: bool,

    /// Where what was sent is kept (default: the user's state folder, one file per
    /// folder and server).
    #[arg(long, env = "WOWLOGS_WATCH_STATE")]
    pub state: Option<PathBuf>,

    /// At start, the newest log is followed from its start if written within this many
    /// minutes (a raid already under way); older ones are left to `wowlogs import`.
    #[arg(long, default_value_t = 60)]
    pub recent_minutes: u64,

    /// A log wholly sent that has not grown for this many seconds is closed (its log
    /// completed). The game's next file closes the previous one at once.
    #[arg(long, default_value_t = 1800)]
    pub close_after_secs: u64,

    /// Milliseconds between two looks at the folder (at most 1,000).
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..=1000))]
    pub poll_ms: u64,

    /// Stop once every log followed is closed.
    #[arg(long)]
    pub exit_when_done: bool,

    /// No progress line: only what needs attention (for running it as a service).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Lines for people: a progress line on a terminal, or plain lines.
struct Terminal {
    bar: Option<ProgressBar>,
}

impl Reporter for Terminal {
    fn say(&mut self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn status(&mut self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(text.to_string());
        }
    }
}

pub fn run(args: &WatchArgs) -> Result<()> {
    let folder = args.folder.clone().unwrap_or_else(default_folder);
    let destination = if args.local { "local".to_string() } else { args.server.clone().unwrap_or_default() };
    if !args.local && !destination.starts_with("https://") && !destination.starts_with("http://") {
        bail!("--server must be the entry point's URL, e.g. https://wowlogs.example (got {destination})");
    }
    let mut settings = WatchSettings::new(
        folder.clone(),
        args.state.clone().unwrap_or_else(|| default_path(&folder, &destination)),
    );
    settings.recent = Duration::from_secs(args.recent_minutes * 60);
    settings.close_after = Duration::from_secs(args.close_after_secs);
    settings.poll = Duration::from_millis(args.poll_ms);
    settings.exit_when_done = args.exit_when_done;
    let bar = (!args.quiet).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {wide_msg}").expect("a valid template"));
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let mut terminal = Terminal { bar: bar.clone() };
    terminal.say(&format!("watching {} → {destination}", folder.display()));
    let result = if args.local {
        let mut sink = LocalSink::new(|fight: &FightSummary| {
            let text = crate::report::render_fight_text(fight);
            match &bar {
                Some(bar) => bar.suspend(|| println!("{text}")),
                None => println!("{text}"),
            }
        });
        watch(&settings, &mut sink as &mut dyn Sink, &mut terminal)
    } else {
        let key = args.key.clone().unwrap_or_default();
        let mut sink = ServerSink::new(&destination, &key, args.cacert.as_deref())?;
        watch(&settings, &mut sink, &mut terminal)
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    result
}
