//! `adsync tree`: the Rescue organization tree, as Rescue holds it now.

use std::fmt::Write as _;

use adsync_core::adapter::DetailRequest;
use adsync_core::model::{NodeId, RescueSnapshot};
use adsync_core::tree::OrgTree;

use crate::cli::{Global, JsonArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output;

pub(crate) async fn run(global: &Global, args: &JsonArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let target = crate::wiring::target(&loaded)?;
    let snapshot = target
        .as_target()
        .snapshot(&DetailRequest::default())
        .await
        .map_err(Error::TargetRead)?;
    if args.json {
        output::stdout(&output::json(&snapshot))?;
    } else {
        output::stdout(&render(&snapshot))?;
    }
    Ok(ExitStatus::Success)
}

/// The tree, indented, children in name order.
pub(crate) fn render(snapshot: &RescueSnapshot) -> String {
    let tree = OrgTree::new(snapshot);
    let mut out = String::new();
    let mut roots: Vec<_> = snapshot
        .nodes
        .iter()
        .filter(|node| node.parent.is_none_or(|parent| tree.get(parent).is_none()))
        .collect();
    roots.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    let mut seen = std::collections::HashSet::new();
    for root in roots {
        walk(&tree, root.id, 0, &mut out, &mut seen);
    }
    out
}

fn walk(
    tree: &OrgTree<'_>,
    id: NodeId,
    depth: usize,
    out: &mut String,
    seen: &mut std::collections::HashSet<NodeId>,
) {
    if !seen.insert(id) {
        return;
    }
    let Some(node) = tree.get(id) else { return };
    let indent = "  ".repeat(depth);
    let mut line = format!(
        "{indent}{} [{}] #{}",
        node.name,
        node.node_type.as_str(),
        node.id
    );
    if let Some(email) = &node.email {
        let _ = write!(line, " <{email}>");
    }
    if node.node_type.user_role().is_some() {
        line.push_str(if node.is_enabled() {
            " enabled"
        } else {
            " disabled"
        });
        if node.mobile == Some(true) {
            line.push_str(" +mobile");
        }
        if node.account_holder {
            line.push_str(" (account holder)");
        }
    }
    out.push_str(&line);
    out.push('\n');
    let mut children: Vec<_> = tree.children(id).collect();
    // Groups before users, then by name.
    children.sort_by(|a, b| {
        (a.node_type.user_role().is_some(), &a.name, a.id).cmp(&(
            b.node_type.user_role().is_some(),
            &b.name,
            b.id,
        ))
    });
    for child in children {
        walk(tree, child.id, depth + 1, out, seen);
    }
}
