//! The Rescue nodes as the claims look them up: by e-mail within a plane, and by the links the
//! state directory recorded.

use std::borrow::Cow;

use std::collections::BTreeMap;

use crate::hash::{FastMap, FastSet};
use crate::model::{NodeId, Plane, RescueNode, UserKey};
use crate::tree::OrgTree;

use super::Cores;

/// Lookups over the user nodes of a tree, per plane (`Plane as usize`).
pub(crate) struct NodeIndex<'a> {
    /// The user nodes of each plane by e-mail (normalised as keys are), each list in id order,
    /// then listing order.
    by_email: [FastMap<Cow<'a, str>, Vec<&'a RescueNode>>; 2],
    /// The node each link of a plane names, by directory object id.
    links: [FastMap<&'a str, NodeId>; 2],
    /// The node ids the links of a plane name.
    linked: [FastSet<NodeId>; 2],
}

impl<'a> NodeIndex<'a> {
    /// The index of `tree`'s user nodes and of each plane's `links` (directory object id ->
    /// node id); the planes on two cores.
    pub(crate) fn new(
        tree: &OrgTree<'a>,
        links: [&'a BTreeMap<String, NodeId>; 2],
        cores: Cores,
    ) -> NodeIndex<'a> {
        let nodes = tree.nodes();
        let (technician, administrator) = cores.join(
            nodes.len(),
            || plane_index(nodes, links[0], Plane::Technician),
            || plane_index(nodes, links[1], Plane::Administrator),
        );
        NodeIndex {
            by_email: [technician.0, administrator.0],
            links: [technician.1, administrator.1],
            linked: [technician.2, administrator.2],
        }
    }

    /// The user nodes of `plane` whose e-mail is `key`, in id order, then listing order.
    pub(crate) fn with_email(&self, plane: Plane, key: &str) -> &[&'a RescueNode] {
        self.by_email[plane as usize]
            .get(key)
            .map_or(&[], Vec::as_slice)
    }

    /// The node id a link of `plane` records for directory object id `object_id`.
    pub(crate) fn link(&self, plane: Plane, object_id: &str) -> Option<NodeId> {
        self.links[plane as usize].get(object_id).copied()
    }

    /// Whether a link of `plane` names node `id`.
    pub(crate) fn is_linked(&self, plane: Plane, id: NodeId) -> bool {
        self.linked[plane as usize].contains(&id)
    }
}

type PlaneIndex<'a> = (
    FastMap<Cow<'a, str>, Vec<&'a RescueNode>>,
    FastMap<&'a str, NodeId>,
    FastSet<NodeId>,
);

fn plane_index<'a>(
    nodes: &'a [RescueNode],
    links: &'a BTreeMap<String, NodeId>,
    plane: Plane,
) -> PlaneIndex<'a> {
    let mut by_email: FastMap<Cow<'a, str>, Vec<&RescueNode>> = FastMap::default();
    for node in nodes {
        if node
            .node_type
            .user_role()
            .is_none_or(|role| role.plane() != plane)
        {
            continue;
        }
        // Rescue's e-mails are nearly always normalised already, and then borrowed.
        if let Some(key) = node.email.as_deref().and_then(UserKey::normalize) {
            by_email.entry(key).or_default().push(node);
        }
    }
    for found in by_email.values_mut() {
        // Listed order within equal ids: the sort is stable.
        found.sort_by_key(|node| node.id);
    }
    let mut by_object_id: FastMap<&str, NodeId> = FastMap::default();
    by_object_id.reserve(links.len());
    by_object_id.extend(links.iter().map(|(id, node)| (id.as_str(), *node)));
    let linked = links.values().copied().collect();
    (by_email, by_object_id, linked)
}
