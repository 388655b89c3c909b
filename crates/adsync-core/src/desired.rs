//! `desired()`: from a directory snapshot and the configuration to the users each plane should
//! hold, with identity, priority and per-pairing settings applied (SPEC §2, §3, §5).
//!
//! The result is compact (SPEC §12): one record per keyed directory user, its text in one shared
//! buffer, and per plane a key-ordered list of small placements pointing at those records. It
//! owns everything `plan()` needs, so the directory snapshot can be dropped once it is built, as
//! the CLI does. Memberships are resolved to indexes once, each key is computed once, and no
//! work is done per membership beyond a hash lookup and a few array writes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::config::{Attribute, Config, DestinationRef, GroupRef, Pairing};
use crate::error::{PlanError, Problem};
use crate::hash::FastMap;
use crate::model::{Container, DirectorySnapshot, GroupPath, Plane, Role, UserKey, trim};
use crate::object_ids::ObjectIdsBuilder;
use crate::par;
use crate::plan::{UserEntry, Warning, WarningKind};

/// What the directory wants, per plane.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredState {
    /// Digest of the configuration.
    pub config_digest: String,
    /// The pairings, resolved, in priority order.
    pub pairings: Vec<ResolvedPairing>,
    /// Keys the directory holds twice: nodes with these e-mails are left alone.
    pub held: BTreeSet<UserKey>,
    /// Non-fatal problems.
    pub warnings: Vec<Warning>,
    /// The people and placements, shared with the plans made from this state.
    records: Arc<Records>,
}

/// The compact part of a [`DesiredState`]: what plans keep of it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Records {
    /// Every keyed directory user, in key order (the first one listed, for a key held twice).
    people: Vec<Person>,
    /// The text of every person, one after the other (see [`Person::bounds`]).
    text: String,
    /// The desired users of each plane (`Plane as usize`), in key order.
    planes: [Vec<Placement>; 2],
    /// The losing pairings of every placement, one run per placement.
    losing: Vec<u32>,
}

/// A keyed directory user: what plans need of it once the directory snapshot is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Person {
    /// Offsets into [`Records::text`] of the person's texts, back to back: see [`Field`].
    bounds: [u32; Field::COUNT + 1],
    enabled: bool,
}

/// A person's texts, in the order they lie in [`Records::text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// The identity key (normalised).
    Key,
    ObjectId,
    /// The display name, as given.
    DisplayName,
    /// The given name, trimmed.
    Nick,
    /// The job title, trimmed.
    Description,
    /// The userPrincipalName, trimmed (empty when no pairing takes the SSO ID from it).
    Upn,
}

impl Field {
    const COUNT: usize = 6;
}

/// A person desired in a plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Placement {
    person: u32,
    pairing: u32,
    losing_start: u32,
    losing_len: u32,
    role: Role,
}

impl Records {
    fn field(&self, person: &Person, field: Field) -> &str {
        let at = field as usize;
        let (start, end) = (person.bounds[at] as usize, person.bounds[at + 1] as usize);
        self.text.get(start..end).unwrap_or("")
    }

    fn key(&self, person: &Person) -> &str {
        self.field(person, Field::Key)
    }

    /// The name a plan shows: the display name trimmed, or the key when that is empty.
    fn name(&self, person: &Person) -> &str {
        match trim(self.field(person, Field::DisplayName)) {
            "" => self.key(person),
            name => name,
        }
    }

    /// The plan entry of the desired user at `index` of `plane`, as far as the directory
    /// decides it: key, object id, name, role, and the winning and losing pairings' `labels`.
    pub(crate) fn entry(&self, plane: Plane, index: usize, labels: &[Arc<str>]) -> UserEntry {
        let placement = &self.planes[plane as usize][index];
        let person = &self.people[placement.person as usize];
        let start = placement.losing_start as usize;
        let losing = &self.losing[start..start + placement.losing_len as usize];
        UserEntry {
            email: UserKey::from_normalized(self.key(person)),
            plane,
            object_id: Some(Arc::from(self.field(person, Field::ObjectId))),
            display_name: Some(Arc::from(self.name(person))),
            role: Some(placement.role),
            pairing: Some(Arc::clone(&labels[placement.pairing as usize])),
            losing_pairings: losing
                .iter()
                .map(|&pairing| Arc::clone(&labels[pairing as usize]))
                .collect(),
            node_id: None,
            current_role: None,
            current_group: None,
            current_status: None,
            actions: Vec::new(),
            note: None,
        }
    }
}

impl DesiredState {
    /// The records plans share.
    pub(crate) fn records(&self) -> &Arc<Records> {
        &self.records
    }

    /// The desired users of `plane`, in key order.
    pub fn plane(&self, plane: Plane) -> PlaneUsers<'_> {
        PlaneUsers {
            state: self,
            placements: &self.records.planes[plane as usize],
        }
    }

    /// The keyed directory user with `key`, desired or not (the first one listed, when several
    /// share it).
    pub fn directory_entry(&self, key: &str) -> Option<DirectoryEntry<'_>> {
        let at = self
            .records
            .people
            .binary_search_by(|person| self.records.key(person).cmp(key))
            .ok()?;
        Some(DirectoryEntry {
            state: self,
            person: &self.records.people[at],
        })
    }

    /// Every keyed directory user, in key order.
    pub fn directory(&self) -> impl ExactSizeIterator<Item = DirectoryEntry<'_>> + '_ {
        self.records.people.iter().map(|person| DirectoryEntry {
            state: self,
            person,
        })
    }

    /// How many keyed directory users sort before `key`, and whether the next one is `key`.
    pub(crate) fn rank_of(&self, key: &str) -> (usize, bool) {
        match self
            .records
            .people
            .binary_search_by(|person| self.records.key(person).cmp(key))
        {
            Ok(at) => (at, true),
            Err(at) => (at, false),
        }
    }

    /// Every keyed directory user's rank, in the order of their object ids (then rank), each
    /// with its object id's [`IdKey`]: sorting and merging on these reads no text for ids of up
    /// to 40 bytes (Entra's are 36), where reading each person's would be a cache miss apiece.
    pub(crate) fn people_by_object_id(&self) -> Vec<(IdKey, u32)> {
        let mut order: Vec<(IdKey, u32)> = self
            .records
            .people
            .iter()
            .enumerate()
            // `desired()` bounds the number of people.
            .map(|(rank, person)| {
                let id = self.records.field(person, Field::ObjectId);
                (IdKey::new(id), rank as u32)
            })
            .collect();
        order.sort_unstable_by(|a, b| {
            a.0.cmp_with(&b.0, || (self.object_id_of(a.1), self.object_id_of(b.1)))
                .then(a.1.cmp(&b.1))
        });
        order
    }

    /// The object id of the keyed directory user of rank `rank`.
    pub(crate) fn object_id_of(&self, rank: u32) -> &str {
        self.records
            .people
            .get(rank as usize)
            .map_or("", |person| self.records.field(person, Field::ObjectId))
    }

    /// How many keyed directory users there are.
    pub(crate) fn people_len(&self) -> usize {
        self.records.people.len()
    }
}

