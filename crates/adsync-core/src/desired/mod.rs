//! `desired()`: from a directory snapshot and the configuration to the users each plane should
//! hold (SPEC §2, §3, §5), with identity, membership, priority and per-pairing settings applied.
//!
//! This half knows nothing of Rescue. It yields, per person and plane, the winning pairing and
//! the losing ones ([`DesiredUser`]), in types a second target system could reuse unchanged;
//! what a Rescue pairing asks of its destination (the group, the add-on, the synced attributes)
//! rides along with the pairing ([`ResolvedPairing`]) for the target's own planner to read.
//!
//! The rules live in `identity` (keys, keys held twice), `groups` (a pairing's group, nested
//! groups), `priority` (who wins a plane) and `settings` (what a pairing resolves to).

mod groups;
mod identity;
mod mapping;
mod priority;
mod selection;
mod settings;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::config::{Attribute, Config};
use crate::engine::{self, Cores};
use crate::error::{PlanError, Problem};
use crate::model::{DirectorySnapshot, DirectoryUser, Plane, Role, UserKey, trim};
use crate::warning::{Warning, WarningKind};

pub use groups::group_members;
use identity::Identities;
pub use mapping::FIELD_LIMITS;
use mapping::{Findings, Mapped};
use priority::{Choice, Membership, PairedGroups};
pub use settings::{Destination, FieldTemplate, ResolvedPairing, SsoidSource};

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
    /// Members of paired groups whose record lacks the identity attribute: not desired, and not
    /// leavers either (a partial record is not a leaver); their Rescue users are kept as they are.
    pub keyless: Vec<Keyless>,
    /// The people and their placements, shared with the plans made from this state.
    records: Arc<Records>,
}

/// A member of a paired group whose directory record lacks the identity attribute (mail, or
/// userPrincipalName with `use_upn_instead_of_email`): null, absent, empty or blank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyless {
    /// The directory object id (what a link in the state directory names).
    pub object_id: String,
    /// The display name, for warnings.
    pub display_name: String,
    /// The attribute it lacks: `mail` or `userPrincipalName`.
    pub missing: &'static str,
    /// Whether pairings of each plane hold the member (`Plane as usize`).
    pub planes: [bool; 2],
    /// The record's other identity attribute as a key (the userPrincipalName when keys are
    /// mails, the mail when they are userPrincipalNames), when it has one.
    pub other_key: Option<UserKey>,
}

/// What plans keep of a [`DesiredState`]: the people and where each plane wants them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Records {
    /// Every keyed directory user, in key order (the first one listed, for a key held twice).
    people: Vec<Person>,
    /// The desired users of each plane (`Plane as usize`), in key order.
    planes: [Vec<Placement>; 2],
}

/// A desired user as a plan's user list shows it.
pub(crate) struct Shown<'a> {
    pub(crate) key: &'a UserKey,
    pub(crate) object_id: &'a Arc<str>,
    /// The name (the display name trimmed, or the key).
    pub(crate) name: &'a Arc<str>,
    pub(crate) role: Role,
    /// The winning pairing's index, and the losing ones'.
    pub(crate) pairing: usize,
    pub(crate) losing: &'a [u32],
}

impl Records {
    /// The desired user at `index` of `plane`.
    pub(crate) fn shown(&self, plane: Plane, index: usize) -> Option<Shown<'_>> {
        let placement = self.planes[plane as usize].get(index)?;
        let person = self.people.get(placement.person as usize)?;
        Some(Shown {
            key: &person.key,
            object_id: &person.object_id,
            name: &person.name,
            role: placement.role,
            pairing: placement.pairing as usize,
            losing: &placement.losing,
        })
    }
}

/// A keyed directory user: what plans need of it once the directory snapshot is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Person {
    key: UserKey,
    object_id: Arc<str>,
    /// The display name as the directory gives it.
    display_name: Arc<str>,
    /// The name a plan shows and syncs: the display name trimmed, or the key when it is empty.
    name: Arc<str>,
    /// The given name, the job title and the userPrincipalName, trimmed and back to back (the
    /// UPN empty when no pairing takes the SSO ID from it): see [`Person::nick`].
    texts: Box<str>,
    /// Where the given name and the job title end in `texts`.
    ends: [u32; 2],
    enabled: bool,
}

