//! A saved plan is re-checked, not trusted (SPEC §6). Before anything in `plan.json` runs,
//! every action is held against the invariants under the configuration in force and what
//! Rescue holds now: protected users and the account holder are never touched; creates and
//! moves go only to the destination of a pairing with the matching role; disables and add-on
//! releases only hit managed users; every other action is one a fresh plan of the same
//! configuration could make for that node (the node is the user's, by e-mail or by link, and
//! the change is one its pairings allow). `blocked` is recomputed from the actions and the
//! current policy, never read from the file. A file with any violation is refused whole.
//!
//! The directory is not read again: what the directory wants of a user (its name, whether it
//! is still a member) is the plan's to say, sealed by its digest or signature; what the
//! configuration and Rescue decide is checked here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::config::{Attribute, Config, DestinationRef};
use crate::hash::{FastMap, FastSet};
use crate::model::{Container, GroupPath, NodeId, Plane, RescueNode, Role, Status, UserKey};
use crate::tree::OrgTree;

use super::destination::container_id;
use super::{
    Action, ActionKind, Blocked, CreateGroup, CreateUser, CurrentState, DisableUser, MoveUser,
    Place, Plan, Policy, SetMobileLicense, Summary, UpdateUser, guard,
};

/// Why a saved plan is refused: every problem found, each naming the action or field at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// One sentence per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (at, problem) in self.problems.iter().enumerate() {
            if at > 0 {
                f.write_str("\n")?;
            }
            write!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// The plan's `format_version` must be `1.<minor>`, with a minor this adsync knows.
pub fn check_format(plan: &Plan) -> Result<(), Refusal> {
    check_format_version(&plan.format_version)
}

/// [`check_format`] for any saved plan's `format_version` (Rescue's and GoTo's are both 1.x).
pub fn check_format_version(version: &str) -> Result<(), Refusal> {
    let (ours_major, ours_minor) = split(super::FORMAT_VERSION).unwrap_or((1, 0));
    match split(version) {
        Some((major, minor)) if major == ours_major && minor <= ours_minor => Ok(()),
        Some((major, _)) if major == ours_major => Err(refusal(format!(
            "`format_version` {:?} is newer than this adsync reads ({}); update adsync or re-run `adsync plan --out`",
            version,
            super::FORMAT_VERSION
        ))),
        _ => Err(refusal(format!(
            "`format_version` {:?} is not a plan format this adsync reads ({}.x); re-run `adsync plan --out`",
            version, ours_major
        ))),
    }
}

fn split(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    let number = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    Some((number(major)?, number(minor)?))
}

fn refusal(problem: String) -> Refusal {
    Refusal {
        problems: vec![problem],
    }
}

/// Checks `plan` against `config` and what Rescue holds now (`current`: a fresh read and the
/// recorded links). Returns the guards the plan trips now, recomputed, or every violation.
///
/// `drifted` holds the actions whose precondition no longer holds
/// ([`crate::execute::check_preconditions`] against the same read): they will not run, so what
/// their node has become since (another person's, moved, disabled by hand) is drift to report,
/// not a violation; every check that does not depend on the node still applies to them.
pub fn verify(
    plan: &Plan,
    config: &Config,
    current: &CurrentState,
    drifted: &BTreeMap<String, String>,
) -> Result<Option<Blocked>, Refusal> {
    check_format(plan)?;
    let tree = OrgTree::new(&current.rescue);
    let world = World::new(config, current, &tree, drifted);
    let mut problems = plan_problems(plan, config, &world);
    let mut seen = BTreeSet::new();
    for action in &plan.actions {
        if !seen.insert(action.id()) {
            problems.push(format!("action `{}` appears twice", action.id()));
            continue;
        }
        if let Err(problem) = world.check(action) {
            problems.push(format!("action `{}`: {problem}", action.id()));
        }
    }
    problems.extend(world.user_problems(plan));
    if !problems.is_empty() {
        return Err(Refusal { problems });
    }
    Ok(world.blocked(plan))
}

