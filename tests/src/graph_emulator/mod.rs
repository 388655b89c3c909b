//! A stateful Microsoft Graph emulator on wiremock, seeded from a directory snapshot.
//!
//! It serves, on one loopback port:
//!
//! - the client-credentials token endpoint `POST /{tenant}/oauth2/v2.0/token`, checking tenant,
//!   client id, secret, grant type and scope, and answering with Entra ID's error bodies
//!   (AADSTS90002, 700016, 7000215, 70011) when they are wrong;
//! - `GET /v1.0/groups/{id}`, `GET /v1.0/groups` with `$filter=displayName eq '..'`,
//!   `$filter=startswith(displayName,'..')` or `$search="displayName:.."` (which needs
//!   `ConsistencyLevel: eventual`, as in Graph);
//! - `GET /v1.0/groups/{id}/members` and `/transitiveMembers`, uncast or cast to
//!   `microsoft.graph.user` / `microsoft.graph.group`, with `$select`, `$top` (default 100, at
//!   most 999), `$count=true` and real paging through absolute `@odata.nextLink`s;
//! - `GET /v1.0/users/delta` and `GET /v1.0/groups/delta` (the `delta` module: rounds, tokens,
//!   `@removed`, `members@delta`), each [`GraphEmulator::replace`] being one change;
//! - bearer-token checks: unknown, expired or revoked tokens get Graph's 401.
//!
//! Faults are queued per request kind: 429 bursts with a `Retry-After`, 503, 504, 403 for a
//! missing permission, malformed, truncated or slow bodies, and tokens expiring mid-read; a fault
//! can skip the first requests of its kind (to hit a nextLink page). Latency applies to every
//! response. Every request is counted by [`RequestKind`], and [`GraphEmulator::lower_bound`] says
//! how few requests a read of the seeded directory can take. A seeded [`Throttle`] answers a
//! fixed share of requests (token requests excepted: they go to Entra ID) with 429,
//! reproducibly, for load runs.

mod delta;
mod directory;
pub mod generate;
mod odata;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use adsync_core::adapter::SourceRequest;
use adsync_core::config::{Cloud, GroupRef};
use adsync_core::model::{DirectoryGroup, DirectorySnapshot};
use adsync_core::secret::Secret;
use adsync_graph::{GraphSettings, PAGE_SIZE, RetryPolicy};
use serde_json::{Value, json};
use url::Url;
use wiremock::http::Method;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use self::delta::{Collection, DeltaLog, Generation};
pub use self::delta::{GROUPS_PAGE, MEMBER_SLICE, USERS_PAGE};
use self::directory::{Cast, Directory, GROUP_PROPERTIES, Listed, USER_PROPERTIES};
pub use crate::throttle::Throttle;

/// The tenant the emulator accepts.
pub const TENANT: &str = "contoso.onmicrosoft.com";
/// The application (client) id the emulator accepts.
pub const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
/// The client secret the emulator accepts.
pub const CLIENT_SECRET: &str = "emulator-client-secret-value";

/// Graph's default page size for groups and members.
const DEFAULT_PAGE: usize = 100;

/// What a request was, for counting and for aiming faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestKind {
    /// `POST /{tenant}/oauth2/v2.0/token`.
    Token,
    /// `GET /groups/{id}`.
    GroupById,
    /// `GET /groups?$filter=displayName eq '..'`.
    GroupByName,
    /// `GET /groups?$filter=startswith(displayName,'..')`.
    GroupPrefix,
    /// `GET /groups?$search=".."`.
    GroupSearch,
    /// `GET /groups` with neither.
    GroupList,
    /// A page of `GET /groups/{id}/members/microsoft.graph.user`.
    MemberUsers,
    /// A page of `GET /groups/{id}/transitiveMembers/microsoft.graph.user`.
    TransitiveMemberUsers,
    /// A page of `GET /groups/{id}/members/microsoft.graph.group`.
    MemberGroups,
    /// A page of any other member listing (uncast, or transitive groups).
    OtherMembers,
    /// A page of `GET /users/delta` (initial, nextLink or deltaLink).
    UsersDelta,
    /// A page of `GET /groups/delta`.
    GroupsDelta,
    /// A page of `GET /users` (with a `$filter`, for a pairing's `where:`).
    UserList,
    /// Anything the emulator does not serve.
    Unknown,
}

impl RequestKind {
    /// Whether this is a page of a member listing.
    pub fn is_member_page(self) -> bool {
        matches!(
            self,
            RequestKind::MemberUsers
                | RequestKind::TransitiveMemberUsers
                | RequestKind::MemberGroups
                | RequestKind::OtherMembers
        )
    }

