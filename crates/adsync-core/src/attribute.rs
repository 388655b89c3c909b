//! Directory attributes by their Microsoft Graph names: which names a template or a condition may
//! use, and a directory user's value for each.
//!
//! Target-neutral: templates and conditions of any target read attributes through
//! [`Attributes`]. The fixed fields of [`DirectoryUser`] answer to their Graph names; everything
//! else (`onPremisesExtensionAttributes.extensionAttribute7`, `extension_<appid>_<name>`) comes
//! from [`DirectoryUser::attributes`].

use crate::model::DirectoryUser;

/// An attribute's value as conditions and templates see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// Absent or null.
    Missing,
    /// A text.
    Text(&'a str),
    /// A boolean (`accountEnabled`).
    Bool(bool),
}

/// What kind of value an attribute holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// `true` / `false`.
    Bool,
}

/// Something that answers attribute names with values.
pub trait Attributes {
    /// The value of attribute `name` (a name [`kind_of`] accepts).
    fn value(&self, name: &str) -> Value<'_>;
}

/// The fixed attributes, by Graph name, in the order `$select` lists them.
pub const FIXED: [(&str, Kind); 11] = [
    ("id", Kind::Text),
    ("userPrincipalName", Kind::Text),
    ("mail", Kind::Text),
    ("displayName", Kind::Text),
    ("givenName", Kind::Text),
    ("surname", Kind::Text),
    ("jobTitle", Kind::Text),
    ("department", Kind::Text),
    ("mobilePhone", Kind::Text),
    ("employeeId", Kind::Text),
    ("accountEnabled", Kind::Bool),
];

/// The Graph property holding the fifteen on-premises extension attributes.
pub const ON_PREMISES_EXTENSIONS: &str = "onPremisesExtensionAttributes";

/// The kind of attribute `name`, or why adsync cannot read it.
///
/// Accepted: the fixed attributes ([`FIXED`]),
/// `onPremisesExtensionAttributes.extensionAttribute1` … `15`, and directory schema extensions
/// `extension_<application id without dashes>_<name>`.
pub fn kind_of(name: &str) -> Result<Kind, String> {
    if let Some((_, kind)) = FIXED.iter().find(|(fixed, _)| *fixed == name) {
        return Ok(*kind);
    }
    if let Some((fixed, _)) = FIXED
        .iter()
        .find(|(f, _)| f.eq_ignore_ascii_case(name) || distance(f, name) <= 2)
    {
        return Err(format!(
            "unknown attribute `{name}`; did you mean `{fixed}`?"
        ));
    }
    if let Some(rest) = name.strip_prefix(ON_PREMISES_EXTENSIONS) {
        let number = rest
            .strip_prefix(".extensionAttribute")
            .filter(|n| {
                !n.starts_with('0') && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit())
            })
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=15).contains(n));
        return match number {
            Some(_) => Ok(Kind::Text),
            None => Err(format!(
                "`{name}`: expected `{ON_PREMISES_EXTENSIONS}.extensionAttribute1` to `…15`"
            )),
        };
    }
    if let Some(rest) = name.strip_prefix("extension_") {
        let valid = rest.split_once('_').is_some_and(|(app, property)| {
            app.len() == 32
                && app.bytes().all(|b| b.is_ascii_hexdigit())
                && !property.is_empty()
                && property
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        return if valid {
            Ok(Kind::Text)
        } else {
            Err(format!(
                "`{name}`: a schema extension is `extension_<application id, 32 hex digits without \
                 dashes>_<name>`"
            ))
        };
    }
    Err(format!(
        "unknown attribute `{name}`; known: {}, {ON_PREMISES_EXTENSIONS}.extensionAttribute1…15, \
         extension_<appid>_<name>",
        FIXED.map(|(name, _)| name).join(", ")
    ))
}

/// Edit distance, ignoring ASCII case (for "did you mean").
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            current[j + 1] = (previous[j] + usize::from(ca != cb))
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// The Graph property that carries attribute `name` (`onPremisesExtensionAttributes` for its
/// members; the name itself otherwise).
pub fn graph_property(name: &str) -> &str {
    match name.split_once('.') {
        Some((property, _)) => property,
        None => name,
    }
}

impl Attributes for DirectoryUser {
    fn value(&self, name: &str) -> Value<'_> {
        fn text(value: &Option<String>) -> Value<'_> {
            value.as_deref().map_or(Value::Missing, Value::Text)
        }
        match name {
            "id" => Value::Text(&self.id),
            "userPrincipalName" => Value::Text(&self.upn),
            "mail" => text(&self.mail),
            "displayName" => Value::Text(&self.display_name),
            "givenName" => text(&self.given_name),
            "surname" => text(&self.surname),
            "jobTitle" => text(&self.job_title),
            "department" => text(&self.department),
            "mobilePhone" => text(&self.mobile_phone),
            "employeeId" => text(&self.employee_id),
            "accountEnabled" => Value::Bool(self.account_enabled),
            other => self
                .attributes
                .get(other)
                .map_or(Value::Missing, |value| Value::Text(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(kind_of("department"), Ok(Kind::Text));
        assert_eq!(kind_of("accountEnabled"), Ok(Kind::Bool));
        assert_eq!(
            kind_of("onPremisesExtensionAttributes.extensionAttribute7"),
            Ok(Kind::Text)
        );
        assert_eq!(
            kind_of("extension_0123456789abcdef0123456789abcdef_costCenter"),
            Ok(Kind::Text)
        );
        for bad in [
            "onPremisesExtensionAttributes.extensionAttribute16",
            "onPremisesExtensionAttributes.extensionAttribute0",
            "onPremisesExtensionAttributes",
            "extension_123_costCenter",
            "favouriteColour",
        ] {
            assert!(kind_of(bad).is_err(), "{bad}");
        }
        let hint = kind_of("Department").expect_err("case matters");
        assert!(hint.contains("did you mean `department`"), "{hint}");
        let hint = kind_of("acountEnabled").expect_err("misspelt");
        assert!(hint.contains("did you mean `accountEnabled`"), "{hint}");
    }
}