/// A person desired in a plane.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Placement {
    person: u32,
    pairing: u32,
    losing: Box<[u32]>,
    role: Role,
    /// The winning pairing's mapped values, when it maps any field.
    mapped: Option<Box<Mapped>>,
}

/// Resolves every pairing against `directory` and decides who belongs where.
///
/// Errors (a group not found or ambiguous, a member limit exceeded) are all collected.
pub fn desired(directory: &DirectorySnapshot, config: &Config) -> Result<DesiredState, PlanError> {
    desired_on(directory, config, Cores::available())
}

/// [`desired`], with the cores it may use given (the result is the same whatever they are).
#[doc(hidden)]
pub fn desired_on(
    directory: &DirectorySnapshot,
    config: &Config,
    cores: Cores,
) -> Result<DesiredState, PlanError> {
    let users = &directory.users;
    check_size("directory snapshot's user list", users.len())?;
    check_size("configuration's pairing list", config.pairings.len())?;

    // SPEC §2: each user's identity key; keys held twice are skipped, never guessed between.
    // (The users by object id, for the membership lookups below, on the other core.)
    let (identities, users_by_id) = cores.join(
        users.len(),
        || {
            let mut identities = identity::identify(users, config.sync.use_upn_instead_of_email);
            let mut sorted = identity::keyed_users(&identities);
            engine::sort_by_text(&mut sorted, |user| identities.key(user).unwrap_or_default());
            identity::find_people(&mut identities, &sorted);
            identities
        },
        || engine::UsersById::new(directory),
    );

    // SPEC §4: each pairing's Entra group, by id or display name, with its nested groups.
    let groups = groups::Groups::new(directory);
    let mut problems = Vec::new();
    let nested = config.source.nested_groups();
    let paired: Vec<PairedGroups> = config
        .pairings
        .iter()
        .map(|pairing| PairedGroups {
            groups: match &pairing.entra_group {
                None => Vec::new(),
                Some(group) => match groups.resolve(group, &pairing.label()) {
                    Ok(group) => groups.reached(group, nested),
                    Err(problem) => {
                        problems.push(problem);
                        Vec::new()
                    }
                },
            },
            plane: pairing.role.plane(),
            everyone: selection::selects_from_everyone(
                pairing.entra_group.is_some(),
                pairing.condition.as_ref().map(|c| c.condition()),
            ),
        })
        .collect();

    // SPEC §3: the pairings in priority order, each holding its groups' members (those its
    // condition selects, or everyone it selects when it names no group).
    let members = engine::members_as_users(directory, &users_by_id, &paired_groups(&paired), cores);
    drop(users_by_id);
    let conditions: Vec<_> = config
        .pairings
        .iter()
        .map(|pairing| pairing.condition.as_ref().map(|c| c.condition()))
        .collect();
    let found = priority::walk(
        &paired,
        &members,
        |group| &directory.groups[group].members,
        |pairing, user| selection::selects(conditions[pairing], &users[user]),
        &identities.standing,
    );
    drop(members);

    let pairings = resolve_pairings(directory, config, &paired, &found, &mut problems);
    if !problems.is_empty() {
        return Err(PlanError { problems });
    }
    let mut warnings = skipped_warnings(users, &identities, &found, config);
    let (people, planes, findings) =
        people_and_places(users, &identities, &found.choices, &pairings, cores)?;
    if !findings.problems.is_empty() {
        return Err(PlanError {
            problems: findings.problems,
        });
    }
    warnings.extend(findings.warnings);
    warnings.sort();
    let mut keyless: Vec<Keyless> = found
        .keyless
        .iter()
        .map(|(&user, &planes)| {
            identity::keyless(
                &users[user as usize],
                planes,
                config.sync.use_upn_instead_of_email,
            )
        })
        .collect();
    // In object id order, whatever order the directory listed them in (plans are deterministic).
    keyless.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    Ok(DesiredState {
        config_digest: config.digest(),
        pairings,
        held: identities.held,
        warnings,
        keyless,
        records: Arc::new(Records { people, planes }),
    })
}

