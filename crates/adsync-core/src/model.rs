//! The domain: identity keys, the directory snapshot (desired side) and the Rescue snapshot
//! (current side), in the public interchange formats of SPEC §14.

use std::borrow::{Borrow, Cow};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The identity of a person: a trimmed, lower-cased e-mail address (or UPN).
///
/// It cannot be built un-normalised, so two keys compare equal exactly when they name the same
/// person. The text is shared: a plan names each person in several places, and a clone costs a
/// reference count, not an allocation.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserKey(Arc<str>);

/// `text.trim()`, without walking the text when its ends are plainly not whitespace (ASCII
/// letters, digits or punctuation): most of the millions of texts a large plan trims.
pub(crate) fn trim(text: &str) -> &str {
    match text.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        [only] if only.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

impl UserKey {
    /// Normalises `raw`; `None` when nothing is left after trimming.
    pub fn new(raw: &str) -> Option<UserKey> {
        let trimmed = trim(raw);
        if trimmed.is_empty() {
            return None;
        }
        Some(UserKey(match UserKey::normalize(trimmed)? {
            Cow::Borrowed(text) => Arc::from(text),
            Cow::Owned(text) => Arc::from(text),
        }))
    }

    /// The key whose normalised text is `text`, as `desired()` keeps it.
    pub(crate) fn from_normalized(text: &str) -> UserKey {
        debug_assert_eq!(
            UserKey::normalize(text).as_deref(),
            Some(text),
            "not a normalised key"
        );
        UserKey(Arc::from(text))
    }

    /// The normalised text of `raw` without allocating when `raw` is already normalised (as
    /// Rescue's e-mails and most directory mails are); `None` when nothing is left after
    /// trimming. Equal to `UserKey::new(raw)`'s text.
    pub(crate) fn normalize(raw: &str) -> Option<Cow<'_, str>> {
        let trimmed = trim(raw);
        if trimmed.is_empty() {
            return None;
        }
        // ASCII lower-casing gives the same text for ASCII input, without Unicode tables.
        if trimmed.is_ascii() {
            if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
                return Some(Cow::Owned(trimmed.to_ascii_lowercase()));
            }
            return Some(Cow::Borrowed(trimmed));
        }
        let lower = trimmed.to_lowercase();
        Some(if lower == trimmed {
            Cow::Borrowed(trimmed)
        } else {
            Cow::Owned(lower)
        })
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the key looks like an e-mail address (`local@domain.tld`, no spaces).
    pub fn is_email_like(&self) -> bool {
        let Some((local, domain)) = self.0.split_once('@') else {
            return false;
        };
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !self.0.chars().any(char::is_whitespace)
    }
}

// Keys compare, order and hash exactly as their text does, so maps and sets of keys can be
// searched with a `&str`.
impl Borrow<str> for UserKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for UserKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        UserKey::new(&raw).ok_or_else(|| serde::de::Error::custom("an empty e-mail address"))
    }
}

/// A Rescue organization-tree node id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u64);

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A group path below a container: the group names joined with `/` (`Helpdesk/L2`).
///
/// Normalised at construction: segments are trimmed, empty segments dropped. The empty path names
/// the container itself.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GroupPath(Arc<str>);

impl GroupPath {
    /// Parses `Helpdesk/L2`, tolerating stray spaces and slashes.
    pub fn parse(raw: &str) -> GroupPath {
        let segments: Vec<&str> = raw
            .split('/')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        GroupPath(Arc::from(segments.join("/")))
    }

    /// The path made of `segments`, each taken verbatim (trimmed).
    pub fn from_segments<'a>(segments: impl IntoIterator<Item = &'a str>) -> GroupPath {
        let parts: Vec<&str> = segments.into_iter().map(str::trim).collect();
        GroupPath(Arc::from(parts.join("/")))
    }

    /// The container itself.
    pub fn root() -> GroupPath {
        GroupPath(Arc::from(""))
    }

    /// Whether this is the container itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The group names from the top.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The path of the parent group; `None` for the container.
    pub fn parent(&self) -> Option<GroupPath> {
        if self.0.is_empty() {
            return None;
        }
        Some(match self.0.rsplit_once('/') {
            Some((parent, _)) => GroupPath(Arc::from(parent)),
            None => GroupPath::root(),
        })
    }

    /// The last segment (the group's own name); empty for the container.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The child path `self/name`.
    pub fn join(&self, name: &str) -> GroupPath {
        if self.0.is_empty() {
            GroupPath(Arc::from(name.trim()))
        } else {
            GroupPath(Arc::from(format!("{}/{}", self.0, name.trim())))
        }
    }

    /// Case-insensitive comparison key (Rescue group names are compared ignoring case).
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Debug for GroupPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Serialize for GroupPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for GroupPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(GroupPath::parse(&String::deserialize(deserializer)?))
    }
}

/// The three roles a pairing can grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A Technician under a Technician Group.
    Technician,
    /// An Administrator under Administrators or an Administrator Group.
    Administrator,
    /// A Master Administrator under Master Administrators.
    MasterAdministrator,
}

