//! The actions of a plan: one enum variant per kind, each carrying exactly its fields, and their
//! JSON form (SPEC §14), which is one flat object per action whatever its kind.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::Attribute;
use crate::model::{Container, GroupPath, NodeId, Role, Status, UserKey};

/// The seven kinds of action, in phase order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Create a Technician or Administrator Group.
    CreateGroup,
    /// Create a user node.
    CreateUser,
    /// Move a user node to another group or container.
    MoveUser,
    /// Change synced attributes.
    UpdateUser,
    /// Enable a disabled user.
    EnableUser,
    /// Turn the mobile add-on on or off.
    SetMobileLicense,
    /// Disable a user no longer desired (and release its mobile add-on).
    DisableUser,
}

impl ActionKind {
    /// All kinds, in phase order.
    pub const ALL: [ActionKind; 7] = [
        ActionKind::CreateGroup,
        ActionKind::CreateUser,
        ActionKind::MoveUser,
        ActionKind::UpdateUser,
        ActionKind::EnableUser,
        ActionKind::SetMobileLicense,
        ActionKind::DisableUser,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::CreateGroup => "create_group",
            ActionKind::CreateUser => "create_user",
            ActionKind::MoveUser => "move_user",
            ActionKind::UpdateUser => "update_user",
            ActionKind::EnableUser => "enable_user",
            ActionKind::SetMobileLicense => "set_mobile_license",
            ActionKind::DisableUser => "disable_user",
        }
    }
}

/// One change. Every action has a stable id (`<kind>:<plane>:<e-mail>` for users,
/// `create_group:<container>:<path>` for groups), a reason and a precondition; the rest depends
/// on its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create a Technician or Administrator Group.
    CreateGroup(CreateGroup),
    /// Create a user node.
    CreateUser(CreateUser),
    /// Move a user node to another group or container.
    MoveUser(MoveUser),
    /// Change synced attributes.
    UpdateUser(UpdateUser),
    /// Enable a disabled user.
    EnableUser(EnableUser),
    /// Turn the mobile add-on on or off.
    SetMobileLicense(SetMobileLicense),
    /// Disable a user no longer desired (and release its mobile add-on).
    DisableUser(DisableUser),
}

/// The user a user action is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRef {
    /// The user's role after the action.
    pub role: Role,
    /// The user's identity key.
    pub email: UserKey,
    /// The directory object id, when the directory knows the user.
    pub object_id: Option<String>,
}

/// Where a create or a move puts a node: a group (or a container itself) by path, and its node
/// when it exists at plan time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The container the path lies below.
    pub container: Container,
    /// The group path (empty for the container itself).
    pub path: GroupPath,
    /// The group's node, when it exists at plan time.
    pub node: Option<NodeId>,
}

/// Where a user node sits: its container and group path (JSON `container` and `from`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The container.
    pub container: Container,
    /// The group path below it.
    pub path: GroupPath,
}

/// `create_group`: a Technician or Administrator Group at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateGroup {
    /// `create_group:<container>:<path>`.
    pub id: String,
    /// The container the group lies below.
    pub container: Container,
    /// The new group's path (JSON `to`).
    pub path: GroupPath,
    /// The parent group's node, when it exists at plan time (JSON `to_node`).
    pub parent: Option<NodeId>,
    /// Which pairings need it.
    pub reason: String,
    /// No group may exist at the path yet.
    pub precondition: Precondition,
}

/// `create_user`: a new user node with every field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateUser {
    /// `create_user:<plane>:<e-mail>`.
    pub id: String,
    /// Who.
    pub user: UserRef,
    /// Where.
    pub to: Place,
    /// Every field of the new node (JSON `user`; its `mobile` is also the action's).
    pub fields: NewUser,
    /// Why.
    pub reason: String,
    /// No node with the e-mail may exist in the plane yet.
    pub precondition: Precondition,
}

