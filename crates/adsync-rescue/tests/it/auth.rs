//! Signing in: the API token on every call, or one `requestAuthCode` per run; one
//! re-authentication when the authcode is refused; `LIMITREACHED` never retried.

use adsync_core::adapter::{AdapterError, AdapterErrorKind, DetailRequest, Target};
use adsync_core::model::Container;
use wiremock::MockServer;

use crate::support::*;

async fn mount_healthy(server: &MockServer) {
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(server)
        .await;
    api("getUser_v3")
        .respond_with(answer(user_answer(&jane())))
        .mount(server)
        .await;
    api("getAccount")
        .respond_with(answer(include_str!(
            "../../../../fixtures/rescue/q4-getaccount.doc.txt"
        )))
        .mount(server)
        .await;
}

#[tokio::test]
async fn password_mode_requests_one_authcode_per_run_and_signs_every_call_with_it() {
    let server = MockServer::start().await;
    api("requestAuthCode")
        .and(form_has("email", ADMIN_EMAIL))
        .and(form_has("pwd", ADMIN_PASSWORD))
        .respond_with(answer(include_str!(
            "../../../../fixtures/rescue/q3-requestauthcode.doc.txt"
        )))
        .expect(1)
        .mount(&server)
        .await;
    mount_healthy(&server).await;

    let target = password_target(&server);
    target.check_auth().await.expect("signed in");
    target
        .snapshot(&details_for(&[(Container::Technicians, "Helpdesk/L2")]))
        .await
        .expect("read");
    target
        .snapshot(&DetailRequest::default())
        .await
        .expect("read");

    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 5);
    for request in &requests {
        let form = form(request);
        if request.url.path().ends_with("requestAuthCode.aspx") {
            assert!(!form.contains_key("authcode"));
        } else {
            assert_eq!(form.get("authcode").map(String::as_str), Some(Q3_AUTHCODE));
        }
    }
}

#[tokio::test]
async fn concurrent_first_calls_share_one_authcode_request() {
    let server = MockServer::start().await;
    let mut nodes = org();
    for id in 1000..1016 {
        nodes.push(user_rec(
            id,
            11,
            "Technician",
            "T",
            &format!("t{id}@contoso.com"),
        ));
    }
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&nodes)))
        .mount(&server)
        .await;
    api("getUser_v3")
        .respond_with(EchoUsers::default())
        .mount(&server)
        .await;
    api("requestAuthCode")
        .respond_with(answer("OK AUTHCODE:abc"))
        .expect(1)
        .mount(&server)
        .await;
    api("getAccount")
        .respond_with(answer(include_str!(
            "../../../../fixtures/rescue/q4-getaccount.doc.txt"
        )))
        .mount(&server)
        .await;
    let target = password_target(&server);
    let details = details_for(&[(Container::Technicians, "Helpdesk/L2")]);
    let (account, first, second) = tokio::join!(
        target.check_auth(),
        target.snapshot(&details),
        target.snapshot(&details)
    );
    account.expect("signed in");
    first.expect("read");
    second.expect("read");
    assert_eq!(sent(&server, "getUser_v3").await.len(), 34);
}

#[tokio::test]
async fn a_refused_authcode_mid_run_signs_in_once_more() {
    for refusal in ["NOTLOGGEDIN", "INVALID_SECRETAUTHCODE"] {
        let server = MockServer::start().await;
        api("requestAuthCode")
            .respond_with(answer("OK AUTHCODE: first-code"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        api("requestAuthCode")
            .respond_with(answer("OK AUTHCODE: second-code"))
            .mount(&server)
            .await;
        api("getHierarchy_v2")
            .and(form_has("authcode", "first-code"))
            .respond_with(answer(refusal))
            .mount(&server)
            .await;
        mount_healthy(&server).await;

        let target = password_target(&server);
        target
            .snapshot(&DetailRequest::default())
            .await
            .expect("read after signing in again");
        assert_eq!(sent(&server, "requestAuthCode").await.len(), 2, "{refusal}");
        let reads = sent(&server, "getHierarchy_v2").await;
        assert_eq!(reads.len(), 2);
        assert_eq!(reads[1]["authcode"], "second-code");
        // A second refusal later in the run is not followed by a third sign-in.
        let server_calls_before = sent(&server, "requestAuthCode").await.len();
        target.check_auth().await.expect("still signed in");
        assert_eq!(
            sent(&server, "requestAuthCode").await.len(),
            server_calls_before
        );
    }
}

#[tokio::test]
async fn an_authcode_refused_twice_fails_after_exactly_one_renewal() {
    let server = MockServer::start().await;
    api("requestAuthCode")
        .respond_with(answer("OK AUTHCODE: code"))
        .expect(2)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer("INVALID_SECRETAUTHCODE"))
        .expect(2)
        .mount(&server)
        .await;
    let error = password_target(&server)
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("refused");
    assert_eq!(error.kind, AdapterErrorKind::Auth);
    assert_eq!(error.code.as_deref(), Some("INVALID_SECRETAUTHCODE"));
    assert!(
        error
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("replaces"))
    );
}

#[tokio::test]
async fn limit_reached_is_reported_and_never_retried() {
    let server = MockServer::start().await;
    api("requestAuthCode")
        .respond_with(answer("LIMITREACHED"))
        .expect(1)
        .mount(&server)
        .await;
    mount_healthy(&server).await;
    let target = password_target(&server);
    let error: AdapterError = target.check_auth().await.expect_err("limited").into();
    assert_eq!(error.kind, AdapterErrorKind::Throttled);
    assert_eq!(error.code.as_deref(), Some("LIMITREACHED"));
    assert!(
        error
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("API token"))
    );
    assert!(sent(&server, "getAccount").await.is_empty());
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error() {
    let server = MockServer::start().await;
    api("requestAuthCode")
        .respond_with(answer("INVALID"))
        .expect(1)
        .mount(&server)
        .await;
    let error = password_target(&server)
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("refused");
    assert_eq!(error.kind, AdapterErrorKind::Auth);
    assert_eq!(error.category().as_str(), "permission");
    assert!(
        error.message.contains("e-mail and password"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_refused_api_token_is_not_renewed_and_hints_at_a_new_token() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(answer("NOTLOGGEDIN"))
        .expect(1)
        .mount(&server)
        .await;
    api("requestAuthCode")
        .respond_with(answer("OK AUTHCODE: x"))
        .expect(0)
        .mount(&server)
        .await;
    let error = target(&server)
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("refused");
    assert_eq!(error.kind, AdapterErrorKind::Auth);
    assert!(error.message.contains("API token"), "{}", error.message);
    assert!(
        error
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("Generate API token"))
    );
}
