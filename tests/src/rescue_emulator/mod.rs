//! A stateful LogMeIn Rescue emulator on wiremock, seeded from a Rescue snapshot.
//!
//! It serves `POST /API/<method>.aspx` (and GET with a query string) for every method adsync
//! calls: `requestAuthCode`, `getAccount`, `getHierarchy_v2`, `getUser_v3`, `createUser`,
//! `setUser_v2`, `moveNode`, `deleteNode`, `createGroup`, `setGroup`, spelled as in
//! `adsync_rescue::api`, answering in the wire layout (status line, blank line, `Key:Value`
//! lines). Unknown methods get HTTP 404, as from IIS.
//!
//! It enforces the documented rules: technicians only under technician groups and the role of
//! a new user following its parent (`INVALIDPARAM_PARENT`); what may move where
//! (`INVALID_MOVE`); one node per e-mail in each plane, so a person may hold one technician
//! node and one administrator node (`INVALIDPARAM_EMAIL_ALREADY_IN_USE`); the required
//! `setUser` fields (`INVALIDPARAM_NAME`, `_EMAIL`, `_STATUS`, `_MOBILEADDON`, `_RPATADDON`) and
//! that it replaces every field; a finite pool of mobile licences; authcodes (the API token, or
//! the latest `requestAuthCode` result, which supersedes the previous one; `LIMITREACHED` after
//! 10 sign-ins in 3 minutes).
//!
//! Faults are queued per method: `ERROR` before or after the write is applied, timeouts (the
//! answer held back, before or after applying), `NOTLOGGEDIN` ending the session, HTTP statuses,
//! raw bodies (instead of applying, or after it). Latency applies to every answer. A seeded
//! [`Throttle`] answers a fixed share of requests with HTTP 429, reproducibly, for load runs.
//! Every request is counted by method, and the state can be exported as a snapshot at any time.

mod org;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use adsync_core::adapter::DetailRequest;
use adsync_core::model::{NodeId, RescueSnapshot};
use adsync_core::secret::Secret;
use adsync_rescue::api::{code, method, param};
use adsync_rescue::{RescueCredentials, RescueSettings, RescueTarget, RetryPolicy};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use self::org::{Form, Org};
pub use crate::throttle::Throttle;

/// The API methods that change the organization.
pub const WRITE_METHODS: [&str; 6] = [
    method::CREATE_USER,
    method::SET_USER,
    method::MOVE_NODE,
    method::DELETE_NODE,
    method::CREATE_GROUP,
    method::SET_GROUP,
];

/// The API token the emulator accepts.
pub const API_TOKEN: &str = "emulator-rescue-api-token";
/// The account e-mail `requestAuthCode` accepts.
pub const ACCOUNT_EMAIL: &str = "owner@contoso.com";
/// The account password `requestAuthCode` accepts.
pub const ACCOUNT_PASSWORD: &str = "emulator-account-password";
/// The default password the emulator's settings give new users.
pub const DEFAULT_PASSWORD: &str = "Welcome-to-Rescue-1";
/// Sign-ins allowed in [`SIGN_IN_WINDOW`] before `LIMITREACHED`.
pub const SIGN_IN_LIMIT: usize = 10;
/// The window of [`SIGN_IN_LIMIT`].
pub const SIGN_IN_WINDOW: Duration = Duration::from_secs(180);

/// A fault to answer a request with instead of, or after, the real answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `ERROR`, nothing applied.
    Error,
    /// The request is applied, then answered `ERROR`.
    ErrorAfterApply,
    /// The answer is held back this long, nothing applied (a client with a shorter timeout
    /// gives up).
    Timeout(Duration),
    /// The request is applied, then its answer held back this long.
    TimeoutAfterApply(Duration),
    /// `NOTLOGGEDIN`, nothing applied, and every authcode issued so far stops working (the API
    /// token keeps working).
    NotLoggedIn,
    /// This HTTP status (with a `Retry-After` when given), nothing applied.
    Http {
        /// The status.
        status: u16,
        /// The `Retry-After` value.
        retry_after: Option<String>,
    },
    /// A 200 with this body, nothing applied.
    Body(String),
    /// The request is applied, then answered with this body (a malformed or lying answer).
    BodyAfterApply(String),
}

impl Fault {
    fn after_apply(&self) -> bool {
        matches!(
            self,
            Fault::ErrorAfterApply | Fault::TimeoutAfterApply(_) | Fault::BodyAfterApply(_)
        )
    }
}

#[derive(Debug)]
struct State {
    org: Org,
    latency: Duration,
    crlf: bool,
    faults: VecDeque<(Option<String>, Fault, usize)>,
    throttle: Option<Throttle>,
    /// Requests the throttle has seen.
    throttle_seen: u64,
    throttled: usize,
    counts: BTreeMap<String, usize>,
    authcode: Option<String>,
    authcodes_issued: usize,
    sign_ins: VecDeque<Instant>,
}

