//! `goto:`: the rules that turn directory groups into GoTo products, admin roles and user
//! groups, and their validation.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::config::{Config, GroupRef, RetryConfig, TargetConfig, Where};
use crate::secret::SecretRef;

/// `target: { type: goto }`: the account and how adsync signs in to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GotoTargetConfig {
    /// The OAuth client's id (the client `adsync goto login` signed in with).
    pub client_id: String,
    /// The OAuth client's secret reference.
    pub client_secret: SecretRef,
    /// The refresh-token file `adsync goto login` wrote (relative to the config file).
    #[serde(default = "default_token_file")]
    pub token_file: String,
    /// The account key; read from `/me` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_key: Option<String>,
    /// Overrides the Admin API base (tests, proxies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_url: Option<String>,
    /// Overrides the OAuth token endpoint (tests, proxies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// Send no welcome e-mail to users adsync adds (`suppressEmail`).
    #[serde(default)]
    pub suppress_email: bool,
    /// Operations run at once within a phase.
    pub concurrency: usize,
    /// Retry policy overrides.
    #[serde(default)]
    pub retry: RetryConfig,
}

/// Where `adsync goto login` keeps the refresh token unless told otherwise.
pub fn default_token_file() -> String {
    ".adsync/goto-token.json".to_owned()
}

/// `goto:`, read when `target.type` is `goto`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GotoConfig {
    /// The rules, in priority order.
    #[serde(default)]
    pub rules: Vec<GotoRule>,
}

/// One rule: who (a directory group) gets what (products, an admin role, a user group).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GotoRule {
    /// The rule's name, shown in plans and reports.
    pub name: String,
    /// The directory group whose members the rule applies to (nested groups included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra_group: Option<GroupRef>,
    /// A condition over directory attributes, as a Rescue pairing's `where:`: alone it selects
    /// from the whole directory, with `entra_group` from the group's members.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub condition: Option<Where>,
    /// GoTo product codes (`G2M`, `G2W`, `G2T`, `OPENVOICE`, `JIVE`); merged over every
    /// matching rule.
    #[serde(default)]
    pub products: BTreeSet<String>,
    /// The admin role; the first matching rule that sets one wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_role: Option<GotoRoleRule>,
    /// The GoTo user group, by name; the first matching rule that sets one wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_group: Option<String>,
}

/// `admin_role:` of a rule: `none`, `full` or `{ manager_of: [user group names] }`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GotoRoleRule {
    /// `none` or `full`.
    Word(RoleWord),
    /// Manager of these user groups.
    ManagerOf {
        /// The user groups' names.
        manager_of: BTreeSet<String>,
    },
}

/// The one-word admin roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleWord {
    /// Not an administrator.
    None,
    /// Full administrator of the account.
    Full,
}

/// How a rule chooses its users: a directory group's members, those a condition selects, or the
/// group's members that the condition selects (exactly as a Rescue pairing).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RuleSelector<'a> {
    /// The directory group, if any.
    pub group: Option<&'a GroupRef>,
    /// The `where:` condition, if any.
    pub condition: Option<&'a Where>,
}

/// What a rule selects its users by, or why it selects nobody.
pub fn rule_selector(rule: &GotoRule) -> Result<RuleSelector<'_>, String> {
    if rule.entra_group.is_none() && rule.condition.is_none() {
        return Err(format!(
            "goto rule `{}`: selects nobody: give `entra_group:`, `where:` (a condition over \
             attributes), or both",
            rule.name
        ));
    }
    Ok(RuleSelector {
        group: rule.entra_group.as_ref(),
        condition: rule.condition.as_ref(),
    })
}

impl GotoConfig {
    /// Every problem of the rules, as `(key path, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.rules.is_empty() {
            problems.push((
                "goto.rules".to_owned(),
                "a goto target needs at least one rule".to_owned(),
            ));
        }
        let mut names: BTreeSet<String> = BTreeSet::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let at = format!("goto.rules[{index}]");
            if rule.name.trim().is_empty() {
                problems.push((format!("{at}.name"), "must name the rule".to_owned()));
            } else if !names.insert(rule.name.trim().to_lowercase()) {
                problems.push((
                    format!("{at}.name"),
                    format!("`{}` names two rules; rule names are unique", rule.name),
                ));
            }
            if let Err(message) = rule_selector(rule) {
                problems.push((at.clone(), message));
            }
            if let Some(GroupRef::Name(name) | GroupRef::Id { id: name }) = &rule.entra_group
                && name.trim().is_empty()
            {
                problems.push((format!("{at}.entra_group"), "must name a group".to_owned()));
            }
            if rule.products.iter().any(|p| p.trim().is_empty()) {
                problems.push((
                    format!("{at}.products"),
                    "a product code is empty".to_owned(),
                ));
            }
            if rule.products.is_empty() {
                problems.push((
                    format!("{at}.products"),
                    "names no product; a goto user holds at least one (GoTo shows a user \
                     without products as suspended)"
                        .to_owned(),
                ));
            }
            if let Some(group) = &rule.user_group
                && group.trim().is_empty()
            {
                problems.push((
                    format!("{at}.user_group"),
                    "must name a user group".to_owned(),
                ));
            }
        }
        problems
    }
}

