//! The crate's one error type, and its conversion into core's [`AdapterError`].

use adsync_core::adapter::{AdapterError, AdapterErrorKind};

use crate::GroupSummary;

/// What to do when a TLS handshake fails on the certificate.
const CA_HINT: &str = "set source.ca_file to a PEM file holding the certificate authority that \
     issued the domain controller's certificate (and check that the url's host name is one the \
     certificate names)";

/// Everything that can go wrong reading Active Directory over LDAP.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `source.url` is not a usable LDAP url.
    #[error("source.url `{url}` is not a usable ldap url: {reason}")]
    InvalidUrl {
        /// The text given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A cleartext `ldap://` url to a host that is not loopback, without StartTLS.
    #[error(
        "source.url `{url}` would send the bind password in clear text: use ldaps://, or \
         ldap:// with `starttls: true` (plain ldap:// is accepted only for loopback hosts)"
    )]
    Cleartext {
        /// The text given.
        url: String,
    },

    /// The password resolved to nothing.
    #[error(
        "source.password is empty: Active Directory treats a simple bind with an empty password \
         as an anonymous bind, so adsync refuses it"
    )]
    EmptyPassword,

    /// The CA file holds no usable certificate.
    #[error("source.ca_file holds no usable certificate: {reason}")]
    CaFile {
        /// What is wrong with it.
        reason: String,
    },

    /// The TLS configuration could not be built.
    #[error("cannot set up tls: {0}")]
    Tls(#[source] rustls::Error),

    /// The connection (TCP, TLS or StartTLS) could not be made.
    #[error("cannot connect to `{url}`: {reason}")]
    Connect {
        /// The url.
        url: String,
        /// What failed, in words (the TLS alert, the socket error).
        reason: String,
        /// Whether the server's certificate was refused.
        certificate: bool,
    },

    /// The server refused the simple bind.
    #[error("the directory refused the bind as `{bind_dn}`: {}", result_text(*.rc, text))]
    Bind {
        /// The account.
        bind_dn: String,
        /// The LDAP result code (49 = invalidCredentials).
        rc: u32,
        /// The server's diagnostic text.
        text: String,
    },

    /// A search ended with a result code that is not success.
    #[error("{search} failed: {}", result_text(*.rc, text))]
    SearchFailed {
        /// The search (`the search for ... (base ..., filter ...)`).
        search: String,
        /// The LDAP result code.
        rc: u32,
        /// The server's diagnostic text.
        text: String,
    },

    /// The server stopped a search at its size limit (rc 4): the answer is incomplete.
    #[error(
        "{search} hit the server's size limit (rc 4, sizeLimitExceeded): the answer is incomplete, \
         so no plan is made"
    )]
    SizeLimit {
        /// The search.
        search: String,
    },

    /// The server answered with a referral adsync cannot follow.
    #[error("{search} was referred to another server ({}): adsync does not follow referrals, so the answer is incomplete", .refs.join(", "))]
    Referral {
        /// The search.
        search: String,
        /// The referral urls.
        refs: Vec<String>,
    },

    /// An operation did not finish in time.
    #[error("{search} timed out after {seconds} s")]
    Timeout {
        /// The operation.
        search: String,
        /// The limit.
        seconds: u64,
    },

    /// The connection broke during an operation.
    #[error("the connection to the directory was lost during {search}")]
    Dropped {
        /// The operation.
        search: String,
        /// The underlying failure.
        #[source]
        source: Box<ldap3::LdapError>,
    },

    /// An answer is not what an LDAP server sends.
    #[error("the answer to {search} is malformed: {reason}")]
    Malformed {
        /// The operation.
        search: String,
        /// What is wrong.
        reason: String,
    },

    /// No group has this name.
    #[error("no group is named `{name}`{}", close_text(close))]
    GroupNotFound {
        /// The name asked for.
        name: String,
        /// Groups with similar names.
        close: Vec<GroupSummary>,
    },

    /// No group has this objectGUID.
    #[error("no group has the objectGUID `{id}`")]
    GroupIdNotFound {
        /// The id asked for.
        id: String,
    },

    /// A DN names an entry that is not a group.
    #[error("`{dn}` is not a group")]
    NotAGroup {
        /// The DN asked for.
        dn: String,
    },

    /// Several groups have this name.
    #[error(
        "the group name `{name}` is ambiguous: {}",
        candidates_text(candidates)
    )]
    AmbiguousGroup {
        /// The name asked for.
        name: String,
        /// Every group with it.
        candidates: Vec<GroupSummary>,
    },

    /// A group id in the configuration is not a GUID.
    #[error("`{id}` is not an objectGUID (expected 8-4-4-4-12 hexadecimal digits)")]
    InvalidGuid {
        /// The text given.
        id: String,
    },

    /// An entry lacks its objectGUID, or it is not 16 bytes.
    #[error("`{dn}` has no usable objectGUID ({reason}); adsync keys users and groups by it")]
    MissingGuid {
        /// The entry.
        dn: String,
        /// What is wrong.
        reason: String,
    },

    /// A member of a group cannot be read.
    #[error(
        "member `{member}` of `{group}` cannot be read: {}; a member that cannot be read would be \
         taken for one who left, so no plan is made",
        result_text(*.rc, text)
    )]
    MemberUnreadable {
        /// The group.
        group: String,
        /// The member's DN.
        member: String,
        /// The LDAP result code.
        rc: u32,
        /// The server's diagnostic text.
        text: String,
    },

    /// `search_groups` was given nothing to search for.
    #[error("the group search term is empty")]
    EmptySearchTerm,

    /// A `where:` condition or a template needs what Active Directory cannot answer.
    #[error("`{what}` cannot be read from Active Directory: {reason}")]
    Unsupported {
        /// The condition or attribute.
        what: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// Whether the server's certificate was refused.
    fn is_certificate(&self) -> bool {
        matches!(
            self,
            Error::Connect {
                certificate: true,
                ..
            }
        )
    }
}

