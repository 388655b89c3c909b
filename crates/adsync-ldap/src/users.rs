//! A user or group entry as the directory model: the attributes read and how each maps.

use std::collections::BTreeMap;

use adsync_core::attribute::ON_PREMISES_EXTENSIONS;
use adsync_core::model::DirectoryUser;

use crate::ad::{self, Sid};
use crate::connection::Entry;
use crate::error::Error;

/// Every attribute a member read asks for: enough to tell users from groups and to build a
/// [`DirectoryUser`] or a [`GroupEntry`].
pub(crate) const MEMBER_ATTRS: [&str; 15] = [
    "objectClass",
    "objectGUID",
    "objectSid",
    "cn",
    "sAMAccountName",
    "userPrincipalName",
    "mail",
    "displayName",
    "givenName",
    "sn",
    "title",
    "department",
    "mobile",
    "employeeID",
    "userAccountControl",
];

/// The attributes as owned strings, for a search, with the fifteen extension attributes that
/// templates and conditions may read (`onPremisesExtensionAttributes.extensionAttributeN` in
/// Graph's naming); AD returns only those an entry holds.
pub(crate) fn member_attrs() -> Vec<String> {
    MEMBER_ATTRS
        .iter()
        .map(|name| (*name).to_owned())
        .chain((1..=15).map(|n| format!("extensionAttribute{n}")))
        .collect()
}

/// The extension attributes an entry holds, by Graph's names.
fn extension_attributes(entry: &Entry) -> BTreeMap<String, String> {
    (1..=15)
        .filter_map(|n| {
            let value = entry.text(&format!("extensionAttribute{n}"))?;
            Some((
                format!("{ON_PREMISES_EXTENSIONS}.extensionAttribute{n}"),
                value,
            ))
        })
        .collect()
}

/// What an entry met as a group member is.
pub(crate) enum Kind {
    User,
    Group,
    /// A computer, contact, foreign security principal or anything else: not a person adsync
    /// syncs.
    Other,
}

/// Users are `user` entries that are not computers (a computer account's class derives from
/// `user` in Active Directory); `inetOrgPerson` in AD derives from `user` too.
pub(crate) fn kind(entry: &Entry) -> Kind {
    if entry.has_class("group") {
        Kind::Group
    } else if entry.has_class("user") && !entry.has_class("computer") {
        Kind::User
    } else {
        Kind::Other
    }
}

/// The canonical objectGUID of an entry.
pub(crate) fn guid(entry: &Entry) -> Result<String, Error> {
    let missing = |reason: String| Error::MissingGuid {
        dn: entry.dn.clone(),
        reason,
    };
    match entry.values("objectGUID") {
        [] => Err(missing("the attribute is absent or not readable".into())),
        [one] => ad::guid_text(one).map_err(missing),
        several => Err(missing(format!("{} values", several.len()))),
    }
}

/// A user with its SID domain (for primary-group matching).
pub(crate) struct UserEntry {
    pub(crate) user: DirectoryUser,
    pub(crate) sid: Option<Sid>,
}

/// Maps a user entry: objectGUID -> id, userPrincipalName, mail, displayName (else cn),
/// givenName, sn -> surname, title -> job title, department, mobile, employeeID, and
/// userAccountControl bit 0x2 -> disabled (an entry without the attribute counts as enabled).
pub(crate) fn user(entry: &Entry) -> Result<UserEntry, Error> {
    let id = guid(entry)?;
    let account_enabled = match entry.text("userAccountControl") {
        None => true,
        Some(value) => !ad::is_disabled(&value).ok_or_else(|| Error::Malformed {
            search: format!("the read of `{}`", entry.dn),
            reason: format!("userAccountControl `{value}` is not an integer"),
        })?,
    };
    let non_empty = |name: &str| entry.text(name).filter(|text| !text.trim().is_empty());
    let display_name = non_empty("displayName")
        .or_else(|| non_empty("cn"))
        .unwrap_or_else(|| ad::first_rdn_value(&entry.dn));
    Ok(UserEntry {
        user: DirectoryUser {
            id,
            upn: entry.text("userPrincipalName").unwrap_or_default(),
            mail: non_empty("mail"),
            display_name,
            given_name: non_empty("givenName"),
            surname: non_empty("sn"),
            job_title: non_empty("title"),
            department: non_empty("department"),
            mobile_phone: non_empty("mobile"),
            employee_id: non_empty("employeeID"),
            account_enabled,
            attributes: extension_attributes(entry),
        },
        sid: entry
            .values("objectSid")
            .first()
            .and_then(|raw| Sid::parse(raw)),
    })
}

/// A group entry: its DN, objectGUID, name and SID.
#[derive(Clone, Debug)]
pub(crate) struct GroupEntry {
    pub(crate) dn: String,
    pub(crate) id: String,
    /// `cn`, else the DN's first RDN value.
    pub(crate) name: String,
    pub(crate) sid: Option<Sid>,
}

/// Maps a group entry.
pub(crate) fn group(entry: &Entry) -> Result<GroupEntry, Error> {
    Ok(GroupEntry {
        dn: entry.dn.clone(),
        id: guid(entry)?,
        name: entry
            .text("cn")
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| ad::first_rdn_value(&entry.dn)),
        sid: entry
            .values("objectSid")
            .first()
            .and_then(|raw| Sid::parse(raw)),
    })
}
