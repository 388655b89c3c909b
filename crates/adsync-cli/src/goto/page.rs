//! A GoTo cycle as the service page (`run --listen`) shows it: the plan's counts and text, the
//! guard, each kind's outcomes, and every failure with its category, so the page's banners
//! ("existing account", "out of licences") name the users as they do for Rescue.

use std::collections::BTreeMap;
use std::time::Duration;

use adsync_goto::execute::{GotoReport, Status};
use adsync_goto::planner::GotoPlan;
use adsync_goto::{GotoSnapshot, Operation};
use adsync_web::view::{ActionCount, ActionFailure, BlockedPlan, PlanView};

use super::render;
use crate::style::Paint;

/// What the page shows of one GoTo cycle.
#[derive(Debug)]
pub(crate) struct PageTrace {
    pub(crate) plan: PlanView,
    pub(crate) actions: Vec<ActionCount>,
    pub(crate) failures: Vec<ActionFailure>,
    pub(crate) apply_duration: Option<Duration>,
}

impl PageTrace {
    /// The plan, before anything is applied.
    pub(crate) fn planned(plan: &GotoPlan, account: &GotoSnapshot) -> PageTrace {
        let counts: Vec<(String, u64)> = plan
            .counts()
            .into_iter()
            .map(|(kind, count)| (kind.replace('_', " "), count))
            .collect();
        let summary = match plan.operations.len() {
            0 => "no changes".to_owned(),
            n => format!("{n} changes to the goto account {}", plan.account_key),
        };
        PageTrace {
            plan: PlanView {
                counts,
                summary,
                text: render::plan(plan, account, Paint::PLAIN),
                blocked: plan.blocked.as_ref().map(|blocked| BlockedPlan {
                    reason: blocked.message.clone(),
                    guards: vec![blocked.guard.clone()],
                    flags: vec![blocked.flag().to_owned()],
                }),
            },
            actions: Vec::new(),
            failures: Vec::new(),
            apply_duration: None,
        }
    }

    /// What applying it did.
    pub(crate) fn applied(
        &mut self,
        plan: &GotoPlan,
        account: &GotoSnapshot,
        report: &GotoReport,
        took: Duration,
    ) {
        let mut counts: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
        for result in &report.results {
            let outcome = match result.status {
                Status::Applied => "applied",
                Status::Failed => "failed",
                Status::Skipped => "skipped",
            };
            *counts.entry((result.kind.clone(), outcome)).or_default() += 1;
        }
        self.actions = counts
            .into_iter()
            .map(|((kind, outcome), count)| ActionCount {
                kind,
                outcome: outcome.to_owned(),
                count,
            })
            .collect();
        let operation = |id: u32| -> Option<&Operation> {
            plan.operations
                .iter()
                .find(|p| p.id == id)
                .map(|p| &p.operation)
        };
        self.failures = report
            .results
            .iter()
            .filter(|result| result.status == Status::Failed)
            .map(|result| ActionFailure {
                category: result
                    .category
                    .unwrap_or(adsync_core::adapter::FailureCategory::Unknown),
                email: Some(result.email.clone()),
                action_id: result.id.to_string(),
                kind: result.kind.clone(),
                action: operation(result.id)
                    .map(|op| render::operation_text(op, account))
                    .unwrap_or_default(),
                code: None,
                message: result.message.clone().unwrap_or_default(),
            })
            .collect();
        self.apply_duration = Some(took);
    }
}
