//! The plan (SPEC §5, §6, §14): plain data describing every change, and `plan()`, the pure
//! function that computes it from what the directory wants and what Rescue holds.
//!
//! `plan()` reads like the SPEC, top to bottom; each decision is a small function in a module
//! named for what it decides: `destination` (where a pairing's users go, the groups to create),
//! `claim` (which node a user gets), `rules` (create, move back, update, enable, add-on,
//! disable; managed, protected and account holder), `guard` (the safety guards) and `order`
//! (plan order). The lookups they need come from `crate::engine`, which decides nothing.

mod action;
mod claim;
mod destination;
#[cfg(test)]
mod fixture;
mod guard;
mod order;
mod rules;
mod seal;
mod user_list;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{Attribute, Budget, Config};
use crate::desired::{DesiredState, DesiredUser, SsoidSource};
use crate::engine::{Cores, LinkIndex, NodeIndex};
use crate::error::PlanError;
use crate::hash::FastSet;
use crate::model::{
    Container, GroupPath, NodeId, Plane, RescueNode, RescueSnapshot, Role, Status, UserKey,
};
use crate::tree::{GroupLocation, OrgTree};

pub use crate::warning::{Warning, WarningKind};
pub use action::{
    Action, ActionKind, Change, CreateGroup, CreateUser, DisableUser, EnableUser, Location,
    MappedValue, MoveUser, NewUser, Place, Precondition, SetMobileLicense, UpdateUser, UserRef,
};
pub use guard::{Blocked, Guard};
pub use seal::{DIGEST_PREFIX, SIGNATURE_PREFIX, SealError, Sealed};
pub use user_list::{Iter as UserIter, UserList};
use user_list::{Matched, Rows};
pub use verify::{Refusal, check_format, check_format_version, verify};

use claim::{Claim, KeyedNode, PlaneClaims};
use order::EntryOrder;
use rules::{HeldBack, Wanted};

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
    /// `sha256:<hex>` over the plan's canonical JSON without `digest` and `signature`; set by
    /// [`Plan::seal`] when the plan is saved (`plan --out`), required by `apply plan.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `hmac-sha256:<hex>` over the same bytes, keyed by `sync.plan_signing_key`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
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
    /// The on-premises Active Directory read over LDAP: its base DN at its URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
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
    /// The condition members satisfy (`where:`), as written.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The templates of mapped fields, as written.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub templates: std::collections::BTreeMap<Attribute, String>,
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

// ---------------------------------------------------------------------------------------------
// The planner

/// Compares what the directory wants with what Rescue holds (SPEC §5, §6).
///
/// Pure and deterministic: equal inputs give equal plans, whatever order the inputs came in.
pub fn plan(
    desired: &DesiredState,
    current: &CurrentState,
    policy: &Policy,
) -> Result<Plan, PlanError> {
    plan_on(desired, current, policy, Cores::available())
}

