//! Hostile input: arbitrary bytes and structured mutations of real Graph and Entra ID bodies,
//! fed to the decoding the source uses (`adsync_graph::decode`). Nothing panics; every body is
//! decoded or refused with a typed error, and what is decoded keeps its promises.
//!
//! Cases per property: 3,000 by default; `PROPTEST_CASES` overrides it (the long run in
//! docs/reliability.md uses 100,000).

use adsync_graph::decode::{self, MAX_TOKEN_LIFETIME};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::{TOKEN_PATH, by_id, fixture, json as respond, page, request, snapshot, source};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(3_000);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Valid bodies of every shape the source decodes.
fn seeds() -> Vec<Value> {
    let user = json!({
        "@odata.type": "#microsoft.graph.user",
        "id": "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e11",
        "userPrincipalName": "jane.doe@contoso.com",
        "mail": "Jane.Doe@contoso.com",
        "displayName": "Jane Doe",
        "givenName": "Jane",
        "surname": "Doe",
        "jobTitle": "Support engineer",
        "department": "IT",
        "mobilePhone": "+1 555 0100",
        "employeeId": "E-1",
        "accountEnabled": true
    });
    let limited = json!({"@odata.type": "#microsoft.graph.user", "id": "limited-1"});
    let device = json!({"@odata.type": "#microsoft.graph.device", "id": "device-1"});
    let group = json!({
        "@odata.type": "#microsoft.graph.group",
        "id": "5d7e2f0a-8b1c-4e3d-9f60-2a4b6c8d0e12",
        "displayName": "SG-Rescue-L2",
        "description": "Level 2"
    });
    let mut seeds = vec![
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
            "@odata.count": 3,
            "value": [user, limited, device],
            "@odata.nextLink": "https://graph.microsoft.com/v1.0/groups/g/transitiveMembers/microsoft.graph.user?$skiptoken=X"
        }),
        json!({"value": [group.clone(), group.clone()]}),
        group,
        json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ0eXAi.x.y"}),
        json!({"token_type": "Bearer", "expires_in": "3599", "access_token": "eyJ0eXAi.x.y"}),
        json!({"error": {"code": "Request_ResourceNotFound", "message": "gone", "innerError": {}}}),
    ];
    for name in [
        "members.json",
        "transitive-members.json",
        "token-success.json",
        "token-error-7000215.json",
        "token-error-90002.json",
        "graph-429-too-many-requests.json",
        "graph-401-expired-token.json",
        "synthesized/members-limited-information.json",
    ] {
        seeds.push(serde_json::from_str(&fixture(name)).expect("a fixture is JSON"));
    }
    seeds
}

/// Every decoder on `body`: none may panic, and what decodes keeps its promises.
fn decode_all(body: &[u8]) {
    if let Ok(token) = decode::token(body) {
        assert!(token.lifetime <= MAX_TOKEN_LIFETIME, "{:?}", token.lifetime);
        assert_eq!(format!("{:?}", token.access_token), "[REDACTED]");
    }
    let _ = decode::token_refused(body);
    if let Ok(page) = decode::user_page(body) {
        let listed = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["value"].as_array().map(Vec::len))
            .unwrap_or(usize::MAX);
        assert!(page.users.len() + page.limited <= listed);
    }
    let _ = decode::group_page(body);
    let _ = decode::group(body);
    let _ = decode::error_body(body);
}

/// A JSON value of any shape, including what Graph never sends.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("#microsoft.graph.user")),
        Just(json!("#microsoft.graph.group")),
        Just(json!("\u{0000}\u{202e}\u{feff}")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// One change to a JSON tree, applied at the `at`-th node (in depth-first order).
#[derive(Clone, Debug)]
enum Mutation {
    Replace(Value),
    RemoveKey,
    AddKey(String, Value),
    EmptyContainer,
    DuplicateFirstItem,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any_json().prop_map(Mutation::Replace),
        Just(Mutation::RemoveKey),
        (
            prop_oneof![
                Just("@odata.nextLink".to_owned()),
                Just("value".to_owned()),
                Just("expires_in".to_owned()),
                Just("id".to_owned()),
                Just("error".to_owned()),
                ".{0,8}"
            ],
            any_json()
        )
            .prop_map(|(key, value)| Mutation::AddKey(key, value)),
        Just(Mutation::EmptyContainer),
        Just(Mutation::DuplicateFirstItem),
    ]
}

