//! adsync-rescue through the Rescue emulator: reads return the seeded organization in the
//! fewest requests, every write kind changes the organization as it should, the documented
//! rules hold, and faults never leave a second user or a partial read.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adsync_core::adapter::{DetailRequest, FailureCategory, Target};
use adsync_core::config::Attribute;
use adsync_core::model::{
    Container, GroupPath, NodeId, NodeType, RescueNode, RescueSnapshot, Role, Status, UserKey,
};
use adsync_core::plan::{
    Action, ActionKind, Change, CreateGroup, CreateUser, DisableUser, EnableUser, MoveUser,
    NewUser, Place, Precondition, SetMobileLicense, UpdateUser, UserRef,
};
use adsync_core::scope::ReadScope;
use adsync_rescue::RescueTarget;
use adsync_rescue::api::{code, method};
use adsync_tests::rescue_emulator::{
    ACCOUNT_EMAIL, ACCOUNT_PASSWORD, API_TOKEN, DEFAULT_PASSWORD, Fault, RescueEmulator,
};

fn seed() -> RescueSnapshot {
    serde_yaml::from_str(include_str!("../../fixtures/rescue/emulator-org.yaml"))
        .expect("the fixture parses")
}

fn sorted(mut snapshot: RescueSnapshot) -> RescueSnapshot {
    snapshot.nodes.sort_by_key(|node| node.id);
    snapshot
}

/// Every user detail, for every user of `snapshot`.
fn all_details(snapshot: &RescueSnapshot) -> DetailRequest {
    DetailRequest {
        nick: true,
        ssoid: true,
        addons: true,
        scope: ReadScope {
            keys: snapshot.nodes.iter().filter_map(RescueNode::key).collect(),
            ..ReadScope::default()
        },
    }
}

/// What a read without detail reads knows of `snapshot`.
fn without_details(snapshot: &RescueSnapshot) -> RescueSnapshot {
    let mut plain = snapshot.clone();
    for node in &mut plain.nodes {
        node.nick = None;
        node.ssoid = None;
        node.mobile = None;
        node.rpat = None;
        node.account_holder = false;
    }
    plain
}

fn node(snapshot: &RescueSnapshot, id: u64) -> Option<&RescueNode> {
    snapshot.nodes.iter().find(|n| n.id == NodeId(id))
}

/// The technician the user actions of these tests are about.
fn someone() -> UserRef {
    UserRef {
        role: Role::Technician,
        email: UserKey::new("jane@contoso.com").expect("a key"),
        object_id: None,
    }
}

fn test_id(kind: ActionKind) -> String {
    format!("{}:test", kind.as_str())
}

fn enable(node: u64) -> Action {
    Action::EnableUser(EnableUser {
        id: test_id(ActionKind::EnableUser),
        user: someone(),
        node_id: NodeId(node),
        reason: "test".to_owned(),
        precondition: Precondition::default(),
    })
}

fn disable(node: u64, release_mobile: bool) -> Action {
    Action::DisableUser(DisableUser {
        id: test_id(ActionKind::DisableUser),
        user: someone(),
        node_id: NodeId(node),
        from: None,
        release_mobile,
        reason: "test".to_owned(),
        precondition: Precondition::default(),
    })
}

fn set_mobile(node: u64, mobile: bool) -> Action {
    Action::SetMobileLicense(SetMobileLicense {
        id: test_id(ActionKind::SetMobileLicense),
        user: someone(),
        node_id: NodeId(node),
        mobile,
        from: None,
        reason: "test".to_owned(),
        precondition: Precondition::default(),
    })
}

/// `update_user` of node `node` with `(attribute, old, new)` changes.
fn update(node: u64, changes: &[(Attribute, &str, &str)]) -> Action {
    let changes = changes.iter().map(|&(attribute, old, new)| {
        let (old, new) = (old.to_owned(), new.to_owned());
        let mapped = None;
        (attribute, Change { old, new, mapped })
    });
    Action::UpdateUser(UpdateUser {
        id: test_id(ActionKind::UpdateUser),
        user: someone(),
        node_id: NodeId(node),
        changes: changes.collect(),
        reason: "test".to_owned(),
        precondition: Precondition::default(),
    })
}

fn move_to(node: u64, container: Container, to: Option<u64>) -> Action {
    Action::MoveUser(MoveUser {
        id: test_id(ActionKind::MoveUser),
        user: someone(),
        node_id: NodeId(node),
        from_role: None,
        from: GroupPath::root(),
        to: Place {
            container,
            path: GroupPath::root(),
            node: to.map(NodeId),
        },
        reason: "test".to_owned(),
        precondition: Precondition::default(),
    })
}

