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

/// A paired member without a key, with what can still tell its Rescue user apart: its object
/// id (for a link) and its other identity attribute.
pub(super) fn keyless(user: &DirectoryUser, planes: [bool; 2], use_upn: bool) -> super::Keyless {
    let other = if use_upn {
        user.mail.as_deref()
    } else {
        Some(user.upn.as_str())
    };
    super::Keyless {
        object_id: user.id.clone(),
        display_name: user.display_name.clone(),
        missing: if use_upn { "userPrincipalName" } else { "mail" },
        planes,
        other_key: other.and_then(UserKey::new),
    }
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

/// Every user's key and standing; the people and the held keys are still to be found
/// ([`find_people`]).
pub(super) fn identify(users: &[DirectoryUser], use_upn: bool) -> Identities<'_> {
    let keys: Vec<Option<Cow<'_, str>>> = users
        .iter()
        .map(|user| identity_key(user, use_upn))
        .collect();
    let standing: Vec<Standing> = users
        .iter()
        .zip(&keys)
        .map(|(user, key)| match (key, user.account_enabled) {
            (None, _) => Standing::NoKey,
            (Some(_), true) => Standing::Keyed,
            (Some(_), false) => Standing::Disabled,
        })
        .collect();
    Identities {
        keys,
        standing,
        people: Vec::new(),
        held: BTreeSet::new(),
    }
}

/// The keyed users (by listing position), in key order then listing order.
pub(super) fn keyed_users(identities: &Identities<'_>) -> Vec<u32> {
    // `desired()` checks that positions fit.
    (0..identities.keys.len() as u32)
        .filter(|&user| identities.key(user).is_some())
        .collect()
}

/// SPEC §2, "two directory users with the same key are both skipped": from the keyed users in
/// key order, the people (one per key, the first listed) and the keys held twice, whose users
/// stand skipped.
pub(super) fn find_people(identities: &mut Identities<'_>, sorted: &[u32]) {
    let mut people = Vec::with_capacity(sorted.len());
    let mut shared = Vec::new();
    let key = |user: &u32| identities.keys[*user as usize].as_deref();
    for run in sorted.chunk_by(|a, b| key(a) == key(b)) {
        people.push(run[0]);
        if run.len() > 1 {
            shared.extend_from_slice(run);
            identities
                .held
                .insert(UserKey::from_normalized(key(&run[0]).unwrap_or_default()));
        }
    }
    for user in shared {
        identities.standing[user as usize] = Standing::SharedKey;
    }
    identities.people = people;
}
