//! The plan: plain data describing every change, and `plan()`, the pure function that computes it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{Attribute, Budget, Config};
use crate::desired::{
    DesiredState, DesiredUser, Destination, IdKey, PlaneUsers, ResolvedPairing, SsoidSource,
    next_bytes, prefix,
};
use crate::error::{PlanError, Problem};
use crate::hash::{FastMap, FastSet, StrTable};
use crate::model::{
    Container, GroupPath, NodeId, NodeType, Plane, RescueNode, RescueSnapshot, Role, Status,
    UserKey,
};
use crate::par;
use crate::tree::OrgTree;
pub use crate::user_list::{Iter as UserIter, UserList};

mod action;

use crate::user_list::{Matched, Rows};
pub use action::{
    Action, ActionKind, Change, CreateGroup, CreateUser, DisableUser, EnableUser, Location,
    MoveUser, NewUser, Place, Precondition, SetMobileLicense, UpdateUser, UserRef,
};

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
    pub users: UserList,
    /// Where and when the plan was made; the CLI fills it in, `plan()` leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// Where and when a plan was made (an addition within format 1.0; every field optional, absent when
/// unknown), so that `apply plan.json` can say how old a plan is and what it was made against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// When the plan was made, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_at: Option<String>,
    /// The Entra tenant the directory was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The Rescue organization (the name of its root node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
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
            *summary.slot(action.kind()) += 1;
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

/// One user in scope, for `explain` and reports, as [`UserList`] gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    /// Identity key.
    pub email: UserKey,
    /// Plane.
    pub plane: crate::model::Plane,
    /// Directory object id, when the directory knows the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<Arc<str>>,
    /// Display name in the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Arc<str>>,
    /// The role the directory wants; absent when the user is not desired in this plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The winning pairing's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing: Option<Arc<str>>,
    /// Pairings that also contain the user but lost on priority.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub losing_pairings: Vec<Arc<str>>,
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

// ---------------------------------------------------------------------------------------------
// The planner

/// Links recorded in the state directory: directory object id -> node id, per plane.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// Technician plane.
    #[serde(default)]
    pub technician: BTreeMap<String, NodeId>,
    /// Administrator plane.
    #[serde(default)]
    pub administrator: BTreeMap<String, NodeId>,
}

impl Links {
    /// The links of `plane`.
    pub fn plane(&self, plane: Plane) -> &BTreeMap<String, NodeId> {
        match plane {
            Plane::Technician => &self.technician,
            Plane::Administrator => &self.administrator,
        }
    }

    /// The links of `plane`, mutably.
    pub fn plane_mut(&mut self, plane: Plane) -> &mut BTreeMap<String, NodeId> {
        match plane {
            Plane::Technician => &mut self.technician,
            Plane::Administrator => &mut self.administrator,
        }
    }
}

/// What Rescue holds now, and what adsync recorded about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CurrentState {
    /// The organization tree.
    pub rescue: RescueSnapshot,
    /// Links from the state directory (empty when there is none).
    pub links: Links,
}

/// The rules the plan follows, from the configuration's `sync` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Full group sync (moves, updates, add-ons) or status only.
    pub full_group_sync: bool,
    /// Create missing destination groups.
    pub create_missing_groups: bool,
    /// E-mails never modified.
    pub protected: BTreeSet<UserKey>,
    /// Disable budget.
    pub max_disables: Budget,
    /// Move budget.
    pub max_moves: Budget,
}

impl Policy {
    /// The policy a configuration asks for.
    pub fn from_config(config: &Config) -> Policy {
        Policy {
            full_group_sync: config.sync.full_group_sync,
            create_missing_groups: config.sync.create_missing_groups,
            protected: config.protected_keys(),
            max_disables: config.sync.safety.max_disables,
            max_moves: config.sync.safety.max_moves,
        }
    }
}

/// Where a pairing's users go: an existing node, or a group this plan creates.
#[derive(Clone, Debug)]
struct Target {
    container: Container,
    path: GroupPath,
    node: Option<NodeId>,
}