fn create(email: &str, group: u64, mobile: bool) -> Action {
    Action::CreateUser(CreateUser {
        id: test_id(ActionKind::CreateUser),
        user: UserRef {
            email: UserKey::new(email).expect("a key"),
            ..someone()
        },
        to: Place {
            container: Container::Technicians,
            path: GroupPath::root(),
            node: Some(NodeId(group)),
        },
        fields: NewUser {
            name: format!("New {email}"),
            nick: "New".to_owned(),
            email: email.to_owned(),
            ssoid: format!("sso-{email}"),
            description: "Created: by adsync".to_owned(),
            mobile,
        },
        reason: "test".to_owned(),
        precondition: Precondition::default(),
    })
}

fn users_with_email(snapshot: &RescueSnapshot, email: &str) -> Vec<RescueNode> {
    snapshot
        .nodes
        .iter()
        .filter(|n| n.node_type.user_role().is_some())
        .filter(|n| n.email.as_deref() == Some(email))
        .cloned()
        .collect()
}

fn empty_user_nodes(snapshot: &RescueSnapshot) -> usize {
    snapshot
        .nodes
        .iter()
        .filter(|n| n.node_type.user_role().is_some() && n.name.is_empty())
        .count()
}

// ---- reading ------------------------------------------------------------------------------

#[tokio::test]
async fn a_read_with_every_detail_returns_the_seeded_organization() {
    let seed = seed();
    let emulator = RescueEmulator::start(&seed).await;
    let read = emulator
        .target(4)
        .snapshot(&all_details(&seed))
        .await
        .expect("read");
    assert_eq!(sorted(read), sorted(seed.clone()));
    assert_eq!(emulator.snapshot(), sorted(seed));
}

#[tokio::test]
async fn a_read_without_details_returns_what_the_hierarchy_holds() {
    let seed = seed();
    let emulator = RescueEmulator::start(&seed).await;
    let read = emulator
        .target(4)
        .snapshot(&DetailRequest::default())
        .await
        .expect("read");
    assert_eq!(sorted(read), sorted(without_details(&seed)));
}

#[tokio::test]
async fn a_read_with_crlf_answers_is_the_same() {
    let seed = seed();
    let emulator = RescueEmulator::start(&seed).await;
    emulator.set_crlf(true);
    let read = emulator
        .target(2)
        .snapshot(&all_details(&seed))
        .await
        .expect("read");
    assert_eq!(sorted(read), sorted(seed));
}

#[tokio::test]
async fn the_demo_organization_round_trips_too() {
    let demo: RescueSnapshot =
        serde_yaml::from_str(include_str!("../../fixtures/demo/rescue.yaml")).expect("parses");
    let emulator = RescueEmulator::start(&demo).await;
    let read = emulator
        .target(4)
        .snapshot(&all_details(&demo))
        .await
        .expect("read");
    assert_eq!(sorted(read), emulator.snapshot());
}

#[tokio::test]
async fn a_read_costs_one_hierarchy_read_plus_the_detail_reads_the_attributes_need() {
    let seed = seed();
    let emulator = RescueEmulator::start(&seed).await;
    let target = emulator.target(4);
    let l2 = ReadScope {
        paths: BTreeSet::from([(Container::Technicians, GroupPath::parse("Helpdesk/L2"))]),
        ..ReadScope::default()
    };

    // name and email only: the hierarchy has them.
    let names_only = DetailRequest {
        scope: l2.clone(),
        ..DetailRequest::default()
    };
    target.snapshot(&names_only).await.expect("read");
    assert_eq!(emulator.count(method::GET_HIERARCHY), 1);
    assert_eq!(emulator.total_requests(), 1);
    assert_eq!(emulator.read_lower_bound(&names_only), 1);

    // nick (or SSO ID, or add-ons): one getUser_v3 per user directly in L2 (Jane and Joe).
    emulator.reset_counts();
    let with_nick = DetailRequest {
        nick: true,
        scope: l2,
        ..DetailRequest::default()
    };
    target.snapshot(&with_nick).await.expect("read");
    assert_eq!(emulator.count(method::GET_HIERARCHY), 1);
    assert_eq!(emulator.count(method::GET_USER), 2);
    assert_eq!(emulator.total_requests(), 3);
    assert_eq!(emulator.read_lower_bound(&with_nick), 3);

    // Every user: one hierarchy read and one detail read per user.
    emulator.reset_counts();
    let everyone = all_details(&seed);
    target.snapshot(&everyone).await.expect("read");
    let users = seed
        .nodes
        .iter()
        .filter(|n| n.node_type.user_role().is_some())
        .count();
    assert_eq!(emulator.total_requests(), 1 + users);
    assert_eq!(emulator.read_lower_bound(&everyone), 1 + users);
}

