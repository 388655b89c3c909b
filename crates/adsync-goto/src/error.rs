//! The crate's one error type, and its conversion into core's [`AdapterError`].

use adsync_core::adapter::{AdapterError, AdapterErrorKind};

/// What the operator should run when the refresh token no longer works.
pub const LOGIN_HINT: &str =
    "run `adsync goto login` again to sign in and store a new refresh token";

/// Everything that can go wrong talking to GoTo, signing in, or keeping the refresh token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configured endpoint is not a usable URL.
    #[error("the {what} `{url}` is not a valid url")]
    InvalidUrl {
        /// Which endpoint.
        what: &'static str,
        /// The text given.
        url: String,
    },

    /// A configured endpoint uses plain http to a host that is not loopback, or no http at all.
    #[error("the {what} `{url}` must use https (plain http is accepted only for loopback hosts)")]
    InsecureUrl {
        /// Which endpoint.
        what: &'static str,
        /// The text given.
        url: String,
    },

    /// A setting is unusable.
    #[error("invalid goto setting `{setting}`: {reason}")]
    InvalidSetting {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The HTTP client could not be built.
    #[error("could not set up the http client")]
    Client(#[source] reqwest::Error),

    /// GoTo refused the access token or the signed-in user's rights (HTTP 401 or 403).
    #[error("{request} was refused with http {status}: {message}")]
    Auth {
        /// The request.
        request: String,
        /// 401 or 403.
        status: u16,
        /// GoTo's message, or the status text.
        message: String,
    },

    /// The refresh token was refused: revoked, expired, or issued to another client.
    #[error("goto refused the stored refresh token ({reason}); it was read from {store}")]
    RefreshRevoked {
        /// Where the token was read from (`file .adsync/goto-token.json`).
        store: String,
        /// The OAuth error (`invalid_grant`) or the status.
        reason: String,
    },

    /// The token endpoint refused a request for another reason (wrong client secret, bad code).
    #[error("the goto token endpoint refused the {grant} request with http {status}: {reason}")]
    TokenRefused {
        /// `authorization_code` or `refresh_token`.
        grant: &'static str,
        /// HTTP status.
        status: u16,
        /// The OAuth error and description.
        reason: String,
    },

    /// GoTo refused a request with another status.
    #[error(
        "{request} was refused with http {status}{}: {message}",
        code_suffix(code)
    )]
    Refused {
        /// The request.
        request: String,
        /// HTTP status.
        status: u16,
        /// GoTo's `errorCode`, when the body had one.
        code: Option<String>,
        /// GoTo's message, or the status text.
        message: String,
    },

    /// The user (or another object) does not exist.
    #[error("{request} found nothing (http 404)")]
    NotFound {
        /// The request.
        request: String,
    },

    /// Still throttled (HTTP 429) when the retry budget ran out.
    #[error("{request} was still throttled (http 429) after {attempts} attempts")]
    Throttled {
        /// The request.
        request: String,
        /// Sends made.
        attempts: u32,
    },

    /// Still failing with a server error when the retry budget ran out.
    #[error("{request} still failed with http {status} after {attempts} attempts")]
    Unavailable {
        /// The request.
        request: String,
        /// The last status.
        status: u16,
        /// Sends made.
        attempts: u32,
    },

    /// The network failed on every attempt.
    #[error("{request} failed after {attempts} attempts")]
    Transport {
        /// The request.
        request: String,
        /// Sends made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: reqwest::Error,
    },

    /// A response body could not be understood.
    #[error("the response to {request} is not what goto sends (http {status}): {reason}")]
    Malformed {
        /// The request.
        request: String,
        /// HTTP status.
        status: u16,
        /// What did not parse.
        reason: String,
    },

    /// A paged read did not add up (a page missing, the total changing, no end).
    #[error("the read of {request} is incomplete: {reason}")]
    Incomplete {
        /// The collection.
        request: String,
        /// What went wrong.
        reason: String,
    },

    /// The account to work on could not be told from `/me`.
    #[error("cannot tell the goto account from /me: {reason}")]
    Account {
        /// Why.
        reason: String,
    },

    /// The e-mail belongs to an existing GoTo user of another account (or a pending invitation).
    #[error("`{email}` already has a goto account elsewhere (existing account)")]
    ExistingAccount {
        /// The e-mail.
        email: String,
    },

    /// A licence had no free seat.
    #[error("no free seat for `{email}` on licence {licences} (out of licences)")]
    OutOfLicences {
        /// The user.
        email: String,
        /// The licences the write added, comma-separated.
        licences: String,
    },

    /// The operation asks for something adsync never writes.
    #[error("refusing to write {what} for `{email}`")]
    Unwritable {
        /// The user.
        email: String,
        /// What (`a custom admin role`).
        what: &'static str,
    },

    /// A create whose outcome is unknown (timeout after sending) and whose user is not found
    /// either: sending it again might create a second invitation.
    #[error("creating `{email}` may or may not have happened ({cause}); it was not sent again")]
    Ambiguous {
        /// The user.
        email: String,
        /// What happened to the first send.
        cause: String,
    },

    /// The operating system's random source failed.
    #[error("the operating system gave no random bytes for the sign-in: {0}")]
    Random(String),

    /// The loopback listener of the sign-in could not start or failed.
    #[error("the sign-in redirect listener failed: {0}")]
    Listener(#[source] std::io::Error),

    /// No redirect came back in time.
    #[error("no sign-in redirect arrived within {seconds} s")]
    LoginTimedOut {
        /// The wait.
        seconds: u64,
    },

    /// The redirect's `state` was not the one this sign-in sent.
    #[error(
        "the sign-in redirect carried the wrong state (a stale tab or a forged request); nothing was stored"
    )]
    StateMismatch,

    /// The authorization server sent an error instead of a code.
    #[error("the sign-in was refused: {error}{}", description_suffix(description))]
    AuthorizationDenied {
        /// The OAuth error (`access_denied`).
        error: String,
        /// Its description.
        description: Option<String>,
    },

    /// The redirect carried neither a code nor an error.
    #[error("the sign-in redirect carried no authorization code")]
    NoCode,

    /// The refresh-token file could not be read or written.
    #[error("the goto token file `{path}` {what}")]
    TokenFile {
        /// The file.
        path: String,
        /// What failed (`cannot be read: ...`).
        what: String,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref()
        .map(|code| format!(" ({code})"))
        .unwrap_or_default()
}

