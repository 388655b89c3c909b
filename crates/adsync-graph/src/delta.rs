//! Incremental reads: Graph delta queries applied to a saved directory state.
//!
//! A full read (the first, a forced one, or a fallback) resolves the paired groups, takes a
//! tenant-wide `GET /groups/delta?$deltatoken=latest` link ("sync from now": no data, one
//! request), then runs the initial round of `GET /groups/delta` filtered to the paired groups
//! (at most 50 ids per filter, Graph's limit), then to the groups nested in them until none is
//! new, with `$select=displayName,members` (direct members, users and groups), and the initial
//! round of `GET /users/delta` with the user fields adsync reads. The groups link, the users
//! round's `@odata.deltaLink`, the direct memberships and the users make a [`DeltaState`] that
//! the caller saves once the whole run's read has succeeded.
//!
//! An incremental read follows the two saved links: groups whose members were added or removed
//! (`members@delta`, `@removed`), renamed groups, and users created, changed or removed; changes
//! to groups adsync does not track are passed over. The changes are applied to a copy of the
//! saved state, and the snapshot is built from the result exactly as a full read builds it. A
//! group nested for the first time gets its own filtered initial round. A run that finds
//! nothing new therefore costs two requests whatever the number of pairings (the filtered links
//! would cost one per 50 groups). What cannot be applied safely starts a full read instead: an expired or reset token
//! (`410 Gone`, `syncStateNotFound`, `resyncRequired`), a saved state from another tenant, format
//! or pairing set, a tracked group removed, a group paired by name renamed. If Graph refuses the
//! delta endpoint itself (400, 404, 501), the snapshot comes from the ordinary read and no state
//! is kept.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use std::sync::atomic::Ordering;

use adsync_core::adapter::{ReadProgress, ReadStep, SourceRequest};
use adsync_core::config::GroupRef;
use adsync_core::model::{DirectoryGroup, DirectorySnapshot, DirectoryUser};
use futures::future::{try_join, try_join_all};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::convert::{self, Member};
use crate::{Error, GraphSource, wire};

/// The version of [`DeltaState`]'s format; another version is read in full.
pub const DELTA_FORMAT: u32 = 1;

/// Graph's limit on the ids one delta `$filter` may name.
const FILTER_LIMIT: usize = 50;

/// What a delta round tracks of a group: `displayName` and direct members.
const GROUP_DELTA_SELECT: &str = "displayName,members";

/// The user fields a delta round tracks: the same fields a full read selects.
fn users_select() -> &'static str {
    wire::USER_SELECT
}

/// The directory as the last read left it, with the delta links to continue from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaState {
    /// [`DELTA_FORMAT`] when written.
    pub format_version: u32,
    /// The tenant read.
    pub tenant: String,
    /// What was read: the Graph endpoint, the group references, nesting and the user fields.
    /// A different scope is read in full.
    pub scope: String,
    /// The paired groups, in request order, once each.
    pub paired: Vec<PairedGroup>,
    /// Every tracked group (paired and nested) by id.
    pub groups: BTreeMap<String, TrackedGroup>,
    /// Every user of the tenant by id.
    pub users: BTreeMap<String, DirectoryUser>,
    /// The `/groups/delta` deltaLinks to follow (one, tenant-wide).
    pub group_links: Vec<String>,
    /// The `/users/delta` deltaLink.
    pub users_link: String,
}

/// A paired group and how the configuration names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedGroup {
    /// Object id.
    pub id: String,
    /// The display name the configuration names it by (`None`: named by id).
    pub by_name: Option<String>,
}

/// A tracked group: its name and direct members.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedGroup {
    /// Display name.
    pub display_name: String,
    /// Direct member users' ids.
    pub users: BTreeSet<String>,
    /// Direct member groups' ids.
    pub groups: BTreeSet<String>,
}

/// Where a delta read starts.
#[derive(Debug)]
pub enum DeltaStart {
    /// From a saved state.
    Saved(Box<DeltaState>),
    /// From nothing, for this reason.
    Full(FullReason),
}

