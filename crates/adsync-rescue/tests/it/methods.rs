//! Every method adsync calls, with the fields it sends and what it makes of the answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use adsync_core::adapter::{AdapterErrorKind, Applied, DetailRequest, Target};
use adsync_core::config::Attribute;
use adsync_core::model::{Container, NodeId, NodeType, Status};
use adsync_core::plan::Action;
use adsync_rescue::{Account, RescueSettings, RescueTarget};
use wiremock::MockServer;

use crate::support::*;

#[tokio::test]
async fn get_hierarchy_reads_the_whole_tree_in_one_signed_post() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .and(form_has("authcode", TOKEN))
        .respond_with(answer(hierarchy(&org())))
        .expect(1)
        .mount(&server)
        .await;

    let snapshot = target(&server)
        .snapshot(&DetailRequest::default())
        .await
        .expect("read");

    assert_eq!(snapshot.nodes.len(), org().len());
    let jane = snapshot
        .nodes
        .iter()
        .find(|n| n.id == NodeId(100))
        .expect("jane");
    assert_eq!(jane.parent, Some(NodeId(11)));
    assert_eq!(jane.node_type, NodeType::Technician);
    assert_eq!(jane.email.as_deref(), Some("jane@contoso.com"));
    assert_eq!(jane.status, Some(Status::Enabled));
    assert_eq!((jane.nick.as_ref(), jane.mobile), (None, None));
    let joe = snapshot
        .nodes
        .iter()
        .find(|n| n.id == NodeId(101))
        .expect("joe");
    assert_eq!(joe.status, Some(Status::Disabled));
    let root = snapshot
        .nodes
        .iter()
        .find(|n| n.id == NodeId(1))
        .expect("root");
    assert_eq!(root.parent, None);

    let requests = server.received_requests().await.expect("recorded");
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.query(), None, "nothing travels in the url");
    assert_eq!(
        form(request).len(),
        1,
        "only the authcode: {:?}",
        form(request).keys()
    );
}

#[tokio::test]
async fn get_user_fills_the_details_of_users_in_scope_only() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .expect(1)
        .mount(&server)
        .await;
    api("getUser_v3")
        .and(form_has("node", 100))
        .and(form_has("authcode", TOKEN))
        .respond_with(answer(user_answer(&jane())))
        .expect(1)
        .mount(&server)
        .await;

    let snapshot = target(&server)
        .snapshot(&details_for(&[(Container::Technicians, "Helpdesk/L2")]))
        .await
        .expect("read");

    let node = |id| {
        snapshot
            .nodes
            .iter()
            .find(|n| n.id == NodeId(id))
            .expect("node")
    };
    let jane = node(100);
    assert_eq!(jane.nick.as_deref(), Some("JJ"));
    assert_eq!(jane.ssoid.as_deref(), Some("jane.sso"));
    assert_eq!((jane.mobile, jane.rpat), (Some(true), Some(true)));
    assert!(!jane.account_holder);
    // Joe is in Helpdesk, not in L2: not read.
    assert_eq!(node(101).nick, None);
    assert_eq!(node(101).mobile, None);
}

#[tokio::test]
async fn the_account_holder_flag_comes_from_the_detail_read() {
    let server = MockServer::start().await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(&server)
        .await;
    let owner = Details {
        id: 300,
        name: "Owner",
        email: "owner@contoso.com",
        kind: "MasterAdministrator",
        holder: true,
        ..jane()
    };
    api("getUser_v3")
        .and(form_has("node", 300))
        .respond_with(answer(user_answer(&owner)))
        .expect(1)
        .mount(&server)
        .await;

    let snapshot = target(&server)
        .snapshot(&details_for(&[(Container::MasterAdministrators, "")]))
        .await
        .expect("read");
    let node = snapshot
        .nodes
        .iter()
        .find(|n| n.id == NodeId(300))
        .expect("owner");
    assert!(node.account_holder);
}

