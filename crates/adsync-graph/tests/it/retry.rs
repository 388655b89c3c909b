//! Throttling and faults: Retry-After honoured, bounded attempts and time, 401 renewal, and no
//! snapshot when a read still fails.

use std::time::{Duration, Instant, SystemTime};

use adsync_core::adapter::AdapterErrorKind;
use adsync_graph::RetryPolicy;
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    TOKEN, TOKEN_PATH, by_id, fixture, group_json, json, mount_token, page, request, settings,
    snapshot, source, user_json,
};

const GROUP: &str = "5d7e2f0a-8b1c-4e3d-9f60-2a4b6c8d0e12";

/// The group lookup and its direct user members (nesting off keeps the request set small).
async fn mount_group(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(GROUP, "SG-Rescue-L2")))
        .mount(server)
        .await;
}

fn members_path() -> String {
    format!("/v1.0/groups/{GROUP}/members/microsoft.graph.user")
}

async fn mount_members_ok(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(members_path()))
        .respond_with(page(vec![user_json("u1", "jane")], None))
        .mount(server)
        .await;
}

fn throttled(retry_after: &str) -> ResponseTemplate {
    json(429, &fixture("graph-429-too-many-requests.json"))
        .insert_header("Retry-After", retry_after)
}

#[tokio::test]
async fn a_429_is_retried_after_the_decimal_seconds_it_asks_for() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server).await;
    Mock::given(method("GET"))
        .and(path(members_path()))
        .respond_with(throttled("0.25"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_members_ok(&server).await;

    let started = Instant::now();
    let snapshot = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .expect("snapshot after the throttle");
    // The policy has no backoff of its own: the whole wait is the server's Retry-After.
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(snapshot.groups[0].members, vec!["u1".to_owned()]);
}

#[tokio::test]
async fn a_429_is_retried_after_the_http_date_it_asks_for() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server).await;
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    Mock::given(method("GET"))
        .and(path(members_path()))
        .respond_with(throttled(&when))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_members_ok(&server).await;

    let started = Instant::now();
    snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .expect("snapshot after the throttle");
    // An HTTP date has whole seconds: "now + 2 s" is between 1 and 2 seconds away.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_time_budget_fails_at_once() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server).await;
    // The verbatim sample asks for 10 seconds; the budget is 2.
    Mock::given(method("GET"))
        .and(path(members_path()))
        .respond_with(throttled("10"))
        .expect(1)
        .mount(&server)
        .await;
    let mut settings = settings(&server);
    settings.retry.max_elapsed = Duration::from_secs(2);
    let source = adsync_graph::GraphSource::new(settings).unwrap();

    let started = Instant::now();
    let error = snapshot(&source, &request(vec![by_id(GROUP)], false))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(error.kind, AdapterErrorKind::Throttled);
    assert!(error.hint.is_some());
    assert_eq!(
        error.message,
        format!(
            "could not read group `SG-Rescue-L2` ({GROUP}): GET /v1.0/groups/{GROUP}/members/microsoft.graph.user was still throttled (http 429) after 1 attempts"
        )
    );
}

#[tokio::test]
async fn a_503_storm_exhausts_the_retries_and_yields_no_snapshot() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server).await;
    Mock::given(method("GET"))
        .and(path(members_path()))
        .respond_with(json(503, "{}"))
        .expect(4)
        .mount(&server)
        .await;

    let error = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Transport);
    assert!(error.message.contains("SG-Rescue-L2"), "{}", error.message);
    assert!(
        error.message.contains(&members_path())
            && error.message.contains("http 503 after 4 attempts"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_504_then_success_is_transparent() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_group(&server).await;
    Mock::given(method("GET"))
        .and(path(members_path()))
        .respond_with(json(504, ""))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    mount_members_ok(&server).await;
    snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .expect("snapshot after two gateway timeouts");
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_carries_on() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json(200, &crate::fixture("token-success.json")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json(
            200,
            r#"{"token_type":"Bearer","expires_in":3599,"access_token":"renewed"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    // The first token has expired as far as Graph is concerned.
    Mock::given(method("GET"))
        .and(bearer_token(TOKEN))
        .respond_with(json(401, &fixture("graph-401-expired-token.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}")))
        .and(bearer_token("renewed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(GROUP, "SG-Rescue-L2")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(members_path()))
        .and(bearer_token("renewed"))
        .respond_with(page(vec![user_json("u1", "jane")], None))
        .expect(1)
        .mount(&server)
        .await;

    snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .expect("snapshot with the renewed token");
}

#[tokio::test]
async fn a_token_refused_twice_is_an_auth_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json(200, &fixture("token-success.json")))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(json(401, &fixture("graph-401-expired-token.json")))
        .expect(2)
        .mount(&server)
        .await;
    let error = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
        .await
        .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Auth);
    assert_eq!(error.code.as_deref(), Some("InvalidAuthenticationToken"));
    assert!(error.message.contains("http 401"), "{}", error.message);
}

#[tokio::test]
async fn an_unreachable_graph_is_a_transport_error_after_the_retries() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut settings = settings(&server);
    settings.graph_url = Some(format!("http://{closed}"));
    settings.retry = RetryPolicy::immediate(3);
    let source = adsync_graph::GraphSource::new(settings).unwrap();
    let error = snapshot(&source, &request(vec![by_id(GROUP)], false))
        .await
        .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Transport);
    assert_eq!(
        error.message,
        format!("could not read group `{GROUP}`: GET /v1.0/groups/{GROUP} failed after 3 attempts")
    );
    assert!(error.source.is_some());
}