/// `move_user`: a node to another group or container, possibly changing its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveUser {
    /// `move_user:<plane>:<e-mail>`.
    pub id: String,
    /// Who; `user.role` is the role after the move.
    pub user: UserRef,
    /// The node moved.
    pub node_id: NodeId,
    /// The role before a move between containers (absent when the role stays).
    pub from_role: Option<Role>,
    /// The group path the node leaves.
    pub from: GroupPath,
    /// Where it goes (JSON `container`, `to`, `to_node`).
    pub to: Place,
    /// Why.
    pub reason: String,
    /// The node's parent now.
    pub precondition: Precondition,
}

/// `update_user`: synced attributes that differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateUser {
    /// `update_user:<plane>:<e-mail>`.
    pub id: String,
    /// Who.
    pub user: UserRef,
    /// The node updated.
    pub node_id: NodeId,
    /// Each changed attribute, old and new.
    pub changes: BTreeMap<Attribute, Change>,
    /// Why.
    pub reason: String,
    /// The node's values of the changed attributes now.
    pub precondition: Precondition,
}

/// `enable_user`: a disabled node the directory wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnableUser {
    /// `enable_user:<plane>:<e-mail>`.
    pub id: String,
    /// Who.
    pub user: UserRef,
    /// The node enabled.
    pub node_id: NodeId,
    /// Why.
    pub reason: String,
    /// The node is disabled now.
    pub precondition: Precondition,
}

/// `set_mobile_license`: the mobile add-on on or off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetMobileLicense {
    /// `set_mobile_license:<plane>:<e-mail>`.
    pub id: String,
    /// Who.
    pub user: UserRef,
    /// The node changed.
    pub node_id: NodeId,
    /// The add-on state after the action.
    pub mobile: bool,
    /// Where the node sits, for a user no longer desired (whose add-on is released).
    pub from: Option<Location>,
    /// Why.
    pub reason: String,
    /// The add-on state now (and, for a release, the disabled status).
    pub precondition: Precondition,
}

/// `disable_user`: a managed node no longer desired, its mobile add-on released with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisableUser {
    /// `disable_user:<plane>:<e-mail>`.
    pub id: String,
    /// Who; `user.role` is the node's role.
    pub user: UserRef,
    /// The node disabled.
    pub node_id: NodeId,
    /// Where the node sits.
    pub from: Option<Location>,
    /// Whether the mobile add-on is released with it (JSON `mobile: false`).
    pub release_mobile: bool,
    /// Why.
    pub reason: String,
    /// The node's status, parent and add-on now.
    pub precondition: Precondition,
}

/// One attribute change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The value in Rescue now.
    pub old: String,
    /// The value the directory wants.
    pub new: String,
    /// Where `new` came from, when a template made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapped: Option<MappedValue>,
}

/// A value a template made: the template, where it was configured, and the directory values it
/// read (`null` for a missing one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedValue {
    /// The template as written.
    pub template: String,
    /// The configuration key (`pairings[1].attributes.name`, `sync.attributes.ssoid`).
    pub key: String,
    /// Each attribute the template read, with the user's value.
    pub values: BTreeMap<String, Option<String>>,
}

/// The fields of a user `create_user` makes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Nickname.
    pub nick: String,
    /// E-mail.
    pub email: String,
    /// SSO ID.
    pub ssoid: String,
    /// Description.
    pub description: String,
    /// Mobile add-on.
    pub mobile: bool,
}

/// What must still hold when an action runs (checked against a fresh read for saved plans).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Precondition {
    /// Creates: no node may exist yet (no user with the e-mail in the plane, no group at the path).
    #[serde(default, skip_serializing_if = "is_false")]
    pub absent: bool,
    /// The node's parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<NodeId>,
    /// The node's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The node's values of the attributes the action changes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<Attribute, String>,
    /// The node's mobile add-on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<bool>,
    /// The node's e-mail (empty when it had none): whose node it is. A node whose e-mail was
    /// reassigned since is someone else's, and the action drifts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The node's name, the other half of whose node it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Precondition {
    /// What every action on an existing node requires: the node is still who it was.
    pub(crate) fn identity(node: &crate::model::RescueNode) -> Precondition {
        Precondition {
            email: Some(node.email.clone().unwrap_or_default()),
            name: Some(node.name.clone()),
            ..Precondition::default()
        }
    }
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
fn is_false(value: &bool) -> bool {
    !*value
}