impl Role {
    /// The plane in which a person holds a node of this role.
    pub fn plane(self) -> Plane {
        match self {
            Role::Technician => Plane::Technician,
            Role::Administrator | Role::MasterAdministrator => Plane::Administrator,
        }
    }

    /// The wire name (`technician`, `administrator`, `master_administrator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Technician => "technician",
            Role::Administrator => "administrator",
            Role::MasterAdministrator => "master_administrator",
        }
    }

    /// The container whose subtree holds this role's nodes.
    pub fn container(self) -> Container {
        match self {
            Role::Technician => Container::Technicians,
            Role::Administrator => Container::Administrators,
            Role::MasterAdministrator => Container::MasterAdministrators,
        }
    }
}

/// A person holds at most one node in each plane (SPEC §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plane {
    /// Technicians.
    Technician,
    /// Master Administrators and Administrators.
    Administrator,
}

impl Plane {
    /// Both planes, in a fixed order.
    pub const ALL: [Plane; 2] = [Plane::Technician, Plane::Administrator];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Plane::Technician => "technician",
            Plane::Administrator => "administrator",
        }
    }
}

/// The three top-level containers of a Rescue organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Container {
    /// "Master Administrators".
    MasterAdministrators,
    /// "Administrators".
    Administrators,
    /// "Technicians".
    Technicians,
}

impl Container {
    /// The container's display name in Rescue.
    pub fn display_name(self) -> &'static str {
        match self {
            Container::MasterAdministrators => "Master Administrators",
            Container::Administrators => "Administrators",
            Container::Technicians => "Technicians",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Directory side

/// An Entra ID user, with the attributes adsync can sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    /// Entra object id.
    pub id: String,
    /// userPrincipalName.
    #[serde(default)]
    pub upn: String,
    /// mail; may be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// displayName.
    #[serde(default)]
    pub display_name: String,
    /// givenName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// surname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// jobTitle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// mobilePhone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// employeeId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
    /// accountEnabled.
    #[serde(default = "default_true")]
    pub account_enabled: bool,
    /// Further attributes by Graph name, read when the configuration uses them:
    /// `onPremisesExtensionAttributes.extensionAttribute7`, `extension_<appid>_<name>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

fn default_true() -> bool {
    true
}

/// An Entra ID group with its direct members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryGroup {
    /// Entra object id.
    pub id: String,
    /// displayName.
    pub display_name: String,
    /// Direct user members (object ids). A transitive read may list nested users here too.
    #[serde(default)]
    pub members: Vec<String>,
    /// Direct nested group ids.
    #[serde(default)]
    pub member_groups: Vec<String>,
}

/// What a `Source` returns: every user and group in scope (SPEC §14).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectorySnapshot {
    /// Users.
    #[serde(default)]
    pub users: Vec<DirectoryUser>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<DirectoryGroup>,
}

// ---------------------------------------------------------------------------------------------
// Rescue side

/// A Rescue node type. Parsed case-insensitively; unknown types are kept and never touched.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeType {
    /// The organization root.
    Root,
    /// The "Master Administrators" container.
    MasterAdministrators,
    /// The "Administrators" container.
    Administrators,
    /// The "Technicians" container.
    Technicians,
    /// An Administrator Group.
    AdministratorGroup,
    /// A Technician Group.
    TechnicianGroup,
    /// A Master Administrator user.
    MasterAdministrator,
    /// An Administrator user.
    Administrator,
    /// A Technician user.
    Technician,
    /// An administrator assigned to a technician group (read, never touched).
    AdministratorLink,
    /// An administrator group assigned to a technician group (read, never touched).
    AdministratorGroupLink,
    /// A channel (read, never touched).
    Channel,
    /// A pseudo group (read, never touched).
    PseudoGroup,
    /// Any other type, kept verbatim.
    Other(String),
}

impl NodeType {
    /// Parses a type name in any case.
    pub fn parse(raw: &str) -> NodeType {
        match raw.trim().to_ascii_lowercase().as_str() {
            "root" => NodeType::Root,
            "masteradministrators" => NodeType::MasterAdministrators,
            "administrators" => NodeType::Administrators,
            "technicians" => NodeType::Technicians,
            "administratorgroup" => NodeType::AdministratorGroup,
            "techniciangroup" => NodeType::TechnicianGroup,
            "masteradministrator" => NodeType::MasterAdministrator,
            "administrator" => NodeType::Administrator,
            "technician" => NodeType::Technician,
            "administratorlink" => NodeType::AdministratorLink,
            "administratorgrouplink" => NodeType::AdministratorGroupLink,
            "channel" => NodeType::Channel,
            "pseudogroup" => NodeType::PseudoGroup,
            _ => NodeType::Other(raw.trim().to_owned()),
        }
    }

