//! The GoTo side as data: a whole-account snapshot and the single operations adsync may carry
//! out on it.
//!
//! Both are public formats (a future `type: snapshot` GoTo target reads and rewrites the snapshot;
//! a planner emits the operations): serde, stable names, additive changes only. Every collection
//! is ordered (`BTreeSet`, or a `Vec` sorted by key), so equal accounts serialize byte-equal.
//!
//! There is deliberately no operation that deletes a user: [`Operation`] has no such variant, and
//! suspending a user is removing every product from it, as GoTo User Sync does.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A GoTo key (account, user, licence, group, role set), kept as the decimal text GoTo sends.
///
/// GoTo's keys are JSON numbers wider than 64 bits (`78888886011013972886849029` in the
/// documentation), so they are never parsed into an integer type.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Key(String);

impl Key {
    /// A key from its text, trimmed. `None` when empty.
    pub fn new(text: impl Into<String>) -> Option<Key> {
        let text = text.into();
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| Key(trimmed.to_owned()))
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.0)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A GoTo product code as the licences name it (`G2M`, `G2W`, `G2T`, `OPENVOICE`, `JIVE`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Product(String);

impl Product {
    /// A product code, trimmed and upper-cased (`g2m` and `G2M` are one product).
    pub fn new(code: &str) -> Product {
        Product(code.trim().to_ascii_uppercase())
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's administrator role on the account, as GoTo User Sync sets it ("Administrator for this
/// account": full, or manager of some user groups).
///
/// Written as the rules will be: `none`, `full`, `{ manager_of: [groups] }`, and, for roles adsync
/// only reads, `{ other: [role names] }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "RoleText", into = "RoleText")]
pub enum AdminRole {
    /// Not an administrator.
    #[default]
    None,
    /// Full administrator of the account.
    Full,
    /// Manager of these user groups.
    ManagerOf {
        /// The managed user groups.
        groups: BTreeSet<Key>,
    },
    /// Admin roles adsync does not model (a custom combination); read, never written.
    Other {
        /// The role names as GoTo lists them.
        roles: BTreeSet<String>,
    },
}

/// How [`AdminRole`] is written in snapshot and operation files.
#[derive(Clone, Serialize)]
#[serde(untagged)]
enum RoleText {
    Word(&'static str),
    ManagerOf { manager_of: BTreeSet<Key> },
    Other { other: BTreeSet<String> },
}

impl<'de> Deserialize<'de> for RoleText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RoleText, D::Error> {
        struct RoleVisitor;

        impl<'de> serde::de::Visitor<'de> for RoleVisitor {
            type Value = RoleText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`none`, `full`, `{ manager_of: [groups] }` or `{ other: [roles] }`")
            }

            fn visit_str<E: serde::de::Error>(self, word: &str) -> Result<RoleText, E> {
                match word {
                    "none" => Ok(RoleText::Word("none")),
                    "full" => Ok(RoleText::Word("full")),
                    other => Err(E::unknown_variant(other, &["none", "full"])),
                }
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RoleText, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(serde::de::Error::custom("an empty admin role"));
                };
                let role = match key.as_str() {
                    "manager_of" => RoleText::ManagerOf {
                        manager_of: map.next_value()?,
                    },
                    "other" => RoleText::Other {
                        other: map.next_value()?,
                    },
                    other => {
                        return Err(serde::de::Error::unknown_field(
                            other,
                            &["manager_of", "other"],
                        ));
                    }
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(serde::de::Error::custom(
                        "an admin role has exactly one key",
                    ));
                }
                Ok(role)
            }
        }

        deserializer.deserialize_any(RoleVisitor)
    }
}

impl From<RoleText> for AdminRole {
    fn from(text: RoleText) -> AdminRole {
        match text {
            RoleText::Word("full") => AdminRole::Full,
            RoleText::Word(_) => AdminRole::None,
            RoleText::ManagerOf { manager_of } => AdminRole::ManagerOf { groups: manager_of },
            RoleText::Other { other } => AdminRole::Other { roles: other },
        }
    }
}

impl From<AdminRole> for RoleText {
    fn from(role: AdminRole) -> RoleText {
        match role {
            AdminRole::None => RoleText::Word("none"),
            AdminRole::Full => RoleText::Word("full"),
            AdminRole::ManagerOf { groups } => RoleText::ManagerOf { manager_of: groups },
            AdminRole::Other { roles } => RoleText::Other { other: roles },
        }
    }
}

/// A user of the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GotoUser {
    /// The user key.
    pub key: Key,
    /// The e-mail, lower-cased and trimmed (the identity key adsync matches on).
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// The licences the user holds (their products are the licences' products).
    #[serde(default)]
    pub licences: BTreeSet<Key>,
    /// The administrator role.
    #[serde(default)]
    pub role: AdminRole,
    /// The user group the user belongs to, if any.
    #[serde(default)]
    pub group: Option<Key>,
    /// The custom role sets the user holds.
    #[serde(default)]
    pub role_sets: BTreeSet<Key>,
    /// GoTo's status text when it sends one (`ACTIVE`, `SUSPENDED`, `INVITED`), verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl GotoUser {
    /// Whether the user holds no licence: GoTo shows such a user as suspended.
    pub fn is_suspended(&self) -> bool {
        self.licences.is_empty()
    }
}

