//! GoTo plan and apply end to end against the stateful emulator: `goto.rules` through core's
//! directory half and the GoTo planner, applied with the licence pre-flight. Plan → apply → plan
//! converges; out-of-licence and existing-account failures land in their categories with their
//! users; an apply killed after any number of operations converges on the next run; and over
//! random directories, rules and managed sets no code path deletes a GoTo user.

use std::collections::{BTreeMap, BTreeSet};

use adsync_core::config::Config;
use adsync_core::goto::goto_desired;
use adsync_core::model::DirectorySnapshot;
use adsync_goto::execute::{ApplyOptions, GotoReport, Status, execute};
use adsync_goto::planner::{GotoPlan, PlanInput, plan};
use adsync_goto::{GotoSnapshot, GotoTarget};
use adsync_tests::goto_emulator::{GotoEmulator, Route};

fn seed() -> GotoSnapshot {
    serde_yaml::from_str(include_str!("../../fixtures/goto/emulator-account.yaml"))
        .expect("the fixture parses")
}

/// People as `(id, e-mail)`, and the groups each belongs to.
fn directory(people: &[(&str, &str, &[&str])]) -> DirectorySnapshot {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for name in ["Meetings", "Webinars", "Voice"] {
        groups.insert(name, Vec::new());
    }
    let users: Vec<serde_json::Value> = people
        .iter()
        .map(|(id, email, member_of)| {
            for group in *member_of {
                groups.entry(group).or_default().push(id);
            }
            serde_json::json!({"id": id, "upn": email, "mail": email,
                "display_name": format!("{id} Person")})
        })
        .collect();
    let groups: Vec<serde_json::Value> = groups
        .into_iter()
        .map(|(name, members)| {
            serde_json::json!({"id": format!("g-{name}"), "display_name": name,
                "members": members})
        })
        .collect();
    serde_json::from_value(serde_json::json!({"users": users, "groups": groups}))
        .expect("a directory")
}

fn config(rules: serde_json::Value) -> Config {
    let config: Config = serde_json::from_value(serde_json::json!({
        "source": {"type": "snapshot", "path": "directory.yaml"},
        "target": {"type": "goto", "client_id": "c", "client_secret": {"env": "S"}},
        "sync": {"safety": {"max_disables": "100%", "max_moves": "100%"}},
        "goto": {"rules": rules},
    }))
    .expect("a configuration");
    config.validate().expect("valid");
    config
}

fn standard_rules() -> serde_json::Value {
    serde_json::json!([
        {"name": "webinar hosts", "entra_group": "Webinars", "products": ["G2W"],
         "admin_role": "full"},
        {"name": "meetings", "entra_group": "Meetings", "products": ["G2M"],
         "admin_role": "none", "user_group": "Support"},
        {"name": "voice", "entra_group": "Voice", "products": ["OPENVOICE"],
         "admin_role": {"manager_of": ["Sales"]}, "user_group": "Tier 2"},
    ])
}

async fn plan_now(
    target: &GotoTarget,
    directory: &DirectorySnapshot,
    config: &Config,
    managed: &BTreeSet<String>,
) -> (GotoPlan, GotoSnapshot) {
    let wanted = goto_desired(directory, config).expect("desired");
    let account = target.snapshot().await.expect("a complete read");
    let plan = plan(&wanted, &account, config, &PlanInput { managed });
    (plan, account)
}

async fn apply(target: &GotoTarget, plan: &GotoPlan, account: &GotoSnapshot) -> GotoReport {
    let options = ApplyOptions {
        concurrency: 3,
        stop: None,
    };
    execute(target, plan, account, options).await
}

/// The account's users as the rules see them: e-mail → (products, role, group), keys aside.
fn shape(account: &GotoSnapshot) -> BTreeMap<String, String> {
    account
        .users
        .iter()
        .map(|user| {
            let products: Vec<String> = account
                .products_of(user)
                .into_iter()
                .map(|p| p.as_str().to_owned())
                .collect();
            let value = format!("{products:?} {:?} {:?}", user.role, user.group);
            (user.email.clone(), value)
        })
        .collect()
}