#[tokio::test]
async fn detail_reads_run_concurrently_up_to_the_configured_limit() {
    let server = MockServer::start().await;
    let mut nodes = org();
    for id in 1000..1012 {
        nodes.push(user_rec(
            id,
            11,
            "Technician",
            &format!("Tech {id}"),
            &format!("t{id}@contoso.com"),
        ));
    }
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&nodes)))
        .mount(&server)
        .await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let delay = Duration::from_millis(250);
    api("getUser_v3")
        .respond_with(EchoUsers {
            delay,
            arrivals: Arc::clone(&arrivals),
        })
        .expect(13)
        .mount(&server)
        .await;

    let target = RescueTarget::new(RescueSettings {
        concurrency: 3,
        retry: adsync_rescue::RetryPolicy {
            request_timeout: Duration::from_secs(10),
            ..fast_retry()
        },
        ..settings(&server)
    })
    .expect("target");
    let snapshot = target
        .snapshot(&details_for(&[(Container::Technicians, "Helpdesk/L2")]))
        .await
        .expect("read");
    assert_eq!(
        snapshot.nodes.iter().filter(|n| n.nick.is_some()).count(),
        13
    );

    // A request starts only when one of the 3 before it has had its answer, at least `delay`
    // later, so no window shorter than `delay` holds more than 3 arrivals; and the first 3 go
    // out together.
    let mut times = arrivals
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    times.sort();
    let window = delay - Duration::from_millis(60);
    let most_in_a_window = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t - times[i] < window)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert_eq!(most_in_a_window, 3);
}

#[tokio::test]
async fn create_user_creates_an_empty_node_then_sets_every_field_with_the_default_password() {
    let server = MockServer::start().await;
    api("createUser")
        .and(form_has("parent", 11))
        .and(form_has("authcode", TOKEN))
        .respond_with(answer("OK 555"))
        .expect(1)
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;

    let applied = target(&server)
        .apply(&create_kim(), None)
        .await
        .expect("applied");
    assert_eq!(
        applied,
        Applied {
            created: Some(NodeId(555))
        }
    );

    let set = &sent(&server, "setUser_v2").await[0];
    let expected = [
        ("node", "555"),
        ("name", "Kim Lee"),
        ("nick", "Kim"),
        ("email", "kim@contoso.com"),
        ("ssoid", "kim@contoso.com"),
        ("description", "Support & more"),
        ("status", "Enabled"),
        ("mobileaddon", "True"),
        ("rpataddon", "False"),
        ("pwd", DEFAULT_PASSWORD),
        ("confpwd", DEFAULT_PASSWORD),
        ("authcode", TOKEN),
    ];
    for (name, value) in expected {
        assert_eq!(set.get(name).map(String::as_str), Some(value), "{name}");
    }
    assert_eq!(set.len(), expected.len(), "{:?}", set.keys());
}

#[tokio::test]
async fn create_user_prefers_the_parent_the_executor_resolved() {
    let server = MockServer::start().await;
    api("createUser")
        .and(form_has("parent", 77))
        .respond_with(answer("OK\n\n556\n"))
        .expect(1)
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .mount(&server)
        .await;
    let applied = target(&server)
        .apply(&create_kim(), Some(NodeId(77)))
        .await
        .expect("applied");
    assert_eq!(applied.created, Some(NodeId(556)));
}

#[tokio::test]
async fn a_failed_set_user_deletes_the_empty_node_and_reports_the_set_user_failure() {
    let server = MockServer::start().await;
    mount_empty_node(&server, 555, 11, "Technician").await;
    api("createUser")
        .respond_with(answer("OK 555"))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("INVALIDPARAM_EMAIL_ALREADY_IN_USE"))
        .expect(1)
        .mount(&server)
        .await;
    api("deleteNode")
        .and(form_has("node", 555))
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;

    let error = target(&server)
        .apply(&create_kim(), None)
        .await
        .expect_err("refused");
    assert_eq!(error.category().as_str(), "existing_account");
    assert_eq!(
        error.code.as_deref(),
        Some("INVALIDPARAM_EMAIL_ALREADY_IN_USE")
    );
}

#[tokio::test]
async fn a_node_that_cannot_be_deleted_after_a_failed_fill_is_reported_as_left_behind() {
    let server = MockServer::start().await;
    mount_empty_node(&server, 555, 11, "Technician").await;
    api("createUser")
        .respond_with(answer("OK 555"))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("INVALIDPARAM_NAME"))
        .mount(&server)
        .await;
    api("deleteNode")
        .respond_with(answer("INVALID_DELETE"))
        .expect(1)
        .mount(&server)
        .await;
    let error = target(&server)
        .apply(&create_kim(), None)
        .await
        .expect_err("refused");
    assert_eq!(error.category().as_str(), "invalid_data");
    assert_eq!(error.code.as_deref(), Some("INVALIDPARAM_NAME"));
    assert!(error.message.contains("555"), "{}", error.message);
}

