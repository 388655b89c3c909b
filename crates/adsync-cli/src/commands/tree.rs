//! `adsync tree [PATH]`: the Rescue organization tree as Rescue holds it now, or the subtree at a
//! group path, marking the pairings' destinations, protected users and the account holder.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;

use adsync_core::adapter::DetailRequest;
use adsync_core::config::{Config, DestinationRef, Pairing};
use adsync_core::model::{Container, GroupPath, NodeId, RescueNode, RescueSnapshot, Role};
use adsync_core::scope::ReadScope;
use adsync_core::tree::OrgTree;

use crate::cli::{Global, TreeArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output;
use crate::style::{Paint, Tone};
use crate::suggest;

pub(crate) async fn run(global: &Global, args: &TreeArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    if let Some(goto) = crate::goto::target_config(&loaded) {
        return crate::goto::tree(global, args, &loaded, goto).await;
    }
    let target = crate::wiring::target(&loaded)?;
    let snapshot = target
        .as_target()
        .snapshot(&details(args.path.as_deref()))
        .await
        .map_err(Error::TargetRead)?;
    let tree = OrgTree::new(&snapshot);
    let marks = Marks::new(&loaded.config, &tree);
    let top = match &args.path {
        Some(path) => vec![find(&tree, &snapshot, path)?],
        None => roots(&tree, &snapshot),
    };
    if args.json {
        output::stdout(&output::json(&json(&tree, &snapshot, &marks, &top, args)))?;
    } else {
        output::stdout(&render(&tree, &marks, &top, Paint::stdout(global)))?;
    }
    Ok(ExitStatus::Success)
}

/// The user details the tree reads, one request per user: the master administrators' (to find
/// the account holder), and for a subtree its group's own users' (their add-ons).
fn details(path: Option<&str>) -> DetailRequest {
    let mut scope = ReadScope::default();
    scope
        .paths
        .insert((Container::MasterAdministrators, GroupPath::root()));
    if let Some(path) = path {
        let trimmed = path.trim().trim_matches('/');
        for container in [Container::Technicians, Container::Administrators] {
            let path = if container.display_name().eq_ignore_ascii_case(trimmed) {
                GroupPath::root()
            } else {
                GroupPath::parse(trimmed)
            };
            scope.paths.insert((container, path));
        }
    }
    DetailRequest {
        addons: true,
        scope,
        ..DetailRequest::default()
    }
}

/// What the tree marks: the pairings' destinations and the protected e-mails.
pub(crate) struct Marks {
    paired: BTreeMap<NodeId, Vec<String>>,
    protected: BTreeSet<String>,
}

impl Marks {
    fn new(config: &Config, tree: &OrgTree<'_>) -> Marks {
        let mut paired: BTreeMap<NodeId, Vec<String>> = BTreeMap::new();
        for pairing in &config.pairings {
            if let Some(node) = destination(tree, pairing) {
                paired.entry(node).or_default().push(pairing.label());
            }
        }
        Marks {
            paired,
            protected: config
                .sync
                .protected
                .iter()
                .map(|email| email.as_str().to_lowercase())
                .collect(),
        }
    }

    fn is_protected(&self, node: &RescueNode) -> bool {
        node.email
            .as_deref()
            .is_some_and(|email| self.protected.contains(&email.trim().to_lowercase()))
    }
}

/// The node a pairing's destination names, when it exists.
pub(crate) fn destination(tree: &OrgTree<'_>, pairing: &Pairing) -> Option<NodeId> {
    let container = pairing.role.container();
    match (&pairing.rescue_group, pairing.role) {
        (_, Role::MasterAdministrator) | (None, _) => tree.container(container),
        (Some(DestinationRef::Path(path)), _) => tree.find_group(container, path),
        (Some(DestinationRef::Id { id }), _) => tree
            .group(*id)
            .filter(|location| location.container == container)
            .map(|_| *id),
    }
}

fn roots<'a>(tree: &OrgTree<'a>, snapshot: &'a RescueSnapshot) -> Vec<&'a RescueNode> {
    let mut roots: Vec<_> = snapshot
        .nodes
        .iter()
        .filter(|node| node.parent.is_none_or(|parent| tree.get(parent).is_none()))
        .collect();
    roots.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    roots
}

/// The group at `path`: a container's name, or a path below Technicians or Administrators.
fn find<'a>(
    tree: &OrgTree<'a>,
    snapshot: &'a RescueSnapshot,
    path: &str,
) -> Result<&'a RescueNode, Error> {
    let containers = [
        Container::Technicians,
        Container::Administrators,
        Container::MasterAdministrators,
    ];
    let trimmed = path.trim().trim_matches('/');
    let found = containers
        .iter()
        .find(|c| c.display_name().eq_ignore_ascii_case(trimmed))
        .and_then(|c| tree.container(*c))
        .or_else(|| {
            let path = GroupPath::parse(trimmed);
            containers.iter().find_map(|c| {
                (!path.is_root())
                    .then(|| tree.find_group(*c, &path))
                    .flatten()
            })
        });
    if let Some(node) = found.and_then(|id| tree.get(id)) {
        return Ok(node);
    }
    let mut known: Vec<String> = containers
        .iter()
        .map(|c| c.display_name().to_owned())
        .collect();
    known.extend(
        tree.groups()
            .filter(|(_, location)| !location.path.is_root())
            .map(|(_, location)| location.path.as_str().to_owned()),
    );
    known.sort();
    let organization = super::plan::organization(snapshot).unwrap_or_default();
    Err(Error::Usage {
        message: format!(
            "no group `{trimmed}` in the Rescue organization {organization}{}",
            suggest::did_you_mean(trimmed, known.iter().map(String::as_str))
        ),
        hint: "`adsync tree` shows every group; paths are the names below Technicians or \
               Administrators, joined with `/`"
            .to_owned(),
    })
}

