//! Identity (SPEC §2): which key names each directory user, and which keys are held twice.

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::model::{DirectoryUser, UserKey};

/// Why a directory user can or cannot be desired, whatever the groups say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Standing {
    /// Keyed, the only one with its key, and enabled.
    Keyed,
    /// No mail (or UPN): skipped with a warning.
    NoKey,
    /// A key another directory user has too: both are skipped, never guessed between.
    SharedKey,
    /// Keyed and unique, but disabled in Entra: not desired.
    Disabled,
}

/// A directory user's identity key: the trimmed, lower-cased mail, or the UPN when
/// `use_upn_instead_of_email` is on; `None` when that is empty.
pub(super) fn identity_key(user: &DirectoryUser, use_upn: bool) -> Option<Cow<'_, str>> {
    let raw = if use_upn {
        Some(user.upn.as_str())
    } else {
        user.mail.as_deref()
    };
    raw.and_then(UserKey::normalize)
}

/// Every directory user's key and standing, and the people: one per key, in key order.
pub(super) struct Identities<'d> {
    /// By directory user (listing order).
    pub(super) keys: Vec<Option<Cow<'d, str>>>,
    /// By directory user.
    pub(super) standing: Vec<Standing>,
    /// The keyed directory users in key order, the first one listed for a key held twice.
    pub(super) people: Vec<u32>,
    /// Keys several directory users have.
    pub(super) held: BTreeSet<UserKey>,
}

impl Identities<'_> {
    /// The key of directory user `user`.
    pub(super) fn key(&self, user: u32) -> Option<&str> {
        self.keys.get(user as usize)?.as_deref()
    }
}

/// Keys every user, and finds the keys held twice (SPEC §2: "two directory users with the same
/// key are both skipped").
pub(super) fn identify(users: &[DirectoryUser], use_upn: bool) -> Identities<'_> {
    let keys: Vec<Option<Cow<'_, str>>> = users
        .iter()
        .map(|user| identity_key(user, use_upn))
        .collect();
    let mut standing: Vec<Standing> = users
        .iter()
        .zip(&keys)
        .map(|(user, key)| match (key, user.account_enabled) {
            (None, _) => Standing::NoKey,
            (Some(_), true) => Standing::Keyed,
            (Some(_), false) => Standing::Disabled,
        })
        .collect();
    let key_of = |user: &u32| keys[*user as usize].as_deref().unwrap_or("");
    // `desired()` checks that positions fit.
    let mut sorted: Vec<u32> = (0..users.len() as u32)
        .filter(|&user| keys[user as usize].is_some())
        .collect();
    sorted.sort_unstable_by(|a, b| key_of(a).cmp(key_of(b)).then(a.cmp(b)));
    let mut people = Vec::with_capacity(sorted.len());
    let mut held = BTreeSet::new();
    for run in sorted.chunk_by(|a, b| key_of(a) == key_of(b)) {
        people.push(run[0]);
        if run.len() > 1 {
            for &user in run {
                standing[user as usize] = Standing::SharedKey;
            }
            held.insert(UserKey::from_normalized(key_of(&run[0])));
        }
    }
    Identities {
        keys,
        standing,
        people,
        held,
    }
}
