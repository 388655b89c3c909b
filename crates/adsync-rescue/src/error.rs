//! The crate's error, and its one conversion into core's [`AdapterError`].
//!
//! No variant carries a secret or quotes an answer body: some answers hold an authcode.

use std::time::Duration;

use adsync_core::adapter::{AdapterError, AdapterErrorKind};
use adsync_core::model::NodeId;

use crate::wire::{Code, WireError};

/// How adsync signs in to Rescue, for messages and hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// An API token (or a fixed authcode).
    Token,
    /// E-mail and password exchanged with `requestAuthCode`.
    Password,
}

/// What went wrong talking to Rescue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL does not parse.
    #[error("the Rescue base URL `{url}` is not a valid URL")]
    BaseUrl {
        /// The URL as given.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// The base URL is not https (and not loopback http).
    #[error(
        "the rescue base url `{url}` must use https; plain http is allowed only for loopback addresses"
    )]
    InsecureBaseUrl {
        /// The URL as given.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("could not set up the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// The request could not be sent or its answer not received.
    #[error("could not reach Rescue for `{method}`")]
    Unreachable {
        /// The API method.
        method: &'static str,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// No answer within the request timeout.
    #[error("`{method}` timed out")]
    TimedOut {
        /// The API method.
        method: &'static str,
    },
    /// An HTTP status other than 200.
    #[error("Rescue answered HTTP {status} to `{method}`")]
    HttpStatus {
        /// The API method.
        method: &'static str,
        /// The status.
        status: u16,
    },
    /// Rescue answered with a code other than `OK`.
    #[error("`{method}` failed: {}", describe(code))]
    Code {
        /// The API method.
        method: &'static str,
        /// The code, verbatim when unknown.
        code: Code,
    },
    /// The answer could not be read.
    #[error("could not read Rescue's answer to `{method}`")]
    Malformed {
        /// The API method.
        method: &'static str,
        /// What was wrong with it.
        #[source]
        source: WireError,
    },
    /// Retries ran out (attempts or time).
    #[error("`{method}` still failed after {attempts} attempts")]
    Exhausted {
        /// The API method.
        method: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        last: Box<Error>,
    },
    /// `Retry-After` asked for a wait beyond the retry budget.
    #[error("Rescue asked to wait {}s before retrying `{method}`, beyond the retry budget", wait.as_secs())]
    RetryAfterTooLong {
        /// The API method.
        method: &'static str,
        /// The wait asked for.
        wait: Duration,
    },
    /// `requestAuthCode` refused the e-mail and password.
    #[error("Rescue refused the e-mail and password")]
    CredentialsRefused,
    /// `requestAuthCode` was called too often.
    #[error("Rescue refused to sign in: too many sign-ins in the last minutes")]
    AuthLimitReached,
    /// The authcode or API token was refused (in password mode: again, after signing in anew).
    #[error("Rescue refused the {} for `{method}`", match mode { AuthMode::Token => "API token", AuthMode::Password => "authcode" })]
    AuthRejected {
        /// The API method.
        method: &'static str,
        /// `NOTLOGGEDIN` or `INVALID_SECRETAUTHCODE`.
        code: Code,
        /// How adsync signed in.
        mode: AuthMode,
    },
    /// Turning the mobile add-on on was refused.
    #[error("no mobile licence is free for node {node}")]
    NoMobileLicence {
        /// The user.
        node: NodeId,
        /// The code Rescue answered.
        code: Code,
    },
    /// The action lacks a field the target needs.
    #[error("the `{action}` action has no {what}")]
    IncompleteAction {
        /// The action kind.
        action: &'static str,
        /// What is missing.
        what: &'static str,
    },
    /// An identity value holds line breaks or other control characters (see `text.rs`).
    #[error(
        "the {field} of {who} holds line breaks or other control characters; adsync does not \
         send it to Rescue, whose answers are text lines, and does not change an identity"
    )]
    UnsafeText {
        /// The user or group, control characters escaped.
        who: String,
        /// The field.
        field: &'static str,
    },
    /// New users cannot be given a password.
    #[error("no default password is configured for new users without an SSO ID")]
    MissingDefaultPassword,
    /// A detail read answered for another node, or for a node that is not a user.
    #[error("`{method}` for node {asked} answered with {answer}")]
    UnexpectedNode {
        /// The API method.
        method: &'static str,
        /// The node asked for.
        asked: NodeId,
        /// What came back.
        answer: String,
    },
    /// An ambiguous write could not be checked.
    #[error("could not tell whether `{method}` was applied")]
    Unverified {
        /// The API method.
        method: &'static str,
        /// Why the check failed.
        #[source]
        source: Box<Error>,
    },
    /// A new node could not be filled, and was kept rather than deleted.
    #[error("could not fill new node {node}; it was kept, not deleted: {why}")]
    Kept {
        /// The node kept.
        node: NodeId,
        /// Why it was not deleted.
        why: &'static str,
        /// Why it could not be filled.
        #[source]
        source: Box<Error>,
    },
    /// A node to roll back holds a name or an e-mail: adsync deletes only empty nodes.
    #[error("node {node} holds a name or an e-mail; adsync deletes only a node it proves empty")]
    NotEmpty {
        /// The node.
        node: NodeId,
    },
    /// A new node could not be filled, nor deleted afterwards.
    #[error("could not fill new node {node}, nor delete it afterwards")]
    Orphaned {
        /// The empty node left behind.
        node: NodeId,
        /// Why it could not be filled.
        #[source]
        source: Box<Error>,
        /// Why it could not be deleted.
        rollback: Box<Error>,
    },
}

