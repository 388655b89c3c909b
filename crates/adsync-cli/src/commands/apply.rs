//! `adsync apply`: plan (or load a saved plan), check the guards, execute, record.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use adsync_core::adapter::{AdapterError, AdapterErrorKind, Applied, DetailRequest, Target};
use adsync_core::model::{NodeId, RescueSnapshot};

use adsync_core::execute::{
    ActionResult, ApplyObserver, ApplyReport, Outcome, check_preconditions, execute,
};
use adsync_core::plan::{Action, Plan};
use adsync_core::scope::detail_request_for_plan;
use adsync_web::view::ReadFacts;

use crate::cli::{ApplyArgs, Global};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::{self, Loaded};
use crate::output;
use crate::render;
use crate::state::{self, Audit, LastRun, Lock};
use crate::wiring::TargetHandle;

/// How one apply goes; `adsync apply` fills it from flags, `adsync run` per cycle.
pub(crate) struct Options<'a> {
    pub(crate) plan: Option<&'a Path>,
    pub(crate) yes: bool,
    pub(crate) allow_destructive: bool,
    pub(crate) allow_empty_groups: bool,
    pub(crate) json: bool,
    /// Set when the process is asked to stop: actions not yet started are skipped.
    pub(crate) stop: Option<&'a AtomicBool>,
    /// `apply` or `run`, for the lock and the last-run record.
    pub(crate) command: &'static str,
}

pub(crate) async fn run(global: &Global, args: &ApplyArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let options = Options {
        plan: args.plan.as_deref(),
        yes: args.yes,
        allow_destructive: args.allow_destructive,
        allow_empty_groups: args.allow_empty_groups,
        json: args.json,
        stop: None,
        command: "apply",
    };
    apply_locked(global, &loaded, &options).await
}

/// What one apply did, for the service page (`run --listen`).
#[derive(Debug, Default)]
pub(crate) struct Trace {
    /// The record written to `last-run.json`.
    pub(crate) record: Option<LastRun>,
    /// What the reads found, when both finished.
    pub(crate) read: Option<ReadFacts>,
    /// The plan, when one was made.
    pub(crate) plan: Option<Plan>,
    /// What executing it did, and how long it took.
    pub(crate) report: Option<(ApplyReport, Duration)>,
}

/// One apply under the lock, recorded in `last-run.json` whatever its end.
pub(crate) async fn apply_locked(
    global: &Global,
    loaded: &Loaded,
    options: &Options<'_>,
) -> Result<ExitStatus, Error> {
    apply_traced(global, loaded, options, &mut Trace::default()).await
}

/// [`apply_locked`], keeping in `trace` what the run read, planned and applied.
pub(crate) async fn apply_traced(
    global: &Global,
    loaded: &Loaded,
    options: &Options<'_>,
    trace: &mut Trace,
) -> Result<ExitStatus, Error> {
    let state_dir = loaded.state_dir();
    let _lock = Lock::acquire(&state_dir, options.command, global.quiet)?;
    let started = SystemTime::now();
    let run_id = format!("{}-{}", crate::clock::compact(started), std::process::id());
    let mut record = LastRun {
        run_id: run_id.clone(),
        command: options.command.into(),
        started: crate::clock::format_time(started),
        ..LastRun::default()
    };
    let result = apply(global, options, loaded, &run_id, &mut record, trace).await;
    record.finished = crate::clock::now();
    match &result {
        Ok(ExitStatus::Success) => record.outcome = "success".into(),
        Ok(ExitStatus::Refused) => record.outcome = "refused".into(),
        Ok(_) => record.outcome = "incomplete".into(),
        Err(error) => {
            record.outcome = "error".into();
            record.error = Some(error.to_string());
        }
    }
    trace.record = Some(record.clone());
    state::write_last_run(&state_dir, record)?;
    result
}

