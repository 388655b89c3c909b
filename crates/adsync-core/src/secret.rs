//! Secrets: references in the configuration, and a redacting holder for resolved values.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// A resolved secret value. `Debug` prints `[REDACTED]`; there is no `Display` and no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value, trimming the trailing newline a secret file usually ends with. The value
    /// is remembered for [`redact`]: every secret in play (configured ones, tokens issued during
    /// the run) is masked wherever text leaves the process through it.
    pub fn new(value: impl Into<String>) -> Secret {
        let mut value = value.into();
        while value.ends_with('\n') || value.ends_with('\r') {
            value.pop();
        }
        remember(&value);
        Secret(value)
    }

    /// The value, for the one place that sends it over the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// What [`redact`] puts in place of a secret value.
pub const REDACTED: &str = "[REDACTED]";

/// Values shorter than this are not masked: they would mask ordinary text.
const MIN_REDACTED_LEN: usize = 4;

/// How many values are remembered; the oldest are forgotten first (a long-running service
/// renews tokens, and an expired token matters less than the configured secrets, which come
/// first and are never forgotten).
const MAX_REMEMBERED: usize = 512;

/// The configured secrets kept for good, before the forgettable ones.
const KEPT: usize = 64;

/// Every secret value this process has held, with the forms it takes in text (raw, escaped in
/// JSON, form-encoded).
static REMEMBERED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn remembered() -> std::sync::MutexGuard<'static, Vec<String>> {
    REMEMBERED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn remember(value: &str) {
    if value.chars().count() < MIN_REDACTED_LEN {
        return;
    }
    let escaped = serde_json::to_string(value).unwrap_or_default();
    let escaped = escaped.trim_matches('"').to_owned();
    let forms = [value.to_owned(), escaped, form_encoded(value)];
    let mut remembered = remembered();
    for form in forms {
        if form.chars().count() >= MIN_REDACTED_LEN && !remembered.contains(&form) {
            remembered.push(form);
        }
    }
    while remembered.len() > MAX_REMEMBERED {
        remembered.remove(KEPT);
    }
    // Longest first, so a secret that contains another is masked whole.
    remembered.sort_by_key(|form| std::cmp::Reverse(form.len()));
}

/// `application/x-www-form-urlencoded`, as a form body carries the value.
fn form_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `text` with every secret value this process has held replaced by [`REDACTED`]: for error
/// messages, logs, audit lines and outputs that may quote an answer verbatim.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let remembered = remembered();
    if !remembered.iter().any(|form| text.contains(form.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for form in remembered.iter() {
        if out.contains(form.as_str()) {
            out = out.replace(form.as_str(), REDACTED);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Where a secret comes from. Literal values are refused when the configuration is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file whose content is the secret (relative paths resolve beside the config file).
    File(String),
}

impl SecretRef {
    /// How to name this reference in messages (`environment variable X`, `file Y`).
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env(name) => format!("environment variable `{name}`"),
            SecretRef::File(path) => format!("file `{path}`"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor;

        impl<'de> Visitor<'de> for RefVisitor {
            type Value = SecretRef;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a secret reference `{ env: VARIABLE }` or `{ file: PATH }`")
            }

            // The value itself is deliberately not echoed: it may be the secret. A PIN or a
            // numeric token reaches the numeric visitors, whose default errors would quote it.
            fn visit_str<E: de::Error>(self, _value: &str) -> Result<SecretRef, E> {
                Err(literal())
            }

            fn visit_i64<E: de::Error>(self, _value: i64) -> Result<SecretRef, E> {
                Err(literal())
            }

            fn visit_i128<E: de::Error>(self, _value: i128) -> Result<SecretRef, E> {
                Err(literal())
            }

            fn visit_u64<E: de::Error>(self, _value: u64) -> Result<SecretRef, E> {
                Err(literal())
            }

            fn visit_u128<E: de::Error>(self, _value: u128) -> Result<SecretRef, E> {
                Err(literal())
            }

            fn visit_f64<E: de::Error>(self, _value: f64) -> Result<SecretRef, E> {
                Err(literal())
            }

            fn visit_bool<E: de::Error>(self, _value: bool) -> Result<SecretRef, E> {
                Err(literal())
            }

            fn visit_bytes<E: de::Error>(self, _value: &[u8]) -> Result<SecretRef, E> {
                Err(literal())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "an empty secret reference; expected `{ env: VARIABLE }` or `{ file: PATH }`",
                    ));
                };
                let value: String = map.next_value()?;
                let reference = match key.as_str() {
                    "env" => SecretRef::Env(value),
                    "file" => SecretRef::File(value),
                    other => return Err(de::Error::unknown_field(other, &["env", "file"])),
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "a secret reference takes exactly one of `env` or `file`",
                    ));
                }
                Ok(reference)
            }
        }

        fn literal<E: de::Error>() -> E {
            E::custom(
                "a literal secret is not allowed in the configuration; \
                 write `{ env: VARIABLE }` or `{ file: PATH }` instead",
            )
        }

        deserializer.deserialize_any(RefVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_of_any_scalar_type_is_refused_without_echoing_it() {
        for literal in [
            "\"s3cr3t-value\"",
            "987654321",
            "-987654321",
            "98765.4321",
            "true",
            "340282366920938463463374607431768211455",
        ] {
            let error = serde_json::from_str::<SecretRef>(literal)
                .expect_err("a literal is refused")
                .to_string();
            assert!(
                error.contains("a literal secret is not allowed"),
                "{literal}: {error}"
            );
            let digits: String = literal
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            assert!(!error.contains(&digits), "{literal}: {error}");
        }
        assert_eq!(
            serde_json::from_str::<SecretRef>(r#"{"env":"X"}"#).expect("a reference"),
            SecretRef::Env("X".into())
        );
    }

    #[test]
    fn every_secret_held_is_redacted_in_its_raw_json_and_form_forms() {
        let _client = Secret::new("cl1ent-\"secret\"+/=value\n");
        let _token = Secret::new("eyJ0eXAi.issued-during-the-run");
        let _tiny = Secret::new("ab");
        let text = "client_secret=cl1ent-%22secret%22%2B%2F%3Dvalue&x=1, \
                    {\"m\":\"cl1ent-\\\"secret\\\"+/=value\"}, \
                    raw cl1ent-\"secret\"+/=value, bearer eyJ0eXAi.issued-during-the-run, ab";
        let redacted = redact(text);
        assert!(!redacted.contains("cl1ent"), "{redacted}");
        assert!(!redacted.contains("issued-during-the-run"), "{redacted}");
        assert_eq!(redacted.matches(REDACTED).count(), 4, "{redacted}");
        assert!(
            redacted.ends_with(", ab"),
            "short values are left alone: {redacted}"
        );
        assert!(matches!(
            redact("nothing secret here"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-very-secret\n");
        assert_eq!(format!("{secret:?}"), "[REDACTED]");
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }
}