/// Why a read was full.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FullReason {
    /// `--full` was given.
    Requested,
    /// `sync.full_read_every` has passed since the last full read.
    Scheduled,
    /// No saved directory state.
    NoSavedState,
    /// The saved state could not be read (set aside by the caller).
    Unreadable,
    /// The saved state has another format version.
    OtherFormat,
    /// The tenant, the endpoint, the pairing set or nesting changed.
    ScopeChanged,
    /// Graph no longer accepts the saved token (`410`, `syncStateNotFound`, `resyncRequired`,
    /// or the deltaLink itself refused), with its status and code.
    TokenRejected {
        /// HTTP status.
        status: u16,
        /// Graph's error code (may be empty).
        code: String,
    },
    /// A tracked group was deleted.
    GroupRemoved {
        /// Its id.
        id: String,
    },
    /// A group paired by name was renamed.
    GroupRenamed {
        /// Its id.
        id: String,
    },
}

/// How a delta read went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeltaHow {
    /// From the saved state: what changed.
    Incremental(DeltaChanges),
    /// A full read through the initial delta rounds, for this reason.
    Full(FullReason),
    /// Graph refused the delta endpoint (this HTTP status); the ordinary read was made and no
    /// state is kept. `reason` is why a full read was due in the first place.
    Refused {
        /// The status Graph refused with.
        status: u16,
        /// Why a full read was due.
        reason: FullReason,
    },
}

/// What an incremental read found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeltaChanges {
    /// Group entries (a group on several pages counts once per page).
    pub groups: usize,
    /// Member additions and removals.
    pub members: usize,
    /// Users created, changed or removed.
    pub users: usize,
    /// Groups nested for the first time and read in full.
    pub new_groups: usize,
}

/// A delta read's result.
#[derive(Debug)]
pub struct DeltaRead {
    /// The directory, as a full read would return it.
    pub snapshot: DirectorySnapshot,
    /// The state to save once the run's read has succeeded (`None`: keep nothing).
    pub state: Option<DeltaState>,
    /// How the read went.
    pub how: DeltaHow,
}

/// An incremental read's end: done, or a full read is needed.
enum Advanced {
    Done(Box<DeltaState>, DeltaChanges),
    Restart(FullReason),
}

impl GraphSource {
    /// Reads the directory for `request` from `start`: incrementally from a saved state when it
    /// fits and Graph still accepts its links, in full otherwise (see the module docs). The
    /// whole read is bounded by the read budget ([`GraphSource::with_read_budget`]).
    pub async fn read_delta(
        &self,
        request: &SourceRequest,
        start: DeltaStart,
        progress: &dyn ReadProgress,
    ) -> Result<DeltaRead, Error> {
        let scope = self.delta_scope(request);
        let read = self
            .bounded(self.read_delta_from(request, start, scope, progress))
            .await?;
        let total = request.groups.len() as u64;
        progress.report(ReadStep::Groups {
            done: total,
            total,
            pages: self.delta_pages.swap(0, Ordering::Relaxed),
            users: read.snapshot.users.len() as u64,
        });
        Ok(read)
    }

    async fn read_delta_from(
        &self,
        request: &SourceRequest,
        start: DeltaStart,
        scope: String,
        progress: &dyn ReadProgress,
    ) -> Result<DeltaRead, Error> {
        let reason = match start {
            DeltaStart::Full(reason) => reason,
            DeltaStart::Saved(state) => match self.saved_fits(&state, &scope) {
                Some(reason) => reason,
                None => match self.advance(*state, request.nested_groups).await {
                    Ok(Advanced::Done(state, changes)) => {
                        return Ok(DeltaRead {
                            snapshot: state.snapshot(request.nested_groups),
                            state: Some(*state),
                            how: DeltaHow::Incremental(changes),
                        });
                    }
                    Ok(Advanced::Restart(reason)) => reason,
                    Err(error) => token_rejected(&error).ok_or(error)?,
                },
            },
        };
        match self.seed(request, scope).await {
            Ok(state) => Ok(DeltaRead {
                snapshot: state.snapshot(request.nested_groups),
                state: Some(state),
                how: DeltaHow::Full(reason),
            }),
            Err(error) => {
                let status = delta_refused(&error).ok_or(error)?;
                let snapshot = self.read_reporting(request, progress).await?;
                Ok(DeltaRead {
                    snapshot,
                    state: None,
                    how: DeltaHow::Refused { status, reason },
                })
            }
        }
    }

