//! One Rescue API call: the form POST, the authcode, the classification of what came back, and
//! the retry loop with its check of ambiguous writes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use adsync_core::secret::Secret;
use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::api::{method, param};
use crate::error::{AuthMode, Error};
use crate::wire::{self, Code, WireError};

/// How failed calls are retried: HTTP 429 and 5xx, timeouts, broken connections and Rescue's
/// `ERROR`. Exponential backoff with jitter, bounded in attempts and in total time; `Retry-After`
/// is honoured (a wait beyond the time budget ends the retries at once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts (before `Retry-After`).
    pub max_backoff: Duration,
    /// The total time one call may take, retries and waits included.
    pub max_elapsed: Duration,
    /// How long one request may take before it counts as timed out.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(180),
            // A whole-tree read of a large organization is one long answer.
            request_timeout: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Retries without waiting (tests, emulators).
    pub fn immediate() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            max_elapsed: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        }
    }

    /// The wait before retry number `retry` (1 for the first retry): exponential, with jitter in
    /// its upper half, never shorter than `retry_after`.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let half = base / 2;
        let jitter = Duration::from_nanos(fastrand::u64(
            0..=u64::try_from(half.as_nanos()).unwrap_or(u64::MAX),
        ));
        let wait = half + jitter;
        retry_after.map_or(wait, |after| wait.max(after))
    }
}

/// Form parameters. `Debug` shows the names only: some values are passwords.
#[derive(Clone, Default)]
pub(crate) struct Params(Vec<(&'static str, String)>);

impl Params {
    pub(crate) fn new() -> Params {
        Params::default()
    }

    pub(crate) fn with(mut self, name: &'static str, value: impl Into<String>) -> Params {
        self.0.push((name, value.into()));
        self
    }

    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(name, value)| (*name, value.as_str()))
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Checks whether an ambiguous write was applied: `Some(result)` when it was, `None` when it
/// was not and may be sent again.
#[async_trait]
pub(crate) trait Verify<T>: Send + Sync {
    async fn applied(&self, client: &Client) -> Result<Option<T>, Error>;
}

/// How adsync signs in.
enum Auth {
    Token(Secret),
    Password {
        email: String,
        password: Secret,
        state: Mutex<AuthState>,
    },
}

#[derive(Default)]
struct AuthState {
    authcode: Option<Secret>,
    /// Bumped each time a new authcode is requested.
    generation: u64,
    /// Re-authentications so far (at most one per client).
    renewals: u32,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Token([REDACTED])"),
            Auth::Password { email, .. } => f
                .debug_struct("Password")
                .field("email", email)
                .field("password", &"[REDACTED]")
                .finish_non_exhaustive(),
        }
    }
}

/// What one HTTP exchange came to.
enum Outcome {
    /// Rescue answered; the code and the data after it.
    Answer(Code, String),
    /// Not applied (refused before processing); may be sent again.
    NotSent(Error, Option<Duration>),
    /// May have been applied.
    Ambiguous(Error, Option<Duration>),
    /// Not worth retrying.
    Fatal(Error),
}

/// The Rescue API client.
#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    retry: RetryPolicy,
    /// Every secret value in play besides the credentials (the default password, authcodes
    /// issued during the run): what an unknown code must not quote.
    secrets: std::sync::Mutex<Vec<Secret>>,
    /// Told about every exchange (the service page's request metrics).
    pub(crate) observer: Option<std::sync::Arc<dyn adsync_core::adapter::RequestObserver>>,
}

/// The base URL without a trailing `/` or `/API`, refusing plain http except for loopback.
pub(crate) fn normalise_base_url(raw: &str) -> Result<String, Error> {
    let parsed = url::Url::parse(raw.trim()).map_err(|source| Error::BaseUrl {
        url: raw.to_owned(),
        source,
    })?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let allowed = match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" => loopback,
        _ => false,
    };
    if !allowed {
        return Err(Error::InsecureBaseUrl {
            url: raw.to_owned(),
        });
    }
    let mut base = parsed.as_str().trim_end_matches('/').to_owned();
    let api_suffix = base.len().checked_sub(4).filter(|&at| {
        base.get(at..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case("/api"))
    });
    if let Some(at) = api_suffix {
        base.truncate(at);
    }
    Ok(base)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = raw.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::try_from_secs_f64(seconds).ok())
            .flatten();
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

