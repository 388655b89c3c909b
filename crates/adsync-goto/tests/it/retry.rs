//! 429s and 5xx: retried with bounded attempts, honouring Retry-After.

use std::time::{Duration, Instant};

use adsync_core::adapter::{AdapterError, FailureCategory};
use adsync_goto::Error;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{admin, empty_collections, empty_page, target, token_endpoint};

#[tokio::test]
async fn a_429_waits_for_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    empty_collections(&server).await;
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .respond_with(empty_page())
        .mount(&server)
        .await;
    let (target, _) = target(&server);
    let started = Instant::now();
    let snapshot = target.read_snapshot().await.expect("read after the 429");
    assert!(snapshot.users.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn throttling_that_never_ends_is_bounded_and_transient() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    empty_collections(&server).await;
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let (target, _) = target(&server);
    let error = target.read_snapshot().await.expect_err("still throttled");
    assert!(
        matches!(error, Error::Throttled { attempts: 3, .. }),
        "{error:?}"
    );
    let users_requests = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().ends_with("/users"))
        .count();
    assert_eq!(users_requests, 3, "max_attempts bounds the sends");
    assert_eq!(
        AdapterError::from(error).category(),
        FailureCategory::Transient
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_is_not_waited_for() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    empty_collections(&server).await;
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let (target, _) = target(&server);
    let started = Instant::now();
    let error = target.read_snapshot().await.expect_err("gives up");
    assert!(
        matches!(error, Error::Throttled { attempts: 1, .. }),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}
