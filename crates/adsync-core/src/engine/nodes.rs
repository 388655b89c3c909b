//! The Rescue nodes as the claims look them up: by e-mail within a plane, and by the links the
//! state directory recorded.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::hash::{FastMap, FastSet};
use crate::model::{NodeId, Plane, RescueNode, UserKey};
use crate::tree::OrgTree;

use super::Cores;

/// The links of each plane (`Plane as usize`), by directory object id.
pub(crate) struct LinkIndex<'a> {
    links: [FastMap<&'a str, NodeId>; 2],
}

impl<'a> LinkIndex<'a> {
    /// The index of each plane's `links` (directory object id -> node id).
    pub(crate) fn new(links: [&'a BTreeMap<String, NodeId>; 2]) -> LinkIndex<'a> {
        LinkIndex {
            links: links.map(|links| {
                links
                    .iter()
                    .map(|(id, node)| (id.as_str(), *node))
                    .collect()
            }),
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

/// The user nodes of each plane (`Plane as usize`) that carry some given e-mails.
pub(crate) struct NodeIndex<'a> {
    /// In id order, then listing order.
    by_email: [FastMap<Cow<'a, str>, Vec<&'a RescueNode>>; 2],
}

impl<'a> NodeIndex<'a> {
    /// The user nodes of `tree` whose e-mail is one of `keys` (per plane, normalised as keys
    /// are); one plane on each core.
    pub(crate) fn new(tree: &OrgTree<'a>, keys: [FastSet<&str>; 2], cores: Cores) -> NodeIndex<'a> {
        let nodes = tree.nodes();
        let [technician, administrator] = &keys;
        let (technician, administrator) = cores.join(
            nodes.len(),
            || by_email(nodes, Plane::Technician, technician),
            || by_email(nodes, Plane::Administrator, administrator),
        );
        NodeIndex {
            by_email: [technician, administrator],
        }
    }

    /// The user nodes of `plane` whose e-mail is `key`, in id order, then listing order (none
    /// when `key` was not asked for).
    pub(crate) fn with_email(&self, plane: Plane, key: &str) -> &[&'a RescueNode] {
        self.by_email[plane as usize]
            .get(key)
            .map_or(&[], Vec::as_slice)
    }
}

/// The user nodes of `plane` whose e-mail is one of `keys`, by e-mail.
fn by_email<'a>(
    nodes: &'a [RescueNode],
    plane: Plane,
    keys: &FastSet<&str>,
) -> FastMap<Cow<'a, str>, Vec<&'a RescueNode>> {
    let mut by_email: FastMap<Cow<'a, str>, Vec<&'a RescueNode>> = FastMap::default();
    if keys.is_empty() {
        return by_email;
    }
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
        if !keys.contains(&*key) {
            continue;
        }
        by_email.entry(key).or_default().push(node);
    }
    for found in by_email.values_mut() {
        // Listing order within equal ids: the sort is stable.
        found.sort_by_key(|node| node.id);
    }
    by_email
}
