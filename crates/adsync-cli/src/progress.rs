//! Progress bars on stderr: only on a terminal, never with `--json`, `-q` or `--no-progress`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::Global;

fn wanted(global: &Global, json: bool) -> bool {
    !json
        && !global.quiet
        && !global.no_progress
        && global.verbose == 0
        && std::io::stderr().is_terminal()
}

/// A bar of `length` steps, or none.
pub(crate) fn bar(global: &Global, json: bool, length: usize) -> Option<ProgressBar> {
    if !wanted(global, json) {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(length as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg:20} [{bar:30}] {pos}/{len} {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

/// A spinner with `message`, for a step whose length is unknown, or none.
pub(crate) fn spinner(global: &Global, json: bool, message: &'static str) -> Option<ProgressBar> {
    if !wanted(global, json) {
        return None;
    }
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    spinner.set_message(message);
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(spinner)
}
