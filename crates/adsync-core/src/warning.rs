//! Non-fatal problems: values that travel in the plan, not log lines (SPEC §5, STYLE.md).

use serde::{Deserialize, Serialize};

use crate::model::UserKey;

/// A non-fatal problem, carried in the plan.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    /// What kind of problem.
    pub kind: WarningKind,
    /// A sentence for the operator.
    pub message: String,
    /// The user concerned, where it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<UserKey>,
}

/// Warning kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A directory user has no mail (or UPN) and was skipped.
    MissingKey,
    /// Two directory users share a key; both were skipped.
    DuplicateKey,
    /// A group lists a member the snapshot does not hold.
    UnknownMember,
    /// The directory wanted a change to a protected user.
    Protected,
    /// The directory wanted a change to the account holder.
    AccountHolder,
    /// Several Rescue nodes in one plane share an e-mail.
    DuplicateNode,
    /// A node is claimed by two directory users (a link and an e-mail disagree).
    ClaimConflict,
    /// A mapped field was longer than adsync writes to Rescue and was cut.
    Truncated,
}
