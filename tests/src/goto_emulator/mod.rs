//! A stateful GoTo emulator on wiremock, seeded from a [`GotoSnapshot`], written from GoTo's
//! public documentation (and, where that is silent, from the choices in `adsync_goto::api`,
//! which it shares with the client).
//!
//! It serves, on one loopback port:
//!
//! - `GET /oauth/authorize` as an already-approved consent screen: a 302 to the `redirect_uri`
//!   with a code bound to that URI and to the PKCE challenge, and the `state`;
//! - `POST /oauth/token` with HTTP Basic client id and secret: `authorization_code` (code used
//!   once, redirect URI and S256 verifier checked) and `refresh_token` (optionally rotating the
//!   refresh token); `invalid_grant` for revoked tokens, `invalid_client` for bad credentials;
//! - the Admin API below `/admin/rest/v1`: `/me`, account users (paged by `offset`/`pageSize`,
//!   filtered by `email eq "…"`), "Add Users" with the documented conflict behaviour
//!   (`allOrNothing` true: 409; false: the conflicting e-mail without a key), "Update User"
//!   (licences with a seat check, admin roles, user group), "Delete User" (served, so a test can
//!   show adsync never calls it), licences with `seats`, `userCount` and `userKeys`, user groups,
//!   role sets and their users; bearer tokens checked, expired ones refused with 401.
//!
//! Faults are queued per [`Route`] (statuses with `Retry-After`, raw bodies, held answers, before
//! or after the write is applied), optionally skipping the first requests of the route. The
//! documented rate limit (10 requests per second per API) can be enforced with 429s, and a
//! seeded [`Throttle`] answers a share of requests with 429. Every request is logged.

mod account;
mod oauth;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use adsync_core::secret::Secret;
use adsync_goto::{
    GotoSettings, GotoSnapshot, GotoTarget, MemoryTokenStore, OAuthClient, RetryPolicy,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use self::account::{Account, Answer};
use self::oauth::Tokens;
pub use self::oauth::{CLIENT_ID, CLIENT_SECRET};
pub use crate::throttle::Throttle;

/// The Admin API's path prefix.
pub const ADMIN_PREFIX: &str = "/admin/rest/v1";

/// What a request was, for counting and for aiming faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// `GET /oauth/authorize`.
    Authorize,
    /// `POST /oauth/token`.
    Token,
    /// `GET /me`.
    Me,
    /// `GET /accounts/{a}/users`.
    ListUsers,
    /// `POST /accounts/{a}/users`.
    CreateUsers,
    /// `PUT /accounts/{a}/users/{u}`.
    UpdateUser,
    /// `DELETE /accounts/{a}/users/{u}`.
    DeleteUser,
    /// `GET /accounts/{a}/licenses`.
    Licences,
    /// `GET /accounts/{a}/groups`.
    Groups,
    /// `GET /accounts/{a}/rolesets`.
    RoleSets,
    /// `GET /accounts/{a}/rolesets/{id}/users`.
    RoleSetUsers,
    /// Anything else.
    Unknown,
}

impl Route {
    fn is_admin(self) -> bool {
        !matches!(self, Route::Authorize | Route::Token)
    }
}

/// A fault answered instead of, or after, the real answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// This status (with this body and `Retry-After`), nothing applied.
    Status {
        /// The status.
        status: u16,
        /// The body (empty when `None`).
        body: Option<String>,
        /// The `Retry-After` header.
        retry_after: Option<String>,
    },
    /// A 200 with this body, nothing applied.
    Body(String),
    /// The answer held back this long, nothing applied.
    Delay(Duration),
    /// Applied, then answered with this status.
    StatusAfterApply(u16),
    /// Applied, then the answer held back this long.
    DelayAfterApply(Duration),
}

impl Fault {
    /// A 429 with a `Retry-After` of `seconds`.
    pub fn throttled(retry_after: Option<&str>) -> Fault {
        Fault::Status {
            status: 429,
            body: None,
            retry_after: retry_after.map(str::to_owned),
        }
    }

