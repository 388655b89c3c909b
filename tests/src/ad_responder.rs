//! A scripted LDAP server that answers as an Active Directory domain controller does, for what
//! OpenLDAP does not implement: range retrieval of `member` past MaxValRange (1,500 values),
//! the in-chain matching rule `1.2.840.113556.1.4.1941`, pages capped at MaxPageSize (1,000)
//! and `sizeLimitExceeded` for an unpaged search past it, continuation references, and
//! `primaryGroupID` membership (the users whose primary group a group is are not in its
//! `member`, as in AD). Faults are scripted: a size-limit answer, a dropped connection, a
//! search never answered, a referral.
//!
//! The LDAP messages are encoded and decoded by `ldap3_proto`; this module only decides the
//! answers. Loopback only; one task per connection, ended with the responder.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindResponse, LdapFilter, LdapMsg, LdapOp, LdapPartialAttribute, LdapResult,
    LdapResultCode, LdapSearchRequest, LdapSearchResultEntry, LdapSearchResultReference,
    LdapSearchScope,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

use crate::ad_directory::{AdDirectory, sid};
use crate::slapd::{SERVICE_DN, SERVICE_PASSWORD};

/// AD's MaxValRange since Windows Server 2003.
pub const MAX_VAL_RANGE: usize = 1500;
/// AD's MaxPageSize.
pub const MAX_PAGE_SIZE: usize = 1000;
/// `LDAP_CAP_ACTIVE_DIRECTORY_OID`.
const CAP_AD: &str = "1.2.840.113556.1.4.800";
/// `LDAP_CAP_ACTIVE_DIRECTORY_V61_OID` (Windows Server 2008).
const CAP_AD_V61: &str = "1.2.840.113556.1.4.1935";
const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// What the responder does beyond answering.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// Announce Windows Server 2008 and evaluate the in-chain rule (else the rule matches
    /// nothing, as on a server that does not know it).
    pub in_chain: bool,
    /// A search whose filter (as `Debug` text) contains this gets two entries, then rc 4.
    pub size_limit_on: Option<String>,
    /// A search whose filter contains this closes the connection instead of answering.
    pub drop_on: Option<String>,
    /// A search whose filter contains this is never answered.
    pub stall_on: Option<String>,
    /// A base search of a DN containing this is answered with a referral (rc 10).
    pub referral_on: Option<String>,
    /// Continuation references sent with every subtree search.
    pub continuation: Vec<String>,
}

/// A running responder.
pub struct AdResponder {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    objects: Vec<Object>,
    /// Lower-cased DN -> position in `objects`.
    by_dn: HashMap<String, usize>,
    script: Mutex<Script>,
    searches: Mutex<Vec<String>>,
}

struct Object {
    dn: String,
    group: bool,
    attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl Object {
    fn values(&self, name: &str) -> Option<&Vec<Vec<u8>>> {
        self.attrs
            .iter()
            .find(|(attr, _)| attr.eq_ignore_ascii_case(name))
            .map(|(_, values)| values)
    }
}

impl AdResponder {
    /// Serves `directory` on a free loopback port.
    pub async fn start(directory: &AdDirectory, script: Script) -> AdResponder {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        let objects = objects(directory);
        let by_dn = objects
            .iter()
            .enumerate()
            .map(|(at, object)| (object.dn.to_lowercase(), at))
            .collect();
        let shared = Arc::new(Shared {
            objects,
            by_dn,
            script: Mutex::new(script),
            searches: Mutex::new(Vec::new()),
        });
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, serving.clone()));
            }
        });
        AdResponder { addr, shared, task }
    }

    /// `ldap://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }

    /// Replaces the script.
    pub fn set_script(&self, script: Script) {
        *lock(&self.shared.script) = script;
    }

    /// Every search so far: `base | filter | attributes`.
    pub fn searches(&self) -> Vec<String> {
        lock(&self.shared.searches).clone()
    }
}

impl Drop for AdResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn text(value: &str) -> Vec<Vec<u8>> {
    vec![value.as_bytes().to_vec()]
}

