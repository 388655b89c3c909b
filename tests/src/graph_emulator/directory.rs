//! The emulated tenant's directory: lookups, nesting, and Graph's JSON for users and groups.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use adsync_core::model::{DirectoryGroup, DirectorySnapshot, DirectoryUser};
use serde_json::{Map, Value};

/// Users and groups by id, with memoised transitive memberships.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub(crate) users: BTreeMap<String, DirectoryUser>,
    pub(crate) groups: BTreeMap<String, DirectoryGroup>,
    transitive: HashMap<String, (Vec<String>, Vec<String>)>,
}

/// Which members a listing asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cast {
    /// Every member (`/members`).
    Any,
    /// `/members/microsoft.graph.user`.
    User,
    /// `/members/microsoft.graph.group`.
    Group,
}

/// One listed member.
pub(crate) enum Listed<'a> {
    User(&'a DirectoryUser),
    Group(&'a DirectoryGroup),
}

impl Directory {
    pub(crate) fn new(seed: &DirectorySnapshot) -> Directory {
        Directory {
            users: seed
                .users
                .iter()
                .map(|user| (user.id.clone(), user.clone()))
                .collect(),
            groups: seed
                .groups
                .iter()
                .map(|group| (group.id.clone(), group.clone()))
                .collect(),
            transitive: HashMap::new(),
        }
    }

    /// Direct members that exist, users and groups, each sorted by id.
    pub(crate) fn direct(&self, group: &DirectoryGroup) -> (Vec<String>, Vec<String>) {
        let users: BTreeSet<&String> = group
            .members
            .iter()
            .filter(|id| self.users.contains_key(*id))
            .collect();
        let groups: BTreeSet<&String> = group
            .member_groups
            .iter()
            .filter(|id| self.groups.contains_key(*id) && **id != group.id)
            .collect();
        (
            users.into_iter().cloned().collect(),
            groups.into_iter().cloned().collect(),
        )
    }

    /// Users and groups at any depth below `group` (cycles cut, the group itself excluded),
    /// each sorted by id.
    pub(crate) fn transitive(&mut self, group_id: &str) -> (Vec<String>, Vec<String>) {
        if let Some(found) = self.transitive.get(group_id) {
            return found.clone();
        }
        let mut users = BTreeSet::new();
        let mut groups = BTreeSet::new();
        let mut stack = vec![group_id.to_owned()];
        let mut visited = BTreeSet::from([group_id.to_owned()]);
        while let Some(current) = stack.pop() {
            let Some(group) = self.groups.get(&current) else {
                continue;
            };
            let (direct_users, direct_groups) = self.direct(group);
            users.extend(direct_users);
            for child in direct_groups {
                if visited.insert(child.clone()) {
                    groups.insert(child.clone());
                    stack.push(child);
                }
            }
        }
        let found: (Vec<String>, Vec<String>) =
            (users.into_iter().collect(), groups.into_iter().collect());
        self.transitive.insert(group_id.to_owned(), found.clone());
        found
    }

    /// The members a listing returns, in the emulator's stable order (users, then groups, by
    /// id).
    pub(crate) fn members(
        &mut self,
        group_id: &str,
        transitive: bool,
        cast: Cast,
    ) -> Vec<Listed<'_>> {
        let (users, groups) = if transitive {
            self.transitive(group_id)
        } else {
            match self.groups.get(group_id) {
                Some(group) => self.direct(group),
                None => (Vec::new(), Vec::new()),
            }
        };
        let mut listed = Vec::new();
        if cast != Cast::Group {
            listed.extend(
                users
                    .iter()
                    .filter_map(|id| self.users.get(id))
                    .map(Listed::User),
            );
        }
        if cast != Cast::User {
            listed.extend(
                groups
                    .iter()
                    .filter_map(|id| self.groups.get(id))
                    .map(Listed::Group),
            );
        }
        listed
    }
}

/// Properties Graph returns for a user when there is no `$select`.
const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Every user property the emulator knows.
pub(crate) const USER_PROPERTIES: &[&str] = &[
    "id",
    "userPrincipalName",
    "mail",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "mobilePhone",
    "employeeId",
    "accountEnabled",
    "businessPhones",
    "officeLocation",
    "preferredLanguage",
];

/// Every group property the emulator knows (all returned by default).
pub(crate) const GROUP_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "description",
    "mail",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
];

fn text(value: Option<&String>) -> Value {
    value.map_or(Value::Null, |text| Value::String(text.clone()))
}

/// A user as Graph renders it, limited to `select` (or the default properties); `limited`
/// nulls everything but the id, as Graph does for objects the app may not read.
pub(crate) fn user_json(
    user: &DirectoryUser,
    select: Option<&[String]>,
    typed: bool,
    limited: bool,
) -> Value {
    let mut object = Map::new();
    if typed {
        object.insert("@odata.type".into(), "#microsoft.graph.user".into());
    }
    let wanted: Vec<&str> = match select {
        Some(select) => select.iter().map(String::as_str).collect(),
        None => USER_DEFAULT.to_vec(),
    };
    object.insert("id".into(), Value::String(user.id.clone()));
    for property in wanted {
        let value = match property {
            "id" => continue,
            _ if limited => Value::Null,
            "userPrincipalName" => Value::String(user.upn.clone()),
            "mail" => text(user.mail.as_ref()),
            "displayName" => Value::String(user.display_name.clone()),
            "givenName" => text(user.given_name.as_ref()),
            "surname" => text(user.surname.as_ref()),
            "jobTitle" => text(user.job_title.as_ref()),
            "department" => text(user.department.as_ref()),
            "mobilePhone" => text(user.mobile_phone.as_ref()),
            "employeeId" => text(user.employee_id.as_ref()),
            "accountEnabled" => Value::Bool(user.account_enabled),
            "businessPhones" => Value::Array(Vec::new()),
            "onPremisesExtensionAttributes" => on_premises_extensions(user),
            extension if extension.starts_with("extension_") => {
                match user.attributes.get(extension) {
                    Some(value) => Value::String(value.clone()),
                    // Graph leaves out a schema extension the user has no value for.
                    None => continue,
                }
            }
            // Properties of other types in a mixed listing are left out, as Graph does.
            _ => continue,
        };
        object.insert(property.into(), value);
    }
    Value::Object(object)
}

/// `onPremisesExtensionAttributes`: all fifteen, null where the user has none.
fn on_premises_extensions(user: &DirectoryUser) -> Value {
    let mut object = Map::new();
    for n in 1..=15 {
        let name = format!("extensionAttribute{n}");
        let value = user
            .attributes
            .get(&format!("onPremisesExtensionAttributes.{name}"));
        object.insert(name, text(value));
    }
    Value::Object(object)
}

/// A group as Graph renders it, limited to `select`.
pub(crate) fn group_json(group: &DirectoryGroup, select: Option<&[String]>, typed: bool) -> Value {
    let mut object = Map::new();
    if typed {
        object.insert("@odata.type".into(), "#microsoft.graph.group".into());
    }
    let wanted: Vec<&str> = match select {
        Some(select) => select.iter().map(String::as_str).collect(),
        None => GROUP_PROPERTIES.to_vec(),
    };
    object.insert("id".into(), Value::String(group.id.clone()));
    for property in wanted {
        let value = match property {
            "id" => continue,
            "displayName" => Value::String(group.display_name.clone()),
            "description" | "mail" => Value::Null,
            "mailEnabled" => Value::Bool(false),
            "securityEnabled" => Value::Bool(true),
            "groupTypes" => Value::Array(Vec::new()),
            _ => continue,
        };
        object.insert(property.into(), value);
    }
    Value::Object(object)
}