#[tokio::test]
async fn latency_applies_to_every_answer_and_detail_reads_overlap() {
    let seed = seed();
    let emulator = RescueEmulator::start(&seed).await;
    let latency = Duration::from_millis(150);
    emulator.set_latency(latency);
    let details = all_details(&seed);
    let users = emulator.read_lower_bound(&details) - 1;
    let started = Instant::now();
    emulator
        .target(users)
        .snapshot(&details)
        .await
        .expect("read");
    let took = started.elapsed();
    // One hierarchy read, then all detail reads at once: two latencies, not 1 + users.
    assert!(took >= latency * 2, "{took:?}");
    assert!(
        took < latency * (1 + u32::try_from(users).unwrap_or(1)),
        "{took:?}"
    );
}

// ---- writing ------------------------------------------------------------------------------

#[tokio::test]
async fn create_user_makes_a_complete_enabled_user_with_the_default_password() {
    let emulator = RescueEmulator::start(&seed()).await;
    let before = emulator.snapshot();
    let applied = emulator
        .target(1)
        .apply(&create("new@contoso.com", 11, true), None)
        .await
        .expect("created");
    let id = applied.created.expect("a node");
    let after = emulator.snapshot();
    let new = node(&after, id.0).expect("the new node");
    assert_eq!(
        new,
        &RescueNode {
            id,
            parent: Some(NodeId(11)),
            node_type: NodeType::Technician,
            name: "New new@contoso.com".to_owned(),
            email: Some("new@contoso.com".to_owned()),
            nick: Some("New".to_owned()),
            ssoid: Some("sso-new@contoso.com".to_owned()),
            description: Some("Created: by adsync".to_owned()),
            status: Some(Status::Enabled),
            mobile: Some(true),
            rpat: Some(false),
            account_holder: false,
        }
    );
    assert_eq!(emulator.password_of(id).as_deref(), Some(DEFAULT_PASSWORD));
    // Nothing else changed.
    let mut rest = after.clone();
    rest.nodes.retain(|n| n.id != id);
    assert_eq!(rest, before);
}

#[tokio::test]
async fn create_user_in_the_administrator_plane_may_reuse_a_technician_e_mail() {
    let emulator = RescueEmulator::start(&seed()).await;
    let mut admin = create("kim@contoso.com", 20, false);
    if let Action::CreateUser(create) = &mut admin {
        create.to.container = Container::Administrators;
    }
    let id = emulator
        .target(1)
        .apply(&admin, None)
        .await
        .expect("created")
        .created
        .expect("a node");
    let after = emulator.snapshot();
    assert_eq!(
        node(&after, id.0).map(|n| n.node_type.clone()),
        Some(NodeType::Administrator)
    );
    assert_eq!(users_with_email(&after, "kim@contoso.com").len(), 2);
}

#[tokio::test]
async fn create_group_makes_a_named_group_under_its_parent() {
    let emulator = RescueEmulator::start(&seed()).await;
    let group = Action::CreateGroup(CreateGroup {
        id: test_id(ActionKind::CreateGroup),
        container: Container::Technicians,
        path: GroupPath::parse("Helpdesk/L3"),
        parent: Some(NodeId(10)),
        reason: "test".to_owned(),
        precondition: Precondition::default(),
    });
    let id = emulator
        .target(1)
        .apply(&group, None)
        .await
        .expect("created")
        .created
        .expect("a node");
    let after = emulator.snapshot();
    let new = node(&after, id.0).expect("group");
    assert_eq!(new.node_type, NodeType::TechnicianGroup);
    assert_eq!(new.name, "L3");
    assert_eq!(new.parent, Some(NodeId(10)));

    // And a user can be created in it at once.
    emulator
        .target(1)
        .apply(&create("l3@contoso.com", 1, false), Some(id))
        .await
        .expect("created in the new group");
}

#[tokio::test]
async fn move_user_moves_technicians_between_groups_and_admins_between_containers() {
    let emulator = RescueEmulator::start(&seed()).await;
    let target = emulator.target(1);
    let before = emulator.snapshot();

    let to_contractors = move_to(300, Container::Technicians, Some(12));
    target.apply(&to_contractors, None).await.expect("moved");

    let promote = move_to(200, Container::MasterAdministrators, None);
    target
        .apply(&promote, Some(NodeId(2)))
        .await
        .expect("promoted");

    let mut expected = before;
    for n in &mut expected.nodes {
        if n.id == NodeId(300) {
            n.parent = Some(NodeId(12));
        }
        if n.id == NodeId(200) {
            n.parent = Some(NodeId(2));
            n.node_type = NodeType::MasterAdministrator;
        }
    }
    assert_eq!(emulator.snapshot(), expected);
}