/// Problems of the plan as a whole: its summary, and its pairings against the configuration.
fn plan_problems(plan: &Plan, config: &Config, world: &World<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    if plan.summary != Summary::count(&plan.actions, plan.summary.unchanged) {
        problems.push("`summary` does not count the plan's actions".to_owned());
    }
    if plan.pairings.len() != config.pairings.len() {
        problems.push(format!(
            "`pairings` lists {} pairings; the configuration has {}",
            plan.pairings.len(),
            config.pairings.len()
        ));
        return problems;
    }
    for (at, (summary, dest)) in plan.pairings.iter().zip(&world.destinations).enumerate() {
        let same = summary.role == dest.role
            && summary.container == dest.container
            && summary.destination.folded() == dest.folded
            && summary.mobile_license == dest.mobile
            && summary.attributes.iter().copied().collect::<BTreeSet<_>>() == *dest.attributes
            && summary.condition.as_deref() == dest.condition;
        if !same {
            problems.push(format!(
                "pairing {} (`{}`) differs from the configuration's",
                at + 1,
                summary.name
            ));
        }
    }
    problems
}

/// A configured pairing's destination as Rescue holds it now.
struct Dest<'c> {
    role: Role,
    container: Container,
    /// The destination's path, folded for comparison.
    folded: String,
    node: Option<NodeId>,
    mobile: bool,
    attributes: &'c BTreeSet<Attribute>,
    /// The pairing's `where:`, as written.
    condition: Option<&'c str>,
}

/// A node as the checks see it ([`World::node`]).
struct Seen<'a> {
    node: &'a RescueNode,
    /// Its e-mail as a key.
    key: Option<UserKey>,
    /// Its parent.
    parent: Option<NodeId>,
}

/// What the checks need: the policy, the tree now, the destinations, the managed groups and
/// the links.
struct World<'a> {
    policy: Policy,
    tree: &'a OrgTree<'a>,
    destinations: Vec<Dest<'a>>,
    /// The destinations that exist, per plane (`Plane as usize`).
    managed: [FastSet<NodeId>; 2],
    /// The nodes the links name, per plane.
    linked: [FastSet<NodeId>; 2],
    /// The destinations by role, container and folded path.
    by_place: FastMap<(Role, Container, String), Vec<usize>>,
    /// The distinct synced-attribute sets and add-on settings of each role's pairings.
    by_role: BTreeMap<Role, (BTreeSet<&'a BTreeSet<Attribute>>, [bool; 2])>,
    links: &'a CurrentState,
    /// The actions that will not run, with why.
    drifted: &'a BTreeMap<String, String>,
}

