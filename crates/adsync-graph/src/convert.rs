//! Graph's wire shapes into adsync's directory model.

use std::collections::BTreeMap;

use adsync_core::attribute::ON_PREMISES_EXTENSIONS;
use adsync_core::model::DirectoryUser;

use crate::GroupSummary;
use crate::wire;

/// What one listed member turned out to be.
#[expect(
    clippy::large_enum_variant,
    reason = "a short-lived value per listed member, consumed at once"
)]
pub(crate) enum Member {
    /// A user with its attributes.
    User(DirectoryUser),
    /// A user that came back with only `@odata.type` and `id` (Graph's "limited information"
    /// for objects the app may not read).
    Limited,
    /// Not a user (a device or contact in a listing that should hold only users): ignored.
    Other,
}

pub(crate) fn member(user: wire::User) -> Member {
    if user
        .odata_type
        .as_deref()
        .is_some_and(|kind| kind != wire::USER_TYPE)
    {
        return Member::Other;
    }
    // userPrincipalName is required on every user, so a user without it (and without any name
    // or mail) is one Graph would not describe to this app.
    if user.user_principal_name.is_none() && user.display_name.is_none() && user.mail.is_none() {
        return Member::Limited;
    }
    Member::User(DirectoryUser {
        id: user.id,
        upn: user.user_principal_name.unwrap_or_default(),
        mail: user.mail,
        display_name: user.display_name.unwrap_or_default(),
        given_name: user.given_name,
        surname: user.surname,
        job_title: user.job_title,
        department: user.department,
        mobile_phone: user.mobile_phone,
        employee_id: user.employee_id,
        account_enabled: user.account_enabled.unwrap_or(true),
        attributes: further_attributes(user.on_premises_extension_attributes, user.other),
    })
}

/// The on-premises extension attributes (`onPremisesExtensionAttributes.extensionAttribute7`)
/// and the schema extensions (`extension_<appid>_<name>`) that hold a value, by the names
/// templates and conditions use. Graph sends only what `$select` asked for.
fn further_attributes(
    on_premises: Option<BTreeMap<String, Option<String>>>,
    other: BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::new();
    for (name, value) in on_premises.into_iter().flatten() {
        if let Some(value) = value {
            attributes.insert(format!("{ON_PREMISES_EXTENSIONS}.{name}"), value);
        }
    }
    for (name, value) in other {
        if !name.starts_with("extension_") {
            continue;
        }
        let text = match value {
            serde_json::Value::String(text) => text,
            serde_json::Value::Null => continue,
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => value.to_string(),
            // Multi-valued extensions read as their values joined.
            serde_json::Value::Array(values) => values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(";"),
            serde_json::Value::Object(_) => value.to_string(),
        };
        attributes.insert(name, text);
    }
    attributes
}

pub(crate) fn group(group: wire::Group) -> GroupSummary {
    GroupSummary {
        id: group.id,
        display_name: group.display_name.unwrap_or_default(),
        description: group.description,
    }
}

/// Edit distance between two names, ignoring case, for "close names" suggestions.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits_ignoring_case() {
        assert_eq!(distance("SG-Rescue-L2", "sg-rescue-l2"), 0);
        assert_eq!(distance("SG-Rescue-L2", "SG-Rescue-L3"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn further_attributes_are_read_by_their_template_names() {
        let user: wire::User = serde_json::from_value(serde_json::json!({
            "id": "u1", "userPrincipalName": "jane@contoso.com",
            "onPremisesExtensionAttributes": {
                "extensionAttribute7": "JD-0042", "extensionAttribute8": null
            },
            "extension_0123456789abcdef0123456789abcdef_tier": "l2",
            "extension_0123456789abcdef0123456789abcdef_level": 3,
            "extension_0123456789abcdef0123456789abcdef_unset": null,
            "@odata.etag": "ignored"
        }))
        .expect("a user");
        let Member::User(user) = member(user) else {
            panic!("a user");
        };
        let read: Vec<(&str, &str)> = user
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            read,
            [
                ("extension_0123456789abcdef0123456789abcdef_level", "3"),
                ("extension_0123456789abcdef0123456789abcdef_tier", "l2"),
                (
                    "onPremisesExtensionAttributes.extensionAttribute7",
                    "JD-0042"
                ),
            ]
        );
    }
}
