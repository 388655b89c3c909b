//! `adsync apply`: plan (or load a saved plan), check the guards, execute, record.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use adsync_core::adapter::{AdapterError, AdapterErrorKind, Applied, DetailRequest, Target};
use adsync_core::model::{NodeId, RescueSnapshot};

use adsync_core::execute::{ActionResult, ApplyObserver, ApplyReport, Outcome, execute};
use adsync_core::plan::{Action, CurrentState, Plan};
use adsync_core::scope::detail_request_for_plan;
use adsync_web::view::ReadFacts;

use crate::cli::{ApplyArgs, Global};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::{self, Loaded};
use crate::output;
use crate::render;
use crate::state::{self, Audit, LastRun, Lock};
use crate::style::{Paint, Tone};
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
    /// Print the plan before applying it (`run` prints it only with `-v`).
    pub(crate) print_plan: bool,
    /// A saved plan older than this gets a warning.
    pub(crate) max_plan_age: Option<std::time::Duration>,
    /// The plan warnings already printed by this process (`run` prints each one once, not
    /// every cycle); `None`: print them all.
    pub(crate) warned: Option<&'a std::sync::Mutex<std::collections::BTreeSet<String>>>,
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
        print_plan: true,
        warned: None,
        max_plan_age: Some(super::run::parse_interval(
            &args.max_plan_age,
            "--max-plan-age",
        )?),
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
    /// A GoTo cycle's plan and failures, as the page shows them.
    pub(crate) goto: Option<crate::goto::PageTrace>,
}

/// One apply under the lock, recorded in `last-run.json` whatever its end.
pub(crate) async fn apply_locked(
    global: &Global,
    loaded: &Loaded,
    options: &Options<'_>,
) -> Result<ExitStatus, Error> {
    apply_traced(global, loaded, options, &mut Trace::default()).await
}

/// [`apply_locked`], keeping in `trace` what the run read, planned and applied, and the record
/// it wrote (`run` logs its counts, the service page shows them).
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
    let result = match crate::goto::target_config(loaded) {
        Some(goto) => {
            let flags = crate::goto::Flags {
                plan: options.plan,
                yes: options.yes,
                allow_destructive: options.allow_destructive,
                allow_empty_groups: options.allow_empty_groups,
                json: options.json,
                stop: options.stop,
                print_plan: options.print_plan,
            };
            let run = (run_id.as_str(), &mut record, &mut trace.goto);
            crate::goto::apply(global, loaded, goto, &flags, run).await
        }
        None => apply(global, options, loaded, &run_id, &mut record, trace).await,
    };
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
            Some(path) => saved_plan(global, loaded, path, &target, args.max_plan_age).await,
            None => {
                let planned = super::plan::read_and_plan(
                    global,
                    args.json,
                    loaded,
                    target.as_target(),
                    false,
                    read,
                )
                .await?;
                Ok((planned.plan, Default::default()))
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
    match args.warned {
        Some(warned) => super::plan::print_new_warnings(global, plan, warned),
        None => super::plan::print_warnings(global, plan),
    }
    record_counts(record, plan, &ApplyReport::default());
    if !args.json && args.print_plan {
        output::stdout(&render::plan_human(
            plan,
            Paint::stdout(global),
            &render::Listing::default(),
        ))?;
    }
    if plan.is_empty() {
        finish(global, target.as_target()).await;
        if args.json {
            output::stdout(&output::json(&report_json(
                run_id,
                plan,
                &ApplyReport::default(),
            )))?;
        }
        return Ok(ExitStatus::Success);
    }
    if refuse_if_guarded(global, args, plan, run_id)? {
        return Ok(ExitStatus::Refused);
    }
    confirm_unless_told(args, plan)?;

    let mut observer = Observer {
        audit: Audit::open(&loaded.state_dir(), run_id)?,
        error: None,
        progress: crate::progress::apply_bar(global, args.json, plan.actions.len()),
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
    finish(global, target.as_target()).await;
    write_back(target)?;
    let links = adsync_core::execute::links_after(load::read_links(loaded)?, plan, report);
    state::write_links(&loaded.state_dir(), &links)?;
    if let Some(error) = observer.error {
        return Err(error);
    }

    record_counts(record, plan, report);
    if args.json {
        output::stdout(&output::json(&report_json(run_id, plan, report)))?;
    } else if args.print_plan {
        output::stdout(&render::apply_summary(report, Paint::stdout(global)))?;
    }
    Ok(if report.is_complete() {
        ExitStatus::Success
    } else {
        ExitStatus::Incomplete
    })
}

/// A fresh plan is applied only once confirmed, unless `--yes`; a saved plan was reviewed
/// when it was saved. Without a terminal to ask on, `--yes` is required.
fn confirm_unless_told(args: &Options<'_>, plan: &Plan) -> Result<(), Error> {
    if args.plan.is_some() || args.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::NeedsYes);
    }
    if !output::confirm(plan.actions.len())? {
        // As terraform does: a declined apply is not a success a script may build on.
        return Err(Error::Declined);
    }
    Ok(())
}