    /// What a saved state must match to be continued.
    fn delta_scope(&self, request: &SourceRequest) -> String {
        let groups: Vec<String> = request.groups.iter().map(|g| format!("{g:?}")).collect();
        format!(
            "graph={} nested={} users={} groups=[{}]",
            self.client.graph_base(),
            request.nested_groups,
            users_select(),
            groups.join(", ")
        )
    }

    /// Why `state` cannot be continued, or `None` when it can.
    fn saved_fits(&self, state: &DeltaState, scope: &str) -> Option<FullReason> {
        if state.format_version != DELTA_FORMAT {
            Some(FullReason::OtherFormat)
        } else if state.tenant != self.client.tenant() || state.scope != scope {
            Some(FullReason::ScopeChanged)
        } else {
            None
        }
    }

    /// A full read through the initial delta rounds.
    async fn seed(&self, request: &SourceRequest, scope: String) -> Result<DeltaState, Error> {
        let paired = self.paired(&request.groups).await?;
        let ids: Vec<String> = paired.iter().map(|group| group.id.clone()).collect();
        let mut state = DeltaState {
            format_version: DELTA_FORMAT,
            tenant: self.client.tenant().to_owned(),
            scope,
            paired,
            groups: BTreeMap::new(),
            users: BTreeMap::new(),
            group_links: Vec::new(),
            users_link: String::new(),
        };
        // The link that tracks the groups from now on is taken first, so that what changes
        // during the reads below comes again in the next round (applying it twice is harmless).
        let latest = self.url(
            &["groups", "delta"],
            &[("$select", GROUP_DELTA_SELECT), ("$deltatoken", "latest")],
        );
        let (_, groups_link) = self.groups_round(latest).await?;
        state.group_links = vec![groups_link];
        let url = self.url(&["users", "delta"], &[("$select", users_select())]);
        let (_, (users, link)) = try_join(
            self.track_groups(&mut state, ids, request.nested_groups),
            self.users_round(url),
        )
        .await?;
        for user in users {
            apply_user(&mut state.users, user)?;
        }
        state.users_link = link;
        Ok(state)
    }

    /// The paired groups resolved, in request order, once each.
    async fn paired(&self, groups: &[GroupRef]) -> Result<Vec<PairedGroup>, Error> {
        let resolved = try_join_all(groups.iter().map(|group| self.resolve_group(group))).await?;
        let mut seen = HashSet::new();
        Ok(groups
            .iter()
            .zip(resolved)
            .filter(|(_, summary)| seen.insert(summary.id.clone()))
            .map(|(reference, summary)| PairedGroup {
                id: summary.id,
                by_name: match reference {
                    GroupRef::Name(name) => Some(name.clone()),
                    GroupRef::Id { .. } => None,
                },
            })
            .collect())
    }

    /// Initial rounds for `ids` and, with nesting, every group nested in them that is not yet
    /// tracked; adds them and their deltaLinks to `state`. Returns how many groups were added.
    async fn track_groups(
        &self,
        state: &mut DeltaState,
        mut pending: Vec<String>,
        nested: bool,
    ) -> Result<usize, Error> {
        let mut added = 0;
        while !pending.is_empty() {
            let rounds = try_join_all(pending.chunks(FILTER_LIMIT).map(|ids| {
                let filter: Vec<String> = ids
                    .iter()
                    .map(|id| format!("id eq '{}'", crate::odata_string(id)))
                    .collect();
                let url = self.url(
                    &["groups", "delta"],
                    &[
                        ("$filter", &filter.join(" or ")),
                        ("$select", GROUP_DELTA_SELECT),
                    ],
                );
                self.groups_round(url)
            }))
            .await?;
            for id in &pending {
                state.groups.entry(id.clone()).or_default();
            }
            added += pending.len();
            // Their links are not kept: the tenant-wide link follows every group.
            for (entries, _) in rounds {
                for entry in entries {
                    apply_group(state, entry, &mut DeltaChanges::default());
                }
            }
            pending = if nested { untracked(state) } else { Vec::new() };
        }
        Ok(added)
    }

