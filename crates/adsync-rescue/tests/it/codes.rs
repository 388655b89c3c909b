//! Every documented return code of every method adsync calls, and the failure category it
//! becomes (SPEC §7). The raw code is always kept.

use adsync_core::adapter::{AdapterError, DetailRequest, FailureCategory, Target};
use adsync_core::config::Attribute;
use adsync_core::model::{Container, NodeId};
use adsync_core::plan::Action;
use wiremock::MockServer;

use crate::support::*;

use FailureCategory::{
    ExistingAccount, InvalidData, NotFound, OutOfLicenses, Permission, Transient, Unknown,
};

/// How a test reaches each method.
#[derive(Clone, Copy, Debug)]
enum Via {
    Hierarchy,
    User,
    CreateUser,
    SetUser,
    Move,
    Delete,
    CreateGroup,
    SetGroup,
    Account,
    AuthCode,
}

impl Via {
    fn method(self) -> &'static str {
        match self {
            Via::Hierarchy => "getHierarchy_v2",
            Via::User => "getUser_v3",
            Via::CreateUser => "createUser",
            Via::SetUser => "setUser_v2",
            Via::Move => "moveNode",
            Via::Delete => "deleteNode",
            Via::CreateGroup => "createGroup",
            Via::SetGroup => "setGroup",
            Via::Account => "getAccount",
            Via::AuthCode => "requestAuthCode",
        }
    }
}

fn update_name() -> Action {
    update(100, &[(Attribute::Name, "Jane Doe", "Jane Q")])
}

fn create_group() -> Action {
    new_group("Helpdesk/L3", Some(10))
}

/// Answers `code` to `via`'s method, everything else as a healthy Rescue would, and returns
/// the error and how many times the method was called.
async fn failure(via: Via, code: &str) -> (AdapterError, usize) {
    let server = MockServer::start().await;
    mount_empty_node(&server, 555, 11, "Technician").await;
    if matches!(via, Via::Delete) {
        // The node to roll back stays in the tree: a delete answered `ERROR` was not applied.
        let mut with_empty = org();
        with_empty.push(rec(555, 11, "Technician", ""));
        api("getHierarchy_v2")
            .respond_with(answer(hierarchy(&with_empty)))
            .with_priority(3)
            .mount(&server)
            .await;
    }
    api(via.method())
        .respond_with(answer(code))
        .with_priority(1)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(&server)
        .await;
    api("getUser_v3")
        .respond_with(answer(user_answer(&jane())))
        .mount(&server)
        .await;
    api("createUser")
        .respond_with(answer("OK 555"))
        .mount(&server)
        .await;
    api("createGroup")
        .respond_with(answer("OK 77"))
        .mount(&server)
        .await;
    api("deleteNode")
        .respond_with(answer("OK"))
        .mount(&server)
        .await;
    api("requestAuthCode")
        .respond_with(answer(format!("OK AUTHCODE: {Q3_AUTHCODE}")))
        .mount(&server)
        .await;

    let target = target(&server);
    let error = match via {
        Via::Hierarchy => target.snapshot(&DetailRequest::default()).await.err(),
        Via::User => target
            .snapshot(&details_for(&[(Container::Technicians, "Helpdesk/L2")]))
            .await
            .err(),
        Via::CreateUser => target.apply(&create_kim(), None).await.err(),
        Via::SetUser => target.apply(&update_name(), None).await.err(),
        Via::Move => {
            let action = move_to(100, Container::Technicians, Some(10));
            target.apply(&action, None).await.err()
        }
        Via::Delete => target.rollback_created(NodeId(555)).await.err(),
        Via::CreateGroup | Via::SetGroup => target.apply(&create_group(), None).await.err(),
        Via::Account => target.check_auth().await.err().map(AdapterError::from),
        Via::AuthCode => password_target(&server)
            .check_auth()
            .await
            .err()
            .map(AdapterError::from),
    };
    let calls = sent(&server, via.method()).await.len();
    (
        error.unwrap_or_else(|| panic!("{} answering {code} must fail", via.method())),
        calls,
    )
}

/// Codes every signed method documents.
const SIGNED: [(&str, FailureCategory); 3] = [
    ("NOTLOGGEDIN", Permission),
    ("INVALID_SECRETAUTHCODE", Permission),
    ("USER_DELETED_OR_DISABLED", Permission),
];

async fn check(via: Via, codes: &[(&str, FailureCategory)]) {
    for &(code, category) in SIGNED.iter().chain(codes) {
        let (error, calls) = failure(via, code).await;
        assert_eq!(
            error.category(),
            category,
            "{} answering {code}: {error}",
            via.method()
        );
        assert_eq!(
            error.code.as_deref(),
            Some(code),
            "{} answering {code}",
            via.method()
        );
        assert_eq!(calls, 1, "{} answering {code} is not retried", via.method());
    }
    // An unknown code is kept verbatim as unknown, and not retried.
    let (error, calls) = failure(via, "SOMETHING_NEW").await;
    assert_eq!(error.category(), Unknown);
    assert_eq!(error.code.as_deref(), Some("SOMETHING_NEW"));
    assert_eq!(calls, 1);
    // ERROR is retried until the attempts run out.
    let (error, calls) = failure(via, "ERROR").await;
    assert_eq!(error.category(), Transient, "{}: {error}", via.method());
    assert_eq!(error.code.as_deref(), Some("ERROR"));
    assert_eq!(calls, 5, "{} answering ERROR", via.method());
}