/// The desired users of one plane, in key order.
#[derive(Clone, Copy, Debug)]
pub struct PlaneUsers<'a> {
    state: &'a DesiredState,
    placements: &'a [Placement],
}

impl<'a> PlaneUsers<'a> {
    /// How many users the plane wants.
    pub fn len(&self) -> usize {
        self.placements.len()
    }

    /// Whether the plane wants nobody.
    pub fn is_empty(&self) -> bool {
        self.placements.is_empty()
    }

    /// The users, in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = DesiredUser<'a>> + 'a {
        let state = self.state;
        self.placements
            .iter()
            .map(move |placement| DesiredUser { state, placement })
    }

    /// Their keys (normalised, as [`UserKey`]s are), in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let records = &*self.state.records;
        self.placements
            .iter()
            .map(move |placement| records.key(&records.people[placement.person as usize]))
    }

    /// The user with `key`.
    pub fn get(&self, key: &str) -> Option<DesiredUser<'a>> {
        let state = self.state;
        let records = &*state.records;
        let at = self
            .placements
            .binary_search_by(|placement| {
                records
                    .key(&records.people[placement.person as usize])
                    .cmp(key)
            })
            .ok()?;
        Some(DesiredUser {
            state,
            placement: &self.placements[at],
        })
    }

    /// The user at `index` in key order.
    pub fn get_index(&self, index: usize) -> Option<DesiredUser<'a>> {
        Some(DesiredUser {
            state: self.state,
            placement: self.placements.get(index)?,
        })
    }

    /// Whether the plane wants `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// One user the directory wants in a plane.
#[derive(Clone, Copy, Debug)]
pub struct DesiredUser<'a> {
    state: &'a DesiredState,
    placement: &'a Placement,
}

impl<'a> DesiredUser<'a> {
    fn person(&self) -> &'a Person {
        &self.state.records.people[self.placement.person as usize]
    }

    /// Identity key (normalised, as [`UserKey`]s are).
    pub fn key(&self) -> &'a str {
        self.state.records.key(self.person())
    }

    /// [`Self::key`] as a [`UserKey`].
    pub fn user_key(&self) -> UserKey {
        UserKey::from_normalized(self.key())
    }

    /// The user's rank among the keyed directory users (their key order).
    pub(crate) fn rank(&self) -> usize {
        self.placement.person as usize
    }

    /// Entra object id.
    pub fn object_id(&self) -> &'a str {
        self.state.records.field(self.person(), Field::ObjectId)
    }

    /// Role in this plane.
    pub fn role(&self) -> Role {
        self.placement.role
    }

    /// Index of the winning pairing.
    pub fn pairing(&self) -> usize {
        self.placement.pairing as usize
    }

    /// Indexes of the pairings that also hold the user in this plane, in priority order.
    pub fn losing(&self) -> impl ExactSizeIterator<Item = usize> + 'a {
        let start = self.placement.losing_start as usize;
        let end = start + self.placement.losing_len as usize;
        self.state
            .records
            .losing
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|&pairing| pairing as usize)
    }

    /// name <- displayName (trimmed; the key when it is empty).
    pub fn name(&self) -> &'a str {
        self.state.records.name(self.person())
    }

    /// nick <- givenName (trimmed).
    pub fn nick(&self) -> &'a str {
        self.state.records.field(self.person(), Field::Nick)
    }

    /// SSO ID per the winning pairing's settings; `None` when it sets no SSO source.
    pub fn ssoid(&self) -> Option<&'a str> {
        let pairing = self.state.pairings.get(self.pairing())?;
        Some(match pairing.ssoid_from? {
            SsoidSource::Upn => self.state.records.field(self.person(), Field::Upn),
            SsoidSource::Email => self.key(),
        })
    }

    /// Reads a byte of each of the user's texts, so that they are in the cache when a loop over
    /// a batch of users gets to them.
    pub(crate) fn touch(&self) -> u8 {
        let person = self.person();
        let text = self.state.records.text.as_bytes();
        let first = |field: Field| {
            text.get(person.bounds[field as usize] as usize)
                .copied()
                .unwrap_or(0)
        };
        // The texts lie back to back: the first and last cover them.
        first(Field::Key) ^ first(Field::Description)
    }

    /// description <- jobTitle (trimmed).
    pub fn description(&self) -> &'a str {
        self.state.records.field(self.person(), Field::Description)
    }
}

/// A keyed directory user, desired or not.
#[derive(Clone, Copy, Debug)]
pub struct DirectoryEntry<'a> {
    state: &'a DesiredState,
    person: &'a Person,
}

