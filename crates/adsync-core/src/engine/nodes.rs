//! The Rescue nodes as the claims look them up: by e-mail within a plane, and by the links the
//! state directory recorded.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::hash_map::Entry;

use crate::hash::{FastMap, FastSet};
use crate::model::{NodeId, Plane, RescueNode, UserKey};
use crate::tree::OrgTree;

use super::Cores;

/// The user nodes of a plane with one e-mail: nearly always one.
enum Found<'a> {
    One(&'a RescueNode),
    /// In id order, then listing order.
    Several(Vec<&'a RescueNode>),
}

/// Lookups over the user nodes of a tree and over the links, per plane (`Plane as usize`).
pub(crate) struct NodeIndex<'a> {
    /// The user nodes of each plane by e-mail (normalised as keys are).
    by_email: [FastMap<Cow<'a, str>, Found<'a>>; 2],
    /// The node each link of a plane names, by directory object id.
    links: [FastMap<&'a str, NodeId>; 2],
}

impl<'a> NodeIndex<'a> {
    /// The index of `tree`'s user nodes and of each plane's `links` (directory object id ->
    /// node id); one plane on each core.
    pub(crate) fn new(
        tree: &OrgTree<'a>,
        links: [&'a BTreeMap<String, NodeId>; 2],
        cores: Cores,
    ) -> NodeIndex<'a> {
        let nodes = tree.nodes();
        let plane = |plane: Plane| {
            let links = links[plane as usize];
            let by_object_id: FastMap<&str, NodeId> = links
                .iter()
                .map(|(id, node)| (id.as_str(), *node))
                .collect();
            (by_email(nodes, plane), by_object_id)
        };
        let (technician, administrator) = cores.join(
            nodes.len(),
            || plane(Plane::Technician),
            || plane(Plane::Administrator),
        );
        NodeIndex {
            by_email: [technician.0, administrator.0],
            links: [technician.1, administrator.1],
        }
    }

    /// The user nodes of `plane` whose e-mail is `key`, in id order, then listing order.
    pub(crate) fn with_email(&self, plane: Plane, key: &str) -> &[&'a RescueNode] {
        match self.by_email[plane as usize].get(key) {
            None => &[],
            Some(Found::One(node)) => std::slice::from_ref(node),
            Some(Found::Several(nodes)) => nodes,
        }
    }

    /// The node id a link of `plane` records for directory object id `object_id`.
    pub(crate) fn link(&self, plane: Plane, object_id: &str) -> Option<NodeId> {
        self.links[plane as usize].get(object_id).copied()
    }

    /// The node ids the links of each plane name.
    pub(crate) fn linked(&self) -> [FastSet<NodeId>; 2] {
        self.links
            .each_ref()
            .map(|links| links.values().copied().collect())
    }
}

/// The user nodes of `plane` by e-mail.
fn by_email(nodes: &[RescueNode], plane: Plane) -> FastMap<Cow<'_, str>, Found<'_>> {
    let mut by_email: FastMap<Cow<'_, str>, Found<'_>> = FastMap::default();
    by_email.reserve(nodes.len() / 2);
    for node in nodes {
        if node
            .node_type
            .user_role()
            .is_none_or(|role| role.plane() != plane)
        {
            continue;
        }
        // Rescue's e-mails are nearly always normalised already, and then borrowed.
        let Some(key) = node.email.as_deref().and_then(UserKey::normalize) else {
            continue;
        };
        match by_email.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(Found::One(node));
            }
            Entry::Occupied(mut slot) => {
                let found = slot.get_mut();
                match found {
                    Found::One(first) => *found = Found::Several(vec![*first, node]),
                    Found::Several(nodes) => nodes.push(node),
                }
            }
        }
    }
    for found in by_email.values_mut() {
        if let Found::Several(nodes) = found {
            // Listing order within equal ids: the sort is stable.
            nodes.sort_by_key(|node| node.id);
        }
    }
    by_email
}
