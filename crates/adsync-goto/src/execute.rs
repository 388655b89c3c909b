//! Applying a [`GotoPlan`]: drift against the account as it is now, the licence pre-flight,
//! then the operations — releases first, the rest in plan (priority) order — with bounded
//! concurrency. Every operation ends applied, failed (with core's failure category, so
//! "existing account" and "out of licences" are reported per category with their users) or
//! skipped (drifted, stopped). Nothing is retried blindly and nothing deletes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use adsync_core::adapter::{AdapterError, FailureCategory};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::GotoTarget;
use crate::model::{GotoSnapshot, GotoUser, Key, Operation};
use crate::planner::{GotoPlan, Planned, kind_name};
use crate::preflight::{Shortage, preflight};

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Done.
    Applied,
    /// Tried, or left out by the licence pre-flight, and refused.
    Failed,
    /// Not tried: the account changed since the plan, or the run was asked to stop.
    Skipped,
}

/// One operation's end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationResult {
    /// The operation's id in the plan.
    pub id: u32,
    /// Its kind (`create_user`, `suspend`, ...).
    pub kind: String,
    /// The user.
    pub email: String,
    /// How it ended.
    pub status: Status,
    /// Why it failed, as a category the report and the service page group by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<FailureCategory>,
    /// What happened, for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The key of a user a create made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Key>,
}

/// What applying a plan did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GotoReport {
    /// Every operation's end, by id.
    pub results: Vec<OperationResult>,
    /// Licences short of seats at apply time, with the users left out.
    pub shortages: BTreeMap<Key, Shortage>,
}

impl GotoReport {
    /// Whether every operation was applied.
    pub fn is_complete(&self) -> bool {
        self.results.iter().all(|r| r.status == Status::Applied)
    }

    /// Operations per status (`applied`, `failed`, `skipped`).
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        let mut counts = BTreeMap::new();
        for result in &self.results {
            let name = match result.status {
                Status::Applied => "applied",
                Status::Failed => "failed",
                Status::Skipped => "skipped",
            };
            *counts.entry(name).or_insert(0) += 1;
        }
        counts
    }

    /// The users of failed operations, per failure category.
    pub fn failures(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut failures: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for result in &self.results {
            if let (Status::Failed, Some(category)) = (result.status, result.category) {
                failures
                    .entry(category.as_str().to_owned())
                    .or_default()
                    .insert(result.email.clone());
            }
        }
        failures
    }
}

/// How an apply goes.
#[derive(Clone, Copy, Debug)]
pub struct ApplyOptions<'a> {
    /// Operations in flight at once (at least 1).
    pub concurrency: usize,
    /// Set when the process is asked to stop: operations not yet started are skipped.
    pub stop: Option<&'a AtomicBool>,
}