impl<'a> DirectoryEntry<'a> {
    /// Identity key (normalised, as [`UserKey`]s are).
    pub fn key(&self) -> &'a str {
        self.state.records.key(self.person)
    }

    /// Entra object id.
    pub fn object_id(&self) -> &'a str {
        self.state.records.field(self.person, Field::ObjectId)
    }

    /// displayName, as the directory gives it.
    pub fn display_name(&self) -> &'a str {
        self.state.records.field(self.person, Field::DisplayName)
    }

    /// accountEnabled.
    pub fn enabled(&self) -> bool {
        self.person.enabled
    }
}

// Serialized as maps keyed by e-mail, as `explain`-style tools expect.
impl Serialize for DesiredState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("DesiredState", 7)?;
        state.serialize_field("config_digest", &self.config_digest)?;
        state.serialize_field("pairings", &self.pairings)?;
        state.serialize_field("technicians", &self.plane(Plane::Technician))?;
        state.serialize_field("administrators", &self.plane(Plane::Administrator))?;
        state.serialize_field("directory", &DirectoryMap(self))?;
        state.serialize_field("held", &self.held)?;
        state.serialize_field("warnings", &self.warnings)?;
        state.end()
    }
}

impl Serialize for PlaneUsers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for user in self.iter() {
            map.serialize_entry(user.key(), &user)?;
        }
        map.end()
    }
}

impl Serialize for DesiredUser<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut user = serializer.serialize_struct("DesiredUser", 9)?;
        user.serialize_field("key", self.key())?;
        user.serialize_field("object_id", self.object_id())?;
        user.serialize_field("role", &self.role())?;
        user.serialize_field("pairing", &self.pairing())?;
        user.serialize_field("losing", &self.losing().collect::<Vec<_>>())?;
        user.serialize_field("name", self.name())?;
        user.serialize_field("nick", self.nick())?;
        user.serialize_field("ssoid", &self.ssoid())?;
        user.serialize_field("description", self.description())?;
        user.end()
    }
}

struct DirectoryMap<'a>(&'a DesiredState);

impl Serialize for DirectoryMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.records.people.len()))?;
        for entry in self.0.directory() {
            map.serialize_entry(entry.key(), &entry)?;
        }
        map.end()
    }
}

impl Serialize for DirectoryEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entry = serializer.serialize_struct("DirectoryEntry", 3)?;
        entry.serialize_field("object_id", self.object_id())?;
        entry.serialize_field("display_name", self.display_name())?;
        entry.serialize_field("enabled", &self.enabled())?;
        entry.end()
    }
}

/// A pairing as resolved against the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedPairing {
    /// Label.
    pub label: String,
    /// The Entra group's object id.
    pub group_id: String,
    /// The Entra group's display name.
    pub group_name: String,
    /// Users in the group (transitive when nested groups are on), enabled or not.
    pub member_count: u64,
    /// Role granted.
    pub role: Role,
    /// Destination.
    pub destination: Destination,
    /// Mobile add-on for members.
    pub mobile_license: bool,
    /// Where the SSO ID comes from.
    pub ssoid_from: Option<SsoidSource>,
    /// Synced attributes.
    pub attributes: BTreeSet<Attribute>,
}

/// A pairing's destination in Rescue.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Destination {
    /// A group (or the container itself, for an empty path) by path.
    Path(Container, GroupPath),
    /// A group by node id.
    Id(Container, crate::model::NodeId),
}

impl Destination {
    /// The container the destination lies in.
    pub fn container(&self) -> Container {
        match self {
            Destination::Path(container, _) | Destination::Id(container, _) => *container,
        }
    }
}

/// Where a pairing's SSO ID comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoidSource {
    /// userPrincipalName.
    Upn,
    /// The key e-mail.
    Email,
}

/// Records touched ahead of a loop that visits them out of order (see `desired()`).
const TOUCH_BATCH: usize = 64;

/// "No pairing" in the per-user winner arrays.
const NONE: u32 = u32::MAX;

/// Why a directory user cannot be desired, whatever the groups say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// Keyed, unique and enabled.
    Keyed,
    /// No mail (or UPN).
    NoKey,
    /// A key another directory user has too.
    SharedKey,
    /// Keyed and unique, but disabled in Entra.
    Disabled,
}

/// What the membership pass reads and writes per user, side by side.
#[derive(Clone, Copy, Debug)]
struct Hot {
    /// The last pairing that listed the user (to drop repeats within a pairing).
    stamp: u32,
    /// The winning pairing per plane.
    winner: [u32; 2],
    standing: Standing,
}

/// The first sixteen bytes of `text`, zero-padded, as a number ordered as the text is.
pub(crate) fn prefix(text: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let head = text.as_bytes();
    let len = head.len().min(16);
    bytes[..len].copy_from_slice(&head[..len]);
    u128::from_be_bytes(bytes)
}

/// Bytes 16 to 24 of `text`, zero-padded, as a number ordered as they are: with [`prefix`], the
/// first 24 bytes.
pub(crate) fn next_bytes(text: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let rest = text.as_bytes().get(16..).unwrap_or_default();
    let len = rest.len().min(8);
    bytes[..len].copy_from_slice(&rest[..len]);
    u64::from_be_bytes(bytes)
}

/// An object id's first 36 bytes (an Entra object id's length) as numbers ordered as the text
/// is, and its length: enough to compare two ids of up to 36 bytes without their text. Forty
/// bytes in all, words of eight: with a person's rank beside it, 48 bytes to sort and merge
/// (numbers of 16 bytes would align it to 64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdKey {
    words: [u64; 4],
    tail: u32,
    /// The id's length, `u32::MAX` for any longer.
    len: u32,
}

impl IdKey {
    const HELD: u32 = 36;

