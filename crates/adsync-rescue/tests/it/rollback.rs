//! The one deletion adsync makes: a node it created, re-read and proven empty first. A node
//! whose fill may have been applied is kept; empty nodes that could not be removed, and
//! creates whose outcome is unknown, are recorded and cleaned up by the next run; a create
//! answer naming a node that existed before is refused.

use adsync_core::adapter::{DetailRequest, Target};
use adsync_core::model::NodeId;
use adsync_rescue::{Orphan, RescueSettings, RescueTarget};
use tokio::io::AsyncReadExt;
use wiremock::{MockServer, ResponseTemplate};

use crate::support::*;

/// Node 555 as Kim, filled: what the tree shows when `setUser_v2` was applied.
fn org_with_kim() -> Vec<Rec> {
    let mut nodes = org();
    nodes.push(user_rec(
        555,
        11,
        "Technician",
        "Kim Lee",
        "kim@contoso.com",
    ));
    nodes
}

fn org_with_empty_555() -> Vec<Rec> {
    let mut nodes = org();
    nodes.push(user_rec(555, 11, "Technician", "", ""));
    nodes
}

/// `createUser` makes 555; `setUser_v2` is applied but its answer lost (HTTP 500 every time);
/// `getUser_v3`, the check of the fill, fails with `verify`.
async fn lost_fill(server: &MockServer, verify: &ResponseTemplate) {
    mount_answer(server, "createUser", "OK 555").await;
    api("setUser_v2")
        .respond_with(ResponseTemplate::new(500))
        .mount(server)
        .await;
    api("getUser_v3")
        .respond_with(verify.clone())
        .mount(server)
        .await;
    mount_answer(server, "deleteNode", "OK").await;
}

#[tokio::test]
async fn a_fill_whose_answer_and_check_were_lost_keeps_the_node() {
    for verify in [ResponseTemplate::new(500), answer("ERROR")] {
        // The tree shows the node filled.
        let server = MockServer::start().await;
        lost_fill(&server, &verify).await;
        mount_answer(&server, "getHierarchy_v2", hierarchy(&org_with_kim())).await;
        let filled = target(&server);
        let error = filled
            .apply(&create_kim(), None)
            .await
            .expect_err("unconfirmed");
        assert!(sent(&server, "deleteNode").await.is_empty(), "{error}");
        assert!(error.message.contains("kept"), "{error}");
        assert!(
            filled.orphans().is_empty(),
            "a filled node is a user, not an orphan"
        );

        // The tree cannot be read either: the node is not proven empty, so it is kept and
        // recorded.
        let server = MockServer::start().await;
        lost_fill(&server, &verify).await;
        api("getHierarchy_v2")
            .respond_with(verify.clone())
            .mount(&server)
            .await;
        let target = target(&server);
        let error = target
            .apply(&create_kim(), None)
            .await
            .expect_err("unconfirmed");
        assert!(sent(&server, "deleteNode").await.is_empty(), "{error}");
        assert!(error.message.contains("kept"), "{error}");
        assert_eq!(
            target.orphans(),
            [Orphan {
                parent: NodeId(11),
                node: Some(NodeId(555)),
                group: false
            }]
        );
    }
}

#[tokio::test]
async fn rollback_of_a_node_that_holds_a_name_or_an_e_mail_deletes_nothing() {
    let server = MockServer::start().await;
    mount_answer(&server, "getHierarchy_v2", hierarchy(&org())).await;
    mount_answer(&server, "deleteNode", "OK").await;
    let error = target(&server)
        .rollback_created(NodeId(100))
        .await
        .expect_err("Jane is no empty node");
    assert!(error.message.contains("proves empty"), "{error}");
    assert!(sent(&server, "deleteNode").await.is_empty());
}

