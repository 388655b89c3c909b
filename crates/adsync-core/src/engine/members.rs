//! Group members as directory users: a million lookups at SPEC §12's largest case.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::model::DirectorySnapshot;

use super::Cores;

/// The directory's users by object id (a user id listed twice is its first user).
///
/// The ids are copied side by side into one text, and the table holds positions in it: a
/// lookup compares the id it finds, and reading that from one compact text rather than from
/// each user's own allocation keeps the million lookups of SPEC §12's largest case within the
/// cache.
pub(crate) struct UsersById {
    text: String,
    ends: Vec<u32>,
    table: HashTable<u32>,
}

impl UsersById {
    pub(crate) fn new(directory: &DirectorySnapshot) -> UsersById {
        let users = &directory.users;
        let mut text = String::with_capacity(users.iter().map(|user| user.id.len()).sum());
        let ends = users
            .iter()
            .map(|user| {
                text.push_str(&user.id);
                // `desired()` checks that the snapshot's text and positions fit.
                text.len() as u32
            })
            .collect();
        let mut by_id = UsersById {
            text,
            ends,
            table: HashTable::new(),
        };
        let mut table = HashTable::with_capacity(users.len());
        for at in 0..by_id.ends.len() as u32 {
            let id = by_id.id(at);
            let hash = FxBuildHasher.hash_one(id);
            if table.find(hash, |&seen| by_id.id(seen) == id).is_none() {
                table.insert_unique(hash, at, |&at| FxBuildHasher.hash_one(by_id.id(at)));
            }
        }
        by_id.table = table;
        by_id
    }

    /// The position of the first user with id `id`.
    pub(crate) fn get(&self, id: &str) -> Option<u32> {
        let hash = FxBuildHasher.hash_one(id);
        self.table.find(hash, |&at| self.id(at) == id).copied()
    }

    fn id(&self, at: u32) -> &str {
        let end = self.ends[at as usize] as usize;
        let start = match at {
            0 => 0,
            _ => self.ends[at as usize - 1] as usize,
        };
        &self.text[start..end]
    }
}

/// The members of each group in `groups`, as directory users by listing position (`None` for
/// an id the directory does not hold), indexed by group; groups not in `groups` are left empty.
/// The groups are looked up on two cores.
pub(crate) fn members_as_users(
    directory: &DirectorySnapshot,
    users: &UsersById,
    groups: &[usize],
    cores: Cores,
) -> Vec<Vec<Option<u32>>> {
    let found = cores.map(
        groups,
        |&group| directory.groups[group].members.len(),
        |&group| {
            directory.groups[group]
                .members
                .iter()
                .map(|id| users.get(id))
                .collect::<Vec<_>>()
        },
    );
    let mut members = vec![Vec::new(); directory.groups.len()];
    for (&group, found) in groups.iter().zip(found) {
        members[group] = found;
    }
    members
}
