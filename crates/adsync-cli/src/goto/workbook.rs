//! `adsync dry-run` for a GoTo account: the plan as a workbook (Summary, Changes, Out of
//! licences, Not in account, Warnings), in the row model and writer of the Rescue workbook, with
//! the same colours per kind of change.

use std::path::PathBuf;
use std::time::SystemTime;

use adsync_core::goto::GotoTargetConfig;
use adsync_core::plan::ActionKind;
use adsync_goto::planner::{GotoPlan, kind_name};
use adsync_goto::{GotoSnapshot, Operation};

use super::page::PageTrace;
use super::render;
use crate::cli::{DryRunArgs, Global};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::Loaded;
use crate::output;
use crate::sheet::{Cell, Mark, Sheet};
use crate::style::Paint;

/// `adsync dry-run` with a GoTo target: plans (or reads a saved plan), writes the workbook,
/// prints the plan.
pub(crate) async fn dry_run(
    global: &Global,
    args: &DryRunArgs,
    loaded: &Loaded,
    config: &GotoTargetConfig,
) -> Result<ExitStatus, Error> {
    let target = super::target(loaded, config)?;
    let (plan, account) = match &args.plan {
        Some(path) => super::saved::checked(loaded, path, &target).await?,
        None => super::read_and_plan(loaded, &target).await?,
    };
    let now = SystemTime::now();
    let path = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "adsync-dry-run-{}.xlsx",
            crate::clock::compact(now)
        ))
    });
    let generated = crate::clock::format_time(now);
    crate::workbook::write_sheets(sheets(&plan, &account, &generated), &path)?;
    super::print_warnings(global, &plan);
    output::stdout(&render::plan(&plan, &account, Paint::stdout(global)))?;
    output::note(global.quiet, &format!("wrote {}", path.display()));
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// A `run --dry-run` cycle (under the lock the cycle holds): plans, writes the workbook to the
/// path given, keeps the plan for the service page; how many operations the plan holds.
pub(crate) async fn dry_run_cycle(
    global: &Global,
    loaded: &Loaded,
    config: &GotoTargetConfig,
    (path, page): (PathBuf, &mut Option<PageTrace>),
) -> Result<usize, Error> {
    let target = super::target(loaded, config)?;
    let (plan, account) = super::read_and_plan(loaded, &target).await?;
    *page = Some(PageTrace::planned(&plan, &account));
    let generated = crate::clock::now();
    crate::workbook::write_sheets(sheets(&plan, &account, &generated), &path)?;
    super::print_warnings(global, &plan);
    if global.verbose > 0 {
        output::stdout(&render::plan(&plan, &account, Paint::stdout(global)))?;
    }
    output::note(global.quiet, &format!("wrote {}", path.display()));
    Ok(plan.operations.len())
}

/// The workbook's sheets.
pub(crate) fn sheets(plan: &GotoPlan, account: &GotoSnapshot, generated: &str) -> Vec<Sheet> {
    vec![
        summary(plan, generated),
        changes(plan, account),
        shortages(plan),
        unresolved(plan),
        warnings(plan),
    ]
}

/// The colour of a kind of GoTo change: the Rescue kind it is closest to.
fn mark(operation: &Operation) -> Mark {
    Mark::Kind(match operation {
        Operation::CreateUser { .. } => ActionKind::CreateUser,
        Operation::SetLicences { .. } => ActionKind::SetMobileLicense,
        Operation::SetRole { .. } => ActionKind::UpdateUser,
        Operation::MoveToGroup { .. } => ActionKind::MoveUser,
        Operation::Suspend { .. } => ActionKind::DisableUser,
    })
}

fn summary(plan: &GotoPlan, generated: &str) -> Sheet {
    let mut sheet = Sheet::new("Summary", &["item", "value"], false);
    let verdict = match &plan.blocked {
        None => "ok: apply would run this plan".to_owned(),
        Some(blocked) => format!("blocked: {}", blocked.message),
    };
    for (item, value) in [
        ("generated", generated.to_owned()),
        ("target", "GoTo account".to_owned()),
        ("account", plan.account_key.to_string()),
        ("config digest", plan.config_digest.clone()),
        ("plan format", plan.format_version.clone()),
        ("verdict", verdict),
    ] {
        sheet.push(vec![Cell::text(item), Cell::text(value)], None);
    }
    for (kind, count) in plan.counts() {
        let item = format!("{}: changes", kind.replace('_', " "));
        sheet.push(vec![Cell::text(item), Cell::number(count)], None);
    }
    let left_out: usize = plan.shortages.values().map(|s| s.users.len()).sum();
    sheet.push(
        vec![
            Cell::text("out_of_licenses: users"),
            Cell::number(left_out as u64),
        ],
        None,
    );
    sheet
}

fn changes(plan: &GotoPlan, account: &GotoSnapshot) -> Sheet {
    let mut sheet = Sheet::new("Changes", &["id", "kind", "user", "rule", "change"], true);
    for planned in &plan.operations {
        let line = render::operation_text(&planned.operation, account);
        sheet.push(
            vec![
                Cell::number(u64::from(planned.id)),
                Cell::text(kind_name(&planned.operation)),
                Cell::text(planned.operation.email()),
                Cell::text(planned.rule.clone().unwrap_or_default()),
                Cell::text(line),
            ],
            Some(mark(&planned.operation)),
        );
    }
    sheet
}

fn shortages(plan: &GotoPlan) -> Sheet {
    let header = ["category", "licence", "products", "free", "wanted", "user"];
    let mut sheet = Sheet::new("Out of licences", &header, true);
    for (key, short) in &plan.shortages {
        let products: Vec<&str> = short.products.iter().map(|p| p.as_str()).collect();
        for user in &short.users {
            sheet.push(
                vec![
                    Cell::text("out_of_licenses"),
                    Cell::text(key.as_str()),
                    Cell::text(products.join(", ")),
                    Cell::number(short.free),
                    Cell::number(short.wanted),
                    Cell::text(user.as_str()),
                ],
                None,
            );
        }
    }
    sheet
}

fn unresolved(plan: &GotoPlan) -> Sheet {
    let mut sheet = Sheet::new("Not in account", &["user", "rule", "problem"], true);
    for item in &plan.unresolved {
        sheet.push(
            vec![
                Cell::text(item.email.as_str()),
                Cell::text(item.rule.as_str()),
                Cell::text(item.message.as_str()),
            ],
            None,
        );
    }
    sheet
}

fn warnings(plan: &GotoPlan) -> Sheet {
    let mut sheet = Sheet::new("Warnings", &["kind", "user", "warning"], true);
    for warning in &plan.warnings {
        let kind = serde_json::to_value(warning.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let email = warning.email.as_ref().map(|e| e.as_str().to_owned());
        sheet.push(
            vec![
                Cell::text(kind),
                Cell::text(email.unwrap_or_default()),
                Cell::text(warning.message.as_str()),
            ],
            None,
        );
    }
    sheet
}
