//! `adsync dry-run`: the plan as an Excel workbook, for review by people who do not read JSON.

use std::path::PathBuf;
use std::time::SystemTime;

use adsync_core::plan::CurrentState;
use adsync_core::scope::detail_request_for_plan;

use crate::cli::{DryRunArgs, Global};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load;
use crate::output;
use crate::render;
use crate::style::Paint;
use crate::workbook;

pub(crate) async fn run(global: &Global, args: &DryRunArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    if let Some(goto) = crate::goto::target_config(&loaded) {
        return crate::goto::dry_run(global, args, &loaded, goto).await;
    }
    let target = crate::wiring::target(&loaded)?;
    let (plan, rescue, links) = match &args.plan {
        // The report is the same object as what `apply plan.json` runs; Rescue is read for the
        // Tree sheet, as apply reads it to check the plan.
        // The saved plan is checked as `apply` checks it, so the report never shows a file that
        // apply would refuse.
        Some(path) => {
            let mut plan = crate::saved::open(&loaded, path)?;
            let rescue = target
                .as_target()
                .snapshot(&detail_request_for_plan(&plan))
                .await
                .map_err(Error::TargetRead)?;
            let current = CurrentState {
                rescue,
                links: load::read_links(&loaded)?,
            };
            plan.blocked = crate::saved::check(&loaded, path, &plan, &current)?.1;
            (plan, current.rescue, current.links)
        }
        None => {
            let planned = super::plan::read_and_plan(
                global,
                false,
                &loaded,
                target.as_target(),
                false,
                &mut None,
            )
            .await?;
            (planned.plan, planned.current.rescue, planned.current.links)
        }
    };
    let now = SystemTime::now();
    let path = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "adsync-dry-run-{}.xlsx",
            crate::clock::compact(now)
        ))
    });
    let context = workbook::Context {
        generated: &crate::clock::format_time(now),
        config: &loaded.path.display().to_string(),
        rescue: Some(&rescue),
        links: Some(&links),
    };
    workbook::write(&plan, &context, &path)?;
    super::plan::print_warnings(global, &plan);
    output::stdout(&render::plan_human(
        &plan,
        Paint::stdout(global),
        &render::Listing::default(),
    ))?;
    output::note(global.quiet, &format!("wrote {}", path.display()));
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