    pub(crate) fn new(text: &str) -> IdKey {
        let bytes = text.as_bytes();
        let mut held = [0u8; IdKey::HELD as usize];
        match bytes.first_chunk::<{ IdKey::HELD as usize }>() {
            // A copy of a known length, without a call.
            Some(head) => held = *head,
            None => held[..bytes.len()].copy_from_slice(bytes),
        }
        let word = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&held[at..at + 8]);
            u64::from_be_bytes(word)
        };
        let mut tail = [0u8; 4];
        tail.copy_from_slice(&held[32..36]);
        IdKey {
            words: [word(0), word(8), word(16), word(24)],
            tail: u32::from_be_bytes(tail),
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        }
    }

    /// How the ids compare, `texts` giving both ids' text for the rare case that the numbers
    /// cannot tell (ids that are longer and share their first 36 bytes).
    pub(crate) fn cmp_with<'t>(
        &self,
        other: &IdKey,
        texts: impl FnOnce() -> (&'t str, &'t str),
    ) -> std::cmp::Ordering {
        (self.words, self.tail)
            .cmp(&(other.words, other.tail))
            .then_with(|| {
                if self.len <= IdKey::HELD && other.len <= IdKey::HELD {
                    // Equal in their first 36 bytes, zero-padded: the shorter is a prefix.
                    self.len.cmp(&other.len)
                } else {
                    let (a, b) = texts();
                    a.cmp(b)
                }
            })
    }
}

/// Room for the texts of `items`, `len` giving an item's length: estimated from up to 4,096
/// items spread evenly, with a quarter more to spare. Summing every item's length would read
/// every record once more only to size a buffer (tens of megabytes of records at SPEC §12's
/// sizes); room reserved and not written costs nothing, and should the texts need more, the
/// buffer grows as usual.
pub(crate) fn room_for<T>(items: &[T], len: impl Fn(&T) -> usize) -> usize {
    const SAMPLE: usize = 4096;
    let step = items.len().div_ceil(SAMPLE).max(1);
    let (sum, count) = items
        .iter()
        .step_by(step)
        .fold((0usize, 0usize), |(sum, count), item| {
            (sum + len(item), count + 1)
        });
    if count == 0 {
        return 0;
    }
    let estimate = (sum / count)
        .saturating_mul(items.len())
        .saturating_add((sum % count).saturating_mul(items.len()) / count);
    estimate.saturating_add(estimate / 4).saturating_add(64)
}

/// The indexes here are `u32`, which caps every input well beyond what fits in memory; check it
/// rather than assume it.
fn check_size(what: &'static str, count: usize) -> Result<(), PlanError> {
    if count >= NONE as usize {
        return Err(PlanError {
            problems: vec![Problem::TooLarge { what, count }],
        });
    }
    Ok(())
}

