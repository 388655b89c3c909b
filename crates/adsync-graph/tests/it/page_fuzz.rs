//! A bounded mutation fuzzer over the Graph JSON pages of a member listing, read end to end
//! through [`adsync_graph::GraphSource`] from a loopback server: three pages of two users, a
//! nextLink chain and an `@odata.count`, with random structural and byte-level mutations.
//!
//! For every case: nothing panics; a read the pages make broken (a page that is not a JSON
//! object with a `value` array, a nextLink that is not a string naming a page of this listing,
//! a link seen before, a count that is not a number, fewer items than the count announced, more
//! pages than it allows) is a failed read, never a success; and a successful read holds every
//! untouched user of the pages it went through.
//!
//! Cases: 256 by default (a few seconds); `PROPTEST_CASES` overrides it.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::{by_id, group_json, mount_token, request, snapshot, source, user_json};

const GROUP: &str = "7f3c2b1a-0e9d-4c8b-a7f6-5e4d3c2b1a09";
const PAGES: usize = 3;
const PER_PAGE: usize = 2;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        // Every case is a few HTTP exchanges; shrinking a failure is worth its time.
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

fn user_id(page: usize, item: usize) -> String {
    format!("u{page}-{item}")
}

/// The link to page `page` of the listing.
fn link(base: &str, page: usize) -> String {
    format!("{base}/v1.0/groups/{GROUP}/members/microsoft.graph.user?$skiptoken=p{page}")
}

/// The untouched listing.
fn baseline(base: &str) -> Vec<Value> {
    (0..PAGES)
        .map(|page| {
            let users: Vec<Value> = (0..PER_PAGE)
                .map(|item| user_json(&user_id(page, item), &format!("user{page}x{item}")))
                .collect();
            let mut body = json!({ "value": users });
            if page == 0 {
                body["@odata.count"] = json!(PAGES * PER_PAGE);
            }
            if page + 1 < PAGES {
                body["@odata.nextLink"] = json!(link(base, page + 1));
            }
            body
        })
        .collect()
}

/// Where a mutated nextLink points.
#[derive(Clone, Debug)]
enum Target {
    Page(usize),
    Foreign,
    Unknown,
    Garbage(String),
    NotAString(Value),
}

#[derive(Clone, Debug)]
enum Mutation {
    DropNextLink(usize),
    NextLink(usize, Target),
    Count(Value),
    DropCount,
    DropValue(usize),
    Value(usize, Value),
    DropItem(usize, usize),
    DuplicateItem(usize, usize),
    ItemField(usize, usize, String, Value),
    Truncate(usize, usize),
    FlipByte(usize, usize, u8),
}

fn small_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(json!(-1)),
        Just(json!(1.5)),
        Just(json!(u64::MAX)),
        ".{0,16}".prop_map(Value::String),
        Just(json!([])),
        Just(json!({})),
        Just(json!("#microsoft.graph.device")),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let page = 0..PAGES;
    let item = 0..PER_PAGE;
    let target = prop_oneof![
        (0..PAGES).prop_map(Target::Page),
        Just(Target::Foreign),
        Just(Target::Unknown),
        ".{0,12}".prop_map(Target::Garbage),
        small_json().prop_map(Target::NotAString),
    ];
    let field = prop_oneof![
        Just("id".to_owned()),
        Just("mail".to_owned()),
        Just("userPrincipalName".to_owned()),
        Just("accountEnabled".to_owned()),
        Just("@odata.type".to_owned()),
        Just("displayName".to_owned()),
    ];
    prop_oneof![
        page.clone().prop_map(Mutation::DropNextLink),
        (page.clone(), target).prop_map(|(p, t)| Mutation::NextLink(p, t)),
        prop_oneof![small_json(), (0u64..12).prop_map(Value::from)].prop_map(Mutation::Count),
        Just(Mutation::DropCount),
        page.clone().prop_map(Mutation::DropValue),
        (page.clone(), small_json()).prop_map(|(p, v)| Mutation::Value(p, v)),
        (page.clone(), item.clone()).prop_map(|(p, i)| Mutation::DropItem(p, i)),
        (page.clone(), item.clone()).prop_map(|(p, i)| Mutation::DuplicateItem(p, i)),
        (page.clone(), item, field, small_json())
            .prop_map(|(p, i, f, v)| Mutation::ItemField(p, i, f, v)),
        (page.clone(), any::<usize>()).prop_map(|(p, at)| Mutation::Truncate(p, at)),
        (page, any::<usize>(), any::<u8>()).prop_map(|(p, at, b)| Mutation::FlipByte(p, at, b)),
    ]
}