    fn after_apply(&self) -> bool {
        matches!(self, Fault::StatusAfterApply(_) | Fault::DelayAfterApply(_))
    }
}

#[derive(Debug)]
struct Queued {
    route: Option<Route>,
    skip: usize,
    fault: Fault,
    times: usize,
}

#[derive(Debug)]
struct State {
    account: Account,
    tokens: Tokens,
    faults: Vec<Queued>,
    throttle: Option<Throttle>,
    throttle_seen: u64,
    rate_limit: Option<u32>,
    windows: BTreeMap<bool, VecDeque<Instant>>,
    rejected_429: usize,
    latency: Duration,
    log: Vec<(String, String)>,
    counts: BTreeMap<Route, usize>,
}

impl State {
    fn take_fault(&mut self, route: Route) -> Option<Fault> {
        for queued in &mut self.faults {
            if queued.times == 0 || queued.route.is_some_and(|r| r != route) {
                continue;
            }
            if queued.skip > 0 {
                queued.skip -= 1;
                continue;
            }
            queued.times -= 1;
            return Some(queued.fault.clone());
        }
        self.faults.retain(|q| q.times > 0);
        self.throttle_fault()
    }

    fn throttle_fault(&mut self) -> Option<Fault> {
        let throttle = self.throttle.as_ref()?;
        let n = self.throttle_seen;
        self.throttle_seen += 1;
        throttle
            .hits(n)
            .then(|| Fault::throttled(throttle.retry_after.as_deref()))
    }

    /// Whether the documented rate limit refuses this request (per API: admin, or token).
    fn over_rate(&mut self, route: Route) -> bool {
        let Some(limit) = self.rate_limit else {
            return false;
        };
        let window = self.windows.entry(route.is_admin()).or_default();
        let now = Instant::now();
        while window
            .front()
            .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return true;
        }
        window.push_back(now);
        false
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Plain data updated under the lock; a panicking test elsewhere leaves it whole.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The route of a request, and the user or role set key in its path.
fn route_of(method: &str, path: &str) -> (Route, Option<String>) {
    if path == "/oauth/authorize" && method == "GET" {
        return (Route::Authorize, None);
    }
    if path == "/oauth/token" && method == "POST" {
        return (Route::Token, None);
    }
    let Some(rest) = path.strip_prefix(ADMIN_PREFIX) else {
        return (Route::Unknown, None);
    };
    let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["me"]) => (Route::Me, None),
        ("GET", ["accounts", _, "users"]) => (Route::ListUsers, None),
        ("POST", ["accounts", _, "users"]) => (Route::CreateUsers, None),
        ("PUT", ["accounts", _, "users", user]) => (Route::UpdateUser, Some((*user).to_owned())),
        ("DELETE", ["accounts", _, "users", user]) => (Route::DeleteUser, Some((*user).to_owned())),
        ("GET", ["accounts", _, "licenses"]) => (Route::Licences, None),
        ("GET", ["accounts", _, "groups"]) => (Route::Groups, None),
        ("GET", ["accounts", _, "rolesets"]) => (Route::RoleSets, None),
        ("GET", ["accounts", _, "rolesets", set, "users"]) => {
            (Route::RoleSetUsers, Some((*set).to_owned()))
        }
        _ => (Route::Unknown, None),
    }
}

fn account_of(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix(ADMIN_PREFIX)?
        .strip_prefix("/accounts/")?;
    rest.split('/').next()
}

fn json(status: u16, body: String) -> ResponseTemplate {
    let template = ResponseTemplate::new(status);
    if body.is_empty() {
        template
    } else {
        template.set_body_raw(body.into_bytes(), "application/json")
    }
}

