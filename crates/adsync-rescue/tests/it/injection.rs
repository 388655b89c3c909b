//! Directory text in Rescue's text protocol: control characters never reach a form, identity
//! values holding them are refused before anything is written, and an answer whose records are
//! broken by a line break is a failed read, never a tree with forged fields or nodes.

use adsync_core::adapter::{DetailRequest, Target};
use adsync_core::config::Attribute;
use adsync_core::plan::Action;

use crate::support::*;

const HOSTILE_NAME: &str = "Kim Lee\nNodeID:900\r\nType:MasterAdministrator\u{0}\u{85}";

fn has_control(value: &str) -> bool {
    value
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

/// `create_kim` with other fields.
fn kim_with(change: impl FnOnce(&mut adsync_core::plan::NewUser)) -> Action {
    let mut action = create_kim();
    if let Action::CreateUser(create) = &mut action {
        change(&mut create.fields);
    }
    action
}

async fn creating_server() -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    mount_answer(&server, "getHierarchy_v2", hierarchy(&org())).await;
    mount_answer(&server, "createUser", "OK 555").await;
    mount_answer(&server, "setUser_v2", "OK").await;
    mount_answer(&server, "setGroup", "OK").await;
    mount_answer(&server, "createGroup", "OK 556").await;
    server
}

#[tokio::test]
async fn free_text_reaches_set_user_without_control_characters() {
    let server = creating_server().await;
    let action = kim_with(|fields| {
        fields.name = HOSTILE_NAME.to_owned();
        fields.nick = "K\tim".to_owned();
        fields.description = "line one\r\nStatus:Disabled\u{2028}\u{7f}".to_owned();
    });
    let created = target(&server).apply(&action, None).await.expect("created");
    assert_eq!(created.created.map(|n| n.0), Some(555));
    let forms = sent(&server, "setUser_v2").await;
    assert_eq!(forms.len(), 1);
    for (name, value) in &forms[0] {
        assert!(!has_control(value), "{name} = {value:?}");
    }
    assert_eq!(
        forms[0]["name"],
        "Kim Lee NodeID:900  Type:MasterAdministrator "
    );
    assert_eq!(forms[0]["nick"], "K im");
    assert_eq!(forms[0]["email"], "kim@contoso.com");
}

#[tokio::test]
async fn an_identity_with_control_characters_is_refused_before_any_write() {
    for (email, ssoid) in [
        (
            "kim@contoso.com\nType:MasterAdministrator",
            "kim@contoso.com",
        ),
        ("kim@contoso.com", "kim\u{0}@contoso.com"),
    ] {
        let server = creating_server().await;
        let action = kim_with(|fields| {
            fields.email = email.to_owned();
            fields.ssoid = ssoid.to_owned();
        });
        let error = target(&server)
            .apply(&action, None)
            .await
            .expect_err("refused");
        assert!(error.message.contains("control characters"), "{error}");
        assert!(error.message.contains("kim@contoso.com"), "{error}");
        assert!(!has_control(&error.message), "{error}");
        assert!(sent(&server, "createUser").await.is_empty());
        assert!(sent(&server, "setUser_v2").await.is_empty());
    }
}

#[tokio::test]
async fn updates_and_group_names_are_cleaned_too() {
    let server = creating_server().await;
    mount_answer(&server, "getUser_v3", user_answer(&jane())).await;
    let target = target(&server);
    // The update is checked by reading back: the emulated read answers Jane unchanged, so the
    // write is sent and its form is what matters here.
    let _ = target
        .apply(
            &update(100, &[(Attribute::Nick, "JJ", "J\r\nNICK: forged")]),
            None,
        )
        .await;
    let forms = sent(&server, "setUser_v2").await;
    assert!(!forms.is_empty());
    for form in &forms {
        assert_eq!(form["nick"], "J  NICK: forged");
    }
    let refused = target
        .apply(
            &update(100, &[(Attribute::Email, "jane@contoso.com", "x@y.z\n")]),
            None,
        )
        .await
        .expect_err("an e-mail with a line break is refused");
    assert!(refused.message.contains("e-mail"), "{refused}");

    target
        .apply(&new_group("Helpdesk/Night\nShift\u{0}", Some(10)), None)
        .await
        .expect("created");
    let forms = sent(&server, "setGroup").await;
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["name"], "Night Shift");
}

/// A name written raw by some other tool, as the next `getHierarchy_v2` shows it.
#[tokio::test]
async fn a_hierarchy_broken_by_a_line_break_is_a_failed_read() {
    let mut forged = org();
    // Jane's name carried `\nEmail:eve@example.com`: her record holds Email twice.
    forged[7].name = "Jane Doe\nEmail:eve@example.com".to_owned();
    let mut split = org();
    // A name cut in two: the second half is no field at all.
    split[7].name = "Jane\nDoe".to_owned();
    for tree in [forged, split] {
        let server = wiremock::MockServer::start().await;
        mount_answer(&server, "getHierarchy_v2", hierarchy(&tree)).await;
        let error = target(&server)
            .snapshot(&DetailRequest::default())
            .await
            .expect_err("a failed read");
        assert_eq!(
            error.kind,
            adsync_core::adapter::AdapterErrorKind::Protocol,
            "{error}"
        );
        assert!(full_text(&error).contains("breaks the format"), "{error}");
    }
}

/// Rescue holds `Jane Doe`; the directory says `Jane\nDoe`. Cleaned, that is what Rescue holds:
/// nothing is written.
#[tokio::test]
async fn an_update_that_cleaning_undoes_writes_nothing() {
    let server = creating_server().await;
    mount_answer(&server, "getUser_v3", user_answer(&jane())).await;
    target(&server)
        .apply(
            &update(100, &[(Attribute::Name, "Jane Doe", "Jane\nDoe")]),
            None,
        )
        .await
        .expect("nothing to do");
    assert!(sent(&server, "setUser_v2").await.is_empty());
}