#[tokio::test]
async fn update_user_changes_the_named_fields_and_keeps_every_other() {
    let emulator = RescueEmulator::start(&seed()).await;
    let before = emulator.snapshot();
    let update = update(
        300,
        &[
            (Attribute::Name, "Jane Doe", "Jane Q. Doe"),
            (Attribute::Email, "jane@contoso.com", "jane.doe@contoso.com"),
        ],
    );
    emulator
        .target(1)
        .apply(&update, None)
        .await
        .expect("updated");

    // setUser_v2 replaces every field: nick, SSO ID, description, add-ons survive only because
    // they were read and written back.
    let mut expected = before;
    for n in &mut expected.nodes {
        if n.id == NodeId(300) {
            n.name = "Jane Q. Doe".into();
            n.email = Some("jane.doe@contoso.com".into());
        }
    }
    assert_eq!(emulator.snapshot(), expected);
}

#[tokio::test]
async fn enable_disable_and_mobile_change_status_and_add_on_only() {
    let emulator = RescueEmulator::start(&seed()).await;
    let target = emulator.target(2);
    let before = emulator.snapshot();

    target.apply(&enable(301), None).await.expect("enabled");
    let release = disable(300, true);
    target.apply(&release, None).await.expect("disabled");
    target
        .apply(&disable(303, false), None)
        .await
        .expect("disabled");
    let mobile_on = set_mobile(302, true);
    target.apply(&mobile_on, None).await.expect("mobile on");

    let mut expected = before;
    for n in &mut expected.nodes {
        match n.id.0 {
            301 => n.status = Some(Status::Enabled),
            300 => {
                n.status = Some(Status::Disabled);
                n.mobile = Some(false);
            }
            303 => n.status = Some(Status::Disabled),
            302 => n.mobile = Some(true),
            _ => {}
        }
    }
    assert_eq!(emulator.snapshot(), expected);
    // Only the users' passwords were never touched.
    assert_eq!(emulator.password_of(NodeId(300)), None);
}

#[tokio::test]
async fn rollback_deletes_the_node_it_is_given() {
    let emulator = RescueEmulator::start(&seed()).await;
    let before = emulator.snapshot();
    let id = emulator
        .call(
            method::CREATE_USER,
            &[("parent", "11"), ("authcode", API_TOKEN)],
        )
        .trim_start_matches("OK ")
        .parse::<u64>()
        .expect("an id");
    emulator
        .target(1)
        .rollback_created(NodeId(id))
        .await
        .expect("deleted");
    assert_eq!(emulator.snapshot(), before);
}

// ---- faults ---------------------------------------------------------------------------------

#[tokio::test]
async fn error_after_create_user_is_applied_leaves_exactly_one_user() {
    for fault in [
        Fault::ErrorAfterApply,
        Fault::TimeoutAfterApply(Duration::from_secs(4)),
    ] {
        let emulator = RescueEmulator::start(&seed()).await;
        emulator.inject(Some(method::CREATE_USER), fault.clone(), 1);
        emulator
            .target(1)
            .apply(&create("once@contoso.com", 11, false), None)
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        let after = emulator.snapshot();
        assert_eq!(
            users_with_email(&after, "once@contoso.com").len(),
            1,
            "{fault:?}"
        );
        assert_eq!(empty_user_nodes(&after), 0, "{fault:?}");
        assert_eq!(emulator.count(method::CREATE_USER), 1, "{fault:?}");
    }
}

/// `createUser` applied, then answered with something that is not an id alone: the node it
/// made is found and filled, none is left empty and none is made twice.
#[tokio::test]
async fn a_malformed_answer_after_create_user_leaves_no_empty_node() {
    for body in ["OK\n\nabc", "OK 12 34", "OK"] {
        let emulator = RescueEmulator::start(&seed()).await;
        emulator.inject(
            Some(method::CREATE_USER),
            Fault::BodyAfterApply(body.to_owned()),
            1,
        );
        emulator
            .target(1)
            .apply(&create("once@contoso.com", 11, false), None)
            .await
            .unwrap_or_else(|e| panic!("{body:?}: {e}"));
        let after = emulator.snapshot();
        assert_eq!(users_with_email(&after, "once@contoso.com").len(), 1);
        assert_eq!(empty_user_nodes(&after), 0, "{body:?}");
        assert_eq!(emulator.count(method::CREATE_USER), 1, "{body:?}");
    }
}