impl<'a> World<'a> {
    fn new(
        config: &'a Config,
        current: &'a CurrentState,
        tree: &'a OrgTree<'a>,
        drifted: &'a BTreeMap<String, String>,
    ) -> World<'a> {
        let destinations: Vec<Dest<'a>> = config
            .pairings
            .iter()
            .map(|pairing| {
                let container = pairing.role.container();
                let (path, node) = match (&pairing.rescue_group, pairing.role) {
                    (Some(DestinationRef::Id { id }), role)
                        if role != Role::MasterAdministrator =>
                    {
                        let location = tree.group(*id).filter(|l| l.container == container);
                        (
                            location.map_or_else(GroupPath::root, |l| l.path.clone()),
                            location.map(|_| *id),
                        )
                    }
                    (Some(DestinationRef::Path(path)), role)
                        if role != Role::MasterAdministrator =>
                    {
                        (path.clone(), tree.find_group(container, path))
                    }
                    _ => (GroupPath::root(), tree.container(container)),
                };
                Dest {
                    role: pairing.role,
                    container,
                    folded: path.folded(),
                    node,
                    mobile: pairing.mobile_license,
                    attributes: &pairing.attributes.fields,
                    condition: pairing.condition.as_ref().map(|c| c.as_str()),
                }
            })
            .collect();
        let mut managed: [FastSet<NodeId>; 2] = Default::default();
        let mut by_place: FastMap<_, Vec<usize>> = FastMap::default();
        let mut by_role: BTreeMap<Role, (BTreeSet<_>, [bool; 2])> = BTreeMap::new();
        for (at, dest) in destinations.iter().enumerate() {
            if let Some(node) = dest.node {
                managed[dest.role.plane() as usize].insert(node);
            }
            let place = (dest.role, dest.container, dest.folded.clone());
            by_place.entry(place).or_default().push(at);
            let (attributes, mobile) = by_role.entry(dest.role).or_default();
            attributes.insert(dest.attributes);
            mobile[usize::from(dest.mobile)] = true;
        }
        let linked = Plane::ALL.map(|plane| current.links.plane(plane).values().copied().collect());
        World {
            policy: Policy::from_config(config),
            tree,
            destinations,
            managed,
            linked,
            by_place,
            by_role,
            links: current,
            drifted,
        }
    }

    /// The guards the plan trips under the current policy and tree (SPEC §6).
    fn blocked(&self, plan: &Plan) -> Option<Blocked> {
        let count = |kind| plan.actions.iter().filter(|a| a.kind() == kind).count() as u64;
        let enabled_managed = self
            .tree
            .nodes()
            .iter()
            .filter(|node| node.is_enabled() && !self.held_back(node))
            .filter(|node| {
                node.node_type
                    .user_role()
                    .is_some_and(|role| self.is_managed(node.id, node.parent, role.plane()))
            })
            .count() as u64;
        let facts: Vec<guard::Paired<'_>> = plan
            .pairings
            .iter()
            .zip(&self.destinations)
            .map(|(summary, dest)| guard::Paired {
                label: &summary.name,
                member_count: summary.member_count,
                plane: dest.role.plane(),
                node: dest.node,
                condition: dest.condition,
            })
            .collect();
        guard::guards(
            count(ActionKind::DisableUser),
            count(ActionKind::MoveUser),
            enabled_managed,
            (self.policy.max_disables, self.policy.max_moves),
            &facts,
            |id| self.tree.children(id),
        )
    }

    /// The user list's matches become links after an apply (`execute::links_after`): each one
    /// must name a node that is its user's, by e-mail or by an existing link, or a forged entry
    /// would make a stranger's node managed by the next run.
    fn user_problems(&self, plan: &Plan) -> Vec<String> {
        let mut problems = Vec::new();
        for user in &plan.users {
            let (Some(_), Some(object_id), Some(id)) = (user.role, &user.object_id, user.node_id)
            else {
                continue;
            };
            let Some(node) = self.tree.get(id) else {
                continue;
            };
            if user
                .actions
                .iter()
                .any(|action| self.drifted.contains_key(action))
            {
                // Its node changed since the plan: the actions drift; see `links_after`.
                continue;
            }
            let plane = node.node_type.user_role().map(Role::plane);
            let linked = self.links.links.plane(user.plane).get(object_id.as_ref()) == Some(&id);
            let owned = plane == Some(user.plane) && node.key().as_ref() == Some(&user.email);
            if !(owned || linked) {
                problems.push(format!(
                    "user `{}` ({}): node {id} is neither theirs by e-mail nor linked to them",
                    user.email,
                    user.plane.as_str()
                ));
            }
        }
        problems
    }

    fn held_back(&self, node: &RescueNode) -> bool {
        node.account_holder
            || node
                .key()
                .is_some_and(|key| self.policy.protected.contains(&key))
    }

    /// SPEC §5: in an existing destination of its plane, or linked.
    fn is_managed(&self, id: NodeId, parent: Option<NodeId>, plane: Plane) -> bool {
        parent.is_some_and(|parent| self.managed[plane as usize].contains(&parent))
            || self.linked[plane as usize].contains(&id)
    }

    /// The pairings of `role` whose destination is `to`.
    fn destinations_at<'s>(
        &'s self,
        role: Role,
        to: &'s Place,
    ) -> impl Iterator<Item = &'s Dest<'a>> + 's {
        let at = self
            .by_place
            .get(&(role, to.container, to.path.folded()))
            .map_or(&[][..], Vec::as_slice);
        at.iter()
            .map(|&at| &self.destinations[at])
            .filter(move |dest| {
                // A destination node the plan names must be the group's now, or gone (drift).
                to.node
                    .is_none_or(|node| dest.node == Some(node) || self.tree.get(node).is_none())
            })
    }

    /// The node `action` acts on, as the checks see it: its e-mail and parent as they are now;
    /// or, when the action drifted (it will not run, and the node may be someone else's since),
    /// as its precondition says they were. `None` when the node is gone (drift too).
    fn node(&self, action: &Action) -> Option<Seen<'a>> {
        let node = self.tree.get(action.node_id()?)?;
        if !self.drifted.contains_key(action.id()) {
            return Some(Seen {
                node,
                key: node.key(),
                parent: node.parent,
            });
        }
        let condition = action.precondition();
        Some(Seen {
            node,
            key: condition.email.as_deref().and_then(UserKey::new),
            parent: condition.parent.or(node.parent),
        })
    }

    fn check(&self, action: &Action) -> Result<(), String> {
        if let Action::CreateGroup(create) = action {
            return self.check_group(create);
        }
        let user = action.user().ok_or("an action without a user")?;
        let plane = user.role.plane();
        let base = format!(
            "{}:{}:{}",
            action.kind().as_str(),
            plane.as_str(),
            user.email
        );
        let unique = action.node_id().map(|node| format!("{base}#{node}"));
        if action.id() != base && unique.as_deref() != Some(action.id()) {
            return Err(format!(
                "its id does not name its kind, plane and e-mail (`{base}`)"
            ));
        }
        if self.policy.protected.contains(&user.email) {
            return Err(format!("`{}` is protected (sync.protected)", user.email));
        }
        if action.node_id().is_some() {
            let condition = action.precondition();
            if condition.email.is_none() || condition.name.is_none() {
                return Err("its precondition does not name the node's e-mail and name".to_owned());
            }
        }
        if let Some(node) = self.node(action) {
            self.check_node(&node, plane)?;
        }
        self.check_kind(action)
    }

    /// The node a user action names, as it is now: a user of the action's plane, neither the
    /// account holder nor protected.
    fn check_node(&self, seen: &Seen<'_>, plane: Plane) -> Result<(), String> {
        let node = seen.node;
        let role = node
            .node_type
            .user_role()
            .ok_or_else(|| format!("node {} is not a user", node.id))?;
        if role.plane() != plane {
            return Err(format!(
                "node {} is a {} user, not of the {} plane",
                node.id,
                role.plane().as_str(),
                plane.as_str()
            ));
        }
        if node.account_holder {
            return Err(format!("node {} is the account holder", node.id));
        }
        if let Some(key) = seen
            .key
            .as_ref()
            .filter(|k| self.policy.protected.contains(*k))
        {
            return Err(format!(
                "node {} is `{key}`, which is protected (sync.protected)",
                node.id
            ));
        }
        Ok(())
    }

    fn check_kind(&self, action: &Action) -> Result<(), String> {
        let full = self.policy.full_group_sync;
        match action {
            Action::CreateGroup(create) => self.check_group(create),
            Action::CreateUser(create) => self.check_create(create),
            Action::MoveUser(_) | Action::UpdateUser(_) if !full => {
                Err("sync.full_group_sync is off: no moves or updates".to_owned())
            }
            Action::MoveUser(move_user) => self.check_move(action, move_user),
            Action::UpdateUser(update) => self.check_update(action, update),
            Action::EnableUser(enable) => {
                expect_status(&enable.precondition.status, Status::Disabled)?;
                self.check_owner(action)
            }
            Action::SetMobileLicense(set) => self.check_mobile(action, set),
            Action::DisableUser(disable) => self.check_disable(action, disable),
        }
    }

    fn check_group(&self, create: &CreateGroup) -> Result<(), String> {
        let id = format!(
            "create_group:{}:{}",
            container_id(create.container),
            create.path.as_str()
        );
        if create.id != id {
            return Err(format!(
                "its id does not name its container and path (`{id}`)"
            ));
        }
        if !self.policy.create_missing_groups {
            return Err("sync.create_missing_groups is off: no groups are created".to_owned());
        }
        if !create.precondition.absent || create.path.is_root() {
            return Err("a group create must require that no group exists at its path".to_owned());
        }
        let folded = create.path.folded();
        let below = format!("{folded}/");
        let needed = self.destinations.iter().any(|dest| {
            dest.container == create.container
                && (dest.folded == folded || dest.folded.starts_with(&below))
        });
        if !needed {
            return Err(format!(
                "no pairing's destination is `{}` or lies below it",
                create.path.as_str()
            ));
        }
        self.check_group_parent(create)
    }

    /// A group's parent node, when the plan names one that exists, is the group at the parent
    /// path (or the container itself) in the same container.
    fn check_group_parent(&self, create: &CreateGroup) -> Result<(), String> {
        let Some(parent) = create.parent.filter(|node| self.tree.get(*node).is_some()) else {
            return Ok(());
        };
        let wanted = create.path.parent().unwrap_or_default();
        let fits = self
            .tree
            .group(parent)
            .is_some_and(|l| l.container == create.container && l.path.folded() == wanted.folded());
        if fits {
            Ok(())
        } else {
            Err(format!(
                "its parent node {parent} is not `{}` in {}",
                wanted.as_str(),
                create.container.display_name()
            ))
        }
    }

    fn check_create(&self, create: &CreateUser) -> Result<(), String> {
        if !create.precondition.absent {
            return Err("a user create must require that no node has the e-mail yet".to_owned());
        }
        if UserKey::new(&create.fields.email).as_ref() != Some(&create.user.email) {
            return Err("the new user's e-mail is not the action's".to_owned());
        }
        let mut at = self
            .destinations_at(create.user.role, &create.to)
            .peekable();
        if at.peek().is_none() {
            return Err(no_destination(create.user.role, &create.to));
        }
        if !at.any(|dest| dest.mobile == create.fields.mobile) {
            return Err(
                "the mobile add-on is not what the destination's pairing grants".to_owned(),
            );
        }
        Ok(())
    }

    fn check_move(&self, action: &Action, move_user: &MoveUser) -> Result<(), String> {
        let role = move_user.user.role;
        if self.destinations_at(role, &move_user.to).next().is_none() {
            return Err(no_destination(role, &move_user.to));
        }
        if move_user
            .from_role
            .is_some_and(|from| from == role || from.plane() != role.plane())
        {
            return Err("`from_role` is not another role of the same plane".to_owned());
        }
        self.check_owner(action)
    }

    fn check_update(&self, action: &Action, update: &UpdateUser) -> Result<(), String> {
        if update.changes.is_empty() {
            return Err("an update that changes nothing".to_owned());
        }
        let changed: BTreeSet<Attribute> = update.changes.keys().copied().collect();
        let allowed = self
            .by_role
            .get(&update.user.role)
            .is_some_and(|(sets, _)| sets.iter().any(|set| changed.is_subset(set)));
        if !allowed {
            return Err("it changes attributes no pairing of its role syncs".to_owned());
        }
        if let Some(change) = update.changes.get(&Attribute::Email)
            && UserKey::new(&change.new).as_ref() != Some(&update.user.email)
        {
            return Err("it sets an e-mail other than the user's".to_owned());
        }
        let expected: BTreeMap<Attribute, String> = update
            .changes
            .iter()
            .map(|(attribute, change)| (*attribute, change.old.clone()))
            .collect();
        if update.precondition.values != expected {
            return Err("its precondition does not hold the values it changes".to_owned());
        }
        self.check_owner(action)
    }

    fn check_mobile(&self, action: &Action, set: &SetMobileLicense) -> Result<(), String> {
        // Releasing the add-on of a managed user nobody wants (SPEC §5); its node sits where
        // `from` says, unless that was no group.
        let release = !set.mobile && set.precondition.status == Some(Status::Disabled);
        if set.from.is_some() || (release && !self.policy.full_group_sync) {
            if set.mobile {
                return Err("an add-on release that turns the add-on on".to_owned());
            }
            expect_status(&set.precondition.status, Status::Disabled)?;
            return self.check_leaving(action);
        }
        if release && self.check_leaving(action).is_ok() {
            return Ok(());
        }
        if !self.policy.full_group_sync {
            return Err("sync.full_group_sync is off: no add-on changes".to_owned());
        }
        let allowed = self
            .by_role
            .get(&set.user.role)
            .is_some_and(|(_, mobile)| mobile[usize::from(set.mobile)]);
        if !allowed {
            return Err(format!(
                "no pairing of role {} {} the mobile add-on",
                set.user.role.as_str(),
                if set.mobile { "grants" } else { "withholds" }
            ));
        }
        self.check_owner(action)
    }

    fn check_disable(&self, action: &Action, disable: &DisableUser) -> Result<(), String> {
        expect_status(&disable.precondition.status, Status::Enabled)?;
        self.check_leaving(action)
    }

    /// A desired user's action: the node is the user's, by e-mail or by its link.
    fn check_owner(&self, action: &Action) -> Result<(), String> {
        let Some(user) = action.user() else {
            return Err("an action without a user".to_owned());
        };
        let Some(node) = self.node(action) else {
            // Gone since: it drifts and will not run.
            return Ok(());
        };
        let id = node.node.id;
        let linked = user.object_id.as_ref().is_some_and(|object_id| {
            self.links.links.plane(user.role.plane()).get(object_id) == Some(&id)
        });
        if node.key.as_ref() == Some(&user.email) || linked {
            return Ok(());
        }
        Err(format!(
            "node {id} is neither `{}` by e-mail nor linked to it",
            user.email
        ))
    }

    /// A disable or release: the node is managed and is the user's by e-mail.
    fn check_leaving(&self, action: &Action) -> Result<(), String> {
        let Some(user) = action.user() else {
            return Err("an action without a user".to_owned());
        };
        let Some(node) = self.node(action) else {
            // Gone since: it drifts and will not run.
            return Ok(());
        };
        let id = node.node.id;
        if node.key.as_ref() != Some(&user.email) {
            return Err(format!("node {id} is not `{}`", user.email));
        }
        if !self.is_managed(id, node.parent, user.role.plane()) {
            return Err(format!(
                "node {id} is not managed: it is in no destination group of its plane and not linked"
            ));
        }
        Ok(())
    }
}

