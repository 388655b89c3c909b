//! What the page shows, as plain data the CLI fills: the CLI reads the clock, the state
//! directory and the plan, and hands this crate finished facts. Nothing here reads a file.

use std::time::{Duration, SystemTime};

use adsync_core::adapter::FailureCategory;
use serde::{Deserialize, Serialize, Serializer};

/// A moment, with the text the CLI writes it as (RFC 3339, UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The moment.
    pub time: SystemTime,
    /// `2026-11-21T23:05:12.345Z`.
    pub text: String,
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// How a run ended, as `last-run.json` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every action applied (or nothing to do).
    Success,
    /// Some actions failed, were skipped or drifted.
    Incomplete,
    /// A safety guard refused the plan; nothing was applied.
    Refused,
    /// No plan: a read failed, or the run could not start.
    Error,
}

impl RunOutcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Success => "success",
            RunOutcome::Incomplete => "incomplete",
            RunOutcome::Refused => "refused",
            RunOutcome::Error => "error",
        }
    }

    /// Every outcome, for metrics that list each one from the start.
    pub const ALL: [RunOutcome; 4] = [
        RunOutcome::Success,
        RunOutcome::Incomplete,
        RunOutcome::Refused,
        RunOutcome::Error,
    ];
}

/// What started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The interval (or the service starting).
    Schedule,
    /// Retry sync on the page (or `POST /retry`).
    Retry,
}

/// What a run read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReadFacts {
    /// Directory users in the paired groups.
    pub directory_users: u64,
    /// Directory groups read.
    pub directory_groups: u64,
    /// User nodes in the Rescue organization.
    pub rescue_users: u64,
    /// Time spent reading both sides.
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
}

/// One action that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionFailure {
    /// The failure category.
    pub category: FailureCategory,
    /// The user's e-mail (absent for groups).
    pub email: Option<String>,
    /// The action's stable id.
    pub action_id: String,
    /// `create_user`, `move_user`, ...
    pub kind: String,
    /// The action as the CLI renders it (`+ create technician ...`).
    pub action: String,
    /// Rescue's code, verbatim.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// A plan a safety guard blocked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockedPlan {
    /// Every reason, joined.
    pub reason: String,
    /// One line per tripped guard.
    pub guards: Vec<String>,
    /// The flags that would let `adsync apply` go ahead, for the operator to decide at a shell.
    pub flags: Vec<String>,
}

/// The plan a run made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanView {
    /// Actions per kind, in plan order, then `unchanged`.
    pub counts: Vec<(String, u64)>,
    /// `3 to create, 1 to move, 40 unchanged`.
    pub summary: String,
    /// The plan as `adsync plan` prints it.
    pub text: String,
    /// Set when a guard tripped.
    pub blocked: Option<BlockedPlan>,
}

/// Why a run has no plan or could not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Reading the directory or Rescue failed (SPEC §6: no plan).
    FailedRead,
    /// Anything else: the configuration, a secret, the lock.
    RunFailed,
}

/// The error a run ended with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunError {
    /// Which banner it shows under.
    pub kind: ErrorKind,
    /// The error and its causes, one per line, as the CLI prints them (never a secret).
    pub message: String,
    /// The obvious next step, when there is one.
    pub hint: Option<String>,
}

/// Actions of one kind that ended one way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionCount {
    /// `create_user`, ...
    pub kind: String,
    /// `applied`, `failed`, `skipped`, `drifted`.
    pub outcome: String,
    /// How many.
    pub count: u64,
}

/// One finished run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunReport {
    /// The run id, as in `last-run.json` and the audit log.
    pub run_id: String,
    /// What started it.
    pub trigger: Trigger,
    /// When it started.
    pub started: Stamp,
    /// When it ended.
    pub finished: Stamp,
    /// How it ended.
    pub outcome: RunOutcome,
    /// What it read, when both reads finished.
    pub read: Option<ReadFacts>,
    /// Time spent applying, when it applied.
    #[serde(serialize_with = "optional_seconds")]
    pub apply_duration: Option<Duration>,
    /// The plan, when one was made.
    pub plan: Option<PlanView>,
    /// Actions by kind and outcome.
    pub actions: Vec<ActionCount>,
    /// Every failed action.
    pub failures: Vec<ActionFailure>,
    /// The error, for runs without a plan.
    pub error: Option<RunError>,
}

impl RunReport {
    /// Actions that ended as `outcome`.
    pub fn count(&self, outcome: &str) -> u64 {
        self.actions
            .iter()
            .filter(|a| a.outcome == outcome)
            .map(|a| a.count)
            .sum()
    }

    /// The run's length.
    pub fn duration(&self) -> Duration {
        self.finished
            .time
            .duration_since(self.started.time)
            .unwrap_or(Duration::ZERO)
    }
}

/// A run recorded in the state directory's run log (`runs.jsonl`), as the CLI writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLine {
    /// The run id.
    pub run_id: String,
    /// `run`, `apply`, `run --dry-run`.
    pub command: String,
    /// Start time (RFC 3339).
    pub started: String,
    /// End time (RFC 3339).
    pub finished: String,
    /// `success`, `incomplete`, `refused`, `error`.
    pub outcome: String,
    /// The error, for failed runs.
    #[serde(default)]
    pub error: Option<String>,
    /// Actions by outcome.
    #[serde(default)]
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// One line of the audit log (`audit.jsonl`, SPEC §7), as the CLI writes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionLine {
    /// When the action ended.
    pub time: String,
    /// The run it belongs to.
    pub run_id: String,
    /// The action id.
    pub action: String,
    /// The action kind.
    pub kind: String,
    /// The user's e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// The node id.
    #[serde(default)]
    pub node_id: Option<u64>,
    /// Values before.
    #[serde(default)]
    pub before: serde_json::Value,
    /// Values after.
    #[serde(default)]
    pub after: serde_json::Value,
    /// `applied`, `failed`, `skipped`, `drifted`.
    pub outcome: String,
    /// The failure category.
    #[serde(default)]
    pub category: Option<String>,
    /// Rescue's code.
    #[serde(default)]
    pub code: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
}

/// An entry of the activity history, newest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HistoryEntry {
    /// A run ended.
    Run(RunLine),
    /// An action was attempted.
    Action(ActionLine),
}

/// Which page of the history to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only actions whose e-mail contains this (case-insensitive); runs are left out then.
    pub email: Option<String>,
    /// Only runs, no actions.
    pub runs_only: bool,
    /// Entries to skip (newest first).
    pub offset: usize,
    /// Entries to return.
    pub limit: usize,
}

/// A page of the history.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HistoryPage {
    /// The entries, newest first.
    pub entries: Vec<HistoryEntry>,
    /// Whether older entries follow.
    pub more: bool,
}

/// Where the history comes from: the CLI reads the state directory.
pub trait History: Send + Sync {
    /// One page; an error is a lowercase phrase naming the file at fault.
    fn page(&self, query: &HistoryQuery) -> Result<HistoryPage, String>;
}

/// The time, read by the CLI.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> SystemTime;
}

fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

fn optional_seconds<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_f64(duration.as_secs_f64()),
        None => serializer.serialize_none(),
    }
}