/// A page of `items` as the Admin API lays it out.
fn page(items: &[String], query: &BTreeMap<String, String>) -> Answer {
    let offset: usize = query
        .get("offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let size: usize = query
        .get("pageSize")
        .and_then(|v| v.parse().ok())
        .unwrap_or(adsync_goto::api::PAGE_SIZE as usize)
        .clamp(1, adsync_goto::api::PAGE_SIZE as usize);
    let chosen: Vec<&String> = items.iter().skip(offset).take(size).collect();
    let results = chosen
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let to_index = if chosen.is_empty() {
        String::new()
    } else {
        format!(",\"toIndex\":{}", offset + chosen.len() - 1)
    };
    (
        200,
        format!(
            "{{\"results\":[{results}],\"fromIndex\":{offset}{to_index},\"total\":{}}}",
            items.len()
        ),
    )
}

fn to_strings<T: serde::Serialize>(items: &[T]) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| serde_json::to_string(item).ok())
        .collect()
}

struct Handler {
    state: Arc<Mutex<State>>,
}

impl Handler {
    fn admin(
        state: &mut State,
        route: Route,
        key: Option<&str>,
        query: &BTreeMap<String, String>,
        body: &[u8],
    ) -> Answer {
        let account = &mut state.account;
        let items = match route {
            Route::Me => return (200, me(account)),
            Route::ListUsers => {
                let email = query.get("filter").and_then(|f| parse_email_filter(f));
                account.users_json(email.as_deref()).map(|v| to_strings(&v))
            }
            Route::CreateUsers => {
                let all = query.get("allOrNothing").map(String::as_str) != Some("false");
                return account.create(body, all);
            }
            Route::UpdateUser => return account.update(key.unwrap_or_default(), body),
            Route::DeleteUser => return account.delete(key.unwrap_or_default()),
            Route::Licences => account.licences_json().map(|v| to_strings(&v)),
            Route::Groups => Ok(to_strings(&account.groups_json())),
            Route::RoleSets => Ok(to_strings(&account.role_sets_json())),
            Route::RoleSetUsers => {
                let set = key.and_then(adsync_goto::Key::new);
                match set.and_then(|s| account.role_set_users_json(&s)) {
                    Some(users) => Ok(to_strings(&users)),
                    None => return not_found(),
                }
            }
            Route::Authorize | Route::Token | Route::Unknown => return not_found(),
        };
        match items {
            Ok(items) => page(&items, query),
            Err(error) => (500, error.to_string()),
        }
    }
}

fn not_found() -> Answer {
    (
        404,
        serde_json::json!({"errorCode": "NOT_FOUND", "message": "The requested resource was not found"})
            .to_string(),
    )
}

fn me(account: &Account) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Me {
        key: &'static str,
        account_key: adsync_goto::wire::WireKey,
        email: &'static str,
        org_admin: bool,
        admin_roles: [&'static str; 1],
    }
    serde_json::to_string(&Me {
        key: "1000001",
        account_key: adsync_goto::wire::WireKey(account.key.clone()),
        email: "admin@contoso.com",
        org_admin: true,
        admin_roles: [adsync_goto::api::ROLE_FULL],
    })
    .unwrap_or_default()
}

/// `email eq "x"` -> `x`.
fn parse_email_filter(filter: &str) -> Option<String> {
    let rest = filter.trim().strip_prefix("email eq ")?;
    Some(rest.trim().trim_matches('"').to_owned())
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        let method = request.method.to_string();
        let path = request.url.path().to_owned();
        state.log.push((method.clone(), path.clone()));
        let (route, key) = route_of(&method, &path);
        *state.counts.entry(route).or_default() += 1;
        let latency = state.latency;
        if state.over_rate(route) {
            state.rejected_429 += 1;
            return json(429, String::new()).set_delay(latency);
        }
        let fault = state.take_fault(route);
        if let Some(fault) = fault.as_ref().filter(|f| !f.after_apply()) {
            return before_apply(fault, latency);
        }
        let answer = self.dispatch(&mut state, request, route, key.as_deref());
        let template = match answer {
            Dispatched::Json(status, body) => json(status, body),
            Dispatched::Redirect(location) => {
                ResponseTemplate::new(302).insert_header("Location", location.as_str())
            }
        };
        match fault {
            Some(Fault::StatusAfterApply(status)) => {
                ResponseTemplate::new(status).set_delay(latency)
            }
            Some(Fault::DelayAfterApply(hold)) => template.set_delay(hold + latency),
            _ => template.set_delay(latency),
        }
    }
}

