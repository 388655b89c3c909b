//! Every spelling and behaviour adsync relies on when it talks to GoTo, each in one place.
//!
//! Items marked `[DOC]` are stated in GoTo's public documentation; `[DOC, old]` on the older
//! `goto-developer.logmeininc.com` pages; `[CODE]` only in public client code; `[UNCONFIRMED]` is
//! a choice made without any public confirmation. When one is confirmed or corrected, the item
//! here is the only thing to change: the client and the emulator in `tests/` both use it. The
//! crate documentation repeats the unconfirmed ones as a table.

use std::collections::BTreeSet;

use serde_json::value::RawValue;

use crate::model::{AdminRole, Key};
use crate::wire;

/// Hosts and base URLs.
pub mod host {
    /// The Admin API. `[DOC]`
    pub const ADMIN: &str = "https://api.getgo.com/admin/rest/v1";
    /// The SCIM API (identities; adsync needs none of it today). `[DOC]`
    pub const SCIM: &str = "https://api.getgo.com/identity/v1";
    /// Where the operator's browser signs in. `[DOC]`
    pub const AUTHORIZE: &str = "https://authentication.logmeininc.com/oauth/authorize";
    /// Where codes and refresh tokens become access tokens (HTTP Basic client id and secret).
    /// `[DOC]`; the old `api.getgo.com/oauth/v2` host is gone.
    pub const TOKEN: &str = "https://authentication.logmeininc.com/oauth/token";
}

/// Paths below [`host::ADMIN`].
pub mod path {
    use crate::model::Key;

    /// Who signed in, and their account. `[DOC]`
    pub fn me() -> String {
        "/me".to_owned()
    }

    /// The account's users (GET lists, POST adds). `[DOC]` for POST, `[CODE]` for GET.
    pub fn users(account: &Key) -> String {
        format!("/accounts/{account}/users")
    }

    /// One user (PUT updates). `[DOC, old]`
    pub fn user(account: &Key, user: &Key) -> String {
        format!("/accounts/{account}/users/{user}")
    }

    /// The account's licences with seats and userCount. `[CODE]`
    pub fn licences(account: &Key) -> String {
        format!("/accounts/{account}/licenses")
    }

    /// The account's user groups. `[CODE]`
    pub fn groups(account: &Key) -> String {
        format!("/accounts/{account}/groups")
    }

    /// The account's custom role sets. `[CODE]`
    pub fn role_sets(account: &Key) -> String {
        format!("/accounts/{account}/rolesets")
    }

    /// The users of one role set. `[CODE]`
    pub fn role_set_users(account: &Key, role_set: &Key) -> String {
        format!("/accounts/{account}/rolesets/{role_set}/users")
    }
}

/// Query parameter names.
pub mod param {
    /// Paging: the index of the first item. `[CODE]`
    pub const OFFSET: &str = "offset";
    /// Paging: items per page. `[CODE]`
    pub const PAGE_SIZE: &str = "pageSize";
    /// Resource filtering (`email eq "..."`). `[CODE]`
    pub const FILTER: &str = "filter";
    /// "Add Users": 409 on any e-mail conflict when true (the default). `[DOC, old]`;
    /// that it is a query parameter rather than a body field is `[UNCONFIRMED]`.
    pub const ALL_OR_NOTHING: &str = "allOrNothing";
}

/// Items per page adsync asks for. `[UNCONFIRMED]`: no document gives the largest page size.
pub const PAGE_SIZE: u64 = 100;

/// GoTo's documented rate limit per API. `[DOC]` ("default | 10 requests per second", 429 when
/// exceeded).
pub const DOCUMENTED_RATE_PER_SECOND: u32 = 10;

/// The rate adsync keeps to by default: under the documented limit, with room for clock skew.
pub const DEFAULT_RATE_PER_SECOND: u32 = 8;

