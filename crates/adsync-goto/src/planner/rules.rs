//! Per person, what the account needs (GoTo User Sync's rules as adsync applies them): add a
//! missing user with its products, role and user group; give an existing user exactly the
//! products its rules name; set its role and user group when a rule sets them; suspend a user
//! adsync manages that no rule selects any more, by removing every licence. Protected e-mails
//! and keys the directory holds twice are never touched.

use std::collections::{BTreeMap, BTreeSet};

use adsync_core::goto::{GotoDesired, GotoWant};
use adsync_core::model::UserKey;
use adsync_core::plan::{Warning, WarningKind};

use super::Unresolved;
use super::resolve::{group_for, licences_for, role_for};
use crate::model::{AdminRole, GotoSnapshot, GotoUser, Key, Operation, Product, normalize_email};

/// What the rules decided, before ordering.
#[derive(Debug, Default)]
pub(super) struct Decided {
    /// Each operation with the winning rule of its user.
    pub(super) operations: Vec<(Option<usize>, Operation)>,
    pub(super) unresolved: Vec<Unresolved>,
    pub(super) warnings: Vec<Warning>,
    /// The e-mails managed once the plan is applied.
    pub(super) managed: BTreeSet<String>,
}

/// Decides every person's operations.
pub(super) fn decide(
    wanted: &GotoDesired,
    account: &GotoSnapshot,
    protected: &BTreeSet<String>,
    managed: &BTreeSet<String>,
) -> Decided {
    let mut decided = Decided::default();
    let mut selected: BTreeSet<String> = BTreeSet::new();
    let by_email: BTreeMap<&str, &GotoUser> = account
        .users
        .iter()
        .map(|user| (user.email.as_str(), user))
        .collect();
    for want in &wanted.users {
        let email = normalize_email(want.email.as_str());
        selected.insert(email.clone());
        let existing = by_email.get(email.as_str()).copied();
        let (operations, unresolved) = person(wanted, want, existing, account);
        if protected.contains(&email) {
            if !operations.is_empty() {
                decided.warnings.push(protected_warning(&email));
            }
            continue;
        }
        decided.unresolved.extend(unresolved);
        decided
            .operations
            .extend(operations.into_iter().map(|op| (Some(want.rule()), op)));
        decided.managed.insert(email);
    }
    for user in &account.users {
        if !managed.contains(&user.email) || selected.contains(&user.email) {
            continue;
        }
        let held_twice = UserKey::new(&user.email).is_some_and(|key| wanted.held.contains(&key));
        if held_twice || protected.contains(&user.email) {
            continue;
        }
        decided.managed.insert(user.email.clone());
        if let Some(suspend) = suspension(user) {
            decided.operations.push((None, suspend));
        }
    }
    decided
}

/// Suspends a user no rule selects: removes every licence (never deletes).
fn suspension(user: &GotoUser) -> Option<Operation> {
    (!user.licences.is_empty()).then(|| Operation::Suspend {
        user: user.key.clone(),
        email: user.email.clone(),
        before: user.licences.clone(),
    })
}

fn protected_warning(email: &str) -> Warning {
    Warning {
        kind: WarningKind::Protected,
        message: format!("{email} is protected (sync.protected); the goto user is left as it is"),
        email: UserKey::new(email),
    }
}

/// One person's operations, and what its rules asked for that the account lacks.
fn person(
    wanted: &GotoDesired,
    want: &GotoWant,
    existing: Option<&GotoUser>,
    account: &GotoSnapshot,
) -> (Vec<Operation>, Vec<Unresolved>) {
    let email = normalize_email(want.email.as_str());
    let rule_name = |index: usize| wanted.rules.get(index).cloned().unwrap_or_default();
    let mut unresolved = Vec::new();
    let mut note = |rule: usize, message: String| {
        unresolved.push(Unresolved {
            email: email.clone(),
            rule: rule_name(rule),
            message,
        });
    };
    let products: BTreeSet<Product> = want.products.iter().map(|p| Product::new(p)).collect();
    let held = existing.map(|u| u.licences.clone()).unwrap_or_default();
    let (licences, missing) = licences_for(&products, &held, account);
    for product in missing {
        note(
            want.rule(),
            format!(
                "no enabled licence of the account grants product `{}`",
                product.as_str()
            ),
        );
    }
    let role = want
        .admin_role
        .as_ref()
        .and_then(|(rule, index)| match role_for(rule, account) {
            Ok(role) => Some(role),
            Err(missing) => {
                note(*index, no_groups(&missing, "admin role"));
                None
            }
        });
    let group = want
        .user_group
        .as_ref()
        .and_then(|(name, index)| match group_for(name, account) {
            Some(key) => Some(key),
            None => {
                note(*index, no_groups(std::slice::from_ref(name), "user group"));
                None
            }
        });
    let operations = match existing {
        None if licences.is_empty() => {
            note(
                want.rule(),
                "cannot be added: no product of its rules has a licence".to_owned(),
            );
            Vec::new()
        }
        None => vec![Operation::CreateUser {
            email: email.clone(),
            first_name: want.first_name.clone(),
            last_name: want.last_name.clone(),
            licences,
            role: role.unwrap_or_default(),
            group,
        }],
        Some(user) => {
            let (operations, custom) = changes(user, licences, role, group);
            if custom {
                note(
                    want.admin_role.as_ref().map_or(want.rule(), |(_, i)| *i),
                    "holds a custom admin role adsync does not write; its role is left as it is"
                        .to_owned(),
                );
            }
            operations
        }
    };
    (operations, unresolved)
}

/// The changes an existing user needs; `true` when a custom role kept a role change back.
fn changes(
    user: &GotoUser,
    licences: BTreeSet<Key>,
    role: Option<AdminRole>,
    group: Option<Key>,
) -> (Vec<Operation>, bool) {
    let mut operations = Vec::new();
    let mut custom = false;
    if !licences.is_empty() && licences != user.licences {
        operations.push(Operation::SetLicences {
            user: user.key.clone(),
            email: user.email.clone(),
            before: user.licences.clone(),
            after: licences,
        });
    }
    match role {
        Some(_) if matches!(user.role, AdminRole::Other { .. }) => custom = true,
        Some(role) if role != user.role => operations.push(Operation::SetRole {
            user: user.key.clone(),
            email: user.email.clone(),
            before: user.role.clone(),
            after: role,
        }),
        _ => {}
    }
    if let Some(group) = group
        && user.group.as_ref() != Some(&group)
    {
        operations.push(Operation::MoveToGroup {
            user: user.key.clone(),
            email: user.email.clone(),
            from: user.group.clone(),
            to: group,
        });
    }
    (operations, custom)
}

fn no_groups(names: &[String], what: &str) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!(
        "the account has no user group {} (for the {what}); that setting is left as it is",
        names.join(", ")
    )
}
