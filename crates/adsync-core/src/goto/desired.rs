//! What the directory wants of a GoTo account: per person, the products of every matching rule,
//! and the admin role and user group of the first matching rule that sets them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::config::{GotoConfig, GotoRoleRule, GotoRule, RuleSelector, rule_selector};
use crate::config::{Config, Pairing};
use crate::desired::{DesiredUser, desired};
use crate::error::{PlanError, Problem, close_names};
use crate::model::{DirectorySnapshot, DirectoryUser, Plane, UserKey};
use crate::warning::Warning;

/// What the directory wants of the account.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GotoDesired {
    /// Digest of the configuration.
    pub config_digest: String,
    /// The rules' names, in priority order.
    pub rules: Vec<String>,
    /// Per rule, the users its group holds (enabled or not).
    pub rule_members: Vec<u64>,
    /// The people the rules select, in key order.
    pub users: Vec<GotoWant>,
    /// Keys the directory holds twice: GoTo users with these e-mails are left alone.
    pub held: BTreeSet<UserKey>,
    /// Non-fatal problems.
    pub warnings: Vec<Warning>,
}

/// One person the rules select, and what they ask for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GotoWant {
    /// The identity key (the e-mail GoTo knows the user by).
    pub email: UserKey,
    /// The directory object id.
    pub object_id: String,
    /// First name (givenName, else the display name's first word).
    pub first_name: String,
    /// Last name (surname, else the rest of the display name).
    pub last_name: String,
    /// The matching rules' indexes, in priority order (the first is the winner).
    pub rules: Vec<usize>,
    /// The product codes of every matching rule, upper-cased.
    pub products: BTreeSet<String>,
    /// The admin role of the first matching rule that sets one, with that rule's index.
    pub admin_role: Option<(GotoRoleRule, usize)>,
    /// The user group of the first matching rule that sets one, with that rule's index.
    pub user_group: Option<(String, usize)>,
}

impl GotoWant {
    /// The winning (first matching) rule's index.
    pub fn rule(&self) -> usize {
        self.rules.first().copied().unwrap_or_default()
    }
}

/// Resolves the `goto.rules` of `config` against `directory`.
///
/// Each rule becomes a pairing of one plane, in order, so `desired()` decides identity, nested
/// groups, disabled users, member limits and priority exactly as for Rescue.
pub fn goto_desired(
    directory: &DirectorySnapshot,
    config: &Config,
) -> Result<GotoDesired, PlanError> {
    let empty = GotoConfig::default();
    let goto = config.goto.as_ref().unwrap_or(&empty);
    let mut as_pairings = config.clone();
    as_pairings.pairings = goto
        .rules
        .iter()
        .map(rule_as_pairing)
        .collect::<Result<_, _>>()?;
    let state = desired(directory, &as_pairings).map_err(|error| PlanError {
        problems: error.problems.into_iter().map(as_rule_problem).collect(),
    })?;
    let by_id: BTreeMap<&str, &DirectoryUser> = directory
        .users
        .iter()
        .map(|user| (user.id.as_str(), user))
        .collect();
    let users = state
        .plane(Plane::Technician)
        .iter()
        .map(|user| want(user, &goto.rules, by_id.get(user.object_id()).copied()))
        .collect();
    Ok(GotoDesired {
        config_digest: config.digest(),
        rules: goto.rules.iter().map(|rule| rule.name.clone()).collect(),
        rule_members: state.pairings.iter().map(|p| p.member_count).collect(),
        users,
        held: state.held,
        warnings: state.warnings,
    })
}

/// A rule as a technician pairing to a placeholder group: only its members and order matter.
/// Built through serde so that pairing keys added later keep their defaults.
fn rule_as_pairing(rule: &GotoRule) -> Result<Pairing, PlanError> {
    let RuleSelector { group, condition } = rule_selector(rule).map_err(|message| PlanError {
        problems: vec![Problem::GotoRule { message }],
    })?;
    let mut json = serde_json::json!({
        "name": rule.name,
        "rescue_group": "goto",
        "role": "technician",
    });
    if let Some(group) = group {
        json["entra_group"] = serde_json::json!(group);
    }
    if let Some(condition) = condition {
        json["where"] = serde_json::json!(condition.as_str());
    }
    serde_json::from_value(json).map_err(|error| PlanError {
        problems: vec![Problem::GotoRule {
            message: format!("goto rule `{}`: {error}", rule.name),
        }],
    })
}