/// The fill is applied but its answer is lost, and every check of it fails: the complete user
/// is kept, never deleted.
#[tokio::test]
async fn a_fill_whose_answer_and_checks_are_lost_is_never_deleted() {
    for (check, fault) in [
        (method::GET_USER, Fault::Error),
        (
            method::GET_USER,
            Fault::Http {
                status: 500,
                retry_after: None,
            },
        ),
        (method::GET_HIERARCHY, Fault::Error),
    ] {
        let emulator = RescueEmulator::start(&seed()).await;
        emulator.inject(Some(method::SET_USER), Fault::ErrorAfterApply, 1);
        emulator.inject(Some(method::GET_USER), fault.clone(), 50);
        emulator.inject(Some(check), fault.clone(), 50);
        let target = emulator.target(1);
        let error = target
            .apply(&create("kept@contoso.com", 11, false), None)
            .await
            .expect_err("unconfirmed");
        assert!(error.message.contains("kept"), "{check} {fault:?}: {error}");
        assert_eq!(emulator.count(method::DELETE_NODE), 0, "{check} {fault:?}");
        let after = emulator.snapshot();
        assert_eq!(users_with_email(&after, "kept@contoso.com").len(), 1);
    }
}

/// A `createUser` answer naming an existing user is refused; the empty node the call made is
/// recorded, and the next run, given the record, removes it and only it.
#[tokio::test]
async fn a_create_answer_naming_an_existing_user_is_refused_and_cleaned_up() {
    let emulator = RescueEmulator::start(&seed()).await;
    let before = emulator.snapshot();
    emulator.inject(
        Some(method::CREATE_USER),
        Fault::BodyAfterApply("OK 302".to_owned()),
        1,
    );
    let first = emulator.target(1);
    first
        .snapshot(&DetailRequest::default())
        .await
        .expect("read");
    first
        .apply(&create("new@contoso.com", 11, false), None)
        .await
        .expect_err("302 is not new");
    assert_eq!(emulator.count(method::SET_USER), 0);
    assert_eq!(empty_user_nodes(&emulator.snapshot()), 1);

    let next = emulator.target(1).with_orphans(first.orphans());
    assert_eq!(next.clean_up_orphans().await.len(), 1);
    assert!(next.orphans().is_empty());
    assert_eq!(emulator.snapshot(), before);
}

#[tokio::test]
async fn error_after_set_user_is_applied_is_not_an_error() {
    let emulator = RescueEmulator::start(&seed()).await;
    emulator.inject(Some(method::SET_USER), Fault::ErrorAfterApply, 1);
    let update = update(302, &[(Attribute::Nick, "Kim", "Kimmy")]);
    emulator
        .target(1)
        .apply(&update, None)
        .await
        .expect("updated");
    assert_eq!(emulator.count(method::SET_USER), 1);
    assert_eq!(
        node(&emulator.snapshot(), 302).and_then(|n| n.nick.clone()),
        Some("Kimmy".to_owned())
    );
}

#[tokio::test]
async fn concurrent_creates_with_lost_answers_make_one_user_each() {
    let emulator = RescueEmulator::start(&seed()).await;
    emulator.inject(Some(method::CREATE_USER), Fault::ErrorAfterApply, 3);
    emulator.inject(Some(method::CREATE_USER), Fault::Error, 2);
    let target = Arc::new(emulator.target(8));
    let mut creates = tokio::task::JoinSet::new();
    for i in 0..8 {
        let target = Arc::clone(&target);
        let action = create(&format!("bulk{i}@contoso.com"), 11, false);
        creates.spawn(async move { target.apply(&action, None).await });
    }
    for result in creates.join_all().await {
        assert!(result.is_ok(), "{result:?}");
    }
    let after = emulator.snapshot();
    for i in 0..8 {
        assert_eq!(
            users_with_email(&after, &format!("bulk{i}@contoso.com")).len(),
            1
        );
    }
    assert_eq!(empty_user_nodes(&after), 0);
    // 8 creates, 2 of them sent again after a refusal that applied nothing.
    assert_eq!(emulator.count(method::CREATE_USER), 10);
}

#[tokio::test]
async fn an_exhausted_mobile_licence_pool_is_out_of_licenses() {
    let emulator = RescueEmulator::start(&seed()).await;
    let in_use = emulator.mobile_licences_in_use();
    emulator.set_mobile_licences(Some(in_use));
    let target = emulator.target(1);

    let mobile_on = set_mobile(302, true);
    let error = target
        .apply(&mobile_on, None)
        .await
        .expect_err("no licence");
    assert_eq!(error.category(), FailureCategory::OutOfLicenses);
    assert_eq!(error.code.as_deref(), Some(code::MOBILE_LICENCE_REFUSED));

    // A new user with the add-on: refused, and no empty node left behind.
    let before = emulator.snapshot();
    let error = target
        .apply(&create("mobile@contoso.com", 11, true), None)
        .await
        .expect_err("no licence");
    assert_eq!(error.category(), FailureCategory::OutOfLicenses);
    assert_eq!(emulator.snapshot(), before);

    // Releasing one (disable with release) frees a licence for the next.
    let release = disable(301, true);
    target.apply(&release, None).await.expect("released");
    target
        .apply(&mobile_on, None)
        .await
        .expect("now there is one");
    assert_eq!(emulator.mobile_licences_in_use(), in_use);
}