/// `rc 49 (invalidCredentials): <text>`.
pub(crate) fn result_text(rc: u32, text: &str) -> String {
    let name = rc_name(rc);
    let text = text.trim().trim_end_matches('\0').trim();
    if text.is_empty() {
        format!("rc {rc} ({name})")
    } else {
        format!("rc {rc} ({name}): {text}")
    }
}

/// RFC 4511's names for the result codes a read can end with.
fn rc_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "unknown result code",
    }
}

fn close_text(close: &[GroupSummary]) -> String {
    if close.is_empty() {
        return String::new();
    }
    let names: Vec<String> = close.iter().map(|g| format!("`{}`", g.name)).collect();
    format!("; close names: {}", names.join(", "))
}

fn candidates_text(candidates: &[GroupSummary]) -> String {
    let names: Vec<String> = candidates
        .iter()
        .map(|g| format!("`{}` ({})", g.name, g.dn))
        .collect();
    format!(
        "{}; name the group by its DN or `{{ id: <objectGUID> }}`",
        names.join(", ")
    )
}

impl From<Error> for AdapterError {
    fn from(error: Error) -> AdapterError {
        let kind = match &error {
            Error::Bind { rc: 49, .. } | Error::EmptyPassword => AdapterErrorKind::Auth,
            Error::Bind { rc: 50, .. }
            | Error::SearchFailed { rc: 50, .. }
            | Error::MemberUnreadable { rc: 50, .. } => AdapterErrorKind::Permission,
            Error::Bind { .. } => AdapterErrorKind::Auth,
            Error::Connect { .. } | Error::Timeout { .. } | Error::Dropped { .. } => {
                AdapterErrorKind::Transport
            }
            Error::GroupNotFound { .. }
            | Error::GroupIdNotFound { .. }
            | Error::NotAGroup { .. } => AdapterErrorKind::NotFound,
            Error::AmbiguousGroup { .. } => AdapterErrorKind::Conflict,
            Error::Malformed { .. } | Error::MissingGuid { .. } => AdapterErrorKind::Protocol,
            Error::SizeLimit { .. }
            | Error::Referral { .. }
            | Error::SearchFailed { .. }
            | Error::MemberUnreadable { .. } => AdapterErrorKind::Rejected,
            Error::InvalidUrl { .. }
            | Error::Cleartext { .. }
            | Error::CaFile { .. }
            | Error::Tls(_)
            | Error::InvalidGuid { .. }
            | Error::EmptySearchTerm
            | Error::Unsupported { .. } => AdapterErrorKind::Unknown,
        };
        let hint = hint(&error);
        let code = match &error {
            Error::Bind { rc, .. }
            | Error::SearchFailed { rc, .. }
            | Error::MemberUnreadable { rc, .. } => Some(format!("rc {rc}")),
            Error::SizeLimit { .. } => Some("rc 4".to_owned()),
            _ => None,
        };
        let mut adapted = AdapterError::new(kind, error.to_string());
        if let Some(code) = code {
            adapted = adapted.with_code(code);
        }
        if let Some(hint) = hint {
            adapted = adapted.with_hint(hint);
        }
        match error {
            Error::Dropped { source, .. } => adapted.with_source(source),
            Error::Tls(source) => adapted.with_source(source),
            _ => adapted,
        }
    }
}

/// The obvious next step for `error`, when there is one.
fn hint(error: &Error) -> Option<String> {
    if error.is_certificate() {
        return Some(CA_HINT.to_owned());
    }
    Some(
        match error {
            Error::Bind { rc: 49, .. } => {
                "check source.bind_dn and the password it references; Active Directory also \
                 answers rc 49 for a locked, expired or disabled account (the `data` code in the \
                 message says which)"
            }
            Error::Bind { rc: 8, .. } | Error::Bind { rc: 13, .. } => {
                "the domain controller requires an encrypted connection: use ldaps:// or \
                 `starttls: true`"
            }
            Error::SizeLimit { .. } => {
                "lower source.page_size (Active Directory's MaxPageSize is 1,000), or raise the \
                 server's size limit for the service account"
            }
            Error::SearchFailed { rc: 11, .. } => {
                "the server refused the page size: lower source.page_size"
            }
            Error::Referral { .. } => {
                "point source.url at a domain controller of the domain that holds these entries, \
                 or at a global catalog (ldaps://dc1.corp.example:3269) for members from other \
                 domains of the forest"
            }
            Error::MemberUnreadable { .. } | Error::SearchFailed { rc: 50, .. } => {
                "give the service account read access to every user and group in the paired \
                 groups (Active Directory's Authenticated Users read access is enough)"
            }
            Error::Timeout { .. } | Error::Dropped { .. } | Error::Connect { .. } => {
                "nothing was changed; check that the domain controller is reachable, then run \
                 the command again"
            }
            _ => return None,
        }
        .to_owned(),
    )
}
