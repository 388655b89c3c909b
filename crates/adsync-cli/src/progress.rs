//! Progress on stderr: only on a terminal, never with `--json`, `-q`, `-v` or `--no-progress`.
//!
//! Reads show what they are reading and how far they have come (groups of groups paired, pages,
//! users; Rescue user details of those needed); applies show each phase's name, a bar and an
//! estimate of the time left.

use std::io::IsTerminal;
use std::time::Duration;

use adsync_core::adapter::{ReadProgress, ReadStep};
use adsync_core::plan::ActionKind;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::Global;

fn wanted(global: &Global, json: bool) -> bool {
    !json
        && !global.quiet
        && !global.no_progress
        && global.verbose == 0
        && std::io::stderr().is_terminal()
}

const SPINNER: &str = "{spinner} {msg} ({elapsed})";
const BAR: &str = "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed}, about {eta} left)";

fn style(template: &str) -> ProgressStyle {
    // The templates are constants that parse; should one not, the default style still draws.
    ProgressStyle::with_template(template)
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// A bar for applying `length` actions, or none.
pub(crate) fn apply_bar(global: &Global, json: bool, length: usize) -> Option<ProgressBar> {
    if !wanted(global, json) {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(length as u64), ProgressDrawTarget::stderr());
    bar.set_style(style(BAR));
    bar.set_message("applying");
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.tick();
    Some(bar)
}

/// What the apply bar says during a phase.
pub(crate) fn phase_label(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::CreateGroup => "creating groups",
        ActionKind::CreateUser => "creating users",
        ActionKind::MoveUser => "moving users",
        ActionKind::UpdateUser => "updating users",
        ActionKind::EnableUser => "enabling users",
        ActionKind::SetMobileLicense => "changing mobile add-ons",
        ActionKind::DisableUser => "disabling users",
    }
}

/// The read of one side: a spinner with what is being read, which becomes a bar once the
/// number of steps is known. Drawn only where [`wanted`] says.
pub(crate) struct ReadBar {
    bar: Option<ProgressBar>,
    /// The directory's groups as the messages name them (`Entra` groups).
    groups: &'static str,
}

impl ReadBar {
    /// The read of `total` of the directory's groups, `groups` naming their kind (`Entra`,
    /// `Active Directory`).
    pub(crate) fn directory(
        global: &Global,
        json: bool,
        groups: &'static str,
        total: usize,
    ) -> ReadBar {
        let message = format!("reading {groups} groups: 0 of {total} groups");
        let mut bar = ReadBar::start(global, json, &message);
        bar.groups = groups;
        bar
    }

    /// A read that starts with `message`.
    pub(crate) fn start(global: &Global, json: bool, message: &str) -> ReadBar {
        let bar = wanted(global, json).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(style(SPINNER));
            bar.set_message(message.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            // Drawn at once: a fast read still shows what it read.
            bar.tick();
            bar
        });
        ReadBar {
            bar,
            groups: "directory",
        }
    }

    /// Clears the line.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl ReadProgress for ReadBar {
    fn report(&self, step: ReadStep) {
        let Some(bar) = &self.bar else { return };
        match step {
            ReadStep::Groups {
                done,
                total,
                pages,
                users,
            } => {
                bar.set_message(format!(
                    "reading {} groups: {done} of {total} groups, {pages} {}, {users} {}",
                    self.groups,
                    if pages == 1 { "page" } else { "pages" },
                    if users == 1 { "user" } else { "users" }
                ));
            }
            ReadStep::Hierarchy { nodes } => {
                bar.set_message(format!(
                    "reading the Rescue organization: {nodes} nodes in the tree"
                ));
            }
            ReadStep::Details { done, total } => {
                if bar.length() != Some(total) {
                    bar.set_style(style(BAR));
                    bar.set_length(total);
                    bar.set_message("reading Rescue user details");
                }
                bar.set_position(done);
            }
        }
    }
}

impl Drop for ReadBar {
    fn drop(&mut self) {
        self.finish();
    }
}
