//! Serde mirrors of what Microsoft Entra ID and Microsoft Graph send. Unknown fields are ignored;
//! fields adsync depends on are required, so a body without them is a parse error, not a guess.

use std::collections::BTreeMap;

use adsync_core::attribute;
use serde::Deserialize;

/// `POST /{tenant}/oauth2/v2.0/token`, HTTP 200.
#[derive(Deserialize)]
pub(crate) struct TokenGranted {
    pub(crate) access_token: String,
    /// Seconds; documented as an integer, tolerated as a string.
    #[serde(default)]
    pub(crate) expires_in: Option<serde_json::Value>,
}

impl TokenGranted {
    pub(crate) fn lifetime_secs(&self) -> Option<u64> {
        match self.expires_in.as_ref()? {
            serde_json::Value::Number(number) => number.as_u64(),
            serde_json::Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }
}

/// A token error body (`error`, `error_description`, `error_codes`, ...).
#[derive(Deserialize)]
pub(crate) struct TokenRefused {
    pub(crate) error: String,
    #[serde(default)]
    pub(crate) error_description: Option<String>,
    #[serde(default)]
    pub(crate) error_codes: Vec<u64>,
}

/// Graph's error envelope: `{"error": {"code": .., "message": .., "innerError": ..}}`.
#[derive(Deserialize)]
pub(crate) struct GraphErrorBody {
    pub(crate) error: GraphError,
}

#[derive(Deserialize)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
}

/// One page of a collection.
#[derive(Deserialize)]
pub(crate) struct Page<T> {
    pub(crate) value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub(crate) next_link: Option<String>,
    /// The last page of a delta round: where the next round starts.
    #[serde(rename = "@odata.deltaLink", default)]
    pub(crate) delta_link: Option<String>,
    /// The size of the whole listing (first page only, with `$count=true`).
    #[serde(rename = "@odata.count", default)]
    pub(crate) count: Option<u64>,
}

/// A user as listed by `members/microsoft.graph.user` with adsync's `$select`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    #[serde(rename = "@odata.type", default)]
    pub(crate) odata_type: Option<String>,
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) user_principal_name: Option<String>,
    #[serde(default)]
    pub(crate) mail: Option<String>,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
    #[serde(default)]
    pub(crate) given_name: Option<String>,
    #[serde(default)]
    pub(crate) surname: Option<String>,
    #[serde(default)]
    pub(crate) job_title: Option<String>,
    #[serde(default)]
    pub(crate) department: Option<String>,
    #[serde(default)]
    pub(crate) mobile_phone: Option<String>,
    #[serde(default)]
    pub(crate) employee_id: Option<String>,
    #[serde(default)]
    pub(crate) account_enabled: Option<bool>,
    /// `extensionAttribute1` … `15`, each a text or null (only when selected).
    #[serde(default)]
    pub(crate) on_premises_extension_attributes: Option<BTreeMap<String, Option<String>>>,
    /// Everything else sent: the selected schema extensions (`extension_<appid>_<name>`) among
    /// them.
    #[serde(flatten)]
    pub(crate) other: BTreeMap<String, serde_json::Value>,
}

/// The user properties adsync always reads: exactly the fixed fields of a `DirectoryUser`.
pub(crate) const USER_SELECT: &str = "id,userPrincipalName,mail,displayName,givenName,surname,\
                                      jobTitle,department,mobilePhone,employeeId,accountEnabled";

/// `$select` for user listings: the fixed fields, then the Graph property of each further
/// attribute the configuration reads (`onPremisesExtensionAttributes` once for any of its
/// fifteen, each schema extension by name), in the order given. Every user read uses it, so a
/// listing added later (a delta read) asks for the same properties.
pub fn user_select(attributes: &[String]) -> String {
    let mut select = USER_SELECT.to_owned();
    let mut added: Vec<&str> = Vec::new();
    for name in attributes {
        let property = attribute::graph_property(name);
        if !added.contains(&property) && !USER_SELECT.split(',').any(|fixed| fixed == property) {
            added.push(property);
            select.push(',');
            select.push_str(property);
        }
    }
    select
}

/// A group (lookups, search, nested-group listings).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Group {
    #[serde(rename = "@odata.type", default)]
    pub(crate) odata_type: Option<String>,
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// The group properties adsync reads.
pub(crate) const GROUP_SELECT: &str = "id,displayName,description";

/// `@odata.type` of users.
pub(crate) const USER_TYPE: &str = "#microsoft.graph.user";
/// `@odata.type` of groups.
pub(crate) const GROUP_TYPE: &str = "#microsoft.graph.group";

/// A user in a `/users/delta` round: changed or new (every selected property), or removed.
#[derive(Deserialize)]
pub(crate) struct DeltaUser {
    #[serde(rename = "@removed", default)]
    pub(crate) removed: Option<serde_json::Value>,
    #[serde(flatten)]
    pub(crate) user: User,
}

/// A group in a `/groups/delta` round; a large group comes back on several pages, each with a
/// slice of its `members@delta`.
#[derive(Deserialize)]
pub(crate) struct DeltaGroup {
    pub(crate) id: String,
    #[serde(rename = "displayName", default)]
    pub(crate) display_name: Option<String>,
    #[serde(rename = "@removed", default)]
    pub(crate) removed: Option<serde_json::Value>,
    #[serde(rename = "members@delta", default)]
    pub(crate) members: Vec<DeltaMember>,
}

/// One entry of `members@delta`: a member added, or removed (`@removed`).
#[derive(Deserialize)]
pub(crate) struct DeltaMember {
    #[serde(rename = "@odata.type", default)]
    pub(crate) odata_type: Option<String>,
    pub(crate) id: String,
    #[serde(rename = "@removed", default)]
    pub(crate) removed: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_adds_each_property_once_after_the_fixed_fields() {
        let attributes = [
            "onPremisesExtensionAttributes.extensionAttribute7",
            "department",
            "extension_0123456789abcdef0123456789abcdef_tier",
            "onPremisesExtensionAttributes.extensionAttribute3",
        ]
        .map(str::to_owned);
        assert_eq!(
            user_select(&attributes),
            format!(
                "{USER_SELECT},onPremisesExtensionAttributes,\
                 extension_0123456789abcdef0123456789abcdef_tier"
            )
        );
        assert_eq!(user_select(&[]), USER_SELECT);
    }
}