    /// Follows the saved links and applies what changed.
    async fn advance(&self, mut state: DeltaState, nested: bool) -> Result<Advanced, Error> {
        let links: Vec<Url> = state
            .group_links
            .iter()
            .map(|link| self.saved_link(link))
            .collect::<Result<_, _>>()?;
        let users_link = self.saved_link(&state.users_link)?;
        let (groups, (users, users_link)) = try_join(
            try_join_all(links.into_iter().map(|url| self.groups_round(url))),
            self.users_round(users_link),
        )
        .await?;
        let mut changes = DeltaChanges::default();
        state.group_links.clear();
        for (entries, link) in groups {
            for entry in entries {
                if entry.removed.is_some() && state.groups.contains_key(&entry.id) {
                    return Ok(Advanced::Restart(FullReason::GroupRemoved { id: entry.id }));
                }
                apply_group(&mut state, entry, &mut changes);
            }
            state.group_links.push(link);
        }
        changes.users = users.len();
        for user in users {
            apply_user(&mut state.users, user)?;
        }
        state.users_link = users_link;
        if let Some(id) = renamed(&state) {
            return Ok(Advanced::Restart(FullReason::GroupRenamed { id }));
        }
        if nested {
            let pending = untracked(&state);
            changes.new_groups = self.track_groups(&mut state, pending, true).await?;
        }
        Ok(Advanced::Done(Box::new(state), changes))
    }

    /// A saved deltaLink, checked as a nextLink is before the token goes to it.
    fn saved_link(&self, link: &str) -> Result<Url, Error> {
        let base = self.client.graph_base();
        self.client.next_link("a saved delta link", base, link)
    }

    /// Every page of a `/groups/delta` round, and its deltaLink.
    async fn groups_round(&self, url: Url) -> Result<(Vec<wire::DeltaGroup>, String), Error> {
        let mut entries = Vec::new();
        let request = crate::client::describe(&reqwest::Method::GET, &url);
        let link = self
            .client
            .pages(url, false, |_, page: Vec<wire::DeltaGroup>| {
                self.delta_pages.fetch_add(1, Ordering::Relaxed);
                entries.extend(page);
                Ok(())
            })
            .await?;
        Ok((entries, ended(request, link)?))
    }

    /// Every page of a `/users/delta` round, and its deltaLink.
    async fn users_round(&self, url: Url) -> Result<(Vec<wire::DeltaUser>, String), Error> {
        let mut users = Vec::new();
        let request = crate::client::describe(&reqwest::Method::GET, &url);
        let link = self
            .client
            .pages(url, false, |_, page: Vec<wire::DeltaUser>| {
                self.delta_pages.fetch_add(1, Ordering::Relaxed);
                users.extend(page);
                Ok(())
            })
            .await?;
        Ok((users, ended(request, link)?))
    }
}

/// A round's deltaLink, which its last page must carry.
fn ended(request: String, link: Option<String>) -> Result<String, Error> {
    link.ok_or_else(|| Error::BadNextLink {
        request,
        reason: "the last page of a delta round carries no @odata.deltaLink".to_owned(),
    })
}

/// Applies one `/groups/delta` entry: name, members added and removed.
fn apply_group(state: &mut DeltaState, entry: wire::DeltaGroup, changes: &mut DeltaChanges) {
    // A filtered round names only tracked groups; anything else is not ours to keep.
    let Some(group) = state.groups.get_mut(&entry.id) else {
        return;
    };
    changes.groups += 1;
    if let Some(name) = entry.display_name {
        group.display_name = name;
    }
    for member in entry.members {
        changes.members += 1;
        let set = match member.odata_type.as_deref() {
            Some(wire::USER_TYPE) => &mut group.users,
            Some(wire::GROUP_TYPE) => &mut group.groups,
            _ => continue,
        };
        if member.removed.is_some() {
            set.remove(&member.id);
        } else {
            set.insert(member.id);
        }
    }
}

