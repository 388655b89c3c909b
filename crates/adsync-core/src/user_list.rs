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
    /// The rows in two parts, the second after the first: the planner makes the halves of the
    /// list side by side, and joining them would copy a row per user into fresh memory.
    parts: [Rows; 2],
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

/// The rows one half of the planner makes, and the entries kept whole that its
/// [`Row::Full`] rows point at: a [`UserList`] holds two, one after the other.
#[derive(Clone, Debug, Default)]
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

    /// The entries kept whole, which are the only ones with actions.
    pub(crate) fn full_mut(&mut self) -> &mut [UserEntry] {
        &mut self.full
    }
}

impl UserList {
    /// The list of `parts`' rows, the second part's after the first's, whose compact rows
    /// point at `records`.
    pub(crate) fn new(
        parts: [Rows; 2],
        records: Arc<Records>,
        labels: Vec<Arc<str>>,
        mut groups: Vec<(NodeId, GroupPath)>,
    ) -> UserList {
        groups.sort_unstable_by_key(|(id, _)| *id);
        UserList {
            parts,
            records,
            labels,
            groups,
        }
    }

    /// How many users the plan lists.
    pub fn len(&self) -> usize {
        self.parts[0].rows.len() + self.parts[1].rows.len()
    }

    /// Whether the plan lists nobody.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry at `index`.
    pub fn get(&self, index: usize) -> Option<UserEntry> {
        let first = self.parts[0].rows.len();
        let (part, at) = if index < first {
            (0, index)
        } else {
            (1, index - first)
        };
        self.parts[part]
            .rows
            .get(at)
            .map(|row| self.entry(part, row))
    }

    /// The entries, in plan order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            first: self.parts[0].rows.iter(),
            second: self.parts[1].rows.iter(),
        }
    }

    /// The entry of `row`, a row of part `part`.
    fn entry(&self, part: usize, row: &Row) -> UserEntry {
        match row {
            Row::Full(at) => self.parts[part].full[*at as usize].clone(),
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
    /// What is left of the first part's rows, and of the second's.
    first: std::slice::Iter<'a, Row>,
    second: std::slice::Iter<'a, Row>,
}

impl Iterator for Iter<'_> {
    type Item = UserEntry;

    fn next(&mut self) -> Option<UserEntry> {
        if let Some(row) = self.first.next() {
            return Some(self.list.entry(0, row));
        }
        self.second.next().map(|row| self.list.entry(1, row))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.first.len() + self.second.len();
        (len, Some(len))
    }

    fn nth(&mut self, n: usize) -> Option<UserEntry> {
        // Skipped rows are not made whole.
        let in_first = self.first.len();
        if n < in_first {
            return self.first.nth(n).map(|row| self.list.entry(0, row));
        }
        self.first = [].iter();
        self.second
            .nth(n - in_first)
            .map(|row| self.list.entry(1, row))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<UserEntry> {
        if let Some(row) = self.second.next_back() {
            return Some(self.list.entry(1, row));
        }
        self.first.next_back().map(|row| self.list.entry(0, row))
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
        UserList::new(
            [rows, Rows::with_capacity(0)],
            Arc::default(),
            Vec::new(),
            Vec::new(),
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Plane;

    fn entry(n: usize) -> UserEntry {
        UserEntry {
            email: crate::model::UserKey::new(&format!("user{n}@contoso.com")).expect("a key"),
            plane: Plane::Technician,
            object_id: None,
            display_name: None,
            role: None,
            pairing: None,
            losing_pairings: Vec::new(),
            node_id: Some(NodeId(n as u64)),
            current_role: None,
            current_group: None,
            current_status: None,
            actions: vec![format!("action {n}")],
            note: None,
        }
    }

    /// Entries 0..5 in two parts (three in the first), as the planner's halves make them.
    fn two_parts() -> UserList {
        let mut parts: [Rows; 2] = Default::default();
        for n in 0..5 {
            parts[usize::from(n >= 3)].push_full(entry(n));
        }
        UserList::new(parts, Arc::default(), Vec::new(), Vec::new())
    }

    #[test]
    fn a_list_in_two_parts_reads_as_one() {
        let list = two_parts();
        let expected: Vec<UserEntry> = (0..5).map(entry).collect();
        assert_eq!(list.len(), 5);
        assert_eq!(list.iter().collect::<Vec<_>>(), expected);
        assert_eq!(list.iter().rev().collect::<Vec<_>>(), {
            let mut reversed = expected.clone();
            reversed.reverse();
            reversed
        });
        for (at, wanted) in expected.iter().enumerate() {
            assert_eq!(list.get(at).as_ref(), Some(wanted));
        }
        assert_eq!(list.get(5), None);
        assert_eq!(list, UserList::from(expected));
    }

    #[test]
    fn skipping_crosses_from_one_part_to_the_other() {
        let list = two_parts();
        for skip in 0..6 {
            let mut iter = list.iter();
            assert_eq!(
                iter.nth(skip),
                (skip < 5).then(|| entry(skip)),
                "nth({skip})"
            );
            assert_eq!(
                iter.len(),
                5usize.saturating_sub(skip + 1),
                "left after nth({skip})"
            );
            assert_eq!(iter.next(), (skip + 1 < 5).then(|| entry(skip + 1)));
        }
        let mut iter = list.iter();
        assert_eq!(iter.next_back(), Some(entry(4)));
        assert_eq!(iter.nth(3), Some(entry(3)));
        assert_eq!(iter.next(), None);
    }
}
