//! What every test uses: a target pointed at a wiremock server, the answers of a small
//! organization, actions, and readers of the forms the target sent.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adsync_core::adapter::{AdapterError, DetailRequest};
use adsync_core::config::Attribute;
use adsync_core::model::{Container, GroupPath, NodeId, Role, UserKey};
use adsync_core::plan::{
    Action, ActionKind, Change, CreateGroup, CreateUser, DisableUser, EnableUser, MoveUser,
    NewUser, Place, Precondition, SetMobileLicense, UpdateUser, UserRef,
};
use adsync_core::scope::ReadScope;
use adsync_core::secret::Secret;
use adsync_rescue::{RescueCredentials, RescueSettings, RescueTarget, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

pub(crate) const TOKEN: &str = "tok-5f1e9c2a-secret";
pub(crate) const DEFAULT_PASSWORD: &str = "Welcome-2-Rescue!";
pub(crate) const ADMIN_EMAIL: &str = "owner@contoso.com";
pub(crate) const ADMIN_PASSWORD: &str = "hunter2-admin-password";
/// The authcode of rescue-api.md §10 Q3.
pub(crate) const Q3_AUTHCODE: &str =
    "4ahx99bppkzxocbs590roo1l99o7au9rmwnea8q3areaiceaw1afq55jx89nl5zt63hxlo298qf80u0";

/// A retry policy that never sleeps, with a short request timeout.
pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        request_timeout: Duration::from_millis(400),
        ..RetryPolicy::immediate()
    }
}

pub(crate) fn settings(server: &MockServer) -> RescueSettings {
    RescueSettings {
        base_url: server.uri(),
        auth: RescueCredentials::Token(Secret::new(TOKEN)),
        default_password: Some(Secret::new(DEFAULT_PASSWORD)),
        concurrency: 4,
        retry: fast_retry(),
    }
}

pub(crate) fn target(server: &MockServer) -> RescueTarget {
    RescueTarget::new(settings(server)).expect("a valid target")
}

pub(crate) fn password_target(server: &MockServer) -> RescueTarget {
    RescueTarget::new(RescueSettings {
        auth: RescueCredentials::Password {
            email: ADMIN_EMAIL.to_owned(),
            password: Secret::new(ADMIN_PASSWORD),
        },
        ..settings(server)
    })
    .expect("a valid target")
}

/// A POST to `method`'s endpoint.
pub(crate) fn api(name: &str) -> MockBuilder {
    Mock::given(method("POST")).and(path(format!("/API/{name}.aspx")))
}

pub(crate) fn answer(body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(body.into())
}

/// Matches a form field with an exact value.
pub(crate) struct FormHas(pub(crate) &'static str, pub(crate) String);

impl Match for FormHas {
    fn matches(&self, request: &Request) -> bool {
        form(request).get(self.0) == Some(&self.1)
    }
}

pub(crate) fn form_has(name: &'static str, value: impl ToString) -> FormHas {
    FormHas(name, value.to_string())
}

pub(crate) fn form(request: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// The forms sent to `name`, in order.
pub(crate) async fn sent(server: &MockServer, name: &str) -> Vec<BTreeMap<String, String>> {
    let wanted = format!("/API/{name}.aspx");
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == wanted)
        .map(form)
        .collect()
}

/// One hierarchy node.
#[derive(Clone)]
pub(crate) struct Rec {
    pub(crate) id: u64,
    pub(crate) parent: u64,
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) status: &'static str,
}

pub(crate) fn rec(id: u64, parent: u64, kind: &'static str, name: &str) -> Rec {
    Rec {
        id,
        parent,
        kind,
        name: name.to_owned(),
        email: String::new(),
        status: "Offline",
    }
}

pub(crate) fn user_rec(id: u64, parent: u64, kind: &'static str, name: &str, email: &str) -> Rec {
    Rec {
        email: email.to_owned(),
        ..rec(id, parent, kind, name)
    }
}

