//! The safety guards (SPEC §6) for a GoTo plan. The blast-radius budget: more suspensions than
//! `sync.safety.max_disables`, or more user-group moves than `sync.safety.max_moves`, of the
//! managed users holding licences, blocks the plan until `--allow-destructive`. The empty-group
//! guard: a rule whose directory group holds nobody, in a plan that suspends someone, blocks it
//! until `--allow-empty-groups` (a group emptied by mistake must not suspend its users).

use std::collections::BTreeSet;

use adsync_core::config::SafetyConfig;
use adsync_core::goto::GotoDesired;
use serde::{Deserialize, Serialize};

use super::Planned;
use crate::model::{GotoSnapshot, Operation};

/// A guard the plan trips.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// `max_disables`, `max_moves` or `empty_group`.
    pub guard: String,
    /// How many the plan holds.
    pub count: u64,
    /// How many the budget allows.
    pub allowed: u64,
    /// A sentence for the operator.
    pub message: String,
}

/// The first guard `operations` trip, if any: the blast radius, then the empty groups.
pub(super) fn blocked(
    operations: &[Planned],
    wanted: &GotoDesired,
    account: &GotoSnapshot,
    managed: &BTreeSet<String>,
    config: &adsync_core::config::Config,
) -> Option<Blocked> {
    blast_radius(operations, account, managed, &config.sync.safety)
        .or_else(|| empty_groups(wanted, operations))
}

/// The first blast-radius budget the plan trips, if any.
fn blast_radius(
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

impl Blocked {
    /// The flag that overrides this guard.
    pub fn flag(&self) -> &'static str {
        if self.guard == EMPTY_GROUP {
            "--allow-empty-groups"
        } else {
            "--allow-destructive"
        }
    }
}

/// The empty-group guard's name.
pub const EMPTY_GROUP: &str = "empty_group";

/// The empty-group guard: rules whose group holds nobody, when the plan suspends someone.
fn empty_groups(wanted: &GotoDesired, operations: &[Planned]) -> Option<Blocked> {
    let suspensions = operations
        .iter()
        .filter(|planned| matches!(planned.operation, Operation::Suspend { .. }))
        .count() as u64;
    let empty: Vec<String> = wanted
        .rules
        .iter()
        .zip(&wanted.rule_members)
        .filter(|(_, members)| **members == 0)
        .map(|(rule, _)| format!("`{rule}`"))
        .collect();
    if suspensions == 0 || empty.is_empty() {
        return None;
    }
    Some(Blocked {
        guard: EMPTY_GROUP.to_owned(),
        count: empty.len() as u64,
        allowed: 0,
        message: format!(
            "the directory group of goto rule {} holds nobody, and the plan suspends \
             {suspensions} users — if the group was emptied on purpose, apply with \
             --allow-empty-groups",
            empty.join(", ")
        ),
    })
}