/// The plan's size and each outcome's count, zeros included: a cycle that changed nothing
/// says so.
fn record_counts(record: &mut LastRun, plan: &Plan, report: &ApplyReport) {
    record
        .counts
        .insert("planned".into(), plan.actions.len() as u64);
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
}

/// Lets the target tidy what earlier runs left half made (`Target::finish`); a failure there
/// leaves this run's actions as they are, so it is a warning, not the run's error.
async fn finish(global: &Global, target: &dyn Target) {
    if let Err(error) = target.finish().await {
        output::warning(
            global,
            &format!("the target could not tidy up after the apply: {error}"),
        );
    }
}

/// Refuses a plan a safety guard blocks, unless the flag for that guard was given: the error
/// on stderr, and with `--json` one document on stdout. Whether it refused.
fn refuse_if_guarded(
    global: &Global,
    args: &Options<'_>,
    plan: &Plan,
    run_id: &str,
) -> Result<bool, Error> {
    let Some(blocked) = &plan.blocked else {
        return Ok(false);
    };
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
    if refused.is_empty() {
        return Ok(false);
    }
    let paint = Paint::stderr(global);
    output::note(
        false,
        &format!(
            "{} apply refused by a safety guard; nothing was applied:{}\n\n{} review the plan; if it is right, pass {}",
            paint.paint(Tone::Remove, "error:"),
            refused
                .iter()
                .map(|r| format!("\n  - {r}"))
                .collect::<String>(),
            paint.paint(Tone::Hint, "hint:"),
            guard_flags(plan, args)
        ),
    );
    if args.json {
        output::stdout(&output::json(&serde_json::json!({
            "format_version": output::FORMAT_VERSION,
            "run_id": run_id,
            "outcome": "refused",
            "refused": refused,
            "flags": guard_flags(plan, args),
            "plan_summary": plan.summary,
            "blocked": plan.blocked,
        })))?;
    }
    Ok(true)
}

/// A snapshot target's tree, written back to its file after an apply.
fn write_back(target: TargetHandle) -> Result<(), Error> {
    let TargetHandle::Snapshot { target, path } = target else {
        return Ok(());
    };
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
    output::write_atomic(&path, text.as_bytes())
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

/// Loads a saved plan and re-checks it (`crate::saved`): refuses it when its format, seal or
/// configuration is not this one's or any action breaks the invariants against a fresh read;
/// warns when it is old or was made against another organization; recomputes its guards; and
/// checks every precondition against the fresh read.
async fn saved_plan(
    global: &Global,
    loaded: &Loaded,
    path: &Path,
    target: &TargetHandle,
    max_age: Option<std::time::Duration>,
) -> Result<(Plan, std::collections::BTreeMap<String, String>), Error> {
    let mut plan = crate::saved::open(loaded, path)?;
    let origin = plan.origin.clone().unwrap_or_default();
    if let (Some(made), Some(max_age)) = (origin.made_at.as_deref(), max_age)
        && let Some(age) = crate::clock::age(made)
        && age > max_age
    {
        output::warning(
            global,
            &format!(
                "the plan `{}` was made {} ago ({made}), more than --max-plan-age {}; actions whose users changed since are skipped as drifted, but a fresh `adsync plan` shows what else changed",
                path.display(),
                crate::clock::human_duration(age),
                crate::clock::human_duration(max_age),
            ),
        );
    }
    let snapshot = target
        .as_target()
        .snapshot(&detail_request_for_plan(&plan))
        .await
        .map_err(Error::TargetRead)?;
    let now = super::plan::organization(&snapshot);
    if let (Some(then), Some(now)) = (&origin.organization, &now)
        && then != now
    {
        output::warning(
            global,
            &format!("the plan was made against the Rescue organization `{then}`; this is `{now}`"),
        );
    }
    let current = CurrentState {
        rescue: snapshot,
        links: load::read_links(loaded)?,
    };
    let (drifted, blocked) = crate::saved::check(loaded, path, &plan, &current)?;
    plan.blocked = blocked;
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

struct Observer {
    audit: Audit,
    error: Option<Error>,
    progress: Option<indicatif::ProgressBar>,
}

impl ApplyObserver for Observer {
    fn phase_started(&mut self, kind: adsync_core::plan::ActionKind, _actions: usize) {
        if let Some(progress) = &self.progress {
            progress.set_message(crate::progress::phase_label(kind));
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
        "format_version": output::FORMAT_VERSION,
        "run_id": run_id,
        "outcome": if report.is_complete() { "success" } else { "incomplete" },
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