fn objects(directory: &AdDirectory) -> Vec<Object> {
    let mut objects = Vec::new();
    for user in &directory.users {
        let mut attrs = vec![
            (
                "objectClass".to_owned(),
                vec![
                    b"top".to_vec(),
                    b"person".to_vec(),
                    b"organizationalPerson".to_vec(),
                    b"user".to_vec(),
                ],
            ),
            ("objectGUID".to_owned(), vec![user.guid.to_vec()]),
            ("objectSid".to_owned(), vec![sid(user.rid)]),
            ("cn".to_owned(), text(&user.sam)),
            ("sAMAccountName".to_owned(), text(&user.sam)),
            ("userPrincipalName".to_owned(), text(&user.upn)),
            ("displayName".to_owned(), text(&user.display_name)),
            ("givenName".to_owned(), text(&user.given_name)),
            ("sn".to_owned(), text(&user.surname)),
            ("userAccountControl".to_owned(), text(&user.uac.to_string())),
            (
                "primaryGroupID".to_owned(),
                text(&user.primary_group.to_string()),
            ),
        ];
        if let Some(mail) = &user.mail {
            attrs.push(("mail".to_owned(), text(mail)));
        }
        if let Some(title) = &user.title {
            attrs.push(("title".to_owned(), text(title)));
        }
        objects.push(Object {
            dn: user.dn.clone(),
            group: false,
            attrs,
        });
    }
    for group in &directory.groups {
        objects.push(Object {
            dn: group.dn.clone(),
            group: true,
            attrs: vec![
                (
                    "objectClass".to_owned(),
                    vec![b"top".to_vec(), b"group".to_vec()],
                ),
                ("objectGUID".to_owned(), vec![group.guid.to_vec()]),
                ("objectSid".to_owned(), vec![sid(group.rid)]),
                ("cn".to_owned(), text(&group.cn)),
                ("sAMAccountName".to_owned(), text(&group.sam)),
                (
                    "member".to_owned(),
                    group
                        .members
                        .iter()
                        .map(|m| m.as_bytes().to_vec())
                        .collect(),
                ),
            ],
        });
    }
    objects
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut framed = Framed::new(stream, LdapCodec::default());
    while let Some(Ok(message)) = framed.next().await {
        let replies = match message.op {
            LdapOp::BindRequest(bind) => vec![bind_reply(message.msgid, &bind.dn, &bind.cred)],
            LdapOp::SearchRequest(request) => {
                match search_reply(&shared, message.msgid, &request, &message.ctrl) {
                    Reply::Messages(messages) => messages,
                    Reply::Stall => continue,
                    Reply::Drop => return,
                }
            }
            LdapOp::UnbindRequest => return,
            _ => continue,
        };
        for reply in replies {
            if framed.send(reply).await.is_err() {
                return;
            }
        }
    }
}

fn result(code: LdapResultCode, message: &str) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: message.to_owned(),
        referral: Vec::new(),
    }
}

fn bind_reply(msgid: i32, dn: &str, cred: &LdapBindCred) -> LdapMsg {
    let ok = matches!(cred, LdapBindCred::Simple(password) if dn == SERVICE_DN && password == SERVICE_PASSWORD);
    let res = if ok {
        result(LdapResultCode::Success, "")
    } else {
        result(
            LdapResultCode::InvalidCredentials,
            "80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 52e, v4563",
        )
    };
    LdapMsg::new(
        msgid,
        LdapOp::BindResponse(LdapBindResponse {
            res,
            saslcreds: None,
        }),
    )
}

enum Reply {
    Messages(Vec<LdapMsg>),
    Stall,
    Drop,
}

fn search_reply(
    shared: &Shared,
    msgid: i32,
    request: &LdapSearchRequest,
    controls: &[LdapControl],
) -> Reply {
    let filter = format!("{:?}", request.filter);
    lock(&shared.searches).push(format!(
        "{} | {filter} | {}",
        request.base,
        request.attrs.join(",")
    ));
    let script = lock(&shared.script).clone();
    let hit = |pattern: &Option<String>| pattern.as_deref().is_some_and(|p| filter.contains(p));
    if hit(&script.drop_on) {
        return Reply::Drop;
    }
    if hit(&script.stall_on) {
        return Reply::Stall;
    }
    let done = |res: LdapResult, ctrl: Vec<LdapControl>| {
        LdapMsg::new_with_ctrls(msgid, LdapOp::SearchResultDone(res), ctrl)
    };
    if request.base.is_empty() && request.scope == LdapSearchScope::Base {
        return Reply::Messages(vec![
            root_dse(msgid, &script),
            done(result(LdapResultCode::Success, ""), vec![]),
        ]);
    }
    if let Some(pattern) = &script.referral_on
        && request
            .base
            .to_lowercase()
            .contains(&pattern.to_lowercase())
    {
        let mut res = result(LdapResultCode::Referral, "0000202B: RefErr: DSID-0310084A");
        res.referral = vec![format!("ldap://child.corp.example/{}", request.base)];
        return Reply::Messages(vec![done(res, vec![])]);
    }
    let found = match matching(shared, &script, request) {
        Ok(found) => found,
        Err(res) => return Reply::Messages(vec![done(res, vec![])]),
    };
    let mut messages = Vec::new();
    if request.scope != LdapSearchScope::Base {
        for uri in &script.continuation {
            messages.push(LdapMsg::new(
                msgid,
                LdapOp::SearchResultReference(LdapSearchResultReference {
                    uris: vec![uri.clone()],
                }),
            ));
        }
    }
    let entry = |object: &Object| {
        LdapMsg::new(
            msgid,
            LdapOp::SearchResultEntry(entry(object, &request.attrs)),
        )
    };
    if hit(&script.size_limit_on) {
        messages.extend(found.iter().take(2).map(|o| entry(o)));
        messages.push(done(result(LdapResultCode::SizeLimitExceeded, ""), vec![]));
        return Reply::Messages(messages);
    }
    let (range, code, ctrl) = page(&found, controls);
    messages.extend(found[range].iter().map(|o| entry(o)));
    messages.push(done(result(code, ""), ctrl));
    Reply::Messages(messages)
}

