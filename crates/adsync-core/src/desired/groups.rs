//! Entra groups (SPEC §4, §14): a pairing's group by id or display name, and a group's members,
//! nested groups expanded (written once, for `desired()` and `adsync groups members`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::GroupRef;
use crate::error::Problem;
use crate::hash::FastMap;
use crate::model::{DirectorySnapshot, DirectoryUser};

/// The groups of a snapshot, found by id or name.
pub(super) struct Groups<'d> {
    directory: &'d DirectorySnapshot,
    /// ASCII-folded id -> the first group listed with it (how pairings name groups by id).
    by_folded_id: FastMap<String, usize>,
    /// ASCII-folded, trimmed display name -> the groups with it, in listing order.
    by_name: FastMap<String, Vec<usize>>,
    /// Exact id -> the last group listed with it (how groups name their nested groups).
    by_id: FastMap<&'d str, usize>,
}

impl<'d> Groups<'d> {
    pub(super) fn new(directory: &'d DirectorySnapshot) -> Groups<'d> {
        let mut by_folded_id: FastMap<String, usize> = FastMap::default();
        let mut by_name: FastMap<String, Vec<usize>> = FastMap::default();
        let mut by_id: FastMap<&str, usize> = FastMap::default();
        for (index, group) in directory.groups.iter().enumerate() {
            by_folded_id
                .entry(group.id.to_ascii_lowercase())
                .or_insert(index);
            by_name
                .entry(group.display_name.trim().to_ascii_lowercase())
                .or_default()
                .push(index);
            by_id.insert(group.id.as_str(), index);
        }
        Groups {
            directory,
            by_folded_id,
            by_name,
            by_id,
        }
    }

    /// The group a pairing names; a problem naming the candidates when none or several match.
    pub(super) fn resolve(&self, group: &GroupRef, pairing: &str) -> Result<usize, Problem> {
        match group {
            GroupRef::Id { id } => self
                .by_folded_id
                .get(&id.trim().to_ascii_lowercase())
                .copied()
                .ok_or_else(|| Problem::GroupNotFound {
                    pairing: pairing.to_owned(),
                    group: id.clone(),
                    close: Vec::new(),
                }),
            GroupRef::Name(name) => self.resolve_name(name, pairing),
        }
    }

    fn resolve_name(&self, name: &str, pairing: &str) -> Result<usize, Problem> {
        let groups = &self.directory.groups;
        let wanted = name.trim();
        let mut matches: Vec<usize> = self
            .by_name
            .get(&wanted.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default();
        // The same group listed twice (a source may return it once per pairing) is one group.
        matches.sort_by(|a, b| groups[*a].id.cmp(&groups[*b].id));
        matches.dedup_by(|a, b| groups[*a].id == groups[*b].id);
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(Problem::GroupNotFound {
                pairing: pairing.to_owned(),
                group: name.to_owned(),
                close: self.close_names(wanted),
            }),
            several => Err(Problem::GroupAmbiguous {
                pairing: pairing.to_owned(),
                group: name.to_owned(),
                candidates: several
                    .iter()
                    .map(|&index| format!("{} ({})", groups[index].display_name, groups[index].id))
                    .collect(),
            }),
        }
    }

    /// Display names close to `wanted`, for "did you mean".
    fn close_names(&self, wanted: &str) -> Vec<String> {
        let folded = wanted.to_lowercase();
        let mut close: Vec<String> = self
            .directory
            .groups
            .iter()
            .filter(|g| {
                let candidate = g.display_name.to_lowercase();
                candidate.contains(&folded)
                    || folded.contains(&candidate)
                    || edit_distance(&candidate, &folded) <= (folded.len() / 4).max(2)
            })
            .map(|g| g.display_name.clone())
            .collect();
        close.sort();
        close.dedup();
        close
    }

    /// Group `start` and, when `nested`, every group it nests, recursively (SPEC §14: cycles are
    /// cut, each group once): the groups whose members are `start`'s members.
    pub(super) fn reached(&self, start: usize, nested: bool) -> Vec<usize> {
        let mut stack = vec![start];
        let mut reached = Vec::new();
        let mut visited = BTreeSet::new();
        while let Some(current) = stack.pop() {
            if !visited.insert(current) {
                continue;
            }
            reached.push(current);
            if nested {
                let group = &self.directory.groups[current];
                stack.extend(
                    group
                        .member_groups
                        .iter()
                        .filter_map(|id| self.by_id.get(id.as_str()).copied()),
                );
            }
        }
        reached
    }
}

/// Levenshtein distance, for "did you mean" suggestions on short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(previous + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

/// The users of one group of a snapshot (transitively when `nested`), sorted by id: what
/// `adsync groups members` lists for a snapshot source. Returns the group's id too.
pub fn group_members<'a>(
    directory: &'a DirectorySnapshot,
    group: &GroupRef,
    nested: bool,
) -> Result<(String, Vec<&'a DirectoryUser>), Problem> {
    let groups = Groups::new(directory);
    let start = groups.resolve(group, &group.to_string())?;
    // A user id listed twice: the last one listed is shown.
    let users: HashMap<&str, &DirectoryUser> =
        directory.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut members: BTreeMap<&str, &DirectoryUser> = BTreeMap::new();
    for group in groups.reached(start, nested) {
        for id in &directory.groups[group].members {
            if let Some(user) = users.get(id.as_str()) {
                members.insert(user.id.as_str(), user);
            }
        }
    }
    Ok((
        directory.groups[start].id.clone(),
        members.into_values().collect(),
    ))
}
