//! The GoTo planner over `goto.rules`: creates, licence changes, roles, user groups and
//! suspensions; priority order and the licence pre-flight; protected and unmanaged users left
//! alone; what the account cannot give reported; the blast-radius guard; stable JSON.

use std::collections::BTreeSet;

use adsync_core::config::Config;
use adsync_core::goto::goto_desired;
use adsync_core::model::DirectorySnapshot;
use adsync_goto::planner::{GotoPlan, PlanInput, plan};
use adsync_goto::{AdminRole, GotoSnapshot, Key, Operation};

fn account() -> GotoSnapshot {
    serde_yaml::from_str(include_str!(
        "../../../../fixtures/goto/emulator-account.yaml"
    ))
    .expect("the fixture parses")
}

fn key(text: &str) -> Key {
    Key::new(text).expect("a key")
}

fn keys(texts: &[&str]) -> BTreeSet<Key> {
    texts.iter().map(|t| key(t)).collect()
}

fn directory(extra: &[(&str, &str)]) -> DirectorySnapshot {
    let mut users = vec![
        serde_json::json!({"id": "u-ada", "upn": "ada@contoso.com", "mail": "ada@contoso.com",
            "display_name": "Ada Lovelace"}),
        serde_json::json!({"id": "u-grace", "upn": "grace@contoso.com",
            "mail": "grace@contoso.com", "display_name": "Grace Hopper"}),
        serde_json::json!({"id": "u-new", "upn": "new@contoso.com", "mail": "New@contoso.com",
            "display_name": "Nina Newcomer", "given_name": "Nina", "surname": "Newcomer"}),
    ];
    let mut meetings = vec!["u-ada", "u-new"];
    for (id, email) in extra {
        users.push(serde_json::json!({"id": id, "upn": email, "mail": email,
            "display_name": id}));
        meetings.push(id);
    }
    serde_json::from_value(serde_json::json!({
        "users": users,
        "groups": [
            {"id": "g-meet", "display_name": "Meetings", "members": meetings},
            {"id": "g-web", "display_name": "Webinars", "members": ["u-ada"]},
            {"id": "g-voice", "display_name": "Voice", "members": ["u-new"]},
        ],
    }))
    .expect("a directory")
}

fn config(extra_sync: serde_json::Value) -> Config {
    let mut sync = serde_json::json!({});
    if let (Some(sync), Some(extra)) = (sync.as_object_mut(), extra_sync.as_object()) {
        sync.extend(extra.clone());
    }
    let config: Config = serde_json::from_value(serde_json::json!({
        "source": {"type": "snapshot", "path": "directory.yaml"},
        "target": {"type": "goto", "client_id": "c", "client_secret": {"env": "S"}},
        "sync": sync,
        "goto": {"rules": [
            {"name": "webinar hosts", "entra_group": "Webinars", "products": ["G2W"],
             "admin_role": "full"},
            {"name": "meetings", "entra_group": "Meetings", "products": ["G2M"],
             "admin_role": "none", "user_group": "Support"},
            {"name": "voice", "entra_group": "Voice", "products": ["openvoice", "JIVE"],
             "user_group": "Nowhere"},
        ]},
    }))
    .expect("a configuration");
    config.validate().expect("valid");
    config
}

fn planned(directory: &DirectorySnapshot, config: &Config, managed: &[&str]) -> GotoPlan {
    let wanted = goto_desired(directory, config).expect("desired");
    let managed: BTreeSet<String> = managed.iter().map(|e| (*e).to_owned()).collect();
    plan(
        &wanted,
        &account(),
        config,
        &PlanInput { managed: &managed },
    )
}

fn operations(plan: &GotoPlan) -> Vec<&Operation> {
    plan.operations.iter().map(|p| &p.operation).collect()
}

