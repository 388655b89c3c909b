//! Member listings: the exact request, paging, de-duplication, nested groups, and bodies that
//! must fail the snapshot.

use adsync_core::adapter::AdapterErrorKind;
use adsync_core::model::{DirectoryGroup, DirectorySnapshot, DirectoryUser};
use wiremock::matchers::{bearer_token, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    TOKEN, by_id, fixture, graph, group_json, json, mount_token, page, request, snapshot, source,
    user_json,
};

const GROUP: &str = "02bd9fd6-8f93-4758-87c3-1fb73740a315";
const SELECT: &str = "id,userPrincipalName,mail,displayName,givenName,surname,jobTitle,department,mobilePhone,employeeId,accountEnabled";

async fn mount_group(server: &MockServer, id: &str, name: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{id}")))
        .and(query_param("$select", "id,displayName,description"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(id, name)))
        .expect(1)
        .mount(server)
        .await;
}

/// Nested groups of `id`: none.
async fn mount_no_nested_groups(server: &MockServer, id: &str) {
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{id}/members/microsoft.graph.group"
        )))
        .and(query_param("$select", "id"))
        .respond_with(page(vec![], None))
        .expect(1)
        .mount(server)
        .await;
}

fn jane() -> DirectoryUser {
    DirectoryUser {
        id: "u1".to_owned(),
        upn: "jane@contoso.com".to_owned(),
        mail: Some("jane@contoso.com".to_owned()),
        display_name: "jane".to_owned(),
        given_name: Some("jane".to_owned()),
        surname: None,
        job_title: Some("Engineer".to_owned()),
        department: None,
        mobile_phone: None,
        employee_id: None,
        account_enabled: true,
        attributes: Default::default(),
    }
}

#[tokio::test]
async fn members_are_read_across_every_page_with_the_headers_resent() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server, GROUP, "SG-Rescue-L2").await;
    mount_no_nested_groups(&server, GROUP).await;
    let listing = format!("/v1.0/groups/{GROUP}/transitiveMembers/microsoft.graph.user");
    let next = |token: &str| {
        Some(graph(
            &server,
            &format!(
                "groups/{GROUP}/transitiveMembers/microsoft.graph.user?$select={SELECT}&$top=999&$count=true&$skiptoken={token}"
            ),
        ))
    };
    // Page 1: the request adsync builds.
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param("$select", SELECT))
        .and(query_param("$top", "999"))
        .and(query_param_is_missing("$skiptoken"))
        .and(header("ConsistencyLevel", "eventual"))
        .and(bearer_token(TOKEN))
        .respond_with(page(
            vec![user_json("u1", "jane"), user_json("u2", "john")],
            next("p2"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    // Pages 2 and 3: exactly the nextLink, with the same headers; u2 shows up twice.
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param("$skiptoken", "p2"))
        .and(query_param("$select", SELECT))
        .and(header("ConsistencyLevel", "eventual"))
        .and(bearer_token(TOKEN))
        .respond_with(page(
            vec![user_json("u2", "john"), user_json("u3", "ann")],
            next("p3"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param("$skiptoken", "p3"))
        .and(header("ConsistencyLevel", "eventual"))
        .and(bearer_token(TOKEN))
        .respond_with(page(vec![user_json("u0", "zed")], None))
        .expect(1)
        .mount(&server)
        .await;

    let snapshot = snapshot(&source(&server), &request(vec![by_id(GROUP)], true))
        .await
        .expect("snapshot");
    let ids: Vec<&str> = snapshot.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["u0", "u1", "u2", "u3"]);
    assert_eq!(snapshot.groups[0].members, ["u0", "u1", "u2", "u3"]);
    assert_eq!(snapshot.users[1], jane());
}

#[tokio::test]
async fn nested_groups_come_out_as_member_groups() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server, GROUP, "SG-Rescue-L2").await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/transitiveMembers/microsoft.graph.user"
        )))
        .respond_with(page(vec![user_json("u1", "jane")], None))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.group"
        )))
        .and(query_param("$top", "999"))
        .and(header("ConsistencyLevel", "eventual"))
        .respond_with(page(
            vec![
                serde_json::json!({"@odata.type": "#microsoft.graph.group", "id": "g-b"}),
                serde_json::json!({"@odata.type": "#microsoft.graph.group", "id": "g-a"}),
            ],
            None,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let snapshot = snapshot(&source(&server), &request(vec![by_id(GROUP)], true))
        .await
        .expect("snapshot");
    assert_eq!(
        snapshot,
        DirectorySnapshot {
            users: vec![jane()],
            groups: vec![DirectoryGroup {
                id: GROUP.to_owned(),
                display_name: "SG-Rescue-L2".to_owned(),
                members: vec!["u1".to_owned()],
                member_groups: vec!["g-a".to_owned(), "g-b".to_owned()],
            }],
        }
    );
}

#[tokio::test]
async fn a_microsoft_365_group_refusing_the_group_cast_has_no_nested_groups() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server, GROUP, "All Company").await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/transitiveMembers/microsoft.graph.user"
        )))
        .respond_with(page(vec![user_json("u1", "jane")], None))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.group"
        )))
        .respond_with(json(
            400,
            r#"{"error":{"code":"Request_UnsupportedQuery","message":"Unsupported Query."}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let snapshot = snapshot(&source(&server), &request(vec![by_id(GROUP)], true))
        .await
        .expect("snapshot");
    assert!(snapshot.groups[0].member_groups.is_empty());
}

#[tokio::test]
async fn without_nesting_only_direct_user_members_are_read() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server, GROUP, "SG-Rescue-L2").await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.user"
        )))
        .and(query_param("$select", SELECT))
        .and(query_param("$top", "999"))
        .respond_with(page(vec![user_json("u1", "jane")], None))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.group"
        )))
        .respond_with(page(vec![], None))
        .expect(0)
        .mount(&server)
        .await;
    let snapshot = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .expect("snapshot");
    assert_eq!(snapshot.users, vec![jane()]);
    assert!(snapshot.groups[0].member_groups.is_empty());
}

