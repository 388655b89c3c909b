//! adsync-graph: Microsoft Entra ID, read through Microsoft Graph v1.0, as an adsync
//! [`Source`].
//!
//! [`GraphSource`] signs in with the OAuth2 client-credentials grant (one app-only token, cached
//! until shortly before it expires and renewed once when Graph answers 401), resolves each
//! pairing's group by object id or exact display name, and reads its members:
//!
//! - nested groups on: `GET /groups/{id}/transitiveMembers/microsoft.graph.user` for every user
//!   at any depth, plus `GET /groups/{id}/members/microsoft.graph.group` for the direct nested
//!   groups that the snapshot lists in `member_groups` (SPEC §14);
//! - nested groups off: `GET /groups/{id}/members/microsoft.graph.user` only, and `member_groups`
//!   stays empty (core would ignore it).
//!
//! - a pairing with a `where:` and no group: `GET /users?$filter=…` ([`graph_filter`]), so only
//!   the users the condition selects are read.
//!
//! Listings ask for exactly the user fields of a `DirectoryUser` plus the further attributes the
//! configuration's templates and conditions read (`$select`, built by [`user_select`] for every
//! user listing) in pages of 999 (`$top`), send `ConsistencyLevel: eventual` with `$count=true`
//! (an OData cast, and `ne`, `not` or an extension attribute in a filter, make an advanced query)
//! on every page, and follow each `@odata.nextLink` exactly as given. Users are de-duplicated by
//! id. Every read is bounded: a nextLink seen before in the same listing, more pages than the
//! first page's `@odata.count` allows, a listing ending short of that count, and a read past its
//! wall-clock budget ([`GraphSource::with_read_budget`]) are failed reads.
//!
//! Reading a snapshot therefore costs, for the groups `g` and the conditions `c` of a request,
//!
//! ```text
//! sum_g (1 + max(1, ceil(users_g / 999)) + [nested] max(1, ceil(direct_groups_g / 999)))
//!   + sum_c max(1, ceil(users_c / 999))
//! ```
//!
//! requests plus one token request, where `users_g` is the transitive (or, nesting off, direct)
//! user count and `users_c` the users a condition selects:
//! one resolution per group, every member page, and nothing else.
//!
//! Reads are all or nothing (SPEC §6): 429, 500, 502, 503, 504 and transport failures are retried
//! per [`RetryPolicy`] (honouring `Retry-After`), and any read still failing fails the whole
//! snapshot with an error that names the group and the request. Requests in flight are bounded by
//! `concurrency`.
//!
//! [`GraphSource::read_delta`] reads incrementally with delta queries from a saved
//! [`DeltaState`] (the `delta` module says how, and when it reads in full instead).
//!
//! Deliberately absent: writes of any kind, `$batch`, certificate credentials, and any reading
//! of the token's contents (it is opaque).

mod client;
mod convert;
pub mod decode;
mod delta;
mod error;
mod filter;
mod retry;
mod wire;

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use adsync_core::adapter::{
    AdapterError, NoProgress, ReadProgress, ReadStep, Source, SourceRequest,
};
use adsync_core::condition::Condition;
use adsync_core::config::{Cloud, GraphSourceConfig, GroupRef};
use adsync_core::model::{DirectoryGroup, DirectorySnapshot, DirectoryUser};
use adsync_core::secret::Secret;
use async_trait::async_trait;
use futures::future::try_join_all;
use url::Url;

use crate::client::{Client, Get, describe, refused};

pub use crate::delta::{
    DELTA_FORMAT, DeltaChanges, DeltaHow, DeltaRead, DeltaStart, DeltaState, FullReason,
    PairedGroup, TrackedGroup,
};
pub use crate::error::{Error, TokenRefusal};
pub use crate::filter::graph_filter;
pub use crate::retry::RetryPolicy;
pub use crate::wire::user_select;

/// Graph's largest page for groups and members.
pub const PAGE_SIZE: usize = 999;

/// How many close names a "no such group" error suggests.
const CLOSE_NAMES: usize = 5;

