//! The account the emulator holds, and the Admin API's rules over it.

use std::collections::{BTreeMap, BTreeSet};

use adsync_goto::api;
use adsync_goto::wire::WireKey;
use adsync_goto::{AdminRole, GotoSnapshot, GotoUser, Key, Licence, Product, RoleSet, UserGroup};
use serde::{Deserialize, Serialize};

/// An answer: status and JSON body.
pub(crate) type Answer = (u16, String);

#[derive(Clone, Debug)]
pub(crate) struct EmuLicence {
    pub(crate) description: String,
    pub(crate) products: BTreeSet<Product>,
    pub(crate) seats: u64,
    pub(crate) enabled: bool,
}

#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) key: Key,
    pub(crate) users: BTreeMap<Key, GotoUser>,
    pub(crate) licences: BTreeMap<Key, EmuLicence>,
    pub(crate) groups: BTreeMap<Key, UserGroup>,
    pub(crate) role_sets: BTreeMap<Key, RoleSet>,
    /// E-mails that belong to users of other GoTo accounts.
    pub(crate) foreign: BTreeSet<String>,
    /// Welcome e-mails sent (creates without `suppressEmail`).
    pub(crate) welcome_emails: Vec<String>,
    next_key: u128,
}

fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "errorCode": code, "message": message }).to_string()
}

/// GoTo shows a user without products as suspended.
fn status_of(user: &GotoUser) -> &'static str {
    if user.licences.is_empty() {
        "SUSPENDED"
    } else {
        "ACTIVE"
    }
}

fn key_of(text: &str) -> Option<Key> {
    Key::new(text)
}

fn wire(key: &Key) -> WireKey {
    WireKey(key.clone())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserOut<'a> {
    key: WireKey,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    admin_roles: Vec<String>,
    managed_group_keys: Vec<WireKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_key: Option<WireKey>,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LicenceOut<'a> {
    key: WireKey,
    description: &'a str,
    products: Vec<&'a str>,
    seats: u64,
    user_count: u64,
    enabled: bool,
    user_keys: Vec<WireKey>,
}