/// A group problem worded for the rule it belongs to (core words them for pairings).
fn as_rule_problem(problem: Problem) -> Problem {
    match problem {
        Problem::GroupNotFound {
            pairing,
            group,
            close,
        } => Problem::GotoRule {
            message: format!(
                "goto rule `{pairing}`: no directory group named `{group}`{}",
                close_names(&close)
            ),
        },
        Problem::GroupAmbiguous {
            pairing,
            group,
            candidates,
        } => Problem::GotoRule {
            message: format!(
                "goto rule `{pairing}`: {} directory groups are named `{group}`: {}; name the \
                 group by id (`entra_group: {{ id: <id> }}`)",
                candidates.len(),
                candidates.join(", ")
            ),
        },
        other => other,
    }
}

/// What the matching rules ask of one person.
fn want(user: DesiredUser<'_>, rules: &[GotoRule], record: Option<&DirectoryUser>) -> GotoWant {
    let matched: Vec<usize> = std::iter::once(user.pairing())
        .chain(user.losing())
        .collect();
    let chosen = |rules_set: &dyn Fn(&GotoRule) -> bool| {
        matched
            .iter()
            .copied()
            .find(|&index| rules.get(index).is_some_and(rules_set))
    };
    let admin_role = chosen(&|rule| rule.admin_role.is_some())
        .and_then(|index| Some((rules[index].admin_role.clone()?, index)));
    let user_group = chosen(&|rule| rule.user_group.is_some())
        .and_then(|index| Some((rules[index].user_group.as_ref()?.trim().to_owned(), index)));
    let products = matched
        .iter()
        .filter_map(|&index| rules.get(index))
        .flat_map(|rule| rule.products.iter())
        .map(|code| code.trim().to_ascii_uppercase())
        .collect();
    let (first_name, last_name) = names(user.name(), record);
    GotoWant {
        email: user.user_key(),
        object_id: user.object_id().to_owned(),
        first_name,
        last_name,
        rules: matched,
        products,
        admin_role,
        user_group,
    }
}

