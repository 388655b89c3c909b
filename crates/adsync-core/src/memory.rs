//! An in-memory Rescue organization that applies actions to a snapshot: the engine behind the
//! snapshot target, dry runs and the property tests.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::adapter::{AdapterError, AdapterErrorKind, Applied, DetailRequest, Target};
use crate::model::{Container, NodeId, NodeType, RescueNode, RescueSnapshot, Status};
use crate::plan::{Action, ActionKind};
use crate::tree::OrgTree;

/// Applies `action` to `snapshot`, enforcing the rules Rescue enforces (technicians only under
/// technician groups, one node per e-mail per plane). `parent` overrides the action's
/// destination node, as the executor passes it.
pub fn apply_action(
    snapshot: &mut RescueSnapshot,
    action: &Action,
    parent: Option<NodeId>,
) -> Result<Applied, AdapterError> {
    match action.kind {
        ActionKind::CreateGroup => {
            let (container, path) = placement(action)?;
            let tree = OrgTree::new(snapshot);
            let parent = match parent.or(action.to_node) {
                Some(parent) => parent,
                None => {
                    let parent_path = path.parent().unwrap_or_default();
                    tree.find_group(container, &parent_path).ok_or_else(|| {
                        not_found(format!(
                            "the parent of group `{}` does not exist",
                            path.as_str()
                        ))
                    })?
                }
            };
            let location = tree
                .group(parent)
                .filter(|location| location.container == container)
                .ok_or_else(|| {
                    rejected(format!(
                        "node {parent} cannot hold a group of {}",
                        container.display_name()
                    ))
                })?;
            if tree
                .find_group(container, &location.path.join(path.name()))
                .is_some()
            {
                return Err(AdapterError::new(
                    AdapterErrorKind::Conflict,
                    format!("group `{}` already exists", path.as_str()),
                ));
            }
            let node_type = match container {
                Container::Technicians => NodeType::TechnicianGroup,
                _ => NodeType::AdministratorGroup,
            };
            let id = next_id(snapshot);
            snapshot.nodes.push(RescueNode::group(
                id.0,
                Some(parent.0),
                node_type,
                path.name(),
            ));
            Ok(Applied { created: Some(id) })
        }
        ActionKind::CreateUser => {
            let role = action
                .role
                .ok_or_else(|| rejected("create_user without a role".into()))?;
            let user = action
                .user
                .as_ref()
                .ok_or_else(|| rejected("create_user without user fields".into()))?;
            let parent = destination(snapshot, action, parent)?;
            check_parent(snapshot, parent, role.container())?;
            check_email_free(snapshot, &user.email, role, None)?;
            let id = next_id(snapshot);
            snapshot.nodes.push(RescueNode {
                id,
                parent: Some(parent),
                node_type: NodeType::for_role(role),
                name: user.name.clone(),
                email: Some(user.email.clone()),
                nick: Some(user.nick.clone()),
                ssoid: Some(user.ssoid.clone()),
                description: Some(user.description.clone()),
                status: Some(Status::Enabled),
                mobile: Some(user.mobile),
                rpat: Some(false),
                account_holder: false,
            });
            Ok(Applied { created: Some(id) })
        }
        ActionKind::MoveUser => {
            let role = action
                .role
                .ok_or_else(|| rejected("move_user without a role".into()))?;
            let target = destination(snapshot, action, parent)?;
            check_parent(snapshot, target, role.container())?;
            let node = user_node(snapshot, action)?;
            node.parent = Some(target);
            node.node_type = NodeType::for_role(role);
            Ok(Applied::default())
        }
        ActionKind::UpdateUser => {
            if let Some(change) = action.changes.get(&crate::config::Attribute::Email) {
                let node = user_node(snapshot, action)?;
                let (role, id) = (node.node_type.user_role(), node.id);
                if let Some(role) = role {
                    check_email_free(snapshot, &change.new, role, Some(id))?;
                }
            }
            let node = user_node(snapshot, action)?;
            for (attribute, change) in &action.changes {
                let value = change.new.clone();
                match attribute {
                    crate::config::Attribute::Name => node.name = value,
                    crate::config::Attribute::Nick => node.nick = Some(value),
                    crate::config::Attribute::Email => node.email = Some(value),
                    crate::config::Attribute::Ssoid => node.ssoid = Some(value),
                    crate::config::Attribute::Description => node.description = Some(value),
                }
            }
            Ok(Applied::default())
        }
        ActionKind::EnableUser | ActionKind::DisableUser => {
            let node = user_node(snapshot, action)?;
            node.status = Some(if action.kind == ActionKind::EnableUser {
                Status::Enabled
            } else {
                Status::Disabled
            });
            if let Some(mobile) = action.mobile {
                node.mobile = Some(mobile);
            }
            Ok(Applied::default())
        }
        ActionKind::SetMobileLicense => {
            let mobile = action
                .mobile
                .ok_or_else(|| rejected("set_mobile_license without a value".into()))?;
            user_node(snapshot, action)?.mobile = Some(mobile);
            Ok(Applied::default())
        }
    }
}

/// Removes a node created a moment ago (the rollback of SPEC §5).
pub fn remove_created(snapshot: &mut RescueSnapshot, node: NodeId) -> Result<(), AdapterError> {
    let before = snapshot.nodes.len();
    snapshot.nodes.retain(|candidate| candidate.id != node);
    if snapshot.nodes.len() == before {
        return Err(not_found(format!("node {node} does not exist")));
    }
    Ok(())
}