/// Everything [`GraphSource::new`] needs.
#[derive(Clone, Debug)]
pub struct GraphSettings {
    /// Tenant id or verified domain.
    pub tenant: String,
    /// Application (client) id.
    pub client_id: String,
    /// The client secret's value.
    pub client_secret: Secret,
    /// National cloud: picks the token authority, the Graph host and the token scope.
    pub cloud: Cloud,
    /// Replaces the cloud's authority host (`https://login.microsoftonline.com`); the tenant and
    /// `/oauth2/v2.0/token` are appended.
    pub authority_url: Option<String>,
    /// Replaces the cloud's Graph host; `/v1.0` is appended unless the path already ends in a
    /// version. The token scope stays the cloud's.
    pub graph_url: Option<String>,
    /// Requests in flight at once (at least 1).
    pub concurrency: usize,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

impl GraphSettings {
    /// The settings a `source: { type: graph }` configuration describes, with the secret the
    /// caller resolved and the default retry policy.
    pub fn from_config(config: &GraphSourceConfig, client_secret: Secret) -> GraphSettings {
        GraphSettings {
            tenant: config.tenant.clone(),
            client_id: config.client_id.clone(),
            client_secret,
            cloud: config.cloud,
            authority_url: config.authority_url.clone(),
            graph_url: config.graph_url.clone(),
            concurrency: config.concurrency,
            retry: RetryPolicy::default(),
        }
    }
}

/// An Entra group as lookups and searches return it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupSummary {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Description, when it has one.
    pub description: Option<String>,
}

/// One group with its members, as `adsync groups members` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMembers {
    /// The group.
    pub group: GroupSummary,
    /// Its users (transitive when nested groups are on), sorted by id.
    pub users: Vec<DirectoryUser>,
    /// Its direct nested groups' ids, sorted (always empty when nested groups are off).
    pub member_groups: Vec<String>,
}

/// How long one read of the directory may take by default: generous (a tenant's largest groups
/// read in minutes), but a read that never ends (a server handing out fresh nextLinks forever)
/// fails instead of holding the lock for hours.
pub const DEFAULT_READ_BUDGET: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Microsoft Graph as a [`Source`]. Cheap to share: one HTTP client, one token cache.
#[derive(Debug)]
pub struct GraphSource {
    client: Client,
    /// Pages of delta rounds read so far by the current read (for its progress report).
    delta_pages: AtomicU64,
    read_budget: std::time::Duration,
}

impl GraphSource {
    /// Checks the settings and builds the client. No request is sent.
    ///
    /// Refuses `http://` endpoints unless their host is loopback, and the `common`, `consumers`
    /// and `organizations` pseudo-tenants.
    pub fn new(settings: GraphSettings) -> Result<GraphSource, Error> {
        Ok(GraphSource {
            client: Client::new(settings)?,
            delta_pages: AtomicU64::new(0),
            read_budget: DEFAULT_READ_BUDGET,
        })
    }

    /// Bounds every read (a snapshot, one group's members) by `budget` of wall-clock time;
    /// past it the read fails with [`Error::ReadBudget`]. [`DEFAULT_READ_BUDGET`] otherwise.
    #[must_use]
    pub fn with_read_budget(mut self, budget: std::time::Duration) -> GraphSource {
        self.read_budget = budget;
        self
    }

    /// `read` within the read budget.
    async fn bounded<T>(&self, read: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        tokio::time::timeout(self.read_budget, read)
            .await
            .unwrap_or(Err(Error::ReadBudget {
                budget: self.read_budget,
            }))
    }

    /// Tells `observer` about every HTTP exchange with Graph and its token endpoint.
    #[must_use]
    pub fn with_request_observer(
        mut self,
        observer: std::sync::Arc<dyn adsync_core::adapter::RequestObserver>,
    ) -> GraphSource {
        self.client.observer = Some(observer);
        self
    }

    /// Gets an app-only token (or confirms the cached one), for `adsync validate --online`.
    pub async fn check_token(&self) -> Result<(), Error> {
        self.client.check_token().await
    }

    /// Groups whose display name starts with `term` (`$filter=startswith`), merged with those
    /// whose name or description holds a word starting with it (`$search`, an advanced query),
    /// sorted by name then id.
    pub async fn search_groups(&self, term: &str) -> Result<Vec<GroupSummary>, Error> {
        let term = term.trim();
        if term.is_empty() {
            return Err(Error::EmptySearchTerm);
        }
        let (prefixed, searched) =
            futures::future::try_join(self.groups_starting_with(term), self.groups_matching(term))
                .await?;
        let mut seen = HashSet::new();
        let mut groups: Vec<GroupSummary> = prefixed
            .into_iter()
            .chain(searched)
            .filter(|group| seen.insert(group.id.clone()))
            .collect();
        groups.sort_by(|a, b| {
            (a.display_name.to_lowercase(), &a.id).cmp(&(b.display_name.to_lowercase(), &b.id))
        });
        Ok(groups)
    }