#[tokio::test]
async fn the_documented_member_samples_parse() {
    for (name, relation) in [
        ("members.json", "members"),
        ("transitive-members.json", "transitiveMembers"),
    ] {
        let server = MockServer::start().await;
        mount_token(&server).await;
        mount_group(&server, GROUP, "SG").await;
        Mock::given(method("GET"))
            .and(path(format!(
                "/v1.0/groups/{GROUP}/{relation}/microsoft.graph.user"
            )))
            .respond_with(json(200, &fixture(name)))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!(
                "/v1.0/groups/{GROUP}/members/microsoft.graph.group"
            )))
            .respond_with(page(vec![], None))
            .mount(&server)
            .await;
        let nested = relation == "transitiveMembers";
        let snapshot = snapshot(&source(&server), &request(vec![by_id(GROUP)], nested))
            .await
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(snapshot.users.len(), 1, "{name}");
        let user = &snapshot.users[0];
        assert_eq!(user.id, "11111111-2222-3333-4444-555555555555");
        assert!(
            user.mail
                .as_deref()
                .is_some_and(|mail| mail.ends_with("@contoso.com"))
        );
        assert!(user.account_enabled);
    }
}

#[tokio::test]
async fn members_with_limited_information_are_a_permission_error() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server, GROUP, "SG-Rescue-L2").await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.user"
        )))
        .respond_with(json(
            200,
            &fixture("synthesized/members-limited-information.json"),
        ))
        .mount(&server)
        .await;
    let error = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Permission);
    assert!(
        error.message.contains("`SG-Rescue-L2`"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("2 of the users"),
        "{}",
        error.message
    );
    let hint = error.hint.unwrap_or_default();
    assert!(
        hint.contains("User.Read.All") && hint.contains("GroupMember.Read.All"),
        "{hint}"
    );
    assert!(hint.contains("admin consent"), "{hint}");
}

#[tokio::test]
async fn a_malformed_body_fails_the_snapshot_naming_group_and_request() {
    for body in [
        // The published limited-information sample is not valid JSON.
        fixture("members-limited-information-invalid-json.json"),
        // A page cut off in the middle.
        fixture("transitive-members.json")[..40].to_owned(),
        // Valid JSON, wrong shape.
        r#"{"value": {"id": 1}}"#.to_owned(),
        r#"{"value": [{"mail": "no-id@contoso.com"}]}"#.to_owned(),
    ] {
        let server = MockServer::start().await;
        mount_token(&server).await;
        mount_group(&server, GROUP, "SG-Rescue-L2").await;
        Mock::given(method("GET"))
            .and(path(format!(
                "/v1.0/groups/{GROUP}/members/microsoft.graph.user"
            )))
            .respond_with(json(200, &body))
            .expect(1)
            .mount(&server)
            .await;
        let error = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
            .await
            .unwrap_err();
        assert_eq!(error.kind, AdapterErrorKind::Protocol, "{body}");
        assert_eq!(
            error.message,
            format!(
                "could not read group `SG-Rescue-L2` ({GROUP}): the response to GET /v1.0/groups/{GROUP}/members/microsoft.graph.user is not what Microsoft Graph sends (HTTP 200)"
            )
        );
        assert!(error.source.is_some());
    }
}

