//! Writes whose outcome is unknown (a timeout or `ERROR` after sending) are checked by reading
//! before they are sent again, so a retry never makes a second user.

use std::time::Duration;

use adsync_core::adapter::{FailureCategory, Target};
use adsync_core::config::Attribute;
use adsync_core::model::{Container, NodeId};
use wiremock::{MockServer, ResponseTemplate};

use crate::support::*;

/// The org with an empty technician node 555 under L2, as a create leaves it before `setUser`.
fn org_with_empty(ids: &[u64]) -> String {
    let mut nodes = org();
    for &id in ids {
        nodes.push(user_rec(id, 11, "Technician", "", ""));
    }
    hierarchy(&nodes)
}

async fn create_with_first_answer(
    first: ResponseTemplate,
    tree: String,
) -> (MockServer, Option<NodeId>) {
    let server = MockServer::start().await;
    api("createUser")
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    api("createUser")
        .respond_with(answer("OK 556"))
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(tree))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .mount(&server)
        .await;
    let created = target(&server)
        .apply(&create_kim(), None)
        .await
        .expect("created")
        .created;
    (server, created)
}

#[tokio::test]
async fn error_after_create_user_was_applied_adopts_the_node_instead_of_creating_another() {
    let (server, created) = create_with_first_answer(answer("ERROR"), org_with_empty(&[555])).await;
    assert_eq!(created, Some(NodeId(555)));
    assert_eq!(sent(&server, "createUser").await.len(), 1);
    assert_eq!(sent(&server, "setUser_v2").await[0]["node"], "555");
}

#[tokio::test]
async fn a_timed_out_create_user_that_was_applied_is_adopted_too() {
    let (server, created) = create_with_first_answer(
        answer("OK 555").set_delay(Duration::from_secs(3)),
        org_with_empty(&[555]),
    )
    .await;
    assert_eq!(created, Some(NodeId(555)));
    assert_eq!(sent(&server, "createUser").await.len(), 1);
}

#[tokio::test]
async fn error_before_create_user_was_applied_is_retried() {
    let (server, created) = create_with_first_answer(answer("ERROR"), hierarchy(&org())).await;
    assert_eq!(created, Some(NodeId(556)));
    assert_eq!(sent(&server, "createUser").await.len(), 2);
    assert_eq!(sent(&server, "getHierarchy_v2").await.len(), 1, "one check");
}

#[tokio::test]
async fn concurrent_ambiguous_creates_never_take_the_same_node() {
    let server = MockServer::start().await;
    api("createUser")
        .respond_with(answer("ERROR"))
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(org_with_empty(&[555, 556])))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .mount(&server)
        .await;
    let target = target(&server);
    let kim = create_kim();
    let (a, b) = tokio::join!(target.apply(&kim, None), target.apply(&kim, None));
    let mut created = vec![
        a.expect("a").created.expect("a node"),
        b.expect("b").created.expect("a node"),
    ];
    created.sort();
    assert_eq!(created, vec![NodeId(555), NodeId(556)]);
    // A third create finds no unclaimed empty node: every retry is checked, none adopts a
    // taken node, and it gives up as transient rather than doubling a user.
    let error = target.apply(&kim, None).await.expect_err("no node");
    assert_eq!(error.category(), FailureCategory::Transient);
}

#[tokio::test]
async fn an_answer_naming_a_node_another_create_adopted_checks_again() {
    let server = MockServer::start().await;
    // The first create's answer is lost; the check sees 555 and 556, empty. It takes 555.
    // The second create is answered `OK 555` (a misbehaving or replayed answer): 555 is taken,
    // so it must look again and take 556, never 555 twice.
    api("createUser")
        .respond_with(answer("ERROR"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    api("createUser")
        .respond_with(answer("OK 555"))
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(org_with_empty(&[555, 556])))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .mount(&server)
        .await;
    let target = target(&server);
    let first = target.apply(&create_kim(), None).await.expect("first");
    let second = target.apply(&create_kim(), None).await.expect("second");
    assert_eq!(first.created, Some(NodeId(555)));
    assert_eq!(second.created, Some(NodeId(556)));
}

#[tokio::test]
async fn a_create_that_cannot_be_checked_is_not_sent_again() {
    let server = MockServer::start().await;
    api("createUser")
        .respond_with(answer("ERROR"))
        .expect(1)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let error = target(&server)
        .apply(&create_kim(), None)
        .await
        .expect_err("unknown");
    assert_eq!(error.category(), FailureCategory::Transient);
    assert!(
        error.message.contains("could not tell"),
        "{}",
        error.message
    );
}

fn rename() -> adsync_core::plan::Action {
    update(100, &[(Attribute::Name, "Jane Doe", "Jane Q")])
}

#[tokio::test]
async fn a_timed_out_set_user_that_was_applied_is_not_sent_again() {
    let server = MockServer::start().await;
    // The read before the write shows the old name; the check after the timeout, the new one.
    api("getUser_v3")
        .respond_with(answer(user_answer(&jane())))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let renamed = Details {
        name: "Jane Q",
        ..jane()
    };
    api("getUser_v3")
        .respond_with(answer(user_answer(&renamed)))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK").set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    target(&server)
        .apply(&rename(), None)
        .await
        .expect("applied");
}

#[tokio::test]
async fn an_error_set_user_that_was_not_applied_is_sent_again() {
    let server = MockServer::start().await;
    api("getUser_v3")
        .respond_with(answer(user_answer(&jane())))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("ERROR"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("OK"))
        .mount(&server)
        .await;
    target(&server)
        .apply(&rename(), None)
        .await
        .expect("applied");
    assert_eq!(sent(&server, "setUser_v2").await.len(), 2);
    // One read before the write, one to check the ambiguous answer.
    assert_eq!(sent(&server, "getUser_v3").await.len(), 2);
}

#[tokio::test]
async fn an_error_move_that_was_applied_is_not_sent_again() {
    let server = MockServer::start().await;
    let mut moved = org();
    if let Some(jane) = moved.iter_mut().find(|r| r.id == 100) {
        jane.parent = 10;
    }
    api("moveNode")
        .respond_with(answer("ERROR"))
        .expect(1)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&moved)))
        .mount(&server)
        .await;
    let action = move_to(100, Container::Technicians, Some(10));
    target(&server).apply(&action, None).await.expect("moved");
}

#[tokio::test]
async fn an_error_delete_that_was_applied_is_not_sent_again() {
    let server = MockServer::start().await;
    mount_empty_node(&server, 555, 11, "Technician").await;
    api("deleteNode")
        .respond_with(answer("ERROR"))
        .expect(1)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(&server)
        .await;
    target(&server)
        .rollback_created(NodeId(555))
        .await
        .expect("gone");
}

#[tokio::test]
async fn an_error_create_group_that_was_applied_adopts_the_empty_group() {
    let server = MockServer::start().await;
    let mut nodes = org();
    nodes.push(rec(77, 10, "TechnicianGroup", ""));
    api("createGroup")
        .respond_with(answer("ERROR"))
        .expect(1)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&nodes)))
        .mount(&server)
        .await;
    api("setGroup")
        .and(form_has("node", 77))
        .respond_with(answer("OK"))
        .expect(1)
        .mount(&server)
        .await;
    let group = new_group("Helpdesk/L3", Some(10));
    let applied = target(&server).apply(&group, None).await.expect("created");
    assert_eq!(applied.created, Some(NodeId(77)));
}