    /// Whether this resolves a group by id or by name.
    pub fn is_resolution(self) -> bool {
        matches!(self, RequestKind::GroupById | RequestKind::GroupByName)
    }
}

/// A fault to answer a request with instead of (or on top of) the real response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 429 with Graph's throttling body and this `Retry-After` (none when `None`).
    Throttle {
        /// The header's value: seconds (`"0.01"`) or an HTTP date.
        retry_after: Option<String>,
    },
    /// 503 Service Unavailable.
    Unavailable,
    /// 504 Gateway Timeout.
    GatewayTimeout,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with the real body cut in half.
    Truncated,
    /// Every token issued so far stops working, and this request gets Graph's 401.
    ExpiredToken,
    /// 403 `Authorization_RequestDenied`, as Graph answers an app that lacks a permission or
    /// whose permissions were never granted admin consent.
    Forbidden,
    /// The real answer, held back this long (a client with a shorter timeout gives up first).
    Slow(Duration),
    /// 410 Gone with a `Location` to restart from: the delta state was reset (tenant
    /// maintenance), graph-api.md §6.4.
    Gone,
    /// 400 `syncStateNotFound`: an expired delta token.
    SyncStateNotFound,
    /// 404 with no Graph error body, as a proxy or a cloud without the endpoint answers.
    NotFound,
    /// 501 `NotImplemented`.
    NotImplemented,
    /// This status and body, verbatim: a broken service, or a proxy that reflects what it got
    /// (`{bearer}` in the body becomes the bearer token of the request).
    Answer {
        /// The status.
        status: u16,
        /// The body, as bytes on the wire.
        body: String,
    },
}

/// A queued fault: answers `left` requests of `aim` (any kind when `None`) once `skip` of them
/// went by unharmed.
#[derive(Debug)]
struct Queued {
    aim: Option<RequestKind>,
    fault: Fault,
    skip: usize,
    left: usize,
}

/// How few requests a read can take (SPEC §12), by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LowerBound {
    /// One app-only token.
    pub token: usize,
    /// One lookup per group reference, by id or by name.
    pub resolutions: usize,
    /// `max(1, ceil(users / 999))` per distinct group: transitive users with nesting on,
    /// direct users with it off.
    pub member_pages: usize,
    /// `max(1, ceil(direct nested groups / 999))` per distinct group, with nesting on only.
    pub nested_group_pages: usize,
}

impl LowerBound {
    /// Graph requests (token excluded).
    pub fn graph_requests(&self) -> usize {
        self.resolutions + self.member_pages + self.nested_group_pages
    }

    /// Every request, token included.
    pub fn total(&self) -> usize {
        self.token + self.graph_requests()
    }
}

/// One served request, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// What it was.
    pub kind: RequestKind,
    /// Method and path with query.
    pub request: String,
    /// The status answered.
    pub status: u16,
    /// The request's `ConsistencyLevel` header, when it had one.
    pub consistency: Option<String>,
}

#[derive(Debug)]
struct Issued {
    expires: Instant,
}

#[derive(Debug)]
struct State {
    base: String,
    directory: Directory,
    latency: Duration,
    token_lifetime: u64,
    tokens: HashMap<String, Issued>,
    issued: usize,
    users_readable: bool,
    faults: Vec<Queued>,
    throttle: Option<Throttle>,
    /// Requests the throttle has seen (token requests excepted).
    throttle_seen: u64,
    throttled: usize,
    counts: BTreeMap<RequestKind, usize>,
    served: Vec<Served>,
    delta: DeltaLog,
}

/// The running emulator. Dropping it stops the server.
pub struct GraphEmulator {
    server: MockServer,
    state: Arc<Mutex<State>>,
    seed: DirectorySnapshot,
}

