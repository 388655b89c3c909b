//! The crate's one error type, and its conversion into core's [`AdapterError`].

use adsync_core::adapter::{AdapterError, AdapterErrorKind};

use crate::GroupSummary;

/// The permissions adsync needs, as the hint for every permission error names them.
pub(crate) const PERMISSION_HINT: &str = "grant the app registration the Microsoft Graph \
     application permissions GroupMember.Read.All and User.Read.All, then have an administrator \
     grant admin consent for the tenant";

/// Everything that can go wrong talking to Microsoft Entra ID and Microsoft Graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configured endpoint is not a usable URL.
    #[error("the {what} `{url}` is not a valid url")]
    InvalidUrl {
        /// Which endpoint (`authority url`, `graph url`).
        what: &'static str,
        /// The text given.
        url: String,
        /// Why it did not parse.
        #[source]
        source: url::ParseError,
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
    #[error("invalid graph setting `{setting}`: {reason}")]
    InvalidSetting {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// `search_groups` was given nothing to search for.
    #[error("the group search term is empty")]
    EmptySearchTerm,

    /// The HTTP client could not be built (TLS roots, resolver).
    #[error("could not set up the http client")]
    Client(#[source] reqwest::Error),

    /// Microsoft Entra ID refused the client-credentials token request.
    #[error("{}", token_message(*.reason, error, codes, description.as_deref()))]
    Token {
        /// What the refusal means.
        reason: TokenRefusal,
        /// The OAuth2 `error` value (`invalid_client`).
        error: String,
        /// The `error_codes` (AADSTS numbers).
        codes: Vec<u64>,
        /// The first line of `error_description`, for the generic case.
        description: Option<String>,
        /// The tenant the request named.
        tenant: String,
    },

    /// Graph refused the request with an error body.
    #[error(
        "{request} was refused with http {status}{}: {message}",
        code_suffix(code)
    )]
    Refused {
        /// The request (`GET /v1.0/groups/...`).
        request: String,
        /// HTTP status.
        status: u16,
        /// Graph's `error.code` (may be empty).
        code: String,
        /// Graph's `error.message`.
        message: String,
    },

    /// Still throttled (HTTP 429) when the retry budget ran out.
    #[error("{request} was still throttled (http 429) after {attempts} attempts")]
    Throttled {
        /// The request.
        request: String,
        /// How many times it was sent.
        attempts: u32,
    },

    /// Still failing with a server error when the retry budget ran out.
    #[error("{request} still failed with http {status} after {attempts} attempts")]
    Unavailable {
        /// The request.
        request: String,
        /// The last HTTP status.
        status: u16,
        /// How many times it was sent.
        attempts: u32,
    },

    /// The network failed (connect, timeout, cut-off body) on every attempt.
    #[error("{request} failed after {attempts} attempts")]
    Transport {
        /// The request.
        request: String,
        /// How many times it was sent.
        attempts: u32,
        /// The last failure.
        #[source]
        source: reqwest::Error,
    },

    /// A response body could not be understood.
    #[error("the response to {request} is not what Microsoft Graph sends (HTTP {status})")]
    Malformed {
        /// The request.
        request: String,
        /// HTTP status of the unreadable response.
        status: u16,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },

    /// A response broke a paging rule (a nextLink to another host, or back to itself).
    #[error("{request} returned an unusable @odata.nextLink: {reason}")]
    BadNextLink {
        /// The request.
        request: String,
        /// What was wrong with the link.
        reason: String,
    },

    /// A listing ended with fewer items than its first page's `@odata.count` announced: pages
    /// went missing, so the read is not whole.
    #[error(
        "{request} ended after {read} of the {announced} items its first page announced \
         (@odata.count): the listing is incomplete"
    )]
    IncompleteListing {
        /// The request of the last page.
        request: String,
        /// Items read.
        read: u64,
        /// `@odata.count`.
        announced: u64,
    },

    /// The whole read took longer than its wall-clock budget (`sync.read_budget_s`).
    #[error(
        "reading the directory took longer than its budget of {}s (sync.read_budget_s); \
         nothing is decided on a partial read",
        .budget.as_secs()
    )]
    ReadBudget {
        /// The budget.
        budget: std::time::Duration,
    },

    /// Members came back with only their id and type: the app may not read users.
    #[error(
        "{count} of the users returned by {request} carry only an id (limited information), \
         so the application cannot read user profiles"
    )]
    LimitedInformation {
        /// The request that showed it.
        request: String,
        /// How many members on that page had no attributes.
        count: usize,
    },

    /// No group has the configured object id.
    #[error("no Entra group has the id `{id}`")]
    GroupIdNotFound {
        /// The id given.
        id: String,
    },

    /// No group has the configured display name.
    #[error("no Entra group is named `{name}`{}", close_names(close))]
    GroupNotFound {
        /// The name given.
        name: String,
        /// Groups with similar names, closest first.
        close: Vec<GroupSummary>,
    },

    /// Several groups have the configured display name.
    #[error("{} Entra groups are named `{name}`: {}", candidates.len(), list(candidates))]
    AmbiguousGroup {
        /// The name given.
        name: String,
        /// Every group with that name.
        candidates: Vec<GroupSummary>,
    },

    /// The token endpoint could not be reached, or kept failing: a sign-in problem, not a
    /// group's.
    #[error("could not get an access token from Entra ID")]
    TokenRequest {
        /// What failed.
        #[source]
        source: Box<Error>,
    },

    /// Reading one group failed; the snapshot is abandoned.
    #[error("could not read group {group}")]
    Group {
        /// The group, as `name` (id).
        group: String,
        /// What failed.
        #[source]
        source: Box<Error>,
    },

    /// Reading the users a pairing's `where:` selects failed; the snapshot is abandoned.
    #[error("could not read the users where `{condition}`")]
    Selection {
        /// The condition, as adsync prints it.
        condition: String,
        /// What failed.
        #[source]
        source: Box<Error>,
    },
}

