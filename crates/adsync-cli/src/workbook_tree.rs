//! The workbook's Tree sheet: the Rescue hierarchy as it is and as it will be once the plan is
//! applied (the seed product's "preview of the hierarchy tree"). Every node is listed where it
//! is now; users and groups the plan creates or moves in are listed where they will be; the rows
//! the plan changes are filled with their change's colour.

use std::collections::{BTreeMap, HashMap};

use adsync_core::model::{Container, GroupPath, NodeId, NodeType, RescueNode, RescueSnapshot};
use adsync_core::plan::{Action, ActionKind, Plan};
use adsync_core::tree::OrgTree;

use crate::render;
use crate::sheet::{Cell, Mark, Sheet};

/// Where a group is: its container and its path below it.
type Place = (Container, String);

/// The plan's actions, indexed for the walk.
struct Changes<'a> {
    /// Actions on existing nodes.
    by_node: HashMap<NodeId, Vec<&'a Action>>,
    /// Users created or moved into a group, and groups created below one.
    arriving: BTreeMap<Place, Vec<&'a Action>>,
}

impl<'a> Changes<'a> {
    fn new(plan: &'a Plan) -> Changes<'a> {
        let mut by_node: HashMap<NodeId, Vec<&Action>> = HashMap::new();
        let mut arriving: BTreeMap<Place, Vec<&Action>> = BTreeMap::new();
        for action in &plan.actions {
            if let Some(node) = action.node_id() {
                by_node.entry(node).or_default().push(action);
            }
            let (Some(container), Some(to)) = (action.container(), action.to()) else {
                continue;
            };
            let place = match action.kind() {
                ActionKind::CreateUser | ActionKind::MoveUser => Some(to.clone()),
                ActionKind::CreateGroup => Some(to.parent().unwrap_or_else(GroupPath::root)),
                _ => None,
            };
            if let Some(place) = place {
                arriving
                    .entry((container, place.folded()))
                    .or_default()
                    .push(action);
            }
        }
        Changes { by_node, arriving }
    }
}

const HEADER: [&str; 7] = [
    "tree",
    "type",
    "node id",
    "e-mail",
    "now",
    "after the plan",
    "change",
];

/// The Tree sheet.
pub(crate) fn sheet(plan: &Plan, rescue: &RescueSnapshot) -> Sheet {
    let tree = OrgTree::new(rescue);
    let changes = Changes::new(plan);
    let names = rescue
        .nodes
        .iter()
        .map(|node| (node.id, node.name.as_str()))
        .collect();
    let mut walk = Walk {
        tree: &tree,
        changes: &changes,
        names,
        sheet: sheet_with_header(),
        seen: std::collections::HashSet::new(),
    };
    let mut roots: Vec<&RescueNode> = rescue
        .nodes
        .iter()
        .filter(|node| node.parent.is_none_or(|parent| tree.get(parent).is_none()))
        .collect();
    roots.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    for root in roots {
        walk.node(root, 0);
    }
    walk.sheet
}

fn sheet_with_header() -> Sheet {
    Sheet {
        name: "Tree",
        rows: vec![HEADER.iter().map(|h| Cell::text(*h)).collect()],
        marks: Vec::new(),
        filter: true,
    }
}

struct Walk<'t, 'a> {
    tree: &'t OrgTree<'a>,
    changes: &'t Changes<'t>,
    names: HashMap<NodeId, &'a str>,
    sheet: Sheet,
    seen: std::collections::HashSet<NodeId>,
}

impl Walk<'_, '_> {
    fn node(&mut self, node: &RescueNode, depth: usize) {
        if !self.seen.insert(node.id) {
            return;
        }
        if node.node_type.user_role().is_some() {
            self.user(node, depth);
            return;
        }
        self.push(
            depth,
            &node.name,
            node.node_type.as_str(),
            Cell::number(node.id.0),
            "",
            [String::new(), String::new(), String::new()],
            None,
        );
        let mut children: Vec<&RescueNode> = self.tree.children(node.id).collect();
        children.sort_by(|a, b| {
            (a.node_type.user_role().is_some(), &a.name, a.id).cmp(&(
                b.node_type.user_role().is_some(),
                &b.name,
                b.id,
            ))
        });
        for child in children {
            self.node(child, depth + 1);
        }
        if let Some(location) = self.tree.group(node.id) {
            let place = (location.container, location.path.folded());
            self.arrivals(&place, depth + 1);
        }
    }

    fn user(&mut self, node: &RescueNode, depth: usize) {
        let actions = self
            .changes
            .by_node
            .get(&node.id)
            .cloned()
            .unwrap_or_default();
        let now = status(node.is_enabled(), node.mobile == Some(true));
        let after = after(node, &actions);
        let change = labels(&actions);
        let mark = actions.first().map(|a| Mark::Kind(a.kind()));
        self.push(
            depth,
            &node.name,
            node.node_type.as_str(),
            Cell::number(node.id.0),
            node.email.as_deref().unwrap_or_default(),
            [now, after, change],
            mark,
        );
    }

