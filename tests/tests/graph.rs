//! adsync-graph through the Graph emulator: the seeded directory comes back exactly, in the
//! fewest requests the data allows, and faults end in a complete snapshot or none.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use adsync_core::adapter::{AdapterError, AdapterErrorKind, Source, SourceRequest};
use adsync_core::config::GroupRef;
use adsync_core::model::{DirectoryGroup, DirectorySnapshot, DirectoryUser};
use adsync_graph::{Error, GraphSource, PAGE_SIZE};
use adsync_tests::graph_emulator::generate::{DirectoryShape, directory};
use adsync_tests::graph_emulator::{
    CLIENT_SECRET, Fault, GraphEmulator, LowerBound, RequestKind, TENANT,
};

/// Every group of `seed`, alternately by name and by id.
fn request_all(seed: &DirectorySnapshot, nested_groups: bool) -> SourceRequest {
    SourceRequest {
        groups: seed
            .groups
            .iter()
            .enumerate()
            .map(|(i, group)| {
                if i % 2 == 0 {
                    GroupRef::Name(group.display_name.clone())
                } else {
                    GroupRef::Id {
                        id: group.id.clone(),
                    }
                }
            })
            .collect(),
        nested_groups,
        ..Default::default()
    }
}

/// A group as compared: id, name, effective user members, direct nested groups.
type NormalGroup = (String, String, BTreeSet<String>, BTreeSet<String>);

/// What a snapshot means for `groups` (SPEC §14): each group's users are its `members` plus,
/// with nesting on, those of its `member_groups` that the snapshot holds, recursively (cycles
/// cut); users are those any of the groups holds, sorted. A transitive read and a direct seed
/// of the same directory normalise equally.
fn normalize(
    snapshot: &DirectorySnapshot,
    groups: &[String],
    nested: bool,
) -> (Vec<DirectoryUser>, Vec<NormalGroup>) {
    let by_id: BTreeMap<&str, &DirectoryGroup> =
        snapshot.groups.iter().map(|g| (g.id.as_str(), g)).collect();
    let mut normal = Vec::new();
    let mut wanted_users = BTreeSet::new();
    for id in groups {
        let Some(group) = by_id.get(id.as_str()) else {
            continue;
        };
        let mut users: BTreeSet<String> = group.members.iter().cloned().collect();
        if nested {
            let mut stack: Vec<&str> = group.member_groups.iter().map(String::as_str).collect();
            let mut seen = BTreeSet::from([group.id.as_str()]);
            while let Some(child) = stack.pop() {
                if !seen.insert(child) {
                    continue;
                }
                if let Some(child) = by_id.get(child) {
                    users.extend(child.members.iter().cloned());
                    stack.extend(child.member_groups.iter().map(String::as_str));
                }
            }
        }
        wanted_users.extend(users.iter().cloned());
        let member_groups = if nested {
            group.member_groups.iter().cloned().collect()
        } else {
            BTreeSet::new()
        };
        normal.push((
            group.id.clone(),
            group.display_name.clone(),
            users,
            member_groups,
        ));
    }
    let mut users: Vec<DirectoryUser> = snapshot
        .users
        .iter()
        .filter(|u| wanted_users.contains(&u.id))
        .cloned()
        .collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    (users, normal)
}