#[tokio::test]
async fn update_user_reads_first_and_writes_back_every_field_it_does_not_change() {
    let server = MockServer::start().await;
    api("getUser_v3")
        .and(form_has("node", 100))
        .respond_with(answer(user_answer(&jane())))
        .expect(1)
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;

    let update = update(
        100,
        &[
            (Attribute::Name, "Jane Doe", "Jane Q. Doe"),
            (Attribute::Description, "Support: tier 2", "Support: tier 3"),
        ],
    );
    target(&server).apply(&update, None).await.expect("applied");

    let set = &sent(&server, "setUser_v2").await[0];
    for (name, value) in [
        ("node", "100"),
        ("name", "Jane Q. Doe"),
        ("nick", "JJ"),
        ("email", "jane@contoso.com"),
        ("ssoid", "jane.sso"),
        ("description", "Support: tier 3"),
        ("status", "Enabled"),
        ("mobileaddon", "True"),
        ("rpataddon", "True"),
    ] {
        assert_eq!(set.get(name).map(String::as_str), Some(value), "{name}");
    }
    assert!(!set.contains_key("pwd") && !set.contains_key("confpwd"));
}

#[tokio::test]
async fn update_user_changes_nick_email_and_ssoid_too() {
    let server = MockServer::start().await;
    api("getUser_v3")
        .respond_with(answer(user_answer(&jane())))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .mount(&server)
        .await;
    let update = update(
        100,
        &[
            (Attribute::Nick, "", "Janie"),
            (Attribute::Email, "", "jane.doe@contoso.com"),
            (Attribute::Ssoid, "", "jdoe"),
        ],
    );
    target(&server).apply(&update, None).await.expect("applied");
    let set = &sent(&server, "setUser_v2").await[0];
    assert_eq!(set["nick"], "Janie");
    assert_eq!(set["email"], "jane.doe@contoso.com");
    assert_eq!(set["ssoid"], "jdoe");
    assert_eq!(set["name"], "Jane Doe");
}

async fn set_user_after(
    action: adsync_core::plan::Action,
    current: Details,
) -> Vec<std::collections::BTreeMap<String, String>> {
    let server = MockServer::start().await;
    api("getUser_v3")
        .respond_with(answer(user_answer(&current)))
        .expect(1)
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .mount(&server)
        .await;
    target(&server).apply(&action, None).await.expect("applied");
    sent(&server, "setUser_v2").await
}

#[tokio::test]
async fn disable_user_sets_disabled_and_releases_the_mobile_add_on_when_asked() {
    let sets = set_user_after(disable(100, true), jane()).await;
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0]["status"], "Disabled");
    assert_eq!(sets[0]["mobileaddon"], "False");
    assert_eq!(sets[0]["rpataddon"], "True");
    assert_eq!(sets[0]["nick"], "JJ");

    let sets = set_user_after(disable(100, false), jane()).await;
    assert_eq!(sets[0]["status"], "Disabled");
    assert_eq!(
        sets[0]["mobileaddon"], "True",
        "kept when the plan does not release it"
    );
}

#[tokio::test]
async fn enable_user_sets_enabled_and_nothing_else() {
    let disabled = Details {
        status: "Disabled",
        ..jane()
    };
    let sets = set_user_after(enable(100), disabled).await;
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0]["status"], "Enabled");
    assert_eq!(sets[0]["mobileaddon"], "True");
    assert_eq!(sets[0]["name"], "Jane Doe");
}

#[tokio::test]
async fn set_mobile_license_turns_the_add_on_on_and_off() {
    let without = Details {
        mobile: false,
        ..jane()
    };
    let sets = set_user_after(set_mobile(100, true), without).await;
    assert_eq!(sets[0]["mobileaddon"], "True");
    assert_eq!(sets[0]["status"], "Enabled");

    let sets = set_user_after(set_mobile(100, false), jane()).await;
    assert_eq!(sets[0]["mobileaddon"], "False");
}

#[tokio::test]
async fn nothing_is_written_when_the_node_already_holds_the_values() {
    let sets = set_user_after(enable(100), jane()).await;
    assert!(sets.is_empty());
}

#[tokio::test]
async fn move_user_moves_the_node_under_the_destination() {
    let server = MockServer::start().await;
    api("moveNode")
        .and(form_has("targetnode", 10))
        .and(form_has("node", 100))
        .and(form_has("authcode", TOKEN))
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;
    let action = move_to(100, Container::Technicians, Some(10));
    target(&server).apply(&action, None).await.expect("moved");
    // The executor's resolved parent wins over the plan's.
    let server = MockServer::start().await;
    api("moveNode")
        .and(form_has("targetnode", 2))
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;
    let promote = move_to(200, Container::MasterAdministrators, None);
    target(&server)
        .apply(&promote, Some(NodeId(2)))
        .await
        .expect("moved");
}

