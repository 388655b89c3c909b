//! Group resolution by id and name (ambiguous, missing, close names) and search.

use adsync_core::adapter::AdapterErrorKind;
use adsync_core::config::GroupRef;
use adsync_graph::{Error, GroupSummary};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{by_id, fixture, group_json, json, mount_token, page, request, snapshot, source};

fn summary(id: &str, name: &str) -> GroupSummary {
    GroupSummary {
        id: id.to_owned(),
        display_name: name.to_owned(),
        description: None,
    }
}

async fn mount_filter(server: &MockServer, filter: &str, groups: Vec<serde_json::Value>) {
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$filter", filter))
        .and(query_param("$select", "id,displayName,description"))
        .respond_with(page(groups, None))
        .expect(1)
        .mount(server)
        .await;
}

async fn mount_search(server: &MockServer, search: &str, groups: Vec<serde_json::Value>) {
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$search", search))
        .and(header("ConsistencyLevel", "eventual"))
        .respond_with(page(groups, None))
        .expect(1)
        .mount(server)
        .await;
    // What Graph says to a $search without the header (never expected to be reached).
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$search", search))
        .respond_with(json(
            400,
            &fixture("advanced-query-search-without-consistency-level.json"),
        ))
        .expect(0)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_name_is_resolved_with_an_escaped_exact_filter() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_filter(
        &server,
        "displayName eq 'O''Brien''s Helpdesk'",
        vec![group_json("g1", "O'Brien's Helpdesk")],
    )
    .await;
    let found = source(&server)
        .resolve_group(&GroupRef::Name("O'Brien's Helpdesk".to_owned()))
        .await
        .expect("resolved");
    assert_eq!(found, summary("g1", "O'Brien's Helpdesk"));
}

#[tokio::test]
async fn an_exact_case_match_wins_over_case_insensitive_ones() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_filter(
        &server,
        "displayName eq 'SG-L2'",
        vec![group_json("g1", "sg-l2"), group_json("g2", "SG-L2")],
    )
    .await;
    let found = source(&server)
        .resolve_group(&GroupRef::Name("SG-L2".to_owned()))
        .await
        .expect("resolved");
    assert_eq!(found.id, "g2");
}

#[tokio::test]
async fn an_ambiguous_name_lists_the_candidates_with_their_ids() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_filter(
        &server,
        "displayName eq 'SG-Rescue-L2'",
        vec![
            group_json("g2", "SG-Rescue-L2"),
            group_json("g1", "SG-Rescue-L2"),
        ],
    )
    .await;
    let error = snapshot(
        &source(&server),
        &request(vec![GroupRef::Name("SG-Rescue-L2".to_owned())], true),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Conflict);
    assert_eq!(
        error.message,
        "2 Entra groups are named `SG-Rescue-L2`: `SG-Rescue-L2` (g1), `SG-Rescue-L2` (g2)"
    );
    assert!(
        error
            .hint
            .unwrap_or_default()
            .contains("{ id: <object id> }")
    );
}

#[tokio::test]
async fn a_missing_name_suggests_close_names() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_filter(&server, "displayName eq 'SG-Rescue-L3'", vec![]).await;
    mount_filter(
        &server,
        "startswith(displayName,'SG-')",
        vec![
            group_json("g2", "SG-Rescue-L2"),
            group_json("g9", "SG-Finance-Payroll-Europe"),
            group_json("g1", "SG-Rescue-L1"),
        ],
    )
    .await;
    mount_search(
        &server,
        "\"displayName:Rescue\"",
        vec![
            group_json("g2", "SG-Rescue-L2"),
            group_json("g4", "Rescue L3"),
        ],
    )
    .await;
    let error = snapshot(
        &source(&server),
        &request(vec![GroupRef::Name("SG-Rescue-L3".to_owned())], true),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::NotFound);
    assert_eq!(
        error.message,
        "no Entra group is named `SG-Rescue-L3`; close names: `SG-Rescue-L1` (g1), `SG-Rescue-L2` (g2), `Rescue L3` (g4)"
    );
    assert!(
        error
            .hint
            .unwrap_or_default()
            .contains("adsync groups search")
    );
}

