//! The reconciliation rules of SPEC §5: what a desired user's node needs, what becomes of a
//! managed node nobody wants, and who is never touched.
//!
//! Each rule is a function over domain views: a desired user, the pairing that won it, its
//! destination, a node and where it sits, the policy. Nothing here knows how the planner finds
//! those; `plan()` hands them in.

use std::collections::BTreeMap;

use crate::config::Attribute;
use crate::desired::{DesiredUser, DirectoryEntry, Keyless, ResolvedPairing};
use crate::hash::FastMap;
use crate::model::{GroupPath, NodeId, Plane, RescueNode, Role, Status, UserKey};
use crate::tree::GroupLocation;
use crate::warning::{Warning, WarningKind};

use super::claim::KeyedNode;
use super::{
    Action, Change, CreateUser, DisableUser, EnableUser, Links, Location, MappedValue, MoveUser,
    NewUser, Place, Policy, Precondition, SetMobileLicense, UpdateUser, UserRef,
};

/// A desired user with what decides its actions: the pairing that won it and its destination.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wanted<'a> {
    pub(crate) user: DesiredUser<'a>,
    pub(crate) pairing: &'a ResolvedPairing,
    pub(crate) to: &'a Place,
}

impl Wanted<'_> {
    fn user_ref(&self) -> UserRef {
        UserRef {
            role: self.user.role(),
            email: self.user.user_key(),
            object_id: Some(self.user.object_id().to_owned()),
        }
    }

    fn id(&self, kind: &str) -> String {
        action_id(kind, self.user.role().plane(), self.user.key())
    }

    /// Why the user gets its actions: its winning pairing.
    pub(crate) fn reason(&self) -> String {
        let pairing = self.pairing;
        match (pairing.group_name.as_str(), &pairing.condition) {
            ("", Some(condition)) => {
                format!("selected by `{condition}` (pairing `{}`)", pairing.label)
            }
            (group, Some(condition)) => format!(
                "member of {group} selected by `{condition}` (pairing `{}`)",
                pairing.label
            ),
            (group, None) => format!("member of {group} (pairing `{}`)", pairing.label),
        }
    }
}

/// `<kind>:<plane>:<e-mail>`, a user action's stable id.
fn action_id(kind: &str, plane: Plane, key: &str) -> String {
    format!("{kind}:{}:{key}", plane.as_str())
}

/// SPEC §5, a desired user without a node: `create_user` in its destination with every field.
pub(crate) fn create(wanted: &Wanted<'_>) -> Action {
    let user = wanted.user;
    Action::CreateUser(CreateUser {
        id: wanted.id("create_user"),
        user: wanted.user_ref(),
        to: wanted.to.clone(),
        fields: NewUser {
            name: user.name().to_owned(),
            nick: user.nick().to_owned(),
            email: user.key().to_owned(),
            ssoid: user.ssoid().unwrap_or_default().to_owned(),
            description: user.description().to_owned(),
            mobile: wanted.pairing.mobile_license,
        },
        reason: wanted.reason(),
        precondition: Precondition {
            absent: true,
            ..Precondition::default()
        },
    })
}

/// SPEC §5, a desired user with a node: move it back into its destination, update the synced
/// attributes that differ and set the add-on (full group sync only), enable it (both modes).
/// `location` is where the node sits.
pub(crate) fn bring_in_line(
    wanted: &Wanted<'_>,
    keyed: &KeyedNode<'_>,
    location: Option<&GroupLocation>,
    policy: &Policy,
) -> Vec<Action> {
    let node = keyed.node;
    let mut actions = Vec::new();
    if policy.full_group_sync {
        actions.extend(move_back(wanted, node, location));
        actions.extend(update(wanted, keyed));
    }
    if !node.is_enabled() {
        actions.push(Action::EnableUser(EnableUser {
            id: wanted.id("enable_user"),
            user: wanted.user_ref(),
            node_id: node.id,
            reason: wanted.reason(),
            precondition: Precondition {
                status: Some(Status::Disabled),
                ..Precondition::identity(node)
            },
        }));
    }
    if policy.full_group_sync {
        actions.extend(set_mobile(wanted, node));
    }
    actions
}

