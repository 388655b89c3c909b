//! Which Rescue users a plan looks at closely, and which of their fields, so a target reads
//! details only for them ([`DetailRequest`], what [`crate::adapter::Target::snapshot`] is asked).

use std::collections::BTreeSet;

use crate::model::{Container, GroupPath, NodeId, RescueSnapshot, UserKey};
use crate::tree::OrgTree;

/// Which user fields beyond the hierarchy the planner needs, and for which nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetailRequest {
    /// Nickname.
    pub nick: bool,
    /// SSO ID.
    pub ssoid: bool,
    /// Mobile and RPAT add-ons.
    pub addons: bool,
    /// The destination group node ids and container node ids whose direct user children are in
    /// scope, as far as they are known before the read.
    pub scope: ReadScope,
}

impl DetailRequest {
    /// Whether any detail read is needed at all.
    pub fn any(&self) -> bool {
        self.nick || self.ssoid || self.addons
    }
}

/// The users in scope of a plan, described before the Rescue tree is read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadScope {
    /// Destinations named by path.
    pub paths: BTreeSet<(Container, GroupPath)>,
    /// Destinations named by node id.
    pub ids: BTreeSet<NodeId>,
    /// Identity keys the directory wants in some plane.
    pub keys: BTreeSet<UserKey>,
    /// Nodes linked to directory users in the state directory.
    pub linked: BTreeSet<NodeId>,
}

impl ReadScope {
    /// The user nodes of `snapshot` in scope: direct members of a destination, nodes whose e-mail
    /// the directory wants, and linked nodes. In node-id order.
    pub fn users_in(&self, snapshot: &RescueSnapshot) -> Vec<NodeId> {
        let tree = OrgTree::new(snapshot);
        let mut destinations: BTreeSet<NodeId> = self.ids.clone();
        for (container, path) in &self.paths {
            if let Some(id) = tree.find_group(*container, path) {
                destinations.insert(id);
            }
        }
        let mut users: Vec<NodeId> = snapshot
            .nodes
            .iter()
            .filter(|node| node.node_type.user_role().is_some())
            .filter(|node| {
                node.parent
                    .is_some_and(|parent| destinations.contains(&parent))
                    || self.linked.contains(&node.id)
                    || node.key().is_some_and(|key| self.keys.contains(&key))
            })
            .map(|node| node.id)
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }
}

/// What a target must read for a plan of `config` and `desired`: the detail fields the
/// configured attributes need, for the users in scope.
pub fn detail_request(
    config: &crate::config::Config,
    desired: &crate::desired::DesiredState,
    links: &crate::plan::Links,
) -> DetailRequest {
    use crate::config::Attribute;
    use crate::desired::Destination;

    let mut scope = ReadScope::default();
    for pairing in &desired.pairings {
        match &pairing.destination {
            Destination::Path(container, path) => {
                scope.paths.insert((*container, path.clone()));
            }
            Destination::Id(_, id) => {
                scope.ids.insert(*id);
            }
        }
    }
    for plane in crate::model::Plane::ALL {
        scope
            .keys
            .extend(desired.plane(plane).keys().map(UserKey::from_normalized));
    }
    scope.linked.extend(links.technician.values().copied());
    scope.linked.extend(links.administrator.values().copied());
    let synced = |attribute: Attribute| {
        config.sync.full_group_sync
            && desired
                .pairings
                .iter()
                .any(|p| p.attributes.contains(&attribute))
    };
    DetailRequest {
        nick: synced(Attribute::Nick),
        ssoid: synced(Attribute::Ssoid),
        // Add-on state decides set_mobile_license in full sync, and the release of a disabled
        // user's licence in both modes.
        addons: true,
        scope,
    }
}

/// What a target must read to check a saved plan's preconditions: every node the plan acts on,
/// every e-mail it creates, with the fields its preconditions name.
pub fn detail_request_for_plan(plan: &crate::plan::Plan) -> DetailRequest {
    use crate::config::Attribute;

    let mut scope = ReadScope::default();
    let mut nick = false;
    let mut ssoid = false;
    for action in &plan.actions {
        scope.linked.extend(action.node_id());
        scope.keys.extend(action.email().cloned());
        nick |= action.precondition().values.contains_key(&Attribute::Nick);
        ssoid |= action.precondition().values.contains_key(&Attribute::Ssoid);
    }
    DetailRequest {
        nick,
        ssoid,
        addons: true,
        scope,
    }
}
