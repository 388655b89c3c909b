//! The plan's user list ([`crate::plan::Plan::users`]).
//!
//! At SPEC §12's sizes a plan lists hundreds of thousands of users, nearly all of them desired
//! users whose node needs nothing. Those are kept as a small row: which desired user it is (its
//! key, object id, name and pairings stay in the desired state's records, shared, not copied)
//! and the few values of its node. The rest (users with actions or notes, leaving nodes) are
//! kept whole. An entry is made whole when it is read; the JSON is the same either way.

use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::desired::Records;
use crate::model::{GroupPath, NodeId, Plane, Role, Status};
use crate::plan::UserEntry;

/// Every user in scope, in plan order: who wins them, who loses, and what happens.
///
/// Read it with [`UserList::iter`] or [`UserList::get`], which make each [`UserEntry`] whole.
#[derive(Clone, Default)]
pub struct UserList {
    rows: Vec<Row>,
    /// The entries kept whole, in order.
    full: Vec<UserEntry>,
    /// The desired users the compact rows point at.
    records: Arc<Records>,
    /// The pairings' labels, by pairing index.
    labels: Vec<Arc<str>>,
    /// The group paths of the nodes the rows name as parents, by node id, sorted.
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

/// A desired user matched to a node, and what the entry shows of that node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Matched {
    /// The node.
    pub(crate) node: NodeId,
    /// The node's parent, shown as a group path when it is a located group.
    pub(crate) parent: Option<NodeId>,
    /// The user's index among its plane's desired users.
    pub(crate) index: u32,
    pub(crate) plane: Plane,
    /// The node's role and status now.
    pub(crate) role: Option<Role>,
    pub(crate) enabled: bool,
}

/// The rows one half of the planner makes, joined into a [`UserList`] in order.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    rows: Vec<Row>,
    full: Vec<UserEntry>,
}

impl Rows {
    /// Empty, with room for `capacity` rows.
    pub(crate) fn with_capacity(capacity: usize) -> Rows {
        Rows {
            rows: Vec::with_capacity(capacity),
            full: Vec::new(),
        }
    }

    /// An entry kept whole.
    pub(crate) fn push_full(&mut self, entry: UserEntry) {
        // `plan()` bounds the number of entries by its `u32` positions.
        self.rows.push(Row::Full(self.full.len() as u32));
        self.full.push(entry);
    }

    /// A desired user whose node needs nothing.
    pub(crate) fn push_matched(&mut self, matched: Matched) {
        self.rows.push(Row::Matched(matched));
    }

    /// `other`'s rows after these.
    pub(crate) fn append(&mut self, other: Rows) {
        if self.rows.is_empty() {
            // Nothing to keep: take `other`'s buffers (and their room) as they are.
            *self = other;
            return;
        }
        let base = self.full.len() as u32;
        self.rows
            .extend(other.rows.into_iter().map(|row| match row {
                Row::Full(at) => Row::Full(base + at),
                matched @ Row::Matched(_) => matched,
            }));
        self.full.extend(other.full);
    }

    /// The entries kept whole, which are the only ones with actions.
    pub(crate) fn full_mut(&mut self) -> &mut [UserEntry] {
        &mut self.full
    }
}

impl UserList {
    /// The list of `rows`, whose compact rows point at `records`.
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
            Row::Matched(matched) => {
                let mut entry =
                    self.records
                        .entry(matched.plane, matched.index as usize, &self.labels);
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
