//! Delta queries (`GET /users/delta`, `GET /groups/delta`), written from Graph's delta-query
//! documentation (graph-api.md §6).
//!
//! Every change to the emulated directory ([`super::GraphEmulator::replace`]) makes a new
//! generation. A round registers its query options once (they live in the tokens, as in Graph:
//! the links carry only `$skiptoken` / `$deltatoken`); its pages describe one generation (the
//! initial round) or the changes between two (a round from a deltaLink), and its last page's
//! deltaLink names the generation it reached. A deltaLink may be followed again: it replays the
//! same changes and whatever came since.
//!
//! Changes: users new or changed carry every selected property, removed users
//! `@removed: {reason: deleted}`; groups with a new name or membership carry `displayName` and
//! `members@delta` with the members added and, `@removed`, the members gone; a deleted group is
//! `@removed`. A group's members come in slices of at most [`MEMBER_SLICE`], so a large group
//! appears on several pages. Page sizes are the emulator's choice (Graph documents none):
//! [`USERS_PAGE`] users, [`GROUPS_PAGE`] group entries.
//!
//! `$deltatoken=latest` on an initial request answers a deltaLink and no data ("sync from
//! now"). Refused, as Graph refuses them: `$top`, `$expand`, `$orderby`, a `$filter` other than
//! `id eq '..'` joined by `or`, more than 50 ids, an unknown `$select` property, and tokens
//! the emulator never issued.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use adsync_core::model::{DirectoryGroup, DirectoryUser};
use serde_json::{Value, json};
use url::Url;

use super::directory::{self, USER_PROPERTIES};
use super::graph_error;

/// Users per page of a `/users/delta` round.
pub const USERS_PAGE: usize = 200;
/// Group entries per page of a `/groups/delta` round.
pub const GROUPS_PAGE: usize = 10;
/// Member references per group entry.
pub const MEMBER_SLICE: usize = 100;
/// Graph's limit on ids in one delta `$filter`.
const FILTER_LIMIT: usize = 50;
/// Group properties a groups delta round may select.
const GROUP_DELTA_PROPERTIES: &[&str] = &["id", "displayName", "description", "members"];

/// The directory at one moment.
#[derive(Debug, Default)]
pub(crate) struct Generation {
    pub(crate) users: BTreeMap<String, DirectoryUser>,
    pub(crate) groups: BTreeMap<String, DirectoryGroup>,
}

impl Generation {
    /// Direct members that exist, users and groups (a group never holds itself).
    fn direct(&self, group: &DirectoryGroup) -> (BTreeSet<String>, BTreeSet<String>) {
        let users = group
            .members
            .iter()
            .filter(|id| self.users.contains_key(*id))
            .cloned()
            .collect();
        let groups = group
            .member_groups
            .iter()
            .filter(|id| self.groups.contains_key(*id) && **id != group.id)
            .cloned()
            .collect();
        (users, groups)
    }
}

/// Which collection a round reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Collection {
    Users,
    Groups,
}

#[derive(Debug)]
struct Round {
    collection: Collection,
    select: Option<Vec<String>>,
    ids: Option<BTreeSet<String>>,
}

/// Generations and rounds.
#[derive(Debug, Default)]
pub(crate) struct DeltaLog {
    generations: Vec<Arc<Generation>>,
    rounds: Vec<Round>,
}

/// Where a page comes from: one generation, or the changes between two.
#[derive(Clone, Copy)]
struct Span {
    round: usize,
    from: Option<usize>,
    to: usize,
}

impl DeltaLog {
    /// Records the directory as it is now.
    pub(crate) fn push(&mut self, generation: Generation) {
        self.generations.push(Arc::new(generation));
    }

    /// Delta rounds started so far.
    pub(crate) fn rounds(&self) -> usize {
        self.rounds.len()
    }

