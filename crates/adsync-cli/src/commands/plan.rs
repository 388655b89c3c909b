//! `adsync plan`: read both sides, compute the plan, print it.

use adsync_core::desired::desired;
use adsync_core::plan::{CurrentState, Plan, Policy, plan};
use adsync_core::scope::detail_request;
use adsync_web::view::ReadFacts;

use crate::cli::{Global, PlanArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::{self, Loaded};
use crate::output;
use crate::render;

pub(crate) async fn run(global: &Global, args: &PlanArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let target = crate::wiring::target(&loaded)?;
    let plan = make_plan(global, args.json, &loaded, target.as_target()).await?;
    if let Some(out) = &args.out {
        output::write_atomic(out, output::json(&plan).as_bytes())?;
    }
    for warning in &plan.warnings {
        output::note(global.quiet, &format!("warning: {}", warning.message));
    }
    if args.json {
        output::stdout(&output::json(&plan))?;
    } else {
        output::stdout(&render::plan_human(&plan))?;
    }
    if plan.blocked.is_some() {
        output::note(
            global.quiet,
            "warning: this plan is blocked by a safety guard; `adsync apply` would refuse it",
        );
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// Reads the directory, then Rescue, and plans. Any failed read means no plan.
pub(crate) async fn make_plan(
    global: &Global,
    json: bool,
    loaded: &Loaded,
    target: &dyn adsync_core::adapter::Target,
) -> Result<Plan, Error> {
    make_plan_read(global, json, loaded, target, &mut None).await
}

/// [`make_plan`], also telling `read` what both reads found and how long they took.
pub(crate) async fn make_plan_read(
    global: &Global,
    json: bool,
    loaded: &Loaded,
    target: &dyn adsync_core::adapter::Target,
    read: &mut Option<ReadFacts>,
) -> Result<Plan, Error> {
    let started = std::time::Instant::now();
    let source = crate::wiring::source(loaded)?;
    let spinner = crate::progress::spinner(global, json, "reading Entra groups");
    let directory = source
        .snapshot(&loaded.source_request())
        .await
        .map_err(Error::SourceRead);
    if let Some(spinner) = &spinner {
        spinner.finish_and_clear();
    }
    let directory = directory?;
    let (directory_users, directory_groups) =
        (directory.users.len() as u64, directory.groups.len() as u64);
    let desired = desired(&directory, &loaded.config).map_err(Error::Plan)?;
    drop(directory);
    let links = load::read_links(loaded)?;
    let details = detail_request(&loaded.config, &desired, &links);
    let spinner = crate::progress::spinner(global, json, "reading the Rescue organization");
    let rescue = target.snapshot(&details).await.map_err(Error::TargetRead);
    if let Some(spinner) = &spinner {
        spinner.finish_and_clear();
    }
    let rescue = rescue?;
    *read = Some(ReadFacts {
        directory_users,
        directory_groups,
        rescue_users: rescue
            .nodes
            .iter()
            .filter(|node| node.node_type.user_role().is_some())
            .count() as u64,
        duration: started.elapsed(),
    });
    let current = CurrentState { rescue, links };
    plan(&desired, &current, &Policy::from_config(&loaded.config)).map_err(Error::Plan)
}