impl std::fmt::Debug for GraphEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphEmulator")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl GraphEmulator {
    /// Starts an emulator on a loopback port, serving `seed`.
    pub async fn start(seed: DirectorySnapshot) -> GraphEmulator {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        let state = Arc::new(Mutex::new(State {
            base: server.uri(),
            directory: Directory::new(&seed),
            latency: Duration::ZERO,
            token_lifetime: 3599,
            tokens: HashMap::new(),
            issued: 0,
            users_readable: true,
            faults: Vec::new(),
            throttle: None,
            throttle_seen: 0,
            throttled: 0,
            counts: BTreeMap::new(),
            served: Vec::new(),
            delta: DeltaLog::default(),
        }));
        lock(&state).delta.push(generation(&seed));
        Mock::given(any())
            .respond_with(Handler {
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        GraphEmulator {
            server,
            state,
            seed,
        }
    }

    /// `http://127.0.0.1:PORT`: both the authority and the Graph URL.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Settings for `adsync_graph::GraphSource` pointing here, with the right credentials, the
    /// given concurrency and a retry policy that never backs off (Retry-After still counts).
    pub fn settings(&self, concurrency: usize) -> GraphSettings {
        GraphSettings {
            tenant: TENANT.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: Secret::new(CLIENT_SECRET),
            cloud: Cloud::Global,
            authority_url: Some(self.uri()),
            graph_url: Some(self.uri()),
            concurrency,
            retry: RetryPolicy::immediate(5),
        }
    }

    /// The snapshot the emulator was seeded with (or last given to [`Self::replace`]).
    pub fn seed(&self) -> &DirectorySnapshot {
        &self.seed
    }

    /// Serves `directory` from now on (tokens and counts are kept).
    pub fn replace(&mut self, directory: DirectorySnapshot) {
        let mut state = self.lock();
        state.directory = Directory::new(&directory);
        state.delta.push(generation(&directory));
        drop(state);
        self.seed = directory;
    }

    /// Delays every response by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// The `expires_in` of tokens issued from now on (and their real lifetime here).
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.lock().token_lifetime = seconds;
    }

    /// With `false`, users come back with only `@odata.type` and `id` (Graph's "limited
    /// information" when the app lacks User.Read.All).
    pub fn set_users_readable(&self, readable: bool) {
        self.lock().users_readable = readable;
    }

    /// Answers the next `times` requests of `kind` (any kind when `None`) with `fault`. Faults
    /// queue in the order given.
    pub fn inject(&self, kind: Option<RequestKind>, fault: Fault, times: usize) {
        self.inject_after(kind, 0, fault, times);
    }

    /// Like [`Self::inject`], but the first `skip` requests of `kind` are answered normally
    /// first: `inject_after(Some(MemberUsers), 1, ..)` aims at the page a nextLink leads to.
    pub fn inject_after(&self, kind: Option<RequestKind>, skip: usize, fault: Fault, times: usize) {
        self.lock().faults.push(Queued {
            aim: kind,
            fault,
            skip,
            left: times,
        });
    }

    /// Throttles a seeded share of requests from now on (`None`: stops).
    pub fn set_throttle(&self, throttle: Option<Throttle>) {
        self.lock().throttle = throttle;
    }

    /// Requests the [`Throttle`] answered with 429 so far.
    pub fn throttled(&self) -> usize {
        self.lock().throttled
    }

    /// Revokes every token issued so far.
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Requests served so far, by kind.
    pub fn counts(&self) -> BTreeMap<RequestKind, usize> {
        self.lock().counts.clone()
    }

    /// Requests of `kind` served so far.
    pub fn count(&self, kind: RequestKind) -> usize {
        self.lock().counts.get(&kind).copied().unwrap_or(0)
    }

    /// Every request served so far.
    pub fn total_requests(&self) -> usize {
        self.lock().counts.values().sum()
    }

    /// Every request served so far, in order.
    pub fn served(&self) -> Vec<Served> {
        self.lock().served.clone()
    }

    /// Forgets the counts and the record of served requests.
    pub fn reset_counts(&self) {
        let mut state = self.lock();
        state.counts.clear();
        state.served.clear();
    }

    /// How few requests reading `request` from the current directory can take.
    ///
    /// References that resolve to nothing (or to several groups) count their lookup only.
    pub fn lower_bound(&self, request: &SourceRequest) -> LowerBound {
        let mut state = self.lock();
        let ids = resolve(&state.directory, &request.groups);
        let mut bound = LowerBound {
            token: 1,
            resolutions: request.groups.len(),
            ..LowerBound::default()
        };
        for id in ids {
            let (users, groups) = if request.nested_groups {
                let (users, _) = state.directory.transitive(&id);
                let direct = state
                    .directory
                    .groups
                    .get(&id)
                    .map(|group| state.directory.direct(group).1)
                    .unwrap_or_default();
                (users.len(), Some(direct.len()))
            } else {
                let users = state
                    .directory
                    .groups
                    .get(&id)
                    .map(|group| state.directory.direct(group).0)
                    .unwrap_or_default();
                (users.len(), None)
            };
            bound.member_pages += pages(users);
            if let Some(groups) = groups {
                bound.nested_group_pages += pages(groups);
            }
        }
        bound
    }

    /// The snapshot a transitive reader (adsync-graph) should return for `request`: the
    /// requested groups in request order, each with its users (transitive when nesting is on)
    /// and, with nesting on, its direct nested groups; the users of those groups, by id.
    pub fn expected_snapshot(&self, request: &SourceRequest) -> DirectorySnapshot {
        let mut state = self.lock();
        let ids = resolve(&state.directory, &request.groups);
        let mut snapshot = DirectorySnapshot::default();
        let mut user_ids = std::collections::BTreeSet::new();
        for id in ids {
            let Some(group) = state.directory.groups.get(&id).cloned() else {
                continue;
            };
            let (direct_users, direct_groups) = state.directory.direct(&group);
            let (members, member_groups) = if request.nested_groups {
                (state.directory.transitive(&id).0, direct_groups)
            } else {
                (direct_users, Vec::new())
            };
            user_ids.extend(members.iter().cloned());
            snapshot.groups.push(DirectoryGroup {
                id: group.id,
                display_name: group.display_name,
                members,
                member_groups,
            });
        }
        snapshot.users = user_ids
            .iter()
            .filter_map(|id| state.directory.users.get(id).cloned())
            .collect();
        snapshot
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl GraphEmulator {
    /// Delta rounds started so far (initial requests without a token).
    pub fn delta_rounds(&self) -> usize {
        self.lock().delta.rounds()
    }
}

fn generation(seed: &DirectorySnapshot) -> Generation {
    let directory = Directory::new(seed);
    Generation {
        users: directory.users,
        groups: directory.groups,
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock leaves the state usable for the assertions that follow.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn pages(items: usize) -> usize {
    items.div_ceil(PAGE_SIZE).max(1)
}

/// Distinct group ids that `groups` name, in order; unresolvable references are dropped.
fn resolve(directory: &Directory, groups: &[GroupRef]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for group in groups {
        let id = match group {
            GroupRef::Id { id } => directory.groups.contains_key(id).then(|| id.clone()),
            GroupRef::Name(name) => {
                let matches: Vec<&DirectoryGroup> = directory
                    .groups
                    .values()
                    .filter(|g| g.display_name.eq_ignore_ascii_case(name))
                    .collect();
                let exact: Vec<&DirectoryGroup> = matches
                    .iter()
                    .copied()
                    .filter(|g| g.display_name == *name)
                    .collect();
                match (exact.as_slice(), matches.as_slice()) {
                    ([one], _) | ([], [one]) => Some(one.id.clone()),
                    _ => None,
                }
            }
        };
        if let Some(id) = id
            && seen.insert(id.clone())
        {
            ids.push(id);
        }
    }
    ids
}

struct Handler {
    state: Arc<Mutex<State>>,
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        let kind = classify(request);
        *state.counts.entry(kind).or_default() += 1;
        let latency = state.latency;
        let fault = take_fault(&mut state, kind);
        let mut held = Duration::ZERO;
        let (status, mut template) = match fault {
            Some(Fault::Throttle { retry_after }) => {
                let mut template = json_response(429, &throttled_body());
                if let Some(retry_after) = retry_after {
                    template = template.insert_header("Retry-After", retry_after.as_str());
                }
                (429, template)
            }
            Some(Fault::Unavailable) => (
                503,
                json_response(
                    503,
                    &graph_error("ServiceNotAvailable", "Service unavailable."),
                ),
            ),
            Some(Fault::GatewayTimeout) => (504, ResponseTemplate::new(504)),
            Some(Fault::Forbidden) => (
                403,
                json_response(
                    403,
                    &graph_error(
                        "Authorization_RequestDenied",
                        "Insufficient privileges to complete the operation.",
                    ),
                ),
            ),
            Some(Fault::Gone) => {
                let location = format!("{}{}?$deltatoken=", state.base, request.url.path());
                let body = graph_error("SyncStateNotFound", "The sync state was reset.");
                let template =
                    json_response(410, &body).insert_header("Location", location.as_str());
                (410, template)
            }
            Some(Fault::SyncStateNotFound) => (
                400,
                json_response(
                    400,
                    &graph_error(
                        "syncStateNotFound",
                        "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
                    ),
                ),
            ),
            Some(Fault::NotFound) => (404, ResponseTemplate::new(404)),
            Some(Fault::NotImplemented) => (
                501,
                json_response(
                    501,
                    &graph_error(
                        "NotImplemented",
                        "This operation target is not yet supported.",
                    ),
                ),
            ),
            Some(Fault::ExpiredToken) => {
                state.tokens.clear();
                (401, json_response(401, &expired_token_body()))
            }
            Some(Fault::Slow(hold)) => {
                held = hold;
                let (status, body) = serve(&mut state, kind, request);
                (status, json_response(status, &body))
            }
            Some(Fault::Answer { status, body }) => {
                // A reflecting proxy: `{bearer}` stands for the token the request carried.
                let bearer = request
                    .headers
                    .get("authorization")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.strip_prefix("Bearer "))
                    .unwrap_or_default();
                let body = body.replace("{bearer}", bearer);
                (
                    status,
                    ResponseTemplate::new(status)
                        .set_body_raw(body.into_bytes(), "application/json"),
                )
            }
            Some(fault @ (Fault::Malformed | Fault::Truncated)) => {
                let (status, body) = serve(&mut state, kind, request);
                if status == 200 {
                    let text = body.to_string();
                    let bytes = if fault == Fault::Malformed {
                        b"{\"value\": [ this is not json".to_vec()
                    } else {
                        text.as_bytes()[..text.len() / 2].to_vec()
                    };
                    (
                        200,
                        ResponseTemplate::new(200).set_body_raw(bytes, "application/json"),
                    )
                } else {
                    (status, json_response(status, &body))
                }
            }
            None => {
                let (status, body) = serve(&mut state, kind, request);
                (status, json_response(status, &body))
            }
        };
        let described = match request.url.query() {
            Some(query) => format!("{} {}?{query}", request.method, request.url.path()),
            None => format!("{} {}", request.method, request.url.path()),
        };
        state.served.push(Served {
            kind,
            request: described,
            status,
            consistency: request
                .headers
                .get("ConsistencyLevel")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        });
        let delay = latency + held;
        if !delay.is_zero() {
            template = template.set_delay(delay);
        }
        template
    }
}

fn take_fault(state: &mut State, kind: RequestKind) -> Option<Fault> {
    let position = state
        .faults
        .iter()
        .position(|queued| queued.left > 0 && queued.aim.is_none_or(|aim| aim == kind));
    let Some(position) = position else {
        return throttle(state, kind);
    };
    let entry = &mut state.faults[position];
    if entry.skip > 0 {
        entry.skip -= 1;
        return None;
    }
    entry.left -= 1;
    let fault = entry.fault.clone();
    if entry.left == 0 {
        state.faults.remove(position);
    }
    Some(fault)
}

/// The seeded throttle's verdict on this request.
fn throttle(state: &mut State, kind: RequestKind) -> Option<Fault> {
    let throttle = state.throttle.as_ref()?;
    if kind == RequestKind::Token {
        return None;
    }
    let n = state.throttle_seen;
    state.throttle_seen += 1;
    if !throttle.hits(n) {
        return None;
    }
    let retry_after = throttle.retry_after.clone();
    state.throttled += 1;
    Some(Fault::Throttle { retry_after })
}

fn json_response(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), "application/json")
}