    /// The users and groups the plan brings into `place`, below its existing children.
    fn arrivals(&mut self, place: &Place, depth: usize) {
        let Some(arriving) = self.changes.arriving.get(place) else {
            return;
        };
        for action in arriving.clone() {
            match action.kind() {
                ActionKind::CreateGroup => self.new_group(action, depth),
                ActionKind::CreateUser => self.new_user(action, depth),
                ActionKind::MoveUser => self.moved_in(action, depth),
                _ => {}
            }
        }
    }

    fn new_group(&mut self, action: &Action, depth: usize) {
        let (Some(container), Some(path)) = (action.container(), action.to()) else {
            return;
        };
        let node_type = match container {
            Container::Administrators => "AdministratorGroup",
            _ => "TechnicianGroup",
        };
        self.push(
            depth,
            path.name(),
            node_type,
            Cell::Empty,
            "",
            [
                "(new)".to_owned(),
                "created".to_owned(),
                render::kind_label(action.kind()).to_owned(),
            ],
            Some(Mark::Kind(action.kind())),
        );
        self.arrivals(&(container, path.folded()), depth + 1);
    }

    fn new_user(&mut self, action: &Action, depth: usize) {
        let name = action.new_user().map_or("", |u| u.name.as_str());
        self.push(
            depth,
            name,
            &user_type(action),
            Cell::Empty,
            action.email().map_or("", |e| e.as_str()),
            [
                "(new)".to_owned(),
                status(true, action.mobile() == Some(true)),
                render::kind_label(action.kind()).to_owned(),
            ],
            Some(Mark::Kind(action.kind())),
        );
    }

    fn moved_in(&mut self, action: &Action, depth: usize) {
        let name = action
            .node_id()
            .and_then(|node| self.names.get(&node).copied())
            .unwrap_or_default()
            .to_owned();
        let from = render::place(
            action
                .from_role()
                .map(|r| r.container())
                .or(action.container()),
            action.from(),
        );
        self.push(
            depth,
            &name,
            &user_type(action),
            Cell::node(action.node_id()),
            action.email().map_or("", |e| e.as_str()),
            [
                format!("in {from}"),
                "moved here".to_owned(),
                render::kind_label(action.kind()).to_owned(),
            ],
            Some(Mark::Kind(action.kind())),
        );
    }

    #[expect(clippy::too_many_arguments, reason = "one row's columns")]
    fn push(
        &mut self,
        depth: usize,
        name: &str,
        node_type: &str,
        id: Cell,
        email: &str,
        [now, after, change]: [String; 3],
        mark: Option<Mark>,
    ) {
        self.sheet.rows.push(vec![
            Cell::text(format!("{}{name}", "    ".repeat(depth))),
            Cell::text(node_type),
            id,
            Cell::text(email),
            Cell::text(now),
            Cell::text(after),
            Cell::text(change),
        ]);
        self.sheet.marks.push(mark);
    }
}

fn status(enabled: bool, mobile: bool) -> String {
    let status = if enabled { "Enabled" } else { "Disabled" };
    if mobile {
        format!("{status}, mobile add-on")
    } else {
        status.to_owned()
    }
}

/// The user's state once `actions` are applied.
fn after(node: &RescueNode, actions: &[&Action]) -> String {
    if actions.is_empty() {
        return String::new();
    }
    let mut enabled = node.is_enabled();
    let mut mobile = node.mobile == Some(true);
    let mut notes = Vec::new();
    for action in actions {
        match action.kind() {
            ActionKind::EnableUser => enabled = true,
            ActionKind::DisableUser => {
                enabled = false;
                if action.mobile() == Some(false) {
                    mobile = false;
                }
            }
            ActionKind::SetMobileLicense => mobile = action.mobile() == Some(true),
            ActionKind::MoveUser => notes.push(format!(
                "moved to {}",
                render::place(action.container(), action.to())
            )),
            ActionKind::UpdateUser => notes.extend(
                action
                    .changes()
                    .into_iter()
                    .flatten()
                    .map(|(attribute, change)| format!("{} {}", attribute.as_str(), change.new)),
            ),
            ActionKind::CreateGroup | ActionKind::CreateUser => {}
        }
    }
    let mut text = status(enabled, mobile);
    for note in notes {
        text.push_str("; ");
        text.push_str(&note);
    }
    text
}

fn labels(actions: &[&Action]) -> String {
    actions
        .iter()
        .map(|action| render::kind_label(action.kind()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn user_type(action: &Action) -> String {
    action
        .role()
        .map(|role| NodeType::for_role(role).as_str().to_owned())
        .unwrap_or_default()
}