    /// Serves one delta request.
    pub(crate) fn serve(
        &mut self,
        base: &str,
        collection: Collection,
        query: &BTreeMap<String, String>,
        readable: bool,
    ) -> (u16, Value) {
        let (span, offset) = match self.span(collection, query) {
            Ok(found) => found,
            Err(refused) => return refused,
        };
        let items = self.items(span, readable);
        let total = items.len();
        let size = match collection {
            Collection::Users => USERS_PAGE,
            Collection::Groups => GROUPS_PAGE,
        };
        let end = (offset + size).min(total);
        let value: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
        let path = match collection {
            Collection::Users => "users",
            Collection::Groups => "groups",
        };
        let mut body = json!({
            "@odata.context": format!("{base}/v1.0/$metadata#{path}"),
            "value": value,
        });
        let (key, token, link) = if end < total {
            let from = span.from.map_or("x".to_owned(), |from| from.to_string());
            let token = format!("DS{}.{from}.{}.{end}", span.round, span.to);
            ("$skiptoken", token, "@odata.nextLink")
        } else {
            let token = format!("DD{}.{}", span.round, span.to);
            ("$deltatoken", token, "@odata.deltaLink")
        };
        let Ok(mut url) = Url::parse(&format!("{base}/v1.0/{path}/delta")) else {
            return (500, graph_error("InternalServerError", "Bad base url."));
        };
        url.query_pairs_mut().append_pair(key, &token);
        body[link] = Value::String(url.to_string());
        (200, body)
    }

    /// The round and generations a request names, and the page's offset.
    fn span(
        &mut self,
        collection: Collection,
        query: &BTreeMap<String, String>,
    ) -> Result<(Span, usize), (u16, Value)> {
        let bad_token = || {
            (
                400,
                graph_error("Request_BadRequest", "Invalid delta or skip token."),
            )
        };
        if let Some(token) = query.get("$skiptoken") {
            let parsed = parse_skip(token).ok_or_else(bad_token)?;
            self.check(collection, parsed.0.round)
                .ok_or_else(bad_token)?;
            let span = parsed.0;
            if span.to >= self.generations.len() || span.from.is_some_and(|from| from > span.to) {
                return Err(bad_token());
            }
            return Ok(parsed);
        }
        let now = self.generations.len().saturating_sub(1);
        if query
            .get("$deltatoken")
            .is_some_and(|token| token == "latest")
        {
            // "Sync from now": a deltaLink and no data (graph-api.md §6.1).
            let mut options = query.clone();
            options.remove("$deltatoken");
            let round = self.start(collection, &options)?;
            let span = Span {
                round,
                from: Some(now),
                to: now,
            };
            return Ok((span, 0));
        }
        if let Some(token) = query.get("$deltatoken") {
            let (round, from) = parse_delta(token).ok_or_else(bad_token)?;
            self.check(collection, round).ok_or_else(bad_token)?;
            if from > now {
                return Err(bad_token());
            }
            let span = Span {
                round,
                from: Some(from),
                to: now,
            };
            return Ok((span, 0));
        }
        let round = self.start(collection, query)?;
        Ok((
            Span {
                round,
                from: None,
                to: now,
            },
            0,
        ))
    }

    fn check(&self, collection: Collection, round: usize) -> Option<()> {
        (self.rounds.get(round)?.collection == collection).then_some(())
    }

    /// Registers an initial round's query options.
    fn start(
        &mut self,
        collection: Collection,
        query: &BTreeMap<String, String>,
    ) -> Result<usize, (u16, Value)> {
        let unsupported = |what: &str| {
            (
                400,
                graph_error(
                    "Request_UnsupportedQuery",
                    &format!("The query parameter '{what}' is not supported with delta."),
                ),
            )
        };
        for option in ["$top", "$expand", "$orderby", "$search", "$count"] {
            if query.contains_key(option) {
                return Err(unsupported(option));
            }
        }
        let select: Option<Vec<String>> = query
            .get("$select")
            .map(|select| select.split(',').map(|p| p.trim().to_owned()).collect());
        let known = match collection {
            Collection::Users => USER_PROPERTIES,
            Collection::Groups => GROUP_DELTA_PROPERTIES,
        };
        if let Some(unknown) = select
            .iter()
            .flatten()
            .find(|p| !known.contains(&p.as_str()))
        {
            return Err((
                400,
                graph_error(
                    "Request_BadRequest",
                    &format!("Could not find a property named '{unknown}'."),
                ),
            ));
        }
        let ids = match query.get("$filter") {
            None => None,
            Some(filter) => Some(parse_ids(filter).ok_or_else(|| unsupported("$filter"))?),
        };
        self.rounds.push(Round {
            collection,
            select,
            ids,
        });
        Ok(self.rounds.len() - 1)
    }