#[tokio::test]
async fn an_e_mail_clash_is_existing_account() {
    let emulator = RescueEmulator::start(&seed()).await;
    let before = emulator.snapshot();
    let target = emulator.target(1);
    // Kim already has a technician node (in Helpdesk); a second one in L2 clashes.
    let error = target
        .apply(&create("KIM@contoso.com", 11, false), None)
        .await
        .expect_err("clash");
    assert_eq!(error.category(), FailureCategory::ExistingAccount);
    assert_eq!(
        error.code.as_deref(),
        Some(code::INVALIDPARAM_EMAIL_ALREADY_IN_USE)
    );
    assert_eq!(emulator.snapshot(), before, "the empty node was deleted");

    // Renaming Joe's e-mail to Kim's clashes too.
    let update = update(
        301,
        &[(Attribute::Email, "joe@contoso.com", "kim@contoso.com")],
    );
    let error = target.apply(&update, None).await.expect_err("clash");
    assert_eq!(error.category(), FailureCategory::ExistingAccount);
}

#[tokio::test]
async fn notloggedin_mid_run_signs_in_once_more_and_the_read_completes() {
    let seed = seed();
    let emulator = RescueEmulator::start(&seed).await;
    let target = RescueTarget::new(emulator.password_settings(2)).expect("target");
    target
        .snapshot(&DetailRequest::default())
        .await
        .expect("first read");
    assert_eq!(emulator.authcodes_issued(), 1);
    emulator.inject(Some(method::GET_USER), Fault::NotLoggedIn, 1);
    let read = target.snapshot(&all_details(&seed)).await.expect("read");
    assert_eq!(sorted(read), sorted(seed));
    assert_eq!(emulator.authcodes_issued(), 2);
}

#[tokio::test]
async fn faults_on_a_read_end_in_a_complete_snapshot_or_none() {
    let seed = seed();
    let emulator = RescueEmulator::start(&seed).await;
    let target = emulator.target(3);
    emulator.inject(
        Some(method::GET_HIERARCHY),
        Fault::Timeout(Duration::from_secs(4)),
        1,
    );
    emulator.inject(
        Some(method::GET_USER),
        Fault::Http {
            status: 503,
            retry_after: Some("0".into()),
        },
        2,
    );
    emulator.inject(Some(method::GET_USER), Fault::Error, 1);
    let read = target.snapshot(&all_details(&seed)).await.expect("read");
    assert_eq!(sorted(read), sorted(seed.clone()));
    assert_eq!(emulator.count(method::GET_HIERARCHY), 2);

    // A detail read that keeps failing fails the read.
    emulator.inject(Some(method::GET_USER), Fault::Body("garbage".into()), 1);
    let error = target
        .snapshot(&all_details(&seed))
        .await
        .expect_err("no partial snapshot");
    assert_eq!(error.category(), FailureCategory::Unknown);
    // Text that is no Rescue code is not quoted: it could be a secret sent back.
    assert_eq!(
        error.code.as_deref(),
        Some(adsync_rescue::wire::UNSHOWN_CODE)
    );
}

// ---- the emulator's rules -------------------------------------------------------------------

fn signed<'a>(params: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = params.to_vec();
    all.push(("authcode", API_TOKEN));
    all
}

fn full_user<'a>(node: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    signed(&[
        ("node", node),
        ("name", "Someone"),
        ("email", email),
        ("status", "Enabled"),
        ("mobileaddon", "False"),
        ("rpataddon", "False"),
    ])
}

#[tokio::test]
async fn technicians_only_under_technician_groups_and_roles_follow_the_parent() {
    let emulator = RescueEmulator::start(&seed()).await;
    for parent in ["4", "1", "30", "300", "999"] {
        assert_eq!(
            emulator.call(method::CREATE_USER, &signed(&[("parent", parent)])),
            code::INVALIDPARAM_PARENT,
            "parent {parent}"
        );
    }
    for (parent, kind) in [
        ("2", NodeType::MasterAdministrator),
        ("3", NodeType::Administrator),
        ("20", NodeType::Administrator),
        ("12", NodeType::Technician),
    ] {
        let answer = emulator.call(method::CREATE_USER, &signed(&[("parent", parent)]));
        let id: u64 = answer
            .strip_prefix("OK ")
            .and_then(|id| id.parse().ok())
            .expect("an id");
        assert_eq!(
            node(&emulator.snapshot(), id).map(|n| n.node_type.clone()),
            Some(kind)
        );
    }
    for parent in ["2", "30", "200", "1"] {
        assert_eq!(
            emulator.call(method::CREATE_GROUP, &signed(&[("parent", parent)])),
            code::INVALIDPARAM_PARENT,
            "group parent {parent}"
        );
    }
}

