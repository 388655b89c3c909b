//! An index over a Rescue snapshot: nodes by id, children, and for every group its container and
//! path. Built once per plan; everything that walks the organization tree goes through it.

use std::sync::OnceLock;

use crate::hash::FastMap;

use crate::model::{Container, GroupPath, NodeId, NodeType, RescueNode, RescueSnapshot};

/// Where a group node sits: its container and its path below it (empty for the container).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupLocation {
    /// The container above it.
    pub container: Container,
    /// The path below the container.
    pub path: GroupPath,
}

/// The index.
#[derive(Debug)]
pub struct OrgTree<'a> {
    nodes: &'a [RescueNode],
    /// The position of the first node listed with each id.
    by_id: FastMap<NodeId, u32>,
    /// Per parent, the positions of its group nodes, in listing order: what the walk from the
    /// containers needs, without reading the hundreds of thousands of user nodes.
    group_children: FastMap<NodeId, Vec<u32>>,
    /// Every parent's children, in listing order, made on first use: the planner needs them
    /// only for the empty-group guard, `adsync tree` for the whole tree.
    children: OnceLock<FastMap<NodeId, Vec<u32>>>,
    groups: FastMap<NodeId, GroupLocation>,
    by_path: FastMap<(Container, String), NodeId>,
    containers: FastMap<Container, NodeId>,
}

impl<'a> OrgTree<'a> {
    /// Indexes `snapshot`. Nodes whose parent is missing, and cycles, are kept but sit in no
    /// container.
    pub fn new(snapshot: &'a RescueSnapshot) -> OrgTree<'a> {
        // Positions from `u32::MAX` on are not indexed; `plan()` refuses such trees.
        let nodes = snapshot.nodes.as_slice();
        let nodes = &nodes[..nodes.len().min(u32::MAX as usize)];
        let mut by_id = FastMap::default();
        by_id.reserve(nodes.len());
        for (at, node) in nodes.iter().enumerate() {
            by_id.entry(node.id).or_insert(at as u32);
        }
        let mut tree = OrgTree {
            nodes,
            by_id,
            group_children: FastMap::default(),
            children: OnceLock::new(),
            groups: FastMap::default(),
            by_path: FastMap::default(),
            containers: FastMap::default(),
        };
        tree.locate_groups();
        tree
    }

    fn locate_groups(&mut self) {
        // One pass in listing order: the containers, and the group nodes under each parent.
        for (at, node) in self.nodes.iter().enumerate() {
            if let Some(container) = node.node_type.container() {
                // A well-formed tree has one container of each kind. Should there be several, the
                // lowest id wins, so the choice does not depend on the order of the snapshot.
                let chosen = self.containers.entry(container).or_insert(node.id);
                *chosen = (*chosen).min(node.id);
            } else if matches!(
                node.node_type,
                NodeType::TechnicianGroup | NodeType::AdministratorGroup
            ) && let Some(parent) = node.parent
            {
                self.group_children
                    .entry(parent)
                    .or_default()
                    .push(at as u32);
            }
        }
        let mut stack: Vec<(NodeId, Container, GroupPath)> = Vec::new();
        let mut roots: Vec<(NodeId, Container)> =
            self.containers.iter().map(|(&c, &id)| (id, c)).collect();
        roots.sort_unstable();
        for (id, container) in roots {
            stack.push((id, container, GroupPath::root()));
        }
        while let Some((id, container, path)) = stack.pop() {
            if self.groups.contains_key(&id) {
                continue; // a cycle
            }
            // Sibling groups whose names differ only in case share a folded path. The lowest id
            // wins, not the first one walked: plans must not depend on the order the snapshot
            // lists nodes in (SPEC §5).
            let at_path = self.by_path.entry((container, path.folded())).or_insert(id);
            *at_path = (*at_path).min(id);
            self.groups.insert(
                id,
                GroupLocation {
                    container,
                    path: path.clone(),
                },
            );
            let Some(children) = self.group_children.get(&id) else {
                continue;
            };
            for &child in children {
                let node = &self.nodes[child as usize];
                let is_group = matches!(
                    (container, &node.node_type),
                    (Container::Technicians, NodeType::TechnicianGroup)
                        | (Container::Administrators, NodeType::AdministratorGroup)
                );
                if is_group {
                    stack.push((node.id, container, path.join(&node.name)));
                }
            }
        }
    }

    /// All nodes.
    pub fn nodes(&self) -> &'a [RescueNode] {
        self.nodes
    }

    /// The position in [`Self::nodes`] of the node with `id` (the first one listed, should
    /// several share it).
    pub fn position(&self, id: NodeId) -> Option<usize> {
        self.by_id.get(&id).map(|&at| at as usize)
    }