    /// The canonical name used in snapshots.
    pub fn as_str(&self) -> &str {
        match self {
            NodeType::Root => "Root",
            NodeType::MasterAdministrators => "MasterAdministrators",
            NodeType::Administrators => "Administrators",
            NodeType::Technicians => "Technicians",
            NodeType::AdministratorGroup => "AdministratorGroup",
            NodeType::TechnicianGroup => "TechnicianGroup",
            NodeType::MasterAdministrator => "MasterAdministrator",
            NodeType::Administrator => "Administrator",
            NodeType::Technician => "Technician",
            NodeType::AdministratorLink => "AdministratorLink",
            NodeType::AdministratorGroupLink => "AdministratorGroupLink",
            NodeType::Channel => "Channel",
            NodeType::PseudoGroup => "PseudoGroup",
            NodeType::Other(name) => name,
        }
    }

    /// The role of a user node; `None` for any other node.
    pub fn user_role(&self) -> Option<Role> {
        match self {
            NodeType::Technician => Some(Role::Technician),
            NodeType::Administrator => Some(Role::Administrator),
            NodeType::MasterAdministrator => Some(Role::MasterAdministrator),
            _ => None,
        }
    }

    /// The user node type for `role`.
    pub fn for_role(role: Role) -> NodeType {
        match role {
            Role::Technician => NodeType::Technician,
            Role::Administrator => NodeType::Administrator,
            Role::MasterAdministrator => NodeType::MasterAdministrator,
        }
    }

    /// The container this node type is, if any.
    pub fn container(&self) -> Option<Container> {
        match self {
            NodeType::MasterAdministrators => Some(Container::MasterAdministrators),
            NodeType::Administrators => Some(Container::Administrators),
            NodeType::Technicians => Some(Container::Technicians),
            _ => None,
        }
    }
}

impl Serialize for NodeType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NodeType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(NodeType::parse(&String::deserialize(deserializer)?))
    }
}

/// A user's status. Rescue's online states (`Online`, `Offline`, `Busy`, `Away`) read as enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Status {
    /// Enabled (in any online state).
    Enabled,
    /// Disabled.
    Disabled,
}

impl Status {
    /// Parses a Rescue status in any case; anything but `Disabled` is an enabled user.
    pub fn parse(raw: &str) -> Status {
        if raw.trim().eq_ignore_ascii_case("disabled") {
            Status::Disabled
        } else {
            Status::Enabled
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Enabled => "Enabled",
            Status::Disabled => "Disabled",
        }
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Status::parse(&String::deserialize(deserializer)?))
    }
}

/// One node of the Rescue organization tree (SPEC §14).
///
/// User fields the hierarchy does not carry (`nick`, `ssoid`, add-ons) are `None` until a detail
/// read fills them; the planner treats `None` as empty text or an add-on that is off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescueNode {
    /// Node id.
    pub id: NodeId,
    /// Parent node id; `None` for the root.
    #[serde(default)]
    pub parent: Option<NodeId>,
    /// Node type.
    #[serde(rename = "type")]
    pub node_type: NodeType,
    /// Name (display name for users).
    #[serde(default)]
    pub name: String,
    /// E-mail (users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Nickname (users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// SSO ID (users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssoid: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Status (users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Mobile add-on (users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<bool>,
    /// RPAT add-on (users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpat: Option<bool>,
    /// Whether this user is the account holder.
    #[serde(default, skip_serializing_if = "is_false")]
    pub account_holder: bool,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
fn is_false(value: &bool) -> bool {
    !*value
}

impl RescueNode {
    /// A group or container node.
    pub fn group(id: u64, parent: Option<u64>, node_type: NodeType, name: &str) -> RescueNode {
        RescueNode {
            id: NodeId(id),
            parent: parent.map(NodeId),
            node_type,
            name: name.to_owned(),
            email: None,
            nick: None,
            ssoid: None,
            description: None,
            status: None,
            mobile: None,
            rpat: None,
            account_holder: false,
        }
    }

    /// The node's e-mail as an identity key.
    pub fn key(&self) -> Option<UserKey> {
        self.email.as_deref().and_then(UserKey::new)
    }

    /// Whether the node is enabled (a user without a status reads as enabled).
    pub fn is_enabled(&self) -> bool {
        self.status != Some(Status::Disabled)
    }
}

/// What a `Target` reads: the whole organization tree (SPEC §14).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescueSnapshot {
    /// Every node, in any order.
    #[serde(default)]
    pub nodes: Vec<RescueNode>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_trim_is_str_trim() {
        for text in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\tjane@contoso.com\n",
            "jane@contoso.com",
            "Zoë",
            " Zoë ",
            "\u{a0}x\u{a0}",
            "x\u{2003}",
            "\u{2003}x",
            "é",
            "!",
            "a b",
        ] {
            assert_eq!(trim(text), text.trim(), "{text:?}");
        }
    }

    #[test]
    fn keys_normalise_as_before() {
        for raw in [
            "Jane.Doe@Contoso.com",
            " jane@contoso.com ",
            "ZOË@contoso.com",
            "   ",
        ] {
            let expected = Some(raw.trim().to_lowercase()).filter(|k| !k.is_empty());
            assert_eq!(UserKey::new(raw).map(|k| k.as_str().to_owned()), expected);
            assert_eq!(
                UserKey::normalize(raw).map(|k| k.into_owned()),
                UserKey::new(raw).map(|k| k.as_str().to_owned())
            );
        }
    }
}