fn query(request: &Request) -> HashMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

/// The path below `/v1.0`, split, or `None` for a path outside Graph.
fn graph_segments(request: &Request) -> Option<Vec<String>> {
    let mut segments = request.url.path_segments()?;
    if segments.next()? != "v1.0" {
        return None;
    }
    Some(segments.map(percent_decode).collect())
}

fn percent_decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn classify(request: &Request) -> RequestKind {
    if request.method == Method::POST && request.url.path().ends_with("/oauth2/v2.0/token") {
        return RequestKind::Token;
    }
    if request.method != Method::GET {
        return RequestKind::Unknown;
    }
    let Some(segments) = graph_segments(request) else {
        return RequestKind::Unknown;
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["groups"] => {
            let query = query(request);
            if query.contains_key("$search") {
                RequestKind::GroupSearch
            } else if let Some(filter) = query.get("$filter") {
                match parse_filter(filter) {
                    Some(Filter::Name(_)) => RequestKind::GroupByName,
                    Some(Filter::Prefix(_)) => RequestKind::GroupPrefix,
                    None => RequestKind::GroupList,
                }
            } else {
                RequestKind::GroupList
            }
        }
        ["users", "delta"] => RequestKind::UsersDelta,
        ["groups", "delta"] => RequestKind::GroupsDelta,
        ["groups", _] => RequestKind::GroupById,
        ["users"] => RequestKind::UserList,
        ["groups", _, "members", "microsoft.graph.user"] => RequestKind::MemberUsers,
        ["groups", _, "transitiveMembers", "microsoft.graph.user"] => {
            RequestKind::TransitiveMemberUsers
        }
        ["groups", _, "members", "microsoft.graph.group"] => RequestKind::MemberGroups,
        ["groups", _, "members" | "transitiveMembers", ..] => RequestKind::OtherMembers,
        _ => RequestKind::Unknown,
    }
}

