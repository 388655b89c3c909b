//! The exit status of the `adsync` process (SPEC §8): a type, returned from `main`.

use std::process::ExitCode;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Success; for `plan` and `dry-run`, also "no changes".
    Success,
    /// An error of any kind, usage errors included.
    Error,
    /// `plan`/`dry-run` with `--detailed-exitcode`: changes are pending.
    Changes,
    /// `apply` refused by a safety guard; nothing was applied.
    Refused,
    /// `apply` finished with failed, skipped or drifted actions.
    Incomplete,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Error => 1,
            ExitStatus::Changes => 2,
            ExitStatus::Refused => 3,
            ExitStatus::Incomplete => 4,
        })
    }
}
