//! `adsync apply` and each `adsync run` cycle for a GoTo account, under the state directory's
//! lock (taken by `commands::apply`, which also writes the last-run record): plan (or load a
//! saved plan and check its configuration), refuse a plan a guard blocks, confirm, record the
//! managed e-mails, execute, and append every operation to the audit log.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use adsync_core::goto::GotoTargetConfig;
use adsync_goto::execute::{ApplyOptions, GotoReport, execute};
use adsync_goto::planner::{EMPTY_GROUP, GotoPlan};
use adsync_goto::{GotoSnapshot, GotoTarget};

use super::page::PageTrace;
use super::render;
use crate::cli::Global;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::Loaded;
use crate::output;
use crate::state::{AUDIT_LOG, LastRun};
use crate::style::{Paint, Tone};

/// How one apply goes: `adsync apply`'s flags, or a `run` cycle's.
pub(crate) struct Flags<'a> {
    /// A saved plan to apply instead of planning.
    pub(crate) plan: Option<&'a Path>,
    pub(crate) yes: bool,
    pub(crate) allow_destructive: bool,
    pub(crate) allow_empty_groups: bool,
    pub(crate) json: bool,
    /// Set when the process is asked to stop: operations not yet started are skipped.
    pub(crate) stop: Option<&'a AtomicBool>,
    /// Print the plan before applying it.
    pub(crate) print_plan: bool,
}

/// One apply, under the lock `apply_traced` holds and recorded in the last-run record it writes.
pub(crate) async fn apply(
    global: &Global,
    loaded: &Loaded,
    config: &GotoTargetConfig,
    options: &Flags<'_>,
    (run_id, record, page): (&str, &mut LastRun, &mut Option<PageTrace>),
) -> Result<ExitStatus, Error> {
    let run = Run {
        global,
        loaded,
        config,
        options,
        run_id,
    };
    run.go(record, page).await
}

struct Run<'a> {
    global: &'a Global,
    loaded: &'a Loaded,
    config: &'a GotoTargetConfig,
    options: &'a Flags<'a>,
    run_id: &'a str,
}

impl Run<'_> {
    async fn go(
        &self,
        record: &mut LastRun,
        page: &mut Option<PageTrace>,
    ) -> Result<ExitStatus, Error> {
        let (global, options) = (self.global, self.options);
        let target = super::target(self.loaded, self.config)?;
        let (plan, account) = match options.plan {
            Some(path) => saved(global, self.loaded, path, &target).await?,
            None => super::read_and_plan(self.loaded, &target).await?,
        };
        let trace = page.insert(PageTrace::planned(&plan, &account));
        if options.stop.is_some_and(|stop| stop.load(Ordering::SeqCst)) {
            output::note(
                global.quiet,
                "stopped before applying anything; the next run plans again",
            );
            return Ok(ExitStatus::Incomplete);
        }
        super::print_warnings(global, &plan);
        counts(record, &plan, &GotoReport::default());
        if !options.json && options.print_plan {
            output::stdout(&render::plan(&plan, &account, Paint::stdout(global)))?;
        }
        if plan.is_empty() {
            if options.json {
                output::stdout(&output::json(&self.document(&plan, &GotoReport::default())))?;
            }
            return Ok(ExitStatus::Success);
        }
        if self.refused(&plan)? {
            return Ok(ExitStatus::Refused);
        }
        confirm_unless_told(options, &plan)?;
        // Before the first write: a killed apply still knows which users it manages.
        super::add_managed(self.loaded, &plan.managed)?;
        let apply = ApplyOptions {
            concurrency: self.config.concurrency,
            stop: options.stop,
        };
        let applying = std::time::Instant::now();
        let report = execute(&target, &plan, &account, apply).await;
        trace.applied(&plan, &account, &report, applying.elapsed());
        audit(&self.loaded.state_dir(), self.run_id, &plan, &report)?;
        counts(record, &plan, &report);
        if options.json {
            output::stdout(&output::json(&self.document(&plan, &report)))?;
        } else if options.print_plan {
            output::stdout(&render::report(&report, Paint::stdout(global)))?;
        }
        Ok(if report.is_complete() {
            ExitStatus::Success
        } else {
            ExitStatus::Incomplete
        })
    }

    /// Refuses a plan the blast-radius guard blocks unless `--allow-destructive`; whether it did.
    fn refused(&self, plan: &GotoPlan) -> Result<bool, Error> {
        let Some(blocked) = &plan.blocked else {
            return Ok(false);
        };
        let allowed = if blocked.guard == EMPTY_GROUP {
            self.options.allow_empty_groups
        } else {
            self.options.allow_destructive
        };
        if allowed {
            return Ok(false);
        }
        let paint = Paint::stderr(self.global);
        output::note(
            false,
            &format!(
                "{} apply refused by a safety guard; nothing was applied:\n  - {}\n\n{} review \
                 the plan; if it is right, pass {}",
                paint.paint(Tone::Remove, "error:"),
                blocked.message,
                paint.paint(Tone::Hint, "hint:"),
                blocked.flag(),
            ),
        );
        if self.options.json {
            output::stdout(&output::json(&serde_json::json!({
                "format_version": output::FORMAT_VERSION,
                "run_id": self.run_id,
                "target": "goto",
                "outcome": "refused",
                "flags": blocked.flag(),
                "blocked": blocked,
            })))?;
        }
        Ok(true)
    }

    /// The `--json` document of an apply.
    fn document(&self, plan: &GotoPlan, report: &GotoReport) -> serde_json::Value {
        serde_json::json!({
            "format_version": output::FORMAT_VERSION,
            "run_id": self.run_id,
            "target": "goto",
            "outcome": if report.is_complete() { "success" } else { "incomplete" },
            "planned": plan.operations.len(),
            "counts": report.counts(),
            "failures": report.failures(),
            "shortages": report.shortages,
            "unresolved": plan.unresolved,
            "results": report.results,
        })
    }
}