    /// The node with `id`.
    pub fn get(&self, id: NodeId) -> Option<&'a RescueNode> {
        self.position(id).map(|at| &self.nodes[at])
    }

    /// The direct children of `id`.
    pub fn children(&self, id: NodeId) -> impl Iterator<Item = &'a RescueNode> + '_ {
        self.children
            .get_or_init(|| {
                let mut children: FastMap<NodeId, Vec<u32>> = FastMap::default();
                for (at, node) in self.nodes.iter().enumerate() {
                    if let Some(parent) = node.parent {
                        children.entry(parent).or_default().push(at as u32);
                    }
                }
                children
            })
            .get(&id)
            .into_iter()
            .flatten()
            .map(|&at| &self.nodes[at as usize])
    }

    /// The node id of a container.
    pub fn container(&self, container: Container) -> Option<NodeId> {
        self.containers.get(&container).copied()
    }

    /// Where group (or container) `id` sits; `None` for anything that is not a located group.
    pub fn group(&self, id: NodeId) -> Option<&GroupLocation> {
        self.groups.get(&id)
    }

    /// Every located group (containers included), in no particular order.
    pub fn groups(&self) -> impl Iterator<Item = (NodeId, &GroupLocation)> + '_ {
        self.groups.iter().map(|(&id, location)| (id, location))
    }

    /// The group at `path` below `container` (names compared ignoring case).
    pub fn find_group(&self, container: Container, path: &GroupPath) -> Option<NodeId> {
        self.by_path.get(&(container, path.folded())).copied()
    }

    /// The location of the group a user node sits in.
    pub fn parent_location(&self, node: &RescueNode) -> Option<&GroupLocation> {
        node.parent.and_then(|parent| self.groups.get(&parent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u64, parent: u64, name: &str) -> RescueNode {
        let mut node = RescueNode::group(id, Some(parent), NodeType::Technician, name);
        node.email = Some(format!("{name}@contoso.com"));
        node
    }

    /// A small organization listed out of order: users before their groups, siblings apart, a
    /// group below a user (never located), a cycle, an orphan and an id listed twice.
    fn snapshot() -> RescueSnapshot {
        RescueSnapshot {
            nodes: vec![
                user(100, 11, "ann"),
                RescueNode::group(1, None, NodeType::Root, "Org"),
                user(101, 10, "bob"),
                RescueNode::group(3, Some(1), NodeType::Technicians, "Technicians"),
                RescueNode::group(11, Some(10), NodeType::TechnicianGroup, "L2"),
                user(102, 11, "cy"),
                RescueNode::group(10, Some(3), NodeType::TechnicianGroup, "Helpdesk"),
                RescueNode::group(12, Some(100), NodeType::TechnicianGroup, "Under a user"),
                RescueNode::group(20, Some(21), NodeType::TechnicianGroup, "Loop A"),
                RescueNode::group(21, Some(20), NodeType::TechnicianGroup, "Loop B"),
                user(103, 99, "orphan"),
                user(101, 11, "bob again"),
                RescueNode::group(2, Some(1), NodeType::Administrators, "Administrators"),
            ],
        }
    }

    #[test]
    fn children_come_in_listing_order_and_groups_get_their_paths() {
        let snapshot = snapshot();
        let tree = OrgTree::new(&snapshot);
        let names = |id: u64| -> Vec<&str> {
            tree.children(NodeId(id))
                .map(|node| node.name.as_str())
                .collect()
        };
        assert_eq!(names(11), ["ann", "cy", "bob again"]);
        assert_eq!(names(10), ["bob", "L2"]);
        assert_eq!(names(1), ["Technicians", "Administrators"]);
        assert_eq!(names(100), ["Under a user"]);
        assert!(names(101).is_empty());
        assert!(names(404).is_empty());

        let path = |id: u64| tree.group(NodeId(id)).map(|at| at.path.as_str().to_owned());
        assert_eq!(path(10).as_deref(), Some("Helpdesk"));
        assert_eq!(path(11).as_deref(), Some("Helpdesk/L2"));
        assert_eq!(path(3).as_deref(), Some(""));
        // Below a user, in a cycle, or a user itself: no location.
        for id in [12, 20, 21, 100] {
            assert_eq!(path(id), None, "node {id}");
        }
        assert_eq!(
            tree.find_group(Container::Technicians, &GroupPath::parse("helpdesk/l2")),
            Some(NodeId(11))
        );
        assert_eq!(tree.container(Container::Administrators), Some(NodeId(2)));
        assert_eq!(tree.container(Container::MasterAdministrators), None);
    }

    #[test]
    fn an_id_listed_twice_resolves_to_its_first_node() {
        let snapshot = snapshot();
        let tree = OrgTree::new(&snapshot);
        assert_eq!(tree.position(NodeId(101)), Some(2));
        assert_eq!(tree.get(NodeId(101)).map(|n| n.name.as_str()), Some("bob"));
        assert_eq!(tree.position(NodeId(104)), None);
        assert_eq!(tree.position(NodeId(0)), None);
    }
}