    /// Finds one group by object id or exact display name.
    ///
    /// A name matching several groups is [`Error::AmbiguousGroup`] listing them with their ids;
    /// a name matching none is [`Error::GroupNotFound`] with up to five close names.
    pub async fn resolve_group(&self, group: &GroupRef) -> Result<GroupSummary, Error> {
        let resolved = match group {
            GroupRef::Id { id } => self.group_by_id(id).await,
            GroupRef::Name(name) => self.group_by_name(name).await,
        };
        resolved.map_err(|error| match error {
            // These already name the group.
            Error::GroupIdNotFound { .. }
            | Error::GroupNotFound { .. }
            | Error::AmbiguousGroup { .. } => error,
            other => other.in_group(format!("`{group}`")),
        })
    }

    /// One group and its members (transitive users when `nested`), for `adsync groups members`.
    pub async fn group_members(
        &self,
        group: &GroupRef,
        nested: bool,
    ) -> Result<GroupMembers, Error> {
        self.bounded(async {
            let summary = self.resolve_group(group).await?;
            self.read_group(summary, nested).await
        })
        .await
    }

    /// What [`Source::snapshot`] returns, with this crate's error type.
    pub async fn read(&self, request: &SourceRequest) -> Result<DirectorySnapshot, Error> {
        self.read_reporting(request, &NoProgress).await
    }

    /// [`GraphSource::read`], telling `progress` after every page and every group, within the
    /// read budget.
    pub async fn read_reporting(
        &self,
        request: &SourceRequest,
        progress: &dyn ReadProgress,
    ) -> Result<DirectorySnapshot, Error> {
        self.bounded(self.read_unbounded(request, progress)).await
    }

    async fn read_unbounded(
        &self,
        request: &SourceRequest,
        progress: &dyn ReadProgress,
    ) -> Result<DirectorySnapshot, Error> {
        let resolved =
            try_join_all(request.groups.iter().map(|group| self.resolve_group(group))).await?;
        let mut seen = HashSet::new();
        let unique: Vec<GroupSummary> = resolved
            .into_iter()
            .filter(|group| seen.insert(group.id.clone()))
            .collect();
        let select = wire::user_select(&request.attributes);
        let tally = Tally::new(progress, unique.len() + request.selections.len());
        tally.report();
        let groups_read = try_join_all(unique.into_iter().map(|group| async {
            let read = self
                .read_group_counted(group, request.nested_groups, &select, &tally)
                .await;
            tally.group_done();
            read
        }));
        let selections_read = try_join_all(request.selections.iter().map(|condition| async {
            let read = self.list_selected(condition, &select, &tally).await;
            tally.group_done();
            read
        }));
        let (read, selected) = futures::future::try_join(groups_read, selections_read).await?;

        let mut users_seen = HashSet::new();
        let mut users = Vec::new();
        let mut groups = Vec::with_capacity(read.len());
        for group in read {
            let members = group.users.iter().map(|user| user.id.clone()).collect();
            for user in group.users {
                if users_seen.insert(user.id.clone()) {
                    users.push(user);
                }
            }
            groups.push(DirectoryGroup {
                id: group.group.id,
                display_name: group.group.display_name,
                members,
                member_groups: group.member_groups,
            });
        }
        for user in selected.into_iter().flatten() {
            if users_seen.insert(user.id.clone()) {
                users.push(user);
            }
        }
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(DirectorySnapshot { users, groups })
    }

    async fn read_group(&self, group: GroupSummary, nested: bool) -> Result<GroupMembers, Error> {
        let tally = Tally::new(&NoProgress, 1);
        self.read_group_counted(group, nested, wire::USER_SELECT, &tally)
            .await
    }

    async fn read_group_counted(
        &self,
        group: GroupSummary,
        nested: bool,
        select: &str,
        tally: &Tally<'_>,
    ) -> Result<GroupMembers, Error> {
        let label = format!("`{}` ({})", group.display_name, group.id);
        let (users, member_groups) = if nested {
            futures::future::try_join(
                self.list_users(&group.id, true, select, tally),
                self.list_member_groups(&group.id),
            )
            .await
        } else {
            self.list_users(&group.id, false, select, tally)
                .await
                .map(|users| (users, Vec::new()))
        }
        .map_err(|error| error.in_group(label))?;
        Ok(GroupMembers {
            group,
            users,
            member_groups,
        })
    }