async fn apply(
    global: &Global,
    args: &Options<'_>,
    loaded: &Loaded,
    run_id: &str,
    record: &mut LastRun,
    trace: &mut Trace,
) -> Result<ExitStatus, Error> {
    let Trace {
        read,
        plan: planned_slot,
        report: report_slot,
        ..
    } = trace;
    let target = crate::wiring::target(loaded)?;
    let planned = async {
        match args.plan {
            Some(path) => saved_plan(loaded, path, &target).await,
            None => {
                let plan = super::plan::make_plan_read(
                    global,
                    args.json,
                    loaded,
                    target.as_target(),
                    read,
                )
                .await?;
                Ok((plan, Default::default()))
            }
        }
    };
    // Asked to stop while reading (a large tenant takes minutes, longer than a service manager
    // waits): no action is in flight, so the read is dropped and nothing is attempted.
    let (plan, drifted) = match args.stop {
        Some(stop) => tokio::select! {
            planned = planned => planned?,
            () = stop_requested(stop) => return Ok(stopped_before_applying(global)),
        },
        None => planned.await?,
    };
    if args.stop.is_some_and(|stop| stop.load(Ordering::SeqCst)) {
        return Ok(stopped_before_applying(global));
    }
    let plan = &*planned_slot.insert(plan);
    for warning in &plan.warnings {
        output::note(global.quiet, &format!("warning: {}", warning.message));
    }
    if !args.json {
        output::stdout(&render::plan_human(plan))?;
    }
    if plan.is_empty() {
        if args.json {
            output::stdout(&output::json(&report_json(
                run_id,
                plan,
                &ApplyReport::default(),
            )))?;
        }
        return Ok(ExitStatus::Success);
    }

    if refused_by_guards(plan, args) {
        return Ok(ExitStatus::Refused);
    }

    if args.plan.is_none() && !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsYes);
        }
        if !confirm(plan.actions.len())? {
            output::note(global.quiet, "nothing applied");
            return Ok(ExitStatus::Success);
        }
    }

    let mut observer = Observer {
        audit: Audit::open(&loaded.state_dir(), run_id)?,
        error: None,
        progress: crate::progress::bar(global, args.json, plan.actions.len()),
    };
    let stoppable = Stoppable {
        inner: target.as_target(),
        stop: args.stop,
    };
    let applying = std::time::Instant::now();
    let report = execute(plan, &stoppable, &drifted, &mut observer).await;
    let report = &report_slot.insert((report, applying.elapsed())).0;
    if let Some(progress) = &observer.progress {
        progress.finish_and_clear();
    }
    write_back(target)?;
    let links = adsync_core::execute::links_after(load::read_links(loaded)?, plan, report);
    state::write_links(&loaded.state_dir(), &links)?;
    if let Some(error) = observer.error {
        return Err(error);
    }

    for outcome in [
        Outcome::Applied,
        Outcome::Failed,
        Outcome::Skipped,
        Outcome::Drifted,
    ] {
        record
            .counts
            .insert(outcome.as_str().into(), report.count(outcome) as u64);
    }
    if args.json {
        output::stdout(&output::json(&report_json(run_id, plan, report)))?;
    } else {
        output::stdout(&render::apply_summary(report))?;
    }
    Ok(if report.is_complete() {
        ExitStatus::Success
    } else {
        ExitStatus::Incomplete
    })
}

/// Whether a safety guard the flags do not lift blocks `plan`; says so on stderr.
fn refused_by_guards(plan: &Plan, args: &Options<'_>) -> bool {
    if let Some(blocked) = &plan.blocked {
        let refused: Vec<String> = blocked
            .guards
            .iter()
            .filter(|guard| {
                if guard.is_budget() {
                    !args.allow_destructive
                } else {
                    !args.allow_empty_groups
                }
            })
            .map(|guard| guard.describe())
            .collect();
        if !refused.is_empty() {
            output::note(
                false,
                &format!(
                    "error: apply refused by a safety guard; nothing was applied:{}\n\nhint: review the plan; if it is right, pass {}",
                    refused
                        .iter()
                        .map(|r| format!("\n  - {r}"))
                        .collect::<String>(),
                    guard_flags(plan, args)
                ),
            );
            return true;
        }
    }
    false
}

/// A snapshot target's file gets the tree as the apply left it.
fn write_back(target: TargetHandle) -> Result<(), Error> {
    if let TargetHandle::Snapshot { target, path } = target {
        let snapshot = target.into_snapshot();
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let text = if is_json {
            output::json(&snapshot)
        } else {
            serde_yaml::to_string(&snapshot)
                .map_err(|e| Error::Setup(format!("cannot serialize the Rescue snapshot: {e}")))?
        };
        output::write_atomic(&path, text.as_bytes())?;
    }
    Ok(())
}