/// The small organization every test starts from.
///
/// ```text
/// 1 Root Contoso
/// ├── 2 MasterAdministrators ── 300 Owner (MasterAdministrator)
/// ├── 3 Administrators ── 20 Ops (AdministratorGroup) ── 200 Ann (Administrator)
/// └── 4 Technicians ── 10 Helpdesk ─┬─ 11 L2 ── 100 Jane (Technician)
///                                   └─ 101 Joe (Technician, Disabled)
/// ```
pub(crate) fn org() -> Vec<Rec> {
    let mut joe = user_rec(101, 10, "Technician", "Joe", "joe@contoso.com");
    joe.status = "Disabled";
    vec![
        rec(1, 0, "Root", "Contoso"),
        rec(2, 1, "MasterAdministrators", "Master Administrators"),
        rec(3, 1, "Administrators", "Administrators"),
        rec(4, 1, "Technicians", "Technicians"),
        rec(10, 4, "TechnicianGroup", "Helpdesk"),
        rec(11, 10, "TechnicianGroup", "L2"),
        rec(20, 3, "AdministratorGroup", "Ops"),
        user_rec(100, 11, "Technician", "Jane Doe", "jane@contoso.com"),
        joe,
        user_rec(200, 20, "Administrator", "Ann Admin", "ann@contoso.com"),
        user_rec(300, 2, "MasterAdministrator", "Owner", "owner@contoso.com"),
    ]
}

/// A `getHierarchy_v2` answer in the wire layout.
pub(crate) fn hierarchy(nodes: &[Rec]) -> String {
    let mut out = String::from("OK\n\n");
    for node in nodes {
        out.push_str(&format!(
            "NodeID:{}\nParentID:{}\nName:{}\nEmail:{}\nDescription:\nStatus:{}\nType:{}\n\n",
            node.id, node.parent, node.name, node.email, node.status, node.kind
        ));
    }
    out
}

/// One user's details.
#[derive(Clone)]
pub(crate) struct Details {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
    pub(crate) nick: &'static str,
    pub(crate) email: &'static str,
    pub(crate) ssoid: &'static str,
    pub(crate) description: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) mobile: bool,
    pub(crate) rpat: bool,
    pub(crate) holder: bool,
    pub(crate) status: &'static str,
}

/// Jane, node 100, as `getUser_v3` describes her.
pub(crate) fn jane() -> Details {
    Details {
        id: 100,
        name: "Jane Doe",
        nick: "JJ",
        email: "jane@contoso.com",
        ssoid: "jane.sso",
        description: "Support: tier 2",
        kind: "Technician",
        mobile: true,
        rpat: true,
        holder: false,
        status: "Online",
    }
}

fn flag(on: bool) -> &'static str {
    if on { "True" } else { "False" }
}

/// A `getUser_v3` answer in the wire layout.
pub(crate) fn user_answer(d: &Details) -> String {
    format!(
        "OK\n\nNODEID: {}\nNAME: {}\nNICK: {}\nEMAIL: {}\nSSOID: {}\nDESCRIPTION: {}\nTYPE: {}\n\
         HASMOBILEADDON: {}\nHASRPATADDON: {}\nISACCOUNTHOLDER: {}\nSTATUS: {}\n",
        d.id,
        d.name,
        d.nick,
        d.email,
        d.ssoid,
        d.description,
        d.kind,
        flag(d.mobile),
        flag(d.rpat),
        flag(d.holder),
        d.status
    )
}

/// The technician the user actions of these tests are about.
fn someone() -> UserRef {
    UserRef {
        role: Role::Technician,
        email: UserKey::new("jane@contoso.com").expect("a key"),
        object_id: None,
    }
}

fn id(kind: ActionKind) -> String {
    format!("{}:test", kind.as_str())
}

fn reason() -> String {
    "test".to_owned()
}

/// `enable_user` of node `node`.
pub(crate) fn enable(node: u64) -> Action {
    Action::EnableUser(EnableUser {
        id: id(ActionKind::EnableUser),
        user: someone(),
        node_id: NodeId(node),
        reason: reason(),
        precondition: Precondition::default(),
    })
}

/// `disable_user` of node `node`, releasing its mobile add-on or not.
pub(crate) fn disable(node: u64, release_mobile: bool) -> Action {
    Action::DisableUser(DisableUser {
        id: id(ActionKind::DisableUser),
        user: someone(),
        node_id: NodeId(node),
        from: None,
        release_mobile,
        reason: reason(),
        precondition: Precondition::default(),
    })
}

/// `set_mobile_license` of node `node`.
pub(crate) fn set_mobile(node: u64, mobile: bool) -> Action {
    Action::SetMobileLicense(SetMobileLicense {
        id: id(ActionKind::SetMobileLicense),
        user: someone(),
        node_id: NodeId(node),
        mobile,
        from: None,
        reason: reason(),
        precondition: Precondition::default(),
    })
}

