//! The JSON GoTo sends, as loosely as it can be read: unknown fields ignored, optional fields
//! optional, keys kept as the digits GoTo wrote.
//!
//! Which of these fields a user, licence or group really carries is partly unconfirmed; the
//! decisions that turn them into the model are in [`crate::api`].

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::value::RawValue;

use crate::model::Key;

/// A key as GoTo sends it: a JSON number (often wider than 64 bits) or a string of it. It is
/// written back as [`crate::api::key_json`] decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireKey(pub Key);

impl<'de> Deserialize<'de> for WireKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<WireKey, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get().trim();
        // A number must be all digits; a string may also hold letters, `-` and `_`.
        let (digits, valid) = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) => (
                inner.trim(),
                inner
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            ),
            None => (text, text.chars().all(|c| c.is_ascii_digit())),
        };
        match Key::new(digits) {
            Some(key) if valid => Ok(WireKey(key)),
            _ => Err(de::Error::custom(format!(
                "expected a key (a number or a string of letters and digits), found `{}`",
                text.chars().take(40).collect::<String>()
            ))),
        }
    }
}

/// One page of an Admin API collection: `{"results": [...], "fromIndex", "toIndex", "total"}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub results: Vec<T>,
    #[serde(default)]
    pub from_index: Option<u64>,
    #[serde(default)]
    pub to_index: Option<u64>,
    #[serde(default)]
    pub total: Option<u64>,
}

/// The answer to `/me`, as far as adsync reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The account key (a recorded answer).
    #[serde(default)]
    pub account_key: Option<WireKey>,
    /// The accounts (the official GoTo Connect guide).
    #[serde(default)]
    pub accounts: Vec<MeAccount>,
}

/// One account in `/me`'s `accounts`.
#[derive(Debug, Deserialize)]
pub struct MeAccount {
    /// The account key.
    pub key: WireKey,
}

/// An account user.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub key: WireKey,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub admin_roles: Option<Vec<String>>,
    #[serde(default)]
    pub managed_group_keys: Option<Vec<WireKey>>,
    #[serde(default)]
    pub license_keys: Option<Vec<WireKey>>,
    #[serde(default)]
    pub group_key: Option<WireKey>,
    #[serde(default)]
    pub status: Option<String>,
}

/// A licence.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Licence {
    pub key: WireKey,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub products: Vec<String>,
    pub seats: u64,
    pub user_count: u64,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub user_keys: Vec<WireKey>,
}

/// A user group.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub key: WireKey,
    pub name: String,
    #[serde(default)]
    pub parent_key: Option<WireKey>,
}

/// A custom role set.
#[derive(Debug, Deserialize)]
pub struct RoleSet {
    pub id: WireKey,
    pub name: String,
}

/// A user of a role set (`/rolesets/{id}/users`).
#[derive(Debug, Deserialize)]
pub struct RoleSetUser {
    pub key: WireKey,
}

/// One record of the answer to "Add Users": `key` is absent when the e-mail conflicted.
#[derive(Debug, Deserialize)]
pub struct Created {
    #[serde(default)]
    pub key: Option<WireKey>,
    pub email: String,
}

/// An OAuth error body (`{"error": "invalid_grant", "error_description": "..."}`).
#[derive(Debug, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// An Admin API error body, as far as one was ever seen:
/// `{"errorCode": "NOT_FOUND", "message": "..."}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    #[serde(default, alias = "code", alias = "error")]
    pub error_code: Option<String>,
    #[serde(default, alias = "description")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_wider_than_64_bits_keep_every_digit() {
        let created: Vec<Created> = serde_json::from_str(
            r#"[{"key": 78888886011013972886849029, "email": "jtianno@company.com"}]"#,
        )
        .unwrap();
        let key = created[0].key.clone().unwrap();
        assert_eq!(key.0.as_str(), "78888886011013972886849029");
        let quoted: WireKey = serde_json::from_str(r#""123""#).unwrap();
        assert_eq!(quoted.0.as_str(), "123");
        for bad in ["1.5e3", "null", "{}", "\"\"", "\"a b\""] {
            assert!(serde_json::from_str::<WireKey>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::to_string(&key).unwrap(),
            "78888886011013972886849029"
        );
    }
}