enum Dispatched {
    Json(u16, String),
    Redirect(String),
}

impl Handler {
    fn dispatch(
        &self,
        state: &mut State,
        request: &Request,
        route: Route,
        key: Option<&str>,
    ) -> Dispatched {
        let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        match route {
            Route::Authorize => match state.tokens.authorize(&query) {
                Ok(location) => Dispatched::Redirect(location),
                Err((status, body)) => Dispatched::Json(status, body),
            },
            Route::Token => {
                let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body)
                    .into_owned()
                    .collect();
                let authorization = request
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok());
                let (status, body) = state.tokens.token(authorization, &form);
                Dispatched::Json(status, body)
            }
            Route::Unknown => {
                let (status, body) = not_found();
                Dispatched::Json(status, body)
            }
            _ => {
                let bearer = request
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                if !bearer.is_some_and(|b| state.tokens.access_valid(b)) {
                    return Dispatched::Json(
                        401,
                        serde_json::json!({"errorCode": "UNAUTHORIZED", "message": "Invalid or expired token"}).to_string(),
                    );
                }
                let path = request.url.path();
                if route != Route::Me && account_of(path) != Some(state.account.key.as_str()) {
                    let (status, body) = not_found();
                    return Dispatched::Json(status, body);
                }
                let (status, body) = Handler::admin(state, route, key, &query, &request.body);
                Dispatched::Json(status, body)
            }
        }
    }
}

fn before_apply(fault: &Fault, latency: Duration) -> ResponseTemplate {
    match fault {
        Fault::Status {
            status,
            body,
            retry_after,
        } => {
            let mut template = json(*status, body.clone().unwrap_or_default());
            if let Some(after) = retry_after {
                template = template.insert_header("Retry-After", after.as_str());
            }
            template.set_delay(latency)
        }
        Fault::Body(body) => json(200, body.clone()).set_delay(latency),
        Fault::Delay(hold) => json(500, String::new()).set_delay(*hold + latency),
        Fault::StatusAfterApply(_) | Fault::DelayAfterApply(_) => {
            ResponseTemplate::new(500).set_delay(latency)
        }
    }
}

