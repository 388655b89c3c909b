//! Every read is bounded (issue 26): a paging loop of any length, more pages than the group's
//! `@odata.count` allows, a listing that ends short of its count, and a read past the wall-clock
//! budget are failed reads, each after a bounded number of requests. A token endpoint answering
//! double-encoded JSON does not get its token quoted in the error.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use adsync_core::adapter::AdapterErrorKind;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::{
    TOKEN_PATH, by_id, group_json, json, mount_token, request, snapshot, source, user_json,
};

const GROUP: &str = "0b6d7e7a-0c9f-4f0e-9d43-7b8c1e2a3f4d";

/// Serves the member pages of `GROUP`: `pages(skiptoken)` gives a page's users, the skiptoken
/// of its nextLink (none on the last page) and its `@odata.count`.
struct Pages<F> {
    base: String,
    pages: F,
    served: Arc<AtomicUsize>,
    delay: Duration,
}

type Page = (Vec<serde_json::Value>, Option<String>, Option<u64>);

impl<F: Fn(&str) -> Page + Send + Sync> Respond for Pages<F> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.served.fetch_add(1, Ordering::SeqCst);
        let token = request
            .url
            .query_pairs()
            .find(|(key, _)| key == "$skiptoken")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        let (users, next, count) = (self.pages)(&token);
        let mut body = serde_json::json!({ "value": users });
        if let Some(next) = next {
            body["@odata.nextLink"] = serde_json::Value::String(format!(
                "{}/v1.0/groups/{GROUP}/members/microsoft.graph.user?$skiptoken={next}",
                self.base
            ));
        }
        if let Some(count) = count {
            body["@odata.count"] = serde_json::json!(count);
        }
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(self.delay)
    }
}

/// A server with the token, the group and member pages from `pages`; the counter of pages
/// served.
async fn serve(
    pages: impl Fn(&str) -> Page + Send + Sync + 'static,
    delay: Duration,
) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(GROUP, "SG-Bounded")))
        .mount(&server)
        .await;
    let served = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/groups/{GROUP}/members/microsoft.graph.user"
        )))
        .respond_with(Pages {
            base: server.uri(),
            pages,
            served: served.clone(),
            delay,
        })
        .mount(&server)
        .await;
    (server, served)
}

/// Reads `GROUP` (members only) from `server`.
async fn read(
    server: &MockServer,
) -> Result<adsync_core::model::DirectorySnapshot, adsync_core::adapter::AdapterError> {
    snapshot(&source(server), &request(vec![by_id(GROUP)], false)).await
}

fn user(n: usize) -> serde_json::Value {
    user_json(&format!("u{n}"), &format!("user{n}"))
}

#[tokio::test]
async fn a_two_page_loop_is_a_failed_read_after_three_requests() {
    // A -> B -> A: neither link points at its own page, so only a memory of links tells.
    let (server, served) = serve(
        |token| match token {
            "" | "a" => (vec![user(1)], Some("b".to_owned()), None),
            _ => (vec![user(2)], Some("a".to_owned()), None),
        },
        Duration::ZERO,
    )
    .await;
    let error = read(&server).await.unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Protocol, "{}", error.message);
    assert!(error.message.contains("paging loop"), "{}", error.message);
    // The first page, `a`, `b`; the link back to `a` is refused before it is sent.
    assert_eq!(served.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_longer_loop_is_caught_too() {
    let (server, served) = serve(
        |token| {
            let n: usize = token.parse().unwrap_or(0);
            (vec![user(n)], Some(((n + 1) % 7).to_string()), None)
        },
        Duration::ZERO,
    )
    .await;
    let error = read(&server).await.unwrap_err();
    assert!(error.message.contains("paging loop"), "{}", error.message);
    assert!(served.load(Ordering::SeqCst) <= 8);
}

#[tokio::test]
async fn fresh_links_forever_stop_at_what_the_member_count_allows() {
    // Every page a new link; the first page says the group has 5 members.
    let (server, served) = serve(
        |token| {
            let n: usize = token.parse().unwrap_or(0);
            let count = (n == 0).then_some(5);
            (vec![user(n)], Some((n + 1).to_string()), count)
        },
        Duration::ZERO,
    )
    .await;
    let error = read(&server).await.unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Protocol, "{}", error.message);
    assert!(
        error.message.contains("pages never end"),
        "{}",
        error.message
    );
    assert!(served.load(Ordering::SeqCst) <= 8, "{served:?}");
}

#[tokio::test]
async fn a_listing_ending_short_of_its_count_is_a_failed_read() {
    // Three pages of two, but the first page announced 9 members: pages went missing.
    let (server, _) = serve(
        |token| match token {
            "" => (vec![user(1), user(2)], Some("2".to_owned()), Some(9)),
            "2" => (vec![user(3), user(4)], Some("3".to_owned()), None),
            _ => (vec![user(5), user(6)], None, None),
        },
        Duration::ZERO,
    )
    .await;
    let error = read(&server).await.unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Protocol, "{}", error.message);
    assert!(
        error.message.contains("ended after 6 of the 9 items"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_listing_matching_its_count_reads_whole() {
    let (server, served) = serve(
        |token| match token {
            "" => (vec![user(1), user(2)], Some("2".to_owned()), Some(5)),
            "2" => (vec![user(3), user(4)], Some("3".to_owned()), None),
            _ => (vec![user(5)], None, None),
        },
        Duration::ZERO,
    )
    .await;
    let whole = read(&server).await.expect("a whole read");
    assert_eq!(whole.users.len(), 5);
    assert_eq!(served.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_read_past_its_budget_fails_in_time() {
    // Fresh links forever and no count: only the wall-clock budget ends it.
    let (server, served) = serve(
        |token| {
            let n: usize = token.parse().unwrap_or(0);
            (vec![user(n)], Some((n + 1).to_string()), None)
        },
        Duration::from_millis(20),
    )
    .await;
    let budget = Duration::from_millis(600);
    let started = Instant::now();
    let error = snapshot(
        &source(&server).with_read_budget(budget),
        &request(vec![by_id(GROUP)], false),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        error.message.contains("longer than its budget"),
        "{}",
        error.message
    );
    assert!(error.message.contains("read_budget_s"), "{}", error.message);
    assert!(served.load(Ordering::SeqCst) > 3, "it was paging");
}

/// The full text of an error: its message and every source.
fn full_text(error: &adsync_core::adapter::AdapterError) -> String {
    let mut text = format!("{error} {error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_double_encoded_token_answer_does_not_quote_the_token() {
    const ISSUED: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.double-encoded-issued-token";
    for (status, body) in [
        (
            200,
            serde_json::to_string(&format!(
                r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{ISSUED}"}}"#
            ))
            .expect("a JSON string"),
        ),
        (200, format!(r#"{{"access_token": ["{ISSUED}"]}}"#)),
        (
            400,
            serde_json::to_string(&format!(r#"{{"error":"{ISSUED}"}}"#)).expect("a string"),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(json(status, &body))
            .mount(&server)
            .await;
        let error = snapshot(&source(&server), &request(vec![by_id(GROUP)], false))
            .await
            .unwrap_err();
        let text = full_text(&error);
        assert!(
            !text.contains("double-encoded-issued-token"),
            "{status}: {text}"
        );
        assert_eq!(error.kind, AdapterErrorKind::Protocol, "{status}: {text}");
        assert!(text.contains("its text is not shown"), "{status}: {text}");
    }
}
