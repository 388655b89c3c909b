//! `execute()`: runs a plan against a target, phase by phase, and reports what became of every
//! action (SPEC §7). Runtime-agnostic: concurrency comes from `futures`, not from a runtime.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::adapter::{AdapterErrorKind, FailureCategory, Target};
use crate::model::{Container, GroupPath, NodeId, RescueSnapshot, Status, UserKey};
use crate::plan::{Action, ActionKind, Links, Plan};
use crate::tree::OrgTree;

/// What became of one action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Applied,
    /// Tried and refused or failed.
    Failed,
    /// Not tried: a prerequisite failed.
    Skipped,
    /// Not tried: the node no longer matches the plan's precondition.
    Drifted,
}

impl Outcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Drifted => "drifted",
        }
    }
}

/// The result of one action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    /// The action's id.
    pub id: String,
    /// The action's kind.
    pub kind: ActionKind,
    /// The user concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<UserKey>,
    /// The node acted on, or created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<NodeId>,
    /// What became of it.
    pub outcome: Outcome,
    /// The failure category, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<FailureCategory>,
    /// The service's raw code, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why it failed, was skipped or drifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Everything an apply did, in plan order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// One result per action of the plan.
    pub results: Vec<ActionResult>,
}

impl ApplyReport {
    /// How many actions ended with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }

    /// Whether every action was applied.
    pub fn is_complete(&self) -> bool {
        self.results.iter().all(|r| r.outcome == Outcome::Applied)
    }

    /// Failures grouped by category, each with the users (or groups) affected.
    pub fn failures_by_category(&self) -> BTreeMap<FailureCategory, Vec<&ActionResult>> {
        let mut groups: BTreeMap<FailureCategory, Vec<&ActionResult>> = BTreeMap::new();
        for result in &self.results {
            if result.outcome == Outcome::Failed {
                groups
                    .entry(result.category.unwrap_or(FailureCategory::Unknown))
                    .or_default()
                    .push(result);
            }
        }
        groups
    }
}

/// Hears about progress; the CLI draws bars and writes the audit log from here.
pub trait ApplyObserver: Send {
    /// A phase begins with `actions` actions.
    fn phase_started(&mut self, kind: ActionKind, actions: usize) {
        let _ = (kind, actions);
    }