/// A node outside its destination (another group of the plane, managed or not, or the other
/// container of the administrator plane) moves back (the seed's "moved back to its initial
/// synchronization group").
fn move_back(
    wanted: &Wanted<'_>,
    node: &RescueNode,
    location: Option<&GroupLocation>,
) -> Option<Action> {
    let in_place = wanted.to.node.is_some() && node.parent == wanted.to.node;
    if in_place {
        return None;
    }
    let role = wanted.user.role();
    let current_role = node.node_type.user_role().unwrap_or(role);
    Some(Action::MoveUser(MoveUser {
        id: wanted.id("move_user"),
        user: wanted.user_ref(),
        node_id: node.id,
        from_role: (current_role != role).then_some(current_role),
        from: location.map_or_else(GroupPath::root, |l| l.path.clone()),
        to: wanted.to.clone(),
        reason: wanted.reason(),
        precondition: Precondition {
            parent: node.parent,
            ..Precondition::identity(node)
        },
    }))
}

/// The synced attributes (the pairing's `attributes`) whose values differ.
fn update(wanted: &Wanted<'_>, node: &KeyedNode<'_>) -> Option<Action> {
    let changes = attribute_changes(wanted.user, wanted.pairing, node);
    if changes.is_empty() {
        return None;
    }
    let values = changes
        .iter()
        .map(|(attribute, change)| (*attribute, change.old.clone()))
        .collect();
    Some(Action::UpdateUser(UpdateUser {
        id: wanted.id("update_user"),
        user: wanted.user_ref(),
        node_id: node.node.id,
        changes,
        reason: wanted.reason(),
        precondition: Precondition {
            values,
            ..Precondition::identity(node.node)
        },
    }))
}

/// SPEC §3: the attributes a pairing keeps equal to the directory, where `node` differs. An SSO
/// ID without a source is not synced; e-mails compare as keys (case and padding are no change).
pub(crate) fn attribute_changes(
    user: DesiredUser<'_>,
    pairing: &ResolvedPairing,
    keyed: &KeyedNode<'_>,
) -> BTreeMap<Attribute, Change> {
    let node = keyed.node;
    let mut changes = BTreeMap::new();
    fn text(value: &Option<String>) -> &str {
        value.as_deref().unwrap_or("")
    }
    for &attribute in &pairing.attributes {
        let (wanted, have) = match attribute {
            Attribute::Name => (Some(user.name()), node.name.as_str()),
            Attribute::Nick => (Some(user.nick()), text(&node.nick)),
            Attribute::Email => (Some(user.key()), text(&node.email)),
            Attribute::Ssoid => (user.ssoid(), text(&node.ssoid)),
            Attribute::Description => (Some(user.description()), text(&node.description)),
        };
        let Some(wanted) = wanted else { continue };
        // Free text compares as the adapter sends it (`crate::text`), so directory text with
        // line breaks is written once rather than every run.
        let differs = match attribute {
            Attribute::Email => keyed.key() != Some(user.key()),
            Attribute::Ssoid => wanted != have,
            _ => crate::text::as_sent(wanted) != have,
        };
        if differs {
            changes.insert(
                attribute,
                Change {
                    old: have.to_owned(),
                    new: wanted.to_owned(),
                    mapped: mapped_value(&user, attribute),
                },
            );
        }
    }
    changes
}

/// Issue 24: the template that made a changed value, and the directory values it read.
fn mapped_value(user: &DesiredUser<'_>, attribute: Attribute) -> Option<MappedValue> {
    let from = user.mapped_from(attribute)?;
    Some(MappedValue {
        template: from.template.template.to_string(),
        key: from.template.key.clone(),
        values: from
            .values
            .iter()
            .map(|&(name, value)| (name.to_owned(), value.map(str::to_owned)))
            .collect(),
    })
}