/// A saved GoTo plan, checked whole ([`super::saved`]); the account is read fresh (operations
/// whose users changed since are skipped as drifted when applied).
async fn saved(
    global: &Global,
    loaded: &Loaded,
    path: &Path,
    target: &GotoTarget,
) -> Result<(GotoPlan, GotoSnapshot), Error> {
    let (plan, account) = super::saved::checked(loaded, path, target).await?;
    if account.account_key != plan.account_key {
        output::warning(
            global,
            &format!(
                "the plan was made against the goto account {}; this is {}",
                plan.account_key, account.account_key
            ),
        );
    }
    Ok((plan, account))
}

/// A fresh plan is applied only once confirmed, unless `--yes`; a saved plan was reviewed when
/// it was saved. Without a terminal to ask on, `--yes` is required.
fn confirm_unless_told(options: &Flags<'_>, plan: &GotoPlan) -> Result<(), Error> {
    if options.plan.is_some() || options.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::NeedsYes);
    }
    if !output::confirm(plan.operations.len())? {
        return Err(Error::Declined);
    }
    Ok(())
}

/// The plan's size and each status's count, zeros included.
fn counts(record: &mut LastRun, plan: &GotoPlan, report: &GotoReport) {
    record
        .counts
        .insert("planned".into(), plan.operations.len() as u64);
    let counts = report.counts();
    for status in ["applied", "failed", "skipped"] {
        let count = counts.get(status).copied().unwrap_or(0);
        record.counts.insert(status.into(), count);
    }
}

/// One audit line per operation, each written whole and flushed.
fn audit(
    state_dir: &Path,
    run_id: &str,
    plan: &GotoPlan,
    report: &GotoReport,
) -> Result<(), Error> {
    let path = state_dir.join(AUDIT_LOG);
    let write = |source| Error::Write {
        path: path.clone(),
        source,
    };
    let mut file = output::private_options()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(write)?;
    for result in &report.results {
        let operation = plan.operations.iter().find(|p| p.id == result.id);
        let line = serde_json::json!({
            "time": crate::clock::now(),
            "run_id": run_id,
            "target": "goto",
            "action": result.id,
            "kind": result.kind,
            "email": result.email,
            "operation": operation.map(|p| &p.operation),
            "outcome": result.status,
            "category": result.category,
            "message": result.message,
        });
        let mut text = line.to_string();
        text.push('\n');
        file.write_all(text.as_bytes())
            .and_then(|()| file.flush())
            .map_err(write)?;
    }
    Ok(())
}
