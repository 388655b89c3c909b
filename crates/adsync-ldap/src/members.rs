//! A group's users: through the in-chain rule, or by walking `member` values (read in ranges)
//! with cycles cut; plus the users whose primary group it is, whom `member` never lists.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use adsync_core::model::DirectoryUser;
use futures::{StreamExt, TryStreamExt};
use ldap3::{Scope, ldap_escape};

use crate::ad::{IN_CHAIN_RULE, Range};
use crate::connection::{Connection, Entry, Search};
use crate::error::Error;
use crate::users::{self, GroupEntry, Kind, UserEntry};

/// A group's users (transitive when nested groups are on) and the groups nested in it.
pub(crate) struct Expansion {
    /// Sorted by id.
    pub(crate) users: Vec<DirectoryUser>,
    /// The objectGUIDs of every group nested in it at any depth, sorted; empty when nested
    /// groups are off.
    pub(crate) member_groups: Vec<String>,
}

/// How a read expands groups.
#[derive(Clone, Copy)]
pub(crate) struct Plan<'a> {
    pub(crate) base_dn: &'a str,
    pub(crate) nested: bool,
    pub(crate) in_chain: bool,
    pub(crate) concurrency: usize,
}

/// The users of `group` per `plan`.
pub(crate) async fn expand(
    conn: &Connection,
    plan: Plan<'_>,
    group: &GroupEntry,
) -> Result<Expansion, Error> {
    let mut users = BTreeMap::new();
    let mut nested = BTreeMap::new();
    if plan.nested && plan.in_chain {
        in_chain(conn, plan, group, &mut users, &mut nested).await?;
    } else {
        walk(conn, plan, group, &mut users, &mut nested).await?;
    }
    for subgroup in std::iter::once(group).chain(nested.values()) {
        for user in primary_members(conn, plan.base_dn, subgroup).await? {
            users.entry(user.user.id.clone()).or_insert(user.user);
        }
    }
    Ok(Expansion {
        users: users.into_values().collect(),
        member_groups: nested.into_keys().collect(),
    })
}

/// Every user and group below `group` in two searches, evaluated by the server
/// (`memberOf:1.2.840.113556.1.4.1941:=<dn>`, MS-ADTS 3.1.1.3.4.4.3).
async fn in_chain(
    conn: &Connection,
    plan: Plan<'_>,
    group: &GroupEntry,
    users: &mut BTreeMap<String, DirectoryUser>,
    nested: &mut BTreeMap<String, GroupEntry>,
) -> Result<(), Error> {
    let dn = ldap_escape(&group.dn);
    let user_search = Search {
        purpose: format!("the members of `{}` at any depth", group.dn),
        base: plan.base_dn,
        scope: Scope::Subtree,
        filter: format!(
            "(&(objectClass=user)(!(objectClass=computer))(memberOf:{IN_CHAIN_RULE}:={dn}))"
        ),
        attrs: users::member_attrs(),
    };
    let group_search = Search {
        purpose: format!("the groups nested in `{}` at any depth", group.dn),
        base: plan.base_dn,
        scope: Scope::Subtree,
        filter: format!("(&(objectClass=group)(memberOf:{IN_CHAIN_RULE}:={dn}))"),
        attrs: users::member_attrs(),
    };
    let (user_entries, group_entries) =
        futures::future::try_join(conn.search(&user_search), conn.search(&group_search)).await?;
    for entry in &user_entries {
        let user = users::user(entry)?;
        users.entry(user.user.id.clone()).or_insert(user.user);
    }
    for entry in &group_entries {
        let subgroup = users::group(entry)?;
        if subgroup.id != group.id {
            nested.entry(subgroup.id.clone()).or_insert(subgroup);
        }
    }
    Ok(())
}

/// Reads `member` of `group` and of every group below it (when nested), each group once.
async fn walk(
    conn: &Connection,
    plan: Plan<'_>,
    group: &GroupEntry,
    users: &mut BTreeMap<String, DirectoryUser>,
    nested: &mut BTreeMap<String, GroupEntry>,
) -> Result<(), Error> {
    let mut seen = BTreeSet::from([group.id.clone()]);
    let mut queue = VecDeque::from([group.clone()]);
    while let Some(current) = queue.pop_front() {
        let dns = member_values(conn, &current).await?;
        let entries: Vec<Entry> = futures::stream::iter(dns)
            .map(|dn| read_member(conn, &current, dn))
            .buffer_unordered(plan.concurrency.max(1))
            .try_collect()
            .await?;
        for entry in &entries {
            match users::kind(entry) {
                Kind::User => {
                    let user = users::user(entry)?;
                    users.entry(user.user.id.clone()).or_insert(user.user);
                }
                Kind::Group if plan.nested => {
                    let subgroup = users::group(entry)?;
                    if seen.insert(subgroup.id.clone()) {
                        queue.push_back(subgroup.clone());
                        nested.insert(subgroup.id.clone(), subgroup);
                    }
                }
                Kind::Group | Kind::Other => {
                    tracing::debug!("`{}` in `{}` is not a user; skipped", entry.dn, current.dn);
                }
            }
        }
    }
    Ok(())
}

