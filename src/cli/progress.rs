//! The one place progress bars are made: on stderr, hidden when stderr is not a terminal or
//! with `--quiet`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

pub fn bar(quiet: bool, len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if quiet || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style =
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {rate} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            // Whole units per second ("412/s"), not indicatif's "411.7183/s".
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            )
            .progress_chars("=> ");
    pb.set_style(style);
    pb.set_prefix(what.to_string());
    pb
}