impl Action {
    /// What every action carries: its id, reason and precondition.
    fn parts(&self) -> (&str, &str, &Precondition) {
        let (id, reason, precondition) = match self {
            Action::CreateGroup(a) => (&a.id, &a.reason, &a.precondition),
            Action::CreateUser(a) => (&a.id, &a.reason, &a.precondition),
            Action::MoveUser(a) => (&a.id, &a.reason, &a.precondition),
            Action::UpdateUser(a) => (&a.id, &a.reason, &a.precondition),
            Action::EnableUser(a) => (&a.id, &a.reason, &a.precondition),
            Action::SetMobileLicense(a) => (&a.id, &a.reason, &a.precondition),
            Action::DisableUser(a) => (&a.id, &a.reason, &a.precondition),
        };
        (id, reason, precondition)
    }

    /// The stable id.
    pub fn id(&self) -> &str {
        self.parts().0
    }

    /// The stable id, to make it unique (see `plan::order`).
    pub(crate) fn id_mut(&mut self) -> &mut String {
        match self {
            Action::CreateGroup(a) => &mut a.id,
            Action::CreateUser(a) => &mut a.id,
            Action::MoveUser(a) => &mut a.id,
            Action::UpdateUser(a) => &mut a.id,
            Action::EnableUser(a) => &mut a.id,
            Action::SetMobileLicense(a) => &mut a.id,
            Action::DisableUser(a) => &mut a.id,
        }
    }