/// The OAuth scope adsync asks for: "Admin Center — Manage users across GoTo products".
/// `[UNCONFIRMED]` (third-party copy of the portal's scope list; public clients use it).
pub const SCOPE: &str = "identity:";

/// Whether a page of a collection is the last one. `[CODE]`: stop when `toIndex + 1 >= total`.
/// Without `toIndex`, the page at `offset` is the last when it reaches `total`; without either,
/// when it is shorter than asked for. An empty page is always the last.
pub fn is_last_page(
    offset: u64,
    page_len: usize,
    to_index: Option<u64>,
    total: Option<u64>,
) -> bool {
    let len = page_len as u64;
    if len == 0 {
        return true;
    }
    match (to_index, total) {
        (Some(to), Some(total)) => to.saturating_add(1) >= total,
        (None, Some(total)) => offset.saturating_add(len) >= total,
        _ => len < PAGE_SIZE,
    }
}

/// The account key in the answer to `/me`. `[UNCONFIRMED]`: a recorded answer has a top-level
/// `accountKey`; the official GoTo Connect guide shows `accounts: [{key, name}]`. Either is read;
/// with several accounts and no `accountKey`, the caller must configure one.
pub fn account_key_of_me(me: &wire::Me) -> Result<Key, String> {
    if let Some(key) = &me.account_key {
        return Ok(key.0.clone());
    }
    match me.accounts.as_slice() {
        [one] => Ok(one.key.0.clone()),
        [] => Err("it names no account (neither `accountKey` nor `accounts[].key`)".to_owned()),
        many => Err(format!(
            "it names {} accounts ({}); set the account key in the configuration",
            many.len(),
            many.iter()
                .map(|account| account.key.0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The licences a user holds. `[UNCONFIRMED]`: a licence lists its holders in `userKeys`
/// (`[CODE]`, a connector's fixture); a user may list `licenseKeys` (request shape in public
/// clients). Both are read and merged, so either layout gives the same snapshot.
pub fn licences_of_user(user: &wire::User, holders: &BTreeSet<(Key, Key)>) -> BTreeSet<Key> {
    let mut licences: BTreeSet<Key> = user
        .license_keys
        .iter()
        .flatten()
        .map(|key| key.0.clone())
        .collect();
    licences.extend(
        holders
            .iter()
            .filter(|(holder, _)| *holder == user.key.0)
            .map(|(_, licence)| licence.clone()),
    );
    licences
}

/// The user group of a user. `[UNCONFIRMED]`: read from the user's `groupKey`.
pub fn group_of_user(user: &wire::User) -> Option<Key> {
    user.group_key.as_ref().map(|key| key.0.clone())
}

/// The admin role name of a full administrator. `[DOC, old]` ("SUPER_USER").
pub const ROLE_FULL: &str = "SUPER_USER";

/// The admin role name of a user-group manager. `[UNCONFIRMED]`: `MANAGE_USERS` is a documented
/// role name ("SUPER_USER or MANAGE_USERS adminRoles"); that a group manager is `MANAGE_USERS`
/// with `managedGroupKeys` is a choice.
pub const ROLE_MANAGER: &str = "MANAGE_USERS";

/// A user's [`AdminRole`] from its `adminRoles` and `managedGroupKeys`. `[UNCONFIRMED]` (see
/// [`ROLE_MANAGER`]).
pub fn role_of_user(user: &wire::User) -> AdminRole {
    let roles: BTreeSet<String> = user.admin_roles.iter().flatten().cloned().collect();
    let managed: BTreeSet<Key> = user
        .managed_group_keys
        .iter()
        .flatten()
        .map(|key| key.0.clone())
        .collect();
    if roles.is_empty() && managed.is_empty() {
        AdminRole::None
    } else if roles.contains(ROLE_FULL) {
        AdminRole::Full
    } else if roles.len() == 1 && roles.contains(ROLE_MANAGER) && !managed.is_empty() {
        AdminRole::ManagerOf { groups: managed }
    } else {
        AdminRole::Other { roles }
    }
}

/// A key as request JSON. `[UNCONFIRMED]`: keys are sent as JSON numbers, as GoTo sends them;
/// a key that is not a plain decimal number goes as a string.
pub fn key_json(key: &Key) -> serde_json::Result<Box<RawValue>> {
    let text = key.as_str();
    let numeric = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if numeric {
        RawValue::from_string(text.to_owned())
    } else {
        serde_json::value::to_raw_value(text)
    }
}

impl serde::Serialize for wire::WireKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        key_json(&self.0)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

fn keys_json(keys: &BTreeSet<Key>) -> serde_json::Result<Vec<Box<RawValue>>> {
    keys.iter().map(key_json).collect()
}

/// The body of "Add Users" for one user. `[DOC]` for `users[].email/firstName/lastName` and
/// `suppressEmail`; `[CODE]` for `licenseKeys`, sent at the top level as in the public GoTo
/// Connect client ("You must also assign a new user either a licenseKey or an adminRole",
/// `[DOC, old]`).
pub fn create_user_body(
    email: &str,
    first_name: &str,
    last_name: &str,
    licences: &BTreeSet<Key>,
    suppress_email: bool,
) -> serde_json::Result<Vec<u8>> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct NewUser<'a> {
        email: &'a str,
        first_name: &'a str,
        last_name: &'a str,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        users: [NewUser<'a>; 1],
        license_keys: Vec<Box<RawValue>>,
        suppress_email: bool,
    }
    serde_json::to_vec(&Body {
        users: [NewUser {
            email,
            first_name,
            last_name,
        }],
        license_keys: keys_json(licences)?,
        suppress_email,
    })
}

/// What "Add Users" said about one e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateAnswer {
    /// The user was added with this key.
    Created(Key),
    /// The e-mail belongs to an existing GoTo user (another account, or a pending invitation).
    ExistingAccount,
}

/// Reads the answer to "Add Users" for `email`. `[DOC]`: a list of `{key, email}`; "The key
/// property may be absent if the corresponding email conflicted with an existing email"
/// (`[DOC, old]`). An answer that does not mention the e-mail at all is also taken as a
/// conflict. `[UNCONFIRMED]`: an object wrapping the list in `results` is accepted too.
pub fn create_answer(body: &[u8], email: &str) -> serde_json::Result<CreateAnswer> {
    #[derive(serde::Deserialize)]
    struct Wrapped {
        results: Vec<wire::Created>,
    }
    // Keys are raw JSON values, which serde's untagged enums cannot buffer: look at the first
    // byte instead.
    let text = String::from_utf8_lossy(body);
    let records: Vec<wire::Created> = if text.trim_start().starts_with('[') {
        serde_json::from_str(&text)?
    } else {
        serde_json::from_str::<Wrapped>(&text)?.results
    };
    let wanted = crate::model::normalize_email(email);
    let record = records
        .into_iter()
        .find(|record| crate::model::normalize_email(&record.email) == wanted);
    Ok(match record.and_then(|record| record.key) {
        Some(key) => CreateAnswer::Created(key.0),
        None => CreateAnswer::ExistingAccount,
    })
}

/// The body of "Update User" replacing the user's licences. `[CODE]`: public clients send
/// `licenseKeys` to replace products; whether GoTo replaces or merges the list is
/// `[UNCONFIRMED]` (adsync always sends the complete wanted list, so either works for adds; a
/// merge would make removals no-ops, which the next plan would show).
pub fn licences_body(licences: &BTreeSet<Key>) -> serde_json::Result<Vec<u8>> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        license_keys: Vec<Box<RawValue>>,
    }
    serde_json::to_vec(&Body {
        license_keys: keys_json(licences)?,
    })
}

