//! The plan's user list ([`super::Plan::users`]): every user in scope, in plan order.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::UserEntry;

/// Every user in scope, in plan order: who wins them, who loses, and what happens.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UserList(Vec<UserEntry>);

/// The entries of a [`UserList`], in plan order.
pub type Iter<'a> = std::iter::Cloned<std::slice::Iter<'a, UserEntry>>;

impl UserList {
    /// How many users the plan lists.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the plan lists nobody.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entry at `index`.
    pub fn get(&self, index: usize) -> Option<UserEntry> {
        self.0.get(index).cloned()
    }

    /// The entries, in plan order.
    pub fn iter(&self) -> Iter<'_> {
        self.0.iter().cloned()
    }

    /// The entries, in plan order, without copying them.
    pub fn entries(&self) -> &[UserEntry] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a UserList {
    type Item = UserEntry;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl From<Vec<UserEntry>> for UserList {
    fn from(entries: Vec<UserEntry>) -> UserList {
        UserList(entries)
    }
}

impl FromIterator<UserEntry> for UserList {
    fn from_iter<I: IntoIterator<Item = UserEntry>>(entries: I) -> UserList {
        UserList(entries.into_iter().collect())
    }
}

impl fmt::Debug for UserList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl Serialize for UserList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for UserList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UserList, D::Error> {
        Vec::<UserEntry>::deserialize(deserializer).map(UserList)
    }
}