    /// The group's users, every page, de-duplicated by id and sorted by id.
    async fn list_users(
        &self,
        group_id: &str,
        nested: bool,
        select: &str,
        tally: &Tally<'_>,
    ) -> Result<Vec<DirectoryUser>, Error> {
        let relation = if nested {
            "transitiveMembers"
        } else {
            "members"
        };
        let url = self.url(
            &["groups", group_id, relation, "microsoft.graph.user"],
            &[("$select", select), ("$top", "999"), ("$count", "true")],
        );
        self.user_pages(url, tally).await
    }

    /// The users `condition` selects (`GET /users?$filter=…`, an advanced query), every page,
    /// de-duplicated by id and sorted by id.
    async fn list_selected(
        &self,
        condition: &Condition,
        select: &str,
        tally: &Tally<'_>,
    ) -> Result<Vec<DirectoryUser>, Error> {
        let filter = graph_filter(condition);
        let url = self.url(
            &["users"],
            &[
                ("$filter", filter.as_str()),
                ("$select", select),
                ("$top", "999"),
                ("$count", "true"),
            ],
        );
        self.user_pages(url, tally)
            .await
            .map_err(|error| error.in_selection(condition.to_string()))
    }

    /// Every page of a user listing at `url`, de-duplicated by id and sorted by id.
    async fn user_pages(&self, url: Url, tally: &Tally<'_>) -> Result<Vec<DirectoryUser>, Error> {
        let mut seen = HashSet::new();
        let mut users = Vec::new();
        self.client
            .pages(url, true, |request, page: Vec<wire::User>| {
                let (listed, limited) = decode::users(page);
                if limited > 0 {
                    return Err(Error::LimitedInformation {
                        request: request.to_owned(),
                        count: limited,
                    });
                }
                tally.page(listed.len());
                users.extend(
                    listed
                        .into_iter()
                        .filter(|user| seen.insert(user.id.clone())),
                );
                Ok(())
            })
            .await?;
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(users)
    }