#[tokio::test]
async fn moves_follow_what_each_node_may_sit_under() {
    let emulator = RescueEmulator::start(&seed()).await;
    let mv = |node: &str, target: &str| {
        emulator.call(
            method::MOVE_NODE,
            &signed(&[("node", node), ("targetnode", target)]),
        )
    };
    assert_eq!(
        mv("300", "20"),
        code::INVALID_MOVE,
        "technician to an admin group"
    );
    assert_eq!(
        mv("300", "4"),
        code::INVALID_MOVE,
        "technician to the container"
    );
    assert_eq!(
        mv("200", "11"),
        code::INVALID_MOVE,
        "admin to a technician group"
    );
    assert_eq!(
        mv("10", "11"),
        code::INVALID_MOVE,
        "group into its own subgroup"
    );
    assert_eq!(mv("4", "10"), code::INVALID_MOVE, "a container");
    assert_eq!(mv("999", "10"), code::INVALIDPARAM_NODE);
    assert_eq!(mv("300", "999"), code::INVALIDPARAM_TARGETNODE);
    assert_eq!(mv("11", "12"), code::OK, "group to another group");
    assert_eq!(
        mv("100", "3"),
        code::OK,
        "master admin down to administrator"
    );
    assert_eq!(
        node(&emulator.snapshot(), 100).map(|n| n.node_type.clone()),
        Some(NodeType::Administrator)
    );
}

#[tokio::test]
async fn set_user_requires_its_fields_and_replaces_every_one() {
    let emulator = RescueEmulator::start(&seed()).await;
    let set = |params: Vec<(&str, &str)>| emulator.call(method::SET_USER, &params);
    let without = |name: &str| {
        full_user("302", "kim@contoso.com")
            .into_iter()
            .filter(|(k, _)| *k != name)
            .collect::<Vec<_>>()
    };
    assert_eq!(set(without("name")), code::INVALIDPARAM_NAME);
    assert_eq!(set(without("email")), code::INVALIDPARAM_EMAIL);
    assert_eq!(set(without("status")), code::INVALIDPARAM_STATUS);
    assert_eq!(set(without("mobileaddon")), code::INVALIDPARAM_MOBILEADDON);
    assert_eq!(set(without("rpataddon")), code::INVALIDPARAM_RPATADDON);
    assert_eq!(
        set(full_user("302", "not-an-email")),
        code::INVALIDPARAM_EMAIL
    );
    assert_eq!(
        set(full_user("10", "g@contoso.com")),
        code::INVALIDPARAM_NODE
    );
    let long_name = "x".repeat(500);
    let mut long = full_user("302", "kim@contoso.com");
    long.retain(|(k, _)| *k != "name");
    long.push(("name", &long_name));
    assert_eq!(set(long), code::INVALIDPARAM_NAME);
    let mut short_password = full_user("302", "kim@contoso.com");
    short_password.extend([("pwd", "short"), ("confpwd", "short")]);
    assert_eq!(set(short_password), code::INVALIDPARAM_PASSWORD_TOO_SHORT);
    let mut mismatch = full_user("302", "kim@contoso.com");
    mismatch.extend([("pwd", "long-enough-1"), ("confpwd", "long-enough-2")]);
    assert_eq!(set(mismatch), code::INVALIDPARAM_PASSWORD_MISMATCH);
    assert_eq!(
        set(full_user("302", "JANE@contoso.com")),
        code::INVALIDPARAM_EMAIL_ALREADY_IN_USE
    );

    // Nothing above changed Kim; a complete call replaces every field, the omitted ones empty.
    assert_eq!(
        node(&emulator.snapshot(), 302).and_then(|n| n.nick.clone()),
        Some("Kim".into())
    );
    assert_eq!(set(full_user("302", "kim@contoso.com")), code::OK);
    let kim = node(&emulator.snapshot(), 302).cloned().expect("kim");
    assert_eq!(kim.name, "Someone");
    assert_eq!(kim.nick.as_deref(), Some(""));
    assert_eq!(kim.ssoid.as_deref(), Some(""));
}

#[tokio::test]
async fn get_user_by_node_or_e_mail_but_not_both() {
    let emulator = RescueEmulator::start(&seed()).await;
    let get = |params: &[(&str, &str)]| emulator.call(method::GET_USER, &signed(params));
    assert!(get(&[("node", "302")]).contains("EMAIL: kim@contoso.com"));
    assert!(get(&[("email", "KIM@contoso.com")]).contains("NODEID: 302"));
    assert_eq!(
        get(&[("node", "302"), ("email", "kim@contoso.com")]),
        code::INVALID_EMAIL_AND_NODE_BOTH_SPECIFIED
    );
    assert_eq!(get(&[("node", "10")]), code::INVALIDPARAM_NODE);
    assert_eq!(
        get(&[("email", "nobody@contoso.com")]),
        code::INVALIDPARAM_EMAIL
    );
    assert_eq!(get(&[]), code::INVALIDPARAM_NODE);
}