impl State {
    fn take_fault(&mut self, method: &str) -> Option<Fault> {
        let at = self.faults.iter().position(|(target, _, times)| {
            *times > 0
                && target
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        });
        let Some(at) = at else {
            return self.throttle();
        };
        let entry = self.faults.get_mut(at)?;
        entry.2 -= 1;
        let fault = entry.1.clone();
        if entry.2 == 0 {
            self.faults.remove(at);
        }
        Some(fault)
    }

    /// The seeded throttle's verdict on this request: a 429, nothing applied.
    fn throttle(&mut self) -> Option<Fault> {
        let throttle = self.throttle.as_ref()?;
        let n = self.throttle_seen;
        self.throttle_seen += 1;
        if !throttle.hits(n) {
            return None;
        }
        let retry_after = throttle.retry_after.clone();
        self.throttled += 1;
        Some(Fault::Http {
            status: 429,
            retry_after,
        })
    }

    /// `None` when the call may go on, or the code refusing it.
    fn check_authcode(&self, form: &BTreeMap<String, String>) -> Option<&'static str> {
        match form.get(param::AUTHCODE).map(String::as_str) {
            None | Some("") => Some(code::NOT_LOGGED_IN),
            Some(API_TOKEN) => None,
            Some(given) if self.authcode.as_deref() == Some(given) => None,
            Some(_) => Some(code::INVALID_SECRET_AUTHCODE),
        }
    }

    fn request_authcode(&mut self, form: &BTreeMap<String, String>) -> String {
        let now = Instant::now();
        while self
            .sign_ins
            .front()
            .is_some_and(|at| now.duration_since(*at) > SIGN_IN_WINDOW)
        {
            self.sign_ins.pop_front();
        }
        if self.sign_ins.len() >= SIGN_IN_LIMIT {
            return code::LIMIT_REACHED.to_owned();
        }
        self.sign_ins.push_back(now);
        let email_ok = form
            .get(param::EMAIL)
            .is_some_and(|e| e.trim().eq_ignore_ascii_case(ACCOUNT_EMAIL));
        let password_ok = form.get(param::PASSWORD).map(String::as_str) == Some(ACCOUNT_PASSWORD);
        if !(email_ok && password_ok) {
            return code::INVALID.to_owned();
        }
        self.authcodes_issued += 1;
        let authcode = format!(
            "emulator-authcode-{}-{}",
            self.authcodes_issued,
            fastrand::u64(..)
        );
        self.authcode = Some(authcode.clone());
        format!("OK AUTHCODE: {authcode}")
    }

    /// The answer to `method`, applying it.
    fn dispatch(&mut self, method_name: &str, form: &BTreeMap<String, String>) -> Option<String> {
        if method_name.eq_ignore_ascii_case(method::REQUEST_AUTH_CODE) {
            return Some(self.request_authcode(form));
        }
        let reads = [method::GET_ACCOUNT, method::GET_HIERARCHY, method::GET_USER];
        let name = reads
            .iter()
            .chain(&WRITE_METHODS)
            .find(|known| known.eq_ignore_ascii_case(method_name))?;
        if let Some(refusal) = self.check_authcode(form) {
            return Some(refusal.to_owned());
        }
        let form = Form(form);
        let org = &mut self.org;
        Some(match *name {
            method::GET_ACCOUNT => org.get_account(),
            method::GET_HIERARCHY => org.get_hierarchy(&form),
            method::GET_USER => org.get_user(&form),
            method::CREATE_USER => org.create_user(&form),
            method::SET_USER => org.set_user(&form),
            method::MOVE_NODE => org.move_node(&form),
            method::DELETE_NODE => org.delete_node(&form),
            method::CREATE_GROUP => org.create_group(&form),
            _ => org.set_group(&form),
        })
    }

    fn line_endings(&self, body: String) -> String {
        if self.crlf {
            body.replace('\n', "\r\n")
        } else {
            body
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state is plain data updated under the lock; a panicking test elsewhere leaves it whole.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The method a path names (`/API/getUser_v3.aspx` -> `getUser_v3`).
fn method_of(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/API/")
        .or_else(|| path.strip_prefix("/api/"))?;
    let name = rest.strip_suffix(".aspx")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

struct Handler {
    state: Arc<Mutex<State>>,
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        let latency = state.latency;
        let Some(method_name) = method_of(request.url.path()) else {
            *state.counts.entry("(unknown)".to_owned()).or_default() += 1;
            return ResponseTemplate::new(404).set_delay(latency);
        };
        *state.counts.entry(method_name.to_owned()).or_default() += 1;
        let mut form: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        form.extend(url::form_urlencoded::parse(&request.body).into_owned());

        let fault = state.take_fault(method_name);
        if let Some(fault) = fault.as_ref().filter(|f| !f.after_apply()) {
            let template = match fault {
                Fault::Error => ResponseTemplate::new(200).set_body_string(code::ERROR),
                Fault::Timeout(hold) => ResponseTemplate::new(200)
                    .set_body_string(code::ERROR)
                    .set_delay(*hold + latency),
                Fault::NotLoggedIn => {
                    state.authcode = None;
                    ResponseTemplate::new(200).set_body_string(code::NOT_LOGGED_IN)
                }
                Fault::Http {
                    status,
                    retry_after,
                } => {
                    let template = ResponseTemplate::new(*status);
                    match retry_after {
                        Some(after) => template.insert_header("Retry-After", after.as_str()),
                        None => template,
                    }
                }
                Fault::Body(body) => ResponseTemplate::new(200).set_body_string(body.clone()),
                Fault::ErrorAfterApply | Fault::TimeoutAfterApply(_) | Fault::BodyAfterApply(_) => {
                    ResponseTemplate::new(200)
                }
            };
            return match fault {
                Fault::Timeout(_) => template,
                _ => template.set_delay(latency),
            };
        }

        let Some(answer) = state.dispatch(method_name, &form) else {
            return ResponseTemplate::new(404).set_delay(latency);
        };
        let body = state.line_endings(answer);
        match fault {
            Some(Fault::ErrorAfterApply) => ResponseTemplate::new(200)
                .set_body_string(code::ERROR)
                .set_delay(latency),
            Some(Fault::TimeoutAfterApply(hold)) => ResponseTemplate::new(200)
                .set_body_string(body)
                .set_delay(hold + latency),
            Some(Fault::BodyAfterApply(instead)) => ResponseTemplate::new(200)
                .set_body_string(instead)
                .set_delay(latency),
            _ => ResponseTemplate::new(200)
                .set_body_string(body)
                .set_delay(latency),
        }
    }
}

/// The running emulator. Dropping it stops the server.
pub struct RescueEmulator {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for RescueEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RescueEmulator")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl RescueEmulator {
    /// Starts an emulator on a loopback port holding `seed`. User fields the seed leaves out
    /// are empty, add-ons off, status enabled; mobile licences are unlimited.
    pub async fn start(seed: &RescueSnapshot) -> RescueEmulator {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        let state = Arc::new(Mutex::new(State {
            org: Org::new(seed),
            latency: Duration::ZERO,
            crlf: false,
            faults: VecDeque::new(),
            throttle: None,
            throttle_seen: 0,
            throttled: 0,
            counts: BTreeMap::new(),
            authcode: None,
            authcodes_issued: 0,
            sign_ins: VecDeque::new(),
        }));
        Mock::given(any())
            .respond_with(Handler {
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        RescueEmulator { server, state }
    }

    /// `http://127.0.0.1:PORT`, the base URL.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Settings for `adsync_rescue::RescueTarget` signing in with the API token, giving new
    /// users [`DEFAULT_PASSWORD`], with `concurrency` and retries that never back off (and a 2 s
    /// request timeout, so timeout faults of a few seconds are timeouts).
    pub fn settings(&self, concurrency: usize) -> RescueSettings {
        RescueSettings {
            base_url: self.uri(),
            auth: RescueCredentials::Token(Secret::new(API_TOKEN)),
            default_password: Some(Secret::new(DEFAULT_PASSWORD)),
            concurrency,
            retry: RetryPolicy {
                request_timeout: Duration::from_secs(2),
                ..RetryPolicy::immediate()
            },
        }
    }

    /// [`Self::settings`] signing in with e-mail and password instead.
    pub fn password_settings(&self, concurrency: usize) -> RescueSettings {
        RescueSettings {
            auth: RescueCredentials::Password {
                email: ACCOUNT_EMAIL.to_owned(),
                password: Secret::new(ACCOUNT_PASSWORD),
            },
            ..self.settings(concurrency)
        }
    }

    /// A target with [`Self::settings`].
    pub fn target(&self, concurrency: usize) -> RescueTarget {
        // The emulator's URL is loopback http, which the target accepts.
        RescueTarget::new(self.settings(concurrency))
            .unwrap_or_else(|error| panic!("the emulator's settings are valid: {error}"))
    }

    /// The organization now, every user detail filled in, in node-id order.
    pub fn snapshot(&self) -> RescueSnapshot {
        lock(&self.state).org.snapshot()
    }

    /// The password last set on `node` (new users get the default password).
    pub fn password_of(&self, node: NodeId) -> Option<String> {
        lock(&self.state)
            .org
            .nodes
            .get(&node.0)
            .and_then(|n| n.password.clone())
    }

    /// Delays every answer by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// Mobile licences in all, used or free (`None`: unlimited). Turning the add-on on when all
    /// are used is refused with `api::code::MOBILE_LICENCE_REFUSED`.
    pub fn set_mobile_licences(&self, total: Option<usize>) {
        lock(&self.state).org.mobile_licences = total;
    }

    /// Mobile licences in use.
    pub fn mobile_licences_in_use(&self) -> usize {
        lock(&self.state).org.mobile_in_use()
    }

    /// Answers with CRLF line endings instead of LF.
    pub fn set_crlf(&self, crlf: bool) {
        lock(&self.state).crlf = crlf;
    }

    /// Answers the next `times` requests of `method` (any method when `None`) with `fault`.
    /// Faults queue in the order given.
    pub fn inject(&self, method: Option<&str>, fault: Fault, times: usize) {
        lock(&self.state)
            .faults
            .push_back((method.map(str::to_owned), fault, times));
    }

    /// Throttles a seeded share of requests from now on (`None`: stops): HTTP 429, nothing
    /// applied.
    pub fn set_throttle(&self, throttle: Option<Throttle>) {
        lock(&self.state).throttle = throttle;
    }

    /// Requests the [`Throttle`] answered with 429 so far.
    pub fn throttled(&self) -> usize {
        lock(&self.state).throttled
    }

    /// Ends the password session: the authcodes issued so far stop working.
    pub fn expire_authcodes(&self) {
        lock(&self.state).authcode = None;
    }

    /// Authcodes `requestAuthCode` has issued.
    pub fn authcodes_issued(&self) -> usize {
        lock(&self.state).authcodes_issued
    }

    /// Requests so far, by method name (`(unknown)` for other paths).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        lock(&self.state).counts.clone()
    }

    /// Requests of `method` so far.
    pub fn count(&self, method: &str) -> usize {
        lock(&self.state).counts.get(method).copied().unwrap_or(0)
    }

    /// Requests so far that change the organization (any of [`WRITE_METHODS`]).
    pub fn writes(&self) -> usize {
        let state = lock(&self.state);
        WRITE_METHODS
            .iter()
            .map(|method| state.counts.get(*method).copied().unwrap_or(0))
            .sum()
    }

    /// Every request so far.
    pub fn total_requests(&self) -> usize {
        lock(&self.state).counts.values().sum()
    }

    /// Forgets the counts.
    pub fn reset_counts(&self) {
        lock(&self.state).counts.clear();
    }

    /// How few requests a read with `details` takes (SPEC §12): one hierarchy read, plus one
    /// detail read per user in scope when any detail is needed. Sign-in not included.
    pub fn read_lower_bound(&self, details: &DetailRequest) -> usize {
        let detail_reads = if details.any() {
            details.scope.users_in(&self.snapshot()).len()
        } else {
            0
        };
        1 + detail_reads
    }

    /// Changes a user node as an administrator would in the Rescue console: `edit` gets the
    /// node as it is, and `setUser_v2` sends every field back (counted like any request).
    /// Returns the answer's body.
    pub fn edit_user_by_hand(
        &self,
        node: NodeId,
        edit: impl FnOnce(&mut adsync_core::model::RescueNode),
    ) -> String {
        let Some(mut found) = self.snapshot().nodes.into_iter().find(|n| n.id == node) else {
            return "INVALIDPARAM_NODE".to_owned();
        };
        edit(&mut found);
        let flag = |on: Option<bool>| if on == Some(true) { "True" } else { "False" };
        let status = match found.status {
            Some(adsync_core::model::Status::Disabled) => "Disabled",
            _ => "Enabled",
        };
        let node_text = node.0.to_string();
        self.call(
            "setUser_v2",
            &[
                ("authcode", API_TOKEN),
                ("node", &node_text),
                ("name", &found.name),
                ("nick", found.nick.as_deref().unwrap_or("")),
                ("email", found.email.as_deref().unwrap_or("")),
                ("ssoid", found.ssoid.as_deref().unwrap_or("")),
                ("description", found.description.as_deref().unwrap_or("")),
                ("status", status),
                ("mobileaddon", flag(found.mobile)),
                ("rpataddon", flag(found.rpat)),
            ],
        )
    }

    /// Calls `method` with `params` directly, as a request would (counted, faults and rules
    /// applied, latency ignored), and returns the answer's body. For tests of the rules
    /// themselves.
    pub fn call(&self, method: &str, params: &[(&str, &str)]) -> String {
        let form: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut state = lock(&self.state);
        *state.counts.entry(method.to_owned()).or_default() += 1;
        state
            .dispatch(method, &form)
            .unwrap_or_else(|| "(404)".to_owned())
    }
}
