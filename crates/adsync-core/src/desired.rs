//! `desired()`: from a directory snapshot and the configuration to the users each plane should
//! hold, with identity, priority and per-pairing settings applied (SPEC §2, §3, §5).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::config::{Attribute, Config, DestinationRef, GroupRef, Pairing};
use crate::error::{PlanError, Problem};
use crate::model::{Container, DirectorySnapshot, GroupPath, Plane, Role, UserKey};
use crate::plan::{Warning, WarningKind};

/// What the directory wants, per plane.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredState {
    /// Digest of the configuration.
    pub config_digest: String,
    /// The pairings, resolved, in priority order.
    pub pairings: Vec<ResolvedPairing>,
    /// Desired technicians.
    pub technicians: BTreeMap<UserKey, DesiredUser>,
    /// Desired master administrators and administrators.
    pub administrators: BTreeMap<UserKey, DesiredUser>,
    /// Every keyed directory user, for reasons and explanations.
    pub directory: BTreeMap<UserKey, DirectoryEntry>,
    /// Keys the directory holds twice: nodes with these e-mails are left alone.
    pub held: BTreeSet<UserKey>,
    /// Non-fatal problems.
    pub warnings: Vec<Warning>,
}

impl DesiredState {
    /// The desired users of `plane`.
    pub fn plane(&self, plane: Plane) -> &BTreeMap<UserKey, DesiredUser> {
        match plane {
            Plane::Technician => &self.technicians,
            Plane::Administrator => &self.administrators,
        }
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

/// One user the directory wants in a plane.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredUser {
    /// Identity key.
    pub key: UserKey,
    /// Entra object id.
    pub object_id: String,
    /// Role in this plane.
    pub role: Role,
    /// Index of the winning pairing.
    pub pairing: usize,
    /// Indexes of the pairings that also hold the user in this plane, in priority order.
    pub losing: Vec<usize>,
    /// name <- displayName.
    pub name: String,
    /// nick <- givenName.
    pub nick: String,
    /// SSO ID per the pairing's settings; `None` when the pairing sets no SSO source.
    pub ssoid: Option<String>,
    /// description <- jobTitle.
    pub description: String,
}

/// A keyed directory user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    /// Entra object id.
    pub object_id: String,
    /// displayName.
    pub display_name: String,
    /// accountEnabled.
    pub enabled: bool,
}