#[tokio::test]
async fn deletes_are_refused_for_structure_the_account_holder_and_non_empty_groups() {
    let emulator = RescueEmulator::start(&seed()).await;
    let delete = |node: &str| emulator.call(method::DELETE_NODE, &signed(&[("node", node)]));
    for node in ["1", "4", "100", "10"] {
        assert_eq!(delete(node), code::INVALID_DELETE, "node {node}");
    }
    assert_eq!(delete("999"), code::INVALIDPARAM_NODE);
    assert_eq!(delete("303"), code::OK);
    assert_eq!(delete("12"), code::OK, "now empty");
}

#[tokio::test]
async fn set_group_requires_a_name_and_a_status() {
    let emulator = RescueEmulator::start(&seed()).await;
    let set = |params: &[(&str, &str)]| emulator.call(method::SET_GROUP, &signed(params));
    assert_eq!(
        set(&[("node", "12"), ("status", "Enabled")]),
        code::INVALIDPARAM_NAME
    );
    assert_eq!(
        set(&[("node", "12"), ("name", "X")]),
        code::INVALIDPARAM_STATUS
    );
    assert_eq!(
        set(&[("node", "300"), ("name", "X"), ("status", "Enabled")]),
        code::INVALIDPARAM_NODE
    );
    assert_eq!(
        set(&[("node", "12"), ("name", "Partners"), ("status", "Enabled")]),
        code::OK
    );
    assert_eq!(
        node(&emulator.snapshot(), 12).map(|n| n.name.clone()),
        Some("Partners".into())
    );
}

#[tokio::test]
async fn authcodes_are_checked_superseded_and_rate_limited() {
    let emulator = RescueEmulator::start(&seed()).await;
    assert_eq!(emulator.call(method::GET_ACCOUNT, &[]), code::NOT_LOGGED_IN);
    assert_eq!(
        emulator.call(method::GET_ACCOUNT, &[("authcode", "wrong")]),
        code::INVALID_SECRET_AUTHCODE
    );
    assert!(
        emulator
            .call(method::GET_ACCOUNT, &[("authcode", API_TOKEN)])
            .contains("Email:owner@contoso.com")
    );

    let sign_in = |password: &str| {
        emulator.call(
            method::REQUEST_AUTH_CODE,
            &[("email", ACCOUNT_EMAIL), ("pwd", password)],
        )
    };
    assert_eq!(sign_in("wrong"), code::INVALID);
    let first = sign_in(ACCOUNT_PASSWORD);
    let first = first
        .strip_prefix("OK AUTHCODE: ")
        .expect("an authcode")
        .to_owned();
    assert!(
        emulator
            .call(method::GET_ACCOUNT, &[("authcode", &first)])
            .starts_with("OK")
    );
    let second = sign_in(ACCOUNT_PASSWORD);
    let second = second
        .strip_prefix("OK AUTHCODE: ")
        .expect("an authcode")
        .to_owned();
    assert_eq!(
        emulator.call(method::GET_ACCOUNT, &[("authcode", &first)]),
        code::INVALID_SECRET_AUTHCODE,
        "superseded"
    );
    assert!(
        emulator
            .call(method::GET_ACCOUNT, &[("authcode", &second)])
            .starts_with("OK")
    );
    // 3 sign-ins so far; the 11th within 3 minutes is refused.
    for _ in 3..10 {
        assert!(sign_in(ACCOUNT_PASSWORD).starts_with("OK"));
    }
    assert_eq!(sign_in(ACCOUNT_PASSWORD), code::LIMIT_REACHED);
}

#[tokio::test]
async fn unknown_methods_are_404_and_requests_are_counted_by_method() {
    let emulator = RescueEmulator::start(&seed()).await;
    assert_eq!(emulator.call("setUser_v9", &signed(&[])), "(404)");
    let target = emulator.target(1);
    target.check_auth().await.expect("signed in");
    target
        .snapshot(&DetailRequest::default())
        .await
        .expect("read");
    let counts = emulator.counts();
    assert_eq!(counts.get(method::GET_ACCOUNT), Some(&1));
    assert_eq!(counts.get(method::GET_HIERARCHY), Some(&1));
    assert_eq!(counts.get("setUser_v9"), Some(&1));
    assert_eq!(emulator.total_requests(), 3);
}
