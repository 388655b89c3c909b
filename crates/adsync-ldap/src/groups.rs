//! Finding groups: by objectGUID, by distinguished name, or by `cn`/`sAMAccountName` (exact,
//! any case), and searching them for `adsync groups search`.

use std::collections::BTreeMap;

use adsync_core::config::GroupRef;
use ldap3::{Scope, ldap_escape};

use crate::ad;
use crate::connection::{Connection, Search};
use crate::error::Error;
use crate::users::{self, GroupEntry};

/// What a group read asks for.
const GROUP_ATTRS: [&str; 5] = [
    "objectClass",
    "objectGUID",
    "objectSid",
    "cn",
    "sAMAccountName",
];

/// How many close names a "no such group" error suggests.
const CLOSE_NAMES: usize = 5;

fn group_attrs() -> Vec<String> {
    GROUP_ATTRS.iter().map(|name| (*name).to_owned()).collect()
}

/// Finds the one group `group` names.
pub(crate) async fn resolve(
    conn: &Connection,
    base_dn: &str,
    group: &GroupRef,
) -> Result<GroupEntry, Error> {
    match group {
        GroupRef::Id { id } => by_guid(conn, base_dn, id).await,
        GroupRef::Name(name) if ad::looks_like_dn(name) => by_dn(conn, name.trim()).await,
        GroupRef::Name(name) => by_name(conn, base_dn, name.trim()).await,
    }
}

async fn by_guid(conn: &Connection, base_dn: &str, id: &str) -> Result<GroupEntry, Error> {
    let bytes = ad::guid_bytes(id).ok_or_else(|| Error::InvalidGuid { id: id.to_owned() })?;
    let search = Search {
        purpose: format!("the group with objectGUID `{id}`"),
        base: base_dn,
        scope: Scope::Subtree,
        filter: format!(
            "(&(objectClass=group)(objectGUID={}))",
            ad::filter_bytes(&bytes)
        ),
        attrs: group_attrs(),
    };
    let found = distinct(conn.search(&search).await?)?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::GroupIdNotFound { id: id.to_owned() }),
        _ => Err(Error::Malformed {
            search: search.describe(),
            reason: "several groups share one objectGUID".into(),
        }),
    }
}

async fn by_dn(conn: &Connection, dn: &str) -> Result<GroupEntry, Error> {
    let purpose = format!("the group `{dn}`");
    match conn.read(dn, &group_attrs(), &purpose).await? {
        Ok(entry) if entry.has_class("group") => users::group(&entry),
        Ok(_) => Err(Error::NotAGroup { dn: dn.to_owned() }),
        Err(result) if result.rc == 32 => Err(Error::GroupNotFound {
            name: dn.to_owned(),
            close: Vec::new(),
        }),
        Err(result) if result.rc == 10 => Err(Error::Referral {
            search: format!("the read of {purpose}"),
            refs: result.refs,
        }),
        Err(result) => Err(Error::SearchFailed {
            search: format!("the read of {purpose}"),
            rc: result.rc,
            text: result.text,
        }),
    }
}

async fn by_name(conn: &Connection, base_dn: &str, name: &str) -> Result<GroupEntry, Error> {
    let escaped = ldap_escape(name);
    let search = Search {
        purpose: format!("the group named `{name}`"),
        base: base_dn,
        scope: Scope::Subtree,
        filter: format!("(&(objectClass=group)(|(cn={escaped})(sAMAccountName={escaped})))"),
        attrs: group_attrs(),
    };
    let entries = conn.search(&search).await?;
    // The server's matching rules decide what the filter finds; the rule here is exact text
    // in any case, on either attribute.
    let matching: Vec<_> = entries
        .into_iter()
        .filter(|entry| {
            ["cn", "sAMAccountName"].iter().any(|attribute| {
                entry.values(attribute).iter().any(|value| {
                    String::from_utf8_lossy(value).trim().to_lowercase() == name.to_lowercase()
                })
            })
        })
        .collect();
    let mut found = distinct(matching)?;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::GroupNotFound {
            name: name.to_owned(),
            close: close_names(conn, base_dn, name).await,
        }),
        _ => Err(Error::AmbiguousGroup {
            name: name.to_owned(),
            candidates: found.iter().map(GroupEntry::summary).collect(),
        }),
    }
}

/// Groups whose `cn`, `sAMAccountName` or description contains `term`, sorted by name.
pub(crate) async fn search(
    conn: &Connection,
    base_dn: &str,
    term: &str,
) -> Result<Vec<GroupEntry>, Error> {
    let term = term.trim();
    if term.is_empty() {
        return Err(Error::EmptySearchTerm);
    }
    let escaped = ldap_escape(term);
    let search = Search {
        purpose: format!("groups matching `{term}`"),
        base: base_dn,
        scope: Scope::Subtree,
        filter: format!(
            "(&(objectClass=group)(|(cn=*{escaped}*)(sAMAccountName=*{escaped}*)(description=*{escaped}*)))"
        ),
        attrs: group_attrs(),
    };
    let mut found = distinct(conn.search(&search).await?)?;
    found.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)));
    Ok(found)
}

/// Groups with names like `name`, closest first. Best effort: a failed lookup only means
/// fewer suggestions.
async fn close_names(conn: &Connection, base_dn: &str, name: &str) -> Vec<crate::GroupSummary> {
    let prefix: String = name.chars().take(3).collect();
    let Ok(candidates) = search(conn, base_dn, &prefix).await else {
        return Vec::new();
    };
    let limit = (name.chars().count() / 2).max(3);
    let wanted = name.to_lowercase();
    let mut close: Vec<(usize, crate::GroupSummary)> = candidates
        .iter()
        .map(|group| {
            (
                distance(&wanted, &group.name.to_lowercase()),
                group.summary(),
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .collect();
    close.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    close
        .into_iter()
        .take(CLOSE_NAMES)
        .map(|(_, g)| g)
        .collect()
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(current)
            };
            previous = current;
        }
    }
    row[b.len()]
}

/// Group entries, once each by objectGUID (a server may return one twice across pages).
fn distinct(entries: Vec<crate::connection::Entry>) -> Result<Vec<GroupEntry>, Error> {
    let mut by_id = BTreeMap::new();
    for entry in entries {
        let group = users::group(&entry)?;
        by_id.entry(group.id.clone()).or_insert(group);
    }
    Ok(by_id.into_values().collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn distance_counts_edits() {
        assert_eq!(super::distance("sg-rescue-l2", "sg-rescue-l2"), 0);
        assert_eq!(super::distance("sg-rescue-l2", "sg-rescue-l3"), 1);
        assert_eq!(super::distance("abc", ""), 3);
    }
}
