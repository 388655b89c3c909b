//! The CLI's errors, and how they are printed: a lowercase phrase, its causes, and a hint.

use std::path::PathBuf;

use adsync_core::adapter::{AdapterError, AdapterErrorKind};

use crate::style::{Paint, Tone};

/// Everything that can make a command fail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file `{}`", .path.display())]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid YAML of the expected shape.
    #[error("invalid configuration in `{}`: {message}", .path.display())]
    ConfigSyntax { path: PathBuf, message: String },
    /// The configuration breaks one or more rules.
    #[error("invalid configuration in `{}`:{}", .path.display(), list(.problems))]
    ConfigInvalid {
        path: PathBuf,
        problems: Vec<String>,
    },
    /// A secret reference points nowhere.
    #[error("the secret `{key}` cannot be read: {what}")]
    Secret {
        key: String,
        what: String,
        hint: String,
    },
    /// A data file (snapshot, plan, links) could not be read or parsed.
    #[error("cannot read `{}`: {message}", .path.display())]
    DataFile { path: PathBuf, message: String },
    /// A state file (links) cannot be used; a run holding the lock set it aside.
    #[error("the state file `{}` is corrupt ({problem}){}", .path.display(), set_aside_note(.set_aside.as_deref()))]
    StateFile {
        path: PathBuf,
        problem: String,
        set_aside: Option<PathBuf>,
    },
    /// A file could not be written.
    #[error("cannot write `{}`", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading the directory failed.
    #[error("failed to read the directory")]
    SourceRead(#[source] AdapterError),
    /// Reading Rescue failed.
    #[error("failed to read the LogMeIn Rescue organization")]
    TargetRead(#[source] AdapterError),
    /// `adsync goto login` failed.
    #[error("the goto sign-in failed")]
    GotoLogin(#[source] AdapterError),
    /// The adapter could not be set up.
    #[error("{0}")]
    Setup(String),
    /// There is no plan.
    #[error("no plan can be made")]
    Plan(#[source] adsync_core::error::PlanError),
    /// Another run holds the lock.
    #[error("another adsync run holds the lock `{}`: pid {pid} (`{command}`), started {started}", .path.display())]
    Locked {
        path: PathBuf,
        pid: u32,
        started: String,
        command: String,
    },
    /// Another run holds the lock and has not written its record yet.
    #[error("another adsync run holds the lock `{}` (it is starting and has not written its record yet)", .path.display())]
    LockStarting { path: PathBuf },
    /// A saved plan was made from another configuration.
    #[error("the saved plan `{}` was made from a different configuration (its digest is {plan}, this configuration's is {config})", .path.display())]
    StalePlan {
        path: PathBuf,
        plan: String,
        config: String,
    },
    /// A saved plan failed its checks (format, seal, invariants); nothing was applied.
    #[error("the saved plan `{}` is refused; nothing was applied:{}", .path.display(), list(.problems))]
    PlanRefused {
        path: PathBuf,
        problems: Vec<String>,
    },
    /// `apply` without a terminal and without `--yes`.
    #[error("refusing to apply without confirmation: stdin is not a terminal")]
    NeedsYes,
    /// A flag's value is not one the command takes.
    #[error("{message}")]
    Usage { message: String, hint: String },
    /// The operator declined the confirmation; nothing was applied.
    #[error("apply cancelled: nothing was applied")]
    Declined,
    /// stdout was closed by the reader; not reported.
    #[error("broken pipe")]
    BrokenPipe,
}

fn set_aside_note(aside: Option<&std::path::Path>) -> String {
    aside.map_or_else(String::new, |aside| {
        format!(
            "; it was set aside as `{}` (nothing was deleted) and this run stopped before \
             changing anything",
            aside.display()
        )
    })
}

fn list(problems: &[String]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}

impl Error {
    /// The obvious next step, when there is one.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Error::Secret { hint, .. } | Error::Usage { hint, .. } => Some(hint.clone()),
            Error::Locked { .. } | Error::LockStarting { .. } => Some(
                "wait for the other run to finish; a lock left by a crashed run is taken over automatically".into(),
            ),
            Error::StateFile { set_aside: Some(_), .. } => Some(
                "run again: the next run matches users by e-mail and writes new links. If \
                 users' e-mails changed in the directory since the last good run, first copy a \
                 backup of links.json back into the state directory"
                    .into(),
            ),
            Error::StateFile { set_aside: None, path, .. } => Some(format!(
                "`adsync apply` (or `run`) sets it aside and the run after rebuilds it; or \
                 restore `{}` from a backup",
                path.display()
            )),
            Error::StalePlan { .. } => Some("make a new plan with `adsync plan --out plan.json`".into()),
            Error::PlanRefused { .. } => Some(
                "re-run `adsync plan --out plan.json`, review it, and apply that file unedited".into(),
            ),
            Error::NeedsYes => Some("pass --yes, or apply a reviewed saved plan: `adsync apply plan.json`".into()),
            Error::ConfigRead { .. } => Some(
                "pass --config FILE or set ADSYNC_CONFIG; `adsync init` writes a starter adsync.yaml"
                    .into(),
            ),
            Error::SourceRead(error) | Error::TargetRead(error) | Error::GotoLogin(error) => {
                error.hint.clone().or_else(|| default_hint(error.kind))
            }
            _ => None,
        }
    }
}

fn default_hint(kind: AdapterErrorKind) -> Option<String> {
    match kind {
        AdapterErrorKind::Throttled | AdapterErrorKind::Transport => {
            Some("nothing was changed; run the command again later".into())
        }
        _ => None,
    }
}

/// Renders `error` with every cause and the hint, for stderr.
pub(crate) fn render(error: &Error, paint: Paint) -> String {
    let mut out = format!("{} {error}\n", paint.paint(Tone::Remove, "error:"));
    for cause in causes(error) {
        out.push_str(&format!("  caused by: {cause}\n"));
    }
    if let Some(hint) = error.hint() {
        out.push_str(&format!("\n{} {hint}\n", paint.paint(Tone::Hint, "hint:")));
    }
    out
}

/// The chain of causes below `error`, outermost first.
pub(crate) fn causes(error: &Error) -> Vec<String> {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    causes
}