/// [`plan`], with the cores it may use given (the plan is the same whatever they are).
#[doc(hidden)]
pub fn plan_on(
    desired: &DesiredState,
    current: &CurrentState,
    policy: &Policy,
    cores: Cores,
) -> Result<Plan, PlanError> {
    // The tree's index, and the recorded links' on the other core.
    let (tree, links) = cores.join(
        current.rescue.nodes.len(),
        || OrgTree::new(&current.rescue),
        || LinkIndex::new(Plane::ALL.map(|plane| current.links.plane(plane))),
    );
    destination::check_containers(&tree)?;
    // Where each pairing's users go; the groups to create are the first actions (SPEC §5).
    let (places, mut actions) = destination::destinations(&tree, desired, policy)?;
    let managed = destination::managed_groups(desired, &places);
    let mut warnings = desired.warnings.clone();

    // SPEC §2: which node each desired user gets, plane by plane.
    let claims = claims(desired, &tree, &links, &places, cores, &mut warnings);
    let linked = links.linked();
    drop(links);
    // SPEC §5: the managed nodes nobody claimed (disable, release the add-on).
    let scope = Scope {
        desired,
        tree: &tree,
        places: &places,
        claims: &claims,
        policy,
        managed,
        linked,
        held: desired.held.iter().map(UserKey::as_str).collect(),
        keyless: rules::KeylessNodes::new(&desired.keyless, &current.links),
        labels: desired
            .pairings
            .iter()
            .map(|pairing| Arc::from(pairing.label.as_str()))
            .collect(),
    };
    let nodes = tree.nodes();
    let half = nodes.len() / 2;
    let (first, second) = cores.join(
        nodes.len(),
        || scope.leaving(&nodes[..half]),
        || scope.leaving(&nodes[half..]),
    );
    let mut leaving = first.leaving;
    leaving.extend(second.leaving);
    warnings.extend(first.warnings.into_iter().chain(second.warnings));
    let enabled_managed = first.enabled_managed + second.enabled_managed;
    // Every user in scope, in plan order, with its actions (SPEC §5's table).
    let slots = scope.user_order(&leaving);
    let half = slots.len() / 2;
    let (first, second) = cores.join(
        slots.len(),
        || scope.users(&slots[..half], &leaving),
        || scope.users(&slots[half..], &leaving),
    );
    let unchanged = first.unchanged + second.unchanged;
    let mut users = first.users;
    users.append(second.users);
    actions.extend(first.actions.into_iter().chain(second.actions));
    warnings.extend(first.warnings.into_iter().chain(second.warnings));

    order::sort_actions(&mut actions);
    warnings.sort();
    warnings.dedup();
    order::make_ids_unique(&mut actions, users.full_mut());
    let summary = Summary::count(&actions, unchanged);
    // SPEC §6: the blast-radius budget and the empty-group guard.
    let paired: Vec<_> = desired.pairings.iter().zip(&places).collect();
    let facts: Vec<_> = paired
        .iter()
        .map(|(pairing, place)| guard::Paired {
            label: &pairing.label,
            member_count: pairing.member_count,
            plane: pairing.role.plane(),
            node: place.node,
            condition: pairing.condition.as_deref(),
        })
        .collect();
    let blocked = guard::guards(
        summary.disable_user,
        summary.move_user,
        enabled_managed,
        (policy.max_disables, policy.max_moves),
        &facts,
        |id| tree.children(id),
    );
    Ok(Plan {
        format_version: FORMAT_VERSION.to_owned(),
        config_digest: desired.config_digest.clone(),
        summary,
        blocked,
        warnings,
        actions,
        pairings: paired
            .iter()
            .map(|(pairing, place)| pairing_summary(pairing, place))
            .collect(),
        users: UserList::new(
            users,
            Arc::clone(desired.records()),
            scope.labels.clone(),
            tree.groups()
                .map(|(id, location)| (id, location.path.clone()))
                .collect(),
        ),
        origin: None,
        digest: None,
        signature: None,
    })
}

/// The claims of both planes (`Plane as usize`): the linked nodes looked up on two cores, then
/// the nodes with the e-mails the links do not settle, then one plane per core.
fn claims<'a>(
    desired: &DesiredState,
    tree: &OrgTree<'a>,
    links: &LinkIndex<'_>,
    places: &[Place],
    cores: Cores,
    warnings: &mut Vec<Warning>,
) -> [PlaneClaims<'a>; 2] {
    // Each user's linked node, and whether its e-mail must be looked up too. One lookup per
    // pass (the link, then the node, then its e-mail): each is a random read, and a short loop
    // lets the processor have many of them in flight rather than one chain at a time.
    let linked = |plane: Plane| -> Vec<(Option<KeyedNode<'a>>, bool)> {
        let users: Vec<DesiredUser<'_>> = desired.plane(plane).iter().collect();
        let ids = cores.map(&users, |_| 1, |&user| links.link(plane, user.object_id()));
        let nodes = cores.map(&ids, |_| 1, |&id| id.and_then(|id| tree.get(id)));
        let found: Vec<_> = users.into_iter().zip(nodes).collect();
        cores.map(
            &found,
            |_| 1,
            |&(user, node)| {
                let node = claim::linked_in_plane(plane, node);
                let needs_email = claim::needs_email(user, node.as_ref());
                (node, needs_email)
            },
        )
    };
    let found = [linked(Plane::Technician), linked(Plane::Administrator)];
    let emails = Plane::ALL.map(|plane| {
        desired
            .plane(plane)
            .iter()
            .zip(&found[plane as usize])
            .filter(|(_, (_, needs_email))| *needs_email)
            .map(|(user, _)| user.key())
            .collect()
    });
    let [technician, administrator] =
        found.map(|found| found.into_iter().map(|(node, _)| node).collect::<Vec<_>>());
    let index = NodeIndex::new(tree, emails, cores);
    let claim = |plane: Plane, linked| {
        let mut warnings = Vec::new();
        let claims = claim::claim_plane(
            plane,
            desired.plane(plane),
            linked,
            |user| index.with_email(plane, user.key()),
            |user| places[user.pairing()].node,
            &mut warnings,
        );
        (claims, warnings)
    };
    let users = desired.plane(Plane::Technician).len() + desired.plane(Plane::Administrator).len();
    let ((technicians, more), (administrators, still_more)) = cores.join(
        users,
        || claim(Plane::Technician, technician),
        || claim(Plane::Administrator, administrator),
    );
    warnings.extend(more);
    warnings.extend(still_more);
    [technicians, administrators]
}

