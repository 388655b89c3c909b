//! The plan: plain data describing every change, and `plan()`, the pure function that computes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{Attribute, Budget};
use crate::model::{Container, GroupPath, NodeId, Role, Status, UserKey};

/// The version of the plan JSON format. Additive changes only within a major version.
pub const FORMAT_VERSION: &str = "1.0";

/// A complete plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `major.minor`.
    pub format_version: String,
    /// Digest of the configuration the plan was made from.
    pub config_digest: String,
    /// Counts per action kind, and unchanged users.
    pub summary: Summary,
    /// Why the plan may not be applied as it is, if it may not.
    pub blocked: Option<Blocked>,
    /// Non-fatal problems.
    pub warnings: Vec<Warning>,
    /// The actions, in plan order.
    pub actions: Vec<Action>,
    /// Every pairing with what it resolved to.
    pub pairings: Vec<PairingSummary>,
    /// Every user in scope: who wins them, who loses, and what happens.
    pub users: Vec<UserEntry>,
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// Counts per action kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// `create_group` actions.
    pub create_group: u64,
    /// `create_user` actions.
    pub create_user: u64,
    /// `move_user` actions.
    pub move_user: u64,
    /// `update_user` actions.
    pub update_user: u64,
    /// `enable_user` actions.
    pub enable_user: u64,
    /// `set_mobile_license` actions.
    pub set_mobile_license: u64,
    /// `disable_user` actions.
    pub disable_user: u64,
    /// Desired users whose node needs nothing.
    pub unchanged: u64,
}

impl Summary {
    /// Counts `actions`, with `unchanged` users.
    pub fn count(actions: &[Action], unchanged: u64) -> Summary {
        let mut summary = Summary {
            unchanged,
            ..Summary::default()
        };
        for action in actions {
            *summary.slot(action.kind) += 1;
        }
        summary
    }

    fn slot(&mut self, kind: ActionKind) -> &mut u64 {
        match kind {
            ActionKind::CreateGroup => &mut self.create_group,
            ActionKind::CreateUser => &mut self.create_user,
            ActionKind::MoveUser => &mut self.move_user,
            ActionKind::UpdateUser => &mut self.update_user,
            ActionKind::EnableUser => &mut self.enable_user,
            ActionKind::SetMobileLicense => &mut self.set_mobile_license,
            ActionKind::DisableUser => &mut self.disable_user,
        }
    }
}

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
    /// An Entra group resolved to no members while its Rescue group has enabled members.
    EmptyGroup {
        /// The pairing's label.
        pairing: String,
        /// Enabled members of the Rescue group.
        enabled_members: u64,
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
            } => format!(
                "the Entra group of pairing `{pairing}` has no members while its Rescue group has {enabled_members} enabled users"
            ),
        }
    }
}

#[allow(dead_code, reason = "used by the planner")]
pub(crate) fn budget_guard(
    planned: u64,
    budget: Budget,
    base: u64,
    make: fn(u64, u64, String, u64) -> Guard,
) -> Option<Guard> {
    let allowed = budget.allowance(base);
    (planned > allowed).then(|| make(planned, allowed, budget.to_string(), base))
}

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
}

/// The seven kinds of action, in phase order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Create a Technician or Administrator Group.
    CreateGroup,
    /// Create a user node.
    CreateUser,
    /// Move a user node to another group or container.
    MoveUser,
    /// Change synced attributes.
    UpdateUser,
    /// Enable a disabled user.
    EnableUser,
    /// Turn the mobile add-on on or off.
    SetMobileLicense,
    /// Disable a user no longer desired (and release its mobile add-on).
    DisableUser,
}

