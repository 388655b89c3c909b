//! Saved GoTo plans are sealed like Rescue's ([`Sealed`]) and re-checked,
//! not trusted, when read: every operation must be one the configuration and the state
//! directory allow, checked against a fresh read of the directory and the account, before any
//! operation runs; the guards are recomputed from the operations, never taken from the file.
//!
//! The invariants: no operation touches a protected e-mail; a suspension is only of a user
//! adsync manages (`goto-managed.json`); a creation only of an e-mail a rule selects now;
//! licences only ones granting a product some rule grants; admin roles and user groups only
//! ones some rule sets; an operation's user key is the account's user of its e-mail; the
//! managed e-mails the plan records are only ones adsync manages or a rule selects.

use std::collections::BTreeSet;

use adsync_core::config::Config;
use adsync_core::goto::GotoDesired;
use adsync_core::plan::Sealed;

use super::resolve::{group_for, role_for};
use super::{Blocked, GotoPlan, Planned, guard, kind_name};
use crate::model::{AdminRole, GotoSnapshot, Key, Operation, Product, normalize_email};

impl Sealed for GotoPlan {
    fn seal_mut(&mut self) -> (&mut Option<String>, &mut Option<String>) {
        (&mut self.digest, &mut self.signature)
    }

    fn seal_of(&self) -> (Option<&str>, Option<&str>) {
        (self.digest.as_deref(), self.signature.as_deref())
    }
}

/// What a saved plan is checked against: all read fresh.
#[derive(Clone, Copy, Debug)]
pub struct Sides<'a> {
    /// What the directory wants now.
    pub wanted: &'a GotoDesired,
    /// The account now.
    pub account: &'a GotoSnapshot,
    /// The e-mails adsync manages (`goto-managed.json`).
    pub managed: &'a BTreeSet<String>,
    /// The configuration (rules, protected e-mails, safety budgets).
    pub config: &'a Config,
}

/// Checks every operation of `plan`; the guard it trips now, or one sentence per problem
/// (each naming its operation) when any operation breaks an invariant.
pub fn verify(plan: &GotoPlan, sides: &Sides<'_>) -> Result<Option<Blocked>, Vec<String>> {
    let allowed = Allowed::new(sides);
    let mut problems: Vec<String> = plan
        .operations
        .iter()
        .filter_map(|planned| {
            allowed
                .problem(&planned.operation)
                .map(|problem| format!("{}: {problem}", name(planned)))
        })
        .collect();
    for email in &plan.managed {
        if !sides.managed.contains(email) && !allowed.selected.contains(email) {
            problems.push(format!(
                "`managed` lists {email}, which adsync does not manage and no rule selects \
                 now"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(guard::blocked(
        &plan.operations,
        sides.wanted,
        sides.account,
        sides.managed,
        sides.config,
    ))
}

fn name(planned: &Planned) -> String {
    let operation = &planned.operation;
    format!(
        "operation {} ({} {})",
        planned.id,
        kind_name(operation),
        operation.email()
    )
}

/// What the configuration and the state directory allow.
struct Allowed<'a> {
    sides: &'a Sides<'a>,
    protected: BTreeSet<String>,
    selected: BTreeSet<String>,
    licences: BTreeSet<Key>,
    roles: BTreeSet<AdminRole>,
    groups: BTreeSet<Key>,
}

impl<'a> Allowed<'a> {
    fn new(sides: &'a Sides<'a>) -> Allowed<'a> {
        let rules = sides.config.goto.as_ref().map(|g| g.rules.as_slice());
        let rules = rules.unwrap_or_default();
        let products: BTreeSet<Product> = rules
            .iter()
            .flat_map(|rule| rule.products.iter().map(|code| Product::new(code)))
            .collect();
        let account = sides.account;
        Allowed {
            sides,
            protected: sides
                .config
                .sync
                .protected
                .iter()
                .map(|e| normalize_email(e))
                .collect(),
            selected: sides
                .wanted
                .users
                .iter()
                .map(|want| normalize_email(want.email.as_str()))
                .collect(),
            licences: account
                .licences
                .iter()
                .filter(|licence| !licence.products.is_disjoint(&products))
                .map(|licence| licence.key.clone())
                .collect(),
            roles: rules
                .iter()
                .filter_map(|rule| rule.admin_role.as_ref())
                .filter_map(|role| role_for(role, account).ok())
                .collect(),
            groups: rules
                .iter()
                .filter_map(|rule| rule.user_group.as_deref())
                .filter_map(|group| group_for(group, account))
                .collect(),
        }
    }

    /// Why `operation` may not run, if it may not.
    fn problem(&self, operation: &Operation) -> Option<String> {
        let email = normalize_email(operation.email());
        if self.protected.contains(&email) {
            return Some(format!("{email} is protected (sync.protected)"));
        }
        match operation {
            Operation::CreateUser {
                licences,
                role,
                group,
                ..
            } => (!self.selected.contains(&email))
                .then(|| {
                    format!(
                        "no goto rule selects {email} in the directory now (if they left since \
                         the plan was saved, plan again)"
                    )
                })
                .or_else(|| self.licences(licences, &BTreeSet::new()))
                .or_else(|| {
                    (*role != AdminRole::None)
                        .then(|| self.role(role))
                        .flatten()
                })
                .or_else(|| group.as_ref().and_then(|group| self.group(group))),
            Operation::SetLicences {
                user,
                before,
                after,
                ..
            } => self
                .user(user, &email)
                .or_else(|| self.licences(after, before)),
            Operation::SetRole { user, after, .. } => {
                self.user(user, &email).or_else(|| self.role(after))
            }
            Operation::MoveToGroup { user, to, .. } => {
                self.user(user, &email).or_else(|| self.group(to))
            }
            Operation::Suspend { user, .. } => self.user(user, &email).or_else(|| {
                (!self.sides.managed.contains(&email)).then(|| {
                    format!(
                        "adsync does not manage {email} (goto-managed.json), so never suspends it"
                    )
                })
            }),
        }
    }

    /// The operation's user key must be the account's user of its e-mail (a user gone since
    /// is drift, which the executor skips).
    fn user(&self, key: &Key, email: &str) -> Option<String> {
        let user = self.sides.account.users.iter().find(|u| &u.key == key)?;
        (user.email != email).then(|| {
            format!(
                "names the goto user {key}, which is {} in the account",
                user.email
            )
        })
    }

    /// Licences given must grant a product some rule grants (ones already held may stay).
    fn licences(&self, after: &BTreeSet<Key>, before: &BTreeSet<Key>) -> Option<String> {
        let wrong: Vec<String> = after
            .difference(before)
            .filter(|key| !self.licences.contains(key))
            .map(ToString::to_string)
            .collect();
        (!wrong.is_empty()).then(|| {
            format!(
                "gives licence {} granting no product a goto rule grants",
                wrong.join(", ")
            )
        })
    }

    fn role(&self, role: &AdminRole) -> Option<String> {
        (!self.roles.contains(role))
            .then(|| format!("sets an admin role no goto rule sets ({role:?})"))
    }

    fn group(&self, group: &Key) -> Option<String> {
        (!self.groups.contains(group))
            .then(|| format!("moves the user to user group {group}, which no goto rule sets"))
    }
}