fn pairing_summary(pairing: &crate::desired::ResolvedPairing, place: &Place) -> PairingSummary {
    PairingSummary {
        name: pairing.label.clone(),
        entra_group: pairing.group_name.clone(),
        entra_group_id: pairing.group_id.clone(),
        member_count: pairing.member_count,
        role: pairing.role,
        container: place.container,
        destination: place.path.clone(),
        node_id: place.node,
        mobile_license: pairing.mobile_license,
        ssoid_from: pairing.ssoid_from.map(|s| match s {
            SsoidSource::Upn => "upn".to_owned(),
            SsoidSource::Email => "email".to_owned(),
            SsoidSource::Template => "template".to_owned(),
        }),
        attributes: pairing.attributes.iter().copied().collect(),
        condition: pairing.condition.clone(),
        templates: pairing
            .templates
            .iter()
            .map(|(&field, mapped)| (field, mapped.template.to_string()))
            .collect(),
    }
}

/// What the user list is made from.
struct Scope<'p, 'a> {
    desired: &'p DesiredState,
    tree: &'p OrgTree<'a>,
    places: &'p [Place],
    claims: &'p [PlaneClaims<'a>; 2],
    policy: &'p Policy,
    /// The managed groups of each plane (`Plane as usize`).
    managed: [FastSet<NodeId>; 2],
    /// The nodes the links of each plane name.
    linked: [FastSet<NodeId>; 2],
    /// The pairings' labels, shared by the entries.
    labels: Vec<Arc<str>>,
    /// The keys several directory users share ([`DesiredState::held`]), for lookups.
    held: FastSet<&'p str>,
    /// The nodes of paired members whose record lacks the identity key.
    keyless: rules::KeylessNodes<'p>,
}

/// What a part of the tree or of the user list yields.
#[derive(Default)]
struct Part {
    leaving: Vec<Leaving>,
    users: Rows,
    actions: Vec<Action>,
    warnings: Vec<Warning>,
    enabled_managed: u64,
    unchanged: u64,
}

/// One entry of the user list before it is made.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// The desired user at this index of the plane.
    Wanted(Plane, u32),
    /// A managed node nobody claimed (an index into the leaving entries).
    Leaving(u32),
}

/// A managed node nobody claimed, with what the plan says about it.
#[derive(Clone)]
struct Leaving {
    entry: UserEntry,
    action: Option<Action>,
}