/// The pages as served: JSON trees, then bytes (byte edits last).
struct Served {
    bodies: Vec<Vec<u8>>,
    /// Users left untouched, by page.
    untouched: Vec<BTreeSet<String>>,
}

fn serve(base: &str, mutations: &[Mutation]) -> Served {
    let mut pages = baseline(base);
    let mut untouched: Vec<BTreeSet<String>> = (0..PAGES)
        .map(|page| (0..PER_PAGE).map(|item| user_id(page, item)).collect())
        .collect();
    let mut edits = Vec::new();
    for mutation in mutations {
        match mutation.clone() {
            Mutation::DropNextLink(p) => drop(remove(&mut pages[p], "@odata.nextLink")),
            Mutation::NextLink(p, target) => {
                pages[p]["@odata.nextLink"] = match target {
                    Target::Page(to) => json!(link(base, to)),
                    Target::Foreign => json!(link("https://graph.example.net", 1)),
                    Target::Unknown => json!(format!("{base}/v1.0/groups/{GROUP}/other?p=1")),
                    Target::Garbage(text) => json!(text),
                    Target::NotAString(value) => value,
                }
            }
            Mutation::Count(value) => pages[0]["@odata.count"] = value,
            Mutation::DropCount => drop(remove(&mut pages[0], "@odata.count")),
            Mutation::DropValue(p) => {
                remove(&mut pages[p], "value");
                untouched[p].clear();
            }
            Mutation::Value(p, value) => {
                pages[p]["value"] = value;
                untouched[p].clear();
            }
            Mutation::DropItem(p, i) | Mutation::DuplicateItem(p, i) => {
                let duplicate = matches!(mutation, Mutation::DuplicateItem(..));
                if let Some(items) = pages[p]["value"].as_array_mut()
                    && i < items.len()
                {
                    let item = items[i].clone();
                    if duplicate {
                        items.push(item);
                    } else {
                        items.remove(i);
                        if let Some(id) = item["id"].as_str() {
                            untouched[p].remove(id);
                        }
                    }
                }
            }
            Mutation::ItemField(p, i, field, value) => {
                if let Some(item) = pages[p]["value"].get_mut(i)
                    && item.is_object()
                {
                    if let Some(id) = item["id"].as_str() {
                        untouched[p].remove(id);
                    }
                    item[field.as_str()] = value;
                }
            }
            edit @ (Mutation::Truncate(..) | Mutation::FlipByte(..)) => edits.push(edit),
        }
    }
    let mut bodies: Vec<Vec<u8>> = pages
        .iter()
        .map(|page| page.to_string().into_bytes())
        .collect();
    for edit in edits {
        // A byte edit may leave valid JSON with other values: its page's users are not
        // untouched any more.
        if let Mutation::Truncate(p, _) | Mutation::FlipByte(p, ..) = edit {
            untouched[p].clear();
        }
        match edit {
            Mutation::Truncate(p, at) => {
                let keep = at % (bodies[p].len() + 1);
                bodies[p].truncate(keep);
            }
            Mutation::FlipByte(p, at, byte) if !bodies[p].is_empty() => {
                let at = at % bodies[p].len();
                bodies[p][at] = byte;
            }
            _ => {}
        }
    }
    Served { bodies, untouched }
}

fn remove(page: &mut Value, key: &str) -> Option<Value> {
    page.as_object_mut().and_then(|object| object.remove(key))
}