fn description_suffix(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|text| format!(" ({text})"))
        .unwrap_or_default()
}

impl Error {
    /// The kind core's executor and the CLI act on.
    pub fn kind(&self) -> AdapterErrorKind {
        match self {
            Error::Auth { .. }
            | Error::RefreshRevoked { .. }
            | Error::TokenRefused { .. }
            | Error::TokenFile { .. } => AdapterErrorKind::Auth,
            Error::NotFound { .. } => AdapterErrorKind::NotFound,
            Error::ExistingAccount { .. } => AdapterErrorKind::Conflict,
            Error::OutOfLicences { .. } => AdapterErrorKind::Quota,
            Error::Throttled { .. } => AdapterErrorKind::Throttled,
            Error::Unavailable { .. } | Error::Transport { .. } | Error::Ambiguous { .. } => {
                AdapterErrorKind::Transport
            }
            Error::Malformed { .. } | Error::Incomplete { .. } => AdapterErrorKind::Protocol,
            Error::Refused { status, .. } if (400..500).contains(status) => {
                AdapterErrorKind::Rejected
            }
            Error::Unwritable { .. } => AdapterErrorKind::Rejected,
            _ => AdapterErrorKind::Unknown,
        }
    }

    /// The obvious next step, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::RefreshRevoked { .. } => Some(LOGIN_HINT.to_owned()),
            Error::Auth { status: 403, .. } => Some(
                "sign in as a goto account administrator (SUPER_USER or MANAGE_USERS) who is \
                 also an organization administrator, then run `adsync goto login` again"
                    .to_owned(),
            ),
            Error::Auth { .. } => Some(LOGIN_HINT.to_owned()),
            Error::TokenRefused { .. } => Some(
                "check the goto client id and secret of the oauth client, then run `adsync goto \
                 login` again"
                    .to_owned(),
            ),
            Error::TokenFile { .. } => Some(LOGIN_HINT.to_owned()),
            Error::OutOfLicences { .. } => Some(
                "buy more seats or free some in the goto admin center, then apply again".to_owned(),
            ),
            Error::ExistingAccount { .. } => Some(
                "the person must accept the transfer invitation or use another e-mail; adsync \
                 does not retry it blindly"
                    .to_owned(),
            ),
            _ => None,
        }
    }

    /// The service's own code, when it sent one.
    fn code(&self) -> Option<String> {
        match self {
            Error::Refused { code, .. } => code.clone(),
            Error::Auth { status, .. }
            | Error::Unavailable { status, .. }
            | Error::Malformed { status, .. } => Some(format!("http {status}")),
            _ => None,
        }
    }
}

impl From<Error> for AdapterError {
    fn from(error: Error) -> AdapterError {
        let mut adapted = AdapterError::new(error.kind(), error.to_string());
        if let Some(code) = error.code() {
            adapted = adapted.with_code(code);
        }
        if let Some(hint) = error.hint() {
            adapted = adapted.with_hint(hint);
        }
        adapted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adsync_core::adapter::FailureCategory;

    #[test]
    fn failures_land_in_the_seed_categories() {
        let cases = [
            (
                Error::ExistingAccount {
                    email: "a@b".into(),
                },
                FailureCategory::ExistingAccount,
            ),
            (
                Error::OutOfLicences {
                    email: "a@b".into(),
                    licences: "1".into(),
                },
                FailureCategory::OutOfLicenses,
            ),
            (
                Error::Auth {
                    request: "GET /me".into(),
                    status: 403,
                    message: "forbidden".into(),
                },
                FailureCategory::Permission,
            ),
            (
                Error::RefreshRevoked {
                    store: "file x".into(),
                    reason: "invalid_grant".into(),
                },
                FailureCategory::Permission,
            ),
            (
                Error::Throttled {
                    request: "GET /me".into(),
                    attempts: 3,
                },
                FailureCategory::Transient,
            ),
            (
                Error::NotFound {
                    request: "PUT /accounts/1/users/2".into(),
                },
                FailureCategory::NotFound,
            ),
        ];
        for (error, category) in cases {
            assert_eq!(AdapterError::from(error).category(), category);
        }
        let revoked = AdapterError::from(Error::RefreshRevoked {
            store: "file x".into(),
            reason: "invalid_grant".into(),
        });
        assert!(revoked.hint.unwrap().contains("adsync goto login"));
    }
}