/// Every group some pairing reads, each once, in no particular order.
fn paired_groups(paired: &[PairedGroups]) -> Vec<usize> {
    let mut all: Vec<usize> = paired
        .iter()
        .flat_map(|p| p.groups.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The indexes here are `u32`, which caps every input well beyond what fits in memory; check it
/// rather than assume it.
fn check_size(what: &'static str, count: usize) -> Result<(), PlanError> {
    if count >= u32::MAX as usize {
        return Err(PlanError {
            problems: vec![Problem::TooLarge { what, count }],
        });
    }
    Ok(())
}

/// Each pairing as resolved (SPEC §3), after the member limit (SPEC §5: "an Entra group with
/// more members than `max_members_per_group` makes its pairing an error").
fn resolve_pairings(
    directory: &DirectorySnapshot,
    config: &Config,
    paired: &[PairedGroups],
    found: &Membership<'_>,
    problems: &mut Vec<Problem>,
) -> Vec<ResolvedPairing> {
    let mut resolved = Vec::with_capacity(config.pairings.len());
    for (index, ((pairing, groups), &members)) in config
        .pairings
        .iter()
        .zip(paired)
        .zip(&found.member_counts)
        .enumerate()
    {
        let group = match (&pairing.entra_group, groups.groups.first()) {
            // The group did not resolve: a problem already.
            (Some(_), None) => continue,
            (_, group) => group.map(|&group| &directory.groups[group]),
        };
        let limit = config.sync.limits.max_members_per_group;
        if members > limit {
            problems.push(Problem::MemberLimit {
                pairing: pairing.label(),
                group: group.map_or_else(|| pairing.label(), |g| g.display_name.clone()),
                members,
                limit,
            });
        }
        resolved.push(settings::resolve((index, pairing), group, members, config));
    }
    resolved
}

/// SPEC §2: a paired user without a key is skipped with a warning, and so is every user of a
/// key several users share (one warning per key); a paired group's member that the directory
/// does not hold is ignored with a warning.
fn skipped_warnings(
    users: &[DirectoryUser],
    identities: &Identities<'_>,
    found: &Membership<'_>,
    config: &Config,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let mut warned_shared: BTreeSet<&str> = BTreeSet::new();
    for &user in &found.skipped {
        let record = &users[user as usize];
        match identities.key(user) {
            None => {
                let what = if config.sync.use_upn_instead_of_email {
                    "userPrincipalName"
                } else {
                    "mail"
                };
                warnings.push(Warning {
                    kind: WarningKind::MissingKey,
                    message: format!(
                        "directory user {} (`{}`) has no {what}; skipped",
                        record.display_name, record.id
                    ),
                    email: None,
                });
            }
            Some(key) => {
                if warned_shared.insert(key) {
                    let key = UserKey::from_normalized(key);
                    warnings.push(Warning {
                        kind: WarningKind::DuplicateKey,
                        message: format!(
                            "several directory users share `{key}`; all are skipped and the Rescue user is left as it is"
                        ),
                        email: Some(key),
                    });
                }
            }
        }
    }
    for member in &found.unknown {
        warnings.push(Warning {
            kind: WarningKind::UnknownMember,
            message: format!("a paired group lists member `{member}`, which the directory snapshot does not hold; ignored"),
            email: None,
        });
    }
    warnings
}

/// The people, each plane's placements, and what mapping found.
type Peopled = (Vec<Person>, [Vec<Placement>; 2], Findings);

/// The people in key order with what plans need of them, each plane's placements, and what
/// mapping the fields found; the two halves of the people on two cores.
fn people_and_places(
    users: &[DirectoryUser],
    identities: &Identities<'_>,
    choices: &[[Choice; 2]],
    pairings: &[ResolvedPairing],
    cores: Cores,
) -> Result<Peopled, PlanError> {
    check_size("list of people", identities.people.len())?;
    let keep_upn = pairings
        .iter()
        .any(|pairing| pairing.ssoid_from == Some(SsoidSource::Upn));
    let people = &identities.people;
    let half = people.len() / 2;
    let reads: Vec<Vec<&str>> = pairings.iter().map(mapping::read_by).collect();
    let part = |from: usize, part: &[u32]| {
        let mut people = Vec::with_capacity(part.len());
        let mut planes: [Vec<Placement>; 2] = Default::default();
        let mut findings = Findings::default();
        for (rank, &user) in (from..).zip(part) {
            let key = UserKey::from_normalized(identities.key(user).unwrap_or_default());
            let record = &users[user as usize];
            for plane in Plane::ALL {
                let choice = &choices[user as usize][plane as usize];
                let Some(pairing) = choice.winner else {
                    continue;
                };
                let winning = &pairings[pairing as usize];
                planes[plane as usize].push(Placement {
                    // Checked above.
                    person: rank as u32,
                    pairing,
                    losing: choice.losing.as_slice().into(),
                    role: winning.role,
                    mapped: mapping::map(
                        winning,
                        &reads[pairing as usize],
                        record,
                        &key,
                        &mut findings,
                    ),
                });
            }
            people.push(person(record, key, keep_upn));
        }
        (people, planes, findings)
    };
    let ((mut people_all, mut planes, mut findings), (more, more_planes, more_findings)) = cores
        .join(
            people.len(),
            || part(0, &people[..half]),
            || part(half, &people[half..]),
        );
    people_all.extend(more);
    for (plane, more) in planes.iter_mut().zip(more_planes) {
        plane.extend(more);
    }
    findings.warnings.extend(more_findings.warnings);
    findings.problems.extend(more_findings.problems);
    Ok((people_all, planes, findings))
}

fn person(record: &DirectoryUser, key: UserKey, keep_upn: bool) -> Person {
    let display_name: Arc<str> = Arc::from(record.display_name.as_str());
    let name = match trim(&display_name) {
        "" => Arc::from(key.as_str()),
        trimmed if trimmed.len() == display_name.len() => Arc::clone(&display_name),
        trimmed => Arc::from(trimmed),
    };
    let nick = trim(record.given_name.as_deref().unwrap_or(""));
    let description = trim(record.job_title.as_deref().unwrap_or(""));
    let upn = if keep_upn { trim(&record.upn) } else { "" };
    // Texts of a directory user are far below `u32::MAX` bytes (`desired()` checks the count
    // of users, and the snapshot was read into memory).
    let ends = [nick.len() as u32, (nick.len() + description.len()) as u32];
    Person {
        object_id: Arc::from(record.id.as_str()),
        display_name,
        name,
        texts: [nick, description, upn].concat().into_boxed_str(),
        ends,
        enabled: record.account_enabled,
        key,
    }
}

impl Person {
    fn text(&self, part: usize) -> &str {
        let start = match part {
            0 => 0,
            _ => self.ends[part - 1] as usize,
        };
        let end = self
            .ends
            .get(part)
            .map_or(self.texts.len(), |&end| end as usize);
        self.texts.get(start..end).unwrap_or("")
    }

    /// The given name, trimmed.
    fn nick(&self) -> &str {
        self.text(0)
    }

    /// The job title, trimmed.
    fn description(&self) -> &str {
        self.text(1)
    }

    /// The userPrincipalName, trimmed.
    fn upn(&self) -> &str {
        self.text(2)
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
            .binary_search_by(|person| person.key.as_str().cmp(key))
            .ok()?;
        Some(DirectoryEntry {
            person: &self.records.people[at],
        })
    }

    /// Every keyed directory user, in key order.
    pub fn directory(&self) -> impl ExactSizeIterator<Item = DirectoryEntry<'_>> + '_ {
        self.records
            .people
            .iter()
            .map(|person| DirectoryEntry { person })
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
            .enumerate()
            .map(move |(index, placement)| DesiredUser {
                state,
                placement,
                index,
            })
    }

    /// Their keys (normalised, as [`UserKey`]s are), in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        self.iter().map(|user| user.key())
    }

    /// The user with `key`.
    pub fn get(&self, key: &str) -> Option<DesiredUser<'a>> {
        let at = self
            .placements
            .binary_search_by(|placement| {
                self.state.records.people[placement.person as usize]
                    .key
                    .as_str()
                    .cmp(key)
            })
            .ok()?;
        self.get_index(at)
    }

    /// The user at `index` in key order.
    pub fn get_index(&self, index: usize) -> Option<DesiredUser<'a>> {
        Some(DesiredUser {
            state: self.state,
            placement: self.placements.get(index)?,
            index,
        })
    }

    /// Whether the plane wants `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// One user the directory wants in a plane: who, in which role, through which pairing, and