/// Resolves every pairing against `directory` and decides who belongs where.
///
/// Errors (a group not found or ambiguous, a member limit exceeded) are all collected.
pub fn desired(directory: &DirectorySnapshot, config: &Config) -> Result<DesiredState, PlanError> {
    let use_upn = config.sync.use_upn_instead_of_email;
    let nested = config.source.nested_groups();
    let users = &directory.users;
    check_size("directory snapshot's user list", users.len())?;
    check_size("configuration's pairing list", config.pairings.len())?;

    // Every key, computed once, and the object ids, each parsed once (see `ObjectIds`): the
    // lookups of a million memberships then read a table of numbers, not across the directory.
    // Buffers sized once (see `room_for`): growing them would copy tens of megabytes.
    let mut key_text = String::with_capacity(room_for(users, |user| {
        if use_upn {
            user.upn.len()
        } else {
            user.mail.as_ref().map_or(0, String::len)
        }
    }));
    let mut key_ends: Vec<u32> = Vec::with_capacity(users.len());
    let mut ids = ObjectIdsBuilder::with_capacity(users.len());
    let mut id_bytes = 0usize;
    let mut hot: Vec<Hot> = Vec::with_capacity(users.len());
    // The length of every user's other texts, read here where the records are read in order:
    // with the keys and ids, an upper bound of the people's text.
    let mut other_text = 0usize;
    for user in users {
        let optional = |text: &Option<String>| text.as_ref().map_or(0, String::len);
        other_text += user.display_name.len()
            + optional(&user.given_name)
            + optional(&user.job_title)
            + user.upn.len();
        let raw = if use_upn {
            Some(user.upn.as_str())
        } else {
            user.mail.as_deref()
        };
        let key = raw.and_then(UserKey::normalize);
        hot.push(Hot {
            stamp: NONE,
            winner: [NONE; 2],
            standing: match (&key, user.account_enabled) {
                (None, _) => Standing::NoKey,
                (Some(_), true) => Standing::Keyed,
                (Some(_), false) => Standing::Disabled,
            },
        });
        if let Some(key) = key {
            key_text.push_str(&key);
        }
        key_ends.push(offset(&key_text)?);
        // `check_size` above bounds the user's index, its position.
        ids.push(&user.id);
        id_bytes += user.id.len();
    }
    // Text `user` of an arena: `ends[user - 1]..ends[user]`; an empty key is no key.
    let slice = |ends: &[u32], user: u32| -> (usize, usize) {
        let at = user as usize;
        let start = if at == 0 { 0 } else { ends[at - 1] as usize };
        (start, ends[at] as usize)
    };
    let key_of = |user: u32| {
        let (start, end) = slice(&key_ends, user);
        key_text.get(start..end).unwrap_or("")
    };
    // Users by object id (the first one listed wins); and the keyed users in key order (then
    // listing order), sorted on the keys' first 24 bytes first so most comparisons touch no
    // string (e-mails often share their first 16: `alexander.anderson.…`): a key held twice is
    // a run of two or more. The two are independent: one on each core.
    let (user_index, sorted) = par::join(
        users.len(),
        || ids.build(),
        || {
            let mut sorted: Vec<(u128, u64, u32)> = (0..users.len() as u32)
                .filter(|&user| hot[user as usize].standing != Standing::NoKey)
                .map(|user| {
                    let key = key_of(user);
                    (prefix(key), next_bytes(key), user)
                })
                .collect();
            sorted.sort_unstable_by(|a, b| {
                (a.0, a.1)
                    .cmp(&(b.0, b.1))
                    .then_with(|| key_of(a.2).cmp(key_of(b.2)))
                    .then(a.2.cmp(&b.2))
            });
            sorted
        },
    );
    let same_key = |a: &(u128, u64, u32), b: &(u128, u64, u32)| {
        (a.0, a.1) == (b.0, b.1) && key_of(a.2) == key_of(b.2)
    };
    let mut held: BTreeSet<UserKey> = BTreeSet::new();
    // The people, in key order: one per key (the first user listed, for a key held twice).
    let mut people_users: Vec<u32> = Vec::with_capacity(sorted.len());
    for run in sorted.chunk_by(same_key) {
        people_users.push(run[0].2);
        if let [first, _, ..] = run {
            for &(_, _, user) in run {
                hot[user as usize].standing = Standing::SharedKey;
            }
            held.extend(UserKey::new(key_of(first.2)));
        }
    }
    drop(sorted);

    // Group lookups: by id for nested groups (the last one listed wins), and for pairings.
    let group_index: FastMap<&str, usize> = directory
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| (group.id.as_str(), index))
        .collect();
    let groups = GroupIndex::new(directory);

    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut resolved = Vec::with_capacity(config.pairings.len());

    // Each pairing's group, then the users of every group they reach, resolved to indexes on
    // both cores (the lookups are most of the cost of a million memberships); the priority pass
    // below then walks plain numbers.
    let pairing_groups: Vec<Option<usize>> = config
        .pairings
        .iter()
        .map(|pairing| {
            resolve_group(
                directory,
                &groups,
                &pairing.entra_group,
                &pairing.label(),
                &mut problems,
            )
        })
        .collect();
    let mut reached = vec![false; directory.groups.len()];
    let mut stack: Vec<usize> = pairing_groups.iter().flatten().copied().collect();
    while let Some(current) = stack.pop() {
        if std::mem::replace(&mut reached[current], true) {
            continue;
        }
        if nested {
            for nested_group in &directory.groups[current].member_groups {
                if let Some(&index) = group_index.get(nested_group.as_str()) {
                    stack.push(index);
                }
            }
        }
    }
    let needed: Vec<usize> = (0..reached.len()).filter(|&g| reached[g]).collect();
    drop(reached);
    let resolve = |part: &[usize]| -> Vec<Vec<u32>> {
        part.iter()
            .map(|&group| {
                let members = &directory.groups[group].members;
                let mut found = Vec::with_capacity(members.len());
                user_index.get_many(members, NONE, &mut found);
                found
            })
            .collect()
    };
    let cut = par::midpoint(needed.len(), |at| {
        directory.groups[needed[at]].members.len()
    });
    let memberships: usize = needed
        .iter()
        .map(|&group| directory.groups[group].members.len())
        .sum();
    let (low, high) = par::join(
        memberships,
        || resolve(&needed[..cut]),
        || resolve(&needed[cut..]),
    );
    let mut group_users: Vec<Vec<u32>> = vec![Vec::new(); directory.groups.len()];
    for (&group, users) in needed.iter().zip(low.into_iter().chain(high)) {
        group_users[group] = users;
    }
    drop(needed);

    // Priority, pairing by pairing in priority order: the first pairing that holds a user wins
    // the plane, the later ones lose. What becomes of a user depends on its own memberships
    // only, so the users are cut in two by index, one half per core: each half walks every
    // pairing's members (plain numbers by now) and keeps those in its range.
    let walk = |range: std::ops::Range<u32>, hot: &mut [Hot]| -> Walk<'_> {
        // Room for every membership: pages reserved and not written cost nothing, where
        // growing the lists would copy them and write fresh pages twice over.
        let mut walk = Walk {
            members: vec![0; config.pairings.len()],
            losing: [
                Vec::with_capacity(memberships),
                Vec::with_capacity(memberships),
            ],
            skipped: Vec::new(),
            unknown: BTreeSet::new(),
        };
        let mut flagged = vec![false; hot.len()];
        for (pairing_index, pairing) in config.pairings.iter().enumerate() {
            let Some(group) = pairing_groups[pairing_index] else {
                continue;
            };
            let stamp = pairing_index as u32;
            let plane = pairing.role.plane() as usize;
            let mut members = 0;
            // Expand members (transitively when nested groups are on), de-duplicated.
            let mut stack = vec![group];
            let mut visited_groups: BTreeSet<usize> = BTreeSet::new();
            while let Some(current) = stack.pop() {
                if !visited_groups.insert(current) {
                    continue;
                }
                let group = &directory.groups[current];
                for (position, &user) in group_users[current].iter().enumerate() {
                    if user == NONE {
                        // Not a user of either half: the first one notes it.
                        if range.start == 0 {
                            walk.unknown.insert(group.members[position].as_str());
                        }
                        continue;
                    }
                    if !range.contains(&user) {
                        continue;
                    }
                    let at = (user - range.start) as usize;
                    let state = &mut hot[at];
                    if state.stamp == stamp {
                        continue;
                    }
                    state.stamp = stamp;
                    members += 1;
                    match state.standing {
                        Standing::NoKey | Standing::SharedKey => {
                            if !std::mem::replace(&mut flagged[at], true) {
                                walk.skipped.push(user);
                            }
                            continue;
                        }
                        Standing::Disabled => continue,
                        Standing::Keyed => {}
                    }
                    let winner = &mut state.winner[plane];
                    if *winner == NONE {
                        *winner = stamp;
                    } else {
                        walk.losing[plane].push((user, stamp));
                    }
                }
                if nested {
                    for nested_group in &group.member_groups {
                        if let Some(&index) = group_index.get(nested_group.as_str()) {
                            stack.push(index);
                        }
                    }
                }
            }
            walk.members[pairing_index] = members;
        }
        walk
    };
    // `check_size` above bounds the user count.
    let cut = users.len() / 2;
    let (low_hot, high_hot) = hot.split_at_mut(cut);
    let (low, high) = par::join(
        memberships,
        || walk(0..cut as u32, low_hot),
        || walk(cut as u32..users.len() as u32, high_hot),
    );
    drop(group_users);

    for (pairing_index, pairing) in config.pairings.iter().enumerate() {
        let Some(group) = pairing_groups[pairing_index] else {
            continue;
        };
        let group = &directory.groups[group];
        let members = low.members[pairing_index] + high.members[pairing_index];
        let limit = config.sync.limits.max_members_per_group;
        if members > limit {
            problems.push(Problem::MemberLimit {
                pairing: pairing.label(),
                group: group.display_name.clone(),
                members,
                limit,
            });
        }
        resolved.push(ResolvedPairing {
            label: pairing
                .name
                .clone()
                .unwrap_or_else(|| group.display_name.clone()),
            group_id: group.id.clone(),
            group_name: group.display_name.clone(),
            member_count: members as u64,
            role: pairing.role,
            destination: destination_of(pairing),
            mobile_license: pairing.mobile_license,
            ssoid_from: ssoid_source(pairing, config.sync.email_as_ssoid),
            attributes: pairing.attributes.clone(),
        });
    }
    if !problems.is_empty() {
        return Err(PlanError { problems });
    }
    // Paired users without a key, or with one several users share: one warning per user, or
    // per shared key.
    let mut warned_shared: BTreeSet<&str> = BTreeSet::new();
    for &user in low.skipped.iter().chain(&high.skipped) {
        let at = user as usize;
        if hot[at].standing == Standing::NoKey {
            let record = &users[at];
            let what = if use_upn { "userPrincipalName" } else { "mail" };
            warnings.push(Warning {
                kind: WarningKind::MissingKey,
                message: format!(
                    "directory user {} (`{}`) has no {what}; skipped",
                    record.display_name, record.id
                ),
                email: None,
            });
        } else {
            let key = key_of(user);
            if warned_shared.insert(key)
                && let Some(key) = UserKey::new(key)
            {
                warnings.push(Warning {
                    kind: WarningKind::DuplicateKey,
                    message: format!(
                        "several directory users share `{key}`; all are skipped and the Rescue user is left as it is"
                    ),
                    email: Some(key.clone()),
                });
            }
        }
    }
    for member in &low.unknown {
        warnings.push(Warning {
            kind: WarningKind::UnknownMember,
            message: format!("a paired group lists member `{member}`, which the directory snapshot does not hold; ignored"),
            email: None,
        });
    }

    drop(user_index);

    // Each person's rank, by directory user.
    let mut rank: Vec<u32> = vec![NONE; users.len()];
    for (person, &user) in people_users.iter().enumerate() {
        rank[user as usize] = person as u32;
    }

    // Each placement's losing pairings, in priority order, one run per person in key order (a
    // counting sort): `plan()` reads them in that order. The planes' parts of the list are
    // apart: one per core.
    // Each half's losing pairs are per user in priority order, and a user is in one half: the
    // halves are read one after the other.
    let pairs_of = |plane: usize| [&low.losing[plane], &high.losing[plane]];
    let (technicians, administrators) = (pairs_of(0), pairs_of(1));
    let count = |halves: [&Vec<(u32, u32)>; 2]| halves[0].len() + halves[1].len();
    check_size(
        "list of memberships",
        count(technicians) + count(administrators),
    )?;
    let mut losing: Vec<u32> = vec![0; count(technicians) + count(administrators)];
    let (technician_part, administrator_part) = losing.split_at_mut(count(technicians));
    let sort = |halves: [&Vec<(u32, u32)>; 2], part: &mut [u32], base: u32| -> Vec<u32> {
        let pairs = || halves.into_iter().flatten();
        let mut starts = vec![0u32; people_users.len() + 1];
        for &(user, _) in pairs() {
            // Only keyed, unique users win or lose: each has a rank.
            starts[rank[user as usize] as usize + 1] += 1;
        }
        for at in 0..people_users.len() {
            starts[at + 1] += starts[at];
        }
        let mut fill = starts.clone();
        for &(user, pairing) in pairs() {
            let slot = &mut fill[rank[user as usize] as usize];
            part[*slot as usize] = pairing;
            *slot += 1;
        }
        for start in &mut starts {
            *start += base;
        }
        starts
    };
    // `check_size` above bounds the list.
    let base = count(technicians) as u32;
    let (technician_starts, administrator_starts) = par::join(
        count(technicians) + count(administrators),
        || sort(technicians, technician_part, 0),
        || sort(administrators, administrator_part, base),
    );
    let losing_at = [technician_starts, administrator_starts];
    drop((low, high));
    drop(rank);

    // The people's records and text, and each plane's placements, in key order: what `plan()`
    // walks in key order lies in memory in that order.
    let keep_upn = resolved
        .iter()
        .any(|pairing| pairing.ssoid_from == Some(SsoidSource::Upn));
    // Two halves of the people, one per core, joined in order: each half's text offsets and
    // person numbers are shifted by what the first half holds.
    // Each half's buffers are sized for all the people (the text by an upper bound), so the
    // second half joins the first without a reallocation: memory reserved and not written
    // costs nothing.
    let text_bound = key_text.len() + id_bytes + other_text;
    let build = |part: std::ops::Range<usize>| -> Result<Half, PlanError> {
        let mine = &people_users[part.clone()];
        let all = people_users.len();
        let mut half = Half {
            text: String::with_capacity(text_bound),
            people: Vec::with_capacity(all),
            planes: [Vec::with_capacity(all), Vec::with_capacity(all)],
        };
        let Half {
            text,
            people,
            planes,
        } = &mut half;
        for (person, &user) in part.zip(mine) {
            // The records lie in listing order, read here in key order: touch the next batch's
            // texts ahead, so their cache misses overlap rather than come one by one.
            if person % TOUCH_BATCH == 0 {
                let batch = people_users.get(person..).unwrap_or_default();
                let touched = batch.iter().take(TOUCH_BATCH).fold(0u8, |acc, &user| {
                    let record = &users[user as usize];
                    let first = |text: &str| text.as_bytes().first().copied().unwrap_or(0);
                    acc ^ first(&record.id)
                        ^ first(&record.display_name)
                        ^ first(record.given_name.as_deref().unwrap_or(""))
                        ^ first(record.job_title.as_deref().unwrap_or(""))
                        ^ first(if keep_upn { &record.upn } else { "" })
                        ^ first(key_of(user))
                });
                std::hint::black_box(touched);
            }
            let at = user as usize;
            let record = &users[at];
            let key = key_of(user);
            if key.is_empty() {
                continue;
            }
            // In the order of `Field`.
            let fields: [&str; Field::COUNT] = [
                key,
                &record.id,
                &record.display_name,
                trim(record.given_name.as_deref().unwrap_or("")),
                trim(record.job_title.as_deref().unwrap_or("")),
                if keep_upn { trim(&record.upn) } else { "" },
            ];
            let mut bounds = [0u32; Field::COUNT + 1];
            bounds[0] = offset(text)?;
            for (field, value) in fields.iter().enumerate() {
                text.push_str(value);
                bounds[field + 1] = offset(text)?;
            }
            for (plane, placements) in planes.iter_mut().enumerate() {
                let pairing = hot[at].winner[plane];
                if pairing == NONE {
                    continue;
                }
                let (start, end) = (losing_at[plane][person], losing_at[plane][person + 1]);
                placements.push(Placement {
                    person: people.len() as u32,
                    pairing,
                    losing_start: start,
                    losing_len: end - start,
                    role: resolved[pairing as usize].role,
                });
            }
            people.push(Person {
                bounds,
                enabled: record.account_enabled,
            });
        }
        Ok(half)
    };
    let cut = people_users.len() / 2;
    let (first, second) = par::join(
        people_users.len(),
        || build(0..cut),
        || build(cut..people_users.len()),
    );
    let Half {
        mut text,
        mut people,
        mut planes,
    } = first?;
    let second = second?;
    let (text_base, person_base) = (offset(&text)?, people.len() as u32);
    check_size("directory's text", text.len() + second.text.len())?;
    // The second half's text on one core, its records on the other: both land in memory the
    // first half reserved and never wrote, a few thousand fresh pages at full size.
    let (more_text, more_people, more_planes) = (second.text, second.people, second.planes);
    par::join(
        more_people.len(),
        || text.push_str(&more_text),
        || {
            people.extend(more_people.into_iter().map(|mut person| {
                for bound in &mut person.bounds {
                    *bound += text_base;
                }
                person
            }));
            for (placements, more) in planes.iter_mut().zip(more_planes) {
                placements.extend(more.into_iter().map(|mut placement| {
                    placement.person += person_base;
                    placement
                }));
            }
        },
    );
    warnings.sort();
    Ok(DesiredState {
        config_digest: config.digest(),
        pairings: resolved,
        held,
        warnings,
        records: Arc::new(Records {
            people,
            text,
            planes,
            losing,
        }),
    })
}

