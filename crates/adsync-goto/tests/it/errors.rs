//! Refusals land in the seed's categories, and writes send what the documentation shows.

use std::collections::BTreeSet;

use adsync_core::adapter::{AdapterError, FailureCategory};
use adsync_goto::{AdminRole, Error, Key, Operation};
use wiremock::matchers::{body_json, body_string, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{admin, target, token_endpoint};

fn key(text: &str) -> Key {
    Key::new(text).expect("a key")
}

fn create(email: &str) -> Operation {
    Operation::CreateUser {
        email: email.to_owned(),
        first_name: "Janco".to_owned(),
        last_name: "Tianno".to_owned(),
        licences: BTreeSet::from([key("78888886011013972886849029")]),
        role: AdminRole::None,
        group: None,
    }
}

fn category(error: Error) -> FailureCategory {
    AdapterError::from(error).category()
}

#[tokio::test]
async fn create_sends_the_documented_body_and_reads_the_key() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    Mock::given(method("POST"))
        .and(path(admin("/users")))
        .and(query_param("allOrNothing", "true"))
        // The key goes as the JSON number it came as, all 26 digits of it.
        .and(body_string(
            r#"{"users":[{"email":"jtianno@company.com","firstName":"Janco","lastName":"Tianno"}],"licenseKeys":[78888886011013972886849029],"suppressEmail":true}"#,
        ))
        // The documented answer, verbatim (developer.goto.com, "How to create, update and
        // delete Account Users via Admin API").
        .respond_with(ResponseTemplate::new(201).set_body_string(
            r#"[
  {
    "key": 78888886011013972886849029,
    "email": "jtianno@company.com"
  }
]"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (target, _) = target(&server);
    let outcome = target
        .apply_operation(&create("jtianno@company.com"))
        .await
        .expect("created");
    assert_eq!(outcome.created, Some(key("78888886011013972886849029")));
}

#[tokio::test]
async fn conflicts_are_existing_accounts_in_both_documented_forms() {
    for answer in [
        ResponseTemplate::new(409).set_body_string(r#"{"errorCode":"CONFLICT"}"#),
        ResponseTemplate::new(200).set_body_string(r#"[{"email":"jtianno@company.com"}]"#),
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server).await;
        Mock::given(method("POST"))
            .and(path(admin("/users")))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let (target, _) = target(&server);
        let error = target
            .apply_operation(&create("jtianno@company.com"))
            .await
            .expect_err("conflict");
        assert!(matches!(error, Error::ExistingAccount { .. }), "{error:?}");
        assert!(error.to_string().contains("jtianno@company.com"));
        assert_eq!(category(error), FailureCategory::ExistingAccount);
    }
}

#[tokio::test]
async fn a_seat_refusal_is_out_of_licences_and_other_refusals_are_not() {
    let set = Operation::SetLicences {
        user: key("1001"),
        email: "a@contoso.com".to_owned(),
        before: BTreeSet::new(),
        after: BTreeSet::from([key("55")]),
    };
    let cases = [
        (
            r#"{"errorCode":"NO_AVAILABLE_SEATS","message":"No seats available"}"#,
            FailureCategory::OutOfLicenses,
        ),
        (
            r#"{"errorCode":"INVALID_REQUEST","message":"firstName too long"}"#,
            FailureCategory::InvalidData,
        ),
    ];
    for (body, expected) in cases {
        let server = MockServer::start().await;
        token_endpoint(&server).await;
        Mock::given(method("PUT"))
            .and(path(admin("/users/1001")))
            .and(body_json(serde_json::json!({"licenseKeys": [55]})))
            .respond_with(ResponseTemplate::new(400).set_body_string(body))
            .mount(&server)
            .await;
        let (target, _) = target(&server);
        let error = target.apply_operation(&set).await.expect_err("refused");
        assert_eq!(category(error), expected, "{body}");
    }
}

#[tokio::test]
async fn suspend_removes_every_licence_and_role_and_group_use_update_user() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    for body in [
        serde_json::json!({"licenseKeys": []}),
        serde_json::json!({"adminRoles": ["MANAGE_USERS"], "managedGroupKeys": [31]}),
        serde_json::json!({"groupKey": 31}),
    ] {
        Mock::given(method("PUT"))
            .and(path(admin("/users/1001")))
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (target, _) = target(&server);
    let user = key("1001");
    let email = "a@contoso.com".to_owned();
    for operation in [
        Operation::Suspend {
            user: user.clone(),
            email: email.clone(),
            before: BTreeSet::from([key("55")]),
        },
        Operation::SetRole {
            user: user.clone(),
            email: email.clone(),
            before: AdminRole::None,
            after: AdminRole::ManagerOf {
                groups: BTreeSet::from([key("31")]),
            },
        },
        Operation::MoveToGroup {
            user: user.clone(),
            email: email.clone(),
            from: None,
            to: key("31"),
        },
    ] {
        target.apply_operation(&operation).await.expect("applied");
    }
    let custom = Operation::SetRole {
        user,
        email,
        before: AdminRole::None,
        after: AdminRole::Other {
            roles: BTreeSet::from(["RUN_REPORTS".to_owned()]),
        },
    };
    let error = target.apply_operation(&custom).await.expect_err("refused");
    assert!(matches!(error, Error::Unwritable { .. }), "{error:?}");
}

#[tokio::test]
async fn auth_refusals_and_missing_users_are_named() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    Mock::given(method("PUT"))
        .and(path(admin("/users/1")))
        .respond_with(ResponseTemplate::new(403).set_body_string(r#"{"message":"Forbidden"}"#))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(admin("/users/2")))
        .respond_with(ResponseTemplate::new(404).set_body_string(
            r#"{"errorCode":"NOT_FOUND","message":"The requested resource was not found"}"#,
        ))
        .mount(&server)
        .await;
    let (target, _) = target(&server);
    let move_to = |user: &str| Operation::MoveToGroup {
        user: key(user),
        email: "a@contoso.com".to_owned(),
        from: None,
        to: key("31"),
    };
    let forbidden = AdapterError::from(target.apply_operation(&move_to("1")).await.unwrap_err());
    assert_eq!(forbidden.category(), FailureCategory::Permission);
    assert!(
        forbidden
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("SUPER_USER")
    );
    let missing = target.apply_operation(&move_to("2")).await.unwrap_err();
    assert_eq!(category(missing), FailureCategory::NotFound);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_looked_up_not_resent() {
    for found in [true, false] {
        let server = MockServer::start().await;
        token_endpoint(&server).await;
        Mock::given(method("POST"))
            .and(path(admin("/users")))
            .respond_with(ResponseTemplate::new(503))
            .expect(1)
            .mount(&server)
            .await;
        let results = if found {
            serde_json::json!([{"key": 4242, "email": "jtianno@company.com"}])
        } else {
            serde_json::json!([])
        };
        Mock::given(method("GET"))
            .and(path(admin("/users")))
            .and(query_param("filter", "email eq \"jtianno@company.com\""))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({"results": results, "fromIndex": 0, "total": 1}),
                ),
            )
            .expect(1)
            .mount(&server)
            .await;
        let (target, _) = target(&server);
        let result = target.apply_operation(&create("jtianno@company.com")).await;
        if found {
            assert_eq!(result.expect("found").created, Some(key("4242")));
        } else {
            let error = result.expect_err("ambiguous");
            assert!(matches!(error, Error::Ambiguous { .. }), "{error:?}");
        }
    }
}