    /// What to do.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::CreateGroup(_) => ActionKind::CreateGroup,
            Action::CreateUser(_) => ActionKind::CreateUser,
            Action::MoveUser(_) => ActionKind::MoveUser,
            Action::UpdateUser(_) => ActionKind::UpdateUser,
            Action::EnableUser(_) => ActionKind::EnableUser,
            Action::SetMobileLicense(_) => ActionKind::SetMobileLicense,
            Action::DisableUser(_) => ActionKind::DisableUser,
        }
    }

    /// The user a user action is about; `None` for `create_group`.
    pub fn user(&self) -> Option<&UserRef> {
        match self {
            Action::CreateGroup(_) => None,
            Action::CreateUser(a) => Some(&a.user),
            Action::MoveUser(a) => Some(&a.user),
            Action::UpdateUser(a) => Some(&a.user),
            Action::EnableUser(a) => Some(&a.user),
            Action::SetMobileLicense(a) => Some(&a.user),
            Action::DisableUser(a) => Some(&a.user),
        }
    }

    /// The user's role after the action (absent for groups).
    pub fn role(&self) -> Option<Role> {
        self.user().map(|user| user.role)
    }

    /// The user's identity key (absent for groups).
    pub fn email(&self) -> Option<&UserKey> {
        self.user().map(|user| &user.email)
    }

    /// The directory object id, when known.
    pub fn object_id(&self) -> Option<&str> {
        self.user().and_then(|user| user.object_id.as_deref())
    }

    /// The node acted on, when it exists (every user action but `create_user`).
    pub fn node_id(&self) -> Option<NodeId> {
        match self {
            Action::CreateGroup(_) | Action::CreateUser(_) => None,
            Action::MoveUser(a) => Some(a.node_id),
            Action::UpdateUser(a) => Some(a.node_id),
            Action::EnableUser(a) => Some(a.node_id),
            Action::SetMobileLicense(a) => Some(a.node_id),
            Action::DisableUser(a) => Some(a.node_id),
        }
    }

    /// Why.
    pub fn reason(&self) -> &str {
        self.parts().1
    }

    /// What the node must still look like for the action to be valid.
    pub fn precondition(&self) -> &Precondition {
        self.parts().2
    }

    // The JSON's per-kind fields, for code that shows every kind alike (renderers, reports).

    /// JSON `from_role`: the role before a move between containers.
    pub fn from_role(&self) -> Option<Role> {
        match self {
            Action::MoveUser(a) => a.from_role,
            _ => None,
        }
    }

    /// JSON `container`: the container of `from`/`to` (groups: where the group is created).
    pub fn container(&self) -> Option<Container> {
        match self {
            Action::CreateGroup(a) => Some(a.container),
            Action::CreateUser(CreateUser { to, .. }) | Action::MoveUser(MoveUser { to, .. }) => {
                Some(to.container)
            }
            Action::SetMobileLicense(SetMobileLicense { from, .. })
            | Action::DisableUser(DisableUser { from, .. }) => {
                from.as_ref().map(|from| from.container)
            }
            Action::UpdateUser(_) | Action::EnableUser(_) => None,
        }
    }

    /// JSON `from`: the group path a move starts from, or where a released node sits.
    pub fn from(&self) -> Option<&GroupPath> {
        match self {
            Action::MoveUser(a) => Some(&a.from),
            Action::SetMobileLicense(SetMobileLicense { from, .. })
            | Action::DisableUser(DisableUser { from, .. }) => from.as_ref().map(|from| &from.path),
            _ => None,
        }
    }

    /// JSON `to`: the group path a create or move ends in (for `create_group`: the new group's).
    pub fn to(&self) -> Option<&GroupPath> {
        match self {
            Action::CreateGroup(a) => Some(&a.path),
            Action::CreateUser(CreateUser { to, .. }) | Action::MoveUser(MoveUser { to, .. }) => {
                Some(&to.path)
            }
            _ => None,
        }
    }

    /// JSON `to_node`: the node of `to` (for `create_group`: of its parent) when it exists at
    /// plan time.
    pub fn to_node(&self) -> Option<NodeId> {
        match self {
            Action::CreateGroup(a) => a.parent,
            Action::CreateUser(CreateUser { to, .. }) | Action::MoveUser(MoveUser { to, .. }) => {
                to.node
            }
            _ => None,
        }
    }

    /// JSON `changes`: the attribute changes of an `update_user`.
    pub fn changes(&self) -> Option<&BTreeMap<Attribute, Change>> {
        match self {
            Action::UpdateUser(a) => Some(&a.changes),
            _ => None,
        }
    }

    /// JSON `mobile`: the add-on state after the action (`set_mobile_license`, `create_user`;
    /// on `disable_user`, `false` when the add-on is released with it).
    pub fn mobile(&self) -> Option<bool> {
        match self {
            Action::CreateUser(a) => Some(a.fields.mobile),
            Action::SetMobileLicense(a) => Some(a.mobile),
            Action::DisableUser(a) => a.release_mobile.then_some(false),
            _ => None,
        }
    }

    /// JSON `user`: every field of a new user (`create_user`).
    pub fn new_user(&self) -> Option<&NewUser> {
        match self {
            Action::CreateUser(a) => Some(&a.fields),
            _ => None,
        }
    }
}

/// An action as its JSON object: every kind's fields, each present where the kind has it.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    id: Cow<'a, str>,
    kind: ActionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from_role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<Cow<'a, UserKey>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object_id: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node_id: Option<NodeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container: Option<Container>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<Cow<'a, GroupPath>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<Cow<'a, GroupPath>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to_node: Option<NodeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    changes: Option<Cow<'a, BTreeMap<Attribute, Change>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mobile: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<Cow<'a, NewUser>>,
    reason: Cow<'a, str>,
    precondition: Cow<'a, Precondition>,
}