fn expect_status(status: &Option<Status>, wanted: Status) -> Result<(), String> {
    if *status == Some(wanted) {
        Ok(())
    } else {
        Err(format!(
            "its precondition does not require the node to be {}",
            wanted.as_str()
        ))
    }
}

fn no_destination(role: Role, to: &Place) -> String {
    format!(
        "`{}` in {} is not the destination of any {} pairing",
        to.path.as_str(),
        to.container.display_name(),
        role.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixture::demo;
    use super::*;
    use crate::config::Budget;
    use crate::plan::{DisableUser, Location, Precondition, UserRef};

    fn refused(plan: &Plan, config: &Config, current: &CurrentState, id: &str, why: &str) {
        let refusal = verify(plan, config, current, &BTreeMap::new()).expect_err("refused");
        let text = refusal.to_string();
        assert!(
            text.contains(&format!("action `{id}`")) && text.contains(why),
            "{text}"
        );
    }

    /// A disable of node `node` (`email`) sitting in `path` of the technicians or master
    /// administrators, as a hand edit would add it.
    fn disable(email: &str, node: u64, role: Role, container: Container, path: &str) -> Action {
        let plane = role.plane();
        Action::DisableUser(DisableUser {
            id: format!("disable_user:{}:{email}", plane.as_str()),
            user: UserRef {
                role,
                email: UserKey::new(email).expect("key"),
                object_id: None,
            },
            node_id: NodeId(node),
            from: Some(Location {
                container,
                path: GroupPath::parse(path),
            }),
            release_mobile: true,
            reason: "no longer in any paired group".into(),
            precondition: Precondition {
                status: Some(Status::Enabled),
                email: Some(email.to_owned()),
                name: Some(String::new()),
                ..Precondition::default()
            },
        })
    }

    fn with(mut plan: Plan, action: Action) -> Plan {
        plan.actions.push(action);
        plan.summary = Summary::count(&plan.actions, plan.summary.unchanged);
        plan
    }

    #[test]
    fn a_fresh_plan_passes_and_keeps_its_guards() {
        let (config, current, plan) = demo();
        assert_eq!(
            verify(&plan, &config, &current, &BTreeMap::new()),
            Ok(plan.blocked.clone())
        );
    }

    #[test]
    fn a_create_retargeted_to_master_administrators_is_refused() {
        let (config, current, mut plan) = demo();
        let id = "create_user:technician:tomas.novak@contoso.com";
        let Some(Action::CreateUser(create)) = plan.actions.iter_mut().find(|a| a.id() == id)
        else {
            panic!("the demo creates Tomás")
        };
        create.to = Place {
            container: Container::MasterAdministrators,
            path: GroupPath::root(),
            node: Some(NodeId(2)),
        };
        refused(
            &plan,
            &config,
            &current,
            id,
            "is not the destination of any technician",
        );
        // As a master administrator, the role changes the id, which no longer matches.
        let Some(Action::CreateUser(create)) = plan.actions.iter_mut().find(|a| a.id() == id)
        else {
            panic!("still there")
        };
        create.user.role = Role::MasterAdministrator;
        refused(&plan, &config, &current, id, "its id does not name");
    }

    #[test]
    fn added_disables_of_the_protected_the_account_holder_and_the_unmanaged_are_refused() {
        let (config, current, plan) = demo();
        let cases = [
            (
                disable(
                    "it-breakglass@contoso.com",
                    101,
                    Role::MasterAdministrator,
                    Container::MasterAdministrators,
                    "",
                ),
                "is protected",
            ),
            (
                disable(
                    "owner@contoso.com",
                    100,
                    Role::MasterAdministrator,
                    Container::MasterAdministrators,
                    "",
                ),
                "is the account holder",
            ),
        ];
        for (action, why) in cases {
            let id = action.id().to_owned();
            refused(&with(plan.clone(), action), &config, &current, &id, why);
        }
        // A technician in Contractors, which no pairing manages.
        let contractor = current
            .rescue
            .nodes
            .iter()
            .find(|node| node.parent == Some(NodeId(13)) && node.key().is_some())
            .expect("the demo has a contractor");
        let email = contractor.key().expect("key");
        let action = disable(
            email.as_str(),
            contractor.id.0,
            Role::Technician,
            Container::Technicians,
            "Contractors",
        );
        let id = action.id().to_owned();
        refused(
            &with(plan, action),
            &config,
            &current,
            &id,
            "is not managed",
        );
    }

    #[test]
    fn blocked_is_recomputed_not_read() {
        let (mut config, current, mut plan) = demo();
        assert!(plan.blocked.is_none());
        config.sync.safety.max_disables = Budget::Count(1);
        plan.blocked = None;
        let blocked = verify(&plan, &config, &current, &BTreeMap::new())
            .expect("valid")
            .expect("blocked");
        assert!(
            blocked.reason.contains("4 users would be disabled"),
            "{}",
            blocked.reason
        );
    }

    #[test]
    fn unknown_format_versions_are_refused() {
        let (config, current, mut plan) = demo();
        for version in ["99.0", "banana", "1", "1.x", "", "2.0", "1.1", "-1.0"] {
            plan.format_version = version.to_owned();
            let refusal = verify(&plan, &config, &current, &BTreeMap::new()).expect_err(version);
            assert!(refusal.to_string().contains("format_version"), "{refusal}");
        }
    }

    #[test]
    fn an_action_on_a_node_that_is_not_the_users_is_refused() {
        let (config, current, mut plan) = demo();
        let id = "enable_user:administrator:uma.reddy@contoso.com";
        let Some(Action::EnableUser(enable)) = plan.actions.iter_mut().find(|a| a.id() == id)
        else {
            panic!("the demo enables Uma")
        };
        // Xavier's node, an administrator in a managed group.
        enable.node_id = NodeId(113);
        refused(
            &plan,
            &config,
            &current,
            id,
            "neither `uma.reddy@contoso.com` by e-mail nor linked",
        );
    }

    #[test]
    fn a_group_create_is_checked_against_the_pairings_and_its_parent() {
        let (mut config, _, _) = demo();
        config.sync.create_missing_groups = true;
        config.pairings[3].rescue_group =
            Some(DestinationRef::Path(GroupPath::parse("Helpdesk/L3")));
        let (current, mut plan) = super::super::fixture::demo_planned_with(&config);
        assert_eq!(
            verify(&plan, &config, &current, &BTreeMap::new()),
            Ok(plan.blocked.clone())
        );
        let id = "create_group:technicians:Helpdesk/L3";
        let Some(Action::CreateGroup(create)) = plan.actions.iter_mut().find(|a| a.id() == id)
        else {
            panic!("the plan creates Helpdesk/L3")
        };
        // Under Master Administrators instead of Helpdesk.
        create.parent = Some(NodeId(2));
        refused(
            &plan,
            &config,
            &current,
            id,
            "its parent node 2 is not `Helpdesk` in Technicians",
        );
        config.sync.create_missing_groups = false;
        refused(
            &plan,
            &config,
            &current,
            id,
            "sync.create_missing_groups is off",
        );
    }

    /// Between `plan --out` and `apply`, Oscar's node was given to a new hire: the disable
    /// drifts (it will not run) rather than refusing the plan; a plan that only claimed that
    /// node is Oscar's, without drifting, is a forgery and refused.
    #[test]
    fn a_node_reassigned_since_the_plan_drifts_rather_than_refuses() {
        let (config, mut current, plan) = demo();
        let id = "disable_user:technician:oscar.lindqvist@contoso.com";
        for node in &mut current.rescue.nodes {
            if node.id == NodeId(310) {
                node.email = Some("new.hire@contoso.com".into());
                node.name = "New Hire".into();
            }
        }
        let drifted = crate::execute::check_preconditions(&plan, &current.rescue);
        assert!(drifted.contains_key(id), "{drifted:?}");
        assert!(verify(&plan, &config, &current, &drifted).is_ok());
        refused(
            &plan,
            &config,
            &current,
            id,
            "node 310 is not `oscar.lindqvist@contoso.com`",
        );
    }

    #[test]
    fn a_forged_match_in_the_user_list_is_refused() {
        let (config, current, mut plan) = demo();
        // Hana is matched to her node 205; a forged entry would link her to Ext Helper's 400.
        let mut users: Vec<super::super::UserEntry> = plan.users.iter().collect();
        let hana = users
            .iter_mut()
            .find(|user| user.email.as_str() == "hana.sato@contoso.com")
            .expect("Hana is in the demo");
        hana.node_id = Some(NodeId(400));
        plan.users = users.into();
        let refusal = verify(&plan, &config, &current, &BTreeMap::new()).expect_err("refused");
        assert!(
            refusal
                .to_string()
                .contains("user `hana.sato@contoso.com` (technician): node 400 is neither"),
            "{refusal}"
        );
    }

    #[test]
    fn an_update_outside_the_pairings_attributes_is_refused() {
        let (config, current, mut plan) = demo();
        let id = "update_user:technician:priya.nair@contoso.com";
        let Some(Action::UpdateUser(update)) = plan.actions.iter_mut().find(|a| a.id() == id)
        else {
            panic!("the demo updates Priya")
        };
        update.changes.insert(
            Attribute::Nick,
            super::super::Change {
                old: String::new(),
                new: "boss".into(),
                mapped: None,
            },
        );
        update
            .precondition
            .values
            .insert(Attribute::Nick, String::new());
        refused(&plan, &config, &current, id, "no pairing of its role syncs");
    }
}