/// Applies `mutation` to the `at`-th container or leaf of `value`; returns whether it did.
fn mutate(value: &mut Value, at: &mut usize, mutation: &Mutation) -> bool {
    if *at == 0 {
        match mutation {
            Mutation::Replace(new) => *value = new.clone(),
            Mutation::RemoveKey => {
                if let Value::Object(map) = value
                    && let Some(key) = map.keys().next().cloned()
                {
                    map.remove(&key);
                }
            }
            Mutation::AddKey(key, new) => {
                if let Value::Object(map) = value {
                    map.insert(key.clone(), new.clone());
                }
            }
            Mutation::EmptyContainer => match value {
                Value::Object(map) => map.clear(),
                Value::Array(items) => items.clear(),
                _ => *value = Value::Null,
            },
            Mutation::DuplicateFirstItem => {
                if let Value::Array(items) = value
                    && let Some(first) = items.first().cloned()
                {
                    items.push(first);
                }
            }
        }
        return true;
    }
    *at -= 1;
    match value {
        Value::Object(map) => map.values_mut().any(|child| mutate(child, at, mutation)),
        Value::Array(items) => items.iter_mut().any(|child| mutate(child, at, mutation)),
        _ => false,
    }
}

/// A byte-level edit of a serialized body.
#[derive(Clone, Debug)]
enum Edit {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Flip(at, byte)),
        (
            any::<usize>(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..8),
                Just(b"\"".to_vec()),
                Just(b"}".to_vec()),
                Just(b",".to_vec()),
                Just(b"\\u0000".to_vec()),
                Just(b"\xff\xfe".to_vec()),
            ]
        )
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        (any::<usize>(), 0..16_usize).prop_map(|(at, len)| Edit::Delete(at, len)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let len = bytes.len().max(1);
    match edit {
        Edit::Truncate(at) => bytes.truncate(at % len),
        Edit::Flip(at, byte) => {
            if let Some(b) = bytes.get_mut(at % len) {
                *b ^= byte;
            }
        }
        Edit::Insert(at, new) => {
            let at = (at % len).min(bytes.len());
            bytes.splice(at..at, new.iter().copied());
        }
        Edit::Delete(at, n) => {
            let at = (at % len).min(bytes.len());
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        decode_all(value.to_string().as_bytes());
        // Wrapped as a page, so the item decoders see it too.
        decode_all(json!({"value": [value.clone()], "@odata.nextLink": value}).to_string().as_bytes());
    }

    #[test]
    fn mutated_bodies_decode_or_fail_typed(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec((any::<usize>(), mutation()), 1..4),
        edits in prop::collection::vec(edit(), 0..3),
    ) {
        let seeds = seeds();
        let mut value = seed.get(&seeds).clone();
        for (at, mutation) in &mutations {
            let mut at = *at % 64;
            mutate(&mut value, &mut at, mutation);
        }
        let mut bytes = value.to_string().into_bytes();
        decode_all(&bytes);
        for edit in &edits {
            apply(&mut bytes, edit);
        }
        decode_all(&bytes);
    }

    #[test]
    fn any_token_lifetime_is_capped(expires_in in prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,24}".prop_map(Value::String),
        any::<u64>().prop_map(|n| Value::String(n.to_string())),
    ]) {
        let body = json!({"access_token": "t", "expires_in": expires_in}).to_string();
        let token = decode::token(body.as_bytes()).expect("a token");
        prop_assert!(token.lifetime <= MAX_TOKEN_LIFETIME);
    }
}

/// A token that claims to live for ever used to overflow the renewal time (a panic in
/// `Instant + Duration`); it is capped, and the read goes on.
#[tokio::test]
async fn a_token_claiming_an_endless_life_does_not_panic() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(respond(
            200,
            &json!({"token_type": "Bearer", "expires_in": u64::MAX, "access_token": "t"})
                .to_string(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1"))
        .respond_with(respond(200, r#"{"id":"g1","displayName":"SG"}"#))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1/members/microsoft.graph.user"))
        .respond_with(page(vec![], None))
        .mount(&server)
        .await;
    let read = snapshot(&source(&server), &request(vec![by_id("g1")], false)).await;
    assert!(read.is_ok(), "{read:?}");
}