    /// Every item of a span, in a stable order.
    fn items(&self, span: Span, readable: bool) -> Vec<Value> {
        let round = &self.rounds[span.round];
        let empty = Generation::default();
        let from = span.from.map(|from| &*self.generations[from]);
        let to = &self.generations[span.to];
        let select = round.select.as_deref();
        match round.collection {
            Collection::Users => user_changes(from.unwrap_or(&empty), to, select, !readable),
            Collection::Groups => {
                let ids: BTreeSet<String> = match &round.ids {
                    Some(ids) => ids.clone(),
                    None => to
                        .groups
                        .keys()
                        .chain(from.map(|g| g.groups.keys()).into_iter().flatten())
                        .cloned()
                        .collect(),
                };
                let members = select.is_none_or(|s| s.iter().any(|p| p == "members"));
                group_changes(from.unwrap_or(&empty), to, &ids, members)
            }
        }
    }
}

fn user_changes(
    from: &Generation,
    to: &Generation,
    select: Option<&[String]>,
    limited: bool,
) -> Vec<Value> {
    let ids: BTreeSet<&String> = from.users.keys().chain(to.users.keys()).collect();
    ids.into_iter()
        .filter_map(|id| match (from.users.get(id), to.users.get(id)) {
            (_, Some(now)) if from.users.get(id) != Some(now) => {
                Some(directory::user_json(now, select, false, limited))
            }
            (Some(_), None) => Some(removed(id, None)),
            _ => None,
        })
        .collect()
}

fn group_changes(
    from: &Generation,
    to: &Generation,
    ids: &BTreeSet<String>,
    members: bool,
) -> Vec<Value> {
    let mut items = Vec::new();
    for id in ids {
        let Some(group) = to.groups.get(id) else {
            if from.groups.contains_key(id) {
                items.push(removed(id, None));
            }
            continue;
        };
        let (users_now, groups_now) = to.direct(group);
        let (users_then, groups_then, renamed) = match from.groups.get(id) {
            Some(old) => {
                let (users, groups) = from.direct(old);
                (users, groups, old.display_name != group.display_name)
            }
            None => (BTreeSet::new(), BTreeSet::new(), true),
        };
        let mut refs = Vec::new();
        if members {
            refs.extend(refs_of("user", &users_now, &users_then));
            refs.extend(refs_of("group", &groups_now, &groups_then));
        }
        if refs.is_empty() && !renamed && from.groups.contains_key(id) {
            continue;
        }
        let mut slices: Vec<&[Value]> = refs.chunks(MEMBER_SLICE).collect();
        if slices.is_empty() {
            slices.push(&[]);
        }
        for slice in slices {
            let mut entry = json!({"id": id, "displayName": group.display_name});
            if members {
                entry["members@delta"] = Value::Array(slice.to_vec());
            }
            items.push(entry);
        }
    }
    items
}

/// Members in `now` but not `then` (added), then in `then` but not `now` (removed).
fn refs_of(kind: &str, now: &BTreeSet<String>, then: &BTreeSet<String>) -> Vec<Value> {
    let kind = format!("#microsoft.graph.{kind}");
    let added = now
        .difference(then)
        .map(|id| json!({"@odata.type": kind, "id": id}));
    let gone = then.difference(now).map(|id| removed(id, Some(&kind)));
    added.chain(gone).collect()
}

fn removed(id: &str, kind: Option<&str>) -> Value {
    let mut entry = json!({"id": id, "@removed": {"reason": "deleted"}});
    if let Some(kind) = kind {
        entry["@odata.type"] = Value::String(kind.to_owned());
    }
    entry
}

/// `id eq 'a' or id eq 'b'`, at most 50 ids.
fn parse_ids(filter: &str) -> Option<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    for term in filter.split(" or ") {
        let literal = term
            .trim()
            .strip_prefix("id")?
            .trim_start()
            .strip_prefix("eq")?;
        let inner = literal.trim().strip_prefix('\'')?.strip_suffix('\'')?;
        ids.insert(inner.replace("''", "'"));
    }
    (ids.len() <= FILTER_LIMIT).then_some(ids)
}

fn parse_skip(token: &str) -> Option<(Span, usize)> {
    let mut parts = token.strip_prefix("DS")?.split('.');
    let round = parts.next()?.parse().ok()?;
    let from = match parts.next()? {
        "x" => None,
        from => Some(from.parse().ok()?),
    };
    let to = parts.next()?.parse().ok()?;
    let offset = parts.next()?.parse().ok()?;
    Some((Span { round, from, to }, offset))
}

fn parse_delta(token: &str) -> Option<(usize, usize)> {
    let (round, generation) = token.strip_prefix("DD")?.split_once('.')?;
    Some((round.parse().ok()?, generation.parse().ok()?))
}
