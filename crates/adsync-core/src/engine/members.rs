//! Group members as directory users: a million lookups at SPEC §12's largest case.

use crate::hash::FastMap;
use crate::model::DirectorySnapshot;

use super::Cores;

/// The directory's users by object id (a user id listed twice is its first user).
pub(crate) struct UsersById<'a>(FastMap<&'a str, u32>);

impl<'a> UsersById<'a> {
    pub(crate) fn new(directory: &'a DirectorySnapshot) -> UsersById<'a> {
        let mut by_id: FastMap<&str, u32> = FastMap::default();
        by_id.reserve(directory.users.len());
        for (at, user) in directory.users.iter().enumerate() {
            // `desired()` checks that positions fit.
            by_id.entry(user.id.as_str()).or_insert(at as u32);
        }
        UsersById(by_id)
    }
}

/// The members of each group in `groups`, as directory users by listing position (`None` for
/// an id the directory does not hold), indexed by group; groups not in `groups` are left empty.
/// The groups are looked up on two cores.
pub(crate) fn members_as_users(
    directory: &DirectorySnapshot,
    users: &UsersById<'_>,
    groups: &[usize],
    cores: Cores,
) -> Vec<Vec<Option<u32>>> {
    let by_id = &users.0;
    let found = cores.map(
        groups,
        |&group| directory.groups[group].members.len(),
        |&group| {
            directory.groups[group]
                .members
                .iter()
                .map(|id| by_id.get(id.as_str()).copied())
                .collect::<Vec<_>>()
        },
    );
    let mut members = vec![Vec::new(); directory.groups.len()];
    for (&group, found) in groups.iter().zip(found) {
        members[group] = found;
    }
    members
}