/// The body of "Update User" setting the admin role. `[DOC, old]` for `adminRoles` and
/// `managedGroupKeys` on "Update User"; the mapping of [`AdminRole`] onto them is
/// `[UNCONFIRMED]` (see [`ROLE_MANAGER`]). `None` for [`AdminRole::Other`], which adsync never
/// writes.
pub fn role_body(role: &AdminRole) -> Option<serde_json::Result<Vec<u8>>> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        admin_roles: Vec<&'static str>,
        managed_group_keys: Vec<Box<RawValue>>,
    }
    let body = match role {
        AdminRole::None => Body {
            admin_roles: Vec::new(),
            managed_group_keys: Vec::new(),
        },
        AdminRole::Full => Body {
            admin_roles: vec![ROLE_FULL],
            managed_group_keys: Vec::new(),
        },
        AdminRole::ManagerOf { groups } => Body {
            admin_roles: vec![ROLE_MANAGER],
            managed_group_keys: match keys_json(groups) {
                Ok(keys) => keys,
                Err(error) => return Some(Err(error)),
            },
        },
        AdminRole::Other { .. } => return None,
    };
    Some(serde_json::to_vec(&body))
}

/// The body of "Update User" moving the user to a user group. `[UNCONFIRMED]`: `groupKey` on
/// the user, the field the users listing is read from ([`group_of_user`]).
pub fn group_body(group: &Key) -> serde_json::Result<Vec<u8>> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        group_key: Box<RawValue>,
    }
    serde_json::to_vec(&Body {
        group_key: key_json(group)?,
    })
}