fn people() -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    vec![
        ("ada", "ada@contoso.com", &["Meetings", "Webinars"]),
        ("nina", "nina@contoso.com", &["Meetings"]),
        ("otto", "otto@contoso.com", &["Voice"]),
        ("pia", "pia@contoso.com", &["Voice", "Meetings"]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_plan_converges() {
    let emulator = GotoEmulator::start(&seed()).await;
    let (target, _) = emulator.target();
    let directory = directory(&people());
    let config = config(standard_rules());
    let managed: BTreeSet<String> = ["grace@contoso.com".to_owned()].into();
    let (first, account) = plan_now(&target, &directory, &config, &managed).await;
    assert!(!first.is_empty());
    assert!(first.shortages.is_empty(), "{:?}", first.shortages);
    let report = apply(&target, &first, &account).await;
    assert!(report.is_complete(), "{report:#?}");
    let managed: BTreeSet<String> = managed.union(&first.managed).cloned().collect();
    let (second, _) = plan_now(&target, &directory, &config, &managed).await;
    assert!(
        second.is_empty(),
        "a second plan changes nothing: {second:#?}"
    );
    let after = emulator.snapshot();
    let shape = shape(&after);
    assert_eq!(
        shape["pia@contoso.com"], r#"["G2M", "OPENVOICE"] None Some(Key(31))"#,
        "pia: the products of both rules; role and user group of `meetings`, the first"
    );
    assert_eq!(
        shape["otto@contoso.com"],
        r#"["OPENVOICE"] ManagerOf { groups: {Key(32)} } Some(Key(33))"#
    );
    let grace = after
        .user_by_email("grace@contoso.com")
        .expect("grace is kept");
    assert!(grace.is_suspended(), "grace is suspended, never deleted");
    assert_eq!(emulator.count(Route::DeleteUser), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_licences_and_existing_accounts_are_reported_per_category_with_users() {
    let emulator = GotoEmulator::start(&seed()).await;
    emulator.set_foreign_emails(&["taken@contoso.com"]);
    let (target, _) = emulator.target();
    let directory = directory(&[
        ("w1", "w1@contoso.com", &["Webinars"]),
        ("w2", "w2@contoso.com", &["Webinars"]),
        ("taken", "taken@contoso.com", &["Voice"]),
        ("v1", "v1@contoso.com", &["Voice"]),
    ]);
    let config = config(serde_json::json!([
        {"name": "webinar hosts", "entra_group": "Webinars", "products": ["G2W"]},
        {"name": "voice", "entra_group": "Voice", "products": ["OPENVOICE"]},
    ]));
    let (plan, account) = plan_now(&target, &directory, &config, &BTreeSet::new()).await;
    let short = &plan.shortages[&adsync_goto::Key::new("5002").expect("a key")];
    assert_eq!((short.free, short.wanted), (0, 2));
    assert_eq!(short.users, ["w1@contoso.com", "w2@contoso.com"]);
    let report = apply(&target, &plan, &account).await;
    let failures = report.failures();
    let users =
        |category: &str| -> Vec<&str> { failures[category].iter().map(String::as_str).collect() };
    assert_eq!(
        users("out_of_licenses"),
        ["w1@contoso.com", "w2@contoso.com"]
    );
    assert_eq!(users("existing_account"), ["taken@contoso.com"]);
    assert_eq!(failures.len(), 2, "{failures:?}");
    let applied: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Applied)
        .map(|r| r.email.as_str())
        .collect();
    assert_eq!(applied, ["v1@contoso.com"], "what fits is applied");
    assert_eq!(
        emulator.count(Route::CreateUsers),
        2,
        "the out-of-licence users were never sent; the existing account was sent once"
    );
    let taken = report
        .results
        .iter()
        .find(|r| r.email == "taken@contoso.com")
        .expect("a result");
    assert!(
        taken.message.as_deref().unwrap_or("").contains("not retry"),
        "{taken:?}"
    );
}

/// The account a run converges to, from the seed, uninterrupted.
async fn converged(directory: &DirectorySnapshot, config: &Config) -> BTreeMap<String, String> {
    let emulator = GotoEmulator::start(&seed()).await;
    let (target, _) = emulator.target();
    let managed: BTreeSet<String> = ["grace@contoso.com".to_owned()].into();
    let (plan, account) = plan_now(&target, directory, config, &managed).await;
    let report = apply(&target, &plan, &account).await;
    assert!(report.is_complete(), "{report:#?}");
    shape(&emulator.snapshot())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_after_any_operation_converges_on_the_next_run() {
    let directory = directory(&people());
    let config = config(standard_rules());
    let expected = converged(&directory, &config).await;
    let emulator = GotoEmulator::start(&seed()).await;
    let (target, _) = emulator.target();
    let managed: BTreeSet<String> = ["grace@contoso.com".to_owned()].into();
    let (full, _) = plan_now(&target, &directory, &config, &managed).await;
    drop((emulator, target));
    for killed_after in 0..=full.operations.len() {
        let emulator = GotoEmulator::start(&seed()).await;
        let (target, _) = emulator.target();
        let (mut first, account) = plan_now(&target, &directory, &config, &managed).await;
        // The managed e-mails are written before the first operation, as the CLI does.
        let managed: BTreeSet<String> = managed.union(&first.managed).cloned().collect();
        first.operations.truncate(killed_after);
        let _ = apply(&target, &first, &account).await;
        let (rerun, account) = plan_now(&target, &directory, &config, &managed).await;
        let report = apply(&target, &rerun, &account).await;
        assert!(report.is_complete(), "after {killed_after}: {report:#?}");
        let (last, _) = plan_now(&target, &directory, &config, &managed).await;
        assert!(last.is_empty(), "after {killed_after}: {last:#?}");
        assert_eq!(
            shape(&emulator.snapshot()),
            expected,
            "after {killed_after}"
        );
        assert_eq!(emulator.count(Route::DeleteUser), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_is_found_not_sent_again() {
    let emulator = GotoEmulator::start(&seed()).await;
    emulator.inject(
        Some(Route::CreateUsers),
        adsync_tests::goto_emulator::Fault::DelayAfterApply(std::time::Duration::from_secs(5)),
        1,
    );
    let (target, _) = emulator.target();
    let directory = directory(&[("nina", "nina@contoso.com", &["Meetings"])]);
    let config = config(standard_rules());
    let (plan, account) = plan_now(&target, &directory, &config, &BTreeSet::new()).await;
    let report = apply(&target, &plan, &account).await;
    assert!(report.is_complete(), "{report:#?}");
    let (again, _) = plan_now(&target, &directory, &config, &plan.managed).await;
    assert!(again.is_empty(), "{again:#?}");
    let ninas = emulator
        .snapshot()
        .users
        .iter()
        .filter(|u| u.email == "nina@contoso.com")
        .count();
    assert_eq!(ninas, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_skips_what_changed_since_as_drifted() {
    let emulator = GotoEmulator::start(&seed()).await;
    let (target, _) = emulator.target();
    let directory = directory(&people());
    // `meetings` first: ada's role is to become none.
    let rules = standard_rules();
    let config = config(serde_json::json!([rules[1], rules[0], rules[2]]));
    let (plan, _) = plan_now(&target, &directory, &config, &BTreeSet::new()).await;
    assert!(
        plan.operations
            .iter()
            .any(|p| p.operation.email() == "ada@contoso.com"
                && matches!(p.operation, adsync_goto::Operation::SetRole { .. })),
        "{plan:#?}"
    );
    // Someone adds nina by hand and changes ada's role before the saved plan is applied.
    let by_hand = directory_with_nina_only();
    let (early, account) = plan_now(&target, &by_hand, &config, &BTreeSet::new()).await;
    let _ = apply(&target, &early, &account).await;
    let ada = emulator.snapshot();
    let ada = ada.user_by_email("ada@contoso.com").expect("ada");
    target
        .apply(&adsync_goto::Operation::SetRole {
            user: ada.key.clone(),
            email: ada.email.clone(),
            before: ada.role.clone(),
            after: adsync_goto::AdminRole::ManagerOf {
                groups: [adsync_goto::Key::new("32").expect("a key")].into(),
            },
        })
        .await
        .expect("a role change");
    let now = target.snapshot().await.expect("a read");
    let report = apply(&target, &plan, &now).await;
    let drifted: Vec<(&str, &str)> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Skipped)
        .map(|r| (r.email.as_str(), r.kind.as_str()))
        .collect();
    assert!(
        drifted.contains(&("nina@contoso.com", "create_user")),
        "{report:#?}"
    );
    assert!(
        drifted.contains(&("ada@contoso.com", "set_role")),
        "{report:#?}"
    );
    assert!(
        report
            .results
            .iter()
            .filter(|r| r.status == Status::Skipped)
            .all(|r| r
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("drifted"))),
        "{report:#?}"
    );
    let ninas = emulator
        .snapshot()
        .users
        .iter()
        .filter(|u| u.email == "nina@contoso.com")
        .count();
    assert_eq!(ninas, 1, "a drifted create is not sent");
}

fn directory_with_nina_only() -> DirectorySnapshot {
    directory(&[("nina", "nina@contoso.com", &["Meetings"])])
}

mod random_plans {
    //! Random directories, rules and managed sets, planned and applied against the emulator:
    //! whatever the plan holds and whatever fails, every user the account had is still there and
    //! no request was a DELETE.

    use proptest::prelude::*;

    use super::*;

    const EMAILS: [&str; 7] = [
        "ada@contoso.com",
        "grace@contoso.com",
        "linus@contoso.com",
        "n1@contoso.com",
        "n2@contoso.com",
        "n3@contoso.com",
        "n4@contoso.com",
    ];
    const GROUPS: [&str; 3] = ["Meetings", "Webinars", "Voice"];

    fn rule() -> impl Strategy<Value = serde_json::Value> {
        let products = proptest::sample::subsequence(vec!["G2M", "G2W", "OPENVOICE", "JIVE"], 1..3);
        let role = prop_oneof![
            Just(serde_json::Value::Null),
            Just(serde_json::json!("none")),
            Just(serde_json::json!("full")),
            Just(serde_json::json!({"manager_of": ["Sales"]})),
            Just(serde_json::json!({"manager_of": ["Nowhere"]})),
        ];
        let group = proptest::sample::select(vec!["", "Support", "Sales", "Tier 2", "Nowhere"]);
        (
            proptest::sample::select(GROUPS.to_vec()),
            products,
            role,
            group,
        )
            .prop_map(|(entra_group, products, role, group)| {
                let mut rule =
                    serde_json::json!({"entra_group": entra_group, "products": products});
                if !role.is_null() {
                    rule["admin_role"] = role;
                }
                if !group.is_empty() {
                    rule["user_group"] = serde_json::json!(group);
                }
                rule
            })
    }

    fn world() -> impl Strategy<Value = (Vec<Vec<bool>>, Vec<serde_json::Value>, Vec<bool>, u8)> {
        (
            proptest::collection::vec(proptest::collection::vec(any::<bool>(), 3), EMAILS.len()),
            proptest::collection::vec(rule(), 1..4),
            proptest::collection::vec(any::<bool>(), EMAILS.len()),
            0_u8..3,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn no_plan_deletes_a_goto_user((membership, rules, managed, rounds) in world()) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            let people: Vec<(String, String, Vec<&str>)> = EMAILS
                .iter()
                .zip(&membership)
                .map(|(email, member)| {
                    let groups = GROUPS.iter().zip(member).filter(|(_, m)| **m).map(|(g, _)| *g);
                    (email.replace('@', "-"), (*email).to_owned(), groups.collect())
                })
                .collect();
            let borrowed: Vec<(&str, &str, &[&str])> = people
                .iter()
                .map(|(id, email, groups)| (id.as_str(), email.as_str(), groups.as_slice()))
                .collect();
            let directory = directory(&borrowed);
            let rules: Vec<serde_json::Value> = rules
                .into_iter()
                .enumerate()
                .map(|(i, mut rule)| {
                    rule["name"] = serde_json::json!(format!("rule {i}"));
                    rule
                })
                .collect();
            let config = config(serde_json::Value::Array(rules));
            let managed: BTreeSet<String> = EMAILS
                .iter()
                .zip(&managed)
                .filter(|(_, m)| **m)
                .map(|(e, _)| (*e).to_owned())
                .collect();
            let (before, after, deletes) = runtime.block_on(async {
                let emulator = GotoEmulator::start(&seed()).await;
                let before: BTreeSet<String> =
                    emulator.snapshot().users.into_iter().map(|u| u.key.to_string()).collect();
                let (target, _) = emulator.target();
                for _ in 0..=rounds {
                    let (plan, account) = plan_now(&target, &directory, &config, &managed).await;
                    let _ = apply(&target, &plan, &account).await;
                }
                let after: BTreeSet<String> =
                    emulator.snapshot().users.into_iter().map(|u| u.key.to_string()).collect();
                let deletes = emulator
                    .requests()
                    .into_iter()
                    .filter(|(method, _)| method.eq_ignore_ascii_case("DELETE"))
                    .count();
                (before, after, deletes + emulator.count(Route::DeleteUser))
            });
            prop_assert_eq!(deletes, 0);
            prop_assert!(before.is_subset(&after), "users lost: {:?}", before.difference(&after));
        }
    }
}

/// Ten thousand people against an account of six thousand users: the planner's lookups are
/// indexed, the plan is what the rules say, and the suspension budget blocks it.
#[test]
fn a_large_directory_plans_against_a_large_account() {
    let people = 10_000;
    let mut users = Vec::new();
    let mut members = Vec::new();
    for i in 0..people {
        let id = format!("u{i}");
        users.push(
            serde_json::json!({"id": id, "upn": format!("p{i}@contoso.com"),
            "mail": format!("p{i}@contoso.com"), "display_name": format!("Person {i}")}),
        );
        members.push(id);
    }
    let directory: DirectorySnapshot = serde_json::from_value(serde_json::json!({
        "users": users,
        "groups": [{"id": "g", "display_name": "Meetings", "members": members}],
    }))
    .expect("a directory");
    let mut account = seed();
    account.licences[0].seats = 100_000;
    let licence = account.licences[0].key.clone();
    // Half the people already hold the licence; a thousand more users have left the directory.
    for i in (0..people).step_by(2).chain(people..people + 1_000) {
        account.users.push(adsync_goto::GotoUser {
            key: adsync_goto::Key::new(format!("{}", 100_000 + i)).expect("a key"),
            email: format!("p{i}@contoso.com"),
            first_name: "P".to_owned(),
            last_name: i.to_string(),
            licences: [licence.clone()].into(),
            role: adsync_goto::AdminRole::None,
            group: Some(adsync_goto::Key::new("31").expect("a key")),
            role_sets: BTreeSet::new(),
            status: None,
        });
    }
    let managed: BTreeSet<String> = account
        .users
        .iter()
        .filter(|u| u.email.starts_with('p'))
        .map(|u| u.email.clone())
        .collect();
    let mut config = config(serde_json::json!([
        {"name": "meetings", "entra_group": "Meetings", "products": ["G2M"], "user_group": "Support"},
    ]));
    config.sync.limits.max_members_per_group = 100_000;
    config.sync.safety =
        serde_json::from_value(serde_json::json!({"max_disables": "10%"})).expect("safety");
    let started = std::time::Instant::now();
    let wanted = goto_desired(&directory, &config).expect("desired");
    let plan = plan(&wanted, &account, &config, &PlanInput { managed: &managed });
    let took = started.elapsed();
    let counts = plan.counts();
    assert_eq!(counts.get("create_user"), Some(&5_000));
    assert_eq!(counts.get("suspend"), Some(&1_000));
    assert!(plan.blocked.is_some(), "1,000 suspensions exceed 10%");
    assert!(
        took < std::time::Duration::from_secs(30),
        "planning took {took:?}"
    );
}