#[tokio::test]
async fn create_group_creates_then_names_and_enables_it() {
    let server = MockServer::start().await;
    api("createGroup")
        .and(form_has("parent", 10))
        .respond_with(answer("OK 77"))
        .expect(1)
        .mount(&server)
        .await;
    api("setGroup")
        .and(form_has("node", 77))
        .and(form_has("name", "L3"))
        .and(form_has("status", "Enabled"))
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;
    let group = new_group("Helpdesk/L3", Some(10));
    let applied = target(&server).apply(&group, None).await.expect("created");
    assert_eq!(applied.created, Some(NodeId(77)));
}

#[tokio::test]
async fn a_failed_set_group_deletes_the_empty_group() {
    let server = MockServer::start().await;
    mount_empty_node(&server, 77, 10, "TechnicianGroup").await;
    api("createGroup")
        .respond_with(answer("OK 77"))
        .mount(&server)
        .await;
    api("setGroup")
        .respond_with(answer("INVALIDPARAM_NAME"))
        .expect(1)
        .mount(&server)
        .await;
    api("deleteNode")
        .and(form_has("node", 77))
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;
    let group = new_group("Helpdesk/L3", Some(10));
    let error = target(&server)
        .apply(&group, None)
        .await
        .expect_err("refused");
    assert_eq!(error.category().as_str(), "invalid_data");
}

#[tokio::test]
async fn rollback_deletes_the_node() {
    let server = MockServer::start().await;
    mount_empty_node(&server, 555, 11, "Technician").await;
    api("deleteNode")
        .and(form_has("node", 555))
        .and(form_has("authcode", TOKEN))
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;
    target(&server)
        .rollback_created(NodeId(555))
        .await
        .expect("deleted");
}

#[tokio::test]
async fn check_auth_reads_the_account() {
    let server = MockServer::start().await;
    api("getAccount")
        .and(form_has("authcode", TOKEN))
        .respond_with(answer(include_str!(
            "../../../../fixtures/rescue/q4-getaccount.doc.txt"
        )))
        .expect(1)
        .mount(&server)
        .await;
    let account = target(&server).check_auth().await.expect("signed in");
    assert_eq!(
        account,
        Account {
            account_id: 560_961,
            organization: "Company".into(),
            admin_id: 337_365,
            tech_id: 337_366,
            email: "jdoe@company.com".into(),
        }
    );
}

#[tokio::test]
async fn incomplete_actions_are_refused_without_a_request() {
    let server = MockServer::start().await;
    let target = target(&server);
    // An action without a node, fields or a mobile value cannot be built (each kind carries
    // its own fields); what is left is a destination the plan did not know and the executor
    // did not resolve, and a group without a name.
    let mut nowhere = create_kim();
    if let Action::CreateUser(create) = &mut nowhere {
        create.to.node = None;
    }
    let cases = vec![
        move_to(100, Container::Technicians, None),
        new_group("", Some(10)),
        new_group("Helpdesk/L3", None),
        nowhere,
    ];
    for case in cases {
        let error = target.apply(&case, None).await.expect_err("incomplete");
        assert_eq!(error.kind, AdapterErrorKind::Rejected, "{}", error.message);
    }
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn a_new_user_without_a_default_password_needs_an_sso_id() {
    let server = MockServer::start().await;
    api("createUser")
        .respond_with(answer("OK 555"))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .mount(&server)
        .await;
    let target = RescueTarget::new(RescueSettings {
        default_password: None,
        ..settings(&server)
    })
    .expect("target");

    let mut without_ssoid = create_kim();
    if let Action::CreateUser(create) = &mut without_ssoid {
        create.fields.ssoid.clear();
    }
    let error = target
        .apply(&without_ssoid, None)
        .await
        .expect_err("no password");
    assert_eq!(error.kind, AdapterErrorKind::Rejected);
    assert!(error.hint.is_some());
    assert!(sent(&server, "createUser").await.is_empty());

    target.apply(&create_kim(), None).await.expect("sso user");
    let set = &sent(&server, "setUser_v2").await[0];
    assert!(!set.contains_key("pwd"));
}