impl<'a> Scope<'_, 'a> {
    /// SPEC §5, "not desired": the managed nodes of `nodes` (in a managed group of their
    /// plane, or linked) that no desired user claimed, in the tree's order, with what becomes
    /// of each; and how many managed users are enabled (what a percentage budget is taken of).
    fn leaving(&self, nodes: &[RescueNode]) -> Part {
        let mut part = Part::default();
        for node in nodes {
            let Some(role) = node.node_type.user_role() else {
                continue;
            };
            let plane = role.plane() as usize;
            let in_managed_group = node
                .parent
                .is_some_and(|parent| self.managed[plane].contains(&parent));
            if !rules::is_managed(in_managed_group, self.linked[plane].contains(&node.id)) {
                continue;
            }
            let keyed = KeyedNode::new(node);
            let held = rules::held_back(Some(&keyed), None, self.policy);
            if node.is_enabled() && held.is_none() {
                part.enabled_managed += 1;
            }
            if self.claims[plane].claimed.contains(&node.id) {
                continue;
            }
            // A member still in a paired group whose record came back without its key keeps
            // its node as it is: a partial record is not a leaver.
            if let Some(member) = self.keyless.owner(node.id, role.plane(), keyed.key()) {
                let member = &self.desired.keyless[member];
                part.warnings.push(rules::keyless_warning(member, node));
                continue;
            }
            // A node whose e-mail several directory users share is left as it is.
            let Some(key) = keyed.key().filter(|key| !self.held.contains(key)) else {
                continue;
            };
            let key = UserKey::from_normalized(key);
            let leaving = self.leaving_node(node, role, key, held, &mut part.warnings);
            part.leaving.extend(leaving);
        }
        part
    }

    fn leaving_node(
        &self,
        node: &RescueNode,
        role: Role,
        key: UserKey,
        held: Option<HeldBack>,
        warnings: &mut Vec<Warning>,
    ) -> Option<Leaving> {
        let location = self.tree.parent_location(node);
        let directory = self.desired.directory_entry(key.as_str());
        let action = rules::leaving(node, role, &key, location, directory)?;
        let (object_id, display_name) = directory.map(|d| d.shared_texts()).unzip();
        let mut entry = UserEntry {
            object_id,
            display_name,
            node_id: Some(node.id),
            current_role: Some(role),
            current_group: location.map(|l| l.path.clone()),
            current_status: Some(status(node)),
            ..UserEntry::new(key.clone(), role.plane())
        };
        match held {
            // The account holder sits in Master Administrators whatever the directory says;
            // that it is in no paired group is normal, not worth a warning.
            Some(HeldBack::AccountHolder) => None,
            Some(HeldBack::Protected) => {
                warnings.push(HeldBack::Protected.warning(&key, action.kind().as_str()));
                entry.note = Some(HeldBack::Protected.describe().to_owned());
                Some(Leaving {
                    entry,
                    action: None,
                })
            }
            None => {
                entry.actions = vec![action.id().to_owned()];
                Some(Leaving {
                    entry,
                    action: Some(action),
                })
            }
        }
    }

    /// The user list's entries in plan order (SPEC §14: by key, then plane, then node): the
    /// desired users of each plane are in key order already, the leaving nodes are sorted, and
    /// the three lists are merged.
    fn user_order(&self, leaving: &[Leaving]) -> Vec<Slot> {
        let ordered = move |slot: Slot| (self.entry_order(slot, leaving), slot);
        let wanted = |plane: Plane| {
            // `desired()` bounds the number of users.
            let users = self.desired.plane(plane).len() as u32;
            (0..users).map(move |at| ordered(Slot::Wanted(plane, at)))
        };
        // The tree's nodes are fewer than `u32::MAX` (`OrgTree` indexes no more).
        let mut gone: Vec<_> = (0..leaving.len() as u32)
            .map(|at| ordered(Slot::Leaving(at)))
            .collect();
        gone.sort_by(|a, b| a.0.cmp(&b.0));
        let wanted = order::merge(wanted(Plane::Technician), wanted(Plane::Administrator));
        order::merge(wanted, gone.into_iter())
            .map(|(_, slot)| slot)
            .collect()
    }

    /// The entries of `slots`, in order, with their actions.
    fn users(&self, slots: &[Slot], leaving: &[Leaving]) -> Part {
        let mut part = Part {
            users: Rows::with_capacity(slots.len()),
            ..Part::default()
        };
        for slot in slots {
            match *slot {
                Slot::Leaving(at) => {
                    let Leaving { entry, action } = leaving[at as usize].clone();
                    part.users.push_full(entry);
                    part.actions.extend(action);
                }
                Slot::Wanted(plane, at) => {
                    let Some(user) = self.desired.plane(plane).get_index(at as usize) else {
                        continue;
                    };
                    let claim = &self.claims[plane as usize].claims[at as usize];
                    match self.wanted(user, plane, claim, &mut part.warnings) {
                        Listed::Unchanged(matched) => {
                            part.unchanged += 1;
                            part.users.push_matched(matched);
                        }
                        Listed::Entry(entry, actions) => {
                            part.users.push_full(entry);
                            part.actions.extend(actions);
                        }
                    }
                }
            }
        }
        part
    }

    fn entry_order<'s>(&'s self, slot: Slot, leaving: &'s [Leaving]) -> EntryOrder<'s> {
        match slot {
            Slot::Wanted(plane, at) => {
                let planes = self.desired.plane(plane);
                let key = planes.get_index(at as usize).map_or("", |user| user.key());
                let node = self.claims[plane as usize].claims[at as usize].keyed();
                (key, plane, node.map(|node| node.id), false)
            }
            Slot::Leaving(at) => {
                let entry = &leaving[at as usize].entry;
                (entry.email.as_str(), entry.plane, entry.node_id, true)
            }
        }
    }

    /// SPEC §5's table for a desired user of `plane` and its claim: a row when its node needs
    /// nothing, else its entry and its actions.
    fn wanted(
        &self,
        user: DesiredUser<'_>,
        plane: Plane,
        claim: &Claim<'_>,
        warnings: &mut Vec<Warning>,
    ) -> Listed {
        let node = match claim {
            Claim::Taken => {
                let entry = self.desired_entry(user, plane, None);
                return Listed::Entry(
                    entry.noted("node claimed by another directory user"),
                    Vec::new(),
                );
            }
            Claim::LinkAndEmailDisagree => {
                let entry = self.desired_entry(user, plane, None);
                return Listed::Entry(
                    entry.noted("link and e-mail point at different nodes"),
                    Vec::new(),
                );
            }
            Claim::Matched(node) => Some(node),
            Claim::None => None,
        };
        let location = node.and_then(|keyed| self.tree.parent_location(keyed.node));
        let wanted = Wanted {
            user,
            pairing: &self.desired.pairings[user.pairing()],
            to: &self.places[user.pairing()],
        };
        let actions = match node {
            Some(node) => rules::bring_in_line(&wanted, node, location, self.policy),
            None => vec![rules::create(&wanted)],
        };
        let note = self.held_back_note(user, node, &actions, warnings);
        if let (None, true, Some(keyed)) = (note, actions.is_empty(), node) {
            let node = keyed.node;
            return Listed::Unchanged(Matched {
                plane,
                // `desired()` bounds the number of users.
                index: user.records().1 as u32,
                node: node.id,
                parent: node.parent,
                role: node.node_type.user_role(),
                enabled: node.is_enabled(),
            });
        }
        let mut entry = self.desired_entry(user, plane, node.map(|keyed| (keyed.node, location)));
        match note {
            Some(note) => Listed::Entry(entry.noted(note), Vec::new()),
            None => {
                entry.actions = actions.iter().map(|a| a.id().to_owned()).collect();
                Listed::Entry(entry, actions)
            }
        }
    }

    /// Why a desired user is left alone whatever `actions` the directory wants (with a warning
    /// where one is due): protected or the account holder, a linked node whose e-mail several
    /// directory users share, or a key several of them share.
    fn held_back_note(
        &self,
        user: DesiredUser<'_>,
        node: Option<&KeyedNode<'_>>,
        actions: &[Action],
        warnings: &mut Vec<Warning>,
    ) -> Option<&'static str> {
        if let Some(why) = rules::held_back(node, Some(user.key()), self.policy) {
            if !actions.is_empty() {
                let kinds: Vec<&str> = actions.iter().map(|a| a.kind().as_str()).collect();
                warnings.push(why.warning(&user.user_key(), &kinds.join(", ")));
            }
            return Some(why.describe());
        }
        if let Some(keyed) = node
            && let Some(node_key) = keyed.key()
            && node_key != user.key()
            && self.held.contains(node_key)
        {
            warnings.push(rules::shared_node_key_warning(user, keyed.node, node_key));
            return Some("the node's e-mail is shared by several directory users");
        }
        self.held
            .contains(user.key())
            .then_some("several directory users share this key")
    }

    /// The entry of a desired user as far as the directory decides it.
    fn desired_entry(
        &self,
        user: DesiredUser<'_>,
        plane: Plane,
        node: Option<(&RescueNode, Option<&GroupLocation>)>,
    ) -> UserEntry {
        let labels = &self.labels;
        let (records, index) = user.records();
        let shown = records.shown(plane, index);
        UserEntry {
            object_id: shown.as_ref().map(|shown| Arc::clone(shown.object_id)),
            display_name: shown.as_ref().map(|shown| Arc::clone(shown.name)),
            role: Some(user.role()),
            pairing: Some(Arc::clone(&labels[user.pairing()])),
            losing_pairings: user
                .losing()
                .map(|pairing| Arc::clone(&labels[pairing]))
                .collect(),
            node_id: node.map(|(node, _)| node.id),
            current_role: node.and_then(|(node, _)| node.node_type.user_role()),
            current_group: node.and_then(|(_, location)| location.map(|l| l.path.clone())),
            current_status: node.map(|(node, _)| status(node)),
            ..UserEntry::new(user.user_key(), plane)
        }
    }
}

/// What the user list says of a desired user.
enum Listed {
    /// Its node needs nothing: a compact row.
    Unchanged(Matched),
    /// Its entry, and its actions.
    Entry(UserEntry, Vec<Action>),
}

fn status(node: &RescueNode) -> Status {
    if node.is_enabled() {
        Status::Enabled
    } else {
        Status::Disabled
    }
}

impl UserEntry {
    /// The entry of `email` in `plane`, knowing nothing else yet.
    fn new(email: UserKey, plane: Plane) -> UserEntry {
        UserEntry {
            email,
            plane,
            object_id: None,
            display_name: None,
            role: None,
            pairing: None,
            losing_pairings: Vec::new(),
            node_id: None,
            current_role: None,
            current_group: None,
            current_status: None,
            actions: Vec::new(),
            note: None,
        }
    }

    fn noted(self, note: &str) -> UserEntry {
        UserEntry {
            note: Some(note.to_owned()),
            ..self
        }
    }
}
