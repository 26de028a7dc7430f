//! Progress bars on a terminal, nothing when piped.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A bar counting bytes towards `total` (a spinner when the size is unknown). Hidden when
/// standard error is not a terminal or `quiet` is set.
pub fn bytes_bar(total: Option<u64>, prefix: &str, quiet: bool) -> ProgressBar {
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::no_length(),
    };
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    let template = match total {
        Some(_) => "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
        None => "{prefix} {spinner} {bytes} {bytes_per_sec} {msg}",
    };
    bar.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
    bar.set_prefix(prefix.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// `1,234,567 lines, 1,500,000 lines/s`.
pub fn lines_message(lines: u64, elapsed: Duration) -> String {
    let rate = lines as f64 / elapsed.as_secs_f64().max(1e-3);
    format!("{} lines, {} lines/s", crate::report::group(lines as i64), crate::report::group(rate as i64))
}