/// The filter finding a user by e-mail. `[CODE]`: `email eq "<email>"`, spaces sent as `%20`
/// ("The GoTo API doesn't accept `+`"); the caller builds the query with `%20`.
pub fn email_filter(email: &str) -> String {
    format!("email eq \"{}\"", email.replace('"', ""))
}

/// Whether a refused write that adds licences means "out of licences". `[UNCONFIRMED]`: GoTo's
/// error for a licence without free seats is not documented. Any 400, 403, 409 or 422 whose
/// body speaks of seats or licences is taken as such.
pub fn is_out_of_licences(status: u16, body: &[u8]) -> bool {
    if !matches!(status, 400 | 403 | 409 | 422) {
        return false;
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    ["seat", "licen", "no_available"]
        .iter()
        .any(|word| text.contains(word))
}

/// Whether a refused refresh means the refresh token is revoked or expired, so only a new
/// `adsync goto login` helps. `[UNCONFIRMED]` for GoTo's exact answer; RFC 6749 §5.2 says
/// `invalid_grant` with 400, and some GoTo endpoints answer 401.
pub fn is_refresh_revoked(status: u16, oauth_error: Option<&str>) -> bool {
    match oauth_error {
        Some(error) => matches!(error, "invalid_grant" | "invalid_token"),
        None => status == 401,
    }
}

/// Reads the token endpoint's answer. `[DOC]` fields `access_token`, `expires_in`; a rotated
/// `refresh_token` may come back (`[UNCONFIRMED]` whether GoTo rotates; adsync stores it when it
/// does). GoTo's own published refresh sample ends in `,}`; that trailing comma is tolerated.
pub fn token_answer(body: &[u8]) -> serde_json::Result<wire::TokenAnswer> {
    match serde_json::from_slice(body) {
        Ok(answer) => Ok(answer),
        Err(error) => {
            let text = String::from_utf8_lossy(body);
            let trimmed = text.trim_end();
            let Some(open) = trimmed.strip_suffix('}') else {
                return Err(error);
            };
            let Some(before) = open.trim_end().strip_suffix(',') else {
                return Err(error);
            };
            serde_json::from_str(&format!("{before}}}")).map_err(|_| error)
        }
    }
}

/// Whether the authorization server takes PKCE (`code_challenge`, `code_challenge_method=S256`,
/// `code_verifier`). `[UNCONFIRMED]`: only a third-party copy of an RFC 8414 metadata document
/// says so. adsync sends PKCE always; a server that ignores it still works (the client secret
/// protects the exchange).
pub const PKCE: bool = true;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_refresh_sample_is_read_despite_its_trailing_comma() {
        // GoTo's "How to use refresh tokens" sample answer, verbatim (tokens shortened there).
        let sample = br#"{
"access_token": "eyJraWQiOiJvYXV0aHYyLmxt666...",
"expires_in": 3600,
"scope": "users.v1.lines.read calls.v2.initiate",
"principal": "mahar.singh@company.com",
}"#;
        let answer = token_answer(sample).unwrap();
        assert_eq!(answer.access_token, "eyJraWQiOiJvYXV0aHYyLmxt666...");
        assert_eq!(answer.expires_in, Some(3600));
        assert!(answer.refresh_token.is_none());
        assert!(token_answer(b"{\"access_token\": ,}").is_err());
        assert!(token_answer(b"<html>").is_err());
    }

    #[test]
    fn me_gives_the_account_key_in_either_layout() {
        let me = |text: &str| serde_json::from_str::<wire::Me>(text).unwrap();
        let observed =
            me(r#"{"key": 1, "accountKey": 78888886011013972886849029, "orgAdmin": false}"#);
        assert_eq!(
            account_key_of_me(&observed).unwrap().as_str(),
            "78888886011013972886849029"
        );
        let documented = me(r#"{"accounts": [{"key": "778", "name": "Contoso"}]}"#);
        assert_eq!(account_key_of_me(&documented).unwrap().as_str(), "778");
        let two = me(r#"{"accounts": [{"key": 1}, {"key": 2}]}"#);
        assert!(account_key_of_me(&two).unwrap_err().contains("2 accounts"));
        assert!(account_key_of_me(&me("{}")).is_err());
    }

    #[test]
    fn the_create_answer_tells_created_from_existing() {
        let created = br#"[{"key": 78888886011013972886849029, "email": "JTianno@company.com"}]"#;
        assert_eq!(
            create_answer(created, "jtianno@company.com").unwrap(),
            CreateAnswer::Created(Key::new("78888886011013972886849029").unwrap())
        );
        let conflict = br#"[{"email": "jtianno@company.com"}]"#;
        assert_eq!(
            create_answer(conflict, "jtianno@company.com").unwrap(),
            CreateAnswer::ExistingAccount
        );
        assert_eq!(
            create_answer(b"[]", "jtianno@company.com").unwrap(),
            CreateAnswer::ExistingAccount
        );
        assert!(create_answer(b"{\"oops\": 1}", "a@b").is_err());
    }

    #[test]
    fn bodies_carry_keys_as_numbers() {
        let keys: BTreeSet<Key> = [Key::new("78888886011013972886849029").unwrap()].into();
        assert_eq!(
            String::from_utf8(licences_body(&keys).unwrap()).unwrap(),
            r#"{"licenseKeys":[78888886011013972886849029]}"#
        );
        assert_eq!(
            String::from_utf8(role_body(&AdminRole::None).unwrap().unwrap()).unwrap(),
            r#"{"adminRoles":[],"managedGroupKeys":[]}"#
        );
        assert!(
            role_body(&AdminRole::Other {
                roles: BTreeSet::new()
            })
            .is_none()
        );
        assert_eq!(
            String::from_utf8(group_body(&Key::new("g-1").unwrap()).unwrap()).unwrap(),
            r#"{"groupKey":"g-1"}"#
        );
    }

    #[test]
    fn paging_stops_where_the_public_clients_stop() {
        assert!(!is_last_page(0, 100, Some(99), Some(250)));
        assert!(is_last_page(200, 50, Some(249), Some(250)));
        assert!(is_last_page(0, 0, None, None));
        assert!(!is_last_page(0, 100, None, None));
        assert!(is_last_page(0, 7, None, None));
        assert!(is_last_page(0, 3, None, Some(3)));
        assert!(!is_last_page(100, 100, None, Some(250)));
        assert!(is_last_page(200, 50, None, Some(250)));
    }
}