/// which pairings lost them.
#[derive(Clone, Copy, Debug)]
pub struct DesiredUser<'a> {
    state: &'a DesiredState,
    placement: &'a Placement,
    /// The user's index in its plane.
    index: usize,
}

impl<'a> DesiredUser<'a> {
    fn person(&self) -> &'a Person {
        &self.state.records.people[self.placement.person as usize]
    }

    /// Identity key (normalised, as [`UserKey`]s are).
    pub fn key(&self) -> &'a str {
        self.person().key.as_str()
    }

    /// [`Self::key`] as a [`UserKey`].
    pub fn user_key(&self) -> UserKey {
        self.person().key.clone()
    }

    /// Entra object id.
    pub fn object_id(&self) -> &'a str {
        &self.person().object_id
    }

    /// Role in this plane.
    pub fn role(&self) -> Role {
        self.placement.role
    }

    /// Index of the winning pairing.
    pub fn pairing(&self) -> usize {
        self.placement.pairing as usize
    }

    /// The winning pairing.
    pub fn winning_pairing(&self) -> &'a ResolvedPairing {
        &self.state.pairings[self.pairing()]
    }

    /// Indexes of the pairings that also hold the user in this plane, in priority order.
    pub fn losing(&self) -> impl ExactSizeIterator<Item = usize> + 'a {
        self.placement
            .losing
            .iter()
            .map(|&pairing| pairing as usize)
    }

    /// The winning pairing's value for a mapped field.
    fn mapped(&self, field: Attribute) -> Option<&'a str> {
        let mapped = self.placement.mapped.as_deref()?;
        mapped.value(self.winning_pairing(), field)
    }

    /// name <- the winning pairing's template, else displayName (trimmed; the key when it is
    /// empty).
    pub fn name(&self) -> &'a str {
        self.mapped(Attribute::Name)
            .unwrap_or_else(|| &self.person().name)
    }

    /// nick <- the winning pairing's template, else givenName (trimmed).
    pub fn nick(&self) -> &'a str {
        self.mapped(Attribute::Nick)
            .unwrap_or_else(|| self.person().nick())
    }

    /// SSO ID per the winning pairing's settings; `None` when it sets no SSO source.
    pub fn ssoid(&self) -> Option<&'a str> {
        Some(match self.winning_pairing().ssoid_from? {
            SsoidSource::Upn => self.person().upn(),
            SsoidSource::Email => self.key(),
            SsoidSource::Template => self.mapped(Attribute::Ssoid).unwrap_or_default(),
        })
    }

    /// description <- the winning pairing's template, else jobTitle (trimmed).
    pub fn description(&self) -> &'a str {
        self.mapped(Attribute::Description)
            .unwrap_or_else(|| self.person().description())
    }

    /// Where a mapped field's value came from: the template and each attribute it reads with
    /// the user's value (`None` when missing); `None` when the winning pairing does not map
    /// `field`.
    pub fn mapped_from(&self, field: Attribute) -> Option<MappedFrom<'a>> {
        let mapped = self.placement.mapped.as_deref()?;
        let pairing = self.winning_pairing();
        let template = pairing.templates.get(&field)?;
        let names = template.template.attributes();
        let values = mapping::read_by(pairing)
            .into_iter()
            .enumerate()
            .filter(|(_, name)| names.contains(name))
            .map(|(n, name)| (name, mapped.source(pairing, n)))
            .collect();
        Some(MappedFrom { template, values })
    }

    /// The records the user lies in, and its index in its plane there.
    pub(crate) fn records(&self) -> (&'a Arc<Records>, usize) {
        (&self.state.records, self.index)
    }
}

/// Where a mapped field's value came from ([`DesiredUser::mapped_from`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MappedFrom<'a> {
    /// The template and where it was configured.
    pub template: &'a FieldTemplate,
    /// Each attribute the template reads, with the user's value (`None` when missing).
    pub values: Vec<(&'a str, Option<&'a str>)>,
}

/// A keyed directory user, desired or not.
#[derive(Clone, Copy, Debug)]
pub struct DirectoryEntry<'a> {
    person: &'a Person,
}

impl<'a> DirectoryEntry<'a> {
    /// Identity key (normalised, as [`UserKey`]s are).
    pub fn key(&self) -> &'a str {
        self.person.key.as_str()
    }

    /// Entra object id.
    pub fn object_id(&self) -> &'a str {
        &self.person.object_id
    }

    /// displayName, as the directory gives it.
    pub fn display_name(&self) -> &'a str {
        &self.person.display_name
    }

    /// accountEnabled.
    pub fn enabled(&self) -> bool {
        self.person.enabled
    }

    /// The object id and the display name, shared (for the plan's user entries).
    pub(crate) fn shared_texts(&self) -> (Arc<str>, Arc<str>) {
        (
            Arc::clone(&self.person.object_id),
            Arc::clone(&self.person.display_name),
        )
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