#[derive(Serialize)]
struct CreatedOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<WireKey>,
    email: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUser {
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateBody {
    users: Vec<NewUser>,
    #[serde(default)]
    license_keys: Vec<WireKey>,
    #[serde(default)]
    suppress_email: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateBody {
    #[serde(default)]
    license_keys: Option<Vec<WireKey>>,
    #[serde(default)]
    admin_roles: Option<Vec<String>>,
    #[serde(default)]
    managed_group_keys: Option<Vec<WireKey>>,
    #[serde(default)]
    group_key: Option<WireKey>,
}

impl Account {
    pub(crate) fn new(seed: &GotoSnapshot) -> Account {
        Account {
            key: seed.account_key.clone(),
            users: seed
                .users
                .iter()
                .map(|u| (u.key.clone(), u.clone()))
                .collect(),
            licences: seed
                .licences
                .iter()
                .map(|l| {
                    (
                        l.key.clone(),
                        EmuLicence {
                            description: l.description.clone(),
                            products: l.products.clone(),
                            seats: l.seats,
                            enabled: l.enabled,
                        },
                    )
                })
                .collect(),
            groups: seed
                .groups
                .iter()
                .map(|g| (g.key.clone(), g.clone()))
                .collect(),
            role_sets: seed
                .role_sets
                .iter()
                .map(|r| (r.key.clone(), r.clone()))
                .collect(),
            foreign: BTreeSet::new(),
            welcome_emails: Vec::new(),
            next_key: 7_888_888_601_101_397_288_684_000,
        }
    }

    fn new_key(&mut self) -> Key {
        self.next_key += 1;
        Key::new(self.next_key.to_string()).unwrap_or_else(|| unreachable!("a number is a key"))
    }

    pub(crate) fn holders(&self, licence: &Key) -> BTreeSet<Key> {
        self.users
            .values()
            .filter(|u| u.licences.contains(licence))
            .map(|u| u.key.clone())
            .collect()
    }

    pub(crate) fn snapshot(&self) -> GotoSnapshot {
        let mut snapshot = GotoSnapshot {
            account_key: self.key.clone(),
            users: self
                .users
                .values()
                .map(|user| GotoUser {
                    status: Some(status_of(user).to_owned()),
                    ..user.clone()
                })
                .collect(),
            licences: self
                .licences
                .iter()
                .map(|(key, l)| Licence {
                    key: key.clone(),
                    description: l.description.clone(),
                    products: l.products.clone(),
                    seats: l.seats,
                    user_count: self.holders(key).len() as u64,
                    enabled: l.enabled,
                })
                .collect(),
            groups: self.groups.values().cloned().collect(),
            role_sets: self.role_sets.values().cloned().collect(),
        };
        snapshot.normalize();
        snapshot
    }

    fn user_json(user: &GotoUser) -> serde_json::Result<Box<serde_json::value::RawValue>> {
        let (admin_roles, managed) = match &user.role {
            AdminRole::None => (Vec::new(), Vec::new()),
            AdminRole::Full => (vec![api::ROLE_FULL.to_owned()], Vec::new()),
            AdminRole::ManagerOf { groups } => (
                vec![api::ROLE_MANAGER.to_owned()],
                groups.iter().map(wire).collect(),
            ),
            AdminRole::Other { roles } => (roles.iter().cloned().collect(), Vec::new()),
        };
        serde_json::value::to_raw_value(&UserOut {
            key: wire(&user.key),
            email: &user.email,
            first_name: &user.first_name,
            last_name: &user.last_name,
            admin_roles,
            managed_group_keys: managed,
            group_key: user.group.as_ref().map(wire),
            status: status_of(user),
        })
    }

    /// Every user as JSON, in key order, optionally filtered by e-mail.
    pub(crate) fn users_json(
        &self,
        email: Option<&str>,
    ) -> serde_json::Result<Vec<Box<serde_json::value::RawValue>>> {
        self.users
            .values()
            .filter(|u| email.is_none_or(|e| u.email.eq_ignore_ascii_case(e)))
            .map(Account::user_json)
            .collect()
    }

    pub(crate) fn licences_json(
        &self,
    ) -> serde_json::Result<Vec<Box<serde_json::value::RawValue>>> {
        self.licences
            .iter()
            .map(|(key, l)| {
                let holders = self.holders(key);
                serde_json::value::to_raw_value(&LicenceOut {
                    key: wire(key),
                    description: &l.description,
                    products: l.products.iter().map(Product::as_str).collect(),
                    seats: l.seats,
                    user_count: holders.len() as u64,
                    enabled: l.enabled,
                    user_keys: holders.iter().map(wire).collect(),
                })
            })
            .collect()
    }

    pub(crate) fn groups_json(&self) -> Vec<serde_json::Value> {
        self.groups
            .values()
            .map(|g| {
                let mut value = serde_json::json!({ "key": g.key.as_str(), "name": g.name });
                if let Some(parent) = &g.parent {
                    value["parentKey"] = serde_json::Value::String(parent.as_str().to_owned());
                }
                value
            })
            .collect()
    }

    pub(crate) fn role_sets_json(&self) -> Vec<serde_json::Value> {
        self.role_sets
            .values()
            .map(|r| serde_json::json!({ "id": r.key.as_str(), "name": r.name }))
            .collect()
    }

    pub(crate) fn role_set_users_json(&self, set: &Key) -> Option<Vec<serde_json::Value>> {
        self.role_sets.get(set)?;
        Some(
            self.users
                .values()
                .filter(|u| u.role_sets.contains(set))
                .map(|u| serde_json::json!({ "key": u.key.as_str(), "email": u.email }))
                .collect(),
        )
    }

    /// Licences among `wanted` that lack a seat for `newcomers` more users.
    fn short_of_seats(&self, wanted: &BTreeSet<Key>, newcomers: u64) -> Option<Key> {
        wanted.iter().find_map(|key| {
            let licence = self.licences.get(key)?;
            let used = self.holders(key).len() as u64;
            (used + newcomers > licence.seats).then(|| key.clone())
        })
    }

    fn unknown_licence(&self, wanted: &BTreeSet<Key>) -> Option<Key> {
        wanted
            .iter()
            .find(|k| !self.licences.contains_key(*k))
            .cloned()
    }

    /// "Add Users" (`[DOC]`): conflicting e-mails are returned without a key; with
    /// `allOrNothing` (default true) any conflict is a 409 and nothing is added.
    pub(crate) fn create(&mut self, body: &[u8], all_or_nothing: bool) -> Answer {
        let Ok(body) = serde_json::from_slice::<CreateBody>(body) else {
            return (
                400,
                error_body("INVALID_REQUEST", "the body is not an Add Users request"),
            );
        };
        let licences: BTreeSet<Key> = body.license_keys.iter().map(|k| k.0.clone()).collect();
        if licences.is_empty() {
            return (
                400,
                error_body(
                    "INVALID_REQUEST",
                    "a new user needs a licenseKey or an adminRole",
                ),
            );
        }
        if let Some(key) = self.unknown_licence(&licences) {
            return (
                404,
                error_body("NOT_FOUND", &format!("license {key} not found")),
            );
        }
        let conflicts: BTreeSet<String> = body
            .users
            .iter()
            .map(|u| u.email.trim().to_lowercase())
            .filter(|e| self.foreign.contains(e) || self.users.values().any(|u| &u.email == e))
            .collect();
        if all_or_nothing && !conflicts.is_empty() {
            return (
                409,
                error_body("CONFLICT", "email addresses already in use"),
            );
        }
        let newcomers = (body.users.len() - conflicts.len()) as u64;
        if let Some(short) = self.short_of_seats(&licences, newcomers) {
            return (
                400,
                error_body(
                    "NO_AVAILABLE_SEATS",
                    &format!("license {short} has no seats available"),
                ),
            );
        }
        let mut records = Vec::new();
        for user in body.users {
            let email = user.email.trim().to_lowercase();
            if conflicts.contains(&email) {
                records.push(CreatedOut {
                    key: None,
                    email: user.email,
                });
                continue;
            }
            let key = self.new_key();
            if !body.suppress_email {
                self.welcome_emails.push(email.clone());
            }
            self.users.insert(
                key.clone(),
                GotoUser {
                    key: key.clone(),
                    email,
                    first_name: user.first_name,
                    last_name: user.last_name,
                    licences: licences.clone(),
                    role: AdminRole::None,
                    group: None,
                    role_sets: BTreeSet::new(),
                    status: None,
                },
            );
            records.push(CreatedOut {
                key: Some(wire(&key)),
                email: user.email,
            });
        }
        match serde_json::to_string(&records) {
            Ok(body) => (201, body),
            Err(error) => (500, error_body("INTERNAL", &error.to_string())),
        }
    }

    /// "Update User": licences, admin roles, user group; only the fields sent change.
    pub(crate) fn update(&mut self, user: &str, body: &[u8]) -> Answer {
        let Some(user) = key_of(user).filter(|k| self.users.contains_key(k)) else {
            return (
                404,
                error_body("NOT_FOUND", "The requested resource was not found"),
            );
        };
        let Ok(body) = serde_json::from_slice::<UpdateBody>(body) else {
            return (
                400,
                error_body("INVALID_REQUEST", "the body is not a user update"),
            );
        };
        if let Some(answer) = self.check_update(&user, &body) {
            return answer;
        }
        let Some(record) = self.users.get_mut(&user) else {
            return (
                404,
                error_body("NOT_FOUND", "The requested resource was not found"),
            );
        };
        if let Some(keys) = body.license_keys {
            record.licences = keys.into_iter().map(|k| k.0).collect();
        }
        if let Some(roles) = body.admin_roles {
            let managed: BTreeSet<Key> = body
                .managed_group_keys
                .unwrap_or_default()
                .into_iter()
                .map(|k| k.0)
                .collect();
            let roles: BTreeSet<String> = roles.into_iter().collect();
            record.role = if roles.is_empty() {
                AdminRole::None
            } else if roles.contains(api::ROLE_FULL) {
                AdminRole::Full
            } else if roles.len() == 1 && roles.contains(api::ROLE_MANAGER) && !managed.is_empty() {
                AdminRole::ManagerOf { groups: managed }
            } else {
                AdminRole::Other { roles }
            };
        }
        if let Some(group) = body.group_key {
            record.group = Some(group.0);
        }
        (204, String::new())
    }

    fn check_update(&self, user: &Key, body: &UpdateBody) -> Option<Answer> {
        if let Some(keys) = &body.license_keys {
            let wanted: BTreeSet<Key> = keys.iter().map(|k| k.0.clone()).collect();
            if let Some(key) = self.unknown_licence(&wanted) {
                return Some((
                    404,
                    error_body("NOT_FOUND", &format!("license {key} not found")),
                ));
            }
            let held = self
                .users
                .get(user)
                .map(|u| u.licences.clone())
                .unwrap_or_default();
            let added: BTreeSet<Key> = wanted.difference(&held).cloned().collect();
            if let Some(short) = self.short_of_seats(&added, 1) {
                return Some((
                    400,
                    error_body(
                        "NO_AVAILABLE_SEATS",
                        &format!("license {short} has no seats available"),
                    ),
                ));
            }
        }
        if let Some(group) = &body.group_key
            && !self.groups.contains_key(&group.0)
        {
            return Some((400, error_body("INVALID_GROUP", "no such user group")));
        }
        let managed = body.managed_group_keys.iter().flatten();
        if let Some(missing) = managed
            .into_iter()
            .find(|g| !self.groups.contains_key(&g.0))
        {
            return Some((
                400,
                error_body("INVALID_GROUP", &format!("no user group {}", missing.0)),
            ));
        }
        None
    }

    /// "Delete User" exists in GoTo's API; the emulator serves it so a test can prove adsync
    /// never calls it.
    pub(crate) fn delete(&mut self, user: &str) -> Answer {
        match key_of(user).and_then(|k| self.users.remove(&k)) {
            Some(_) => (204, String::new()),
            None => (
                404,
                error_body("NOT_FOUND", "The requested resource was not found"),
            ),
        }
    }
}
