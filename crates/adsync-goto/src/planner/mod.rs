//! The GoTo planner: from what the directory wants ([`GotoDesired`], core's directory half read
//! through `goto.rules`) and a whole account ([`GotoSnapshot`]) to a [`GotoPlan`], an ordered
//! list of [`Operation`]s. `plan()` is pure and deterministic.
//!
//! The rules, each a small function: `resolve` turns product codes and user-group names into the
//! account's keys (`licences_for`, `role_for`, `group_for`); `rules` decides per person (create,
//! set licences, set role, move, suspend; protected and held e-mails untouched); `guard` holds
//! the blast-radius budget; [`order`] puts releases first and the rest in priority order, which
//! is the order the licence pre-flight fills seats in.
//!
//! Suspending is removing every licence. No operation deletes a user.

mod guard;
mod resolve;
mod rules;
mod verify;

use std::collections::{BTreeMap, BTreeSet};

use adsync_core::config::Config;
use adsync_core::goto::GotoDesired;
use adsync_core::plan::Warning;
use serde::{Deserialize, Serialize};

use crate::model::{GotoSnapshot, Key, Operation, normalize_email};
use crate::preflight::{Shortage, preflight};

pub use guard::{Blocked, EMPTY_GROUP};
pub use verify::{Sides, verify};

/// The plan format's version.
pub const FORMAT_VERSION: &str = "1.0";

/// One operation of a plan, with its id and the rule it serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    /// Unique within the plan, in order.
    pub id: u32,
    /// The winning rule of the user (none for a suspension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What to do.
    pub operation: Operation,
}

/// Something a rule asks for that the account cannot give (a product no licence grants, a user
/// group that does not exist); the rest of the user's plan goes ahead.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unresolved {
    /// The user.
    pub email: String,
    /// The rule that asked.
    pub rule: String,
    /// What is missing, for the operator.
    pub message: String,
}

/// A GoTo plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GotoPlan {
    /// [`FORMAT_VERSION`].
    pub format_version: String,
    /// Always `goto`: tells a GoTo plan from a Rescue one.
    pub target: String,
    /// Digest of the configuration the plan was made from.
    pub config_digest: String,
    /// The account.
    pub account_key: Key,
    /// The operations, in the order they are applied.
    pub operations: Vec<Planned>,
    /// What rules asked for that the account cannot give.
    #[serde(default)]
    pub unresolved: Vec<Unresolved>,
    /// Licences the plan asks more seats of than are free: the users left out, per licence.
    #[serde(default)]
    pub shortages: BTreeMap<Key, Shortage>,
    /// Non-fatal problems.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// A safety guard the plan trips; apply refuses it unless told otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<Blocked>,
    /// The e-mails adsync manages after this plan is applied (the state directory keeps them).
    #[serde(default)]
    pub managed: BTreeSet<String>,
    /// The seal of a saved plan: `sha256:` and the digest of its canonical JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// With `sync.plan_signing_key`: `hmac-sha256:` and the HMAC of the same bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl GotoPlan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// Operations per kind (`create_user`, `suspend`, ...).
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        let mut counts = BTreeMap::new();
        for planned in &self.operations {
            *counts.entry(kind_name(&planned.operation)).or_insert(0) += 1;
        }
        counts
    }
}

/// The wire name of an operation's kind.
pub fn kind_name(operation: &Operation) -> &'static str {
    match operation {
        Operation::CreateUser { .. } => "create_user",
        Operation::SetLicences { .. } => "set_licences",
        Operation::SetRole { .. } => "set_role",
        Operation::MoveToGroup { .. } => "move_to_group",
        Operation::Suspend { .. } => "suspend",
    }
}

/// What the planner needs besides the two sides.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// The e-mails adsync managed after its last apply (`goto-managed.json`).
    pub managed: &'a BTreeSet<String>,
}

/// Plans `account` towards `wanted`.
pub fn plan(
    wanted: &GotoDesired,
    account: &GotoSnapshot,
    config: &Config,
    input: &PlanInput<'_>,
) -> GotoPlan {
    let protected: BTreeSet<String> = config
        .sync
        .protected
        .iter()
        .map(|email| normalize_email(email))
        .collect();
    let mut decided = rules::decide(wanted, account, &protected, input.managed);
    let operations = order(wanted, decided.operations);
    let check: Vec<Operation> = operations.iter().map(|(_, op)| op.clone()).collect();
    let shortages = preflight(account, &check).shortages;
    let operations: Vec<Planned> = operations
        .into_iter()
        .zip(1..)
        .map(|((rule, operation), id)| Planned {
            id,
            rule,
            operation,
        })
        .collect();
    let blocked = guard::blocked(&operations, wanted, account, input.managed, config);
    decided.warnings.extend(wanted.warnings.iter().cloned());
    decided.warnings.sort();
    decided.unresolved.sort();
    GotoPlan {
        format_version: FORMAT_VERSION.to_owned(),
        target: "goto".to_owned(),
        config_digest: wanted.config_digest.clone(),
        account_key: account.account_key.clone(),
        operations,
        unresolved: decided.unresolved,
        shortages,
        warnings: decided.warnings,
        blocked,
        managed: decided.managed,
        digest: None,
        signature: None,
    }
}

/// Plan order: operations that only release seats (suspensions, licences removed) first, so the
/// seats they free are there for the rest; then the rest by winning rule (priority), e-mail and
/// kind. The licence pre-flight fills free seats in this order.
pub fn order(
    wanted: &GotoDesired,
    operations: Vec<(Option<usize>, Operation)>,
) -> Vec<(Option<String>, Operation)> {
    let mut keyed: Vec<_> = operations
        .into_iter()
        .map(|(rule, operation)| {
            let releases = operation.licences_added().is_empty()
                && matches!(
                    operation,
                    Operation::Suspend { .. } | Operation::SetLicences { .. }
                );
            let sort = (
                !releases,
                rule.unwrap_or(usize::MAX),
                operation.email().to_owned(),
                kind_rank(&operation),
            );
            (sort, rule, operation)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed
        .into_iter()
        .map(|(_, rule, operation)| {
            let name = rule.and_then(|index| wanted.rules.get(index).cloned());
            (name, operation)
        })
        .collect()
}

fn kind_rank(operation: &Operation) -> u8 {
    match operation {
        Operation::Suspend { .. } => 0,
        Operation::CreateUser { .. } => 1,
        Operation::SetLicences { .. } => 2,
        Operation::SetRole { .. } => 3,
        Operation::MoveToGroup { .. } => 4,
    }
}
