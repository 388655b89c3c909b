//! Membership and priority (SPEC §3): the pairings in order, each holding its group's members;
//! within a plane a user goes to the first pairing that holds them, and every later one that
//! holds them too loses.

use std::collections::{BTreeMap, BTreeSet};

use super::identity::Standing;
use crate::model::Plane;

/// A user's place in one plane: the winning pairing and the losing ones, in priority order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Choice {
    pub(super) winner: Option<u32>,
    /// Up to two losing pairings are held in place, without an allocation of their own.
    pub(super) losing: smallvec::SmallVec<[u32; 2]>,
}

/// SPEC §3, "order is priority": the first pairing (of a plane) met wins the user; any later
/// one loses. Pairings are met in priority order.
fn prefer(choice: &mut Choice, pairing: u32) {
    match choice.winner {
        None => choice.winner = Some(pairing),
        Some(_) => choice.losing.push(pairing),
    }
}

/// One pairing as the walk sees it: the groups its members come from, and its plane.
pub(super) struct PairedGroups {
    /// The pairing's group and the groups it nests; empty when the group did not resolve or the
    /// pairing names none.
    pub(super) groups: Vec<usize>,
    pub(super) plane: Plane,
    /// The pairing selects from every directory user (a `where:` without a group).
    pub(super) everyone: bool,
}

/// What the walk found.
pub(super) struct Membership<'d> {
    /// Per pairing, the distinct directory users it holds (keyed or not, enabled or not).
    pub(super) member_counts: Vec<usize>,
    /// Per directory user, its place in each plane (`Plane as usize`).
    pub(super) choices: Vec<[Choice; 2]>,
    /// Paired users without a key or with a shared one, each once, in the order met.
    pub(super) skipped: Vec<u32>,
    /// Paired users without a key, with the planes whose pairings hold them
    /// (`Plane as usize`).
    pub(super) keyless: BTreeMap<u32, [bool; 2]>,
    /// Member ids the directory does not hold.
    pub(super) unknown: BTreeSet<&'d str>,
}

/// Walks the pairings in priority order. `members[g]` lists group `g`'s members as directory
/// users (`None` for an id the directory does not hold), with `ids[g]` their ids; `selects`
/// says whether a pairing's condition holds for a user.
pub(super) fn walk<'d>(
    pairings: &[PairedGroups],
    members: &[Vec<Option<u32>>],
    ids: impl Fn(usize) -> &'d [String],
    selects: impl Fn(usize, usize) -> bool,
    standing: &[Standing],
) -> Membership<'d> {
    let mut walk = Walk {
        found: Membership {
            member_counts: vec![0; pairings.len()],
            choices: vec![Default::default(); standing.len()],
            skipped: Vec::new(),
            keyless: BTreeMap::new(),
            unknown: BTreeSet::new(),
        },
        held_by: vec![None; standing.len()],
        skipped: vec![false; standing.len()],
        standing,
    };
    for (pairing, paired) in pairings.iter().enumerate() {
        // `desired()` checks that the pairing count fits.
        let at = pairing as u32;
        if paired.everyone {
            for user in (0..standing.len()).filter(|&user| selects(pairing, user)) {
                walk.hold(at, paired.plane, user);
            }
        }
        for &group in &paired.groups {
            for (index, member) in members[group].iter().enumerate() {
                let Some(user) = *member else {
                    walk.found
                        .unknown
                        .extend(ids(group).get(index).map(String::as_str));
                    continue;
                };
                if selects(pairing, user as usize) {
                    walk.hold(at, paired.plane, user as usize);
                }
            }
        }
    }
    walk.found
}

/// The walk's state.
struct Walk<'d, 's> {
    found: Membership<'d>,
    /// The last pairing that held each user: a user listed twice (or through two nested
    /// groups) is held once.
    held_by: Vec<Option<u32>>,
    skipped: Vec<bool>,
    standing: &'s [Standing],
}

impl Walk<'_, '_> {
    /// Pairing `pairing` (of `plane`) holds `user`.
    fn hold(&mut self, pairing: u32, plane: Plane, user: usize) {
        if self.held_by[user].replace(pairing) == Some(pairing) {
            return;
        }
        self.found.member_counts[pairing as usize] += 1;
        match self.standing[user] {
            Standing::Keyed => prefer(&mut self.found.choices[user][plane as usize], pairing),
            Standing::NoKey | Standing::SharedKey => {
                if self.standing[user] == Standing::NoKey {
                    self.found.keyless.entry(user as u32).or_default()[plane as usize] = true;
                }
                if !std::mem::replace(&mut self.skipped[user], true) {
                    self.found.skipped.push(user as u32);
                }
            }
            Standing::Disabled => {}
        }
    }
}
