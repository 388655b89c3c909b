//! Attribute rules (issue 24): which directory users a pairing's `where:` selects.
//!
//! A pairing with a group and a condition holds the group's members that satisfy it; a pairing
//! with a condition alone holds every directory user that satisfies it. Priority then works on
//! the users a pairing holds, whichever way they were selected (`priority`).

use crate::condition::Condition;
use crate::model::DirectoryUser;

/// Whether a pairing with `condition` (if any) holds `user`, once the group (if any) holds them.
pub(super) fn selects(condition: Option<&Condition>, user: &DirectoryUser) -> bool {
    condition.is_none_or(|condition| condition.matches(user))
}

/// Whether a pairing selects from the whole directory: it names no group, only a condition.
pub(super) fn selects_from_everyone(has_group: bool, condition: Option<&Condition>) -> bool {
    !has_group && condition.is_some()
}