enum Filter {
    Name(String),
    Prefix(String),
}

/// `displayName eq 'x'` or `startswith(displayName,'x')`, with `''` for a quote.
fn parse_filter(filter: &str) -> Option<Filter> {
    let filter = filter.trim();
    let literal = |text: &str| -> Option<String> {
        let inner = text.trim().strip_prefix('\'')?.strip_suffix('\'')?;
        if inner.replace("''", "").contains('\'') {
            return None;
        }
        Some(inner.replace("''", "'"))
    };
    if let Some(rest) = filter.strip_prefix("displayName") {
        let rest = rest.trim_start().strip_prefix("eq")?;
        return literal(rest).map(Filter::Name);
    }
    let lower = filter.to_ascii_lowercase();
    if lower.starts_with("startswith(") && filter.ends_with(')') {
        let inner = &filter["startswith(".len()..filter.len() - 1];
        let (property, value) = inner.split_once(',')?;
        if property.trim() != "displayName" {
            return None;
        }
        return literal(value).map(Filter::Prefix);
    }
    None
}

fn graph_error(code: &str, message: &str) -> Value {
    json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-01-01T00:00:00",
                "request-id": "00000000-0000-0000-0000-000000000000",
                "client-request-id": "00000000-0000-0000-0000-000000000000"
            }
        }
    })
}