#[tokio::test]
async fn get_hierarchy_codes() {
    check(Via::Hierarchy, &[]).await;
}

#[tokio::test]
async fn get_user_codes() {
    check(
        Via::User,
        &[
            ("INVALIDPARAM_NODE", NotFound),
            ("INVALIDPARAM_EMAIL", InvalidData),
            ("INVALID_EMAILANDNODEIDBOTHSPECIFIED", InvalidData),
        ],
    )
    .await;
}

#[tokio::test]
async fn create_user_codes() {
    check(Via::CreateUser, &[("INVALIDPARAM_PARENT", NotFound)]).await;
}

#[tokio::test]
async fn set_user_codes() {
    check(
        Via::SetUser,
        &[
            ("INVALIDPARAM_NODE", NotFound),
            ("INVALIDPARAM_NAME", InvalidData),
            ("INVALIDPARAM_STATUS", InvalidData),
            ("INVALIDPARAM_MOBILEADDON", InvalidData),
            ("INVALIDPARAM_RPATADDON", InvalidData),
            ("INVALIDPARAM_EMAIL", InvalidData),
            ("INVALIDPARAM_EMAIL_ALREADY_IN_USE", ExistingAccount),
            ("INVALIDPARAM_MISSING_CURRENT_PASSWORD", InvalidData),
            (
                "INVALIDPARAM_PASSWORD_HAS_TO_BE_AT_LEAST_8_CHARACTERS_LONG",
                InvalidData,
            ),
            (
                "INVALIDPARAM_PASSWORD_CANNOT_CONTAIN_WHITESPACE_CHARACTERS",
                InvalidData,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_refused_mobile_add_on_is_out_of_licences_when_it_was_being_turned_on() {
    let server = MockServer::start().await;
    let without = Details {
        mobile: false,
        ..jane()
    };
    api("getUser_v3")
        .respond_with(answer(user_answer(&without)))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("INVALIDPARAM_MOBILEADDON"))
        .expect(1)
        .mount(&server)
        .await;
    let turn_on = set_mobile(100, true);
    let error = target(&server)
        .apply(&turn_on, None)
        .await
        .expect_err("no licence");
    assert_eq!(error.category(), OutOfLicenses);
    assert_eq!(error.code.as_deref(), Some("INVALIDPARAM_MOBILEADDON"));
    assert!(error.hint.is_some());

    // The same code while creating a user with the add-on.
    let server = MockServer::start().await;
    mount_empty_node(&server, 555, 11, "Technician").await;
    api("createUser")
        .respond_with(answer("OK 555"))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("INVALIDPARAM_MOBILEADDON"))
        .mount(&server)
        .await;
    api("deleteNode")
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;
    let error = target(&server)
        .apply(&create_kim(), None)
        .await
        .expect_err("no licence");
    assert_eq!(error.category(), OutOfLicenses);
}

#[tokio::test]
async fn move_node_codes() {
    check(
        Via::Move,
        &[
            ("INVALIDPARAM_NODE", NotFound),
            ("INVALIDPARAM_TARGETNODE", NotFound),
            ("INVALID_MOVE", InvalidData),
        ],
    )
    .await;
}

#[tokio::test]
async fn delete_node_codes() {
    check(
        Via::Delete,
        &[
            ("INVALIDPARAM_NODE", NotFound),
            ("INVALID_DELETE", Permission),
        ],
    )
    .await;
}

#[tokio::test]
async fn create_group_codes() {
    check(Via::CreateGroup, &[("INVALIDPARAM_PARENT", NotFound)]).await;
}

#[tokio::test]
async fn set_group_codes() {
    // setGroup's own table was not readable; these are the codes its siblings document.
    check(
        Via::SetGroup,
        &[
            ("INVALIDPARAM_NODE", NotFound),
            ("INVALIDPARAM_NAME", InvalidData),
            ("INVALIDPARAM_STATUS", InvalidData),
        ],
    )
    .await;
}

#[tokio::test]
async fn get_account_codes() {
    check(Via::Account, &[]).await;
}

#[tokio::test]
async fn request_auth_code_codes() {
    for (code, category) in [("INVALID", Permission), ("LIMITREACHED", Transient)] {
        let (error, calls) = failure(Via::AuthCode, code).await;
        assert_eq!(error.category(), category, "{code}: {error}");
        assert_eq!(error.code.as_deref(), Some(code));
        assert!(error.hint.is_some(), "{code}");
        assert_eq!(calls, 1, "{code} is never retried");
    }
    let (error, calls) = failure(Via::AuthCode, "ERROR").await;
    assert_eq!(error.category(), Transient);
    assert_eq!(calls, 5);
}