/// `update_user` of node `node` with `(attribute, old, new)` changes.
pub(crate) fn update(node: u64, changes: &[(Attribute, &str, &str)]) -> Action {
    Action::UpdateUser(UpdateUser {
        id: id(ActionKind::UpdateUser),
        user: someone(),
        node_id: NodeId(node),
        changes: changes
            .iter()
            .map(|&(attribute, old, new)| {
                (
                    attribute,
                    Change {
                        old: old.to_owned(),
                        new: new.to_owned(),
                        mapped: None,
                    },
                )
            })
            .collect(),
        reason: reason(),
        precondition: Precondition::default(),
    })
}

/// `move_user` of node `node` into `container`, under node `to` when the plan knows it.
pub(crate) fn move_to(node: u64, container: Container, to: Option<u64>) -> Action {
    Action::MoveUser(MoveUser {
        id: id(ActionKind::MoveUser),
        user: someone(),
        node_id: NodeId(node),
        from_role: None,
        from: GroupPath::root(),
        to: Place {
            container,
            path: GroupPath::root(),
            node: to.map(NodeId),
        },
        reason: reason(),
        precondition: Precondition::default(),
    })
}

/// `create_group` of technician group `path`, under node `parent` when the plan knows it.
pub(crate) fn new_group(path: &str, parent: Option<u64>) -> Action {
    Action::CreateGroup(CreateGroup {
        id: id(ActionKind::CreateGroup),
        container: Container::Technicians,
        path: GroupPath::parse(path),
        parent: parent.map(NodeId),
        reason: reason(),
        precondition: Precondition::default(),
    })
}

/// `create_user` of Kim in `L2` (node 11).
pub(crate) fn create_kim() -> Action {
    Action::CreateUser(CreateUser {
        id: id(ActionKind::CreateUser),
        user: UserRef {
            email: UserKey::new("kim@contoso.com").expect("a key"),
            ..someone()
        },
        to: Place {
            container: Container::Technicians,
            path: GroupPath::parse("Helpdesk/L2"),
            node: Some(NodeId(11)),
        },
        fields: NewUser {
            name: "Kim Lee".to_owned(),
            nick: "Kim".to_owned(),
            email: "kim@contoso.com".to_owned(),
            ssoid: "kim@contoso.com".to_owned(),
            description: "Support & more".to_owned(),
            mobile: true,
        },
        reason: reason(),
        precondition: Precondition::default(),
    })
}

/// Details of every user directly in the destinations named by path.
pub(crate) fn details_for(paths: &[(Container, &str)]) -> DetailRequest {
    DetailRequest {
        nick: true,
        ssoid: true,
        addons: true,
        scope: ReadScope {
            paths: paths
                .iter()
                .map(|(container, path)| (*container, GroupPath::parse(path)))
                .collect(),
            ..ReadScope::default()
        },
    }
}

/// The error text with every cause, for "never mentions" checks.
pub(crate) fn full_text(error: &AdapterError) -> String {
    let mut text = format!("{error} {error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    text
}

/// Answers `getUser_v3` for whatever node is asked (with Jane's other fields) after `delay`,
/// recording when each request arrived.
#[derive(Default)]
pub(crate) struct EchoUsers {
    pub(crate) delay: Duration,
    pub(crate) arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for EchoUsers {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Instant::now());
        let id: u64 = form(request)
            .get("node")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        answer(user_answer(&Details { id, ..jane() })).set_delay(self.delay)
    }
}

/// Answers `getHierarchy_v2` for node `id` alone (`isnode`) with an empty node of `kind` under
/// `parent`: what `createUser`/`createGroup` made and nothing filled, as a rollback reads it.
pub(crate) async fn mount_empty_node(
    server: &MockServer,
    id: u64,
    parent: u64,
    kind: &'static str,
) {
    api("getHierarchy_v2")
        .and(form_has("isnode", "true"))
        .and(form_has("node", id))
        .respond_with(answer(hierarchy(&[rec(id, parent, kind, "")])))
        .with_priority(2)
        .mount(server)
        .await;
}

/// Answers every call of `name` with `body`.
pub(crate) async fn mount_answer(server: &MockServer, name: &str, body: impl Into<String>) {
    api(name).respond_with(answer(body)).mount(server).await;
}