    /// The ids of the group's direct nested groups, sorted.
    async fn list_member_groups(&self, group_id: &str) -> Result<Vec<String>, Error> {
        let url = self.url(
            &["groups", group_id, "members", "microsoft.graph.group"],
            &[("$select", "id"), ("$top", "999"), ("$count", "true")],
        );
        let mut ids = BTreeSet::new();
        let listed = self
            .client
            .pages(url, true, |_, page: Vec<wire::Group>| {
                ids.extend(decode::groups(page).into_iter().map(|group| group.id));
                Ok(())
            })
            .await;
        match listed {
            Ok(_) => Ok(ids.into_iter().collect()),
            // Microsoft 365 groups cannot hold groups, and Graph refuses the cast for them.
            Err(Error::Refused {
                status: 400, code, ..
            }) if code == "Request_UnsupportedQuery" => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    async fn group_by_id(&self, id: &str) -> Result<GroupSummary, Error> {
        let url = self.url(&["groups", id], &[("$select", wire::GROUP_SELECT)]);
        let get = Get {
            url: &url,
            eventual: false,
        };
        let reply = self.client.get(&get).await?;
        let request = describe(&reqwest::Method::GET, &url);
        if reply.status.is_success() {
            return decode::group(&reply.body).map_err(|source| Error::Malformed {
                request,
                status: reply.status.as_u16(),
                source,
            });
        }
        match refused(request, &reply) {
            Error::Refused { status: 404, .. } => Err(Error::GroupIdNotFound { id: id.to_owned() }),
            Error::Refused { code, .. } if code == "Request_ResourceNotFound" => {
                Err(Error::GroupIdNotFound { id: id.to_owned() })
            }
            other => Err(other),
        }
    }

    async fn group_by_name(&self, name: &str) -> Result<GroupSummary, Error> {
        let filter = format!("displayName eq '{}'", odata_string(name));
        let found = self.list_groups(&filter, None).await?;
        // Graph compares names ignoring case; an exact-case match wins over the others.
        let exact: Vec<&GroupSummary> = found.iter().filter(|g| g.display_name == name).collect();
        let mut candidates: Vec<GroupSummary> = match exact.as_slice() {
            [] => found.clone(),
            _ => exact.into_iter().cloned().collect(),
        };
        if candidates.len() > 1 {
            candidates.sort();
            return Err(Error::AmbiguousGroup {
                name: name.to_owned(),
                candidates,
            });
        }
        match candidates.pop() {
            Some(group) => Ok(group),
            None => Err(Error::GroupNotFound {
                name: name.to_owned(),
                close: self.close_names(name).await,
            }),
        }
    }

    /// Groups with names like `name`, closest first. Best effort: a failed lookup only means
    /// fewer suggestions.
    async fn close_names(&self, name: &str) -> Vec<GroupSummary> {
        let prefix: String = name.chars().take(3).collect();
        let word = name
            .split(|c: char| !c.is_alphanumeric())
            .max_by_key(|word| word.chars().count())
            .unwrap_or(name);
        let (prefixed, searched) = futures::future::join(
            self.groups_starting_with(&prefix),
            self.groups_matching(word),
        )
        .await;
        let mut seen = HashSet::new();
        let limit = (name.chars().count() / 2).max(3);
        let mut close: Vec<(usize, GroupSummary)> = prefixed
            .unwrap_or_default()
            .into_iter()
            .chain(searched.unwrap_or_default())
            .filter(|group| seen.insert(group.id.clone()))
            .map(|group| (convert::distance(name, &group.display_name), group))
            .filter(|(distance, _)| *distance <= limit)
            .collect();
        close.sort();
        close
            .into_iter()
            .take(CLOSE_NAMES)
            .map(|(_, group)| group)
            .collect()
    }

    async fn groups_starting_with(&self, prefix: &str) -> Result<Vec<GroupSummary>, Error> {
        let filter = format!("startswith(displayName,'{}')", odata_string(prefix));
        self.list_groups(&filter, None).await
    }

    async fn groups_matching(&self, word: &str) -> Result<Vec<GroupSummary>, Error> {
        if word.is_empty() {
            return Ok(Vec::new());
        }
        let escaped = word.replace('\\', "\\\\").replace('"', "\\\"");
        self.list_groups("", Some(&format!("\"displayName:{escaped}\"")))
            .await
    }

    /// `GET /groups` with a `$filter` or a `$search`, every page.
    async fn list_groups(
        &self,
        filter: &str,
        search: Option<&str>,
    ) -> Result<Vec<GroupSummary>, Error> {
        let mut query = vec![("$select", wire::GROUP_SELECT), ("$top", "999")];
        if !filter.is_empty() {
            query.push(("$filter", filter));
        }
        if let Some(search) = search {
            query.push(("$search", search));
        }
        let url = self.url(&["groups"], &query);
        let mut groups = Vec::new();
        self.client
            .pages(url, search.is_some(), |_, page: Vec<wire::Group>| {
                groups.extend(decode::groups(page));
                Ok(())
            })
            .await?;
        Ok(groups)
    }

    /// `{graph}/v1.0/<segments>?<query>`, each segment percent-encoded.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.client.graph_base().clone();
        // Cannot fail: `Endpoints::new` already extended this URL's path.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }
}

/// Escapes a value for an OData string literal (`'` doubles).
fn odata_string(value: &str) -> String {
    value.replace('\'', "''")
}

#[async_trait]
impl Source for GraphSource {
    async fn snapshot(&self, request: &SourceRequest) -> Result<DirectorySnapshot, AdapterError> {
        self.read(request).await.map_err(AdapterError::from)
    }

    async fn snapshot_reporting(
        &self,
        request: &SourceRequest,
        progress: &dyn ReadProgress,
    ) -> Result<DirectorySnapshot, AdapterError> {
        self.read_reporting(request, progress)
            .await
            .map_err(AdapterError::from)
    }
}

/// Counts of a snapshot read in progress, reported after every page and group.
struct Tally<'a> {
    progress: &'a dyn ReadProgress,
    total: u64,
    done: AtomicU64,
    pages: AtomicU64,
    users: AtomicU64,
}

impl<'a> Tally<'a> {
    fn new(progress: &'a dyn ReadProgress, total: usize) -> Tally<'a> {
        Tally {
            progress,
            total: total as u64,
            done: AtomicU64::new(0),
            pages: AtomicU64::new(0),
            users: AtomicU64::new(0),
        }
    }

    fn page(&self, users: usize) {
        self.pages.fetch_add(1, Ordering::Relaxed);
        self.users.fetch_add(users as u64, Ordering::Relaxed);
        self.report();
    }

    fn group_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.report();
    }

    fn report(&self) {
        self.progress.report(ReadStep::Groups {
            done: self.done.load(Ordering::Relaxed),
            total: self.total,
            pages: self.pages.load(Ordering::Relaxed),
            users: self.users.load(Ordering::Relaxed),
        });
    }
}
