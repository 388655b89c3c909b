//! An index over a Rescue snapshot: nodes by id, children, and for every group its container and
//! path. Built once per plan; everything that walks the organization tree goes through it.

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
    by_id: FastMap<NodeId, usize>,
    /// Per node, the position of the first node listed with its id.
    first: Vec<u32>,
    children: FastMap<NodeId, Vec<usize>>,
    groups: FastMap<NodeId, GroupLocation>,
    by_path: FastMap<(Container, String), NodeId>,
    containers: FastMap<Container, NodeId>,
}

impl<'a> OrgTree<'a> {
    /// Indexes `snapshot`. Nodes whose parent is missing, and cycles, are kept but sit in no
    /// container.
    pub fn new(snapshot: &'a RescueSnapshot) -> OrgTree<'a> {
        let nodes = snapshot.nodes.as_slice();
        let mut by_id: FastMap<NodeId, usize> = FastMap::default();
        by_id.reserve(nodes.len());
        let mut children: FastMap<NodeId, Vec<usize>> = FastMap::default();
        let mut first = Vec::with_capacity(nodes.len());
        for (index, node) in nodes.iter().enumerate() {
            let at = *by_id.entry(node.id).or_insert(index);
            // Positions past `u32::MAX` are left as they are; `plan()` refuses such trees.
            first.push(u32::try_from(at).unwrap_or(u32::MAX));
            if let Some(parent) = node.parent {
                children.entry(parent).or_default().push(index);
            }
        }
        let mut tree = OrgTree {
            nodes,
            by_id,
            first,
            children,
            groups: FastMap::default(),
            by_path: FastMap::default(),
            containers: FastMap::default(),
        };
        tree.locate_groups();
        tree
    }

    fn locate_groups(&mut self) {
        let mut stack: Vec<(NodeId, Container, GroupPath)> = Vec::new();
        for node in self.nodes {
            if let Some(container) = node.node_type.container() {
                // A well-formed tree has one container of each kind. Should there be several, the
                // lowest id wins, so the choice does not depend on the order of the snapshot.
                let chosen = self.containers.entry(container).or_insert(node.id);
                *chosen = (*chosen).min(node.id);
            }
        }
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
            let Some(children) = self.children.get(&id) else {
                continue;
            };
            for &child in children {
                let node = &self.nodes[child];
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
        self.by_id.get(&id).copied()
    }

    /// The position of the first node listed with the id of the node at `at` (`at` itself unless
    /// ids repeat).
    pub(crate) fn first_with_id(&self, at: usize) -> Option<usize> {
        self.first.get(at).map(|&first| first as usize)
    }

    /// The node with `id`.
    pub fn get(&self, id: NodeId) -> Option<&'a RescueNode> {
        self.by_id.get(&id).map(|&index| &self.nodes[index])
    }

    /// The direct children of `id`.
    pub fn children(&self, id: NodeId) -> impl Iterator<Item = &'a RescueNode> + '_ {
        self.children
            .get(&id)
            .into_iter()
            .flatten()
            .map(|&index| &self.nodes[index])
    }

    /// The node id of a container.
    pub fn container(&self, container: Container) -> Option<NodeId> {
        self.containers.get(&container).copied()
    }

    /// Where group (or container) `id` sits; `None` for anything that is not a located group.
    pub fn group(&self, id: NodeId) -> Option<&GroupLocation> {
        self.groups.get(&id)
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