/// A licence: a pool of seats for one or more products.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    /// The licence key.
    pub key: Key,
    /// GoTo's description of the licence.
    #[serde(default)]
    pub description: String,
    /// The products it grants.
    #[serde(default)]
    pub products: BTreeSet<Product>,
    /// Seats bought.
    pub seats: u64,
    /// Seats in use, as GoTo counts them.
    pub user_count: u64,
    /// Whether the licence is enabled.
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

impl Licence {
    /// Seats still free (`seats − userCount`, never below zero): what a licence pre-flight
    /// compares with the seats a plan adds.
    pub fn free_seats(&self) -> u64 {
        self.seats.saturating_sub(self.user_count)
    }
}

/// A user group of the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGroup {
    /// The group key.
    pub key: Key,
    /// Its name.
    pub name: String,
    /// The parent group, for nested user groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Key>,
}

/// A custom admin role set of the account (read only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSet {
    /// The role set id.
    pub key: Key,
    /// Its name.
    pub name: String,
}

/// A whole GoTo account, read completely or not at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GotoSnapshot {
    /// The account key.
    pub account_key: Key,
    /// Every user, by key.
    #[serde(default)]
    pub users: Vec<GotoUser>,
    /// Every licence, by key.
    #[serde(default)]
    pub licences: Vec<Licence>,
    /// Every user group, by key.
    #[serde(default)]
    pub groups: Vec<UserGroup>,
    /// Every custom role set, by key.
    #[serde(default)]
    pub role_sets: Vec<RoleSet>,
}

impl GotoSnapshot {
    /// Sorts every list by key, so equal accounts serialize byte-equal.
    pub fn normalize(&mut self) {
        self.users.sort_by(|a, b| a.key.cmp(&b.key));
        self.licences.sort_by(|a, b| a.key.cmp(&b.key));
        self.groups.sort_by(|a, b| a.key.cmp(&b.key));
        self.role_sets.sort_by(|a, b| a.key.cmp(&b.key));
    }

    /// The user with this e-mail (compared lower-cased and trimmed).
    pub fn user_by_email(&self, email: &str) -> Option<&GotoUser> {
        let email = normalize_email(email);
        self.users.iter().find(|user| user.email == email)
    }

    /// The products a user holds through its licences.
    pub fn products_of(&self, user: &GotoUser) -> BTreeSet<Product> {
        self.licences
            .iter()
            .filter(|licence| user.licences.contains(&licence.key))
            .flat_map(|licence| licence.products.iter().cloned())
            .collect()
    }
}

