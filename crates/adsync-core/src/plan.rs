//! The plan: plain data describing every change, and `plan()`, the pure function that computes it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::config::{Attribute, Budget, Config};
use crate::desired::{DesiredState, DesiredUser, Destination, ResolvedPairing, SsoidSource};
use crate::error::{PlanError, Problem};
use crate::model::{
    Container, GroupPath, NodeId, NodeType, Plane, RescueNode, RescueSnapshot, Role, Status,
    UserKey,
};
use crate::tree::OrgTree;

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
    let tree = OrgTree::new(&current.rescue);
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
        actions.push(Action {
            id: format!(
                "create_group:{}:{}",
                container_id(*container),
                path.as_str()
            ),
            kind: ActionKind::CreateGroup,
            role: None,
            from_role: None,
            email: None,
            object_id: None,
            node_id: None,
            container: Some(*container),
            from: None,
            to: Some(path.clone()),
            to_node: *parent,
            changes: BTreeMap::new(),
            mobile: None,
            user: None,
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
        });
    }

    // Managed groups per plane: the destinations that exist.
    let mut managed_groups: [HashSet<NodeId>; 2] = [HashSet::new(), HashSet::new()];
    for (pairing, target) in desired.pairings.iter().zip(&targets) {
        if let Some(node) = target.node {
            managed_groups[pairing.role.plane() as usize].insert(node);
        }
    }

    // User nodes per plane, by key.
    let mut by_key: [HashMap<UserKey, Vec<&RescueNode>>; 2] = [HashMap::new(), HashMap::new()];
    for node in tree.nodes() {
        let Some(role) = node.node_type.user_role() else {
            continue;
        };
        if let Some(key) = node.key() {
            by_key[role.plane() as usize]
                .entry(key)
                .or_default()
                .push(node);
        }
    }
    // Several nodes of one plane may share an e-mail (Rescue forbids it, a hand-made snapshot may
    // not). Keep them in id order so which one is managed, and the warning naming them, do not
    // depend on the order the snapshot lists nodes in (SPEC §5).
    for nodes in by_key.iter_mut().flat_map(HashMap::values_mut) {
        nodes.sort_by_key(|node| node.id);
    }

    let mut warnings = desired.warnings.clone();
    let mut users: Vec<UserEntry> = Vec::new();
    let mut unchanged = 0u64;
    let mut enabled_managed = 0u64;

    for plane in Plane::ALL {
        let p = plane as usize;
        let links = current.links.plane(plane);
        let linked_nodes: HashSet<NodeId> = links.values().copied().collect();
        let mut claimed: HashSet<NodeId> = HashSet::new();
        // Nodes the recorded links give to desired users of this plane. A link outranks an
        // e-mail match: without this, whether a node whose e-mail moved to a new colleague stays
        // with the linked person or goes to the colleague would depend on which of the two keys
        // sorts first.
        let link_owner: HashMap<NodeId, &str> = desired
            .plane(plane)
            .values()
            .filter_map(|user| {
                let id = *links.get(&user.object_id)?;
                tree.get(id)?
                    .node_type
                    .user_role()
                    .filter(|role| role.plane() == plane)?;
                Some((id, user.object_id.as_str()))
            })
            .collect();

        for (key, user) in desired.plane(plane) {
            let pairing = &desired.pairings[user.pairing];
            let target = &targets[user.pairing];
            let mut entry = UserEntry {
                email: key.clone(),
                plane,
                object_id: Some(user.object_id.clone()),
                display_name: Some(user.name.clone()),
                role: Some(user.role),
                pairing: Some(pairing.label.clone()),
                losing_pairings: user
                    .losing
                    .iter()
                    .map(|&i| desired.pairings[i].label.clone())
                    .collect(),
                node_id: None,
                current_role: None,
                current_group: None,
                current_status: None,
                actions: Vec::new(),
                note: None,
            };

            let node = find_node(&tree, plane, user, links, &by_key[p], target, &mut warnings);
            let linked_to_another = |node: &RescueNode| {
                link_owner
                    .get(&node.id)
                    .is_some_and(|owner| *owner != user.object_id)
            };
            let node = match node {
                Some(node) if linked_to_another(node) || !claimed.insert(node.id) => {
                    warnings.push(Warning {
                        kind: WarningKind::ClaimConflict,
                        message: format!(
                            "Rescue node {} is claimed by two directory users (a recorded link and an e-mail disagree); `{key}` is left alone",
                            node.id
                        ),
                        email: Some(key.clone()),
                    });
                    entry.note = Some("node claimed by another directory user".into());
                    users.push(entry);
                    continue;
                }
                other => other,
            };
            // The recorded link and the e-mail point at two different nodes of the plane: the
            // person's new e-mail is already held by another node. Giving the linked node that
            // e-mail would be refused by Rescue, and which node is the person's is a guess, so
            // neither is touched (nor disabled as unclaimed) until someone resolves it.
            if let Some(linked) = node
                && linked.key().as_ref() != Some(key)
                && let Some(holders) = by_key[p].get(key)
            {
                claimed.extend(holders.iter().map(|holder| holder.id));
                warnings.push(Warning {
                    kind: WarningKind::ClaimConflict,
                    message: format!(
                        "`{key}` is linked to Rescue node {} but node {} holds its e-mail (a recorded link and an e-mail disagree); both are left alone",
                        linked.id,
                        holders.iter().map(|n| n.id.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                    email: Some(key.clone()),
                });
                entry.note = Some("link and e-mail point at different nodes".into());
                users.push(entry);
                continue;
            }
            if let Some(node) = node {
                entry.node_id = Some(node.id);
                entry.current_role = node.node_type.user_role();
                entry.current_group = tree
                    .parent_location(node)
                    .map(|location| location.path.clone());
                entry.current_status = Some(if node.is_enabled() {
                    Status::Enabled
                } else {
                    Status::Disabled
                });
            }

            let reason = format!(
                "member of {} (pairing `{}`)",
                pairing.group_name, pairing.label
            );
            let user_actions = match node {
                None => vec![create_user(user, pairing, target, reason)],
                Some(node) => update_node(&tree, node, user, pairing, target, policy, &reason),
            };

            // A protected e-mail is never modified, and never created either: an operator
            // protects an address to keep adsync's hands off it entirely.
            let held_back = match node {
                Some(node) => held_back(node, key, policy),
                None => policy
                    .protected
                    .contains(key)
                    .then_some(HeldBack::Protected),
            };
            if let Some(why) = held_back {
                if !user_actions.is_empty() {
                    warnings.push(Warning {
                        kind: if why == HeldBack::AccountHolder {
                            WarningKind::AccountHolder
                        } else {
                            WarningKind::Protected
                        },
                        message: format!(
                            "`{key}` is {}; the directory wants {} but adsync leaves it untouched",
                            why.describe(),
                            user_actions
                                .iter()
                                .map(|a| a.kind.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        email: Some(key.clone()),
                    });
                }
                entry.note = Some(why.describe().to_owned());
                users.push(entry);
                continue;
            }
            // A node found through a link may carry an e-mail several directory users share;
            // such nodes are left alone like the users themselves (`DesiredState::held`).
            if let Some(node) = node
                && let Some(node_key) = node.key().filter(|k| k != key && desired.held.contains(k))
            {
                warnings.push(Warning {
                    kind: WarningKind::DuplicateKey,
                    message: format!(
                        "`{key}` is linked to Rescue node {}, whose e-mail `{node_key}` several directory users share; the node is left as it is",
                        node.id
                    ),
                    email: Some(key.clone()),
                });
                entry.note = Some("the node's e-mail is shared by several directory users".into());
                users.push(entry);
                continue;
            }
            if desired.held.contains(key) {
                entry.note = Some("several directory users share this key".into());
                users.push(entry);
                continue;
            }
            if user_actions.is_empty() {
                unchanged += 1;
            }
            entry.actions = user_actions.iter().map(|a| a.id.clone()).collect();
            actions.extend(user_actions);
            users.push(entry);
        }

        // Managed nodes nobody claimed: users who are no longer desired in this plane.
        for node in tree.nodes() {
            let Some(role) = node.node_type.user_role() else {
                continue;
            };
            if role.plane() != plane {
                continue;
            }
            let in_managed_group = node
                .parent
                .is_some_and(|parent| managed_groups[p].contains(&parent));
            if !in_managed_group && !linked_nodes.contains(&node.id) {
                continue;
            }
            let key = node.key();
            let held = held_back(
                node,
                key.as_ref().unwrap_or(&UserKey::placeholder()),
                policy,
            );
            if node.is_enabled() && held.is_none() {
                enabled_managed += 1;
            }
            if claimed.contains(&node.id) {
                continue;
            }
            let Some(key) = key else { continue };
            if desired.held.contains(&key) {
                continue;
            }
            let directory = desired.directory.get(&key);
            let reason = match directory {
                Some(entry) if !entry.enabled => "account disabled in Entra ID".to_owned(),
                _ => match plane {
                    Plane::Technician => "no longer in any paired technician group".to_owned(),
                    Plane::Administrator => {
                        "no longer in any paired administrator group".to_owned()
                    }
                },
            };
            let mobile_on = node.mobile == Some(true);
            // An add-on state the read did not report is released too: SPEC §5 frees the
            // licence of every disabled user, and `false` is what setUser writes anyway.
            let release = node.mobile != Some(false);
            let action = if node.is_enabled() {
                Some(
                    user_action(
                        ActionKind::DisableUser,
                        role,
                        &key,
                        node,
                        directory.map(|d| d.object_id.clone()),
                        reason,
                        Precondition {
                            status: Some(Status::Enabled),
                            parent: node.parent,
                            mobile: Some(mobile_on),
                            ..Precondition::default()
                        },
                    )
                    .with_mobile(release.then_some(false)),
                )
            } else if mobile_on {
                Some(
                    user_action(
                        ActionKind::SetMobileLicense,
                        role,
                        &key,
                        node,
                        directory.map(|d| d.object_id.clone()),
                        format!("{reason}; releasing the mobile add-on of a disabled user"),
                        Precondition {
                            status: Some(Status::Disabled),
                            mobile: Some(true),
                            ..Precondition::default()
                        },
                    )
                    .with_mobile(Some(false)),
                )
            } else {
                None
            };
            let Some(mut action) = action else { continue };
            action.from = tree.parent_location(node).map(|l| l.path.clone());
            action.container = tree.parent_location(node).map(|l| l.container);
            let entry = UserEntry {
                email: key.clone(),
                plane,
                object_id: directory.map(|d| d.object_id.clone()),
                display_name: directory.map(|d| d.display_name.clone()),
                role: None,
                pairing: None,
                losing_pairings: Vec::new(),
                node_id: Some(node.id),
                current_role: Some(role),
                current_group: action.from.clone(),
                current_status: Some(if node.is_enabled() {
                    Status::Enabled
                } else {
                    Status::Disabled
                }),
                actions: Vec::new(),
                note: None,
            };
            if let Some(why) = held_back(node, &key, policy) {
                // The account holder sits in Master Administrators whatever the directory says;
                // that it is in no paired group is normal, not worth a warning.
                if why == HeldBack::AccountHolder {
                    continue;
                }
                warnings.push(Warning {
                    kind: if why == HeldBack::AccountHolder {
                        WarningKind::AccountHolder
                    } else {
                        WarningKind::Protected
                    },
                    message: format!(
                        "`{key}` is {}; the directory wants {} but adsync leaves it untouched",
                        why.describe(),
                        action.kind.as_str()
                    ),
                    email: Some(key.clone()),
                });
                users.push(UserEntry {
                    note: Some(why.describe().to_owned()),
                    ..entry
                });
                continue;
            }
            users.push(UserEntry {
                actions: vec![action.id.clone()],
                ..entry
            });
            actions.push(action);
        }
    }

    actions.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    // The node id breaks ties between nodes of one plane that share an e-mail (see `by_key`).
    users.sort_by(|a, b| (&a.email, a.plane, a.node_id).cmp(&(&b.email, b.plane, b.node_id)));
    warnings.sort();
    warnings.dedup();

    make_ids_unique(&mut actions, &mut users);
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
        users,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeldBack {
    Protected,
    AccountHolder,
}

impl HeldBack {
    fn describe(self) -> &'static str {
        match self {
            HeldBack::Protected => "protected (sync.protected)",
            HeldBack::AccountHolder => "the account holder",
        }
    }
}

fn held_back(node: &RescueNode, key: &UserKey, policy: &Policy) -> Option<HeldBack> {
    if node.account_holder {
        Some(HeldBack::AccountHolder)
    } else if policy.protected.contains(key)
        || node.key().is_some_and(|k| policy.protected.contains(&k))
    {
        Some(HeldBack::Protected)
    } else {
        None
    }
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

fn find_node<'a>(
    tree: &OrgTree<'a>,
    plane: Plane,
    user: &DesiredUser,
    links: &BTreeMap<String, NodeId>,
    by_key: &HashMap<UserKey, Vec<&'a RescueNode>>,
    target: &Target,
    warnings: &mut Vec<Warning>,
) -> Option<&'a RescueNode> {
    if let Some(node) = links
        .get(&user.object_id)
        .and_then(|&id| tree.get(id))
        .filter(|node| {
            node.node_type
                .user_role()
                .is_some_and(|role| role.plane() == plane)
        })
    {
        return Some(node);
    }
    let candidates = by_key.get(&user.key)?;
    match candidates.as_slice() {
        [one] => Some(*one),
        several => {
            let chosen = several
                .iter()
                .find(|node| target.node.is_some() && node.parent == target.node)
                .or_else(|| several.iter().min_by_key(|node| node.id))
                .copied();
            warnings.push(Warning {
                kind: WarningKind::DuplicateNode,
                message: format!(
                    "{} Rescue {} nodes share `{}` ({}); adsync manages node {} and leaves the others alone",
                    several.len(),
                    plane.as_str(),
                    user.key,
                    several.iter().map(|n| n.id.to_string()).collect::<Vec<_>>().join(", "),
                    chosen.map_or_else(String::new, |n| n.id.to_string())
                ),
                email: Some(user.key.clone()),
            });
            chosen
        }
    }
}

fn create_user(
    user: &DesiredUser,
    pairing: &ResolvedPairing,
    target: &Target,
    reason: String,
) -> Action {
    Action {
        id: format!(
            "create_user:{}:{}",
            user.role.plane().as_str(),
            user.key.as_str()
        ),
        kind: ActionKind::CreateUser,
        role: Some(user.role),
        from_role: None,
        email: Some(user.key.clone()),
        object_id: Some(user.object_id.clone()),
        node_id: None,
        container: Some(target.container),
        from: None,
        to: Some(target.path.clone()),
        to_node: target.node,
        changes: BTreeMap::new(),
        mobile: Some(pairing.mobile_license),
        user: Some(NewUser {
            name: user.name.clone(),
            nick: user.nick.clone(),
            email: user.key.as_str().to_owned(),
            ssoid: user.ssoid.clone().unwrap_or_default(),
            description: user.description.clone(),
            mobile: pairing.mobile_license,
        }),
        reason,
        precondition: Precondition {
            absent: true,
            ..Precondition::default()
        },
    }
}

fn user_action(
    kind: ActionKind,
    role: Role,
    key: &UserKey,
    node: &RescueNode,
    object_id: Option<String>,
    reason: String,
    precondition: Precondition,
) -> Action {
    Action {
        id: format!(
            "{}:{}:{}",
            kind.as_str(),
            role.plane().as_str(),
            key.as_str()
        ),
        kind,
        role: Some(role),
        from_role: None,
        email: Some(key.clone()),
        object_id,
        node_id: Some(node.id),
        container: None,
        from: None,
        to: None,
        to_node: None,
        changes: BTreeMap::new(),
        mobile: None,
        user: None,
        reason,
        precondition,
    }
}

impl Action {
    fn with_mobile(mut self, mobile: Option<bool>) -> Action {
        self.mobile = mobile;
        self
    }
}

/// The actions that bring an existing node in line with a desired user.
fn update_node(
    tree: &OrgTree<'_>,
    node: &RescueNode,
    user: &DesiredUser,
    pairing: &ResolvedPairing,
    target: &Target,
    policy: &Policy,
    reason: &str,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let current_role = node.node_type.user_role().unwrap_or(user.role);
    let location = tree.parent_location(node);
    if policy.full_group_sync {
        let in_place = target.node.is_some() && node.parent == target.node;
        if !in_place {
            let mut action = user_action(
                ActionKind::MoveUser,
                user.role,
                &user.key,
                node,
                Some(user.object_id.clone()),
                reason.to_owned(),
                Precondition {
                    parent: node.parent,
                    ..Precondition::default()
                },
            );
            action.from_role = (current_role != user.role).then_some(current_role);
            action.container = Some(target.container);
            action.from = Some(location.map_or_else(GroupPath::root, |l| l.path.clone()));
            action.to = Some(target.path.clone());
            action.to_node = target.node;
            actions.push(action);
        }

        let mut changes = BTreeMap::new();
        let mut values = BTreeMap::new();
        for attribute in &pairing.attributes {
            let (wanted, have) = match attribute {
                Attribute::Name => (Some(user.name.as_str()), node.name.as_str()),
                Attribute::Nick => (Some(user.nick.as_str()), node.nick.as_deref().unwrap_or("")),
                Attribute::Email => (Some(user.key.as_str()), node.email.as_deref().unwrap_or("")),
                Attribute::Ssoid => (user.ssoid.as_deref(), node.ssoid.as_deref().unwrap_or("")),
                Attribute::Description => (
                    Some(user.description.as_str()),
                    node.description.as_deref().unwrap_or(""),
                ),
            };
            let Some(wanted) = wanted else { continue };
            let differs = match attribute {
                // E-mails compare as keys: case and padding are not a change.
                Attribute::Email => UserKey::new(have).as_ref() != Some(&user.key),
                _ => wanted != have,
            };
            if differs {
                changes.insert(
                    *attribute,
                    Change {
                        old: have.to_owned(),
                        new: wanted.to_owned(),
                    },
                );
                values.insert(*attribute, have.to_owned());
            }
        }
        if !changes.is_empty() {
            let mut action = user_action(
                ActionKind::UpdateUser,
                user.role,
                &user.key,
                node,
                Some(user.object_id.clone()),
                reason.to_owned(),
                Precondition {
                    values,
                    ..Precondition::default()
                },
            );
            action.changes = changes;
            actions.push(action);
        }
    }
    if !node.is_enabled() {
        actions.push(user_action(
            ActionKind::EnableUser,
            user.role,
            &user.key,
            node,
            Some(user.object_id.clone()),
            reason.to_owned(),
            Precondition {
                status: Some(Status::Disabled),
                ..Precondition::default()
            },
        ));
    }
    let has_mobile = node.mobile == Some(true);
    if policy.full_group_sync && has_mobile != pairing.mobile_license {
        actions.push(
            user_action(
                ActionKind::SetMobileLicense,
                user.role,
                &user.key,
                node,
                Some(user.object_id.clone()),
                format!(
                    "{reason}, which {} the mobile add-on",
                    if pairing.mobile_license {
                        "grants"
                    } else {
                        "does not grant"
                    }
                ),
                Precondition {
                    mobile: Some(has_mobile),
                    ..Precondition::default()
                },
            )
            .with_mobile(Some(pairing.mobile_license)),
        );
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
    let path = action
        .to
        .as_ref()
        .or(action.from.as_ref())
        .map_or("", GroupPath::as_str);
    let key = action.email.as_ref().map_or("", UserKey::as_str);
    (
        action.kind,
        action.container,
        path,
        key,
        action.id.as_str(),
        action.node_id,
    )
}

/// Two nodes of one plane sharing an e-mail (which Rescue refuses, but a snapshot may hold)
/// would give two actions one id; the executor and saved plans key results by id. Such ids get
/// the node id appended, deterministically, since actions are already in their total order.
fn make_ids_unique(actions: &mut [Action], users: &mut [UserEntry]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for action in actions.iter() {
        *seen.entry(action.id.clone()).or_insert(0) += 1;
    }
    for action in actions.iter_mut() {
        if seen.get(&action.id).copied().unwrap_or(0) > 1
            && let Some(node) = action.node_id
        {
            let unique = format!("{}#{node}", action.id);
            for user in users.iter_mut().filter(|u| u.node_id == Some(node)) {
                for id in &mut user.actions {
                    if *id == action.id {
                        id.clone_from(&unique);
                    }
                }
            }
            action.id = unique;
        }
    }
}