#[tokio::test]
async fn a_create_answer_naming_an_existing_node_is_refused() {
    let server = MockServer::start().await;
    mount_answer(&server, "getHierarchy_v2", hierarchy(&org())).await;
    mount_answer(&server, "createUser", "OK 100").await;
    mount_answer(&server, "setUser_v2", "OK").await;
    let target = target(&server);
    target
        .snapshot(&DetailRequest::default())
        .await
        .expect("read");
    let error = target
        .apply(&create_kim(), None)
        .await
        .expect_err("Jane is not new");
    assert!(error.message.contains("existed before"), "{error}");
    assert!(sent(&server, "setUser_v2").await.is_empty());
    assert!(sent(&server, "deleteNode").await.is_empty());
    assert_eq!(
        target.orphans(),
        [Orphan {
            parent: NodeId(11),
            node: None,
            group: false
        }]
    );
}

#[tokio::test]
async fn a_malformed_create_answer_fills_the_node_it_made() {
    let server = MockServer::start().await;
    api("createUser")
        .respond_with(answer("OK\n\nabc"))
        .expect(1)
        .mount(&server)
        .await;
    mount_answer(&server, "getHierarchy_v2", hierarchy(&org_with_empty_555())).await;
    mount_answer(&server, "setUser_v2", "OK").await;
    let created = target(&server)
        .apply(&create_kim(), None)
        .await
        .expect("the node made is found and filled");
    assert_eq!(created.created, Some(NodeId(555)));
    let forms = sent(&server, "setUser_v2").await;
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["node"], "555");
}

/// Accepts connections, reads the request and resets the connection without an answer.
async fn resetting_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0_u8; 4096];
            let _ = socket.read(&mut buffer).await;
            let _ = socket.set_zero_linger();
            drop(socket);
        }
    });
    format!("http://{address}")
}

/// A run whose `createUser` may have made a node it never learnt of (connection reset, and no
/// read to check) records it; the next, clean run deletes the empty node, and only it.
#[tokio::test]
async fn a_create_lost_to_a_connection_reset_is_cleaned_up_by_the_next_run() {
    let first = RescueTarget::new(RescueSettings {
        base_url: resetting_server().await,
        ..settings(&MockServer::start().await)
    })
    .expect("a target");
    first.apply(&create_kim(), None).await.expect_err("reset");
    let recorded = first.orphans();
    assert_eq!(
        recorded,
        [Orphan {
            parent: NodeId(11),
            node: None,
            group: false
        }]
    );

    // The next run: the reset create had made 555; 556 is an empty node of another parent.
    let server = MockServer::start().await;
    let mut nodes = org_with_empty_555();
    nodes.push(user_rec(556, 20, "Administrator", "", ""));
    mount_answer(&server, "getHierarchy_v2", hierarchy(&nodes)).await;
    mount_empty_node(&server, 555, 11, "Technician").await;
    mount_answer(&server, "deleteNode", "OK").await;
    let next = target(&server).with_orphans(recorded);
    assert_eq!(next.clean_up_orphans().await, [NodeId(555)]);
    let deleted = sent(&server, "deleteNode").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["node"], "555");
    assert!(next.orphans().is_empty());
}

/// A node kept because it could not be read is removed by the next run when it is empty, and
/// forgotten (not deleted) when it turned out filled; one still unreadable stays recorded.
#[tokio::test]
async fn kept_nodes_are_resolved_by_the_next_run() {
    let kept = |node| Orphan {
        parent: NodeId(11),
        node: Some(NodeId(node)),
        group: false,
    };
    let server = MockServer::start().await;
    mount_empty_node(&server, 555, 11, "Technician").await;
    api("getHierarchy_v2")
        .and(form_has("node", 100))
        .respond_with(answer(hierarchy(&org()[7..8])))
        .with_priority(2)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .and(form_has("node", 557))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(2)
        .mount(&server)
        .await;
    mount_answer(&server, "getHierarchy_v2", hierarchy(&org())).await;
    mount_answer(&server, "deleteNode", "OK").await;
    let next = target(&server).with_orphans([kept(555), kept(100), kept(557)]);
    assert_eq!(next.clean_up_orphans().await, [NodeId(555)]);
    assert_eq!(sent(&server, "deleteNode").await.len(), 1);
    assert_eq!(next.orphans(), [kept(557)]);
}