/// A `Target` over an in-memory snapshot.
#[derive(Debug)]
pub struct MemoryTarget {
    state: Mutex<RescueSnapshot>,
    concurrency: usize,
}

impl MemoryTarget {
    /// A target holding `snapshot`.
    pub fn new(snapshot: RescueSnapshot, concurrency: usize) -> MemoryTarget {
        MemoryTarget {
            state: Mutex::new(snapshot),
            concurrency: concurrency.max(1),
        }
    }

    /// The state now.
    pub fn snapshot_now(&self) -> RescueSnapshot {
        self.lock().clone()
    }

    /// The final state.
    pub fn into_snapshot(self) -> RescueSnapshot {
        self.state
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RescueSnapshot> {
        // A panic while holding the lock cannot leave a half-applied action: each action
        // mutates after all its checks. Keep going with the data.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Target for MemoryTarget {
    async fn snapshot(&self, _details: &DetailRequest) -> Result<RescueSnapshot, AdapterError> {
        Ok(self.snapshot_now())
    }

    async fn apply(
        &self,
        action: &Action,
        parent: Option<NodeId>,
    ) -> Result<Applied, AdapterError> {
        apply_action(&mut self.lock(), action, parent)
    }

    async fn rollback_created(&self, node: NodeId) -> Result<(), AdapterError> {
        remove_created(&mut self.lock(), node)
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}

fn placement(action: &Action) -> Result<(Container, crate::model::GroupPath), AdapterError> {
    match (action.container, &action.to) {
        (Some(container), Some(path)) if !path.is_root() => Ok((container, path.clone())),
        _ => Err(rejected("create_group without a container and path".into())),
    }
}

fn destination(
    snapshot: &RescueSnapshot,
    action: &Action,
    parent: Option<NodeId>,
) -> Result<NodeId, AdapterError> {
    if let Some(parent) = parent.or(action.to_node) {
        return Ok(parent);
    }
    let role = action
        .role
        .ok_or_else(|| rejected("an action without a role".into()))?;
    let container = action.container.unwrap_or_else(|| role.container());
    let path = action.to.clone().unwrap_or_default();
    OrgTree::new(snapshot)
        .find_group(container, &path)
        .ok_or_else(|| not_found(format!("the group `{}` does not exist", path.as_str())))
}

fn check_parent(
    snapshot: &RescueSnapshot,
    parent: NodeId,
    container: Container,
) -> Result<(), AdapterError> {
    let tree = OrgTree::new(snapshot);
    let Some(location) = tree.group(parent) else {
        return Err(rejected(format!("node {parent} cannot hold users")));
    };
    let allowed = match container {
        Container::Technicians => !location.path.is_root(),
        Container::Administrators => true,
        Container::MasterAdministrators => location.path.is_root(),
    };
    if location.container != container || !allowed {
        return Err(rejected(format!(
            "node {parent} cannot hold a user of {}",
            container.display_name()
        )));
    }
    Ok(())
}

fn check_email_free(
    snapshot: &RescueSnapshot,
    email: &str,
    role: crate::model::Role,
    except: Option<NodeId>,
) -> Result<(), AdapterError> {
    let key = crate::model::UserKey::new(email);
    let clash = snapshot.nodes.iter().any(|node| {
        Some(node.id) != except
            && node
                .node_type
                .user_role()
                .is_some_and(|other| other.plane() == role.plane())
            && node.key() == key
    });
    if clash {
        return Err(AdapterError::new(
            AdapterErrorKind::Conflict,
            format!("e-mail `{email}` is already used by another node"),
        )
        .with_code("INVALIDPARAM_EMAIL_ALREADY_IN_USE"));
    }
    Ok(())
}

fn user_node<'a>(
    snapshot: &'a mut RescueSnapshot,
    action: &Action,
) -> Result<&'a mut RescueNode, AdapterError> {
    let id = action
        .node_id
        .ok_or_else(|| rejected(format!("{} without a node id", action.kind.as_str())))?;
    snapshot
        .nodes
        .iter_mut()
        .find(|node| node.id == id && node.node_type.user_role().is_some())
        .ok_or_else(|| not_found(format!("user node {id} does not exist")))
}

fn next_id(snapshot: &RescueSnapshot) -> NodeId {
    NodeId(
        snapshot
            .nodes
            .iter()
            .map(|node| node.id.0)
            .max()
            .unwrap_or(0)
            + 1,
    )
}

fn rejected(message: String) -> AdapterError {
    AdapterError::new(AdapterErrorKind::Rejected, message)
}

fn not_found(message: String) -> AdapterError {
    AdapterError::new(AdapterErrorKind::NotFound, message)
}

/// A `Source` over a directory snapshot already in memory (the CLI reads the file).
#[derive(Debug)]
pub struct SnapshotSource {
    snapshot: crate::model::DirectorySnapshot,
}

impl SnapshotSource {
    /// A source returning `snapshot`.
    pub fn new(snapshot: crate::model::DirectorySnapshot) -> SnapshotSource {
        SnapshotSource { snapshot }
    }
}

#[async_trait]
impl crate::adapter::Source for SnapshotSource {
    async fn snapshot(
        &self,
        _request: &crate::adapter::SourceRequest,
    ) -> Result<crate::model::DirectorySnapshot, AdapterError> {
        // The snapshot holds every group; desired() resolves and expands the requested ones.
        Ok(self.snapshot.clone())
    }
}
