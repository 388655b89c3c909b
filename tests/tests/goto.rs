//! adsync-goto through the GoTo emulator: the whole account is read as seeded, every operation
//! changes it as it should and never deletes, conflicts and seat shortages land in their
//! categories, 429s and the documented rate limit are respected, tokens refresh and rotate, a
//! revoked token says to log in again, and the login flow works end to end.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adsync_core::adapter::{AdapterError, FailureCategory};
use adsync_core::secret::Secret;
use adsync_goto::login::{LoginSettings, start_login};
use adsync_goto::{
    AdminRole, Error, GotoSnapshot, GotoTarget, GotoUser, Key, MemoryTokenStore, Operation,
    RefreshTokenStore, RetryPolicy, TokenFile,
};
use adsync_tests::goto_emulator::{Fault, GotoEmulator, Route};

fn seed() -> GotoSnapshot {
    serde_yaml::from_str(include_str!("../../fixtures/goto/emulator-account.yaml"))
        .expect("the fixture parses")
}

fn key(text: &str) -> Key {
    Key::new(text).expect("a key")
}

fn keys(texts: &[&str]) -> BTreeSet<Key> {
    texts.iter().map(|t| key(t)).collect()
}

/// An account with `n` extra users holding no licence.
fn with_users(n: usize) -> GotoSnapshot {
    let mut snapshot = seed();
    for i in 0..n {
        snapshot.users.push(GotoUser {
            key: key(&(20_000 + i).to_string()),
            email: format!("user{i}@contoso.com"),
            first_name: "User".to_owned(),
            last_name: i.to_string(),
            licences: BTreeSet::new(),
            role: AdminRole::None,
            group: None,
            role_sets: BTreeSet::new(),
            status: None,
        });
    }
    snapshot
}