/// What the priority pass found in one half of the directory users.
struct Walk<'d> {
    /// Per pairing, how many of the half's users it holds.
    members: Vec<usize>,
    /// Per plane, `(user, pairing)` for each pairing a user is in but loses on priority, per
    /// user in priority order.
    losing: [Vec<(u32, u32)>; 2],
    /// Paired users without a key or with a shared one, each once, in the order met.
    skipped: Vec<u32>,
    /// Members the directory does not hold (noted by the first half only).
    unknown: BTreeSet<&'d str>,
}

/// One half of the people, as `desired()` builds them.
struct Half {
    text: String,
    people: Vec<Person>,
    planes: [Vec<Placement>; 2],
}

/// The current end of `text` as an offset.
fn offset(text: &str) -> Result<u32, PlanError> {
    check_size("directory's text", text.len())?;
    Ok(text.len() as u32)
}

/// Groups by id and by display name, for resolving pairings without a scan each.
struct GroupIndex {
    /// ASCII-folded id -> the first group with it.
    by_id: FastMap<String, usize>,
    /// ASCII-folded, trimmed display name -> the groups with it, in listing order.
    by_name: FastMap<String, Vec<usize>>,
}

impl GroupIndex {
    fn new(directory: &DirectorySnapshot) -> GroupIndex {
        let mut by_id: FastMap<String, usize> = FastMap::default();
        let mut by_name: FastMap<String, Vec<usize>> = FastMap::default();
        for (index, group) in directory.groups.iter().enumerate() {
            by_id.entry(group.id.to_ascii_lowercase()).or_insert(index);
            by_name
                .entry(group.display_name.trim().to_ascii_lowercase())
                .or_default()
                .push(index);
        }
        GroupIndex { by_id, by_name }
    }
}