/// The pairing's `mobile_license` decides the add-on: on when it grants it, off otherwise.
fn set_mobile(wanted: &Wanted<'_>, node: &RescueNode) -> Option<Action> {
    let has_mobile = node.mobile == Some(true);
    let grants = wanted.pairing.mobile_license;
    if has_mobile == grants {
        return None;
    }
    Some(Action::SetMobileLicense(SetMobileLicense {
        id: wanted.id("set_mobile_license"),
        user: wanted.user_ref(),
        node_id: node.id,
        mobile: grants,
        from: None,
        reason: format!(
            "{}, which {} the mobile add-on",
            wanted.reason(),
            if grants { "grants" } else { "does not grant" }
        ),
        // A user disabled by hand since the plan was made gets no add-on.
        precondition: Precondition {
            mobile: Some(has_mobile),
            status: Some(if node.is_enabled() {
                Status::Enabled
            } else {
                Status::Disabled
            }),
            ..Precondition::identity(node)
        },
    }))
}

/// SPEC §5: a managed user is a user node in a managed group of its plane, or one linked in the
/// state directory.
pub(crate) fn is_managed(in_managed_group: bool, linked: bool) -> bool {
    in_managed_group || linked
}

/// SPEC §5, a managed node nobody wants (`key` its e-mail, `directory` the directory user
/// with that key, if any): an enabled node is disabled and its mobile add-on released; a
/// disabled node with the add-on on has it released; anything else needs nothing.
pub(crate) fn leaving(
    node: &RescueNode,
    role: Role,
    key: &UserKey,
    location: Option<&GroupLocation>,
    directory: Option<DirectoryEntry<'_>>,
) -> Option<Action> {
    let plane = role.plane();
    let mobile_on = node.mobile == Some(true);
    let why = match directory {
        Some(entry) if !entry.enabled() => "account disabled in Entra ID".to_owned(),
        _ => format!("no longer in any paired {} group", plane.as_str()),
    };
    let user = UserRef {
        role,
        email: key.clone(),
        object_id: directory.map(|entry| entry.object_id().to_owned()),
    };
    let from = location.map(|l| Location {
        container: l.container,
        path: l.path.clone(),
    });
    if node.is_enabled() {
        return Some(Action::DisableUser(DisableUser {
            id: action_id("disable_user", plane, key.as_str()),
            user,
            node_id: node.id,
            from,
            // An add-on state the read did not report is released too: SPEC §5 frees the
            // licence of every disabled user, and `false` is what setUser writes anyway.
            release_mobile: node.mobile != Some(false),
            reason: why,
            precondition: Precondition {
                status: Some(Status::Enabled),
                parent: node.parent,
                mobile: Some(mobile_on),
                ..Precondition::identity(node)
            },
        }));
    }
    mobile_on.then(|| {
        Action::SetMobileLicense(SetMobileLicense {
            id: action_id("set_mobile_license", plane, key.as_str()),
            user,
            node_id: node.id,
            mobile: false,
            from,
            reason: format!("{why}; releasing the mobile add-on of a disabled user"),
            precondition: Precondition {
                status: Some(Status::Disabled),
                mobile: Some(true),
                ..Precondition::identity(node)
            },
        })
    })
}

/// Why adsync leaves a user alone whatever the directory says (SPEC §5: "protected or account
/// holder: nothing; a warning if the directory wanted a change").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeldBack {
    /// Its e-mail is in `sync.protected`.
    Protected,
    /// It is the account holder.
    AccountHolder,
}

/// Whether a user is held back: its node is the account holder, or the node's e-mail or the
/// e-mail the directory wants for it (`wanted`) is protected. An operator protects an address
/// to keep adsync's hands off it entirely, so a protected user is never created either.
pub(crate) fn held_back(
    node: Option<&KeyedNode<'_>>,
    wanted: Option<&str>,
    policy: &Policy,
) -> Option<HeldBack> {
    let protected = |key: Option<&str>| key.is_some_and(|key| policy.protected.contains(key));
    if node.is_some_and(|node| node.node.account_holder) {
        Some(HeldBack::AccountHolder)
    } else if protected(node.and_then(KeyedNode::key)) || protected(wanted) {
        Some(HeldBack::Protected)
    } else {
        None
    }
}