/// Compares what the directory wants with what Rescue holds (SPEC §5, §6).
///
/// Pure and deterministic: equal inputs give equal plans, whatever order the inputs came in.
pub fn plan(
    desired: &DesiredState,
    current: &CurrentState,
    policy: &Policy,
) -> Result<Plan, PlanError> {
    // The per-node tables below are indexed by `u32`.
    if current.rescue.nodes.len() >= NO_USER as usize {
        return Err(PlanError {
            problems: vec![Problem::TooLarge {
                what: "Rescue snapshot",
                count: current.rescue.nodes.len(),
            }],
        });
    }
    // The tree's index on one core; the compact tables of the nodes on the other.
    let (tree_and_people, prepared) = par::join(
        current.rescue.nodes.len(),
        || {
            // The people in object id order serve only to merge the links with.
            let people =
                if current.links.technician.is_empty() && current.links.administrator.is_empty() {
                    Vec::new()
                } else {
                    desired.people_by_object_id()
                };
            (OrgTree::new(&current.rescue), people)
        },
        || NodeIndex::new(&current.rescue.nodes),
    );
    let (tree, people_by_object_id) = tree_and_people;
    let mut problems = Vec::new();
    let mut actions: Vec<Action> = Vec::new();

    for container in [
        Container::MasterAdministrators,
        Container::Administrators,
        Container::Technicians,
    ] {
        if tree.container(container).is_none() {
            problems.push(Problem::ContainerMissing(container));
        }
    }
    if !problems.is_empty() {
        return Err(PlanError { problems });
    }

    // Destinations, and the groups this plan must create for them.
    let mut targets: Vec<Target> = Vec::with_capacity(desired.pairings.len());
    let mut groups_to_create: BTreeMap<(Container, GroupPath), Option<NodeId>> = BTreeMap::new();
    for pairing in &desired.pairings {
        match resolve_destination(&tree, pairing, policy, &mut groups_to_create) {
            Ok(target) => targets.push(target),
            Err(problem) => {
                problems.push(problem);
                targets.push(Target {
                    container: pairing.destination.container(),
                    path: GroupPath::root(),
                    node: None,
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(PlanError { problems });
    }
    for ((container, path), parent) in &groups_to_create {
        actions.push(Action::CreateGroup(CreateGroup {
            id: format!(
                "create_group:{}:{}",
                container_id(*container),
                path.as_str()
            ),
            container: *container,
            path: path.clone(),
            parent: *parent,
            reason: format!(
                "needed by pairing {}",
                desired
                    .pairings
                    .iter()
                    .zip(&targets)
                    .filter(|(_, target)| target.container == *container
                        && (target.path == *path
                            || target
                                .path
                                .as_str()
                                .starts_with(&format!("{}/", path.as_str()))))
                    .map(|(pairing, _)| format!("`{}`", pairing.label))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            precondition: Precondition {
                absent: true,
                ..Precondition::default()
            },
        }));
    }

    // Managed groups per plane: the destinations that exist.
    let mut managed_groups: [FastSet<NodeId>; 2] = [FastSet::default(), FastSet::default()];
    for (pairing, target) in desired.pairings.iter().zip(&targets) {
        if let Some(node) = target.node {
            managed_groups[pairing.role.plane() as usize].insert(node);
        }
    }

    // Everything below looks at the nodes through compact tables built in one pass over them,
    // and reads a node itself only where an action needs its values: with 400,000 nodes, each
    // random visit to one costs more than all the bookkeeping (SPEC §12).
    let nodes = tree.nodes();
    let mut index = prepared?;
    index.set_canon(&tree);

    // Keys several directory users share, looked up for every user and node below.
    let shared_keys: FastSet<&str> = desired.held.iter().map(UserKey::as_str).collect();
    let mut warnings = desired.warnings.clone();
    let wanted_users =
        desired.plane(Plane::Technician).len() + desired.plane(Plane::Administrator).len();
    let mut unchanged = 0u64;
    let mut enabled_managed = 0u64;

    // Which node each desired user gets, plane by plane, in key order: the claims.
    // The planes are independent: one per core.
    let claim_plane = |plane: Plane| {
        let mut warnings = Vec::new();
        let claims = claim_nodes(
            &tree,
            &index,
            desired,
            &people_by_object_id,
            current.links.plane(plane),
            plane,
            &targets,
            &mut warnings,
        );
        (claims, warnings)
    };
    let (technicians, administrators) = par::join(
        wanted_users,
        || claim_plane(Plane::Technician),
        || claim_plane(Plane::Administrator),
    );
    let mut claims: Vec<PlaneClaims> = Vec::with_capacity(2);
    for plane_claims in [technicians, administrators] {
        let (plane_claims, plane_warnings) = plane_claims;
        claims.push(plane_claims);
        warnings.extend(plane_warnings);
    }
    drop(people_by_object_id);
    // How each claimed node's synced attributes differ, in the order the nodes lie in memory.
    let mut owner = vec![NO_USER; nodes.len()];
    for (p, plane_claims) in claims.iter().enumerate() {
        for (user, outcome) in plane_claims.outcomes.iter().enumerate() {
            if let Claim::Matched(at) = outcome {
                // A node holds a role of one plane only; `desired()` bounds the user count.
                owner[*at as usize] = (user as u32) | ((p as u32) << 31);
            }
        }
    }
    let mut diffs: [Vec<u8>; 2] = [
        vec![0; desired.plane(Plane::Technician).len()],
        vec![0; desired.plane(Plane::Administrator).len()],
    ];
    if policy.full_group_sync {
        let planes = [
            desired.plane(Plane::Technician),
            desired.plane(Plane::Administrator),
        ];
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(wanted_users);
        pairs.extend(
            owner
                .iter()
                .enumerate()
                .filter(|(_, owner)| **owner != NO_USER)
                // `plan()` checks that positions fit.
                .map(|(at, owner)| (at as u32, *owner)),
        );
        // A batch at a time: first touch each user's values (scattered across the desired
        // state), then compare with the nodes (which lie in order), so the touches overlap.
        // Two halves, one per core.
        let diff_of = |part: &[(u32, u32)]| -> Vec<u8> {
            let mut out = Vec::with_capacity(part.len());
            for batch in part.chunks(64) {
                let users: Vec<Option<DesiredUser<'_>>> = batch
                    .iter()
                    .map(|&(_, owner)| {
                        let (p, user) = ((owner >> 31) as usize, (owner & !(1 << 31)) as usize);
                        planes[p].get_index(user)
                    })
                    .collect();
                let touched = users
                    .iter()
                    .flatten()
                    .fold(0, |acc, user| acc ^ u64::from(user.touch()));
                // And the nodes' texts, each its own allocation.
                let touched = batch.iter().fold(touched, |acc, &(at, _)| {
                    let node = &nodes[at as usize];
                    acc ^ first_byte(Some(&node.name))
                        ^ first_byte(node.nick.as_deref())
                        ^ first_byte(node.description.as_deref())
                        ^ first_byte(node.ssoid.as_deref())
                });
                std::hint::black_box(touched);
                for (&(at, _), wanted) in batch.iter().zip(users) {
                    out.push(wanted.map_or(0, |wanted| {
                        attribute_diff(
                            &nodes[at as usize],
                            index.key(at as usize),
                            wanted,
                            &desired.pairings[wanted.pairing()],
                        )
                    }));
                }
            }
            out
        };
        let cut = pairs.len() / 2;
        let (first, second) = par::join(
            pairs.len(),
            || diff_of(&pairs[..cut]),
            || diff_of(&pairs[cut..]),
        );
        for (&(_, owner), diff) in pairs.iter().zip(first.into_iter().chain(second)) {
            let (p, user) = ((owner >> 31) as usize, (owner & !(1 << 31)) as usize);
            diffs[p][user] = diff;
        }
    }
    drop(owner);

    // The node each desired user matched, by plane and position.
    let matched = |p: usize, u: usize| -> Option<&NodeInfo> {
        match claims[p].outcomes.get(u)? {
            Claim::Matched(at) => index.info.get(*at as usize),
            _ => None,
        }
    };
    // Whether the nodes' own e-mails need a look: some are protected, or held.
    let check_node_keys = !policy.protected.is_empty() || !shared_keys.is_empty();
    // The people whose own keys are protected or held, by rank, so that the user list learns
    // it of each user without reading the key. (`desired()` leaves held keys out of the people;
    // a caller may have added some since.)
    let ranks_of = |keys: &mut dyn Iterator<Item = &str>| -> FastSet<usize> {
        keys.filter_map(|key| match desired.rank_of(key) {
            (rank, true) => Some(rank),
            (_, false) => None,
        })
        .collect()
    };
    let protected_people = ranks_of(&mut policy.protected.iter().map(UserKey::as_str));
    let held_people = ranks_of(&mut shared_keys.iter().copied());

    // Managed nodes nobody claimed: users who are no longer desired in their plane. (Their
    // order is settled below; for equal keys it stays the order of the tree.)
    // In two halves of the tree, one per core, joined in order.
    let scan = |first: usize, part: &[RescueNode]| {
        let mut leaving: Vec<Leaving> = Vec::new();
        let mut warnings: Vec<Warning> = Vec::new();
        let mut enabled_managed = 0u64;
        for (at, node) in part.iter().enumerate().map(|(i, node)| (first + i, node)) {
            let info = &index.info[at];
            let Some(role) = info.role else {
                continue;
            };
            let plane = role.plane();
            let p = plane as usize;
            let plane_claims = &claims[p];
            let canon = info.canon as usize;
            let in_managed_group = info
                .parent
                .is_some_and(|parent| managed_groups[p].contains(&parent));
            if !in_managed_group && !plane_claims.linked[canon] {
                continue;
            }
            let key = index.key(at);
            let held = held_back(&index, at, policy);
            if info.enabled && held.is_none() {
                enabled_managed += 1;
            }
            if plane_claims.claimed[canon] {
                continue;
            }
            let Some(key) = key else { continue };
            if shared_keys.contains(key) {
                continue;
            }
            let mobile_on = info.mobile == Some(true);
            let kind = if info.enabled {
                ActionKind::DisableUser
            } else if mobile_on {
                ActionKind::SetMobileLicense
            } else {
                continue;
            };
            let Some(key) = UserKey::new(key) else {
                continue;
            };
            let directory = desired.directory_entry(key.as_str());
            let reason = match directory {
                Some(entry) if !entry.enabled() => "account disabled in Entra ID".to_owned(),
                _ => match plane {
                    Plane::Technician => "no longer in any paired technician group".to_owned(),
                    Plane::Administrator => {
                        "no longer in any paired administrator group".to_owned()
                    }
                },
            };
            let user = UserRef {
                role,
                email: key.clone(),
                object_id: directory.map(|d| d.object_id().to_owned()),
            };
            let from = tree.parent_location(node).map(|l| Location {
                container: l.container,
                path: l.path.clone(),
            });
            let action = if kind == ActionKind::DisableUser {
                Action::DisableUser(DisableUser {
                    id: action_id(kind, role, &key),
                    user,
                    node_id: node.id,
                    from,
                    // An add-on state the read did not report is released too: SPEC §5 frees
                    // the licence of every disabled user, and `false` is what setUser writes
                    // anyway.
                    release_mobile: node.mobile != Some(false),
                    reason,
                    precondition: Precondition {
                        status: Some(Status::Enabled),
                        parent: node.parent,
                        mobile: Some(mobile_on),
                        ..Precondition::default()
                    },
                })
            } else {
                Action::SetMobileLicense(SetMobileLicense {
                    id: action_id(kind, role, &key),
                    user,
                    node_id: node.id,
                    mobile: false,
                    from,
                    reason: format!("{reason}; releasing the mobile add-on of a disabled user"),
                    precondition: Precondition {
                        status: Some(Status::Disabled),
                        mobile: Some(true),
                        ..Precondition::default()
                    },
                })
            };
            let entry = UserEntry {
                email: key.clone(),
                plane,
                object_id: directory.map(|d| Arc::from(d.object_id())),
                display_name: directory.map(|d| Arc::from(d.display_name())),
                role: None,
                pairing: None,
                losing_pairings: Vec::new(),
                node_id: Some(node.id),
                current_role: Some(role),
                current_group: action.from().cloned(),
                current_status: Some(if node.is_enabled() {
                    Status::Enabled
                } else {
                    Status::Disabled
                }),
                actions: Vec::new(),
                note: None,
            };
            if let Some(why) = held {
                // The account holder sits in Master Administrators whatever the directory says;
                // that it is in no paired group is normal, not worth a warning.
                if why == HeldBack::AccountHolder {
                    continue;
                }
                warnings.push(why.warning(&key, action.kind().as_str()));
                leaving.push(Leaving {
                    entry: UserEntry {
                        note: Some(why.describe().to_owned()),
                        ..entry
                    },
                    action: None,
                });
                continue;
            }
            leaving.push(Leaving {
                entry: UserEntry {
                    actions: vec![action.id().to_owned()],
                    ..entry
                },
                action: Some(action),
            });
        }
        (leaving, warnings, enabled_managed)
    };
    let cut = nodes.len() / 2;
    let (low, high) = par::join(
        nodes.len(),
        || scan(0, &nodes[..cut]),
        || scan(cut, &nodes[cut..]),
    );
    let mut leaving = low.0;
    leaving.extend(high.0);
    warnings.extend(low.1);
    warnings.extend(high.1);
    enabled_managed += low.2 + high.2;

    // The entries come out in plan order (key, plane, node id) as they are made, rather than
    // sorted afterwards: the desired users of both planes in key order, the leaving ones merged
    // in where their keys fall (their own order being the order of the tree for equal keys).
    leaving.sort_by(|a, b| {
        (&a.entry.email, a.entry.plane, a.entry.node_id).cmp(&(
            &b.entry.email,
            b.entry.plane,
            b.entry.node_id,
        ))
    });
    let events = plan_order(desired, |p, u| matched(p, u).map(|info| info.id), &leaving);
    // Why a pairing's users get their actions: made once per pairing, not per action.
    let reasons: Vec<String> = desired
        .pairings
        .iter()
        .map(|pairing| {
            format!(
                "member of {} (pairing `{}`)",
                pairing.group_name, pairing.label
            )
        })
        .collect();
    let labels: Vec<Arc<str>> = desired
        .pairings
        .iter()
        .map(|pairing| Arc::from(pairing.label.as_str()))
        .collect();
    // The entries of a half of the events. A desired user whose node needs nothing becomes
    // a compact row (see `UserList`); the others are made whole here.
    // A half's actions go after `actions`: the groups to create for the first half, none for
    // the second.
    let emit = |events: &[Event], leaving: Vec<Leaving>, mut actions: Vec<Action>| -> Entries {
        let records = desired.records();
        let mut users = Rows::with_capacity(events.len());
        let mut warnings: Vec<Warning> = Vec::new();
        let mut unchanged = 0u64;
        let mut leaving = leaving.into_iter();
        for (at_event, &event) in events.iter().enumerate() {
            // Each matched node's record lies elsewhere in memory.
            read_ahead(events, at_event, |event| match *event {
                Event::Wanted(plane, u) => matched(plane as usize, u as usize)
                    .map_or(0, |info| info.id.0 ^ u64::from(info.enabled)),
                Event::Leaving => 0,
            });
            let (plane, u) = match event {
                Event::Leaving => {
                    if let Some(Leaving { entry, action, .. }) = leaving.next() {
                        users.push_full(entry);
                        actions.extend(action);
                    }
                    continue;
                }
                Event::Wanted(plane, u) => (plane, u as usize),
            };
            let p = plane as usize;
            let wanted = desired.plane(plane);
            let (Some(user), Some(outcome)) = (wanted.get_index(u), claims[p].outcomes.get(u))
            else {
                continue;
            };
            let pairing = &desired.pairings[user.pairing()];
            let target = &targets[user.pairing()];
            let info = matched(p, u);
            // The whole entry, for the users that are not a compact row.
            let whole = |note: Option<&str>| {
                let mut entry = records.entry(plane, u, &labels);
                if let Some(info) = info {
                    entry.node_id = Some(info.id);
                    entry.current_role = info.role;
                    entry.current_group = info
                        .parent
                        .and_then(|parent| tree.group(parent).map(|l| l.path.clone()));
                    entry.current_status = Some(if info.enabled {
                        Status::Enabled
                    } else {
                        Status::Disabled
                    });
                }
                entry.note = note.map(str::to_owned);
                entry
            };
            let at = match *outcome {
                Claim::Taken => {
                    // The user's claim lost: no node is shown.
                    let mut entry = records.entry(plane, u, &labels);
                    entry.note = Some("node claimed by another directory user".into());
                    users.push_full(entry);
                    continue;
                }
                Claim::LinkAndEmailDisagree => {
                    let mut entry = records.entry(plane, u, &labels);
                    entry.note = Some("link and e-mail point at different nodes".into());
                    users.push_full(entry);
                    continue;
                }
                Claim::Matched(at) => Some(at as usize),
                Claim::None => None,
            };
            let diff = diffs[p].get(u).copied().unwrap_or(0);
            // Whether the node's own e-mail is protected, and whether it is one several
            // directory users share while the user's is another.
            // Most nodes carry the user's own e-mail, known without reading the node's.
            let (node_key_protected, node_key_held) = match at {
                Some(_)
                    if check_node_keys && !claims[p].other_key.get(u).copied().unwrap_or(true) =>
                {
                    (protected_people.contains(&user.rank()), false)
                }
                Some(at) if check_node_keys => index.key(at).map_or((false, false), |k| {
                    (
                        policy.protected.contains(k),
                        k != user.key() && shared_keys.contains(k),
                    )
                }),
                _ => (false, false),
            };

            // Copied only for the users that get an action.
            let reason = || reasons[user.pairing()].clone();
            let user_actions = match (at, info) {
                (Some(at), Some(info)) => update_node(
                    &tree, &index, at, info, user, pairing, target, policy, &reason, diff,
                ),
                _ => vec![create_user(user, pairing, target, reason())],
            };

            // A protected e-mail is never modified, and never created either: an operator
            // protects an address to keep adsync's hands off it entirely.
            let held_back = match info {
                Some(info) if info.account_holder => Some(HeldBack::AccountHolder),
                Some(_) if node_key_protected => Some(HeldBack::Protected),
                _ => protected_people
                    .contains(&user.rank())
                    .then_some(HeldBack::Protected),
            };
            if let Some(why) = held_back {
                if !user_actions.is_empty() {
                    let wanted = user_actions
                        .iter()
                        .map(|a| a.kind().as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    warnings.push(why.warning(&user.user_key(), &wanted));
                }
                users.push_full(whole(Some(why.describe())));
                continue;
            }
            // A node found through a link may carry an e-mail several directory users share;
            // such nodes are left alone like the users themselves (`DesiredState::held`).
            if let Some(at) = at
                && node_key_held
                && let Some(node_key) = index.key(at)
            {
                warnings.push(Warning {
                        kind: WarningKind::DuplicateKey,
                        message: format!(
                            "`{}` is linked to Rescue node {}, whose e-mail `{node_key}` several directory users share; the node is left as it is",
                            user.key(),
                            index.info[at].id
                        ),
                        email: Some(user.user_key()),
                    });
                users.push_full(whole(Some(
                    "the node's e-mail is shared by several directory users",
                )));
                continue;
            }
            if held_people.contains(&user.rank()) {
                users.push_full(whole(Some("several directory users share this key")));
                continue;
            }
            if user_actions.is_empty() {
                unchanged += 1;
                if let Some(info) = info {
                    users.push_matched(Matched {
                        node: info.id,
                        parent: info.parent,
                        // `desired()` bounds the number of users.
                        index: u as u32,
                        plane,
                        role: info.role,
                        enabled: info.enabled,
                    });
                    continue;
                }
            }
            let mut entry = whole(None);
            entry.actions = user_actions.iter().map(|a| a.id().to_owned()).collect();
            actions.extend(user_actions);
            users.push_full(entry);
        }
        Entries {
            users,
            actions,
            warnings,
            unchanged,
        }
    };
    // Two halves, one per core, each with room for its rows (grown by doubling, they would copy
    // themselves). The list keeps the halves' rows as they are, one part after the other.
    let cut = events.len() / 2;
    let (first_events, second_events) = events.split_at(cut);
    let first_leaving = first_events
        .iter()
        .filter(|event| **event == Event::Leaving)
        .count();
    let second_leaving = leaving.split_off(first_leaving);
    let groups = std::mem::take(&mut actions);
    let (first, second) = par::join(
        events.len(),
        || emit(first_events, leaving, groups),
        || emit(second_events, second_leaving, Vec::new()),
    );
    // The first half's actions stay where they are, so that only the second half's are copied
    // (into fresh memory: a few thousand page faults at full size).
    let mut users: [Rows; 2] = Default::default();
    for (rows, part) in users.iter_mut().zip([first, second]) {
        *rows = part.users;
        if actions.is_empty() {
            actions = part.actions;
        } else {
            actions.extend(part.actions);
        }
        warnings.extend(part.warnings);
        unchanged += part.unchanged;
    }
    // The node tables are done with.
    drop(index);
    drop(claims);

    // Sorted as positions (see `sort_order`), then moved in place: actions are large, and a
    // sort moves each element many times.
    // Which ids repeat does not depend on the order: found on the other core meanwhile.
    let (order, repeated) = par::join(
        actions.len(),
        || sort_order(&actions),
        || repeated_ids(&actions),
    );
    permute(&mut actions, &order);
    // The node id breaks ties between nodes of one plane that share an e-mail (see
    // `NodesByKey`).
    warnings.sort();
    warnings.dedup();

    let [first_rows, second_rows] = &mut users;
    make_ids_unique(
        &mut actions,
        [first_rows.full_mut(), second_rows.full_mut()],
        &repeated,
    );
    let summary = Summary::count(&actions, unchanged);
    let mut guards = Vec::new();
    guards.extend(budget_guard(
        summary.disable_user,
        policy.max_disables,
        enabled_managed,
        |planned, allowed, budget, base| Guard::MaxDisables {
            planned,
            allowed,
            budget,
            base,
        },
    ));
    guards.extend(budget_guard(
        summary.move_user,
        policy.max_moves,
        enabled_managed,
        |planned, allowed, budget, base| Guard::MaxMoves {
            planned,
            allowed,
            budget,
            base,
        },
    ));
    for (pairing, target) in desired.pairings.iter().zip(&targets) {
        if pairing.member_count > 0 {
            continue;
        }
        let Some(node) = target.node else { continue };
        let plane = pairing.role.plane();
        let enabled_members = tree
            .children(node)
            .filter(|child| {
                child
                    .node_type
                    .user_role()
                    .is_some_and(|role| role.plane() == plane)
                    && child.is_enabled()
            })
            .count() as u64;
        if enabled_members > 0 {
            guards.push(Guard::EmptyGroup {
                pairing: pairing.label.clone(),
                enabled_members,
            });
        }
    }
    let blocked = (!guards.is_empty()).then(|| Blocked {
        reason: guards
            .iter()
            .map(Guard::describe)
            .collect::<Vec<_>>()
            .join("; "),
        guards,
    });

    Ok(Plan {
        format_version: FORMAT_VERSION.to_owned(),
        config_digest: desired.config_digest.clone(),
        summary,
        blocked,
        warnings,
        actions,
        pairings: desired
            .pairings
            .iter()
            .zip(&targets)
            .map(|(pairing, target)| PairingSummary {
                name: pairing.label.clone(),
                entra_group: pairing.group_name.clone(),
                entra_group_id: pairing.group_id.clone(),
                member_count: pairing.member_count,
                role: pairing.role,
                container: target.container,
                destination: target.path.clone(),
                node_id: target.node,
                mobile_license: pairing.mobile_license,
                ssoid_from: pairing.ssoid_from.map(|s| match s {
                    SsoidSource::Upn => "upn".to_owned(),
                    SsoidSource::Email => "email".to_owned(),
                }),
                attributes: pairing.attributes.iter().copied().collect(),
            })
            .collect(),
        users: UserList::new(
            users,
            Arc::clone(desired.records()),
            labels,
            tree.groups()
                .map(|(id, location)| (id, location.path.clone()))
                .collect(),
        ),
        origin: None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeldBack {
    Protected,
    AccountHolder,
}

impl HeldBack {
    /// The warning for `key`, which the directory wants changed (`wanted`, the action kinds).
    fn warning(self, key: &UserKey, wanted: &str) -> Warning {
        Warning {
            kind: match self {
                HeldBack::AccountHolder => WarningKind::AccountHolder,
                HeldBack::Protected => WarningKind::Protected,
            },
            message: format!(
                "`{key}` is {}; the directory wants {wanted} but adsync leaves it untouched",
                self.describe(),
            ),
            email: Some(key.clone()),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            HeldBack::Protected => "protected (sync.protected)",
            HeldBack::AccountHolder => "the account holder",
        }
    }
}

fn held_back(index: &NodeIndex<'_>, at: usize, policy: &Policy) -> Option<HeldBack> {
    if index.info[at].account_holder {
        Some(HeldBack::AccountHolder)
    } else if index
        .key(at)
        .is_some_and(|key| policy.protected.contains(key))
    {
        Some(HeldBack::Protected)
    } else {
        None
    }
}

/// A node's e-mail as key text, borrowed unless it needs normalising: `node.key()` without the
/// allocation.
fn node_key(node: &RescueNode) -> Option<Cow<'_, str>> {
    node.email.as_deref().and_then(UserKey::normalize)
}

/// "None" in the per-node and per-user tables.
const NO_USER: u32 = u32::MAX;

/// How many records a pass reads ahead at once where they lie scattered in memory: enough
/// cache misses in flight to hide most of their latency.
const TOUCH_BATCH: usize = 32;

/// Called before item `at` of a pass over `items` whose records lie scattered in memory: every
/// [`TOUCH_BATCH`] items, reads what `touch` reads of the next batch (the first call, of the
/// first two) in a loop of nothing else, so that their cache misses overlap with each other and
/// are over when the pass gets there, rather than come one by one between the items.
fn read_ahead<T>(items: &[T], at: usize, touch: impl Fn(&T) -> u64) {
    if !at.is_multiple_of(TOUCH_BATCH) {
        return;
    }
    let from = if at == 0 { 0 } else { at + TOUCH_BATCH };
    let ahead = items.get(from..).unwrap_or_default();
    let ahead = &ahead[..ahead.len().min(at + 2 * TOUCH_BATCH - from)];
    std::hint::black_box(ahead.iter().fold(0, |acc, item| acc ^ touch(item)));
}

/// The first byte of `text` (0 for none or empty): what reading a text ahead reads of it.
fn first_byte(text: Option<&str>) -> u64 {
    text.and_then(|text| text.as_bytes().first().copied())
        .map_or(0, u64::from)
}

/// What the planner reads of every node, side by side: 32 bytes, aligned so that none straddles
/// two cache lines (each is read at random, and a straddling one costs two misses).
#[derive(Clone, Copy, Debug)]
#[repr(align(32))]
struct NodeInfo {
    id: NodeId,
    parent: Option<NodeId>,
    /// The position of the first node listed with this id: tables about node ids use it.
    canon: u32,
    role: Option<Role>,
    enabled: bool,
    mobile: Option<bool>,
    account_holder: bool,
}

// One cache line holds two, whole.
const _: () = assert!(std::mem::size_of::<NodeInfo>() == 32);

/// The nodes as compact tables: their [`NodeInfo`] and the keys of user nodes, back to back.
struct NodeIndex<'a> {
    nodes: &'a [RescueNode],
    info: Vec<NodeInfo>,
    keys: String,
    /// Node `i`'s key is `keys[key_ends[i]..key_ends[i + 1]]`; empty for none.
    key_ends: Vec<u32>,
}

impl<'a> NodeIndex<'a> {
    /// The tables of `nodes`; every node its own [`NodeInfo::canon`] until [`Self::set_canon`].
    fn new(nodes: &'a [RescueNode]) -> Result<NodeIndex<'a>, PlanError> {
        let mut info = Vec::with_capacity(nodes.len());
        let mut keys = String::with_capacity(crate::desired::room_for(nodes, |node| {
            node.email.as_ref().map_or(0, String::len)
        }));
        let mut key_ends = Vec::with_capacity(nodes.len() + 1);
        key_ends.push(0);
        for (at, node) in nodes.iter().enumerate() {
            // The e-mails lie elsewhere in memory.
            read_ahead(nodes, at, |node| first_byte(node.email.as_deref()));
            let role = node.node_type.user_role();
            if role.is_some()
                && let Some(key) = node_key(node)
            {
                keys.push_str(&key);
            }
            key_ends.push(u32::try_from(keys.len()).map_err(|_| PlanError {
                problems: vec![Problem::TooLarge {
                    what: "Rescue snapshot's e-mail text",
                    count: keys.len(),
                }],
            })?);
            info.push(NodeInfo {
                id: node.id,
                parent: node.parent,
                // `plan()` checks that positions fit.
                canon: at as u32,
                role,
                enabled: node.is_enabled(),
                mobile: node.mobile,
                account_holder: node.account_holder,
            });
        }
        Ok(NodeIndex {
            nodes,
            info,
            keys,
            key_ends,
        })
    }

    /// Points every node at the first node listed with its id.
    fn set_canon(&mut self, tree: &OrgTree<'_>) {
        for (at, info) in self.info.iter_mut().enumerate() {
            // `plan()` checks that positions fit.
            info.canon = tree.first_with_id(at).unwrap_or(at) as u32;
        }
    }

    /// The key of user node `at`.
    fn key(&self, at: usize) -> Option<&str> {
        let start = *self.key_ends.get(at)? as usize;
        let end = *self.key_ends.get(at + 1)? as usize;
        self.keys.get(start..end).filter(|key| !key.is_empty())
    }
}

/// The nodes of one plane that carry the keys of some of its desired users: a table of those
/// keys (small enough for the caches when, as usual, links find most nodes), filled from one pass
/// over the nodes in listing order. A table of every node's key would cost a cache miss per node
/// to build and is mostly not needed.
struct NodesByKey {
    /// Desired user `u`'s nodes are `nodes[starts[u]..starts[u + 1]]` (none when it was not
    /// looked up).
    starts: Vec<u32>,
    /// The positions of the nodes, by user in key order, then in id order, then in listing
    /// order.
    nodes: Vec<u32>,
}

impl NodesByKey {
    fn new(
        index: &NodeIndex<'_>,
        wanted: &PlaneUsers<'_>,
        plane: Plane,
        looked_up: impl Fn(usize) -> bool,
    ) -> NodesByKey {
        // `desired()` bounds the number of users.
        let users: Vec<u32> = (0..wanted.len() as u32)
            .filter(|&user| looked_up(user as usize))
            .collect();
        let keys: Vec<&str> = users
            .iter()
            .map(|&user| wanted.get_index(user as usize).map_or("", |u| u.key()))
            .collect();
        let mut table = StrTable::with_capacity(keys.len());
        // A plane's keys are distinct: each slot is its own user's.
        let key = |slot: usize| keys[slot].as_bytes();
        table.insert_many(
            keys.len(),
            key,
            |slot| slot as u32,
            |slot| key(slot as usize),
        );
        // (slot, node id, position) for every node of the plane with a looked-up key.
        let mut hits: Vec<(u32, NodeId, u32)> = Vec::new();
        for (at, info) in index.info.iter().enumerate() {
            if info.role.is_none_or(|role| role.plane() != plane) {
                continue;
            }
            let Some(key) = index.key(at) else { continue };
            if let Some(slot) = table.get(key.as_bytes(), |slot| keys[slot as usize].as_bytes()) {
                // `plan()` checks that positions fit.
                hits.push((slot, info.id, at as u32));
            }
        }
        // By user, then id, then listing order.
        hits.sort_unstable();
        // Slots follow the users' order, so the hits are in the users' order too.
        let mut starts = Vec::with_capacity(wanted.len() + 1);
        let mut next = 0;
        let mut slot = 0;
        for user in 0..wanted.len() {
            starts.push(next as u32);
            if users
                .get(slot)
                .is_some_and(|&looked_up| looked_up as usize == user)
            {
                while hits
                    .get(next)
                    .is_some_and(|&(hit, _, _)| hit as usize == slot)
                {
                    next += 1;
                }
                slot += 1;
            }
        }
        starts.push(next as u32);
        NodesByKey {
            starts,
            nodes: hits.into_iter().map(|(_, _, at)| at).collect(),
        }
    }

    /// The positions of the nodes carrying the e-mail of desired user `user`, in id order (then
    /// listing order); none when the user was not looked up.
    fn nodes(&self, user: usize) -> &[u32] {
        let (start, end) = (self.starts[user] as usize, self.starts[user + 1] as usize);
        &self.nodes[start..end]
    }
}

/// What became of a desired user's claim on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Claim {
    /// No node: the user is created.
    None,
    /// This node (a position in the tree).
    Matched(u32),
    /// The node is another directory user's.
    Taken,
    /// The recorded link and the e-mail point at two different nodes.
    LinkAndEmailDisagree,
}

/// The claims of one plane.
struct PlaneClaims {
    /// Per desired user, in key order.
    outcomes: Vec<Claim>,
    /// Claimed nodes, by [`NodeInfo::canon`].
    claimed: Vec<bool>,
    /// Nodes a link of the plane names, by [`NodeInfo::canon`].
    linked: Vec<bool>,
    /// Per desired user, whether the node it would have carries another e-mail than the
    /// user's (a node found through a link).
    other_key: Vec<bool>,
}

/// Decides, in key order, which node each desired user of `plane` gets: the linked node, else
/// the node with its e-mail, unless another user's link or an earlier claim holds it.
#[expect(
    clippy::too_many_arguments,
    reason = "the tables of the plan, passed down rather than rebuilt"
)]
fn claim_nodes(
    tree: &OrgTree<'_>,
    index: &NodeIndex<'_>,
    desired: &DesiredState,
    people_by_object_id: &[(IdKey, u32)],
    links: &BTreeMap<String, NodeId>,
    plane: Plane,
    targets: &[Target],
    warnings: &mut Vec<Warning>,
) -> PlaneClaims {
    let wanted = desired.plane(plane);
    let nodes = index.info.len();
    let in_plane = |at: usize| {
        index.info[at]
            .role
            .is_some_and(|role| role.plane() == plane)
    };
    // Each person's linked node: the links (in object id order) merged with the people in the
    // same order, rather than a table of one looked up by the other. Written by person, which
    // is at random; read back below in key order, which is the people's order.
    let mut link_of_person = vec![NO_USER; desired.people_len()];
    let mut linked = vec![false; nodes];
    let mut positions = Vec::with_capacity(links.len());
    tree.positions(links.values().copied(), &mut positions);
    let mut next = 0;
    for ((object_id, _), at) in links.iter().zip(positions) {
        let at = at.unwrap_or(NO_USER);
        if let Some(slot) = linked.get_mut(at as usize) {
            *slot = true;
        }
        let id = IdKey::new(object_id);
        let order = |&(key, rank): &(IdKey, u32)| {
            key.cmp_with(&id, || (desired.object_id_of(rank), object_id.as_str()))
        };
        while people_by_object_id
            .get(next)
            .is_some_and(|person| order(person) == Ordering::Less)
        {
            next += 1;
        }
        // Every person with this object id (a snapshot may list one twice) has the link.
        let mut same = next;
        while let Some(&(key, rank)) = people_by_object_id.get(same)
            && order(&(key, rank)) == Ordering::Equal
        {
            if let Some(slot) = link_of_person.get_mut(rank as usize) {
                *slot = at;
            }
            same += 1;
        }
    }
    // Each user's linked node, when the link names a user node of this plane.
    let mut link_at: Vec<u32> = wanted
        .iter()
        .map(|user| link_of_person.get(user.rank()).copied().unwrap_or(NO_USER))
        .collect();
    drop(link_of_person);
    for at in &mut link_at {
        if *at != NO_USER && !in_plane(*at as usize) {
            *at = NO_USER;
        }
    }
    // Nodes the recorded links give to desired users of this plane. A link outranks an e-mail
    // match: without this, whether a node whose e-mail moved to a new colleague stays with the
    // linked person or goes to the colleague would depend on which of the two keys sorts first.
    // The last user (in key order) whose link names a node owns it.
    let mut link_owner = vec![NO_USER; nodes];
    for (user, &at) in link_at.iter().enumerate() {
        if at != NO_USER {
            // `desired()` bounds the number of users.
            link_owner[at as usize] = user as u32;
        }
    }

    // Whether the linked node's e-mail is not the user's. (A node found by e-mail has the
    // user's.) Each linked node's key lies at random in the node tables.
    let other_key: Vec<bool> = wanted
        .keys()
        .enumerate()
        .map(|(user, key)| {
            read_ahead(&link_at, user, |&at| first_byte(index.key(at as usize)));
            let at = link_at[user];
            at != NO_USER && index.key(at as usize) != Some(key)
        })
        .collect();
    // The nodes of the plane that carry the e-mail of a user without a link, or of a user whose
    // linked node carries another (see `Claim::LinkAndEmailDisagree`).
    let by_key = NodesByKey::new(index, &wanted, plane, |user| {
        link_at[user] == NO_USER || other_key[user]
    });

    // The node each user would have, claims aside; and what the claims need to know of it.
    let chosen: Vec<u32> = wanted
        .iter()
        .enumerate()
        .map(|(at, user)| {
            let target = &targets[user.pairing()];
            let found = by_key.nodes(at);
            find_node(index, plane, user, link_at[at], found, target, warnings)
                // `plan()` checks that positions fit.
                .map_or(NO_USER, |at| at as u32)
        })
        .collect();
    drop(link_at);
    let mut canon: Vec<u32> = Vec::with_capacity(chosen.len());
    for user in 0..chosen.len() {
        // Each chosen node's first position lies at random in the node table.
        read_ahead(&chosen, user, |&at| {
            index
                .info
                .get(at as usize)
                .map_or(0, |info| u64::from(info.canon))
        });
        let at = chosen[user];
        canon.push(
            index
                .info
                .get(at as usize)
                .map_or(NO_USER, |info| info.canon),
        );
    }
    // Whether a link of another directory user names the node.
    let linked_to_another: Vec<bool> = canon
        .iter()
        .enumerate()
        .map(|(user, &canon)| {
            let owner = link_owner.get(canon as usize).copied().unwrap_or(NO_USER);
            owner != NO_USER
                && owner as usize != user
                && wanted
                    .get_index(owner as usize)
                    .zip(wanted.get_index(user))
                    .is_some_and(|(owner, user)| owner.object_id() != user.object_id())
        })
        .collect();
    drop(link_owner);

    let mut claimed = vec![false; nodes];
    let claim = |claimed: &mut Vec<bool>, at: usize| {
        !std::mem::replace(&mut claimed[index.info[at].canon as usize], true)
    };
    let mut outcomes = Vec::with_capacity(wanted.len());
    for user in 0..wanted.len() {
        // Only the warnings need the key: read it then, not for every user.
        let key = || wanted.get_index(user).map_or("", |user| user.key());
        let at = chosen[user] as usize;
        let outcome = if chosen[user] == NO_USER {
            Claim::None
        } else if linked_to_another[user]
            || std::mem::replace(&mut claimed[canon[user] as usize], true)
        {
            warnings.push(Warning {
                kind: WarningKind::ClaimConflict,
                message: format!(
                    "Rescue node {} is claimed by two directory users (a recorded link and an e-mail disagree); `{}` is left alone",
                    index.info[at].id,
                    key()
                ),
                email: Some(UserKey::from_normalized(key())),
            });
            Claim::Taken
        } else if other_key[user] && !by_key.nodes(user).is_empty() {
            let found = by_key.nodes(user);
            // The recorded link and the e-mail point at two different nodes of the plane: the
            // person's new e-mail is already held by another node. Giving the linked node that
            // e-mail would be refused by Rescue, and which node is the person's is a guess, so
            // neither is touched (nor disabled as unclaimed) until someone resolves it.
            for &holder in found {
                claim(&mut claimed, holder as usize);
            }
            warnings.push(Warning {
                kind: WarningKind::ClaimConflict,
                message: format!(
                    "`{}` is linked to Rescue node {} but node {} holds its e-mail (a recorded link and an e-mail disagree); both are left alone",
                    key(),
                    index.info[at].id,
                    found.iter().map(|&n| index.info[n as usize].id.to_string()).collect::<Vec<_>>().join(", ")
                ),
                email: Some(UserKey::from_normalized(key())),
            });
            Claim::LinkAndEmailDisagree
        } else {
            // `plan()` checks that positions fit.
            Claim::Matched(at as u32)
        };
        outcomes.push(outcome);
    }
    PlaneClaims {
        outcomes,
        claimed,
        linked,
        other_key,
    }
}

/// Puts `items[order[k]]` at `k`, in place: each cycle of the permutation is followed once,
/// one swap per item, so no second list is needed. `order` must be a permutation of the
/// positions.
fn permute<T>(items: &mut [T], order: &[usize]) {
    let mut done = vec![false; items.len()];
    for start in 0..items.len() {
        let mut at = start;
        while !done[at] {
            done[at] = true;
            let from = order[at];
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// What one half of the plan's user list produced.
struct Entries {
    users: Rows,
    actions: Vec<Action>,
    warnings: Vec<Warning>,
    unchanged: u64,
}

/// A managed node nobody claimed, with what the plan says about it.
struct Leaving {
    entry: UserEntry,
    action: Option<Action>,
}

/// One entry of the plan's user list, in the order they are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// The desired user at this index of the plane.
    Wanted(Plane, u32),
    /// The next [`Leaving`] entry.
    Leaving,
}

/// The order of the plan's user list: by key, then plane, then node id (absent first), the
/// desired user before a leaving node on a tie, leaving nodes in their own order. The desired
/// users of each plane are in key order already, and so are the people they belong to, so only
/// the few leaving nodes need a comparison of keys, each one binary search.
fn plan_order(
    desired: &DesiredState,
    node_of: impl Fn(usize, usize) -> Option<NodeId>,
    leaving: &[Leaving],
) -> Vec<Event> {
    let planes = [
        desired.plane(Plane::Technician),
        desired.plane(Plane::Administrator),
    ];
    let total = planes[0].len() + planes[1].len() + leaving.len();
    let mut events = Vec::with_capacity(total);
    let ranks: Vec<(usize, bool)> = leaving
        .iter()
        .map(|l| desired.rank_of(l.entry.email.as_str()))
        .collect();
    let mut next = 0;
    let mut cursor = [0usize; 2];
    let people = desired.people_len();
    for person in 0..=people {
        // Leaving nodes whose keys sort before this person's (or after everyone's).
        while next < leaving.len() && ranks[next] == (person, false) {
            events.push(Event::Leaving);
            next += 1;
        }
        if person == people {
            break;
        }
        for plane in Plane::ALL {
            let p = plane as usize;
            let here = planes[p]
                .get_index(cursor[p])
                .filter(|user| user.rank() == person);
            // Wanted only when a leaving node shares the key and plane.
            let node = || here.and_then(|_| node_of(p, cursor[p]));
            let same_key_and_plane =
                |at: usize| ranks[at] == (person, true) && leaving[at].entry.plane == plane;
            // Leaving nodes of this key and plane sort by node id around the desired user's.
            while next < leaving.len()
                && same_key_and_plane(next)
                && here.is_some()
                && leaving[next].entry.node_id < node()
            {
                events.push(Event::Leaving);
                next += 1;
            }
            if here.is_some() {
                // `desired()` bounds the number of users.
                events.push(Event::Wanted(plane, cursor[p] as u32));
                cursor[p] += 1;
            }
            while next < leaving.len() && same_key_and_plane(next) {
                events.push(Event::Leaving);
                next += 1;
            }
        }
    }
    events
}

fn container_id(container: Container) -> &'static str {
    match container {
        Container::MasterAdministrators => "master_administrators",
        Container::Administrators => "administrators",
        Container::Technicians => "technicians",
    }
}

fn resolve_destination(
    tree: &OrgTree<'_>,
    pairing: &ResolvedPairing,
    policy: &Policy,
    groups_to_create: &mut BTreeMap<(Container, GroupPath), Option<NodeId>>,
) -> Result<Target, Problem> {
    match &pairing.destination {
        Destination::Id(container, id) => {
            let expected = match container {
                Container::Technicians => NodeType::TechnicianGroup,
                _ => NodeType::AdministratorGroup,
            };
            let node = tree.get(*id).filter(|node| node.node_type == expected);
            match (node, tree.group(*id)) {
                (Some(_), Some(location)) if location.container == *container => Ok(Target {
                    container: *container,
                    path: location.path.clone(),
                    node: Some(*id),
                }),
                _ => Err(Problem::DestinationInvalid {
                    pairing: pairing.label.clone(),
                    node: *id,
                    expected: format!("a {} under {}", expected.as_str(), container.display_name()),
                }),
            }
        }
        Destination::Path(container, path) => {
            if let Some(node) = tree.find_group(*container, path) {
                // Report the path with Rescue's own spelling.
                let path = tree
                    .group(node)
                    .map_or_else(|| path.clone(), |l| l.path.clone());
                return Ok(Target {
                    container: *container,
                    path,
                    node: Some(node),
                });
            }
            if !policy.create_missing_groups {
                return Err(Problem::DestinationMissing {
                    pairing: pairing.label.clone(),
                    container: *container,
                    path: path.clone(),
                });
            }
            // Create every missing segment, top down; the first existing ancestor is the parent.
            let mut missing = vec![path.clone()];
            let mut parent = path.parent();
            let mut parent_node = None;
            while let Some(candidate) = parent {
                if let Some(node) = tree.find_group(*container, &candidate) {
                    parent_node = Some(node);
                    break;
                }
                parent = candidate.parent();
                missing.push(candidate);
            }
            for (index, missing_path) in missing.iter().rev().enumerate() {
                let known_parent = if index == 0 { parent_node } else { None };
                // The key is the path folded for case; keep the first spelling.
                let existing = groups_to_create
                    .keys()
                    .find(|(c, p)| c == container && p.folded() == missing_path.folded())
                    .cloned();
                if existing.is_none() {
                    groups_to_create.insert((*container, missing_path.clone()), known_parent);
                }
            }
            Ok(Target {
                container: *container,
                path: path.clone(),
                node: None,
            })
        }
    }
}

/// The node a desired user has: the linked one (`link`, a position), else the one with its
/// e-mail (`found`, the nodes carrying it); of several, the one already in its destination, else
/// the lowest id.
fn find_node(
    index: &NodeIndex<'_>,
    plane: Plane,
    user: DesiredUser<'_>,
    link: u32,
    found: &[u32],
    target: &Target,
    warnings: &mut Vec<Warning>,
) -> Option<usize> {
    if link != NO_USER {
        return Some(link as usize);
    }
    match found {
        [] => None,
        [one] => Some(*one as usize),
        several => {
            let info = |at: &u32| &index.info[*at as usize];
            let chosen = several
                .iter()
                .find(|at| target.node.is_some() && info(at).parent == target.node)
                .or_else(|| several.iter().min_by_key(|at| info(at).id))
                .copied();
            warnings.push(Warning {
                kind: WarningKind::DuplicateNode,
                message: format!(
                    "{} Rescue {} nodes share `{}` ({}); adsync manages node {} and leaves the others alone",
                    several.len(),
                    plane.as_str(),
                    user.key(),
                    several.iter().map(|at| info(at).id.to_string()).collect::<Vec<_>>().join(", "),
                    chosen.map_or_else(String::new, |at| info(&at).id.to_string())
                ),
                email: Some(user.user_key()),
            });
            chosen.map(|at| at as usize)
        }
    }
}

fn create_user(
    user: DesiredUser<'_>,
    pairing: &ResolvedPairing,
    target: &Target,
    reason: String,
) -> Action {
    Action::CreateUser(CreateUser {
        id: action_id(ActionKind::CreateUser, user.role(), &user.user_key()),
        user: user_ref(user),
        to: Place {
            container: target.container,
            path: target.path.clone(),
            node: target.node,
        },
        fields: NewUser {
            name: user.name().to_owned(),
            nick: user.nick().to_owned(),
            email: user.key().to_owned(),
            ssoid: user.ssoid().unwrap_or_default().to_owned(),
            description: user.description().to_owned(),
            mobile: pairing.mobile_license,
        },
        reason,
        precondition: Precondition {
            absent: true,
            ..Precondition::default()
        },
    })
}

/// `<kind>:<plane>:<e-mail>`.
fn action_id(kind: ActionKind, role: Role, key: &UserKey) -> String {
    format!(
        "{}:{}:{}",
        kind.as_str(),
        role.plane().as_str(),
        key.as_str()
    )
}

fn user_ref(user: DesiredUser<'_>) -> UserRef {
    UserRef {
        role: user.role(),
        email: user.user_key(),
        object_id: Some(user.object_id().to_owned()),
    }
}

/// Bit `attribute` in an [`attribute_diff`] mask.
fn bit(attribute: Attribute) -> u8 {
    1 << (attribute as u8)
}

/// The wanted and the current value of `attribute`; no wanted value when the pairing sets none
/// (an SSO ID without a source).
fn attribute_values<'a>(
    attribute: Attribute,
    node: &'a RescueNode,
    user: DesiredUser<'a>,
) -> (Option<&'a str>, &'a str) {
    match attribute {
        Attribute::Name => (Some(user.name()), node.name.as_str()),
        Attribute::Nick => (Some(user.nick()), node.nick.as_deref().unwrap_or("")),
        Attribute::Email => (Some(user.key()), node.email.as_deref().unwrap_or("")),
        Attribute::Ssoid => (user.ssoid(), node.ssoid.as_deref().unwrap_or("")),
        Attribute::Description => (
            Some(user.description()),
            node.description.as_deref().unwrap_or(""),
        ),
    }
}

/// Which of the pairing's synced attributes of `node` differ from what `user` wants;
/// `node_key` is the node's e-mail as a key (see [`NodeIndex::key`]).
fn attribute_diff(
    node: &RescueNode,
    node_key: Option<&str>,
    user: DesiredUser<'_>,
    pairing: &ResolvedPairing,
) -> u8 {
    let mut diff = 0;
    for &attribute in &pairing.attributes {
        let (wanted, have) = attribute_values(attribute, node, user);
        let Some(wanted) = wanted else { continue };
        let differs = match attribute {
            // E-mails compare as keys: case and padding are not a change.
            Attribute::Email => node_key != Some(user.key()),
            _ => wanted != have,
        };
        if differs {
            diff |= bit(attribute);
        }
    }
    diff
}

/// The actions that bring node `at` in line with a desired user; `diff` is its
/// [`attribute_diff`].
#[expect(
    clippy::too_many_arguments,
    reason = "the tables of the plan, passed down rather than rebuilt"
)]
fn update_node(
    tree: &OrgTree<'_>,
    index: &NodeIndex<'_>,
    at: usize,
    info: &NodeInfo,
    user: DesiredUser<'_>,
    pairing: &ResolvedPairing,
    target: &Target,
    policy: &Policy,
    reason: &dyn Fn() -> String,
    diff: u8,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let current_role = info.role.unwrap_or(user.role());
    if policy.full_group_sync {
        let in_place = target.node.is_some() && info.parent == target.node;
        if !in_place {
            let location = info.parent.and_then(|parent| tree.group(parent));
            actions.push(Action::MoveUser(MoveUser {
                id: action_id(ActionKind::MoveUser, user.role(), &user.user_key()),
                user: user_ref(user),
                node_id: info.id,
                from_role: (current_role != user.role()).then_some(current_role),
                from: location.map_or_else(GroupPath::root, |l| l.path.clone()),
                to: Place {
                    container: target.container,
                    path: target.path.clone(),
                    node: target.node,
                },
                reason: reason(),
                precondition: Precondition {
                    parent: info.parent,
                    ..Precondition::default()
                },
            }));
        }

        if diff != 0 {
            let node = &index.nodes[at];
            let mut changes = BTreeMap::new();
            let mut values = BTreeMap::new();
            for &attribute in &pairing.attributes {
                if diff & bit(attribute) == 0 {
                    continue;
                }
                let (Some(wanted), have) = attribute_values(attribute, node, user) else {
                    continue;
                };
                changes.insert(
                    attribute,
                    Change {
                        old: have.to_owned(),
                        new: wanted.to_owned(),
                    },
                );
                values.insert(attribute, have.to_owned());
            }
            actions.push(Action::UpdateUser(UpdateUser {
                id: action_id(ActionKind::UpdateUser, user.role(), &user.user_key()),
                user: user_ref(user),
                node_id: info.id,
                changes,
                reason: reason(),
                precondition: Precondition {
                    values,
                    ..Precondition::default()
                },
            }));
        }
    }
    if !info.enabled {
        actions.push(Action::EnableUser(EnableUser {
            id: action_id(ActionKind::EnableUser, user.role(), &user.user_key()),
            user: user_ref(user),
            node_id: info.id,
            reason: reason(),
            precondition: Precondition {
                status: Some(Status::Disabled),
                ..Precondition::default()
            },
        }));
    }
    let has_mobile = info.mobile == Some(true);
    if policy.full_group_sync && has_mobile != pairing.mobile_license {
        actions.push(Action::SetMobileLicense(SetMobileLicense {
            id: action_id(ActionKind::SetMobileLicense, user.role(), &user.user_key()),
            user: user_ref(user),
            node_id: info.id,
            mobile: pairing.mobile_license,
            from: None,
            reason: format!(
                "{}, which {} the mobile add-on",
                reason(),
                if pairing.mobile_license {
                    "grants"
                } else {
                    "does not grant"
                }
            ),
            precondition: Precondition {
                mobile: Some(has_mobile),
                ..Precondition::default()
            },
        }));
    }
    actions
}

/// The documented total order: phase, then destination (container, path), then key. The id, then
/// the node id, break the remaining ties (two nodes of one plane that share an e-mail), so the
/// order never depends on the order of the input.
fn order_key(
    action: &Action,
) -> (
    ActionKind,
    Option<Container>,
    &str,
    &str,
    &str,
    Option<NodeId>,
) {
    let path = action.to().or(action.from()).map_or("", GroupPath::as_str);
    let key = action.email().map_or("", UserKey::as_str);
    (
        action.kind(),
        action.container(),
        path,
        key,
        action.id(),
        action.node_id(),
    )
}

/// The positions of `actions` in the order of [`order_key`], ties kept in listing order.
///
/// The keys are gathered first, the destination as its rank among the few distinct ones and the
/// e-mail's first 24 bytes as numbers, so that most comparisons read no text and the sort moves
/// 48 bytes an element, not the whole key; the rest of the key, then the position, settle the
/// few ties.
fn sort_order(actions: &[Action]) -> Vec<usize> {
    let distinct: FastSet<&str> = actions.iter().map(|action| order_key(action).2).collect();
    let mut paths: Vec<&str> = distinct.into_iter().collect();
    paths.sort_unstable();
    let path_rank: FastMap<&str, usize> = paths
        .iter()
        .enumerate()
        .map(|(rank, path)| (*path, rank))
        .collect();
    let mut order: Vec<_> = actions
        .iter()
        .enumerate()
        .map(|(at, action)| {
            let (kind, container, path, key, ..) = order_key(action);
            let rank = path_rank.get(path).copied().unwrap_or(usize::MAX);
            (kind, container, rank, prefix(key), next_bytes(key), at)
        })
        .collect();
    order.sort_unstable_by(|a, b| {
        (a.0, a.1, a.2, a.3, a.4)
            .cmp(&(b.0, b.1, b.2, b.3, b.4))
            .then_with(|| order_key(&actions[a.5]).cmp(&order_key(&actions[b.5])))
            .then(a.5.cmp(&b.5))
    });
    order.into_iter().map(|(.., at)| at).collect()
}

/// The action ids that more than one action has.
fn repeated_ids(actions: &[Action]) -> BTreeSet<String> {
    let mut seen: FastMap<&str, u32> =
        FastMap::with_capacity_and_hasher(actions.len(), BuildHasherDefault::default());
    for action in actions {
        *seen.entry(action.id()).or_insert(0) += 1;
    }
    seen.into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// Two nodes of one plane sharing an e-mail (which Rescue refuses, but a snapshot may hold)
/// would give two actions one id; the executor and saved plans key results by id. Such ids get
/// the node id appended, deterministically, since actions are already in their total order.
/// `repeated` holds the ids that repeat ([`repeated_ids`]).
fn make_ids_unique(
    actions: &mut [Action],
    mut users: [&mut [UserEntry]; 2],
    repeated: &BTreeSet<String>,
) {
    if repeated.is_empty() {
        return;
    }
    for action in actions.iter_mut() {
        if repeated.contains(action.id())
            && let Some(node) = action.node_id()
        {
            let unique = format!("{}#{node}", action.id());
            for user in users
                .iter_mut()
                .flat_map(|part| part.iter_mut())
                .filter(|u| u.node_id == Some(node))
            {
                for id in &mut user.actions {
                    if id == action.id() {
                        id.clone_from(&unique);
                    }
                }
            }
            *action.id_mut() = unique;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        Action, ActionKind, DisableUser, Location, MoveUser, Place, Precondition, UserRef,
        action_id, order_key, permute, sort_order,
    };
    use crate::model::{Container, GroupPath, NodeId, Role, UserKey};

    #[test]
    fn actions_sort_in_key_order_past_their_first_24_bytes_ties_in_listing_order() {
        // Moves sort on where they go, disables on where the node is.
        let action = |kind, key: &str, node, path: &str| {
            let email = UserKey::new(key).unwrap();
            let (role, path) = (Role::Technician, GroupPath::parse(path));
            let user = UserRef {
                role,
                email: email.clone(),
                object_id: None,
            };
            let (id, node_id, reason) =
                (action_id(kind, role, &email), NodeId(node), String::new());
            let precondition = Precondition::default();
            let container = Container::Technicians;
            if kind == ActionKind::MoveUser {
                Action::MoveUser(MoveUser {
                    id,
                    user,
                    node_id,
                    from_role: None,
                    from: GroupPath::root(),
                    to: Place {
                        container,
                        path,
                        node: None,
                    },
                    reason,
                    precondition,
                })
            } else {
                Action::DisableUser(DisableUser {
                    id,
                    user,
                    node_id,
                    from: Some(Location { container, path }),
                    release_mobile: false,
                    reason,
                    precondition,
                })
            }
        };
        // Keys alike in their first 30 bytes, listed backwards; one key twice (two nodes), one
        // action listed twice; two destinations, two kinds.
        let shared = "alexander.anderson.smithers.0";
        let actions = vec![
            action(
                ActionKind::MoveUser,
                &format!("{shared}3@contoso.com"),
                1,
                "Support",
            ),
            action(
                ActionKind::MoveUser,
                &format!("{shared}2@contoso.com"),
                9,
                "Support",
            ),
            action(
                ActionKind::MoveUser,
                &format!("{shared}2@contoso.com"),
                4,
                "Support",
            ),
            action(
                ActionKind::MoveUser,
                &format!("{shared}1@contoso.com"),
                2,
                "Support",
            ),
            action(
                ActionKind::MoveUser,
                &format!("{shared}1@contoso.com"),
                2,
                "Support",
            ),
            action(
                ActionKind::MoveUser,
                &format!("{shared}0@contoso.com"),
                5,
                "Sales",
            ),
            action(
                ActionKind::DisableUser,
                &format!("{shared}9@contoso.com"),
                6,
                "Support",
            ),
            action(ActionKind::DisableUser, "a@contoso.com", 7, "Support"),
        ];
        let mut expected: Vec<usize> = (0..actions.len()).collect();
        expected.sort_by(|&a, &b| order_key(&actions[a]).cmp(&order_key(&actions[b])));
        assert_eq!(sort_order(&actions), expected);
        assert_eq!(expected, [5, 3, 4, 2, 1, 0, 7, 6]);
    }

    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        let orders: [&[usize]; 5] = [&[], &[0], &[2, 0, 1], &[1, 0, 3, 2, 4], &[4, 3, 2, 1, 0]];
        for order in orders {
            let mut items: Vec<usize> = (0..order.len()).map(|i| i * 10).collect();
            permute(&mut items, order);
            let expected: Vec<usize> = order.iter().map(|&from| from * 10).collect();
            assert_eq!(items, expected, "order {order:?}");
        }
    }
}