/// What a token refusal means, from `error_codes` first and the OAuth2 `error` second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRefusal {
    /// AADSTS7000215: the secret is wrong (often the secret's id instead of its value).
    InvalidSecret,
    /// AADSTS7000222: the secret has expired.
    ExpiredSecret,
    /// AADSTS700016: no such application in the tenant.
    UnknownApplication,
    /// AADSTS90002 / AADSTS900023: no such tenant.
    UnknownTenant,
    /// AADSTS90038: the tenant lives in another national cloud.
    WrongCloud,
    /// Anything else; the codes are kept.
    Other,
}

impl TokenRefusal {
    /// Classifies a token error response.
    pub(crate) fn classify(error: &str, codes: &[u64]) -> TokenRefusal {
        for code in codes {
            match code {
                7_000_215 => return TokenRefusal::InvalidSecret,
                7_000_222 => return TokenRefusal::ExpiredSecret,
                700_016 => return TokenRefusal::UnknownApplication,
                90_002 | 900_023 => return TokenRefusal::UnknownTenant,
                90_038 => return TokenRefusal::WrongCloud,
                _ => {}
            }
        }
        match error {
            "invalid_tenant" => TokenRefusal::UnknownTenant,
            _ => TokenRefusal::Other,
        }
    }
}

fn token_message(
    reason: TokenRefusal,
    error: &str,
    codes: &[u64],
    description: Option<&str>,
) -> String {
    match reason {
        TokenRefusal::InvalidSecret => "Entra ID refused the client secret".to_owned(),
        TokenRefusal::ExpiredSecret => "the client secret has expired".to_owned(),
        TokenRefusal::UnknownApplication => {
            "Entra ID does not know the application (client id) in this tenant".to_owned()
        }
        TokenRefusal::UnknownTenant => "Entra ID does not know the tenant".to_owned(),
        TokenRefusal::WrongCloud => "the tenant belongs to another national cloud".to_owned(),
        TokenRefusal::Other => {
            let mut message = format!("Entra ID refused the token request ({error}");
            for code in codes {
                message.push_str(&format!(", AADSTS{code}"));
            }
            message.push(')');
            if let Some(description) = description {
                message.push_str(": ");
                message.push_str(description);
            }
            message
        }
    }
}

fn code_suffix(code: &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        format!(" ({code})")
    }
}