/// graph-api.md §11.3.
fn throttled_body() -> Value {
    json!({
        "error": {
            "code": "TooManyRequests",
            "innerError": {
                "code": "429",
                "date": "2020-08-18T12:51:51",
                "message": "Please retry after",
                "request-id": "94fb3b52-452a-4535-a601-69e0a90e3aa2",
                "status": "429"
            },
            "message": "Please retry again later."
        }
    })
}

/// graph-api.md §11.10.
fn expired_token_body() -> Value {
    json!({"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{"date":"2023-02-20T05:06:48","request-id":"b04ace1e-13a0-4940-b489-f86dcca10985","client-request-id":"b04ace1e-13a0-4940-b489-f86dcca10985"}}})
}

fn token_error(error: &str, code: u64, description: &str) -> Value {
    json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: 00000000-0000-0000-0000-000000000000\r\nCorrelation ID: 00000000-0000-0000-0000-000000000000\r\nTimestamp: 2026-01-01 00:00:00Z"),
        "error_codes": [code],
        "timestamp": "2026-01-01 00:00:00Z",
        "trace_id": "00000000-0000-0000-0000-000000000000",
        "correlation_id": "00000000-0000-0000-0000-000000000000",
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}")
    })
}

/// The real response to `request`: status and JSON body.
fn serve(state: &mut State, kind: RequestKind, request: &Request) -> (u16, Value) {
    if kind == RequestKind::Token {
        return token(state, request);
    }
    if request.method != Method::GET {
        return (
            405,
            graph_error(
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            ),
        );
    }
    let Some(segments) = graph_segments(request) else {
        return (404, graph_error("NotFound", "No such endpoint."));
    };
    if let Err(refused) = authorize(state, request) {
        return refused;
    }
    let query = query(request);
    let select: Option<Vec<String>> = query
        .get("$select")
        .map(|select| select.split(',').map(|p| p.trim().to_owned()).collect());
    let eventual = request
        .headers
        .get("ConsistencyLevel")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("eventual"));
    match kind {
        RequestKind::GroupById => {
            let Some(group) = state.directory.groups.get(&segments[1]) else {
                return not_found(&segments[1]);
            };
            if let Some(bad) = unknown_property(select.as_deref(), GROUP_PROPERTIES, "group") {
                return bad;
            }
            (200, directory::group_json(group, select.as_deref(), false))
        }
        RequestKind::GroupByName
        | RequestKind::GroupPrefix
        | RequestKind::GroupSearch
        | RequestKind::GroupList => {
            if let Some(bad) = unknown_property(select.as_deref(), GROUP_PROPERTIES, "group") {
                return bad;
            }
            let matches: Box<dyn Fn(&DirectoryGroup) -> bool> = if let Some(search) =
                query.get("$search")
            {
                if !eventual {
                    return (
                        400,
                        graph_error(
                            "Request_UnsupportedQuery",
                            "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
                        ),
                    );
                }
                let Some(term) = parse_search(search) else {
                    return (
                        400,
                        graph_error("Request_UnsupportedQuery", "Unsupported Query."),
                    );
                };
                Box::new(move |group: &DirectoryGroup| search_matches(&group.display_name, &term))
            } else if let Some(filter) = query.get("$filter") {
                match parse_filter(filter) {
                    Some(Filter::Name(name)) => {
                        let name = name.to_lowercase();
                        Box::new(move |group: &DirectoryGroup| {
                            group.display_name.to_lowercase() == name
                        })
                    }
                    Some(Filter::Prefix(prefix)) => {
                        let prefix = prefix.to_lowercase();
                        Box::new(move |group: &DirectoryGroup| {
                            group.display_name.to_lowercase().starts_with(&prefix)
                        })
                    }
                    None => {
                        return (
                            400,
                            graph_error("Request_UnsupportedQuery", "Unsupported Query."),
                        );
                    }
                }
            } else {
                Box::new(|_: &DirectoryGroup| true)
            };
            let items: Vec<Value> = state
                .directory
                .groups
                .values()
                .filter(|group| matches(group))
                .map(|group| directory::group_json(group, select.as_deref(), false))
                .collect();
            page(&state.base, request, &query, eventual, items, "groups")
        }
        RequestKind::MemberUsers
        | RequestKind::TransitiveMemberUsers
        | RequestKind::MemberGroups
        | RequestKind::OtherMembers => {
            let group_id = segments[1].clone();
            if !state.directory.groups.contains_key(&group_id) {
                return not_found(&group_id);
            }
            let transitive = segments[2] == "transitiveMembers";
            let cast = match segments.get(3).map(String::as_str) {
                None => Cast::Any,
                Some("microsoft.graph.user") => Cast::User,
                Some("microsoft.graph.group") => Cast::Group,
                Some(_) => {
                    return (
                        400,
                        graph_error("Request_BadRequest", "Invalid cast segment."),
                    );
                }
            };
            if cast == Cast::User
                && let Some(bad) = unknown_property(select.as_deref(), USER_PROPERTIES, "user")
            {
                return bad;
            }
            let readable = state.users_readable;
            let items: Vec<Value> = state
                .directory
                .members(&group_id, transitive, cast)
                .into_iter()
                .map(|member| match member {
                    Listed::User(user) => {
                        directory::user_json(user, select.as_deref(), true, !readable)
                    }
                    Listed::Group(group) => directory::group_json(group, select.as_deref(), true),
                })
                .collect();
            page(
                &state.base,
                request,
                &query,
                eventual,
                items,
                "directoryObjects",
            )
        }
        RequestKind::UsersDelta | RequestKind::GroupsDelta => {
            let collection = if kind == RequestKind::UsersDelta {
                Collection::Users
            } else {
                Collection::Groups
            };
            let query: BTreeMap<String, String> = query.into_iter().collect();
            let readable = state.users_readable;
            let base = state.base.clone();
            state.delta.serve(&base, collection, &query, readable)
        }
        RequestKind::UserList => users(state, request, &query, select.as_deref(), eventual),
        RequestKind::Token | RequestKind::Unknown => (
            400,
            graph_error("Request_BadRequest", "Resource not found for the segment."),
        ),
    }
}