/// The goto rules against the rest of the configuration: a goto target needs rules and no
/// Rescue pairings; rules without a goto target are a mistake worth naming.
pub fn check_config(config: &Config, problem: &mut impl FnMut(String, String)) {
    let is_goto = matches!(config.target, TargetConfig::Goto(_));
    match (&config.goto, is_goto) {
        (Some(goto), true) => {
            for (path, message) in goto.problems() {
                problem(path, message);
            }
        }
        (None, true) => problem(
            "goto.rules".to_owned(),
            "a goto target needs `goto: { rules: [...] }`".to_owned(),
        ),
        (Some(_), false) => problem(
            "goto".to_owned(),
            "goto rules apply only with `target: { type: goto }`".to_owned(),
        ),
        (None, false) => {}
    }
    if is_goto && !config.pairings.is_empty() {
        problem(
            "pairings".to_owned(),
            "pairings are for Rescue targets; a goto target uses `goto.rules`".to_owned(),
        );
    }
    if let TargetConfig::Goto(target) = &config.target
        && target.client_id.trim().is_empty()
    {
        problem(
            "target.client_id".to_owned(),
            "must be the goto oauth client's id".to_owned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: serde_json::Value) -> GotoConfig {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn roles_are_spelled_as_the_issue_writes_them() {
        let config = rules(serde_json::json!({"rules": [
            {"name": "a", "entra_group": "A", "products": ["G2M"], "admin_role": "full"},
            {"name": "b", "entra_group": "B", "products": ["G2M"], "admin_role": "none"},
            {"name": "c", "entra_group": "C", "products": ["G2M"],
             "admin_role": {"manager_of": ["Support"]}, "user_group": "Support"},
        ]}));
        assert_eq!(
            config.rules[0].admin_role,
            Some(GotoRoleRule::Word(RoleWord::Full))
        );
        assert_eq!(
            config.rules[2].admin_role,
            Some(GotoRoleRule::ManagerOf {
                manager_of: ["Support".to_owned()].into()
            })
        );
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert!(
            serde_json::from_value::<GotoConfig>(serde_json::json!({"rules": [
                {"name": "a", "entra_group": "A", "products": ["G2M"], "admin_role": "root"}
            ]}))
            .is_err()
        );
    }

    #[test]
    fn a_where_condition_selects_and_a_bad_one_names_its_column() {
        let config = rules(serde_json::json!({"rules": [
            {"name": "Sales", "where": "department eq 'Sales'", "products": ["G2M"]},
        ]}));
        assert_eq!(config.problems(), []);
        let selector = rule_selector(&config.rules[0]).unwrap();
        assert_eq!(selector.group, None);
        assert_eq!(
            selector.condition.map(Where::as_str),
            Some("department eq 'Sales'")
        );
        let error = serde_json::from_value::<GotoConfig>(serde_json::json!({"rules": [
            {"name": "Sales", "where": "departmnt eq 'Sales'", "products": ["G2M"]},
        ]}))
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("where: condition `departmnt eq 'Sales'`, column 1")
                && error.contains("did you mean `department`"),
            "{error}"
        );
        let nobody = rules(serde_json::json!({"rules": [{"name": "x", "products": ["G2M"]}]}));
        assert!(
            nobody.problems()[0].1.contains("selects nobody"),
            "{nobody:?}"
        );
    }

    #[test]
    fn empty_names_products_and_twice_named_rules_are_problems() {
        let config = rules(serde_json::json!({"rules": [
            {"name": "a", "entra_group": "A", "products": []},
            {"name": "A ", "entra_group": "", "products": ["G2M"], "user_group": " "},
            {"name": "c", "products": ["G2M"]},
        ]}));
        let paths: Vec<String> = config.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "goto.rules[0].products",
                "goto.rules[1].name",
                "goto.rules[1].entra_group",
                "goto.rules[1].user_group",
                "goto.rules[2]",
            ]
        );
        assert_eq!(
            GotoConfig::default().problems()[0].0,
            "goto.rules",
            "no rule at all"
        );
    }
}
