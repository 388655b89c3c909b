//! The plan's user list ([`super::Plan::users`]): every user in scope, in plan order.
//!
//! Nearly every user of a large plan is a desired user whose node needs nothing. Such a user is
//! kept as a small row naming its place in the desired state (whose records the list shares) and
//! what the entry shows of its node; its [`UserEntry`] is made when it is read. The others are
//! kept whole. The JSON is the same either way.

use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::desired::Records;
use crate::model::{GroupPath, NodeId, Plane, Role, Status};

use super::UserEntry;

/// Every user in scope, in plan order: who wins them, who loses, and what happens.
///
/// Read it with [`UserList::iter`] or [`UserList::get`], which make each [`UserEntry`].
#[derive(Clone, Default)]
pub struct UserList {
    rows: Vec<Row>,
    /// The entries kept whole.
    full: Vec<UserEntry>,
    /// The desired users the compact rows name.
    records: Arc<Records>,
    /// The pairings' labels, by pairing index.
    labels: Vec<Arc<str>>,
    /// The paths of the groups the compact rows' nodes sit in, by node id, sorted.
    groups: Vec<(NodeId, GroupPath)>,
}

/// One entry of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Row {
    /// `full[at]`.
    Full(u32),
    /// A desired user matched to a node that needs nothing.
    Matched(Matched),
}

/// A desired user matched to a node that needs nothing, and what its entry shows of the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Matched {
    pub(crate) plane: Plane,
    /// The user's index among its plane's desired users.
    pub(crate) index: u32,
    pub(crate) node: NodeId,
    pub(crate) parent: Option<NodeId>,
    pub(crate) role: Option<Role>,
    pub(crate) enabled: bool,
}

/// The rows of a part of the list, with the entries they keep whole.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    rows: Vec<Row>,
    full: Vec<UserEntry>,
}

impl Rows {
    /// Room for `rows` rows.
    pub(crate) fn with_capacity(rows: usize) -> Rows {
        Rows {
            rows: Vec::with_capacity(rows),
            full: Vec::new(),
        }
    }

    /// An entry kept whole.
    pub(crate) fn push_full(&mut self, entry: UserEntry) {
        // A plan lists fewer users than `u32::MAX` (`desired()` and `OrgTree` bound them).
        self.rows.push(Row::Full(self.full.len() as u32));
        self.full.push(entry);
    }

    /// A desired user whose node needs nothing.
    pub(crate) fn push_matched(&mut self, matched: Matched) {
        self.rows.push(Row::Matched(matched));
    }

    /// `more`'s rows after these.
    pub(crate) fn append(&mut self, more: Rows) {
        let base = self.full.len() as u32;
        self.rows.extend(more.rows.into_iter().map(|row| match row {
            Row::Full(at) => Row::Full(base + at),
            matched => matched,
        }));
        self.full.extend(more.full);
    }

    /// The entries kept whole, which are the only ones with actions.
    pub(crate) fn full_mut(&mut self) -> &mut [UserEntry] {
        &mut self.full
    }
}

impl UserList {
    /// The list of `rows`, whose compact rows name users of `records`.
    pub(crate) fn new(
        rows: Rows,
        records: Arc<Records>,
        labels: Vec<Arc<str>>,
        mut groups: Vec<(NodeId, GroupPath)>,
    ) -> UserList {
        groups.sort_unstable_by_key(|(id, _)| *id);
        UserList {
            rows: rows.rows,
            full: rows.full,
            records,
            labels,
            groups,
        }
    }

    /// How many users the plan lists.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the plan lists nobody.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The entry at `index`.
    pub fn get(&self, index: usize) -> Option<UserEntry> {
        self.rows.get(index).map(|row| self.entry(row))
    }

    /// The entries, in plan order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            rows: self.rows.iter(),
        }
    }

    fn entry(&self, row: &Row) -> UserEntry {
        match row {
            Row::Full(at) => self.full[*at as usize].clone(),
            Row::Matched(matched) => self.matched(matched),
        }
    }

    fn matched(&self, matched: &Matched) -> UserEntry {
        // The records hold every user a row names; the placeholder key is never shown.
        let mut entry = UserEntry::new(
            crate::model::UserKey::from_normalized("unknown"),
            matched.plane,
        );
        if let Some(shown) = self.records.shown(matched.plane, matched.index as usize) {
            entry.email = shown.key.clone();
            entry.object_id = Some(Arc::clone(shown.object_id));
            entry.display_name = Some(Arc::clone(shown.name));
            entry.role = Some(shown.role);
            entry.pairing = self.labels.get(shown.pairing).cloned();
            entry.losing_pairings = shown
                .losing
                .iter()
                .filter_map(|&pairing| self.labels.get(pairing as usize).cloned())
                .collect();
        }
        entry.node_id = Some(matched.node);
        entry.current_role = matched.role;
        entry.current_group = matched.parent.and_then(|parent| {
            self.groups
                .binary_search_by_key(&parent, |(id, _)| *id)
                .ok()
                .map(|at| self.groups[at].1.clone())
        });
        entry.current_status = Some(if matched.enabled {
            Status::Enabled
        } else {
            Status::Disabled
        });
        entry
    }
}

/// The entries of a [`UserList`], in plan order, each made whole.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    list: &'a UserList,
    rows: std::slice::Iter<'a, Row>,
}

impl Iterator for Iter<'_> {
    type Item = UserEntry;

    fn next(&mut self) -> Option<UserEntry> {
        self.rows.next().map(|row| self.list.entry(row))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<UserEntry> {
        // Skipped rows are not made whole.
        self.rows.nth(n).map(|row| self.list.entry(row))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<UserEntry> {
        self.rows.next_back().map(|row| self.list.entry(row))
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
        let mut rows = Rows::with_capacity(entries.len());
        for entry in entries {
            rows.push_full(entry);
        }
        UserList::new(rows, Arc::default(), Vec::new(), Vec::new())
    }
}

impl FromIterator<UserEntry> for UserList {
    fn from_iter<I: IntoIterator<Item = UserEntry>>(entries: I) -> UserList {
        UserList::from(entries.into_iter().collect::<Vec<_>>())
    }
}

impl PartialEq for UserList {
    fn eq(&self, other: &UserList) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for UserList {}

impl fmt::Debug for UserList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for UserList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_seq(Some(self.len()))?;
        for entry in self.iter() {
            list.serialize_element(&entry)?;
        }
        list.end()
    }
}

impl<'de> Deserialize<'de> for UserList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UserList, D::Error> {
        Vec::<UserEntry>::deserialize(deserializer).map(UserList::from)
    }
}