fn list(groups: &[GroupSummary]) -> String {
    groups
        .iter()
        .map(|group| format!("`{}` ({})", group.display_name, group.id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn close_names(close: &[GroupSummary]) -> String {
    if close.is_empty() {
        String::new()
    } else {
        format!("; close names: {}", list(close))
    }
}

impl Error {
    /// Wraps `self` with the group whose read it broke. A refused token is about the
    /// credentials, not the group, and stays as it is.
    pub(crate) fn in_group(self, group: String) -> Error {
        match self {
            Error::Token { .. } | Error::TokenRequest { .. } => self,
            _ => Error::Group {
                group,
                source: Box::new(self),
            },
        }
    }

    /// Wraps `self` with the condition whose read it broke (a refused token stays as it is).
    pub(crate) fn in_selection(self, condition: String) -> Error {
        match self {
            Error::Token { .. } | Error::TokenRequest { .. } => self,
            _ => Error::Selection {
                condition,
                source: Box::new(self),
            },
        }
    }

    /// The kind core's callers branch on.
    pub fn kind(&self) -> AdapterErrorKind {
        match self {
            Error::InvalidUrl { .. }
            | Error::InsecureUrl { .. }
            | Error::InvalidSetting { .. }
            | Error::EmptySearchTerm
            | Error::Client(_) => AdapterErrorKind::Unknown,
            Error::Token { error, .. } if error == "temporarily_unavailable" => {
                AdapterErrorKind::Transport
            }
            Error::Token { .. } => AdapterErrorKind::Auth,
            Error::Refused { status, code, .. } => refused_kind(*status, code),
            Error::Throttled { .. } => AdapterErrorKind::Throttled,
            Error::Unavailable { .. } | Error::Transport { .. } => AdapterErrorKind::Transport,
            Error::Malformed { .. }
            | Error::BadNextLink { .. }
            | Error::IncompleteListing { .. } => AdapterErrorKind::Protocol,
            Error::ReadBudget { .. } => AdapterErrorKind::Transport,
            Error::LimitedInformation { .. } => AdapterErrorKind::Permission,
            Error::GroupIdNotFound { .. } | Error::GroupNotFound { .. } => {
                AdapterErrorKind::NotFound
            }
            Error::AmbiguousGroup { .. } => AdapterErrorKind::Conflict,
            Error::Group { source, .. }
            | Error::Selection { source, .. }
            | Error::TokenRequest { source } => source.kind(),
        }
    }

    /// The service's own code: `AADSTS7000215`, `Authorization_RequestDenied`.
    pub fn code(&self) -> Option<String> {
        match self {
            Error::Token { error, codes, .. } => Some(match codes.first() {
                Some(code) => format!("AADSTS{code}"),
                None => error.clone(),
            }),
            Error::Refused { code, .. } if !code.is_empty() => Some(code.clone()),
            Error::Group { source, .. }
            | Error::Selection { source, .. }
            | Error::TokenRequest { source } => source.code(),
            _ => None,
        }
    }

    /// The obvious next step, if there is one.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Token {
                reason: TokenRefusal::InvalidSecret,
                ..
            } => "the client secret must be the secret's value, not its id; copy it from the app \
                  registration's Certificates & secrets page when it is created"
                .to_owned(),
            Error::Token {
                reason: TokenRefusal::ExpiredSecret,
                ..
            } => "create a new client secret in the app registration (Certificates & secrets) and \
                  store it where `client_secret` points"
                .to_owned(),
            Error::Token {
                reason: TokenRefusal::UnknownApplication,
                tenant,
                ..
            } => format!(
                "check `client_id`; the app must be registered in tenant `{tenant}`, or consented \
                 there by an administrator"
            ),
            Error::Token {
                reason: TokenRefusal::UnknownTenant,
                ..
            } => "check `tenant` (a tenant id or a verified domain such as \
                  contoso.onmicrosoft.com) and `cloud`"
                .to_owned(),
            Error::Token {
                reason: TokenRefusal::WrongCloud,
                ..
            } => "set `cloud` to the tenant's national cloud (global, usgov, usgov-dod, china)"
                .to_owned(),
            Error::Refused {
                status: 401, code, ..
            } if code == "InvalidAuthenticationToken" => {
                "Graph refused a fresh token; check that `cloud` and `graph_url` match the tenant"
                    .to_owned()
            }
            Error::Refused { status: 403, .. } | Error::LimitedInformation { .. } => {
                PERMISSION_HINT.to_owned()
            }
            Error::Throttled { .. } => {
                "Graph is throttling this application; run again later or lower `concurrency`"
                    .to_owned()
            }
            Error::InsecureUrl { .. } => "use an https:// url".to_owned(),
            Error::GroupNotFound { .. } | Error::GroupIdNotFound { .. } => {
                "`adsync groups search <term>` lists groups with their names and ids".to_owned()
            }
            Error::AmbiguousGroup { .. } => {
                "name the group by its object id instead: `entra_group: { id: <object id> }`"
                    .to_owned()
            }
            Error::TokenRequest { .. } => "nothing was changed; check the network path to the \
                                           sign-in endpoint (`cloud`, or `authority_url` when \
                                           set) and run the command again"
                .to_owned(),
            Error::Group { source, .. } | Error::Selection { source, .. } => return source.hint(),
            _ => return None,
        })
    }
}

fn refused_kind(status: u16, code: &str) -> AdapterErrorKind {
    match status {
        401 => AdapterErrorKind::Auth,
        403 => AdapterErrorKind::Permission,
        404 => AdapterErrorKind::NotFound,
        429 => AdapterErrorKind::Throttled,
        400 if code == "Request_ResourceNotFound" => AdapterErrorKind::NotFound,
        400..=499 => AdapterErrorKind::Rejected,
        500..=599 => AdapterErrorKind::Transport,
        _ => AdapterErrorKind::Unknown,
    }
}

impl From<Error> for AdapterError {
    fn from(error: Error) -> AdapterError {
        let kind = error.kind();
        let code = error.code();
        let hint = error.hint();
        // The message carries every layer this crate prints itself (group, request, status);
        // only a foreign cause (reqwest, serde_json) travels on as `source`, so nothing is
        // printed twice.
        let mut message = String::new();
        let mut current = error;
        let source: Option<Box<dyn std::error::Error + Send + Sync>> = loop {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&current.to_string());
            match current {
                Error::Group { source, .. }
                | Error::Selection { source, .. }
                | Error::TokenRequest { source } => {
                    current = *source;
                }
                Error::InvalidUrl { source, .. } => break Some(Box::new(source)),
                Error::Client(source) | Error::Transport { source, .. } => {
                    break Some(Box::new(source.without_url()));
                }
                Error::Malformed { source, .. } => break Some(Box::new(source)),
                _ => break None,
            }
        };
        AdapterError {
            kind,
            message,
            code,
            hint,
            source,
        }
    }
}