/// The identity form of an e-mail: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// One change to a GoTo account. Every variant names the user by key and e-mail (for reports)
/// and carries the values it expects to replace, so a saved operation can be checked for drift.
///
/// There is no delete: [`Operation::Suspend`] removes every licence and keeps the user, its
/// meetings and recordings, as GoTo User Sync does ("Users are never deleted").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Operation {
    /// Adds a user to the account with its licences, then sets its role and user group.
    CreateUser {
        /// The e-mail.
        email: String,
        /// First name.
        first_name: String,
        /// Last name.
        last_name: String,
        /// Licences to give (GoTo requires a licence or an admin role for a new user).
        licences: BTreeSet<Key>,
        /// The role to set after creation ([`AdminRole::None`]: nothing to set).
        #[serde(default)]
        role: AdminRole,
        /// The user group to move the new user to.
        #[serde(default)]
        group: Option<Key>,
    },
    /// Replaces the user's licences (adds and removes products).
    SetLicences {
        /// The user.
        user: Key,
        /// Its e-mail.
        email: String,
        /// The licences it holds now.
        before: BTreeSet<Key>,
        /// The licences it should hold (not empty: use [`Operation::Suspend`]).
        after: BTreeSet<Key>,
    },
    /// Sets the user's administrator role.
    SetRole {
        /// The user.
        user: Key,
        /// Its e-mail.
        email: String,
        /// The role now.
        before: AdminRole,
        /// The role wanted ([`AdminRole::Other`] is refused: adsync does not write it).
        after: AdminRole,
    },
    /// Moves the user into a user group.
    MoveToGroup {
        /// The user.
        user: Key,
        /// Its e-mail.
        email: String,
        /// The group now.
        from: Option<Key>,
        /// The group wanted.
        to: Key,
    },
    /// Removes every licence from the user: GoTo then shows it as suspended. Never a deletion.
    Suspend {
        /// The user.
        user: Key,
        /// Its e-mail.
        email: String,
        /// The licences it holds now.
        before: BTreeSet<Key>,
    },
}

impl Operation {
    /// The e-mail of the user the operation is about.
    pub fn email(&self) -> &str {
        match self {
            Operation::CreateUser { email, .. }
            | Operation::SetLicences { email, .. }
            | Operation::SetRole { email, .. }
            | Operation::MoveToGroup { email, .. }
            | Operation::Suspend { email, .. } => email,
        }
    }

    /// The licences the operation adds to the user (what a licence pre-flight counts).
    pub fn licences_added(&self) -> BTreeSet<Key> {
        match self {
            Operation::CreateUser { licences, .. } => licences.clone(),
            Operation::SetLicences { before, after, .. } => {
                after.difference(before).cloned().collect()
            }
            Operation::SetRole { .. }
            | Operation::MoveToGroup { .. }
            | Operation::Suspend { .. } => BTreeSet::new(),
        }
    }
}

/// What an applied operation produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The key of the user a [`Operation::CreateUser`] made.
    pub created: Option<Key>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_and_write_as_the_rules_spell_them() {
        let roles: Vec<AdminRole> = serde_yaml::from_str(
            "[none, full, {manager_of: ['31', '32']}, {other: [RUN_REPORTS]}]",
        )
        .unwrap();
        assert_eq!(roles[0], AdminRole::None);
        assert_eq!(roles[1], AdminRole::Full);
        assert_eq!(
            roles[2],
            AdminRole::ManagerOf {
                groups: ["31", "32"].iter().filter_map(|k| Key::new(*k)).collect()
            }
        );
        assert_eq!(
            serde_json::to_string(&roles).unwrap(),
            r#"["none","full",{"manager_of":["31","32"]},{"other":["RUN_REPORTS"]}]"#
        );
        let error = serde_yaml::from_str::<AdminRole>("admin").unwrap_err();
        assert!(
            error.to_string().contains("unknown variant `admin`"),
            "{error}"
        );
        assert!(serde_yaml::from_str::<AdminRole>("{manager_of: [1], full: 2}").is_err());
    }

    #[test]
    fn operations_round_trip_with_their_kind() {
        let operation = Operation::Suspend {
            user: Key::new("1001").unwrap(),
            email: "ada@contoso.com".to_owned(),
            before: [Key::new("5001").unwrap()].into(),
        };
        let json = serde_json::to_string(&operation).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"suspend","user":"1001","email":"ada@contoso.com","before":["5001"]}"#
        );
        assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), operation);
    }
}