/// Applies one `/users/delta` entry. A user with limited information (the app lacks
/// User.Read.All) fails the read, as it does a full read.
fn apply_user(
    users: &mut BTreeMap<String, DirectoryUser>,
    entry: wire::DeltaUser,
) -> Result<(), Error> {
    if entry.removed.is_some() {
        users.remove(&entry.user.id);
        return Ok(());
    }
    match convert::member(entry.user) {
        Member::User(user) => {
            users.insert(user.id.clone(), user);
            Ok(())
        }
        Member::Limited => Err(Error::LimitedInformation {
            request: "GET /v1.0/users/delta".to_owned(),
            count: 1,
        }),
        Member::Other => Ok(()),
    }
}

/// Groups that tracked groups hold but that are not tracked yet, sorted.
fn untracked(state: &DeltaState) -> Vec<String> {
    let referenced: BTreeSet<&String> = state
        .groups
        .values()
        .flat_map(|group| &group.groups)
        .filter(|id| !state.groups.contains_key(*id))
        .collect();
    referenced.into_iter().cloned().collect()
}

/// A group paired by name whose name is no longer that name.
fn renamed(state: &DeltaState) -> Option<String> {
    state.paired.iter().find_map(|paired| {
        let name = paired.by_name.as_ref()?;
        let group = state.groups.get(&paired.id)?;
        (group.display_name != *name).then(|| paired.id.clone())
    })
}

/// Whether `error` means the saved token is no longer accepted; the status and code if so.
fn token_rejected(error: &Error) -> Option<FullReason> {
    match error {
        Error::Refused {
            status,
            code,
            request,
            ..
        } if *status == 410
            || code.eq_ignore_ascii_case("syncStateNotFound")
            || code.eq_ignore_ascii_case("resyncRequired")
            || is_delta(request) && matches!(status, 400 | 404 | 501) =>
        {
            Some(FullReason::TokenRejected {
                status: *status,
                code: code.clone(),
            })
        }
        _ => None,
    }
}

/// Whether `error` is Graph refusing the delta endpoint itself; its status if so.
fn delta_refused(error: &Error) -> Option<u16> {
    match error {
        Error::Refused {
            status, request, ..
        } if is_delta(request) && matches!(status, 400 | 404 | 501) => Some(*status),
        _ => None,
    }
}

fn is_delta(request: &str) -> bool {
    request.ends_with("/delta")
}

impl DeltaState {
    /// The directory as a full read returns it: the paired groups in order, each with its users
    /// (at any depth with `nested`) and, with `nested`, its direct nested groups; their users.
    pub fn snapshot(&self, nested: bool) -> DirectorySnapshot {
        let mut snapshot = DirectorySnapshot::default();
        let mut user_ids = BTreeSet::new();
        for paired in &self.paired {
            let Some(group) = self.groups.get(&paired.id) else {
                continue;
            };
            let (members, member_groups) = if nested {
                let direct: Vec<String> = group
                    .groups
                    .iter()
                    .filter(|id| **id != paired.id && self.groups.contains_key(*id))
                    .cloned()
                    .collect();
                (self.users_below(&paired.id), direct)
            } else {
                (self.existing(&group.users), Vec::new())
            };
            user_ids.extend(members.iter().cloned());
            snapshot.groups.push(DirectoryGroup {
                id: paired.id.clone(),
                display_name: group.display_name.clone(),
                members,
                member_groups,
            });
        }
        snapshot.users = user_ids
            .iter()
            .filter_map(|id| self.users.get(id).cloned())
            .collect();
        snapshot
    }

    /// Users of `ids` that exist, sorted.
    fn existing(&self, ids: &BTreeSet<String>) -> Vec<String> {
        ids.iter()
            .filter(|id| self.users.contains_key(*id))
            .cloned()
            .collect()
    }

    /// Users at any depth below `group_id` that exist, sorted (cycles cut).
    fn users_below(&self, group_id: &str) -> Vec<String> {
        let mut users = BTreeSet::new();
        let mut visited = BTreeSet::from([group_id.to_owned()]);
        let mut stack = vec![group_id.to_owned()];
        while let Some(current) = stack.pop() {
            let Some(group) = self.groups.get(&current) else {
                continue;
            };
            users.extend(group.users.iter().filter(|id| self.users.contains_key(*id)));
            for child in &group.groups {
                if visited.insert(child.clone()) {
                    stack.push(child.clone());
                }
            }
        }
        users.into_iter().cloned().collect()
    }
}