/// Resolves every pairing against `directory` and decides who belongs where.
///
/// Errors (a group not found or ambiguous, a member limit exceeded) are all collected.
pub fn desired(directory: &DirectorySnapshot, config: &Config) -> Result<DesiredState, PlanError> {
    let use_upn = config.sync.use_upn_instead_of_email;
    let nested = config.source.nested_groups();

    // Users by object id, with their key computed once.
    let mut user_index: HashMap<&str, usize> = HashMap::with_capacity(directory.users.len());
    let mut keys: Vec<Option<UserKey>> = Vec::with_capacity(directory.users.len());
    let mut key_count: HashMap<UserKey, u32> = HashMap::with_capacity(directory.users.len());
    for (index, user) in directory.users.iter().enumerate() {
        user_index.entry(user.id.as_str()).or_insert(index);
        let raw = if use_upn {
            Some(user.upn.as_str())
        } else {
            user.mail.as_deref()
        };
        let key = raw.and_then(UserKey::new);
        if let Some(key) = &key {
            *key_count.entry(key.clone()).or_insert(0) += 1;
        }
        keys.push(key);
    }

    let group_index: HashMap<&str, usize> = directory
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| (group.id.as_str(), index))
        .collect();

    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut resolved = Vec::with_capacity(config.pairings.len());
    let mut members_of: Vec<Vec<usize>> = Vec::with_capacity(config.pairings.len());
    let mut seen_stamp: Vec<u32> = vec![u32::MAX; directory.users.len()];
    let mut unknown_members: BTreeSet<String> = BTreeSet::new();

    for (pairing_index, pairing) in config.pairings.iter().enumerate() {
        let Some(group) = resolve_group(
            directory,
            &pairing.entra_group,
            &pairing.label(),
            &mut problems,
        ) else {
            members_of.push(Vec::new());
            continue;
        };
        // Expand members (transitively when nested groups are on), de-duplicated.
        let stamp = u32::try_from(pairing_index).unwrap_or(u32::MAX - 1);
        let mut members = Vec::new();
        let mut stack = vec![group];
        let mut visited_groups: BTreeSet<usize> = BTreeSet::new();
        while let Some(current) = stack.pop() {
            if !visited_groups.insert(current) {
                continue;
            }
            let current = &directory.groups[current];
            for member in &current.members {
                match user_index.get(member.as_str()) {
                    Some(&user) => {
                        if seen_stamp[user] != stamp {
                            seen_stamp[user] = stamp;
                            members.push(user);
                        }
                    }
                    None => {
                        unknown_members.insert(member.clone());
                    }
                }
            }
            if nested {
                for nested_group in &current.member_groups {
                    if let Some(&index) = group_index.get(nested_group.as_str()) {
                        stack.push(index);
                    }
                }
            }
        }
        let group = &directory.groups[group];
        let limit = config.sync.limits.max_members_per_group;
        if members.len() > limit {
            problems.push(Problem::MemberLimit {
                pairing: pairing.label(),
                group: group.display_name.clone(),
                members: members.len(),
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
            member_count: members.len() as u64,
            role: pairing.role,
            destination: destination_of(pairing),
            mobile_license: pairing.mobile_license,
            ssoid_from: ssoid_source(pairing, config.sync.email_as_ssoid),
            attributes: pairing.attributes.clone(),
        });
        members_of.push(members);
    }
    if !problems.is_empty() {
        return Err(PlanError { problems });
    }

    // Priority: the first pairing that holds a user wins the plane.
    let mut winners: [HashMap<usize, (usize, Vec<usize>)>; 2] = [HashMap::new(), HashMap::new()];
    let mut warned: BTreeSet<usize> = BTreeSet::new();
    let mut held = BTreeSet::new();
    for (pairing_index, members) in members_of.iter().enumerate() {
        let plane = resolved[pairing_index].role.plane() as usize;
        for &user in members {
            let record = &directory.users[user];
            let Some(key) = &keys[user] else {
                if warned.insert(user) {
                    let what = if use_upn { "userPrincipalName" } else { "mail" };
                    warnings.push(Warning {
                        kind: WarningKind::MissingKey,
                        message: format!(
                            "directory user {} (`{}`) has no {what}; skipped",
                            record.display_name, record.id
                        ),
                        email: None,
                    });
                }
                continue;
            };
            if key_count.get(key).copied().unwrap_or(0) > 1 {
                if warned.insert(user) && held.insert(key.clone()) {
                    warnings.push(Warning {
                        kind: WarningKind::DuplicateKey,
                        message: format!(
                            "several directory users share `{key}`; all are skipped and the Rescue user is left as it is"
                        ),
                        email: Some(key.clone()),
                    });
                }
                continue;
            }
            if !record.account_enabled {
                continue;
            }
            winners[plane]
                .entry(user)
                .and_modify(|(_, losing)| losing.push(pairing_index))
                .or_insert((pairing_index, Vec::new()));
        }
    }
    // Duplicate keys are held even when no paired group lists them: their nodes stay untouched.
    for (key, count) in &key_count {
        if *count > 1 {
            held.insert(key.clone());
        }
    }
    for member in unknown_members {
        warnings.push(Warning {
            kind: WarningKind::UnknownMember,
            message: format!("a paired group lists member `{member}`, which the directory snapshot does not hold; ignored"),
            email: None,
        });
    }

    let mut planes: [BTreeMap<UserKey, DesiredUser>; 2] = [BTreeMap::new(), BTreeMap::new()];
    for (plane, winners) in winners.into_iter().enumerate() {
        for (user, (pairing, losing)) in winners {
            let record = &directory.users[user];
            // Winners always have a key: users without one were skipped above.
            let Some(key) = keys[user].clone() else {
                continue;
            };
            let settings = &resolved[pairing];
            let ssoid = settings.ssoid_from.map(|source| match source {
                SsoidSource::Upn => record.upn.trim().to_owned(),
                SsoidSource::Email => key.as_str().to_owned(),
            });
            let name = if record.display_name.trim().is_empty() {
                key.as_str().to_owned()
            } else {
                record.display_name.trim().to_owned()
            };
            planes[plane].insert(
                key.clone(),
                DesiredUser {
                    key,
                    object_id: record.id.clone(),
                    role: settings.role,
                    pairing,
                    losing,
                    name,
                    nick: record.given_name.as_deref().unwrap_or("").trim().to_owned(),
                    ssoid,
                    description: record.job_title.as_deref().unwrap_or("").trim().to_owned(),
                },
            );
        }
    }

    let mut directory_entries = BTreeMap::new();
    for (user, key) in keys.into_iter().enumerate() {
        let Some(key) = key else { continue };
        let record = &directory.users[user];
        directory_entries
            .entry(key)
            .or_insert_with(|| DirectoryEntry {
                object_id: record.id.clone(),
                display_name: record.display_name.clone(),
                enabled: record.account_enabled,
            });
    }

    warnings.sort();
    let [technicians, administrators] = planes;
    Ok(DesiredState {
        config_digest: config.digest(),
        pairings: resolved,
        technicians,
        administrators,
        directory: directory_entries,
        held,
        warnings,
    })
}

fn resolve_group(
    directory: &DirectorySnapshot,
    group: &GroupRef,
    pairing: &str,
    problems: &mut Vec<Problem>,
) -> Option<usize> {
    match group {
        GroupRef::Id { id } => {
            let found = directory
                .groups
                .iter()
                .position(|g| g.id.eq_ignore_ascii_case(id.trim()));
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
            let mut matches: Vec<usize> = directory
                .groups
                .iter()
                .enumerate()
                .filter(|(_, g)| g.display_name.trim().eq_ignore_ascii_case(wanted))
                .map(|(index, _)| index)
                .collect();
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
    let Some(start) = resolve_group(directory, group, &group.to_string(), &mut problems) else {
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