    /// An action ended (in any way).
    fn action_finished(&mut self, action: &Action, result: &ActionResult);
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct NoObserver;

impl ApplyObserver for NoObserver {
    fn action_finished(&mut self, _action: &Action, _result: &ActionResult) {}
}

/// Runs `plan` against `target`. Actions whose id is in `drifted` (with the reason) are reported
/// as drifted and not tried. A failure never stops the other actions.
pub async fn execute(
    plan: &Plan,
    target: &dyn Target,
    drifted: &BTreeMap<String, String>,
    observer: &mut dyn ApplyObserver,
) -> ApplyReport {
    let concurrency = target.concurrency().max(1);
    // Groups this run creates, by (container, folded path); and those it failed to create.
    let mut created_groups: HashMap<(Container, String), NodeId> = HashMap::new();
    let mut failed_groups: BTreeSet<(Container, String)> = BTreeSet::new();
    let mut results: HashMap<String, ActionResult> = HashMap::new();

    for kind in ActionKind::ALL {
        let phase: Vec<&Action> = plan.actions.iter().filter(|a| a.kind() == kind).collect();
        if phase.is_empty() {
            continue;
        }
        observer.phase_started(kind, phase.len());

        if kind == ActionKind::CreateGroup {
            // One at a time, parents first (plan order): a child needs its parent's new id.
            for action in phase {
                let result = match ready(action, drifted, &created_groups, &failed_groups) {
                    Err(result) => result,
                    Ok(parent) => run(target, action, parent).await,
                };
                if let (Some(container), Some(path)) = (action.container(), action.to()) {
                    match (result.outcome, result.node_id) {
                        (Outcome::Applied, Some(node)) => {
                            created_groups.insert((container, path.folded()), node);
                        }
                        _ => {
                            failed_groups.insert((container, path.folded()));
                        }
                    }
                }
                observer.action_finished(action, &result);
                results.insert(action.id().to_owned(), result);
            }
            continue;
        }

        let mut runnable: Vec<(&Action, Option<NodeId>)> = Vec::new();
        for action in phase {
            match ready(action, drifted, &created_groups, &failed_groups) {
                Ok(parent) => runnable.push((action, parent)),
                Err(result) => {
                    observer.action_finished(action, &result);
                    results.insert(action.id().to_owned(), result);
                }
            }
        }
        let mut stream =
            futures::stream::iter(runnable.into_iter().map(|(action, parent)| async move {
                (action, run(target, action, parent).await)
            }))
            .buffer_unordered(concurrency);
        while let Some((action, result)) = stream.next().await {
            observer.action_finished(action, &result);
            results.insert(action.id().to_owned(), result);
        }
    }

    ApplyReport {
        results: plan
            .actions
            .iter()
            .filter_map(|action| results.remove(action.id()))
            .collect(),
    }
}

/// Whether `action` may run, and with which parent; or the result that says why not.
fn ready(
    action: &Action,
    drifted: &BTreeMap<String, String>,
    created: &HashMap<(Container, String), NodeId>,
    failed: &BTreeSet<(Container, String)>,
) -> Result<Option<NodeId>, ActionResult> {
    if let Some(reason) = drifted.get(action.id()) {
        return Err(finished(
            action,
            Outcome::Drifted,
            None,
            Some(reason.clone()),
        ));
    }
    prerequisite(action, created, failed)
        .map_err(|reason| finished(action, Outcome::Skipped, None, Some(reason)))
}

async fn run(target: &dyn Target, action: &Action, parent: Option<NodeId>) -> ActionResult {
    match target.apply(action, parent).await {
        Ok(applied) => {
            let mut result = finished(action, Outcome::Applied, None, None);
            result.node_id = applied.created.or(action.node_id());
            result
        }
        Err(error) if error.kind == AdapterErrorKind::Cancelled => {
            finished(action, Outcome::Skipped, None, Some(error.to_string()))
        }
        Err(error) => {
            let mut result = finished(
                action,
                Outcome::Failed,
                Some(error.category()),
                Some(error.to_string()),
            );
            result.code = error.code.clone();
            result
        }
    }
}

fn finished(
    action: &Action,
    outcome: Outcome,
    category: Option<FailureCategory>,
    message: Option<String>,
) -> ActionResult {
    ActionResult {
        id: action.id().to_owned(),
        kind: action.kind(),
        email: action.email().cloned(),
        node_id: action.node_id(),
        outcome,
        category,
        code: None,
        message,
    }
}

/// The parent node an action needs, when the plan only knew a path; or why it cannot run.
fn prerequisite(
    action: &Action,
    created: &HashMap<(Container, String), NodeId>,
    failed: &BTreeSet<(Container, String)>,
) -> Result<Option<NodeId>, String> {
    if action.to_node().is_some() {
        return Ok(action.to_node());
    }
    let (Some(container), Some(path)) = (action.container(), action.to()) else {
        return Ok(None);
    };
    let needed: GroupPath = match action.kind() {
        ActionKind::CreateGroup => path.parent().unwrap_or_default(),
        ActionKind::CreateUser | ActionKind::MoveUser => path.clone(),
        _ => return Ok(None),
    };
    if needed.is_root() {
        return Ok(None);
    }
    let key = (container, needed.folded());
    if let Some(node) = created.get(&key) {
        return Ok(Some(*node));
    }
    if failed.contains(&key) {
        return Err(format!(
            "the group `{}` it needs was not created",
            needed.as_str()
        ));
    }
    // The group existed when the plan was made (or the target resolves the path itself).
    Ok(None)
}

/// The links to record after an apply (SPEC §2, §9): the old ones, every desired user the plan
/// matched to a node, and every user node the apply created. A failed or skipped create records
/// nothing, so the next plan matches that user by e-mail again.
pub fn links_after(mut links: Links, plan: &Plan, report: &ApplyReport) -> Links {
    // A user whose action drifted may have lost its node to someone else since the plan.
    let drifted: BTreeSet<&str> = report
        .results
        .iter()
        .filter(|result| result.outcome == Outcome::Drifted)
        .map(|result| result.id.as_str())
        .collect();
    for user in &plan.users {
        if user.actions.iter().any(|id| drifted.contains(id.as_str())) {
            continue;
        }
        if let (Some(_), Some(object_id), Some(node)) = (user.role, &user.object_id, user.node_id) {
            links
                .plane_mut(user.plane)
                .insert(object_id.as_ref().to_owned(), node);
        }
    }
    for (action, result) in plan.actions.iter().zip(&report.results) {
        if let Action::CreateUser(create) = action
            && result.outcome == Outcome::Applied
            && let (Some(object_id), Some(node)) = (&create.user.object_id, result.node_id)
        {
            links
                .plane_mut(create.user.role.plane())
                .insert(object_id.clone(), node);
        }
    }
    links
}

/// Checks every action's precondition against a fresh read; returns the drifted ones with why.
pub fn check_preconditions(plan: &Plan, snapshot: &RescueSnapshot) -> BTreeMap<String, String> {
    let tree = OrgTree::new(snapshot);
    let mut drifted = BTreeMap::new();
    for action in &plan.actions {
        if let Some(reason) = drift(action, &tree, snapshot) {
            drifted.insert(action.id().to_owned(), reason);
        }
    }
    drifted
}

fn drift(action: &Action, tree: &OrgTree<'_>, snapshot: &RescueSnapshot) -> Option<String> {
    let condition = action.precondition();
    if condition.absent {
        return match action.kind() {
            ActionKind::CreateGroup => {
                let (container, path) = (action.container()?, action.to()?);
                tree.find_group(container, path)
                    .map(|node| format!("group `{}` now exists (node {node})", path.as_str()))
            }
            _ => {
                let (email, plane) = (action.email()?, action.role()?.plane());
                snapshot
                    .nodes
                    .iter()
                    .find(|node| {
                        node.node_type.user_role().map(|r| r.plane()) == Some(plane)
                            && node.key().as_ref() == Some(email)
                    })
                    .map(|node| {
                        format!(
                            "a {} node for `{email}` now exists (node {})",
                            plane.as_str(),
                            node.id
                        )
                    })
            }
        };
    }
    if let Some(parent) = action.to_node()
        && tree.get(parent).is_none()
    {
        return Some(format!(
            "the destination group (node {parent}) no longer exists"
        ));
    }
    let id = action.node_id()?;
    let Some(node) = tree
        .get(id)
        .filter(|node| node.node_type.user_role().is_some())
    else {
        return Some(format!("node {id} no longer exists"));
    };
    if let Some(parent) = condition.parent
        && node.parent != Some(parent)
    {
        return Some(format!("node {id} was moved"));
    }
    if let Some(status) = condition.status {
        let now = if node.is_enabled() {
            Status::Enabled
        } else {
            Status::Disabled
        };
        if now != status {
            return Some(format!("node {id} is now {}", now.as_str()));
        }
    }
    for (attribute, value) in &condition.values {
        let now = match attribute {
            crate::config::Attribute::Name => Some(node.name.as_str()),
            crate::config::Attribute::Nick => node.nick.as_deref(),
            crate::config::Attribute::Email => node.email.as_deref(),
            crate::config::Attribute::Ssoid => node.ssoid.as_deref(),
            crate::config::Attribute::Description => node.description.as_deref(),
        }
        .unwrap_or("");
        if now != value {
            return Some(format!("the {} of node {id} changed", attribute.as_str()));
        }
    }
    if let Some(mobile) = condition.mobile
        && node.mobile.is_some_and(|now| now != mobile)
    {
        return Some(format!("the mobile add-on of node {id} changed"));
    }
    identity_drift(condition, node)
}

/// Whether the node is still the one the plan saw: the same e-mail (as a key) and name. A node
/// whose e-mail and name were given to another person is that person's now.
fn identity_drift(
    condition: &crate::plan::Precondition,
    node: &crate::model::RescueNode,
) -> Option<String> {
    let id = node.id;
    if let Some(email) = &condition.email
        && UserKey::new(email) != node.key()
    {
        return Some(format!(
            "node {id} is now `{}`, not `{email}`: it belongs to someone else",
            node.email.as_deref().unwrap_or("")
        ));
    }
    if let Some(name) = &condition.name
        && *name != node.name
    {
        return Some(format!(
            "node {id} is now named `{}`, not `{name}`",
            node.name
        ));
    }
    None
}