impl Client {
    /// A client for `base_url`; `secrets` are further values no error may quote (the default
    /// password), beside the credentials and the authcodes it is given.
    pub(crate) fn new(
        base_url: &str,
        credentials: &crate::RescueCredentials,
        retry: RetryPolicy,
        secrets: Vec<Secret>,
    ) -> Result<Client, Error> {
        let base = normalise_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .timeout(retry.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("adsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::HttpClient)?;
        let mut secrets = secrets;
        let auth = match credentials {
            crate::RescueCredentials::Token(token) => {
                secrets.push(token.clone());
                Auth::Token(token.clone())
            }
            crate::RescueCredentials::Password { email, password } => {
                secrets.push(password.clone());
                Auth::Password {
                    email: email.clone(),
                    password: password.clone(),
                    state: Mutex::new(AuthState::default()),
                }
            }
        };
        Ok(Client {
            http,
            base,
            auth,
            retry: RetryPolicy {
                max_attempts: retry.max_attempts.max(1),
                ..retry
            },
            secrets: std::sync::Mutex::new(secrets),
            observer: None,
        })
    }

    fn remember_secret(&self, secret: &Secret) {
        self.secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(secret.clone());
    }

    /// `code` as an error may quote it: an unknown code that mentions a secret in play is not
    /// shown, and no unknown code of `requestAuthCode` is (its answer carries a fresh authcode
    /// no list holds yet).
    fn screen(&self, method: &'static str, code: Code) -> Code {
        if method == method::REQUEST_AUTH_CODE && matches!(code, Code::Other(_)) {
            return Code::Other(wire::UNSHOWN_CODE.to_owned());
        }
        let secrets = self
            .secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        code.screened(secrets.iter().map(Secret::expose))
    }

    fn mode(&self) -> AuthMode {
        match self.auth {
            Auth::Token(_) => AuthMode::Token,
            Auth::Password { .. } => AuthMode::Password,
        }
    }

    /// The authcode to send and its generation; requests one on first use in password mode.
    async fn authcode(&self) -> Result<(Secret, u64), Error> {
        match &self.auth {
            Auth::Token(token) => Ok((token.clone(), 0)),
            Auth::Password {
                email,
                password,
                state,
            } => {
                let mut state = state.lock().await;
                if let Some(code) = &state.authcode {
                    return Ok((code.clone(), state.generation));
                }
                let code = self.request_authcode(email, password).await?;
                self.remember_secret(&code);
                state.authcode = Some(code.clone());
                state.generation += 1;
                Ok((code, state.generation))
            }
        }
    }

    /// After `NOTLOGGEDIN`/`INVALID_SECRETAUTHCODE` with the authcode of `generation`: whether
    /// to try again (another call renewed it meanwhile, or this one did).
    async fn renew(&self, method: &'static str, code: Code, generation: u64) -> Result<(), Error> {
        let rejected = || Error::AuthRejected {
            method,
            code: code.clone(),
            mode: self.mode(),
        };
        let Auth::Password {
            email,
            password,
            state,
        } = &self.auth
        else {
            return Err(rejected());
        };
        let mut state = state.lock().await;
        if state.generation != generation {
            return Ok(());
        }
        if state.renewals >= 1 {
            return Err(rejected());
        }
        state.renewals += 1;
        tracing::info!(method, "rescue refused the authcode; signing in again once");
        let fresh = self.request_authcode(email, password).await?;
        self.remember_secret(&fresh);
        state.authcode = Some(fresh);
        state.generation += 1;
        Ok(())
    }

    /// `requestAuthCode`, never retried on `LIMITREACHED`. Boxed: signed calls reach it through
    /// [`Client::authcode`], and it is itself a (unsigned) call.
    fn request_authcode<'a>(
        &'a self,
        email: &'a str,
        password: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<Secret, Error>> + Send + 'a>> {
        Box::pin(async move {
            let params = Params::new()
                .with(param::EMAIL, email)
                .with(param::PASSWORD, password.expose());
            let result = self
                .call_as(
                    method::REQUEST_AUTH_CODE,
                    &params,
                    false,
                    &|data: &str| wire::parse_authcode(data).map(Secret::new),
                    None,
                )
                .await;
            match result {
                Err(Error::Code {
                    code: Code::Invalid,
                    ..
                }) => Err(Error::CredentialsRefused),
                Err(Error::Code {
                    code: Code::LimitReached,
                    ..
                }) => Err(Error::AuthLimitReached),
                other => other,
            }
        })
    }

    /// One signed-in call with retries; `verify` checks an ambiguous write before it is sent
    /// again (without it, the call is treated as a read and simply repeated).
    pub(crate) async fn call<T: Send>(
        &self,
        method: &'static str,
        params: &Params,
        parse: &(dyn Fn(&str) -> Result<T, WireError> + Sync),
        verify: Option<&dyn Verify<T>>,
    ) -> Result<T, Error> {
        self.call_as(method, params, true, parse, verify).await
    }

    async fn call_as<T: Send>(
        &self,
        method: &'static str,
        params: &Params,
        signed: bool,
        parse: &(dyn Fn(&str) -> Result<T, WireError> + Sync),
        verify: Option<&dyn Verify<T>>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let mut attempts = 0_u32;
        loop {
            attempts += 1;
            let (authcode, generation) = if signed {
                let (code, generation) = self.authcode().await?;
                (Some(code), generation)
            } else {
                (None, 0)
            };
            let (failure, wait_hint, ambiguous) =
                match self.send(method, params, authcode.as_ref()).await {
                    Outcome::Answer(Code::Ok, data) => {
                        return match parse(&data) {
                            Ok(result) => Ok(result),
                            Err(source) => self.check_malformed(method, source, verify).await,
                        };
                    }
                    Outcome::Answer(
                        code @ (Code::NotLoggedIn | Code::InvalidSecretAuthCode),
                        _,
                    ) if signed => {
                        // Refused before anything was done; safe to send again once renewed.
                        self.renew(method, code, generation).await?;
                        attempts -= 1;
                        continue;
                    }
                    Outcome::Answer(Code::Error, _) => (
                        Error::Code {
                            method,
                            code: Code::Error,
                        },
                        None,
                        true,
                    ),
                    Outcome::Answer(code, _) => return Err(Error::Code { method, code }),
                    Outcome::NotSent(error, after) => (error, after, false),
                    Outcome::Ambiguous(error, after) => (error, after, true),
                    Outcome::Fatal(error) => return Err(error),
                };

            let exhausted = attempts >= self.retry.max_attempts;
            let wait = self.retry.backoff(attempts, wait_hint);
            let over_time = started.elapsed().saturating_add(wait) > self.retry.max_elapsed;
            if !exhausted && !over_time {
                tracing::debug!(method, attempts, error = %failure, wait_ms = wait.as_millis(), "retrying a rescue call");
                tokio::time::sleep(wait).await;
            }
            if ambiguous && let Some(verify) = verify {
                match verify.applied(self).await {
                    Ok(Some(result)) => {
                        tracing::info!(method, "an ambiguous write turned out to be applied");
                        return Ok(result);
                    }
                    Ok(None) => {}
                    Err(source) => {
                        return Err(Error::Unverified {
                            method,
                            source: Box::new(source),
                        });
                    }
                }
            }
            if exhausted {
                return Err(Error::Exhausted {
                    method,
                    attempts,
                    last: Box::new(failure),
                });
            }
            if over_time {
                return Err(match wait_hint {
                    Some(after)
                        if started.elapsed().saturating_add(after) > self.retry.max_elapsed =>
                    {
                        Error::RetryAfterTooLong {
                            method,
                            wait: after,
                        }
                    }
                    _ => Error::Exhausted {
                        method,
                        attempts,
                        last: Box::new(failure),
                    },
                });
            }
        }
    }

    /// An `OK` whose data cannot be read: for a write, what it did is unknown (a `createUser`
    /// answered `OK` and garbage made a node all the same), so it is checked by reading, and a
    /// node it made is found rather than left behind; it is not sent again.
    async fn check_malformed<T: Send>(
        &self,
        method: &'static str,
        source: WireError,
        verify: Option<&dyn Verify<T>>,
    ) -> Result<T, Error> {
        let malformed = Error::Malformed { method, source };
        let Some(verify) = verify else {
            return Err(malformed);
        };
        match verify.applied(self).await {
            Ok(Some(result)) => {
                tracing::info!(method, "a write answered with unreadable data was applied");
                Ok(result)
            }
            Ok(None) => Err(malformed),
            Err(source) => Err(Error::Unverified {
                method,
                source: Box::new(source),
            }),
        }
    }

    /// One HTTP exchange.
    async fn send(
        &self,
        method: &'static str,
        params: &Params,
        authcode: Option<&Secret>,
    ) -> Outcome {
        let url = format!("{}/API/{method}.aspx", self.base);
        let mut form: Vec<(&str, &str)> = params.pairs().collect();
        if let Some(code) = authcode {
            form.push((param::AUTHCODE, code.expose()));
        }
        let sent = std::time::Instant::now();
        let response = self.http.post(&url).form(&form).send().await;
        // adsync's own request line (`-vv`): the method and the API method's path; the form,
        // which carries the authcode, is never logged.
        let ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &response {
            Ok(response) => tracing::debug!(
                status = response.status().as_u16(),
                ms,
                "POST /API/{method}.aspx"
            ),
            Err(error) => tracing::debug!(
                failure = if error.is_timeout() {
                    "timed out"
                } else {
                    "not answered"
                },
                ms,
                "POST /API/{method}.aspx"
            ),
        }
        if let Some(observer) = &self.observer {
            observer.exchanged(
                "rescue",
                response.as_ref().ok().map(|r| r.status().as_u16()),
            );
        }
        let response = match response {
            Ok(response) => response,
            Err(error) if error.is_connect() => {
                return Outcome::NotSent(
                    Error::Unreachable {
                        method,
                        source: error.without_url(),
                    },
                    None,
                );
            }
            Err(error) if error.is_timeout() => {
                return Outcome::Ambiguous(Error::TimedOut { method }, None);
            }
            Err(error) => {
                return Outcome::Ambiguous(
                    Error::Unreachable {
                        method,
                        source: error.without_url(),
                    },
                    None,
                );
            }
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        match status {
            200..=299 => {}
            429 => return Outcome::NotSent(Error::HttpStatus { method, status }, after),
            408 | 500..=599 => {
                return Outcome::Ambiguous(Error::HttpStatus { method, status }, after);
            }
            _ => return Outcome::Fatal(Error::HttpStatus { method, status }),
        }
        let body = match response.text().await {
            Ok(body) => body,
            Err(error) if error.is_timeout() => {
                return Outcome::Ambiguous(Error::TimedOut { method }, None);
            }
            Err(error) => {
                return Outcome::Ambiguous(
                    Error::Unreachable {
                        method,
                        source: error.without_url(),
                    },
                    None,
                );
            }
        };
        match wire::split_status(&body) {
            Ok((code, data)) => Outcome::Answer(self.screen(method, code), data.to_owned()),
            // An empty 200 is a broken exchange, not an answer.
            Err(source) => Outcome::Ambiguous(Error::Malformed { method, source }, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let first = policy.backoff(1, None);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3, None);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = policy.backoff(40, None);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1000));
            let honoured = policy.backoff(1, Some(Duration::from_secs(7)));
            assert_eq!(honoured, Duration::from_secs(7));
        }
        assert_eq!(RetryPolicy::immediate().backoff(3, None), Duration::ZERO);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "2".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(reqwest::header::RETRY_AFTER, "1.5".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        headers.insert(reqwest::header::RETRY_AFTER, later.parse().expect("header"));
        let wait = retry_after(&headers).expect("a wait");
        assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(60));
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        headers.insert(reqwest::header::RETRY_AFTER, past.parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        for bad in ["-1", "soon", "NaN"] {
            headers.insert(reqwest::header::RETRY_AFTER, bad.parse().expect("header"));
            assert_eq!(retry_after(&headers), None, "{bad}");
        }
    }

    #[test]
    fn base_urls_are_normalised_and_plain_http_is_loopback_only() {
        for (raw, expected) in [
            (
                "https://secure.logmeinrescue.com",
                "https://secure.logmeinrescue.com",
            ),
            (
                "https://secure.logmeinrescue.com/",
                "https://secure.logmeinrescue.com",
            ),
            (
                "https://secure.logmeinrescue.com/API/",
                "https://secure.logmeinrescue.com",
            ),
            (
                "https://proxy.example/rescue/api",
                "https://proxy.example/rescue",
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://localhost:1", "http://localhost:1"),
            ("http://[::1]:9/", "http://[::1]:9"),
        ] {
            assert_eq!(normalise_base_url(raw).expect(raw), expected);
        }
        for raw in [
            "http://secure.logmeinrescue.com",
            "http://10.0.0.1",
            "http://localhost.evil.example",
            "ftp://127.0.0.1",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(normalise_base_url(raw), Err(Error::InsecureBaseUrl { .. })),
                "{raw}"
            );
        }
        assert!(matches!(
            normalise_base_url("not a url"),
            Err(Error::BaseUrl { .. })
        ));
    }
}
