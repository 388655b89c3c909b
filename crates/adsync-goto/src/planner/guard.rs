//! The blast-radius budget (SPEC §6) for a GoTo plan: more suspensions than
//! `sync.safety.max_disables`, or more user-group moves than `sync.safety.max_moves`, of the
//! managed users holding licences, blocks the plan until an operator allows it.

use std::collections::BTreeSet;

use adsync_core::config::SafetyConfig;
use serde::{Deserialize, Serialize};

use super::Planned;
use crate::model::{GotoSnapshot, Operation};

/// A guard the plan trips.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// `max_disables` or `max_moves`.
    pub guard: String,
    /// How many the plan holds.
    pub count: u64,
    /// How many the budget allows.
    pub allowed: u64,
    /// A sentence for the operator.
    pub message: String,
}

/// The first guard the plan trips, if any.
pub(super) fn blast_radius(
    operations: &[Planned],
    account: &GotoSnapshot,
    managed: &BTreeSet<String>,
    safety: &SafetyConfig,
) -> Option<Blocked> {
    let base = account
        .users
        .iter()
        .filter(|user| managed.contains(&user.email) && !user.licences.is_empty())
        .count() as u64;
    let count = |wanted: fn(&Operation) -> bool| {
        operations
            .iter()
            .filter(|planned| wanted(&planned.operation))
            .count() as u64
    };
    let suspensions = count(|op| matches!(op, Operation::Suspend { .. }));
    let moves = count(|op| matches!(op, Operation::MoveToGroup { .. }));
    let checks = [
        (
            "max_disables",
            "suspensions",
            suspensions,
            safety.max_disables,
        ),
        ("max_moves", "user-group moves", moves, safety.max_moves),
    ];
    checks.into_iter().find_map(|(guard, what, count, budget)| {
        let allowed = budget.allowance(base);
        (count > allowed).then(|| Blocked {
            guard: guard.to_owned(),
            count,
            allowed,
            message: format!(
                "the plan holds {count} {what}; sync.safety.{guard} ({budget}) allows \
                     {allowed} of {base} managed users holding licences — check the rules and \
                     the directory, then apply with --allow-destructive if it is intended"
            ),
        })
    })
}