fn root_dse(msgid: i32, script: &Script) -> LdapMsg {
    let mut caps = vec![CAP_AD.as_bytes().to_vec()];
    if script.in_chain {
        caps.push(CAP_AD_V61.as_bytes().to_vec());
    }
    LdapMsg::new(
        msgid,
        LdapOp::SearchResultEntry(LdapSearchResultEntry {
            dn: String::new(),
            attributes: vec![LdapPartialAttribute {
                atype: "supportedCapabilities".to_owned(),
                vals: caps,
            }],
        }),
    )
}

/// The objects in scope that match the filter, or the result code that answers instead.
fn matching<'a>(
    shared: &'a Shared,
    script: &Script,
    request: &LdapSearchRequest,
) -> Result<Vec<&'a Object>, LdapResult> {
    let base = request.base.to_lowercase();
    let in_scope: Vec<&Object> = match request.scope {
        LdapSearchScope::Base => {
            let object = shared.by_dn.get(&base).map(|at| &shared.objects[*at]);
            vec![object.ok_or_else(|| {
                result(
                    LdapResultCode::NoSuchObject,
                    "0000208D: NameErr: DSID-03100241",
                )
            })?]
        }
        _ => shared
            .objects
            .iter()
            .filter(|o| o.dn.to_lowercase().ends_with(&base))
            .collect(),
    };
    let mut closures = Closures::new();
    if script.in_chain {
        in_chain_groups(&request.filter, &mut |group| {
            closures
                .entry(group.to_lowercase())
                .or_insert_with_key(|group| nested_in(shared, group));
        });
    }
    Ok(in_scope
        .into_iter()
        .filter(|object| evaluate(&closures, object, &request.filter))
        .collect())
}

/// The in-chain closure of each group an in-chain filter names, by lower-cased DN.
type Closures = HashMap<String, BTreeSet<String>>;

/// Calls `found` with the group DN of every in-chain assertion in `filter`.
fn in_chain_groups(filter: &LdapFilter, found: &mut impl FnMut(&str)) {
    match filter {
        LdapFilter::And(parts) | LdapFilter::Or(parts) => {
            parts.iter().for_each(|f| in_chain_groups(f, found));
        }
        LdapFilter::Not(inner) => in_chain_groups(inner, found),
        LdapFilter::Extensible(rule)
            if rule.matching_rule.as_deref() == Some(IN_CHAIN)
                && rule
                    .type_
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("memberOf")) =>
        {
            found(&rule.match_value);
        }
        _ => {}
    }
}

/// Whether `object` matches; an in-chain assertion matches only when the responder announced
/// the rule (its closure was computed), else it is Undefined, as on a server without it.
fn evaluate(closures: &Closures, object: &Object, filter: &LdapFilter) -> bool {
    match filter {
        LdapFilter::And(all) => all.iter().all(|f| evaluate(closures, object, f)),
        LdapFilter::Or(any) => any.iter().any(|f| evaluate(closures, object, f)),
        LdapFilter::Not(inner) => !evaluate(closures, object, inner),
        LdapFilter::Present(attr) => {
            attr.eq_ignore_ascii_case("objectClass") || object.values(attr).is_some()
        }
        LdapFilter::Equality(attr, value) => object.values(attr).is_some_and(|values| {
            let binary =
                attr.eq_ignore_ascii_case("objectGUID") || attr.eq_ignore_ascii_case("objectSid");
            values.iter().any(|v| {
                if binary {
                    v == value.as_bytes()
                } else {
                    v.eq_ignore_ascii_case(value.as_bytes())
                }
            })
        }),
        LdapFilter::Substring(attr, sub) => object.values(attr).is_some_and(|values| {
            values
                .iter()
                .any(|v| substring(&String::from_utf8_lossy(v).to_lowercase(), sub))
        }),
        LdapFilter::Extensible(rule) => {
            rule.matching_rule.as_deref() == Some(IN_CHAIN)
                && closures
                    .get(&rule.match_value.to_lowercase())
                    .is_some_and(|members| members.contains(&object.dn.to_lowercase()))
        }
        _ => false,
    }
}

