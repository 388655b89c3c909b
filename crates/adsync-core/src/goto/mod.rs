//! The directory half of a GoTo account target (GoTo Admin "User Sync"): the `goto.rules`
//! configuration and what the directory wants of the account, person by person.
//!
//! The rules reuse the directory half of the core unchanged: each rule is read as a pairing of
//! one plane, in rule order, so identity keys, keys held twice, nested groups, disabled users,
//! member limits and priority are decided by `desired()` exactly as for Rescue. What a rule
//! asks for is then merged as GoTo User Sync documents it: the products of every matching rule,
//! and for single-valued settings (admin role, user group) the first matching rule that sets one.
//!
//! Nothing here knows GoTo's keys: products, user groups and managed groups are named as the
//! configuration names them; `adsync-goto` turns them into licences and keys against an account.

mod config;
mod desired;

pub use config::{
    GotoConfig, GotoRoleRule, GotoRule, GotoTargetConfig, RoleWord, RuleSelector, check_config,
    default_token_file, rule_selector,
};
pub use desired::{GotoDesired, GotoWant, goto_desired};