#[tokio::test]
async fn a_missing_name_without_close_names_says_so_plainly() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_filter(&server, "displayName eq 'Nope'", vec![]).await;
    mount_filter(&server, "startswith(displayName,'Nop')", vec![]).await;
    mount_search(&server, "\"displayName:Nope\"", vec![]).await;
    let error = source(&server)
        .resolve_group(&GroupRef::Name("Nope".to_owned()))
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::GroupNotFound { close, .. } if close.is_empty()));
    assert_eq!(error.to_string(), "no Entra group is named `Nope`");
}

#[tokio::test]
async fn a_missing_id_is_not_found() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/0000-missing"))
        .respond_with(json(
            404,
            r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource '0000-missing' does not exist or one of its queried reference-property objects are not present."}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let error = snapshot(
        &source(&server),
        &request(vec![by_id("0000-missing")], true),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::NotFound);
    assert_eq!(error.message, "no Entra group has the id `0000-missing`");
}

#[tokio::test]
async fn an_id_with_reserved_characters_is_percent_encoded() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/a%2Fb%3Fc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json("a/b?c", "odd")))
        .expect(1)
        .mount(&server)
        .await;
    let found = source(&server)
        .resolve_group(&by_id("a/b?c"))
        .await
        .expect("resolved");
    assert_eq!(found.display_name, "odd");
}

#[tokio::test]
async fn the_same_group_named_twice_is_read_once() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_filter(&server, "displayName eq 'SG'", vec![group_json("g1", "SG")]).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json("g1", "SG")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1/members/microsoft.graph.user"))
        .respond_with(page(vec![crate::user_json("u1", "jane")], None))
        .expect(1)
        .mount(&server)
        .await;
    let snapshot = snapshot(
        &source(&server),
        &request(vec![GroupRef::Name("SG".to_owned()), by_id("g1")], false),
    )
    .await
    .expect("snapshot");
    assert_eq!(snapshot.groups.len(), 1);
}

#[tokio::test]
async fn search_merges_prefix_and_token_matches() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_filter(
        &server,
        "startswith(displayName,'Rescue')",
        vec![
            group_json("g2", "Rescue-Technicians"),
            group_json("g1", "Rescue Admins"),
        ],
    )
    .await;
    mount_search(
        &server,
        "\"displayName:Rescue\"",
        vec![
            group_json("g3", "SG Rescue L2"),
            group_json("g1", "Rescue Admins"),
        ],
    )
    .await;
    let found = source(&server)
        .search_groups(" Rescue ")
        .await
        .expect("search");
    assert_eq!(
        found,
        vec![
            summary("g1", "Rescue Admins"),
            summary("g2", "Rescue-Technicians"),
            summary("g3", "SG Rescue L2"),
        ]
    );
}

#[tokio::test]
async fn group_members_reports_one_group() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json("g1", "SG")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/v1.0/groups/g1/transitiveMembers/microsoft.graph.user",
        ))
        .respond_with(page(
            vec![
                crate::user_json("u2", "john"),
                crate::user_json("u1", "jane"),
            ],
            None,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1/members/microsoft.graph.group"))
        .respond_with(page(vec![serde_json::json!({"id": "g7"})], None))
        .mount(&server)
        .await;
    let members = source(&server)
        .group_members(&by_id("g1"), true)
        .await
        .expect("members");
    assert_eq!(members.group, summary("g1", "SG"));
    let ids: Vec<&str> = members.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["u1", "u2"]);
    assert_eq!(members.member_groups, ["g7"]);
}

#[tokio::test]
async fn an_empty_search_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(page(vec![], None))
        .expect(0)
        .mount(&server)
        .await;
    let error = source(&server).search_groups("  ").await.unwrap_err();
    assert!(matches!(error, Error::EmptySearchTerm), "{error:?}");
}