/// `GET /users`, filtered as `$filter` says. Graph refuses `ne`, `not` and on-premises extension
/// attributes in a filter unless the request is an advanced query (`ConsistencyLevel: eventual`
/// and `$count=true`), and so does the emulator.
fn users(
    state: &State,
    request: &Request,
    query: &HashMap<String, String>,
    select: Option<&[String]>,
    eventual: bool,
) -> (u16, Value) {
    if let Some(bad) = unknown_property(select, USER_PROPERTIES, "user") {
        return bad;
    }
    let filter = match query.get("$filter").map(|filter| odata::parse(filter)) {
        None => None,
        Some(Some(parsed)) => Some(parsed),
        Some(None) => {
            return (
                400,
                graph_error("Request_UnsupportedQuery", "Unsupported Query."),
            );
        }
    };
    let advanced = eventual && query.get("$count").is_some_and(|count| count == "true");
    if filter.as_ref().is_some_and(|f| f.advanced) && !advanced {
        return (
            400,
            graph_error(
                "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified for property of resource 'User'.",
            ),
        );
    }
    let readable = state.users_readable;
    let items: Vec<Value> = state
        .directory
        .users
        .values()
        .filter(|user| filter.as_ref().is_none_or(|f| f.condition.matches(*user)))
        .map(|user| directory::user_json(user, select, false, !readable))
        .collect();
    page(&state.base, request, query, eventual, items, "users")
}

fn not_found(id: &str) -> (u16, Value) {
    (
        404,
        graph_error(
            "Request_ResourceNotFound",
            &format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        ),
    )
}

fn unknown_property(select: Option<&[String]>, known: &[&str], kind: &str) -> Option<(u16, Value)> {
    let extension = |p: &str| {
        kind == "user" && (p == "onPremisesExtensionAttributes" || p.starts_with("extension_"))
    };
    let unknown = select?
        .iter()
        .find(|p| !known.contains(&p.as_str()) && !extension(p))?;
    Some((
        400,
        graph_error(
            "Request_BadRequest",
            &format!(
                "Could not find a property named '{unknown}' on type 'microsoft.graph.{kind}'."
            ),
        ),
    ))
}

/// `"displayName:term"` (quotes required) into the lower-cased term.
fn parse_search(search: &str) -> Option<String> {
    let inner = search.trim().strip_prefix('"')?.strip_suffix('"')?;
    let term = inner.strip_prefix("displayName:")?;
    Some(
        term.replace("\\\"", "\"")
            .replace("\\\\", "\\")
            .to_lowercase(),
    )
}