/// Returns once `stop` is set.
async fn stop_requested(stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn stopped_before_applying(global: &Global) -> ExitStatus {
    output::note(
        global.quiet,
        "stopped before applying anything; the next run plans again",
    );
    ExitStatus::Incomplete
}

/// Loads a saved plan, refuses it when made from another configuration, and checks every
/// precondition against a fresh read.
async fn saved_plan(
    loaded: &Loaded,
    path: &Path,
    target: &TargetHandle,
) -> Result<(Plan, std::collections::BTreeMap<String, String>), Error> {
    let plan: Plan = load::read_data(path)?;
    let digest = loaded.config.digest();
    if plan.config_digest != digest {
        return Err(Error::StalePlan {
            path: path.to_owned(),
            plan: plan.config_digest,
            config: digest,
        });
    }
    let snapshot = target
        .as_target()
        .snapshot(&detail_request_for_plan(&plan))
        .await
        .map_err(Error::TargetRead)?;
    let drifted = check_preconditions(&plan, &snapshot);
    Ok((plan, drifted))
}

fn guard_flags(plan: &Plan, args: &Options<'_>) -> String {
    let mut flags = Vec::new();
    if let Some(blocked) = &plan.blocked {
        if blocked.guards.iter().any(|g| g.is_budget()) && !args.allow_destructive {
            flags.push("--allow-destructive");
        }
        if blocked.guards.iter().any(|g| !g.is_budget()) && !args.allow_empty_groups {
            flags.push("--allow-empty-groups");
        }
    }
    flags.join(" and ")
}

#[expect(
    clippy::print_stderr,
    reason = "the confirmation prompt belongs on stderr"
)]
fn confirm(actions: usize) -> Result<bool, Error> {
    eprint!("apply these {actions} changes? [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|source| Error::Write {
            path: "<stdin>".into(),
            source,
        })?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

struct Observer {
    audit: Audit,
    error: Option<Error>,
    progress: Option<indicatif::ProgressBar>,
}

impl ApplyObserver for Observer {
    fn phase_started(&mut self, kind: adsync_core::plan::ActionKind, _actions: usize) {
        if let Some(progress) = &self.progress {
            progress.set_message(kind.as_str());
        }
    }

    fn action_finished(&mut self, action: &Action, result: &ActionResult) {
        if let Some(progress) = &self.progress {
            progress.inc(1);
        }
        if let Err(error) = self.audit.record(action, result)
            && self.error.is_none()
        {
            self.error = Some(error);
        }
    }
}

/// The target, refusing to start new actions once the process is asked to stop: the action in
/// flight finishes, the rest are reported as skipped.
struct Stoppable<'a> {
    inner: &'a dyn Target,
    stop: Option<&'a AtomicBool>,
}

#[async_trait::async_trait]
impl Target for Stoppable<'_> {
    async fn snapshot(&self, details: &DetailRequest) -> Result<RescueSnapshot, AdapterError> {
        self.inner.snapshot(details).await
    }

    async fn apply(
        &self,
        action: &Action,
        parent: Option<NodeId>,
    ) -> Result<Applied, AdapterError> {
        if self.stop.is_some_and(|stop| stop.load(Ordering::SeqCst)) {
            return Err(AdapterError::new(
                AdapterErrorKind::Cancelled,
                "not started: adsync was asked to stop",
            ));
        }
        self.inner.apply(action, parent).await
    }

    async fn rollback_created(&self, node: NodeId) -> Result<(), AdapterError> {
        self.inner.rollback_created(node).await
    }

    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }
}

fn report_json(run_id: &str, plan: &Plan, report: &ApplyReport) -> serde_json::Value {
    serde_json::json!({
        "format_version": "1.0",
        "run_id": run_id,
        "plan_summary": plan.summary,
        "outcomes": {
            "applied": report.count(Outcome::Applied),
            "failed": report.count(Outcome::Failed),
            "skipped": report.count(Outcome::Skipped),
            "drifted": report.count(Outcome::Drifted),
        },
        "results": report.results,
    })
}