fn substring(value: &str, sub: &ldap3_proto::proto::LdapSubstringFilter) -> bool {
    let mut rest = value;
    if let Some(initial) = &sub.initial {
        let Some(after) = rest.strip_prefix(initial.to_lowercase().as_str()) else {
            return false;
        };
        rest = after;
    }
    for part in &sub.any {
        let part = part.to_lowercase();
        let Some(at) = rest.find(&part) else {
            return false;
        };
        rest = &rest[at + part.len()..];
    }
    sub.final_
        .as_ref()
        .is_none_or(|end| rest.ends_with(&end.to_lowercase()))
}

/// The DNs (lower-cased) of everything below `group` at any depth, cycles cut.
fn nested_in(shared: &Shared, group: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut queue = VecDeque::from([group.to_lowercase()]);
    while let Some(dn) = queue.pop_front() {
        let Some(object) = shared.by_dn.get(&dn).map(|at| &shared.objects[*at]) else {
            continue;
        };
        if !object.group {
            continue;
        }
        for member in object.values("member").into_iter().flatten() {
            let member = String::from_utf8_lossy(member).to_lowercase();
            if found.insert(member.clone()) {
                queue.push_back(member);
            }
        }
    }
    found
}

/// The slice of `found` this request gets, its result code and response controls: pages of
/// at most [`MAX_PAGE_SIZE`] with an offset cookie, or, unpaged, at most that many and rc 4.
fn page(
    found: &[&Object],
    controls: &[LdapControl],
) -> (std::ops::Range<usize>, LdapResultCode, Vec<LdapControl>) {
    let paged = controls.iter().find_map(|control| match control {
        LdapControl::SimplePagedResults { size, cookie } => Some((*size, cookie.clone())),
        _ => None,
    });
    let Some((size, cookie)) = paged else {
        return if found.len() > MAX_PAGE_SIZE {
            (0..MAX_PAGE_SIZE, LdapResultCode::SizeLimitExceeded, vec![])
        } else {
            (0..found.len(), LdapResultCode::Success, vec![])
        };
    };
    let start: usize = String::from_utf8_lossy(&cookie)
        .parse()
        .unwrap_or(0)
        .min(found.len());
    let size = usize::try_from(size).unwrap_or(0);
    let size = if size == 0 {
        MAX_PAGE_SIZE
    } else {
        size.min(MAX_PAGE_SIZE)
    };
    let end = (start + size).min(found.len());
    let next = if end < found.len() {
        end.to_string().into_bytes()
    } else {
        Vec::new()
    };
    (
        start..end,
        LdapResultCode::Success,
        vec![LdapControl::SimplePagedResults {
            size: 0,
            cookie: next,
        }],
    )
}

/// The requested attributes of `object`, `member` in ranges past [`MAX_VAL_RANGE`].
fn entry(object: &Object, requested: &[String]) -> LdapSearchResultEntry {
    let all = requested.is_empty() || requested.iter().any(|a| a == "*");
    let mut attributes = Vec::new();
    for (name, values) in &object.attrs {
        let wanted = all || requested.iter().any(|r| r.eq_ignore_ascii_case(name));
        if name.eq_ignore_ascii_case("member") {
            attributes.extend(member_attributes(values, requested, all));
        } else if wanted {
            attributes.push(LdapPartialAttribute {
                atype: name.clone(),
                vals: values.clone(),
            });
        }
    }
    LdapSearchResultEntry {
        dn: object.dn.clone(),
        attributes,
    }
}

fn member_attributes(
    values: &[Vec<u8>],
    requested: &[String],
    all: bool,
) -> Vec<LdapPartialAttribute> {
    let ranged = requested.iter().find_map(|r| {
        let lower = r.to_lowercase();
        let bounds = lower.strip_prefix("member;range=")?;
        bounds.split_once('-')?.0.parse::<usize>().ok()
    });
    let plain = all || requested.iter().any(|r| r.eq_ignore_ascii_case("member"));
    let low = match (ranged, plain) {
        (Some(low), _) => low,
        (None, true) if values.len() <= MAX_VAL_RANGE => {
            return vec![LdapPartialAttribute {
                atype: "member".to_owned(),
                vals: values.to_vec(),
            }];
        }
        (None, true) => 0,
        (None, false) => return Vec::new(),
    };
    let low = low.min(values.len());
    let high = (low + MAX_VAL_RANGE).min(values.len());
    let name = if high == values.len() {
        format!("member;range={low}-*")
    } else {
        format!("member;range={low}-{}", high - 1)
    };
    let mut out = Vec::new();
    if ranged.is_none() {
        out.push(LdapPartialAttribute {
            atype: "member".to_owned(),
            vals: Vec::new(),
        });
    }
    out.push(LdapPartialAttribute {
        atype: name,
        vals: values[low..high].to_vec(),
    });
    out
}
