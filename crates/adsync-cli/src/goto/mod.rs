//! The commands for a GoTo account target (`target: { type: goto }`): `plan`, `apply`, `run`,
//! `dry-run` and `tree` dispatch here when the configuration names one. The directory half and
//! the planner rules live in adsync-core and adsync-goto; this module reads, wires, records and
//! prints, as the Rescue commands do, with the same lock, audit log, last-run record, guards
//! and exit codes.
//!
//! The state directory keeps one more file, `goto-managed.json`: the e-mails adsync manages in
//! the account. Only those are ever suspended; it is written before an apply starts, so a killed
//! apply still knows what it manages.

mod apply;
mod explain;
mod page;
mod render;
mod saved;
mod tree;
mod workbook;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use adsync_core::config::TargetConfig;
use adsync_core::goto::{GotoDesired, GotoTargetConfig, goto_desired};
use adsync_goto::planner::{GotoPlan, PlanInput, plan};
use adsync_goto::{GotoSettings, GotoSnapshot, GotoTarget, Key, TokenFile};

use crate::cli::{Global, PlanArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::{self, Loaded};
use crate::output;
use crate::style::Paint;

pub(crate) use apply::{Flags, apply};
pub(crate) use explain::explain;
pub(crate) use page::PageTrace;
pub(crate) use tree::tree;
pub(crate) use workbook::{dry_run, dry_run_cycle};

/// The file in the state directory that lists the e-mails adsync manages in the account.
const MANAGED_FILE: &str = "goto-managed.json";

/// The GoTo target settings, when the configuration names a GoTo account.
pub(crate) fn target_config(loaded: &Loaded) -> Option<&GotoTargetConfig> {
    match &loaded.config.target {
        TargetConfig::Goto(goto) => Some(goto),
        _ => None,
    }
}

/// The GoTo target, with its client secret resolved and its token file named.
pub(crate) fn target(loaded: &Loaded, config: &GotoTargetConfig) -> Result<GotoTarget, Error> {
    let secret = load::secret(loaded, &config.client_secret, "target.client_secret")?;
    let store = Arc::new(TokenFile::new(loaded.resolve(&config.token_file)));
    let mut settings = GotoSettings::new(config.client_id.trim(), secret, store);
    if let Some(url) = &config.admin_url {
        settings.admin_url = url.clone();
    }
    if let Some(url) = &config.token_url {
        settings.client.token_url = url.clone();
    }
    settings.account_key = config.account_key.as_deref().and_then(Key::new);
    settings.suppress_email = config.suppress_email;
    settings.concurrency = config.concurrency;
    let retry = &config.retry;
    let policy = &mut settings.retry;
    let set = |slot: &mut Duration, value: Option<u64>, unit: fn(u64) -> Duration| {
        if let Some(value) = value {
            *slot = unit(value);
        }
    };
    if let Some(attempts) = retry.max_attempts {
        policy.max_attempts = attempts;
    }
    set(
        &mut policy.base_delay,
        retry.initial_backoff_ms,
        Duration::from_millis,
    );
    set(
        &mut policy.max_delay,
        retry.max_backoff_ms,
        Duration::from_millis,
    );
    set(
        &mut policy.max_elapsed,
        retry.max_elapsed_s,
        Duration::from_secs,
    );
    set(
        &mut policy.timeout,
        retry.request_timeout_s,
        Duration::from_secs,
    );
    GotoTarget::new(settings)
        .map_err(|error| Error::Setup(format!("cannot set up the goto target: {error}")))
}

/// Reads the whole account; a failed read is an error, never an empty account.
pub(crate) async fn read_account(target: &GotoTarget) -> Result<GotoSnapshot, Error> {
    target.snapshot().await.map_err(Error::TargetRead)
}

/// The e-mails adsync manages (none before the first apply).
pub(crate) fn read_managed(loaded: &Loaded) -> Result<BTreeSet<String>, Error> {
    let path = managed_path(loaded);
    if !path.exists() {
        return Ok(BTreeSet::new());
    }
    load::read_data(&path)
}

/// Adds `more` to the managed e-mails, atomically.
pub(crate) fn add_managed(loaded: &Loaded, more: &BTreeSet<String>) -> Result<(), Error> {
    let mut managed = read_managed(loaded)?;
    let before = managed.len();
    managed.extend(more.iter().cloned());
    if managed.len() == before && managed_path(loaded).exists() {
        return Ok(());
    }
    output::create_private_dir(&loaded.state_dir())?;
    output::write_atomic(&managed_path(loaded), output::json(&managed).as_bytes())
}

fn managed_path(loaded: &Loaded) -> PathBuf {
    loaded.state_dir().join(MANAGED_FILE)
}

/// Reads the directory, then the account, and plans. Any failed read means no plan.
pub(crate) async fn read_and_plan(
    loaded: &Loaded,
    target: &GotoTarget,
) -> Result<(GotoPlan, GotoSnapshot), Error> {
    let (plan, account, _) = read_all(loaded, target).await?;
    Ok((plan, account))
}

/// [`read_and_plan`], keeping what the directory wants.
pub(crate) async fn read_all(
    loaded: &Loaded,
    target: &GotoTarget,
) -> Result<(GotoPlan, GotoSnapshot, GotoDesired), Error> {
    let (wanted, account, managed) = read_sides(loaded, target).await?;
    let plan = plan(
        &wanted,
        &account,
        &loaded.config,
        &PlanInput { managed: &managed },
    );
    Ok((plan, account, wanted))
}

/// Reads the directory (what it wants), the account and the managed e-mails.
pub(crate) async fn read_sides(
    loaded: &Loaded,
    target: &GotoTarget,
) -> Result<(GotoDesired, GotoSnapshot, BTreeSet<String>), Error> {
    let source = crate::wiring::source(loaded)?;
    // Bounded by `sync.read_budget_s`, as every directory read is.
    let budget = Duration::from_secs(loaded.config.sync.read_budget_s);
    let directory = tokio::time::timeout(budget, source.snapshot(&loaded.source_request()))
        .await
        .unwrap_or_else(|_| Err(over_budget(budget)))
        .map_err(Error::SourceRead)?;
    let wanted = goto_desired(&directory, &loaded.config).map_err(Error::Plan)?;
    drop(directory);
    let account = read_account(target).await?;
    let managed = read_managed(loaded)?;
    Ok((wanted, account, managed))
}

/// The failed read of a directory that took longer than `budget`: nothing is planned from it.
fn over_budget(budget: Duration) -> adsync_core::adapter::AdapterError {
    adsync_core::adapter::AdapterError::new(
        adsync_core::adapter::AdapterErrorKind::Transport,
        format!(
            "reading the directory took longer than its budget of {}s (sync.read_budget_s)",
            budget.as_secs()
        ),
    )
}

/// `adsync plan` for a GoTo account.
pub(crate) async fn plan_command(
    global: &Global,
    args: &PlanArgs,
    loaded: &Loaded,
    config: &GotoTargetConfig,
) -> Result<ExitStatus, Error> {
    let target = target(loaded, config)?;
    let (plan, account) = read_and_plan(loaded, &target).await?;
    if let Some(out) = &args.out {
        let sealed = crate::saved::sealed(loaded, &plan)?;
        output::write_atomic(out, output::json(&sealed).as_bytes())?;
    }
    print_warnings(global, &plan);
    if args.json {
        output::stdout(&output::json(&plan))?;
    } else {
        output::stdout(&render::plan(&plan, &account, Paint::stdout(global)))?;
    }
    if plan.blocked.is_some() {
        output::warning(
            global,
            "this plan is blocked by a safety guard; `adsync apply` would refuse it",
        );
    }
    if let Some(out) = &args.out {
        let shown = out.display();
        output::note(
            global.quiet,
            &format!("Saved the plan to {shown}; apply it with `adsync apply {shown}`"),
        );
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// The plan's warnings, on stderr.
fn print_warnings(global: &Global, plan: &GotoPlan) {
    for warning in &plan.warnings {
        output::warning(global, &crate::render::warning_text(warning));
    }
}