/// A lowercase phrase for a code.
fn describe(code: &Code) -> String {
    let text = match code {
        Code::Ok => "Rescue answered OK where an error was expected",
        Code::Error => "Rescue reported an unspecified error",
        Code::NotLoggedIn => "not signed in",
        Code::InvalidSecretAuthCode => "the authcode or API token was refused",
        Code::UserDeletedOrDisabled => "the account adsync signs in with is deleted or disabled",
        Code::Invalid => "the e-mail and password were refused",
        Code::LimitReached | Code::PollRateExceeded => "too many requests",
        Code::InvalidParamNode => "the node does not exist",
        Code::InvalidParamParent => "the parent node is missing or cannot hold this kind of node",
        Code::InvalidParamTargetNode => "the destination node does not exist",
        Code::InvalidMove => "the destination cannot hold this kind of node",
        Code::InvalidDelete => "not allowed to delete this node",
        Code::InvalidParamName => "the name is empty or too long",
        Code::InvalidParamStatus => "the status was refused",
        Code::InvalidParamMobileAddon => "the mobile add-on value was refused",
        Code::InvalidParamRpatAddon => "the RPAT add-on value was refused",
        Code::InvalidParamEmail => "the e-mail address was refused",
        Code::InvalidParamEmailAlreadyInUse => "the e-mail address is already used by another user",
        Code::InvalidParamMissingCurrentPassword => "the current password is required",
        Code::InvalidParamCompany => "the company id was refused",
        Code::InvalidEmailAndNodeBothSpecified => "both a node and an e-mail were given",
        Code::InvalidParamPassword(_) => "the password does not meet the password policy",
        Code::Other(_) => "Rescue answered an unknown code",
    };
    text.to_owned()
}

fn code_kind(code: &Code) -> AdapterErrorKind {
    match code {
        Code::Ok | Code::Other(_) => AdapterErrorKind::Unknown,
        Code::Error => AdapterErrorKind::Transport,
        Code::NotLoggedIn | Code::InvalidSecretAuthCode | Code::Invalid => AdapterErrorKind::Auth,
        Code::UserDeletedOrDisabled | Code::InvalidDelete => AdapterErrorKind::Permission,
        Code::LimitReached | Code::PollRateExceeded => AdapterErrorKind::Throttled,
        Code::InvalidParamNode | Code::InvalidParamParent | Code::InvalidParamTargetNode => {
            AdapterErrorKind::NotFound
        }
        Code::InvalidParamEmailAlreadyInUse => AdapterErrorKind::Conflict,
        Code::InvalidMove
        | Code::InvalidParamName
        | Code::InvalidParamStatus
        | Code::InvalidParamMobileAddon
        | Code::InvalidParamRpatAddon
        | Code::InvalidParamEmail
        | Code::InvalidParamMissingCurrentPassword
        | Code::InvalidParamCompany
        | Code::InvalidEmailAndNodeBothSpecified
        | Code::InvalidParamPassword(_) => AdapterErrorKind::Rejected,
    }
}

const TOKEN_HINT: &str = "generate a new API token in the Rescue Admin Center (Global Settings, \
                          Generate API token) and store it in the environment variable or file \
                          that target.auth.api_token names";
const PASSWORD_HINT: &str = "requesting an authcode replaces the previous one; another tool \
                             signing in with the same account may have replaced adsync's";