impl ActionKind {
    /// All kinds, in phase order.
    pub const ALL: [ActionKind; 7] = [
        ActionKind::CreateGroup,
        ActionKind::CreateUser,
        ActionKind::MoveUser,
        ActionKind::UpdateUser,
        ActionKind::EnableUser,
        ActionKind::SetMobileLicense,
        ActionKind::DisableUser,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::CreateGroup => "create_group",
            ActionKind::CreateUser => "create_user",
            ActionKind::MoveUser => "move_user",
            ActionKind::UpdateUser => "update_user",
            ActionKind::EnableUser => "enable_user",
            ActionKind::SetMobileLicense => "set_mobile_license",
            ActionKind::DisableUser => "disable_user",
        }
    }
}

/// One change. Which optional fields are present depends on `kind` (SPEC §14).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// Stable id: `<kind>:<plane>:<e-mail>` for users, `create_group:<container>:<path>` for groups.
    pub id: String,
    /// What to do.
    pub kind: ActionKind,
    /// The user's role after the action (absent for groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The user's role before a move between containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_role: Option<Role>,
    /// The user's identity key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<UserKey>,
    /// The directory object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// The node acted on, when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<NodeId>,
    /// The container of `from`/`to` (groups: where the group is created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    /// The group path a move starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<GroupPath>,
    /// The group path a create or move ends in (for `create_group`: the new group's path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<GroupPath>,
    /// The node id of `to` (for `create_group`: of its parent) when it exists at plan time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_node: Option<NodeId>,
    /// Attribute changes (`update_user`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<Attribute, Change>,
    /// The add-on state after the action (`set_mobile_license`, `create_user`; on `disable_user`,
    /// `false` when the add-on is released with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<bool>,
    /// Every field of a new user (`create_user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<NewUser>,
    /// Why.
    pub reason: String,
    /// What the node must still look like for the action to be valid.
    pub precondition: Precondition,
}

/// One attribute change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The value in Rescue now.
    pub old: String,
    /// The value the directory wants.
    pub new: String,
}

/// The fields of a user `create_user` makes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Nickname.
    pub nick: String,
    /// E-mail.
    pub email: String,
    /// SSO ID.
    pub ssoid: String,
    /// Description.
    pub description: String,
    /// Mobile add-on.
    pub mobile: bool,
}

/// What must still hold when an action runs (checked against a fresh read for saved plans).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Precondition {
    /// Creates: no node may exist yet (no user with the e-mail in the plane, no group at the path).
    #[serde(default, skip_serializing_if = "is_false")]
    pub absent: bool,
    /// The node's parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<NodeId>,
    /// The node's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The node's values of the attributes the action changes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<Attribute, String>,
    /// The node's mobile add-on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<bool>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
fn is_false(value: &bool) -> bool {
    !*value
}

/// A pairing as resolved for this plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingSummary {
    /// Label.
    pub name: String,
    /// The Entra group's display name.
    pub entra_group: String,
    /// The Entra group's object id.
    pub entra_group_id: String,
    /// Users in the group (transitive when nested groups are on).
    pub member_count: u64,
    /// Role granted.
    pub role: Role,
    /// Destination container.
    pub container: Container,
    /// Destination path.
    pub destination: GroupPath,
    /// Destination node, when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<NodeId>,
    /// Mobile add-on for members.
    pub mobile_license: bool,
    /// Where the SSO ID comes from: `upn`, `email`, or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssoid_from: Option<String>,
    /// Synced attributes.
    pub attributes: Vec<Attribute>,
}

/// One user in scope, for `explain` and reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    /// Identity key.
    pub email: UserKey,
    /// Plane.
    pub plane: crate::model::Plane,
    /// Directory object id, when the directory knows the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Display name in the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The role the directory wants; absent when the user is not desired in this plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The winning pairing's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing: Option<String>,
    /// Pairings that also contain the user but lost on priority.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub losing_pairings: Vec<String>,
    /// The Rescue node, when one matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<NodeId>,
    /// The node's role now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_role: Option<Role>,
    /// The node's group path now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_group: Option<GroupPath>,
    /// The node's status now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_status: Option<Status>,
    /// Ids of the actions for this user, in plan order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Why nothing is done, when a rule held the user back (protected, account holder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