#[tokio::test]
async fn a_403_names_the_permissions_to_grant() {
    let batch: serde_json::Value =
        serde_json::from_str(&fixture("batch-response.json")).expect("batch sample");
    let denied = batch["responses"][2]["body"].clone();
    assert_eq!(denied["error"]["code"], "Authorization_RequestDenied");

    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server, GROUP, "SG-Rescue-L2").await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.user"
        )))
        .respond_with(ResponseTemplate::new(403).set_body_json(denied))
        .expect(1)
        .mount(&server)
        .await;
    let error = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Permission);
    assert_eq!(error.code.as_deref(), Some("Authorization_RequestDenied"));
    assert!(
        error.message.ends_with("was refused with http 403 (Authorization_RequestDenied): Insufficient privileges to complete the operation."),
        "{}",
        error.message
    );
    let hint = error.hint.unwrap_or_default();
    assert!(
        hint.contains("GroupMember.Read.All") && hint.contains("User.Read.All"),
        "{hint}"
    );
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(page(vec![], None))
        .expect(0)
        .mount(&elsewhere)
        .await;
    mount_token(&server).await;
    mount_group(&server, GROUP, "SG-Rescue-L2").await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.user"
        )))
        .respond_with(page(
            vec![user_json("u1", "jane")],
            Some(format!(
                "{}/v1.0/groups/{GROUP}/members?$skiptoken=x",
                elsewhere.uri()
            )),
        ))
        .mount(&server)
        .await;
    let error = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Protocol);
    assert!(
        error.message.contains("unusable @odata.nextLink"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_next_link_back_to_the_same_page_is_not_followed_forever() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server, GROUP, "SG-Rescue-L2").await;
    let same = graph(
        &server,
        &format!("groups/{GROUP}/members/microsoft.graph.user?$skiptoken=loop"),
    );
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.user"
        )))
        .respond_with(page(vec![user_json("u1", "jane")], Some(same)))
        .expect(2)
        .mount(&server)
        .await;
    let error = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("points back at the same page"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn groups_are_read_concurrently_within_the_bound() {
    use std::time::{Duration, Instant};
    let latency = Duration::from_millis(100);
    let ids: Vec<String> = (0..8).map(|i| format!("g{i}")).collect();
    let run = |concurrency: usize| {
        let ids = ids.clone();
        async move {
            let server = MockServer::start().await;
            mount_token(&server).await;
            for id in &ids {
                Mock::given(method("GET"))
                    .and(path(format!("/v1.0/groups/{id}")))
                    .respond_with(
                        ResponseTemplate::new(200)
                            .set_body_json(group_json(id, id))
                            .set_delay(latency),
                    )
                    .mount(&server)
                    .await;
                Mock::given(method("GET"))
                    .and(path(format!(
                        "/v1.0/groups/{id}/members/microsoft.graph.user"
                    )))
                    .respond_with(page(vec![], None).set_delay(latency))
                    .mount(&server)
                    .await;
            }
            let mut settings = crate::settings(&server);
            settings.concurrency = concurrency;
            let source = adsync_graph::GraphSource::new(settings).unwrap();
            let request = request(ids.iter().map(|id| by_id(id)).collect(), false);
            let started = Instant::now();
            let snapshot = snapshot(&source, &request).await.expect("snapshot");
            assert_eq!(snapshot.groups.len(), 8);
            started.elapsed()
        }
    };
    // 16 requests of 100 ms: two at a time take at least 800 ms, eight at a time far less.
    let narrow = run(2).await;
    assert!(narrow >= Duration::from_millis(780), "{narrow:?}");
    let wide = run(8).await;
    assert!(wide < Duration::from_millis(700), "{wide:?}");
}
