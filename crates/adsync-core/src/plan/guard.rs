//! Safety (SPEC §6): the blast-radius budget and the empty-group guard. A plan over a guard is
//! still made and shown, marked blocked with every reason.

use serde::{Deserialize, Serialize};

use crate::config::Budget;
use crate::model::{NodeId, Plane, RescueNode};

/// Why a plan is blocked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// Every reason, joined.
    pub reason: String,
    /// The guards that tripped.
    pub guards: Vec<Guard>,
}

/// One tripped safety guard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "guard", rename_all = "snake_case")]
pub enum Guard {
    /// More disables than `sync.safety.max_disables` allows.
    MaxDisables {
        /// Disables in the plan.
        planned: u64,
        /// Disables allowed.
        allowed: u64,
        /// The configured budget.
        budget: String,
        /// Enabled managed users the percentage is taken of.
        base: u64,
    },
    /// More moves than `sync.safety.max_moves` allows.
    MaxMoves {
        /// Moves in the plan.
        planned: u64,
        /// Moves allowed.
        allowed: u64,
        /// The configured budget.
        budget: String,
        /// Enabled managed users the percentage is taken of.
        base: u64,
    },
    /// An Entra group resolved to no members (or a pairing's condition selected nobody) while
    /// its Rescue group has enabled members.
    EmptyGroup {
        /// The pairing's label.
        pairing: String,
        /// Enabled members of the Rescue group.
        enabled_members: u64,
        /// The pairing's `where:`, when it has one.
        #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
        condition: Option<String>,
    },
}

impl Guard {
    /// Whether `--allow-destructive` overrides this guard (the empty-group guard needs
    /// `--allow-empty-groups`).
    pub fn is_budget(&self) -> bool {
        matches!(self, Guard::MaxDisables { .. } | Guard::MaxMoves { .. })
    }

    /// A sentence for the operator.
    pub fn describe(&self) -> String {
        match self {
            Guard::MaxDisables {
                planned,
                allowed,
                budget,
                base,
            } => format!(
                "{planned} users would be disabled; sync.safety.max_disables ({budget} of {base} enabled managed users) allows {allowed}"
            ),
            Guard::MaxMoves {
                planned,
                allowed,
                budget,
                base,
            } => format!(
                "{planned} users would be moved; sync.safety.max_moves ({budget} of {base} enabled managed users) allows {allowed}"
            ),
            Guard::EmptyGroup {
                pairing,
                enabled_members,
                condition: None,
            } => format!(
                "the Entra group of pairing `{pairing}` has no members while its Rescue group has {enabled_members} enabled users"
            ),
            Guard::EmptyGroup {
                pairing,
                enabled_members,
                condition: Some(condition),
            } => format!(
                "pairing `{pairing}` holds nobody (`where: {condition}`) while its Rescue group has {enabled_members} enabled users"
            ),
        }
    }
}

/// What the empty-group guard needs of a pairing: its label, how many members its Entra group
/// has, its plane, its destination's node when that exists, and its condition.
#[derive(Clone, Copy, Debug)]
pub(super) struct Paired<'a> {
    pub(super) label: &'a str,
    pub(super) member_count: u64,
    pub(super) plane: Plane,
    pub(super) node: Option<NodeId>,
    /// The pairing's `where:`, as written.
    pub(super) condition: Option<&'a str>,
}

/// The guards a plan of `disables` and `moves` trips (SPEC §6). `enabled_managed` counts the
/// enabled managed users a percentage budget is taken of; `children` gives a destination's
/// nodes, for the empty-group guard.
pub(super) fn guards<'n, C: Iterator<Item = &'n RescueNode>>(
    disables: u64,
    moves: u64,
    enabled_managed: u64,
    budgets: (Budget, Budget),
    pairings: &[Paired<'_>],
    children: impl Fn(NodeId) -> C,
) -> Option<Blocked> {
    let (max_disables, max_moves) = budgets;
    let mut guards = Vec::new();
    if let Some((allowed, budget)) = over_budget(disables, max_disables, enabled_managed) {
        guards.push(Guard::MaxDisables {
            planned: disables,
            allowed,
            budget,
            base: enabled_managed,
        });
    }
    if let Some((allowed, budget)) = over_budget(moves, max_moves, enabled_managed) {
        guards.push(Guard::MaxMoves {
            planned: moves,
            allowed,
            budget,
            base: enabled_managed,
        });
    }
    for pairing in pairings {
        if let Some(guard) = empty_group(pairing, &children) {
            guards.push(guard);
        }
    }
    (!guards.is_empty()).then(|| Blocked {
        reason: guards
            .iter()
            .map(Guard::describe)
            .collect::<Vec<_>>()
            .join("; "),
        guards,
    })
}

/// What `budget` allows of `base`, and the budget as written, when `planned` exceeds it.
fn over_budget(planned: u64, budget: Budget, base: u64) -> Option<(u64, String)> {
    let allowed = budget.allowance(base);
    (planned > allowed).then(|| (allowed, budget.to_string()))
}

/// SPEC §6: a pairing whose Entra group resolves to no members while its Rescue group (which
/// exists) holds enabled users of its plane.
fn empty_group<'n, C: Iterator<Item = &'n RescueNode>>(
    pairing: &Paired<'_>,
    children: impl Fn(NodeId) -> C,
) -> Option<Guard> {
    if pairing.member_count > 0 {
        return None;
    }
    let plane = pairing.plane;
    let enabled_members = children(pairing.node?)
        .filter(|child| {
            child
                .node_type
                .user_role()
                .is_some_and(|role| role.plane() == plane)
                && child.is_enabled()
        })
        .count() as u64;
    (enabled_members > 0).then(|| Guard::EmptyGroup {
        pairing: pairing.label.to_owned(),
        enabled_members,
        condition: pairing.condition.map(str::to_owned),
    })
}
