//! Complete reads: every page is followed, and a read that does not add up fails whole.

use adsync_goto::Error;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{admin, empty_collections, target, token_endpoint, users};

fn page(from: usize, n: usize, total: usize) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "results": users(from, n),
        "fromIndex": from,
        "toIndex": from + n - 1,
        "total": total,
    }))
}

async fn three_pages(server: &MockServer, last: ResponseTemplate) {
    for (offset, template) in [(0, page(0, 100, 230)), (100, page(100, 100, 230))] {
        Mock::given(method("GET"))
            .and(path(admin("/users")))
            .and(query_param("offset", offset.to_string()))
            .and(query_param("pageSize", "100"))
            .respond_with(template)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .and(query_param("offset", "200"))
        .respond_with(last)
        .mount(server)
        .await;
}

#[tokio::test]
async fn every_page_is_read_and_keys_keep_their_digits() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    empty_collections(&server).await;
    three_pages(&server, page(200, 30, 230)).await;
    Mock::given(method("GET"))
        .and(path(admin("/licenses")))
        .and(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"results":[{"key":78888886011013972886849029,"seats":5,"userCount":1,
                "products":["g2m"],"userKeys":[1007],"enabled":true}],
                "fromIndex":0,"toIndex":0,"total":1}"#,
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    let (target, _) = target(&server);
    let snapshot = target.read_snapshot().await.expect("a complete read");
    assert_eq!(snapshot.users.len(), 230);
    assert_eq!(snapshot.account_key.as_str(), "8830995");
    let user = snapshot.user_by_email("user7@contoso.com").expect("user 7");
    let licence = snapshot.licences[0].key.clone();
    assert_eq!(licence.as_str(), "78888886011013972886849029");
    assert!(user.licences.contains(&licence));
    assert_eq!(
        snapshot
            .products_of(user)
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>(),
        ["G2M"]
    );
    assert_eq!(snapshot.licences[0].free_seats(), 4);
}

#[tokio::test]
async fn a_failing_page_fails_the_whole_read() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    empty_collections(&server).await;
    three_pages(&server, ResponseTemplate::new(503)).await;
    let (target, _) = target(&server);
    let error = target.read_snapshot().await.expect_err("no partial read");
    assert!(
        matches!(error, Error::Unavailable { status: 503, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_short_read_or_a_moving_total_is_incomplete() {
    for last in [
        // The last page says it ends before the total.
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "results": users(200, 20), "fromIndex": 200, "toIndex": 219, "total": 220
        })),
        // The page asked for at 200 starts elsewhere.
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "results": users(190, 30), "fromIndex": 190, "toIndex": 229, "total": 230
        })),
        // An empty page before the total is reached.
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "results": [], "fromIndex": 200, "total": 230
        })),
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server).await;
        empty_collections(&server).await;
        three_pages(&server, last).await;
        let (target, _) = target(&server);
        let error = target.read_snapshot().await.expect_err("incomplete");
        assert!(matches!(error, Error::Incomplete { .. }), "{error:?}");
        assert!(error.to_string().contains("/users"), "{error}");
    }
}

#[tokio::test]
async fn malformed_bodies_are_named_errors_never_panics() {
    for body in [
        "<html>gateway</html>",
        r#"{"results": [{"key": "not a key!", "email": "a@b"}], "total": 1}"#,
        r#"{"results": [{"email": "a@b"}], "total": 1}"#,
        r#"{"results": [{"key": 1.5, "email": "a@b"}], "total": 1}"#,
        r#"{"total": 3}"#,
        "",
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server).await;
        empty_collections(&server).await;
        Mock::given(method("GET"))
            .and(path(admin("/users")))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let (target, _) = target(&server);
        let error = target.read_snapshot().await.expect_err("malformed");
        assert!(
            matches!(error, Error::Malformed { .. }),
            "{body}: {error:?}"
        );
        assert!(
            error.to_string().contains("GET /accounts/8830995/users"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_duplicated_user_across_pages_fails_the_read() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    empty_collections(&server).await;
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "results": [users(0, 1)[0].clone(), users(0, 1)[0].clone()],
            "fromIndex": 0, "toIndex": 1, "total": 2
        })))
        .mount(&server)
        .await;
    let (target, _) = target(&server);
    let error = target.read_snapshot().await.expect_err("duplicate");
    assert!(error.to_string().contains("appears twice"), "{error}");
}
