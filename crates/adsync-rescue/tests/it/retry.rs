//! Retries: what is retried, how often, for how long; and reads that fail or come back
//! incomplete never give a snapshot.

use std::time::{Duration, Instant};

use adsync_core::adapter::{AdapterErrorKind, DetailRequest, FailureCategory, Target};
use adsync_core::model::Container;
use adsync_rescue::{RescueSettings, RescueTarget, RetryPolicy};
use wiremock::{MockServer, ResponseTemplate};

use crate::support::*;

async fn read(
    server: &MockServer,
) -> Result<adsync_core::model::RescueSnapshot, adsync_core::adapter::AdapterError> {
    target(server).snapshot(&DetailRequest::default()).await
}

async fn flaky_then_ok(first: ResponseTemplate) -> (usize, bool) {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(&server)
        .await;
    let ok = read(&server).await.is_ok();
    (sent(&server, "getHierarchy_v2").await.len(), ok)
}

#[tokio::test]
async fn throttling_server_errors_timeouts_and_error_are_retried() {
    for (what, first) in [
        (
            "429 with Retry-After",
            ResponseTemplate::new(429).insert_header("Retry-After", "0"),
        ),
        (
            "429 with a past date",
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ),
        ("500", ResponseTemplate::new(500)),
        ("502", ResponseTemplate::new(502)),
        ("503", ResponseTemplate::new(503)),
        ("504", ResponseTemplate::new(504)),
        ("ERROR", answer("ERROR")),
        ("an empty answer", answer("")),
        (
            "a timeout",
            answer(hierarchy(&org())).set_delay(Duration::from_secs(3)),
        ),
    ] {
        assert_eq!(flaky_then_ok(first).await, (2, true), "{what}");
    }
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_fails_at_once_as_throttled() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let error = read(&server).await.expect_err("throttled");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind, AdapterErrorKind::Throttled);
    assert_eq!(error.category(), FailureCategory::Transient);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(&server)
        .await;
    let started = Instant::now();
    read(&server).await.expect("read");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn attempts_are_bounded() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(ResponseTemplate::new(503))
        .expect(5)
        .mount(&server)
        .await;
    let error = read(&server).await.expect_err("unavailable");
    assert_eq!(error.category(), FailureCategory::Transient);
    assert!(error.message.contains("5 attempts"), "{}", error.message);
}

#[tokio::test]
async fn total_time_is_bounded() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let target = RescueTarget::new(RescueSettings {
        retry: RetryPolicy {
            max_attempts: 1000,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(200),
            max_elapsed: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
        },
        ..settings(&server)
    })
    .expect("target");
    let started = Instant::now();
    let error = target
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("unavailable");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(error.category(), FailureCategory::Transient);
    let calls = sent(&server, "getHierarchy_v2").await.len();
    assert!((3..=20).contains(&calls), "{calls} calls");
}

#[tokio::test]
async fn other_http_statuses_and_redirects_are_not_retried() {
    for (status, kind) in [
        (404, AdapterErrorKind::Protocol),
        (401, AdapterErrorKind::Auth),
        (403, AdapterErrorKind::Permission),
        (302, AdapterErrorKind::Protocol),
    ] {
        let server = MockServer::start().await;
        api("getHierarchy_v2")
            .respond_with(
                ResponseTemplate::new(status).insert_header("Location", "http://evil.example/"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let error = read(&server).await.expect_err("refused");
        assert_eq!(error.kind, kind, "{status}");
        if status == 404 {
            assert!(error.hint.as_deref().is_some_and(|h| h.contains("api.rs")));
        }
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    // Port 1 on loopback: nothing listens there.
    let server = MockServer::start().await;
    let target = RescueTarget::new(RescueSettings {
        base_url: "http://127.0.0.1:1".to_owned(),
        ..settings(&server)
    })
    .expect("target");
    let error = target
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("unreachable");
    assert_eq!(error.kind, AdapterErrorKind::Transport);
}

#[tokio::test]
async fn a_truncated_hierarchy_gives_no_snapshot() {
    let server = MockServer::start().await;
    let full = hierarchy(&org());
    let cut = &full[..full.rfind("Type:").unwrap_or(full.len())];
    api("getHierarchy_v2")
        .respond_with(answer(cut))
        .mount(&server)
        .await;
    let error = read(&server).await.expect_err("truncated");
    assert_eq!(error.kind, AdapterErrorKind::Protocol);
    assert!(
        super::support::full_text(&error).contains("truncated"),
        "{}",
        super::support::full_text(&error)
    );
}

#[tokio::test]
async fn a_hierarchy_missing_a_group_gives_no_snapshot() {
    let server = MockServer::start().await;
    let without_l2: Vec<Rec> = org().into_iter().filter(|r| r.id != 11).collect();
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&without_l2)))
        .mount(&server)
        .await;
    assert!(read(&server).await.is_err());
}

#[tokio::test]
async fn an_unreadable_answer_gives_no_snapshot() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(answer("<html><body>Service Unavailable</body></html>"))
        .expect(1)
        .mount(&server)
        .await;
    let error = read(&server).await.expect_err("html");
    assert_eq!(error.category(), FailureCategory::Unknown);
}

#[tokio::test]
async fn one_failed_detail_read_fails_the_whole_read() {
    let server = MockServer::start().await;
    let mut nodes = org();
    nodes.push(user_rec(102, 11, "Technician", "Kim", "kim@contoso.com"));
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&nodes)))
        .mount(&server)
        .await;
    api("getUser_v3")
        .and(form_has("node", 102))
        .respond_with(answer("INVALIDPARAM_NODE"))
        .mount(&server)
        .await;
    api("getUser_v3")
        .respond_with(answer(user_answer(&jane())))
        .mount(&server)
        .await;
    let error = target(&server)
        .snapshot(&details_for(&[(Container::Technicians, "Helpdesk/L2")]))
        .await
        .expect_err("incomplete");
    assert_eq!(error.category(), FailureCategory::NotFound);
}

#[tokio::test]
async fn a_detail_answer_for_another_node_fails_the_read() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(&server)
        .await;
    let other = Details { id: 999, ..jane() };
    api("getUser_v3")
        .respond_with(answer(user_answer(&other)))
        .mount(&server)
        .await;
    let error = target(&server)
        .snapshot(&details_for(&[(Container::Technicians, "Helpdesk/L2")]))
        .await
        .expect_err("wrong node");
    assert_eq!(error.kind, AdapterErrorKind::Protocol);
}