/// The deepest chain of nested groups in `snapshot` (0: no nesting).
fn nesting_depth(snapshot: &DirectorySnapshot) -> usize {
    let by_id: BTreeMap<&str, &DirectoryGroup> =
        snapshot.groups.iter().map(|g| (g.id.as_str(), g)).collect();
    fn depth(id: &str, by_id: &BTreeMap<&str, &DirectoryGroup>, path: &mut Vec<String>) -> usize {
        if path.iter().any(|p| p == id) {
            return 0;
        }
        path.push(id.to_owned());
        let below = by_id
            .get(id)
            .map(|g| {
                g.member_groups
                    .iter()
                    .map(|child| 1 + depth(child, by_id, path))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        path.pop();
        below
    }
    snapshot
        .groups
        .iter()
        .map(|g| depth(&g.id, &by_id, &mut Vec::new()))
        .max()
        .unwrap_or(0)
}

/// Equal snapshots, or a short account of the first difference (they are too large to print).
fn assert_same(actual: &DirectorySnapshot, expected: &DirectorySnapshot) {
    if actual == expected {
        return;
    }
    let user = actual
        .users
        .iter()
        .zip(&expected.users)
        .find(|(a, e)| a != e)
        .map(|(a, e)| format!("{a:?} != {e:?}"));
    let group = actual
        .groups
        .iter()
        .zip(&expected.groups)
        .find(|(a, e)| a != e)
        .map(|(a, e)| {
            format!(
                "group {} ({}): {} members, {:?} vs {} members, {:?}",
                a.display_name,
                a.id,
                a.members.len(),
                a.member_groups,
                e.members.len(),
                e.member_groups
            )
        });
    panic!(
        "snapshots differ: {} vs {} users, {} vs {} groups; first user difference: {user:?}; \
         first group difference: {group:?}",
        actual.users.len(),
        expected.users.len(),
        actual.groups.len(),
        expected.groups.len()
    );
}

/// The error of a read that must fail, without printing a whole snapshot when it did not.
fn failure(result: Result<DirectorySnapshot, AdapterError>) -> AdapterError {
    match result {
        Ok(snapshot) => panic!(
            "the read succeeded with {} users and {} groups",
            snapshot.users.len(),
            snapshot.groups.len()
        ),
        Err(error) => error,
    }
}

async fn acceptance_emulator() -> GraphEmulator {
    let seed = directory(&DirectoryShape::acceptance());
    GraphEmulator::start(seed).await
}

fn group_ids(seed: &DirectorySnapshot) -> Vec<String> {
    seed.groups.iter().map(|g| g.id.clone()).collect()
}

#[test]
fn the_generated_directory_has_the_acceptance_shape() {
    let seed = directory(&DirectoryShape::acceptance());
    assert_eq!(seed.groups.len(), 60);
    assert_eq!(nesting_depth(&seed), 3);
    let large = seed
        .groups
        .iter()
        .filter(|g| g.members.len() > PAGE_SIZE)
        .count();
    assert!(large >= 3, "{large} groups over one page");
    // Deterministic from the seed.
    assert_eq!(seed, directory(&DirectoryShape::acceptance()));
    // Names the resolution must escape or tell apart.
    assert!(seed.groups.iter().any(|g| g.display_name.contains('\'')));
    assert!(seed.groups.iter().any(|g| g.display_name.contains('&')));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_returns_the_seeded_directory_in_the_fewest_requests() {
    let emulator = acceptance_emulator().await;
    let seed = emulator.seed().clone();
    let request = request_all(&seed, true);
    let source = GraphSource::new(emulator.settings(8)).expect("settings");

    let snapshot = Source::snapshot(&source, &request).await.expect("snapshot");

    // Exactly the seeded directory, as a transitive reader reports it ...
    assert_same(&snapshot, &emulator.expected_snapshot(&request));
    // ... which means the same as the seed itself.
    let ids = group_ids(&seed);
    assert_eq!(
        normalize(&snapshot, &ids, true),
        normalize(&seed, &ids, true)
    );
    assert_eq!(snapshot.users.len(), seed.users.len());
    assert!(
        snapshot
            .groups
            .iter()
            .filter(|g| g.members.len() > PAGE_SIZE)
            .count()
            >= 4,
        "several groups span more than one page"
    );

    // The request count is the lower bound, part by part.
    let bound = emulator.lower_bound(&request);
    let counts = emulator.counts();
    let count = |kind| counts.get(&kind).copied().unwrap_or(0);
    assert_eq!(count(RequestKind::Token), bound.token);
    assert_eq!(
        count(RequestKind::GroupById) + count(RequestKind::GroupByName),
        bound.resolutions
    );
    assert_eq!(
        count(RequestKind::TransitiveMemberUsers),
        bound.member_pages
    );
    assert_eq!(count(RequestKind::MemberGroups), bound.nested_group_pages);
    assert_eq!(emulator.total_requests(), bound.total());
    assert_eq!(bound.resolutions, 60);
    assert_eq!(bound.nested_group_pages, 60);
    assert!(bound.member_pages > 60, "{bound:?}");
    // Shown for the record: `cargo nextest run --no-capture` prints it.
    println!("requests: {counts:?}, lower bound: {bound:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_nesting_the_source_returns_direct_members_in_the_fewest_requests() {
    let emulator = acceptance_emulator().await;
    let seed = emulator.seed().clone();
    let request = request_all(&seed, false);
    let source = GraphSource::new(emulator.settings(8)).expect("settings");

    let snapshot = Source::snapshot(&source, &request).await.expect("snapshot");

    assert_same(&snapshot, &emulator.expected_snapshot(&request));
    let ids = group_ids(&seed);
    assert_eq!(
        normalize(&snapshot, &ids, false),
        normalize(&seed, &ids, false)
    );
    let bound = emulator.lower_bound(&request);
    assert_eq!(
        bound,
        LowerBound {
            token: 1,
            resolutions: 60,
            member_pages: bound.member_pages,
            nested_group_pages: 0,
        }
    );
    assert_eq!(emulator.count(RequestKind::MemberUsers), bound.member_pages);
    assert_eq!(emulator.count(RequestKind::MemberGroups), 0);
    assert_eq!(emulator.total_requests(), bound.total());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_overlaps_the_latency() {
    // Small pages, so that latency and not JSON work (unoptimised, on a shared machine) is
    // what the read waits for.
    let seed = directory(&DirectoryShape {
        groups: 40,
        users: 400,
        nesting_depth: 2,
        chains: 3,
        large_groups: Vec::new(),
        seed: 7,
    });
    let emulator = GraphEmulator::start(seed).await;
    let latency = Duration::from_millis(25);
    emulator.set_latency(latency);
    let request = request_all(&emulator.seed().clone(), true);
    let source = GraphSource::new(emulator.settings(8)).expect("settings");
    let started = Instant::now();
    Source::snapshot(&source, &request).await.expect("snapshot");
    let elapsed = started.elapsed();
    let requests = u32::try_from(emulator.total_requests()).unwrap();
    assert_eq!(
        emulator.total_requests(),
        emulator.lower_bound(&request).total()
    );
    let serial = latency * requests;
    // The critical-path bound is about serial / 8; a third leaves room for a busy machine.
    assert!(
        elapsed < serial / 3,
        "{elapsed:?} for {requests} requests (serial {serial:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_bursts_cost_retries_but_not_completeness() {
    let emulator = acceptance_emulator().await;
    let request = request_all(&emulator.seed().clone(), true);
    emulator.inject(
        Some(RequestKind::TransitiveMemberUsers),
        Fault::Throttle {
            retry_after: Some("0.01".to_owned()),
        },
        3,
    );
    emulator.inject(Some(RequestKind::GroupByName), Fault::Unavailable, 2);
    emulator.inject(Some(RequestKind::MemberGroups), Fault::GatewayTimeout, 1);
    let source = GraphSource::new(emulator.settings(8)).expect("settings");
    let snapshot = Source::snapshot(&source, &request).await.expect("snapshot");
    assert_same(&snapshot, &emulator.expected_snapshot(&request));
    assert_eq!(
        emulator.total_requests(),
        emulator.lower_bound(&request).total() + 3 + 2 + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_mid_read_is_renewed_once() {
    let emulator = acceptance_emulator().await;
    let request = request_all(&emulator.seed().clone(), true);
    emulator.inject(
        Some(RequestKind::TransitiveMemberUsers),
        Fault::ExpiredToken,
        1,
    );
    let source = GraphSource::new(emulator.settings(8)).expect("settings");
    let snapshot = Source::snapshot(&source, &request).await.expect("snapshot");
    assert_same(&snapshot, &emulator.expected_snapshot(&request));
    assert_eq!(emulator.count(RequestKind::Token), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_keeps_failing_yields_no_snapshot() {
    for (fault, kind) in [
        (Fault::Unavailable, AdapterErrorKind::Transport),
        (
            Fault::Throttle {
                retry_after: Some("0".to_owned()),
            },
            AdapterErrorKind::Throttled,
        ),
        (Fault::Malformed, AdapterErrorKind::Protocol),
        (Fault::Truncated, AdapterErrorKind::Protocol),
    ] {
        let emulator = acceptance_emulator().await;
        let request = request_all(&emulator.seed().clone(), true);
        // A body that does not parse fails at once; a status is retried, so it has to persist.
        let times = if matches!(fault, Fault::Malformed | Fault::Truncated) {
            1
        } else {
            usize::MAX
        };
        emulator.inject(
            Some(RequestKind::TransitiveMemberUsers),
            fault.clone(),
            times,
        );
        let source = GraphSource::new(emulator.settings(8)).expect("settings");
        let error = failure(Source::snapshot(&source, &request).await);
        assert_eq!(error.kind, kind, "{fault:?}: {error}");
        assert!(
            error.message.starts_with("could not read group `"),
            "{}",
            error.message
        );
        assert!(
            error
                .message
                .contains("/transitiveMembers/microsoft.graph.user"),
            "{}",
            error.message
        );
    }
}

#[tokio::test]
async fn users_without_user_read_all_are_a_permission_error() {
    let emulator = acceptance_emulator().await;
    emulator.set_users_readable(false);
    let request = request_all(&emulator.seed().clone(), true);
    let source = GraphSource::new(emulator.settings(8)).expect("settings");
    let error = failure(Source::snapshot(&source, &request).await);
    assert_eq!(error.kind, AdapterErrorKind::Permission);
    assert!(error.hint.unwrap_or_default().contains("User.Read.All"));
}

fn tiny() -> DirectorySnapshot {
    let user = |id: &str| DirectoryUser {
        id: id.to_owned(),
        upn: format!("{id}@contoso.com"),
        mail: Some(format!("{id}@contoso.com")),
        display_name: id.to_owned(),
        given_name: None,
        surname: None,
        job_title: None,
        department: None,
        mobile_phone: None,
        employee_id: None,
        account_enabled: true,
        attributes: Default::default(),
    };
    let group = |id: &str, name: &str, members: &[&str], member_groups: &[&str]| DirectoryGroup {
        id: id.to_owned(),
        display_name: name.to_owned(),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        member_groups: member_groups.iter().map(|m| (*m).to_owned()).collect(),
    };
    DirectorySnapshot {
        users: vec![user("u1"), user("u2"), user("u3")],
        groups: vec![
            // A cycle: a -> b -> a.
            group("ga", "SG-Rescue-L1", &["u1"], &["gb"]),
            group("gb", "SG-Rescue-L2", &["u2"], &["ga"]),
            group("gc", "Helpdesk", &["u3"], &[]),
            group("gd", "Helpdesk", &[], &[]),
            group("ge", "Rescue Admins", &[], &[]),
        ],
    }
}

#[tokio::test]
async fn nesting_cycles_are_cut() {
    let emulator = GraphEmulator::start(tiny()).await;
    let source = GraphSource::new(emulator.settings(2)).expect("settings");
    let members = source
        .group_members(&GroupRef::Name("SG-Rescue-L1".to_owned()), true)
        .await
        .expect("members");
    let ids: Vec<&str> = members.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["u1", "u2"]);
    assert_eq!(members.member_groups, ["gb"]);
}

#[tokio::test]
async fn names_resolve_or_fail_with_candidates_through_the_emulator() {
    let emulator = GraphEmulator::start(tiny()).await;
    let source = GraphSource::new(emulator.settings(2)).expect("settings");

    let ambiguous = source
        .resolve_group(&GroupRef::Name("helpdesk".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(
        ambiguous.to_string(),
        "2 Entra groups are named `helpdesk`: `Helpdesk` (gc), `Helpdesk` (gd)"
    );

    let missing = source
        .resolve_group(&GroupRef::Name("SG-Rescue-L3".to_owned()))
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::GroupNotFound { .. }));
    assert_eq!(
        missing.to_string(),
        "no Entra group is named `SG-Rescue-L3`; close names: `SG-Rescue-L1` (ga), `SG-Rescue-L2` (gb)"
    );

    let found = source.search_groups("rescue").await.expect("search");
    let names: Vec<&str> = found.iter().map(|g| g.display_name.as_str()).collect();
    assert_eq!(names, ["Rescue Admins", "SG-Rescue-L1", "SG-Rescue-L2"]);
    assert!(emulator.count(RequestKind::GroupSearch) >= 1);
}

#[tokio::test]
async fn the_emulator_refuses_wrong_credentials_as_entra_id_does() {
    let emulator = GraphEmulator::start(tiny()).await;

    let mut settings = emulator.settings(1);
    settings.client_secret = adsync_core::secret::Secret::new("wrong");
    let error = GraphSource::new(settings)
        .unwrap()
        .check_token()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Token {
                reason: adsync_graph::TokenRefusal::InvalidSecret,
                ..
            }
        ),
        "{error:?}"
    );

    let mut settings = emulator.settings(1);
    settings.tenant = "fabrikam.onmicrosoft.com".to_owned();
    let error = GraphSource::new(settings)
        .unwrap()
        .check_token()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Token {
                reason: adsync_graph::TokenRefusal::UnknownTenant,
                ..
            }
        ),
        "{error:?}"
    );

    let mut settings = emulator.settings(1);
    settings.client_id = "someone-else".to_owned();
    let error = GraphSource::new(settings)
        .unwrap()
        .check_token()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Token {
                reason: adsync_graph::TokenRefusal::UnknownApplication,
                ..
            }
        ),
        "{error:?}"
    );

    assert_eq!(emulator.count(RequestKind::Token), 3);
    assert!(!format!("{error:?}").contains(CLIENT_SECRET));
    assert_eq!(TENANT, "contoso.onmicrosoft.com");
}

/// Raw HTTP against the emulator, for behaviour adsync-graph does not itself exercise.
mod raw {
    use super::*;

    async fn token(emulator: &GraphEmulator) -> String {
        let client = reqwest::Client::new();
        let reply: serde_json::Value = client
            .post(format!("{}/{TENANT}/oauth2/v2.0/token", emulator.uri()))
            .form(&[
                ("client_id", adsync_tests::graph_emulator::CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["access_token"].as_str().unwrap().to_owned()
    }

    async fn get(
        emulator: &GraphEmulator,
        token: &str,
        path: &str,
        eventual: bool,
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .get(format!("{}/v1.0/{path}", emulator.uri()))
            .bearer_auth(token);
        if eventual {
            request = request.header("ConsistencyLevel", "eventual");
        }
        let reply = request.send().await.unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap())
    }

    #[tokio::test]
    async fn listings_page_by_top_and_default_to_100() {
        let emulator = acceptance_emulator().await;
        let token = token(&emulator).await;
        let largest = emulator
            .seed()
            .groups
            .iter()
            .max_by_key(|g| g.members.len())
            .unwrap();
        let (big, size) = (largest.id.clone(), largest.members.len());
        assert!((1999..2997).contains(&size), "{size}");

        let (status, first) = get(
            &emulator,
            &token,
            &format!("groups/{big}/members?$count=true"),
            false,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(first["value"].as_array().unwrap().len(), 100);
        assert!(
            first.get("@odata.count").is_none(),
            "$count needs ConsistencyLevel"
        );
        // Default properties: no accountEnabled without $select.
        assert!(first["value"][0].get("accountEnabled").is_none());
        assert_eq!(first["value"][0]["@odata.type"], "#microsoft.graph.user");

        let (_, counted) = get(
            &emulator,
            &token,
            &format!("groups/{big}/members/microsoft.graph.user?$top=999&$count=true&$select=id"),
            true,
        )
        .await;
        assert_eq!(counted["@odata.count"], size);
        assert_eq!(
            counted["value"][0].as_object().unwrap().len(),
            2,
            "{}",
            counted["value"][0]
        );
        let next = counted["@odata.nextLink"].as_str().unwrap();
        assert!(
            next.starts_with(&emulator.uri()) && next.contains("%24select=id"),
            "{next}"
        );
        let rest = next
            .strip_prefix(&format!("{}/v1.0/", emulator.uri()))
            .unwrap();
        let (_, second) = get(&emulator, &token, rest, true).await;
        assert_eq!(second["value"].as_array().unwrap().len(), 999);
        assert!(
            second.get("@odata.count").is_none(),
            "only on the first page"
        );
        let third = second["@odata.nextLink"].as_str().unwrap();
        let rest = third
            .strip_prefix(&format!("{}/v1.0/", emulator.uri()))
            .unwrap();
        let (_, last) = get(&emulator, &token, rest, true).await;
        assert!(
            last["value"].as_array().unwrap().is_empty() || last.get("@odata.nextLink").is_none()
        );

        let (status, _) = get(
            &emulator,
            &token,
            &format!("groups/{big}/members?$top=1000"),
            false,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(emulator.count(RequestKind::OtherMembers), 2);
    }

    #[tokio::test]
    async fn search_needs_the_consistency_header_and_tokens_must_be_valid() {
        let emulator = GraphEmulator::start(tiny()).await;
        let token = token(&emulator).await;
        let (status, body) = get(
            &emulator,
            &token,
            "groups?$search=\"displayName:rescue\"",
            false,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
        let (status, body) = get(
            &emulator,
            &token,
            "groups?$search=\"displayName:rescue\"",
            true,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["value"].as_array().unwrap().len(), 3);

        let (status, body) = get(&emulator, "forged", "groups/ga", false).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
        emulator.expire_tokens();
        let (status, _) = get(&emulator, &token, "groups/ga", false).await;
        assert_eq!(status, 401);
        let fresh = super::raw::token(&emulator).await;
        let (status, body) = get(&emulator, &fresh, "groups/gx", false).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("Request_ResourceNotFound"))
        );
        let (status, body) = get(
            &emulator,
            &fresh,
            "groups/gc/transitiveMembers/microsoft.graph.user?$select=id,nonsense",
            false,
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("Request_BadRequest"))
        );
    }
}