impl Action {
    fn wire(&self) -> Wire<'_> {
        Wire {
            id: Cow::Borrowed(self.id()),
            kind: self.kind(),
            role: self.role(),
            from_role: self.from_role(),
            email: self.email().map(Cow::Borrowed),
            object_id: self.object_id().map(Cow::Borrowed),
            node_id: self.node_id(),
            container: self.container(),
            from: self.from().map(Cow::Borrowed),
            to: self.to().map(Cow::Borrowed),
            to_node: self.to_node(),
            changes: self
                .changes()
                .filter(|changes| !changes.is_empty())
                .map(Cow::Borrowed),
            mobile: self.mobile(),
            user: self.new_user().map(Cow::Borrowed),
            reason: Cow::Borrowed(self.reason()),
            precondition: Cow::Borrowed(self.precondition()),
        }
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.wire().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Wire::deserialize(deserializer)?
            .into_action()
            .map_err(serde::de::Error::custom)
    }
}

impl Wire<'_> {
    /// The action this object describes, or which field its kind needs and it lacks.
    fn into_action(self) -> Result<Action, String> {
        let Wire {
            id,
            kind,
            role,
            from_role,
            email,
            object_id,
            node_id,
            container,
            from,
            to,
            to_node,
            changes,
            mobile,
            user: fields,
            reason,
            precondition,
        } = self;
        let missing = {
            let id = id.to_string();
            move |field: &str| format!("action `{id}` ({}) has no `{field}`", kind.as_str())
        };
        let (id, reason, precondition) = (
            id.into_owned(),
            reason.into_owned(),
            precondition.into_owned(),
        );
        let user = || -> Result<UserRef, String> {
            Ok(UserRef {
                role: role.ok_or_else(|| missing("role"))?,
                email: email.ok_or_else(|| missing("email"))?.into_owned(),
                object_id: object_id.map(Cow::into_owned),
            })
        };
        let node_id = || node_id.ok_or_else(|| missing("node_id"));
        let to_path = || to.map(Cow::into_owned).ok_or_else(|| missing("to"));
        let container = || container.ok_or_else(|| missing("container"));
        let location = || {
            Some(Location {
                container: container().ok()?,
                path: from.clone()?.into_owned(),
            })
        };
        Ok(match kind {
            ActionKind::CreateGroup => Action::CreateGroup(CreateGroup {
                container: container()?,
                path: to_path()?,
                parent: to_node,
                id,
                reason,
                precondition,
            }),
            ActionKind::CreateUser => Action::CreateUser(CreateUser {
                user: user()?,
                to: Place {
                    container: container()?,
                    path: to_path()?,
                    node: to_node,
                },
                fields: fields.ok_or_else(|| missing("user"))?.into_owned(),
                id,
                reason,
                precondition,
            }),
            ActionKind::MoveUser => Action::MoveUser(MoveUser {
                user: user()?,
                node_id: node_id()?,
                from_role,
                from: from.clone().ok_or_else(|| missing("from"))?.into_owned(),
                to: Place {
                    container: container()?,
                    path: to_path()?,
                    node: to_node,
                },
                id,
                reason,
                precondition,
            }),
            ActionKind::UpdateUser => Action::UpdateUser(UpdateUser {
                user: user()?,
                node_id: node_id()?,
                changes: changes.map(Cow::into_owned).unwrap_or_default(),
                id,
                reason,
                precondition,
            }),
            ActionKind::EnableUser => Action::EnableUser(EnableUser {
                user: user()?,
                node_id: node_id()?,
                id,
                reason,
                precondition,
            }),
            ActionKind::SetMobileLicense => Action::SetMobileLicense(SetMobileLicense {
                user: user()?,
                node_id: node_id()?,
                mobile: mobile.ok_or_else(|| missing("mobile"))?,
                from: location(),
                id,
                reason,
                precondition,
            }),
            ActionKind::DisableUser => Action::DisableUser(DisableUser {
                user: user()?,
                node_id: node_id()?,
                from: location(),
                release_mobile: mobile == Some(false),
                id,
                reason,
                precondition,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Action, String> {
        serde_json::from_str::<Action>(json).map_err(|error| error.to_string())
    }

    #[test]
    fn each_kind_reads_back_as_it_was_written() {
        let actions = [
            r#"{"id":"create_group:technicians:Helpdesk/L3","kind":"create_group","container":"technicians","to":"Helpdesk/L3","to_node":10,"reason":"needed by pairing `l3`","precondition":{"absent":true}}"#,
            r#"{"id":"create_user:technician:kim@contoso.com","kind":"create_user","role":"technician","email":"kim@contoso.com","object_id":"u1","container":"technicians","to":"Helpdesk","mobile":true,"user":{"name":"Kim","nick":"","email":"kim@contoso.com","ssoid":"","description":"","mobile":true},"reason":"r","precondition":{"absent":true}}"#,
            r#"{"id":"move_user:administrator:a@contoso.com","kind":"move_user","role":"master_administrator","from_role":"administrator","email":"a@contoso.com","node_id":7,"container":"master_administrators","from":"Regional","to":"","to_node":2,"reason":"r","precondition":{"parent":30}}"#,
            r#"{"id":"update_user:technician:b@contoso.com","kind":"update_user","role":"technician","email":"b@contoso.com","node_id":8,"changes":{"name":{"old":"B","new":"Bea"}},"reason":"r","precondition":{"values":{"name":"B"}}}"#,
            r#"{"id":"enable_user:technician:b@contoso.com","kind":"enable_user","role":"technician","email":"b@contoso.com","node_id":8,"reason":"r","precondition":{"status":"Disabled"}}"#,
            r#"{"id":"set_mobile_license:technician:c@contoso.com","kind":"set_mobile_license","role":"technician","email":"c@contoso.com","node_id":9,"container":"technicians","from":"Helpdesk","mobile":false,"reason":"r","precondition":{"status":"Disabled","mobile":true}}"#,
            r#"{"id":"disable_user:technician:d@contoso.com","kind":"disable_user","role":"technician","email":"d@contoso.com","node_id":11,"container":"technicians","from":"Helpdesk","mobile":false,"reason":"r","precondition":{"parent":4,"status":"Enabled","mobile":false}}"#,
            r#"{"id":"disable_user:technician:e@contoso.com","kind":"disable_user","role":"technician","email":"e@contoso.com","node_id":12,"reason":"r","precondition":{"status":"Enabled","mobile":false}}"#,
        ];
        for (json, kind) in actions.iter().zip([
            ActionKind::CreateGroup,
            ActionKind::CreateUser,
            ActionKind::MoveUser,
            ActionKind::UpdateUser,
            ActionKind::EnableUser,
            ActionKind::SetMobileLicense,
            ActionKind::DisableUser,
            ActionKind::DisableUser,
        ]) {
            let action = read(json).unwrap_or_else(|error| panic!("{json}: {error}"));
            assert_eq!(action.kind(), kind);
            assert_eq!(serde_json::to_string(&action).ok().as_deref(), Some(*json));
        }
    }

    #[test]
    fn a_saved_action_without_a_field_its_kind_needs_is_refused_by_name() {
        for (json, field) in [
            (
                r#"{"id":"x","kind":"enable_user","role":"technician","email":"b@contoso.com","reason":"r","precondition":{}}"#,
                "node_id",
            ),
            (
                r#"{"id":"x","kind":"create_user","role":"technician","email":"k@contoso.com","container":"technicians","to":"L2","reason":"r","precondition":{}}"#,
                "user",
            ),
            (
                r#"{"id":"x","kind":"move_user","role":"technician","email":"k@contoso.com","node_id":3,"container":"technicians","to":"L2","reason":"r","precondition":{}}"#,
                "from",
            ),
            (
                r#"{"id":"x","kind":"set_mobile_license","role":"technician","email":"k@contoso.com","node_id":3,"reason":"r","precondition":{}}"#,
                "mobile",
            ),
            (
                r#"{"id":"x","kind":"create_group","to":"L2","reason":"r","precondition":{}}"#,
                "container",
            ),
            (
                r#"{"id":"x","kind":"update_user","email":"k@contoso.com","node_id":3,"reason":"r","precondition":{}}"#,
                "role",
            ),
        ] {
            let error = read(json).expect_err(json);
            assert!(
                error.contains("action `x`") && error.contains(&format!("no `{field}`")),
                "{json}: {error}"
            );
        }
    }
}