fn resolve_group(
    directory: &DirectorySnapshot,
    index: &GroupIndex,
    group: &GroupRef,
    pairing: &str,
    problems: &mut Vec<Problem>,
) -> Option<usize> {
    match group {
        GroupRef::Id { id } => {
            // `eq_ignore_ascii_case` is equality of the ASCII-folded texts.
            let found = index.by_id.get(&id.trim().to_ascii_lowercase()).copied();
            if found.is_none() {
                problems.push(Problem::GroupNotFound {
                    pairing: pairing.to_owned(),
                    group: id.clone(),
                    close: Vec::new(),
                });
            }
            found
        }
        GroupRef::Name(name) => {
            let wanted = name.trim();
            let mut matches: Vec<usize> = index
                .by_name
                .get(&wanted.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            // The same group listed twice (a source may return it once per pairing) is one group.
            matches.sort_by(|a, b| directory.groups[*a].id.cmp(&directory.groups[*b].id));
            matches.dedup_by(|a, b| directory.groups[*a].id == directory.groups[*b].id);
            match matches.as_slice() {
                [one] => Some(*one),
                [] => {
                    let folded = wanted.to_lowercase();
                    let mut close: Vec<String> = directory
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
                    problems.push(Problem::GroupNotFound {
                        pairing: pairing.to_owned(),
                        group: name.clone(),
                        close,
                    });
                    None
                }
                several => {
                    let candidates = several
                        .iter()
                        .map(|&index| {
                            let g = &directory.groups[index];
                            format!("{} ({})", g.display_name, g.id)
                        })
                        .collect();
                    problems.push(Problem::GroupAmbiguous {
                        pairing: pairing.to_owned(),
                        group: name.clone(),
                        candidates,
                    });
                    None
                }
            }
        }
    }
}

fn destination_of(pairing: &Pairing) -> Destination {
    let container = pairing.role.container();
    match (&pairing.rescue_group, pairing.role) {
        (_, Role::MasterAdministrator) | (None, _) => {
            Destination::Path(container, GroupPath::root())
        }
        (Some(DestinationRef::Path(path)), _) => Destination::Path(container, path.clone()),
        (Some(DestinationRef::Id { id }), _) => Destination::Id(container, *id),
    }
}

fn ssoid_source(pairing: &Pairing, global_email_as_ssoid: bool) -> Option<SsoidSource> {
    if pairing.upn_as_ssoid {
        Some(SsoidSource::Upn)
    } else if pairing.email_as_ssoid.unwrap_or(global_email_as_ssoid) {
        Some(SsoidSource::Email)
    } else {
        None
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
) -> Result<(String, Vec<&'a crate::model::DirectoryUser>), Problem> {
    let mut problems = Vec::new();
    let index = GroupIndex::new(directory);
    let Some(start) = resolve_group(directory, &index, group, &group.to_string(), &mut problems)
    else {
        return Err(problems.remove(0));
    };
    let by_id: HashMap<&str, usize> = directory
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.id.as_str(), i))
        .collect();
    let users: HashMap<&str, &crate::model::DirectoryUser> =
        directory.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut seen_groups = BTreeSet::new();
    let mut members: BTreeMap<&str, &crate::model::DirectoryUser> = BTreeMap::new();
    let mut stack = vec![start];
    while let Some(index) = stack.pop() {
        if !seen_groups.insert(index) {
            continue;
        }
        let current = &directory.groups[index];
        for member in &current.members {
            if let Some(user) = users.get(member.as_str()) {
                members.insert(user.id.as_str(), user);
            }
        }
        if nested {
            stack.extend(
                current
                    .member_groups
                    .iter()
                    .filter_map(|id| by_id.get(id.as_str()).copied()),
            );
        }
    }
    Ok((
        directory.groups[start].id.clone(),
        members.into_values().collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::{IdKey, next_bytes, prefix, room_for};

    #[test]
    fn room_for_texts_covers_them_from_a_sample() {
        assert_eq!(room_for::<usize>(&[], |&len| len), 0);
        // Lengths 20 to 59 in turn: the sample sees them all.
        let lengths: Vec<usize> = (0..100_000).map(|i| 20 + i % 40).collect();
        let total: usize = lengths.iter().sum();
        let room = room_for(&lengths, |&len| len);
        assert!(room >= total, "{room} < {total}");
        assert!(room <= total * 3 / 2, "{room} is far more than {total}");
        // A handful of items are read whole.
        assert_eq!(room_for(&[7usize, 9], |&len| len), 16 + 4 + 64);
    }

    /// Ordering by the first 24 bytes as numbers, then by the text, is ordering by the text.
    #[test]
    fn the_leading_bytes_as_numbers_order_as_the_text_does() {
        let mut texts = vec![
            "alexander.anderson.1@contoso.com",
            "alexander.anderson.10@contoso.com",
            "alexander.anderson.2@contoso.com",
            "alexander.anderson",
            "alexander.andersoN",
            "alexander.anders",
            "alexander.anders\0",
            "alexander.anders\0\0x",
            "alexander",
            "",
            "b",
            "é@contoso.com",
        ];
        let mut by_numbers = texts.clone();
        texts.sort();
        by_numbers.sort_by(|a, b| {
            (prefix(a), next_bytes(a))
                .cmp(&(prefix(b), next_bytes(b)))
                .then_with(|| a.cmp(b))
        });
        assert_eq!(by_numbers, texts);
    }

    #[test]
    fn object_ids_compare_on_their_numbers_as_their_text_does() {
        let long = "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e11-and-more";
        let mut texts = vec![
            "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e11",
            "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e12",
            "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e1",
            "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e1\0",
            "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7f00",
            "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e11-and-mord",
            long,
            "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e11-and-mo",
            "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e11-an",
            "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e11-a\0",
            "0B6F6C3E-1D2A-4C55-9A51-3C1F0D3B7E11",
            "é-0b6f6c3e",
            "",
        ];
        let mut by_numbers = texts.clone();
        texts.sort();
        by_numbers.sort_by(|a, b| IdKey::new(a).cmp_with(&IdKey::new(b), || (*a, *b)));
        assert_eq!(by_numbers, texts);
        // Ids of up to 36 bytes never need their text; longer ones sharing 36 bytes do.
        let no_text = || -> (&str, &str) { panic!("the text was read") };
        for a in &texts {
            for b in texts.iter().filter(|t| t.len() <= 36) {
                if a.len() <= 36 {
                    assert_eq!(IdKey::new(a).cmp_with(&IdKey::new(b), no_text), a.cmp(b));
                }
            }
        }
        let same = IdKey::new(long).cmp_with(&IdKey::new(long), || (long, long));
        assert_eq!(same, std::cmp::Ordering::Equal);
        // What the planner sorts by object id: a key and a person's rank, in 48 bytes.
        assert_eq!(std::mem::size_of::<(IdKey, u32)>(), 48);
    }
}