/// Every value of the group's `member`, in ranges when the server answers with
/// `member;range=low-high` (Active Directory does past MaxValRange, 1,500 values), until the
/// range that ends in `*`.
async fn member_values(conn: &Connection, group: &GroupEntry) -> Result<Vec<String>, Error> {
    let purpose = format!("the members of `{}`", group.dn);
    let failed = |reason: String| Error::Malformed {
        search: format!("the read of {purpose}"),
        reason,
    };
    let mut values: Vec<String> = Vec::new();
    let mut request = "member".to_owned();
    loop {
        let entry = match conn.read(&group.dn, &[request.clone()], &purpose).await? {
            Ok(entry) => entry,
            Err(result) => {
                return Err(Error::SearchFailed {
                    search: format!("the read of {purpose}"),
                    rc: result.rc,
                    text: result.text,
                });
            }
        };
        let mut ranged = Vec::new();
        for (name, chunk) in &entry.attrs {
            if let Some(range) = Range::of(name, "member") {
                ranged.push((range.map_err(failed)?, chunk));
            }
        }
        let (range, chunk) = match ranged.as_slice() {
            [] if request == "member" => {
                values.extend(entry.values("member").iter().map(|v| text(v)));
                return Ok(values);
            }
            [] => {
                return Err(failed(format!(
                    "`{request}` came back without values after {} of them",
                    values.len()
                )));
            }
            [(range, chunk)] => (*range, *chunk),
            _ => return Err(failed("several ranges of `member` in one answer".into())),
        };
        if range.low != values.len() {
            return Err(failed(format!(
                "a range starting at {} where {} values were read",
                range.low,
                values.len()
            )));
        }
        values.extend(chunk.iter().map(|v| text(v)));
        let Some(high) = range.high else {
            return Ok(values);
        };
        if chunk.is_empty() || high + 1 != values.len() {
            return Err(failed(format!(
                "the range {}-{high} holds {} values",
                range.low,
                chunk.len()
            )));
        }
        request = format!("member;range={}-*", values.len());
    }
}

fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).into_owned()
}

/// One member entry; a member that cannot be read fails the read (it would otherwise be
/// taken for someone who left).
async fn read_member(conn: &Connection, group: &GroupEntry, dn: String) -> Result<Entry, Error> {
    let purpose = format!("member `{dn}` of `{}`", group.dn);
    match conn.read(&dn, &users::member_attrs(), &purpose).await? {
        Ok(entry) => Ok(entry),
        Err(result) if result.rc == 10 => Err(Error::Referral {
            search: format!("the read of {purpose}"),
            refs: result.refs,
        }),
        Err(result) => Err(Error::MemberUnreadable {
            group: group.dn.clone(),
            member: dn,
            rc: result.rc,
            text: result.text,
        }),
    }
}

/// Users whose `primaryGroupID` is the group's RID (from its objectSid), in the group's
/// domain: members that neither `member` nor `memberOf` lists. A group without an objectSid
/// (not an Active Directory security group) has none.
async fn primary_members(
    conn: &Connection,
    base_dn: &str,
    group: &GroupEntry,
) -> Result<Vec<UserEntry>, Error> {
    let Some(sid) = &group.sid else {
        return Ok(Vec::new());
    };
    let search = Search {
        purpose: format!("the users whose primary group is `{}`", group.dn),
        base: base_dn,
        scope: Scope::Subtree,
        filter: format!(
            "(&(objectClass=user)(!(objectClass=computer))(primaryGroupID={}))",
            sid.rid
        ),
        attrs: users::member_attrs(),
    };
    let mut found = Vec::new();
    for entry in conn.search(&search).await? {
        let user = users::user(&entry)?;
        // A RID is unique within its domain only.
        if user.sid.as_ref().is_none_or(|own| own.domain == sid.domain) {
            found.push(user);
        }
    }
    Ok(found)
}
