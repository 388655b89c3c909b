//! The client-credentials token: the request, caching, renewal, and every classified refusal.

use std::time::Duration;

use adsync_core::adapter::{AdapterError, AdapterErrorKind};
use adsync_graph::{Error, TokenRefusal};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer};

use crate::{CLIENT_ID, SECRET, TOKEN_PATH, fixture, json, source};

#[tokio::test]
async fn the_token_request_is_a_client_credentials_form_for_the_clouds_scope() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains(format!("client_id={CLIENT_ID}")))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        ))
        .and(body_string_contains(
            "client_secret=kV8Q%7Enot-a-real-secret",
        ))
        .respond_with(json(200, &fixture("token-success.json")))
        .expect(1)
        .mount(&server)
        .await;
    let source = source(&server);
    source.check_token().await.expect("token");
    // Cached: a second check sends nothing.
    source.check_token().await.expect("cached token");
}

#[tokio::test]
async fn a_token_close_to_expiry_is_renewed_before_use() {
    let server = MockServer::start().await;
    let short_lived =
        r#"{"token_type":"Bearer","expires_in":1,"ext_expires_in":1,"access_token":"short"}"#;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json(200, short_lived))
        .expect(2)
        .mount(&server)
        .await;
    let source = source(&server);
    source.check_token().await.expect("token");
    // Renewal happens at half of a short lifetime.
    tokio::time::sleep(Duration::from_millis(600)).await;
    source.check_token().await.expect("renewed token");
}

struct Case {
    fixture: &'static str,
    status: u16,
    reason: TokenRefusal,
    code: &'static str,
    hint: &'static str,
}

const CASES: &[Case] = &[
    Case {
        fixture: "token-error-7000215.json",
        status: 401,
        reason: TokenRefusal::InvalidSecret,
        code: "AADSTS7000215",
        hint: "not its id",
    },
    Case {
        fixture: "synthesized/token-error-7000222.json",
        status: 401,
        reason: TokenRefusal::ExpiredSecret,
        code: "AADSTS7000222",
        hint: "create a new client secret",
    },
    Case {
        fixture: "token-error-700016.json",
        status: 400,
        reason: TokenRefusal::UnknownApplication,
        code: "AADSTS700016",
        hint: "check `client_id`",
    },
    Case {
        fixture: "token-error-90002.json",
        status: 400,
        reason: TokenRefusal::UnknownTenant,
        code: "AADSTS90002",
        hint: "check `tenant`",
    },
    Case {
        fixture: "synthesized/token-error-900023.json",
        status: 400,
        reason: TokenRefusal::UnknownTenant,
        code: "AADSTS900023",
        hint: "check `tenant`",
    },
    Case {
        fixture: "synthesized/token-error-90038.json",
        status: 400,
        reason: TokenRefusal::WrongCloud,
        code: "AADSTS90038",
        hint: "set `cloud`",
    },
];

#[tokio::test]
async fn each_token_refusal_gets_its_own_message_and_hint() {
    for case in CASES {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(json(case.status, &fixture(case.fixture)))
            .expect(1)
            .mount(&server)
            .await;
        let error = source(&server).check_token().await.unwrap_err();
        let Error::Token { reason, .. } = &error else {
            panic!("{}: {error:?}", case.fixture);
        };
        assert_eq!(*reason, case.reason, "{}", case.fixture);
        let adapter = AdapterError::from(error);
        assert_eq!(adapter.kind, AdapterErrorKind::Auth, "{}", case.fixture);
        assert_eq!(adapter.code.as_deref(), Some(case.code), "{}", case.fixture);
        let hint = adapter.hint.clone().unwrap_or_default();
        assert!(hint.contains(case.hint), "{}: {hint}", case.fixture);
        assert!(!adapter.message.contains(SECRET));
        assert!(!adapter.message.ends_with('.'), "{}", adapter.message);
    }
}

#[tokio::test]
async fn an_unknown_refusal_keeps_the_error_and_its_codes() {
    for name in [
        "token-error-invalid-scope.json",
        "token-error-invalid-scope-error-uri.json",
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(json(400, &fixture(name)))
            .mount(&server)
            .await;
        let error = source(&server).check_token().await.unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Token { reason: TokenRefusal::Other, error, codes, .. }
                    if error == "invalid_scope" && codes == &[70011]
            ),
            "{error:?}"
        );
        let adapter = AdapterError::from(error);
        assert_eq!(adapter.kind, AdapterErrorKind::Auth);
        assert_eq!(adapter.code.as_deref(), Some("AADSTS70011"));
        assert!(
            adapter
                .message
                .starts_with("Entra ID refused the token request (invalid_scope, AADSTS70011): AADSTS70011: The provided value"),
            "{}",
            adapter.message
        );
        // Only the first line of the description: no trace ids or timestamps.
        assert!(!adapter.message.contains("Trace ID"), "{}", adapter.message);
    }
}

#[tokio::test]
async fn an_unreadable_token_response_is_a_protocol_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_raw("<html>proxy login</html>", "text/html"),
        )
        .mount(&server)
        .await;
    let adapter = AdapterError::from(source(&server).check_token().await.unwrap_err());
    assert_eq!(adapter.kind, AdapterErrorKind::Protocol);
    assert!(
        adapter.message.contains("oauth2/v2.0/token"),
        "{}",
        adapter.message
    );
    assert!(adapter.source.is_some());
}

#[tokio::test]
async fn a_throttled_token_endpoint_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json(503, "{}"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json(200, &fixture("token-success.json")))
        .expect(1)
        .mount(&server)
        .await;
    source(&server)
        .check_token()
        .await
        .expect("token after retries");
}

#[tokio::test]
async fn a_refused_token_during_a_read_is_not_blamed_on_a_group() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json(401, &fixture("token-error-7000215.json")))
        .expect(1)
        .mount(&server)
        .await;
    let request = crate::request(
        vec![adsync_core::config::GroupRef::Name("SG".to_owned())],
        true,
    );
    let error = crate::snapshot(&source(&server), &request)
        .await
        .unwrap_err();
    assert_eq!(error.kind, AdapterErrorKind::Auth);
    assert_eq!(error.message, "Entra ID refused the client secret");
}
