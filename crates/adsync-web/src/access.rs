//! Who may see the page and press Retry.
//!
//! Without a token (loopback only; the CLI refuses any other address without one) every local
//! caller may read, and the `Host` header must name a loopback address, so a web page that
//! rebinds its own name to 127.0.0.1 gets nothing. With a token, every route but the login
//! needs it: as `Authorization: Bearer <token>` (scripts, monitors) or as the session cookie the
//! login form sets (`HttpOnly`, `SameSite=Strict`). Tokens are compared in constant time, over
//! their SHA-256 digests so that the length does not show either.
//!
//! State-changing requests are `POST`s that must come from the page itself: an `Origin` (or
//! `Sec-Fetch-Site`) naming another site is refused, and browsers must send the CSRF token the
//! page's form carries. A bearer caller needs no CSRF token: its credential is not ambient.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use adsync_core::secret::Secret;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::WebError;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "adsync_session";
/// How long a login lasts.
const SESSION_LIFE: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the oldest goes first.
const MAX_SESSIONS: usize = 256;
/// The shortest token accepted: anything shorter can be guessed over the network.
pub const MIN_TOKEN_LEN: usize = 16;

/// How a request was let in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No token is configured (loopback): the page's forms carry the process's CSRF token.
    Open { csrf: String },
    /// Logged in through the form.
    Session { id: String, csrf: String },
    /// `Authorization: Bearer`.
    Bearer,
}

impl Caller {
    /// The CSRF token the page's forms must carry, when the caller is a browser.
    pub(crate) fn csrf(&self) -> Option<&str> {
        match self {
            Caller::Open { csrf } | Caller::Session { csrf, .. } => Some(csrf),
            Caller::Bearer => None,
        }
    }

    /// Whether `presented` is this caller's CSRF token (a bearer caller needs none).
    pub(crate) fn csrf_matches(&self, presented: Option<&str>) -> bool {
        match (self.csrf(), presented) {
            (None, _) => true,
            (Some(expected), Some(presented)) => same(expected.as_bytes(), presented.as_bytes()),
            (Some(_), None) => false,
        }
    }
}

#[derive(Clone, Debug)]
struct Session {
    csrf: String,
    expires: SystemTime,
}

/// The token (if any) and the live sessions.
pub(crate) struct Access {
    token: Option<[u8; 32]>,
    open_csrf: String,
    sessions: Mutex<HashMap<String, Session>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token", &self.token.map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

impl Access {
    pub(crate) fn new(token: Option<&Secret>) -> Result<Access, WebError> {
        let token = match token {
            Some(token) => {
                let value = token.expose().trim();
                if value.chars().count() < MIN_TOKEN_LEN {
                    return Err(WebError::ShortToken { min: MIN_TOKEN_LEN });
                }
                Some(digest(value))
            }
            None => None,
        };
        Ok(Access {
            token,
            open_csrf: random_hex()?,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// Whether a token is required.
    pub(crate) fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    /// The caller `headers` identify, or `None` when the request needs the token it lacks.
    pub(crate) fn identify(&self, headers: &HeaderMap, now: SystemTime) -> Option<Caller> {
        let Some(token) = &self.token else {
            return Some(Caller::Open {
                csrf: self.open_csrf.clone(),
            });
        };
        if let Some(presented) = bearer(headers) {
            return same(&digest(presented), token).then_some(Caller::Bearer);
        }
        let id = session_cookie(headers)?;
        let sessions = self.sessions();
        let session = sessions.get(&id).filter(|s| s.expires > now)?;
        Some(Caller::Session {
            csrf: session.csrf.clone(),
            id,
        })
    }

    /// A new session when `presented` is the token: its id, for the cookie.
    pub(crate) fn login(
        &self,
        presented: &str,
        now: SystemTime,
    ) -> Result<Option<String>, WebError> {
        let Some(token) = &self.token else {
            return Ok(None);
        };
        if !same(&digest(presented.trim()), token) {
            return Ok(None);
        }
        let id = random_hex()?;
        let session = Session {
            csrf: random_hex()?,
            expires: now + SESSION_LIFE,
        };
        let mut sessions = self.sessions();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(id, _)| id.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(id.clone(), session);
        Ok(Some(id))
    }

    /// Ends a session.
    pub(crate) fn logout(&self, id: &str) {
        self.sessions().remove(id);
    }

    /// The `Set-Cookie` value for session `id` (an empty id clears the cookie).
    pub(crate) fn cookie(id: &str) -> String {
        let mut cookie = cookie::Cookie::new(COOKIE, id.to_owned());
        cookie.set_http_only(true);
        cookie.set_same_site(cookie::SameSite::Strict);
        cookie.set_path("/");
        if id.is_empty() {
            cookie.set_max_age(cookie::time::Duration::ZERO);
        } else {
            cookie.set_max_age(cookie::time::Duration::seconds(
                SESSION_LIFE.as_secs() as i64
            ));
        }
        cookie.to_string()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

fn random_hex() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| WebError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_owned())
}

/// Whether a state-changing request comes from the page itself. An `Origin` must name the
/// host the request was sent to; without one (scripts, old browsers), a `Sec-Fetch-Site`
/// naming another site is refused.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        return authority.is_some_and(|a| !host.is_empty() && a.eq_ignore_ascii_case(host));
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => true,
    }
}

/// Whether `Host` names a loopback address (`127.0.0.1:8787`, `[::1]:8787`, `localhost:8787`).
pub(crate) fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn origin_must_name_the_host() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8787")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8787"),
            ("origin", "http://127.0.0.1:8787")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8787"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8787"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8787"),
            ("sec-fetch-site", "cross-site")
        ])));
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1:1",
            "localhost:8787",
            "[::1]:80",
            "127.8.9.1",
            "LOCALHOST",
        ] {
            assert!(loopback_host(&headers(&[("host", host)])), "{host}");
        }
        for host in ["evil.example:8787", "10.0.0.1:8787", "[::2]:80", ""] {
            assert!(!loopback_host(&headers(&[("host", host)])), "{host}");
        }
        assert!(!loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn tokens_sessions_and_csrf() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(Access::new(Some(&Secret::new("short"))).is_err());
        let access = Access::new(Some(&Secret::new("a-token-of-enough-length\n"))).expect("access");
        assert_eq!(access.identify(&HeaderMap::new(), now), None);
        let bearer = headers(&[("authorization", "Bearer a-token-of-enough-length")]);
        assert_eq!(access.identify(&bearer, now), Some(Caller::Bearer));
        let wrong = headers(&[("authorization", "Bearer a-token-of-enough-lengtH")]);
        assert_eq!(access.identify(&wrong, now), None);

        assert_eq!(access.login("nope", now).expect("login"), None);
        let id = access
            .login("a-token-of-enough-length", now)
            .expect("login")
            .expect("a session");
        let cookie = format!("other=1; {COOKIE}={id}");
        let caller = access
            .identify(&headers(&[("cookie", &cookie)]), now)
            .expect("the session is known");
        let csrf = caller
            .csrf()
            .expect("a browser caller has a csrf token")
            .to_owned();
        assert!(caller.csrf_matches(Some(&csrf)));
        assert!(!caller.csrf_matches(Some("x")));
        assert!(!caller.csrf_matches(None));
        let later = now + SESSION_LIFE + Duration::from_secs(1);
        assert_eq!(
            access.identify(&headers(&[("cookie", &cookie)]), later),
            None
        );
        access.logout(&id);
        assert_eq!(access.identify(&headers(&[("cookie", &cookie)]), now), None);

        let set = Access::cookie(&id);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
    }
}
