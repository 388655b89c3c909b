//! `adsync dry-run`: the plan as an Excel workbook, for review by people who do not read JSON.

use std::path::PathBuf;
use std::time::SystemTime;

use adsync_core::plan::Plan;

use crate::cli::{DryRunArgs, Global};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load;
use crate::output;
use crate::render;
use crate::workbook;

pub(crate) async fn run(global: &Global, args: &DryRunArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let plan: Plan = match &args.plan {
        // The report is the same object as what `apply plan.json` runs.
        Some(path) => load::read_data(path)?,
        None => {
            let target = crate::wiring::target(&loaded)?;
            super::plan::make_plan(global, false, &loaded, target.as_target()).await?
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
    };
    workbook::write(&plan, &context, &path)?;
    for warning in &plan.warnings {
        output::note(global.quiet, &format!("warning: {}", warning.message));
    }
    output::stdout(&render::plan_human(&plan))?;
    output::note(global.quiet, &format!("wrote {}", path.display()));
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