/// Applies `plan` to the account `current` was just read from.
pub async fn execute(
    target: &GotoTarget,
    plan: &GotoPlan,
    current: &GotoSnapshot,
    options: ApplyOptions<'_>,
) -> GotoReport {
    let mut report = GotoReport::default();
    let mut ready: Vec<&Planned> = Vec::new();
    let users = by_key(current);
    for planned in &plan.operations {
        match drift_in(&planned.operation, current, &users) {
            Some(reason) => report.results.push(ended(
                planned,
                Status::Skipped,
                None,
                format!("drifted: {reason}; plan again"),
            )),
            None => ready.push(planned),
        }
    }
    let operations: Vec<Operation> = ready.iter().map(|p| p.operation.clone()).collect();
    let verdict = preflight(current, &operations);
    for &index in &verdict.left_out {
        let planned = ready[index];
        let short = shortage_text(&planned.operation, &verdict.shortages);
        report.results.push(ended(
            planned,
            Status::Failed,
            Some(FailureCategory::OutOfLicenses),
            short,
        ));
    }
    report.shortages = verdict.shortages;
    let fits: Vec<&Planned> = verdict.fits.iter().map(|&i| ready[i]).collect();
    let (releases, rest): (Vec<&Planned>, Vec<&Planned>) =
        fits.into_iter().partition(|p| releases_only(&p.operation));
    for phase in [releases, rest] {
        let results = futures::stream::iter(phase)
            .map(|planned| run_one(target, planned, options.stop))
            .buffer_unordered(options.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        report.results.extend(results);
    }
    report.results.sort_by_key(|r| r.id);
    report
}

async fn run_one(
    target: &GotoTarget,
    planned: &Planned,
    stop: Option<&AtomicBool>,
) -> OperationResult {
    if stop.is_some_and(|stop| stop.load(Ordering::SeqCst)) {
        return ended(
            planned,
            Status::Skipped,
            None,
            "not started: adsync was asked to stop".to_owned(),
        );
    }
    match target.apply(&planned.operation).await {
        Ok(outcome) => OperationResult {
            created: outcome.created,
            ..ended(planned, Status::Applied, None, String::new())
        },
        Err(error) => failed(planned, &error),
    }
}

fn failed(planned: &Planned, error: &AdapterError) -> OperationResult {
    let mut message = error.to_string();
    if let Some(hint) = &error.hint {
        message = format!("{message}; {hint}");
    }
    ended(planned, Status::Failed, Some(error.category()), message)
}

fn ended(
    planned: &Planned,
    status: Status,
    category: Option<FailureCategory>,
    message: String,
) -> OperationResult {
    OperationResult {
        id: planned.id,
        kind: kind_name(&planned.operation).to_owned(),
        email: planned.operation.email().to_owned(),
        status,
        category,
        message: (!message.is_empty()).then_some(message),
        created: None,
    }
}

/// Whether an operation only gives seats back (applied first, so others can use them).
fn releases_only(operation: &Operation) -> bool {
    matches!(
        operation,
        Operation::Suspend { .. } | Operation::SetLicences { .. }
    ) && operation.licences_added().is_empty()
}

fn shortage_text(operation: &Operation, shortages: &BTreeMap<Key, Shortage>) -> String {
    let parts: Vec<String> = operation
        .licences_added()
        .iter()
        .filter_map(|key| {
            let short = shortages.get(key)?;
            short.users.iter().any(|u| u == operation.email()).then(|| {
                let products: Vec<&str> = short.products.iter().map(|p| p.as_str()).collect();
                format!(
                    "licence {key} ({}) has {} free seat(s) and the plan wants {}",
                    products.join(", "),
                    short.free,
                    short.wanted
                )
            })
        })
        .collect();
    format!("out of licences: {}", parts.join("; "))
}

/// Why `operation` no longer fits the account, if it does not: the values it expects to
/// replace are not the account's any more.
pub fn drift(operation: &Operation, current: &GotoSnapshot) -> Option<String> {
    drift_in(operation, current, &by_key(current))
}

fn by_key(account: &GotoSnapshot) -> BTreeMap<&Key, &GotoUser> {
    account.users.iter().map(|user| (&user.key, user)).collect()
}

fn drift_in(
    operation: &Operation,
    current: &GotoSnapshot,
    users: &BTreeMap<&Key, &GotoUser>,
) -> Option<String> {
    let user = |key: &Key| users.get(key).copied();
    let gone = || Some("the user is no longer in the account".to_owned());
    match operation {
        Operation::CreateUser { email, .. } => current
            .user_by_email(email)
            .map(|_| "the user is in the account now".to_owned()),
        Operation::SetLicences {
            user: key, before, ..
        }
        | Operation::Suspend {
            user: key, before, ..
        } => match user(key) {
            None => gone(),
            Some(u) if &u.licences != before => Some("its licences changed".to_owned()),
            Some(_) => None,
        },
        Operation::SetRole {
            user: key, before, ..
        } => match user(key) {
            None => gone(),
            Some(u) if &u.role != before => Some("its admin role changed".to_owned()),
            Some(_) => None,
        },
        Operation::MoveToGroup {
            user: key, from, ..
        } => match user(key) {
            None => gone(),
            Some(u) if &u.group != from => Some("its user group changed".to_owned()),
            Some(_) => None,
        },
    }
}