impl Error {
    /// The adapter error kind this error means.
    pub fn kind(&self) -> AdapterErrorKind {
        match self {
            Error::BaseUrl { .. } | Error::InsecureBaseUrl { .. } | Error::HttpClient(_) => {
                AdapterErrorKind::Unknown
            }
            Error::Unreachable { .. } | Error::TimedOut { .. } => AdapterErrorKind::Transport,
            Error::HttpStatus { status, .. } => match status {
                401 => AdapterErrorKind::Auth,
                403 => AdapterErrorKind::Permission,
                429 => AdapterErrorKind::Throttled,
                500..=599 => AdapterErrorKind::Transport,
                _ => AdapterErrorKind::Protocol,
            },
            Error::Code { code, .. } => code_kind(code),
            Error::Malformed { .. } | Error::UnexpectedNode { .. } => AdapterErrorKind::Protocol,
            Error::Exhausted { last, .. } => last.kind(),
            Error::RetryAfterTooLong { .. } | Error::AuthLimitReached => {
                AdapterErrorKind::Throttled
            }
            Error::CredentialsRefused | Error::AuthRejected { .. } => AdapterErrorKind::Auth,
            Error::NoMobileLicence { .. } => AdapterErrorKind::Quota,
            Error::IncompleteAction { .. }
            | Error::MissingDefaultPassword
            | Error::UnsafeText { .. } => AdapterErrorKind::Rejected,
            Error::Unverified { .. } => AdapterErrorKind::Transport,
            Error::Orphaned { source, .. } | Error::Kept { source, .. } => source.kind(),
            Error::NotEmpty { .. } => AdapterErrorKind::Rejected,
        }
    }

    /// Rescue's own code, verbatim, when one is behind this error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Code { code, .. }
            | Error::AuthRejected { code, .. }
            | Error::NoMobileLicence { code, .. } => Some(code.as_str()),
            Error::CredentialsRefused => Some(crate::api::code::INVALID),
            Error::AuthLimitReached => Some(crate::api::code::LIMIT_REACHED),
            Error::Exhausted { last: inner, .. }
            | Error::Unverified { source: inner, .. }
            | Error::Orphaned { source: inner, .. }
            | Error::Kept { source: inner, .. } => inner.code(),
            _ => None,
        }
    }

    /// The obvious next step, when there is one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::AuthRejected {
                mode: AuthMode::Token,
                ..
            } => Some(TOKEN_HINT),
            Error::AuthRejected {
                mode: AuthMode::Password,
                ..
            } => Some(PASSWORD_HINT),
            Error::CredentialsRefused => Some(
                "check the e-mail, and the password in the environment variable or file that \
                 target.auth.password names; or use an API token",
            ),
            Error::AuthLimitReached => Some(
                "Rescue allows about 10 sign-ins in 3 minutes; wait a few minutes, and prefer an \
                 API token (target.auth.api_token) for scheduled runs",
            ),
            Error::InsecureBaseUrl { .. } => Some("use an https:// base URL"),
            Error::MissingDefaultPassword => {
                Some("set target.default_password, or give new users an SSO ID")
            }
            Error::UnsafeText { .. } => {
                Some("correct the value in the directory (or in Rescue), then run adsync again")
            }
            Error::NoMobileLicence { .. } => {
                Some("free a mobile licence in Rescue or buy more, then run adsync apply again")
            }
            Error::Code { code, .. } => match code {
                Code::UserDeletedOrDisabled => {
                    Some("enable the Rescue user adsync signs in with, or use another account")
                }
                Code::InvalidSecretAuthCode | Code::NotLoggedIn => Some(TOKEN_HINT),
                _ => None,
            },
            Error::HttpStatus { status: 404, .. } => Some(
                "the API method may not exist under this name or base URL; check target.base_url \
                 and the method table in adsync-rescue's api.rs",
            ),
            Error::Exhausted { last: inner, .. }
            | Error::Orphaned { source: inner, .. }
            | Error::Kept { source: inner, .. } => inner.hint(),
            _ => None,
        }
    }

    fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        match self {
            Error::BaseUrl { source, .. } => Some(Box::new(source)),
            Error::HttpClient(source) | Error::Unreachable { source, .. } => Some(Box::new(source)),
            Error::Malformed { source, .. } => Some(Box::new(source)),
            Error::Exhausted { last: inner, .. }
            | Error::Unverified { source: inner, .. }
            | Error::Orphaned { source: inner, .. }
            | Error::Kept { source: inner, .. } => Some(inner),
            _ => None,
        }
    }
}

impl From<Error> for AdapterError {
    fn from(error: Error) -> AdapterError {
        let mut adapter = AdapterError::new(error.kind(), error.to_string());
        if let Some(code) = error.code() {
            adapter = adapter.with_code(code);
        }
        if let Some(hint) = error.hint() {
            adapter = adapter.with_hint(hint);
        }
        adapter.source = error.into_source();
        adapter
    }
}