#[test]
fn the_rules_become_creates_suspensions_and_nothing_else() {
    let plan = planned(
        &directory(&[]),
        &config(serde_json::json!({})),
        &["grace@contoso.com"],
    );
    assert_eq!(
        operations(&plan),
        [
            &Operation::Suspend {
                user: key("1002"),
                email: "grace@contoso.com".to_owned(),
                before: keys(&["5001"]),
            },
            &Operation::CreateUser {
                email: "new@contoso.com".to_owned(),
                first_name: "Nina".to_owned(),
                last_name: "Newcomer".to_owned(),
                licences: keys(&["5001", "78888886011013972886849029"]),
                role: AdminRole::None,
                group: Some(key("31")),
            },
        ],
        "ada already holds G2M and G2W, is a full admin in Support: nothing to do"
    );
    assert_eq!(plan.operations[1].rule.as_deref(), Some("meetings"));
    assert_eq!(plan.operations[0].rule, None);
    let messages: Vec<(&str, &str)> = plan
        .unresolved
        .iter()
        .map(|u| (u.email.as_str(), u.message.as_str()))
        .collect();
    assert!(
        messages.contains(&(
            "new@contoso.com",
            "no enabled licence of the account grants product `JIVE`"
        )),
        "{messages:?}"
    );
    assert_eq!(
        messages.len(),
        1,
        "`voice` names the user group `Nowhere`, but `meetings` set one first: {messages:?}"
    );
    assert_eq!(
        plan.managed,
        ["ada@contoso.com", "grace@contoso.com", "new@contoso.com"]
            .map(str::to_owned)
            .into()
    );
    assert!(plan.blocked.is_none());
    let ids: Vec<u32> = plan.operations.iter().map(|p| p.id).collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn a_user_group_the_account_lacks_is_reported_and_the_rest_goes_ahead() {
    let mut config = config(serde_json::json!({}));
    if let Some(goto) = config.goto.as_mut() {
        goto.rules[1].user_group = Some("Nowhere".to_owned());
    }
    let plan = planned(&directory(&[]), &config, &[]);
    let nina = plan
        .unresolved
        .iter()
        .find(|u| u.email == "new@contoso.com" && u.message.contains("`Nowhere`"))
        .expect("reported");
    assert_eq!(nina.rule, "meetings");
    assert!(operations(&plan).iter().any(|op| matches!(
        op,
        Operation::CreateUser { email, group: None, .. } if email == "new@contoso.com"
    )));
}

#[test]
fn users_adsync_does_not_manage_or_protects_are_left_alone() {
    let plan = planned(&directory(&[]), &config(serde_json::json!({})), &[]);
    assert!(
        operations(&plan)
            .iter()
            .all(|op| op.email() != "grace@contoso.com" && op.email() != "linus@contoso.com"),
        "grace and linus are not managed: {plan:?}"
    );
    let protected = config(serde_json::json!({"protected": ["NEW@contoso.com"]}));
    let plan = planned(&directory(&[]), &protected, &["grace@contoso.com"]);
    assert!(
        operations(&plan)
            .iter()
            .all(|op| op.email() != "new@contoso.com")
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.message.contains("new@contoso.com is protected")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn changed_rules_change_licences_roles_and_groups_of_existing_users() {
    let mut config = config(serde_json::json!({}));
    if let Some(goto) = config.goto.as_mut() {
        goto.rules[0].products = ["G2M".to_owned()].into();
        goto.rules[0].admin_role = Some(
            serde_json::from_value(serde_json::json!({"manager_of": ["sales"]})).expect("a role"),
        );
        goto.rules[1].user_group = Some("Tier 2".to_owned());
    }
    let plan = planned(&directory(&[]), &config, &[]);
    let ada: Vec<&Operation> = operations(&plan)
        .into_iter()
        .filter(|op| op.email() == "ada@contoso.com")
        .collect();
    assert_eq!(
        ada,
        [
            &Operation::SetLicences {
                user: key("1001"),
                email: "ada@contoso.com".to_owned(),
                before: keys(&["5001", "5002"]),
                after: keys(&["5001"]),
            },
            &Operation::SetRole {
                user: key("1001"),
                email: "ada@contoso.com".to_owned(),
                before: AdminRole::Full,
                after: AdminRole::ManagerOf {
                    groups: keys(&["32"])
                },
            },
            &Operation::MoveToGroup {
                user: key("1001"),
                email: "ada@contoso.com".to_owned(),
                from: Some(key("31")),
                to: key("33"),
            },
        ]
    );
    assert_eq!(
        plan.operations[0].operation, *ada[0],
        "a change that only gives seats back goes first"
    );
}

#[test]
fn seats_are_given_in_priority_order_and_the_rest_reported_per_licence() {
    let extra = [
        ("u-b", "b@contoso.com"),
        ("u-c", "c@contoso.com"),
        ("u-a", "a@contoso.com"),
    ];
    let plan = planned(&directory(&extra), &config(serde_json::json!({})), &[]);
    let creates: Vec<&str> = operations(&plan)
        .iter()
        .filter(|op| matches!(op, Operation::CreateUser { .. }))
        .map(|op| op.email())
        .collect();
    assert_eq!(
        creates,
        [
            "a@contoso.com",
            "b@contoso.com",
            "c@contoso.com",
            "new@contoso.com"
        ]
    );
    let g2m = &plan.shortages[&key("5001")];
    assert_eq!((g2m.free, g2m.wanted), (1, 4));
    assert_eq!(
        g2m.users,
        ["b@contoso.com", "c@contoso.com", "new@contoso.com"]
    );
}

#[test]
fn too_many_suspensions_block_the_plan() {
    let config = config(serde_json::json!({"safety": {"max_disables": 0}}));
    let plan = planned(&directory(&[]), &config, &["grace@contoso.com"]);
    let blocked = plan.blocked.as_ref().expect("blocked");
    assert_eq!(
        (blocked.guard.as_str(), blocked.count, blocked.allowed),
        ("max_disables", 1, 0)
    );
    assert!(
        blocked.message.contains("--allow-destructive"),
        "{}",
        blocked.message
    );
}

#[test]
fn equal_inputs_give_byte_equal_plans_that_read_back() {
    let config = config(serde_json::json!({}));
    let one = planned(&directory(&[]), &config, &["grace@contoso.com"]);
    let two = planned(&directory(&[]), &config, &["grace@contoso.com"]);
    let json = serde_json::to_string_pretty(&one).expect("json");
    assert_eq!(json, serde_json::to_string_pretty(&two).expect("json"));
    let back: GotoPlan = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, one);
    assert!(json.contains("\"kind\": \"suspend\""), "{json}");
}

#[test]
fn a_rule_whose_group_holds_nobody_blocks_a_plan_that_suspends() {
    let config = config(serde_json::json!({}));
    let mut emptied = directory(&[]);
    for group in &mut emptied.groups {
        if group.display_name == "Voice" {
            group.members.clear();
        }
    }
    let plan = planned(&emptied, &config, &["grace@contoso.com"]);
    let blocked = plan.blocked.as_ref().expect("blocked");
    assert_eq!(blocked.guard, adsync_goto::planner::EMPTY_GROUP);
    assert_eq!(blocked.flag(), "--allow-empty-groups");
    assert!(blocked.message.contains("`voice`"), "{}", blocked.message);
    let nobody_suspended = planned(&emptied, &config, &[]);
    assert!(
        nobody_suspended.blocked.is_none(),
        "an empty group alone suspends nobody: {:?}",
        nobody_suspended.blocked
    );
}
