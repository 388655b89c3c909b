//! An in-memory Rescue organization that applies actions to a snapshot: the engine behind the
//! snapshot target, dry runs and the property tests.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::adapter::{AdapterError, AdapterErrorKind, Applied, DetailRequest, Target};
use crate::config::Attribute;
use crate::model::{Container, NodeId, NodeType, RescueNode, RescueSnapshot, Status};
use crate::plan::{
    Action, CreateGroup, CreateUser, DisableUser, EnableUser, MoveUser, Place, SetMobileLicense,
    UpdateUser,
};
use crate::tree::OrgTree;

/// Applies `action` to `snapshot`, enforcing the rules Rescue enforces (technicians only under
/// technician groups, one node per e-mail per plane). `parent` overrides the action's
/// destination node, as the executor passes it.
pub fn apply_action(
    snapshot: &mut RescueSnapshot,
    action: &Action,
    parent: Option<NodeId>,
) -> Result<Applied, AdapterError> {
    match action {
        Action::CreateGroup(group) => create_group(snapshot, group, parent),
        Action::CreateUser(create) => create_user(snapshot, create, parent),
        Action::MoveUser(MoveUser {
            user, node_id, to, ..
        }) => {
            let target = destination(snapshot, to, parent)?;
            check_parent(snapshot, target, user.role.container())?;
            let node = user_node(snapshot, *node_id)?;
            node.parent = Some(target);
            node.node_type = NodeType::for_role(user.role);
            Ok(Applied::default())
        }
        Action::UpdateUser(update) => update_user(snapshot, update),
        Action::EnableUser(EnableUser { node_id, .. }) => {
            user_node(snapshot, *node_id)?.status = Some(Status::Enabled);
            Ok(Applied::default())
        }
        Action::DisableUser(DisableUser {
            node_id,
            release_mobile,
            ..
        }) => {
            let node = user_node(snapshot, *node_id)?;
            node.status = Some(Status::Disabled);
            if *release_mobile {
                node.mobile = Some(false);
            }
            Ok(Applied::default())
        }
        Action::SetMobileLicense(SetMobileLicense {
            node_id, mobile, ..
        }) => {
            user_node(snapshot, *node_id)?.mobile = Some(*mobile);
            Ok(Applied::default())
        }
    }
}

fn create_group(
    snapshot: &mut RescueSnapshot,
    group: &CreateGroup,
    parent: Option<NodeId>,
) -> Result<Applied, AdapterError> {
    let (container, path) = (group.container, &group.path);
    if path.is_root() {
        return Err(rejected("create_group without a path".into()));
    }
    let tree = OrgTree::new(snapshot);
    let parent = match parent.or(group.parent) {
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

fn create_user(
    snapshot: &mut RescueSnapshot,
    create: &CreateUser,
    parent: Option<NodeId>,
) -> Result<Applied, AdapterError> {
    let (role, user) = (create.user.role, &create.fields);
    let parent = destination(snapshot, &create.to, parent)?;
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

fn update_user(
    snapshot: &mut RescueSnapshot,
    update: &UpdateUser,
) -> Result<Applied, AdapterError> {
    if let Some(change) = update.changes.get(&Attribute::Email) {
        let node = user_node(snapshot, update.node_id)?;
        let (role, id) = (node.node_type.user_role(), node.id);
        if let Some(role) = role {
            check_email_free(snapshot, &change.new, role, Some(id))?;
        }
    }
    let node = user_node(snapshot, update.node_id)?;
    for (attribute, change) in &update.changes {
        let value = change.new.clone();
        match attribute {
            Attribute::Name => node.name = value,
            Attribute::Nick => node.nick = Some(value),
            Attribute::Email => node.email = Some(value),
            Attribute::Ssoid => node.ssoid = Some(value),
            Attribute::Description => node.description = Some(value),
        }
    }
    Ok(Applied::default())
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

/// The node of `to`: `parent` as the executor resolved it, else the plan's, else found by path.
fn destination(
    snapshot: &RescueSnapshot,
    to: &Place,
    parent: Option<NodeId>,
) -> Result<NodeId, AdapterError> {
    if let Some(parent) = parent.or(to.node) {
        return Ok(parent);
    }
    OrgTree::new(snapshot)
        .find_group(to.container, &to.path)
        .ok_or_else(|| not_found(format!("the group `{}` does not exist", to.path.as_str())))
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

fn user_node(snapshot: &mut RescueSnapshot, id: NodeId) -> Result<&mut RescueNode, AdapterError> {
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