/// What the pages promise: `Err(why)` when they make the read broken, else the pages it goes
/// through.
fn model(base: &str, bodies: &[Vec<u8>]) -> Result<Vec<usize>, String> {
    let links: Vec<String> = (0..PAGES).map(|page| link(base, page)).collect();
    let mut chain = vec![0];
    let mut seen = HashSet::new();
    let mut items = 0u64;
    let mut count = None;
    loop {
        let page = *chain.last().expect("a page");
        let body: Value = serde_json::from_slice(&bodies[page]).map_err(|_| "not JSON")?;
        let listed = body["value"].as_array().ok_or("no value array")?;
        items += listed.len() as u64;
        if chain.len() == 1 {
            count = match body.get("@odata.count") {
                None | Some(Value::Null) => None,
                Some(value) => Some(value.as_u64().ok_or("a count that is not a number")?),
            };
        }
        if let Some(count) = count
            && chain.len() as u64 > count.saturating_add(2)
        {
            return Err("more pages than the count allows".into());
        }
        let next = match body.get("@odata.nextLink") {
            None | Some(Value::Null) => break,
            Some(Value::String(next)) => next.clone(),
            Some(_) => return Err("a nextLink that is not a string".into()),
        };
        let to = links
            .iter()
            .position(|known| *known == next)
            .ok_or("a nextLink to no page of this listing")?;
        if !seen.insert(to) {
            return Err("a paging loop".into());
        }
        chain.push(to);
    }
    if count.is_some_and(|count| items < count) {
        return Err("fewer items than the count".into());
    }
    Ok(chain)
}

struct Pages(Arc<Mutex<Vec<Vec<u8>>>>);

impl Respond for Pages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let page = request
            .url
            .query_pairs()
            .find(|(key, _)| key == "$skiptoken")
            .and_then(|(_, token)| {
                token
                    .strip_prefix('p')
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .unwrap_or(0);
        let bodies = self.0.lock().expect("not poisoned");
        match bodies.get(page) {
            Some(body) => ResponseTemplate::new(200).set_body_raw(body.clone(), "application/json"),
            None => ResponseTemplate::new(404),
        }
    }
}

/// The token, the group and `bodies` as its member pages.
async fn mount(server: &MockServer, bodies: Vec<Vec<u8>>) {
    mount_token(server).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(GROUP, "SG-Fuzz")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.user"
        )))
        .respond_with(Pages(Arc::new(Mutex::new(bodies))))
        .mount(server)
        .await;
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_pages_never_panic_and_never_turn_a_broken_read_into_success(
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let server = MockServer::start().await;
            let base = server.uri();
            let served = serve(&base, &mutations);
            let expected = model(&base, &served.bodies);
            mount(&server, served.bodies.clone()).await;
            let read = snapshot(&source(&server), &request(vec![by_id(GROUP)], false)).await;
            match (&expected, &read) {
                (Err(why), Ok(snapshot)) => {
                    prop_assert!(false, "pages broken by {why} read as a success: {snapshot:?}");
                }
                (Ok(chain), Ok(snapshot)) => {
                    let read: BTreeSet<&str> =
                        snapshot.users.iter().map(|user| user.id.as_str()).collect();
                    for page in chain {
                        for id in &served.untouched[*page] {
                            prop_assert!(read.contains(id.as_str()), "{id} of page {page} is missing: {read:?}");
                        }
                    }
                }
                (_, Err(_)) => {}
            }
            Ok(())
        })?;
    }
}

/// The unmutated listing reads whole: the fuzzer's baseline is a success.
#[tokio::test]
async fn the_baseline_reads_whole() {
    let server = MockServer::start().await;
    let served = serve(&server.uri(), &[]);
    assert_eq!(model(&server.uri(), &served.bodies), Ok(vec![0, 1, 2]));
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(GROUP, "SG-Fuzz")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.user"
        )))
        .respond_with(Pages(Arc::new(Mutex::new(served.bodies))))
        .mount(&server)
        .await;
    let read = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .expect("a whole read");
    assert_eq!(read.users.len(), PAGES * PER_PAGE);
}