/// Graph's tokenized search, roughly: a word of the name starts with the term.
fn search_matches(display_name: &str, term: &str) -> bool {
    let name = display_name.to_lowercase();
    name.starts_with(term)
        || name
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| !word.is_empty() && word.starts_with(term))
}

/// One page of `items`, from `$skiptoken`, of `$top` items, with a nextLink keeping every other
/// query option.
fn page(
    base: &str,
    request: &Request,
    query: &HashMap<String, String>,
    eventual: bool,
    items: Vec<Value>,
    context: &str,
) -> (u16, Value) {
    let top = match query.get("$top").map(|top| top.parse::<usize>()) {
        None => DEFAULT_PAGE,
        Some(Ok(top)) if (1..=PAGE_SIZE).contains(&top) => top,
        Some(_) => {
            return (
                400,
                graph_error("Request_BadRequest", "Invalid page size specified."),
            );
        }
    };
    let offset = match query.get("$skiptoken") {
        None => 0,
        Some(token) => match skiptoken_offset(token) {
            Some(offset) => offset,
            None => {
                return (
                    400,
                    graph_error("Request_BadRequest", "Invalid skip token."),
                );
            }
        },
    };
    let total = items.len();
    let end = (offset + top).min(total);
    let value: Vec<Value> = items.into_iter().skip(offset).take(top).collect();
    let mut body = json!({
        "@odata.context": format!("{base}/v1.0/$metadata#{context}"),
        "value": value,
    });
    if offset == 0 && eventual && query.get("$count").is_some_and(|count| count == "true") {
        body["@odata.count"] = json!(total);
    }
    if end < total {
        let mut next = match Url::parse(&format!("{base}{}", request.url.path())) {
            Ok(url) => url,
            Err(_) => return (500, graph_error("InternalServerError", "Bad base url.")),
        };
        {
            let mut pairs = next.query_pairs_mut();
            for (key, value) in request.url.query_pairs() {
                if key != "$skiptoken" {
                    pairs.append_pair(&key, &value);
                }
            }
            pairs.append_pair("$skiptoken", &skiptoken(end));
        }
        body["@odata.nextLink"] = Value::String(next.to_string());
    }
    (200, body)
}

/// An opaque-looking skip token for `offset`.
fn skiptoken(offset: usize) -> String {
    format!("RFNwdAIAAQAAA{offset:x}Z")
}

fn skiptoken_offset(token: &str) -> Option<usize> {
    let hex = token.strip_prefix("RFNwdAIAAQAAA")?.strip_suffix('Z')?;
    usize::from_str_radix(hex, 16).ok()
}

fn authorize(state: &State, request: &Request) -> Result<(), (u16, Value)> {
    let token = request
        .headers
        .get("Authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match token.and_then(|token| state.tokens.get(token)) {
        Some(issued) if Instant::now() < issued.expires => Ok(()),
        _ => Err((401, expired_token_body())),
    }
}

fn token(state: &mut State, request: &Request) -> (u16, Value) {
    let tenant = request
        .url
        .path_segments()
        .and_then(|mut segments| segments.next())
        .unwrap_or_default()
        .to_owned();
    if !tenant.eq_ignore_ascii_case(TENANT) {
        return (
            400,
            token_error(
                "invalid_tenant",
                90002,
                &format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                ),
            ),
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return (
            400,
            token_error(
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            ),
        );
    }
    if field("client_id") != CLIENT_ID {
        return (
            400,
            token_error(
                "unauthorized_client",
                700016,
                &format!(
                    "Application with identifier '{}' was not found in the directory '{TENANT}'.",
                    field("client_id")
                ),
            ),
        );
    }
    if field("client_secret") != CLIENT_SECRET {
        return (
            401,
            token_error(
                "invalid_client",
                7000215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{CLIENT_ID}'."
                ),
            ),
        );
    }
    if !field("scope").ends_with("/.default") {
        return (
            400,
            token_error(
                "invalid_scope",
                70011,
                &format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope {} is not valid.",
                    field("scope")
                ),
            ),
        );
    }
    state.issued += 1;
    let access_token = format!("emulator-token-{}", state.issued);
    state.tokens.insert(
        access_token.clone(),
        Issued {
            expires: Instant::now() + Duration::from_secs(state.token_lifetime),
        },
    );
    (
        200,
        json!({
            "token_type": "Bearer",
            "expires_in": state.token_lifetime,
            "ext_expires_in": state.token_lifetime,
            "access_token": access_token
        }),
    )
}
