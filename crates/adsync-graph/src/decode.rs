//! What the source makes of a response body, as functions of the bytes alone.
//!
//! Every body [`crate::GraphSource`] reads goes through these functions (paging and errors
//! aside), so they are what a property test feeds with hostile input: none panics on any bytes,
//! and each fails with a [`serde_json::Error`] when the body is not what Graph sends.

use std::time::Duration;

use adsync_core::model::DirectoryUser;
use adsync_core::secret::Secret;

use crate::convert::{self, Member};
use crate::error::TokenRefusal;
use crate::{GroupSummary, wire};

/// The longest token life adsync believes. Entra ID's app-only tokens live 60 to 90 minutes; a
/// longer claim (or a huge number) is capped so that the renewal time stays representable.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The token life assumed when the answer gives none.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

/// A granted app-only token.
#[derive(Clone, Debug)]
pub struct Token {
    /// The bearer token (redacted in `Debug`).
    pub access_token: Secret,
    /// How long it lives, at most [`MAX_TOKEN_LIFETIME`].
    pub lifetime: Duration,
}

/// A refused token request: what the refusal means and what Entra ID said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRefused {
    /// What the refusal means.
    pub reason: TokenRefusal,
    /// The OAuth2 `error` value.
    pub error: String,
    /// The AADSTS numbers.
    pub codes: Vec<u64>,
    /// The first line of `error_description`.
    pub description: Option<String>,
}

/// One page of a user listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPage {
    /// The users, in page order (not yet de-duplicated).
    pub users: Vec<DirectoryUser>,
    /// Users listed with only an id and a type (Graph's "limited information").
    pub limited: usize,
    /// `@odata.nextLink`, unchecked.
    pub next_link: Option<String>,
}

/// One page of a group listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupPage {
    /// The groups; objects of another `@odata.type` are left out.
    pub groups: Vec<GroupSummary>,
    /// `@odata.nextLink`, unchecked.
    pub next_link: Option<String>,
}

/// The answer to a successful token request. An error never quotes the body: it may hold the
/// token (a proxy that double-encodes the JSON turns it into one string serde would quote).
pub fn token(body: &[u8]) -> Result<Token, serde_json::Error> {
    let granted: wire::TokenGranted =
        serde_json::from_slice(body).map_err(|error| opaque(body, error, "`access_token`"))?;
    let lifetime = granted
        .lifetime_secs()
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs)
        .min(MAX_TOKEN_LIFETIME);
    Ok(Token {
        access_token: Secret::new(granted.access_token),
        lifetime,
    })
}

/// The answer to a refused token request.
pub fn token_refused(body: &[u8]) -> Result<TokenRefused, serde_json::Error> {
    let refused: wire::TokenRefused =
        serde_json::from_slice(body).map_err(|error| opaque(body, error, "`error`"))?;
    let description = refused
        .error_description
        .as_deref()
        .and_then(|text| text.lines().next())
        .map(str::to_owned);
    Ok(TokenRefused {
        reason: TokenRefusal::classify(&refused.error, &refused.error_codes),
        error: refused.error,
        codes: refused.error_codes,
        description,
    })
}

/// `error` without any text of the body: syntax errors (which name a position only) as they
/// are, type errors (which quote the value they met) as the shape of the body.
fn opaque(body: &[u8], error: serde_json::Error, wanted: &str) -> serde_json::Error {
    use serde::de::Error as _;
    if error.classify() != serde_json::error::Category::Data
        || error.to_string().starts_with("missing field")
    {
        return error;
    }
    let shape = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(_)) => "an object without a usable field it needs",
        Ok(serde_json::Value::String(_)) => "a JSON string (double-encoded JSON?)",
        Ok(serde_json::Value::Array(_)) => "a JSON array",
        Ok(serde_json::Value::Number(_)) => "a JSON number",
        Ok(serde_json::Value::Bool(_)) => "a JSON boolean",
        Ok(serde_json::Value::Null) => "JSON null",
        Err(_) => "not JSON",
    };
    serde_json::Error::custom(format!(
        "expected an object with {wanted}; the body is {shape} (its text is not shown: it may \
         hold a secret)"
    ))
}

/// A page of `members/microsoft.graph.user` or `transitiveMembers/microsoft.graph.user`.
pub fn user_page(body: &[u8]) -> Result<UserPage, serde_json::Error> {
    let page: wire::Page<wire::User> = serde_json::from_slice(body)?;
    let (users, limited) = users(page.value);
    Ok(UserPage {
        users,
        limited,
        next_link: page.next_link,
    })
}

/// A page of `/groups` or `members/microsoft.graph.group`.
pub fn group_page(body: &[u8]) -> Result<GroupPage, serde_json::Error> {
    let page: wire::Page<wire::Group> = serde_json::from_slice(body)?;
    Ok(GroupPage {
        groups: groups(page.value),
        next_link: page.next_link,
    })
}

/// `GET /groups/{id}`.
pub fn group(body: &[u8]) -> Result<GroupSummary, serde_json::Error> {
    let group: wire::Group = serde_json::from_slice(body)?;
    Ok(convert::group(group))
}

/// Graph's error envelope: `(code, message)`, or `None` when the body is not one.
pub fn error_body(body: &[u8]) -> Option<(String, String)> {
    let body: wire::GraphErrorBody = serde_json::from_slice(body).ok()?;
    Some((body.error.code, body.error.message))
}

/// Listed users into directory users, counting those with limited information; other object
/// types are dropped.
pub(crate) fn users(items: Vec<wire::User>) -> (Vec<DirectoryUser>, usize) {
    let mut users = Vec::with_capacity(items.len());
    let mut limited = 0;
    for item in items {
        match convert::member(item) {
            Member::User(user) => users.push(user),
            Member::Limited => limited += 1,
            Member::Other => {}
        }
    }
    (users, limited)
}

/// Listed groups into summaries; objects of another `@odata.type` are dropped.
pub(crate) fn groups(items: Vec<wire::Group>) -> Vec<GroupSummary> {
    items
        .into_iter()
        .filter(|group| {
            group
                .odata_type
                .as_deref()
                .is_none_or(|kind| kind == wire::GROUP_TYPE)
        })
        .map(convert::group)
        .collect()
}