/// First and last name: givenName and surname, or the display name split at its first space.
fn names(display: &str, record: Option<&DirectoryUser>) -> (String, String) {
    let given = record
        .and_then(|r| r.given_name.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let surname = record
        .and_then(|r| r.surname.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let (Some(given), Some(surname)) = (given, surname) {
        return (given.to_owned(), surname.to_owned());
    }
    let (first, rest) = display
        .trim()
        .split_once(' ')
        .unwrap_or((display.trim(), ""));
    (
        given.unwrap_or(first).to_owned(),
        surname.unwrap_or(rest.trim()).to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Where;
    use crate::goto::RoleWord;

    fn world() -> (DirectorySnapshot, Config) {
        let directory: DirectorySnapshot = serde_json::from_value(serde_json::json!({
            "users": [
                {"id": "u1", "upn": "ada@contoso.com", "mail": "Ada@Contoso.com",
                 "display_name": "Ada Lovelace", "given_name": "Ada", "surname": "Lovelace"},
                {"id": "u2", "upn": "bob@contoso.com", "mail": "bob@contoso.com",
                 "display_name": "Bob van Dijk"},
                {"id": "u3", "upn": "eve@contoso.com", "mail": "eve@contoso.com",
                 "display_name": "Eve", "account_enabled": false},
                {"id": "u4", "upn": "dup1@contoso.com", "mail": "twice@contoso.com"},
                {"id": "u5", "upn": "dup2@contoso.com", "mail": "twice@contoso.com"},
            ],
            "groups": [
                {"id": "g1", "display_name": "Meetings", "members": ["u1", "u3", "u4", "u5"],
                 "member_groups": ["g3"]},
                {"id": "g2", "display_name": "Webinars", "members": ["u1"]},
                {"id": "g3", "display_name": "Support staff", "members": ["u2"]},
            ],
        }))
        .unwrap();
        let config: Config = serde_json::from_value(serde_json::json!({
            "source": {"type": "snapshot", "path": "directory.yaml"},
            "target": {"type": "goto", "client_id": "c", "client_secret": {"env": "S"}},
            "goto": {"rules": [
                {"name": "support", "entra_group": "Support staff", "products": ["g2m"],
                 "admin_role": {"manager_of": ["Support"]}, "user_group": "Support"},
                {"name": "meetings", "entra_group": "Meetings", "products": ["G2M"],
                 "user_group": "Everyone"},
                {"name": "webinars", "entra_group": "Webinars", "products": ["G2W"],
                 "admin_role": "full", "user_group": "Marketing"},
            ]},
        }))
        .unwrap();
        config.validate().unwrap();
        (directory, config)
    }

    #[test]
    fn products_merge_and_the_first_rule_setting_a_value_wins() {
        let (directory, config) = world();
        let wanted = goto_desired(&directory, &config).unwrap();
        let emails: Vec<&str> = wanted.users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(emails, ["ada@contoso.com", "bob@contoso.com"]);
        let ada = &wanted.users[0];
        assert_eq!(ada.rules, [1, 2]);
        assert_eq!(ada.products, ["G2M".to_owned(), "G2W".to_owned()].into());
        assert_eq!(ada.user_group, Some(("Everyone".to_owned(), 1)));
        assert_eq!(
            ada.admin_role,
            Some((GotoRoleRule::Word(RoleWord::Full), 2)),
            "the first matching rule names no role, so the next one that does wins"
        );
        assert_eq!(
            (ada.first_name.as_str(), ada.last_name.as_str()),
            ("Ada", "Lovelace")
        );
        let bob = &wanted.users[1];
        assert_eq!(bob.rules, [0, 1], "nested group members match both rules");
        assert_eq!(bob.products, ["G2M".to_owned()].into());
        assert_eq!(bob.user_group, Some(("Support".to_owned(), 0)));
        assert_eq!(
            (bob.first_name.as_str(), bob.last_name.as_str()),
            ("Bob", "van Dijk")
        );
        assert!(
            wanted
                .held
                .iter()
                .any(|k| k.as_str() == "twice@contoso.com")
        );
        assert_eq!(wanted.rules, ["support", "meetings", "webinars"]);
    }

    #[test]
    fn a_group_not_found_is_worded_for_the_rule() {
        let (directory, mut config) = world();
        if let Some(goto) = config.goto.as_mut() {
            goto.rules[2].entra_group = Some(crate::config::GroupRef::Name("Webinar".to_owned()));
        }
        let error = goto_desired(&directory, &config).unwrap_err();
        assert_eq!(
            error.problems,
            [Problem::GotoRule {
                message: "goto rule `webinars`: no directory group named `Webinar`; close \
                          names: Webinars"
                    .to_owned()
            }]
        );
    }

    #[test]
    fn a_where_rule_selects_as_a_pairing_does() {
        let (mut directory, mut config) = world();
        directory.users[1].department = Some("Sales".to_owned());
        directory.users[2].department = Some("Sales".to_owned());
        if let Some(goto) = config.goto.as_mut() {
            // Alone: everyone the condition selects (Eve is disabled, so not wanted).
            goto.rules[0].entra_group = None;
            goto.rules[0].condition = Some(Where::parse("department eq 'Sales'").unwrap());
            // With a group: the group's members it selects (Ada of Webinars is not in Sales).
            goto.rules[2].condition = Some(Where::parse("department eq 'Sales'").unwrap());
        }
        config.validate().unwrap();
        let wanted = goto_desired(&directory, &config).unwrap();
        let rules: Vec<(&str, &[usize])> = wanted
            .users
            .iter()
            .map(|u| (u.email.as_str(), u.rules.as_slice()))
            .collect();
        assert_eq!(
            rules,
            [
                ("ada@contoso.com", &[1][..]),
                ("bob@contoso.com", &[0, 1][..])
            ]
        );
        assert_eq!(wanted.rule_members, [2, 5, 0]);
    }
}
