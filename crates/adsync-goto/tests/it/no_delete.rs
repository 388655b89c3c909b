//! No code path can delete a GoTo user: random operations through a server that accepts
//! anything never see a DELETE, and the crate's source names no DELETE request at all.

use std::collections::BTreeSet;

use adsync_goto::{AdminRole, Key, Operation};
use proptest::prelude::*;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::target;

/// Says yes to everything, the way a careless server would: created users get a key.
struct Yes;

impl Respond for Yes {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.url.path().ends_with("/oauth/token") {
            return ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "a", "expires_in": 3600}));
        }
        if request.method.as_str() == "POST" {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let email = body["users"][0]["email"]
                .as_str()
                .unwrap_or("x@y")
                .to_owned();
            return ResponseTemplate::new(201)
                .set_body_json(serde_json::json!([{"key": 77, "email": email}]));
        }
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"results": [], "fromIndex": 0, "total": 0}))
    }
}

fn keys() -> impl Strategy<Value = BTreeSet<Key>> {
    proptest::collection::btree_set(1_u64..6, 0..3).prop_map(|set| {
        set.into_iter()
            .filter_map(|n| Key::new(n.to_string()))
            .collect()
    })
}

fn role() -> impl Strategy<Value = AdminRole> {
    prop_oneof![
        Just(AdminRole::None),
        Just(AdminRole::Full),
        keys().prop_map(|groups| AdminRole::ManagerOf { groups }),
        Just(AdminRole::Other {
            roles: BTreeSet::from(["RUN_REPORTS".to_owned()])
        }),
    ]
}

fn operation() -> impl Strategy<Value = Operation> {
    let user = (1_u64..9).prop_map(|n| Key::new(n.to_string()).unwrap_or_else(|| unreachable!()));
    let email = "[a-z]{1,6}@contoso\\.com";
    prop_oneof![
        (email, keys(), role(), proptest::option::of(user.clone())).prop_map(
            |(email, licences, role, group)| Operation::CreateUser {
                email,
                first_name: "F".to_owned(),
                last_name: "L".to_owned(),
                licences,
                role,
                group,
            }
        ),
        (user.clone(), email, keys(), keys()).prop_map(|(user, email, before, after)| {
            Operation::SetLicences {
                user,
                email,
                before,
                after,
            }
        }),
        (user.clone(), email, role(), role()).prop_map(|(user, email, before, after)| {
            Operation::SetRole {
                user,
                email,
                before,
                after,
            }
        }),
        (user.clone(), email, user.clone()).prop_map(|(user, email, to)| Operation::MoveToGroup {
            user,
            email,
            from: None,
            to,
        }),
        (user, email, keys()).prop_map(|(user, email, before)| Operation::Suspend {
            user,
            email,
            before,
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_plans_never_send_a_delete(operations in proptest::collection::vec(operation(), 1..12)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let methods = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(any()).respond_with(Yes).mount(&server).await;
            let (target, _) = target(&server);
            for operation in &operations {
                // Outcomes do not matter here (a custom role is refused); requests do.
                let _ = target.apply_operation(operation).await;
            }
            let _ = target.read_snapshot().await;
            server
                .received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .map(|r| (r.method.to_string(), r.url.path().to_owned()))
                .collect::<Vec<_>>()
        });
        prop_assert!(!methods.is_empty());
        for (method, path) in methods {
            prop_assert!(method != "DELETE", "DELETE {}", path);
            prop_assert!(["GET", "POST", "PUT"].contains(&method.as_str()), "{} {}", method, path);
        }
    }
}

/// Every `.rs` file below `dir`, sub-modules included.
fn sources(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_source_names_no_delete_request() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    for path in &files {
        let text = std::fs::read_to_string(path).expect("source");
        for needle in [
            "Method::DELETE",
            ".delete(",
            "\"DELETE\"",
            "Method::from_bytes",
        ] {
            assert!(
                !text.contains(needle),
                "{} contains `{needle}`: adsync-goto must never be able to delete",
                path.display()
            );
        }
    }
    assert!(files.len() >= 10, "the scan read the crate's sources");
    assert!(
        files.iter().any(|p| p.ends_with("planner/rules.rs")),
        "the scan reads the planner's sub-modules too"
    );
}
