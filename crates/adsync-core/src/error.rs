//! Errors of adsync-core.

use std::fmt;

use crate::model::{Container, GroupPath, NodeId};

/// Why there is no plan: every problem found, not just the first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError {
    /// The problems, in the order found.
    pub problems: Vec<Problem>,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} problems prevent a plan", many.len())?;
                for problem in many {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for PlanError {}

/// One reason there is no plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// No Entra group has the pairing's name or id.
    #[error("pairing `{pairing}`: no Entra group named `{group}`{}", close_names(.close))]
    GroupNotFound {
        /// The pairing's label.
        pairing: String,
        /// The name or id looked for.
        group: String,
        /// Names that come close.
        close: Vec<String>,
    },
    /// Several Entra groups have the pairing's name.
    #[error("pairing `{pairing}`: {} Entra groups are named `{group}`: {}; name the group by id (`entra_group: {{ id: <guid> }}`)", .candidates.len(), .candidates.join(", "))]
    GroupAmbiguous {
        /// The pairing's label.
        pairing: String,
        /// The name looked for.
        group: String,
        /// `name (id)` of each match.
        candidates: Vec<String>,
    },
    /// An Entra group has more members than `sync.limits.max_members_per_group`.
    #[error(
        "group {group} has {members} members; the limit is {limit} — raise sync.limits.max_members_per_group to allow it"
    )]
    MemberLimit {
        /// The pairing's label.
        pairing: String,
        /// The group's name.
        group: String,
        /// Its members.
        members: usize,
        /// The limit.
        limit: usize,
    },
    /// A pairing's Rescue group does not exist and `create_missing_groups` is off.
    #[error("pairing `{pairing}`: the Rescue group `{}` does not exist under {}; create it in Rescue or set sync.create_missing_groups: true", .path.as_str(), .container.display_name())]
    DestinationMissing {
        /// The pairing's label.
        pairing: String,
        /// The container.
        container: Container,
        /// The missing path.
        path: GroupPath,
    },
    /// A pairing's Rescue destination id is not a group of the right kind.
    #[error("pairing `{pairing}`: Rescue node {node} is not {expected}")]
    DestinationInvalid {
        /// The pairing's label.
        pairing: String,
        /// The node id given.
        node: NodeId,
        /// What it should be.
        expected: String,
    },
    /// The Rescue tree lacks one of its three containers.
    #[error("the Rescue organization has no {} container", .0.display_name())]
    ContainerMissing(Container),
    /// An input beyond what the planner's compact indexes address (about four billion entries).
    #[error("the {what} holds {count} entries; adsync plans for at most {}", u32::MAX - 1)]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// How many entries it holds.
        count: usize,
    },
    /// A template yields an empty text for a field Rescue requires.
    #[error(
        "{key}: template `{template}` yields an empty {field} for {user} (pairing `{pairing}`); add a fallback (`{{displayName|userPrincipalName}}`)"
    )]
    EmptyField {
        /// The pairing's label.
        pairing: String,
        /// The configuration key of the template (`pairings[1].attributes.name`).
        key: String,
        /// The template as written.
        template: String,
        /// The field.
        field: &'static str,
        /// The user's key.
        user: String,
    },
    /// A goto rule that cannot be used: a `where:` condition (not yet supported), or a group
    /// not found or ambiguous.
    #[error("{message}")]
    GotoRule {
        /// What is wrong, naming the rule.
        message: String,
    },
}

pub(crate) fn close_names(close: &[String]) -> String {
    if close.is_empty() {
        String::new()
    } else {
        format!("; close names: {}", close.join(", "))
    }
}