fn category(error: Error) -> FailureCategory {
    AdapterError::from(error).category()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_account_is_read_as_seeded() {
    let emulator = GotoEmulator::start(&seed()).await;
    let (target, _) = emulator.target();
    let read = target.read_snapshot().await.expect("a complete read");
    assert_eq!(read, emulator.snapshot());
    let ada = read.user_by_email("ADA@contoso.com").expect("ada");
    assert_eq!(ada.role, AdminRole::Full);
    assert_eq!(ada.group, Some(key("31")));
    let products: Vec<_> = read.products_of(ada).into_iter().collect();
    assert_eq!(
        products.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["G2M", "G2W"]
    );
    let grace = read.user_by_email("grace@contoso.com").expect("grace");
    assert_eq!(grace.role_sets, keys(&["901"]));
    assert!(
        read.user_by_email("linus@contoso.com")
            .expect("linus")
            .is_suspended()
    );
    let webinar = read.licences.iter().find(|l| l.key == key("5002")).unwrap();
    assert_eq!(
        (webinar.seats, webinar.user_count, webinar.free_seats()),
        (1, 1, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_read_a_page_at_a_time() {
    let emulator = GotoEmulator::start(&with_users(247)).await;
    let (target, _) = emulator.target();
    let read = target.read_snapshot().await.expect("a complete read");
    assert_eq!(read.users.len(), 250);
    assert_eq!(
        emulator.count(Route::ListUsers),
        3,
        "250 users in pages of 100"
    );
    assert_eq!(read, emulator.snapshot());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_failing_mid_read_fails_the_read() {
    let emulator = GotoEmulator::start(&with_users(247)).await;
    emulator.inject_after(
        Some(Route::ListUsers),
        1,
        Fault::Status {
            status: 500,
            body: None,
            retry_after: None,
        },
        10,
    );
    let (target, _) = emulator.target();
    let error = target.read_snapshot().await.expect_err("no partial read");
    assert!(
        matches!(error, Error::Unavailable { status: 500, .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_changes_the_account_and_nothing_is_deleted() {
    let emulator = GotoEmulator::start(&seed()).await;
    let (target, _) = emulator.target();
    let created = target
        .apply_operation(&Operation::CreateUser {
            email: "Margaret@Contoso.com".to_owned(),
            first_name: "Margaret".to_owned(),
            last_name: "Hamilton".to_owned(),
            licences: keys(&["5001"]),
            role: AdminRole::ManagerOf {
                groups: keys(&["33"]),
            },
            group: Some(key("33")),
        })
        .await
        .expect("created")
        .created
        .expect("a key");
    let operations = [
        Operation::SetLicences {
            user: key("1003"),
            email: "linus@contoso.com".to_owned(),
            before: BTreeSet::new(),
            after: keys(&["78888886011013972886849029"]),
        },
        Operation::SetRole {
            user: key("1002"),
            email: "grace@contoso.com".to_owned(),
            before: AdminRole::ManagerOf {
                groups: keys(&["32"]),
            },
            after: AdminRole::None,
        },
        Operation::MoveToGroup {
            user: key("1002"),
            email: "grace@contoso.com".to_owned(),
            from: Some(key("32")),
            to: key("31"),
        },
        Operation::Suspend {
            user: key("1001"),
            email: "ada@contoso.com".to_owned(),
            before: keys(&["5001", "5002"]),
        },
    ];
    for operation in &operations {
        target.apply_operation(operation).await.expect("applied");
    }
    let read = target.read_snapshot().await.expect("read");
    assert_eq!(read, emulator.snapshot());
    assert_eq!(read.users.len(), 4, "suspending deleted no one");
    let margaret = read.user_by_email("margaret@contoso.com").expect("created");
    assert_eq!(margaret.key, created);
    assert_eq!(margaret.licences, keys(&["5001"]));
    assert_eq!(margaret.group, Some(key("33")));
    assert_eq!(
        margaret.role,
        AdminRole::ManagerOf {
            groups: keys(&["33"])
        }
    );
    let ada = read.user_by_email("ada@contoso.com").unwrap();
    assert!(ada.is_suspended());
    assert_eq!(ada.status.as_deref(), Some("SUSPENDED"));
    assert_eq!(
        read.licences
            .iter()
            .find(|l| l.key == key("5002"))
            .unwrap()
            .free_seats(),
        1,
        "the suspended user's seat is free again"
    );
    let grace = read.user_by_email("grace@contoso.com").unwrap();
    assert_eq!(
        (grace.role.clone(), grace.group.clone()),
        (AdminRole::None, Some(key("31")))
    );
    assert_eq!(
        read.user_by_email("linus@contoso.com").unwrap().licences,
        keys(&["78888886011013972886849029"])
    );
    assert_eq!(emulator.welcome_emails(), ["margaret@contoso.com"]);
    assert_eq!(emulator.count(Route::DeleteUser), 0);
    assert!(
        emulator
            .requests()
            .iter()
            .all(|(method, _)| method != "DELETE")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppress_email_sends_no_welcome_email() {
    let emulator = GotoEmulator::start(&seed()).await;
    let store = Arc::new(MemoryTokenStore::new(Secret::new(
        emulator.grant_refresh_token(),
    )));
    let target = GotoTarget::new(adsync_goto::GotoSettings {
        suppress_email: true,
        ..emulator.settings(store)
    })
    .expect("valid");
    target
        .apply_operation(&Operation::CreateUser {
            email: "quiet@contoso.com".to_owned(),
            first_name: "Q".to_owned(),
            last_name: "Uiet".to_owned(),
            licences: keys(&["5001"]),
            role: AdminRole::None,
            group: None,
        })
        .await
        .expect("created");
    assert!(emulator.welcome_emails().is_empty());
    assert!(
        emulator
            .snapshot()
            .user_by_email("quiet@contoso.com")
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_of_another_goto_account_is_an_existing_account() {
    let emulator = GotoEmulator::start(&seed()).await;
    emulator.set_foreign_emails(&["taken@partner.example"]);
    let (target, _) = emulator.target();
    let error = target
        .apply_operation(&Operation::CreateUser {
            email: "taken@partner.example".to_owned(),
            first_name: "T".to_owned(),
            last_name: "Aken".to_owned(),
            licences: keys(&["5001"]),
            role: AdminRole::None,
            group: None,
        })
        .await
        .expect_err("conflict");
    assert!(
        error.to_string().contains("taken@partner.example"),
        "{error}"
    );
    assert_eq!(category(error), FailureCategory::ExistingAccount);
    assert_eq!(emulator.snapshot().users.len(), 3, "nothing was added");
    assert_eq!(emulator.count(Route::CreateUsers), 1, "not retried blindly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_licence_without_free_seats_is_out_of_licences() {
    let emulator = GotoEmulator::start(&seed()).await;
    let (target, _) = emulator.target();
    let add = Operation::SetLicences {
        user: key("1002"),
        email: "grace@contoso.com".to_owned(),
        before: keys(&["5001"]),
        after: keys(&["5001", "5002"]),
    };
    let error = target.apply_operation(&add).await.expect_err("no seat");
    assert!(matches!(error, Error::OutOfLicences { .. }), "{error:?}");
    assert_eq!(category(error), FailureCategory::OutOfLicenses);
    let create = Operation::CreateUser {
        email: "extra@contoso.com".to_owned(),
        first_name: "E".to_owned(),
        last_name: "Xtra".to_owned(),
        licences: keys(&["5002"]),
        role: AdminRole::None,
        group: None,
    };
    let error = target.apply_operation(&create).await.expect_err("no seat");
    assert_eq!(category(error), FailureCategory::OutOfLicenses);
    assert_eq!(emulator.snapshot(), {
        let mut fresh = GotoEmulator::start(&seed()).await.snapshot();
        fresh.normalize();
        fresh
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_429_is_waited_out() {
    let emulator = GotoEmulator::start(&seed()).await;
    emulator.inject(Some(Route::ListUsers), Fault::throttled(Some("1")), 1);
    let (target, _) = emulator.target();
    let started = Instant::now();
    let read = target.read_snapshot().await.expect("read after the 429");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(read, emulator.snapshot());
    assert_eq!(emulator.count(Route::ListUsers), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_rate_stays_under_the_documented_limit() {
    // 1,500 users: 15 pages, plus the other collections: about 20 requests in 2.5 s.
    let emulator = GotoEmulator::start(&with_users(1_497)).await;
    emulator.set_rate_limit(Some(adsync_goto::api::DOCUMENTED_RATE_PER_SECOND));
    let store = Arc::new(MemoryTokenStore::new(Secret::new(
        emulator.grant_refresh_token(),
    )));
    let target = GotoTarget::new(adsync_goto::GotoSettings {
        rate_per_second: adsync_goto::api::DEFAULT_RATE_PER_SECOND,
        ..emulator.settings(store)
    })
    .expect("valid");
    let read = target.read_snapshot().await.expect("a complete read");
    assert_eq!(read.users.len(), 1_500);
    assert_eq!(
        emulator.rate_limited(),
        0,
        "the client went over 10 requests a second"
    );

    // The same read without the limiter does trip the documented limit.
    let unlimited = GotoEmulator::start(&with_users(1_497)).await;
    unlimited.set_rate_limit(Some(adsync_goto::api::DOCUMENTED_RATE_PER_SECOND));
    let (fast, _) = unlimited.target();
    let _ = fast.read_snapshot().await;
    assert!(
        unlimited.rate_limited() > 0,
        "the emulator enforces the limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_refresh_before_expiry_and_rotated_tokens_are_kept() {
    let emulator = GotoEmulator::start(&seed()).await;
    emulator.set_rotation(true);
    emulator.set_token_lifetime(Duration::from_secs(1));
    let (target, store) = emulator.target();
    target.read_snapshot().await.expect("first read");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    target
        .read_snapshot()
        .await
        .expect("second read, after a refresh");
    assert_eq!(emulator.refreshes(), 2);
    assert_eq!(store.saves(), 2, "each rotated token was stored");
    // The stored token is the live one: a new target signs in with it.
    let again = GotoTarget::new(emulator.settings(store)).expect("valid");
    again
        .read_snapshot()
        .await
        .expect("the rotated token works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_renewed_once() {
    let emulator = GotoEmulator::start(&seed()).await;
    let (target, _) = emulator.target();
    target.read_snapshot().await.expect("first read");
    emulator.expire_access_tokens();
    target.read_snapshot().await.expect("renewed");
    assert_eq!(emulator.refreshes(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_asks_for_a_new_login() {
    let emulator = GotoEmulator::start(&seed()).await;
    let (target, _) = emulator.target();
    emulator.revoke_refresh_tokens();
    let error = target.read_snapshot().await.expect_err("revoked");
    assert!(matches!(error, Error::RefreshRevoked { .. }), "{error:?}");
    let adapted = AdapterError::from(error);
    assert!(adapted.hint.unwrap().contains("adsync goto login"));
}

fn login_settings(emulator: &GotoEmulator) -> LoginSettings {
    LoginSettings {
        client: emulator.oauth_client(),
        authorize_url: emulator.authorize_url(),
        port: 0,
        wait: Duration::from_secs(60),
        retry: RetryPolicy::immediate(2),
    }
}

/// Plays the browser: opens the authorization URL, follows its redirect to the loopback
/// listener (after a stray favicon request), and returns the listener's status.
async fn browse(authorize: &str, tamper_state: bool) -> u16 {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let consent = browser
        .get(authorize)
        .send()
        .await
        .expect("the consent screen");
    assert_eq!(consent.status().as_u16(), 302);
    let mut location = url::Url::parse(consent.headers()["location"].to_str().expect("a location"))
        .expect("a url");
    let favicon = location.join("/favicon.ico").expect("a url");
    let stray = browser.get(favicon).send().await.expect("answered");
    assert_eq!(stray.status().as_u16(), 404);
    if tamper_state {
        let pairs: Vec<(String, String)> = location
            .query_pairs()
            .map(|(k, v)| {
                let value = if k == "state" {
                    "forged".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), value)
            })
            .collect();
        location.query_pairs_mut().clear().extend_pairs(pairs);
    }
    browser
        .get(location)
        .send()
        .await
        .expect("the listener answers")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_a_refresh_token_that_signs_in() {
    let emulator = GotoEmulator::start(&seed()).await;
    let dir = std::env::temp_dir().join(format!("adsync-goto-login-{}", std::process::id()));
    let file = TokenFile::new(dir.join("goto-token.json"));
    let pending = start_login(login_settings(&emulator))
        .await
        .expect("listening");
    let url = pending.authorize_url().to_owned();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(pending.redirect_uri().starts_with("http://127.0.0.1:"));
    let finishing = tokio::spawn({
        let file = file.clone();
        async move { pending.finish(&file).await }
    });
    assert_eq!(browse(&url, false).await, 200);
    finishing.await.expect("joined").expect("signed in");
    let store = Arc::new(file.clone());
    let target = GotoTarget::new(emulator.settings(store)).expect("valid");
    assert_eq!(
        target.read_snapshot().await.expect("read"),
        emulator.snapshot()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_with_a_forged_state_stores_nothing() {
    let emulator = GotoEmulator::start(&seed()).await;
    let store = Arc::new(MemoryTokenStore::default());
    let pending = start_login(login_settings(&emulator))
        .await
        .expect("listening");
    let url = pending.authorize_url().to_owned();
    let finishing = tokio::spawn({
        let store = Arc::clone(&store);
        async move { pending.finish(store.as_ref()).await }
    });
    assert_eq!(browse(&url, true).await, 200);
    let error = finishing.await.expect("joined").expect_err("forged");
    assert!(matches!(error, Error::StateMismatch), "{error:?}");
    assert!(store.load().is_err(), "nothing stored");
    assert_eq!(
        emulator.count(Route::Token),
        0,
        "the code was never exchanged"
    );
}

mod random_plans {
    //! Random operation sequences against the stateful emulator: whatever succeeds or fails,
    //! every user the account had is still there, and no request was a DELETE.

    use proptest::prelude::*;

    use super::*;

    fn licence_sets() -> impl Strategy<Value = BTreeSet<Key>> {
        proptest::sample::subsequence(vec!["5001", "5002", "78888886011013972886849029"], 0..3)
            .prop_map(|keys| keys.into_iter().map(key).collect())
    }

    fn user() -> impl Strategy<Value = (Key, String)> {
        proptest::sample::select(vec![
            ("1001", "ada@contoso.com"),
            ("1002", "grace@contoso.com"),
            ("1003", "linus@contoso.com"),
            ("4040", "ghost@contoso.com"),
        ])
        .prop_map(|(k, e)| (key(k), e.to_owned()))
    }

    fn role() -> impl Strategy<Value = AdminRole> {
        prop_oneof![
            Just(AdminRole::None),
            Just(AdminRole::Full),
            proptest::sample::subsequence(vec!["31", "32", "99"], 1..3).prop_map(|g| {
                AdminRole::ManagerOf {
                    groups: g.into_iter().map(key).collect(),
                }
            }),
        ]
    }

    fn operation() -> impl Strategy<Value = Operation> {
        let group = proptest::sample::select(vec!["31", "32", "33", "99"]).prop_map(key);
        prop_oneof![
            (
                "[a-c]{1,2}",
                licence_sets(),
                role(),
                proptest::option::of(group.clone())
            )
                .prop_map(|(name, licences, role, group)| Operation::CreateUser {
                    email: format!("{name}@contoso.com"),
                    first_name: "N".to_owned(),
                    last_name: name,
                    licences,
                    role,
                    group,
                }),
            (user(), licence_sets()).prop_map(|((user, email), after)| {
                Operation::SetLicences {
                    user,
                    email,
                    before: BTreeSet::new(),
                    after,
                }
            }),
            (user(), role()).prop_map(|((user, email), after)| Operation::SetRole {
                user,
                email,
                before: AdminRole::None,
                after,
            }),
            (user(), group).prop_map(|((user, email), to)| Operation::MoveToGroup {
                user,
                email,
                from: None,
                to,
            }),
            user().prop_map(|(user, email)| Operation::Suspend {
                user,
                email,
                before: BTreeSet::new(),
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

        #[test]
        fn no_plan_removes_a_user(operations in proptest::collection::vec(operation(), 1..10)) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            let (before, after, requests) = runtime.block_on(async {
                let emulator = GotoEmulator::start(&seed()).await;
                let before: BTreeSet<Key> =
                    emulator.snapshot().users.into_iter().map(|u| u.key).collect();
                let (target, _) = emulator.target();
                for operation in &operations {
                    let _ = target.apply_operation(operation).await;
                }
                let after: BTreeSet<Key> =
                    emulator.snapshot().users.into_iter().map(|u| u.key).collect();
                (before, after, emulator.requests())
            });
            prop_assert!(before.is_subset(&after), "a user vanished: {:?} -> {:?}", before, after);
            prop_assert!(requests.iter().all(|(method, _)| method != "DELETE"));
        }
    }
}
