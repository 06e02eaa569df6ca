//! Progress bars on stderr for the offline tools, with rate and ETA; hidden when stderr is
//! not a terminal (CI, pipes, tests).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// One bar, reset at each phase of an operation.
pub(super) struct Bars {
    bar: ProgressBar,
}

impl Bars {
    /// A bar on stderr, or a hidden one when stderr is not a terminal.
    pub(super) fn on_stderr() -> Self {
        if !std::io::stderr().is_terminal() {
            return Self {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = ProgressBar::new(0);
        let template = "{msg:>10} {elapsed_precise} [{wide_bar}] {human_pos}/{human_len} events ({per_sec}, eta {eta})";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Self { bar }
    }
}

impl bus::daemon::Progress for Bars {
    fn begin(&self, phase: &'static str, total: u64) {
        self.bar.reset();
        self.bar.set_length(total);
        self.bar.set_message(phase);
    }

    fn advance_to(&self, done: u64) {
        self.bar.set_position(done);
    }

    fn end(&self) {
        self.bar.finish_and_clear();
    }
}