impl HeldBack {
    /// The warning for `key`, which the directory wants changed (`wanted`, the action kinds).
    pub(crate) fn warning(self, key: &UserKey, wanted: &str) -> Warning {
        Warning {
            kind: match self {
                HeldBack::AccountHolder => WarningKind::AccountHolder,
                HeldBack::Protected => WarningKind::Protected,
            },
            message: format!(
                "`{key}` is {}; the directory wants {wanted} but adsync leaves it untouched",
                self.describe(),
            ),
            email: Some(key.clone()),
        }
    }

    /// What the user entry notes.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            HeldBack::Protected => "protected (sync.protected)",
            HeldBack::AccountHolder => "the account holder",
        }
    }
}

/// SPEC §2: a node found through a link whose e-mail several directory users share is left as
/// it is, like those users.
pub(crate) fn shared_node_key_warning(
    user: DesiredUser<'_>,
    node: &RescueNode,
    node_key: &str,
) -> Warning {
    Warning {
        kind: WarningKind::DuplicateKey,
        message: format!(
            "`{}` is linked to Rescue node {}, whose e-mail `{node_key}` several directory users share; the node is left as it is",
            user.key(),
            node.id
        ),
        email: Some(user.user_key()),
    }
}

/// A partial record is not a leaver: the Rescue users that members of paired groups without an
/// identity key still own, per plane (`Plane as usize`) — the node their link names, or the
/// node whose e-mail is their other identity attribute — with the member's index in
/// [`crate::desired::DesiredState::keyless`]. Such a node is kept as it is, never disabled.
#[derive(Debug, Default)]
pub(crate) struct KeylessNodes<'a> {
    by_node: [FastMap<NodeId, usize>; 2],
    by_key: [FastMap<&'a str, usize>; 2],
}

impl<'a> KeylessNodes<'a> {
    /// `keyless` in object id order ([`crate::desired::DesiredState::keyless`]).
    pub(crate) fn new(keyless: &'a [Keyless], links: &Links) -> KeylessNodes<'a> {
        let mut nodes = KeylessNodes::default();
        for (at, member) in keyless.iter().enumerate() {
            for plane in Plane::ALL {
                if !member.planes[plane as usize] {
                    continue;
                }
                // Several members claiming one node: the first in object id order names it.
                if let Some(node) = links.plane(plane).get(&member.object_id) {
                    nodes.by_node[plane as usize].entry(*node).or_insert(at);
                }
                if let Some(key) = &member.other_key {
                    nodes.by_key[plane as usize]
                        .entry(key.as_str())
                        .or_insert(at);
                }
            }
        }
        nodes
    }

    /// The keyless member that owns `node` (of `plane`, with e-mail key `key`), if any.
    pub(crate) fn owner(&self, node: NodeId, plane: Plane, key: Option<&str>) -> Option<usize> {
        let plane = plane as usize;
        self.by_node[plane]
            .get(&node)
            .or_else(|| key.and_then(|key| self.by_key[plane].get(key)))
            .copied()
    }
}

/// The warning for a node kept because its owner's directory record lacks the identity key.
pub(crate) fn keyless_warning(member: &Keyless, node: &RescueNode) -> Warning {
    let what = member.missing;
    let email = node.key();
    Warning {
        kind: WarningKind::MissingKey,
        message: format!(
            "directory user {} (`{}`) is in a paired group but its record has no {what}; its Rescue user `{}` (node {}) is kept as it is, not disabled",
            member.display_name,
            member.object_id,
            email.as_ref().map_or("", UserKey::as_str),
            node.id
        ),
        email,
    }
}