/// The running emulator. Dropping it stops the server.
pub struct GotoEmulator {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for GotoEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GotoEmulator")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl GotoEmulator {
    /// Starts an emulator on a loopback port holding `seed`. Licences' `user_count` is
    /// recomputed from the users that hold them.
    pub async fn start(seed: &GotoSnapshot) -> GotoEmulator {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        let state = Arc::new(Mutex::new(State {
            account: Account::new(seed),
            tokens: Tokens::default(),
            faults: Vec::new(),
            throttle: None,
            throttle_seen: 0,
            rate_limit: None,
            windows: BTreeMap::new(),
            rejected_429: 0,
            latency: Duration::ZERO,
            log: Vec::new(),
            counts: BTreeMap::new(),
        }));
        Mock::given(any())
            .respond_with(Handler {
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        GotoEmulator { server, state }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The Admin API base.
    pub fn admin_url(&self) -> String {
        format!("{}{ADMIN_PREFIX}", self.uri())
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.uri())
    }

    /// The authorization endpoint.
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth/authorize", self.uri())
    }

    /// The OAuth client the emulator accepts.
    pub fn oauth_client(&self) -> OAuthClient {
        OAuthClient {
            client_id: CLIENT_ID.to_owned(),
            client_secret: Secret::new(CLIENT_SECRET),
            token_url: self.token_url(),
        }
    }

    /// A refresh token the emulator accepts (what `adsync goto login` would have stored).
    pub fn grant_refresh_token(&self) -> String {
        lock(&self.state).tokens.grant_refresh()
    }

    /// Settings for a target using `store`: fast rate, immediate retries, 2 s timeouts.
    pub fn settings(&self, store: Arc<dyn adsync_goto::RefreshTokenStore>) -> GotoSettings {
        GotoSettings {
            admin_url: self.admin_url(),
            client: self.oauth_client(),
            store,
            account_key: None,
            suppress_email: false,
            rate_per_second: 1000,
            concurrency: 4,
            retry: RetryPolicy {
                timeout: Duration::from_secs(2),
                ..RetryPolicy::immediate(4)
            },
        }
    }

    /// A target signed in with a fresh refresh token held in memory, and that store.
    pub fn target(&self) -> (GotoTarget, Arc<MemoryTokenStore>) {
        let store = Arc::new(MemoryTokenStore::new(Secret::new(
            self.grant_refresh_token(),
        )));
        let target = GotoTarget::new(self.settings(Arc::clone(&store) as _))
            .unwrap_or_else(|error| panic!("the emulator's settings are valid: {error}"));
        (target, store)
    }

    /// The account now.
    pub fn snapshot(&self) -> GotoSnapshot {
        lock(&self.state).account.snapshot()
    }

    /// E-mails that belong to users of other GoTo accounts ("existing accounts").
    pub fn set_foreign_emails(&self, emails: &[&str]) {
        lock(&self.state).account.foreign = emails.iter().map(|e| e.to_lowercase()).collect();
    }

    /// E-mails that got a welcome e-mail (creates without `suppressEmail`).
    pub fn welcome_emails(&self) -> Vec<String> {
        lock(&self.state).account.welcome_emails.clone()
    }

    /// Rotate the refresh token on every refresh.
    pub fn set_rotation(&self, rotate: bool) {
        lock(&self.state).tokens.rotate = rotate;
    }

    /// Access tokens issued from now on last this long.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.state).tokens.lifetime = Some(lifetime);
    }

    /// Revokes every refresh token.
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.state).tokens.revoke_refresh();
    }

    /// Expires every access token issued so far.
    pub fn expire_access_tokens(&self) {
        lock(&self.state).tokens.expire_access();
    }

    /// Refresh grants served.
    pub fn refreshes(&self) -> usize {
        lock(&self.state).tokens.refreshes
    }

    /// Enforces GoTo's documented rate limit (`Some(10)`): more requests than that within one
    /// second to one API get 429.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        lock(&self.state).rate_limit = per_second;
    }

    /// Requests refused by the rate limit so far.
    pub fn rate_limited(&self) -> usize {
        lock(&self.state).rejected_429
    }

    /// Throttles a seeded share of requests (`None`: stops).
    pub fn set_throttle(&self, throttle: Option<Throttle>) {
        lock(&self.state).throttle = throttle;
    }

    /// Delays every answer.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// Answers the next `times` requests of `route` (any when `None`) with `fault`.
    pub fn inject(&self, route: Option<Route>, fault: Fault, times: usize) {
        self.inject_after(route, 0, fault, times);
    }

    /// Like [`Self::inject`], after letting `skip` requests of the route through.
    pub fn inject_after(&self, route: Option<Route>, skip: usize, fault: Fault, times: usize) {
        lock(&self.state).faults.push(Queued {
            route,
            skip,
            fault,
            times,
        });
    }

    /// Every request so far: method and path.
    pub fn requests(&self) -> Vec<(String, String)> {
        lock(&self.state).log.clone()
    }

    /// Requests of `route` so far.
    pub fn count(&self, route: Route) -> usize {
        lock(&self.state).counts.get(&route).copied().unwrap_or(0)
    }
}