/// The tree below `top`, indented, groups before users, then by name.
fn render(tree: &OrgTree<'_>, marks: &Marks, top: &[&RescueNode], paint: Paint) -> String {
    let mut out = String::new();
    let mut seen = HashSet::new();
    for node in top {
        walk(tree, marks, node.id, 0, paint, &mut out, &mut seen);
    }
    out
}

fn walk(
    tree: &OrgTree<'_>,
    marks: &Marks,
    id: NodeId,
    depth: usize,
    paint: Paint,
    out: &mut String,
    seen: &mut HashSet<NodeId>,
) {
    if !seen.insert(id) {
        return;
    }
    let Some(node) = tree.get(id) else { return };
    let _ = writeln!(out, "{}{}", "  ".repeat(depth), line(node, marks, paint));
    for child in sorted_children(tree, id) {
        walk(tree, marks, child.id, depth + 1, paint, out, seen);
    }
}

fn sorted_children<'a>(tree: &OrgTree<'a>, id: NodeId) -> Vec<&'a RescueNode> {
    let mut children: Vec<_> = tree.children(id).collect();
    children.sort_by(|a, b| {
        (a.node_type.user_role().is_some(), &a.name, a.id).cmp(&(
            b.node_type.user_role().is_some(),
            &b.name,
            b.id,
        ))
    });
    children
}

fn line(node: &RescueNode, marks: &Marks, paint: Paint) -> String {
    let is_user = node.node_type.user_role().is_some();
    let name = if is_user {
        node.name.clone()
    } else {
        paint.paint(Tone::Strong, &node.name)
    };
    let mut line = format!(
        "{name} {}",
        paint.paint(
            Tone::Dim,
            &format!("[{}] #{}", node.node_type.as_str(), node.id)
        )
    );
    if let Some(email) = &node.email {
        let _ = write!(line, " <{email}>");
    }
    if is_user {
        if node.is_enabled() {
            line.push_str(" enabled");
        } else {
            let _ = write!(line, " {}", paint.paint(Tone::Dim, "disabled"));
        }
        if node.mobile == Some(true) {
            line.push_str(" +mobile");
        }
        if node.account_holder {
            let _ = write!(line, " {}", paint.paint(Tone::Hint, "(account holder)"));
        }
        if marks.is_protected(node) {
            let _ = write!(line, " {}", paint.paint(Tone::Hint, "(protected)"));
        }
    }
    if let Some(pairings) = marks.paired.get(&node.id) {
        let _ = write!(
            line,
            " {}",
            paint.paint(Tone::Add, &format!("<- paired: {}", pairings.join(", ")))
        );
    }
    line
}

fn json(
    tree: &OrgTree<'_>,
    snapshot: &RescueSnapshot,
    marks: &Marks,
    top: &[&RescueNode],
    args: &TreeArgs,
) -> serde_json::Value {
    let mut nodes = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<NodeId> = top.iter().rev().map(|node| node.id).collect();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(node) = tree.get(id) else { continue };
        nodes.push(node);
        stack.extend(sorted_children(tree, id).iter().rev().map(|child| child.id));
    }
    let protected: Vec<NodeId> = nodes
        .iter()
        .filter(|node| marks.is_protected(node))
        .map(|node| node.id)
        .collect();
    let paired: BTreeMap<String, &Vec<String>> = marks
        .paired
        .iter()
        .filter(|(id, _)| seen.contains(id))
        .map(|(id, pairings)| (id.to_string(), pairings))
        .collect();
    serde_json::json!({
        "format_version": output::FORMAT_VERSION,
        "organization": super::plan::organization(snapshot),
        "path": args.path,
        "nodes": nodes,
        "paired": paired,
        "protected": protected,
    })
}
