//! Issue 26: a saved plan is re-checked, not trusted. Hand edits of `plan.json` are caught by
//! its digest; edits whose digest was recomputed (anyone can hash a file) are caught by the
//! invariants `apply` checks against a fresh read, or by the HMAC of `sync.plan_signing_key`.
//! In every refused case nothing reaches Rescue (the snapshot target's file is unchanged).

use std::path::Path;

use adsync_core::plan::Plan;
use serde_json::{Value, json};

use crate::{Run, adsync, copy_fixture, repo_root};

/// The demo (snapshot source and target) with a saved plan in `plan.json`.
fn saved(name: &str, env: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = copy_fixture("demo", name);
    save(&dir, env);
    dir
}

/// `plan --out plan.json` in `dir`, which must succeed.
fn save(dir: &Path, env: &[(&str, &str)]) {
    let run = adsync(
        dir,
        &[
            "plan",
            "--config",
            "adsync.yaml",
            "--out",
            "plan.json",
            "-q",
        ],
        env,
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
}

fn read_plan(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).expect("plan.json"))
        .expect("json")
}

/// Writes `plan`; with `reseal`, the digest is recomputed as an attacker would (no key).
fn write_plan(dir: &Path, plan: &Value, reseal: bool) {
    let text = if reseal {
        let mut typed: Plan = serde_json::from_value(plan.clone()).expect("a plan");
        typed.seal(None);
        serde_json::to_string_pretty(&typed).expect("json")
    } else {
        serde_json::to_string_pretty(plan).expect("json")
    };
    std::fs::write(dir.join("plan.json"), text).expect("written");
}

fn apply(dir: &Path, env: &[(&str, &str)]) -> Run {
    adsync(dir, &["apply", "--config", "adsync.yaml", "plan.json"], env)
}

/// `apply` refuses with exit 1, names `what`, and leaves Rescue as it was.
fn assert_refused(dir: &Path, run: &Run, what: &str) {
    // Read from the fixture itself: a shared scratch copy would be remade under the feet of
    // the other tests that refuse a plan in parallel.
    let before =
        std::fs::read_to_string(repo_root().join("fixtures/demo/rescue.yaml")).expect("rescue");
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("is refused; nothing was applied"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains(what), "{what}\n{}", run.transcript());
    let after = std::fs::read_to_string(dir.join("rescue.yaml")).expect("rescue");
    assert_eq!(before, after, "Rescue was changed");
    assert!(
        !dir.join(".adsync/audit.jsonl").exists() || {
            let audit =
                std::fs::read_to_string(dir.join(".adsync/audit.jsonl")).unwrap_or_default();
            audit.trim().is_empty()
        }
    );
}

fn action_mut<'p>(plan: &'p mut Value, id: &str) -> &'p mut Value {
    plan["actions"]
        .as_array_mut()
        .expect("actions")
        .iter_mut()
        .find(|action| action["id"] == id)
        .unwrap_or_else(|| panic!("the demo plan has `{id}`"))
}

fn push(plan: &mut Value, action: Value) {
    plan["actions"]
        .as_array_mut()
        .expect("actions")
        .push(action);
    let disables = plan["summary"]["disable_user"].as_u64().unwrap_or(0);
    plan["summary"]["disable_user"] = json!(disables + 1);
}

fn disable(email: &str, node: u64, role: &str, container: &str, from: &str, name: &str) -> Value {
    let plane = if role == "technician" {
        "technician"
    } else {
        "administrator"
    };
    json!({
        "id": format!("disable_user:{plane}:{email}"),
        "kind": "disable_user",
        "role": role,
        "email": email,
        "node_id": node,
        "container": container,
        "from": from,
        "mobile": false,
        "reason": "no longer in any paired group",
        "precondition": { "parent": 2, "status": "Enabled", "mobile": false, "email": email, "name": name }
    })
}

#[test]
fn a_hand_edited_plan_is_refused_by_its_digest() {
    let dir = saved("saved-edited", &[]);
    let mut plan = read_plan(&dir);
    assert!(
        plan["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    let create = action_mut(&mut plan, "create_user:technician:tomas.novak@contoso.com");
    create["container"] = json!("master_administrators");
    create["to"] = json!("");
    create["to_node"] = json!(2);
    write_plan(&dir, &plan, false);
    assert_refused(&dir, &apply(&dir, &[]), "does not match its `digest`");
}

#[test]
fn a_create_retargeted_to_master_administrators_is_refused_by_name() {
    let dir = saved("saved-retargeted", &[]);
    let mut plan = read_plan(&dir);
    let id = "create_user:technician:tomas.novak@contoso.com";
    let create = action_mut(&mut plan, id);
    create["container"] = json!("master_administrators");
    create["to"] = json!("");
    create["to_node"] = json!(2);
    write_plan(&dir, &plan, true);
    assert_refused(
        &dir,
        &apply(&dir, &[]),
        &format!(
            "action `{id}`: `` in Master Administrators is not the destination of any technician pairing"
        ),
    );
}

#[test]
fn added_disables_of_the_protected_the_account_holder_and_the_unmanaged_are_refused() {
    for (name, action, why) in [
        (
            "protected",
            disable(
                "it-breakglass@contoso.com",
                101,
                "master_administrator",
                "master_administrators",
                "",
                "Break Glass",
            ),
            "action `disable_user:administrator:it-breakglass@contoso.com`: `it-breakglass@contoso.com` is protected",
        ),
        (
            "holder",
            disable(
                "owner@contoso.com",
                100,
                "master_administrator",
                "master_administrators",
                "",
                "Contoso Owner",
            ),
            "action `disable_user:administrator:owner@contoso.com`: node 100 is the account holder",
        ),
        (
            "unmanaged",
            disable(
                "ext.helper@contoso.com",
                400,
                "technician",
                "technicians",
                "Contractors",
                "External Helper",
            ),
            "action `disable_user:technician:ext.helper@contoso.com`: node 400 is not managed",
        ),
    ] {
        let dir = saved(&format!("saved-disable-{name}"), &[]);
        let mut plan = read_plan(&dir);
        push(&mut plan, action);
        write_plan(&dir, &plan, true);
        assert_refused(&dir, &apply(&dir, &[]), why);
    }
}

#[test]
fn blocked_null_over_a_blocked_plan_is_recomputed_and_refused() {
    let dir = copy_fixture("demo", "saved-blocked");
    let config = std::fs::read_to_string(dir.join("adsync.yaml")).expect("config");
    let config = config.replace("max_disables: \"10%\"", "max_disables: 1");
    std::fs::write(dir.join("adsync.yaml"), config).expect("written");
    save(&dir, &[]);
    let mut plan = read_plan(&dir);
    assert!(
        !plan["blocked"].is_null(),
        "the demo plan disables 4 with a budget of 1"
    );
    plan["blocked"] = Value::Null;
    write_plan(&dir, &plan, true);
    let run = apply(&dir, &[]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(
        run.stderr.contains("4 users would be disabled"),
        "{}",
        run.transcript()
    );
    let before =
        std::fs::read_to_string(copy_fixture("demo", "pristine-blocked").join("rescue.yaml"))
            .expect("rescue");
    let after = std::fs::read_to_string(dir.join("rescue.yaml")).expect("rescue");
    assert_eq!(before, after, "nothing was disabled");
}

/// Issue 26: between `plan --out` and `apply`, the node the plan disables and the node it moves
/// were given to another person (e-mail and name): both actions are skipped as drifted (exit 4),
/// the plan is not refused, and the new owners' users are left as they are.
#[test]
fn nodes_reassigned_since_the_plan_drift_instead_of_being_disabled_or_moved() {
    let dir = saved("saved-reassigned", &[]);
    let rescue = std::fs::read_to_string(dir.join("rescue.yaml")).expect("rescue");
    let edited = rescue
        .replace("name: Oscar Lindqvist\n", "name: New Hire\n")
        .replace(
            "\"oscar.lindqvist@contoso.com\"",
            "\"new.hire@contoso.com\"",
        )
        .replace("name: Hana Sato\n", "name: Other Person\n")
        .replace("\"hana.sato@contoso.com\"", "\"other.person@contoso.com\"");
    assert_ne!(edited, rescue);
    std::fs::write(dir.join("rescue.yaml"), &edited).expect("written");
    let run = apply(&dir, &[]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    for (id, node) in [
        ("disable_user:technician:oscar.lindqvist@contoso.com", 310),
        ("move_user:technician:hana.sato@contoso.com", 205),
    ] {
        assert!(run.stdout.contains(id), "{id}\n{}", run.transcript());
        assert!(
            run.stdout.contains(&format!("node {node} is now `")),
            "{}",
            run.transcript()
        );
    }
    let after = std::fs::read_to_string(dir.join("rescue.yaml")).expect("rescue");
    let snapshot: adsync_core::model::RescueSnapshot = serde_yaml::from_str(&after).expect("yaml");
    let node = |id: u64| {
        snapshot
            .nodes
            .iter()
            .find(|node| node.id.0 == id)
            .expect("node")
            .clone()
    };
    assert!(node(310).is_enabled(), "the new hire is not disabled");
    assert_eq!(
        node(205).parent.map(|p| p.0),
        Some(13),
        "the other person is not moved"
    );
}

#[test]
fn unknown_format_versions_are_refused() {
    for version in ["99.0", "banana"] {
        let dir = saved(&format!("saved-format-{version}"), &[]);
        let mut plan = read_plan(&dir);
        plan["format_version"] = json!(version);
        write_plan(&dir, &plan, true);
        assert_refused(
            &dir,
            &apply(&dir, &[]),
            &format!("`format_version` \"{version}\""),
        );
    }
}

#[test]
fn an_unsealed_plan_is_refused_with_the_way_out() {
    let dir = copy_fixture("demo", "saved-unsealed");
    let run = adsync(
        &dir,
        &["plan", "--config", "adsync.yaml", "--json", "-q"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    std::fs::write(dir.join("plan.json"), &run.stdout).expect("written");
    let run = apply(&dir, &[]);
    assert_refused(&dir, &run, "the plan is not sealed");
    assert!(
        run.stderr.contains("re-run `adsync plan --out"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_signed_plan_is_applied_with_its_key_and_refused_without_it() {
    let key = [("ADSYNC_PLAN_KEY", "correct horse battery staple")];
    let signed_config = |dir: &Path| {
        let config = std::fs::read_to_string(dir.join("adsync.yaml")).expect("config");
        let config = config.replace(
            "  state_dir: .adsync\n",
            "  state_dir: .adsync\n  plan_signing_key: { env: ADSYNC_PLAN_KEY }\n",
        );
        std::fs::write(dir.join("adsync.yaml"), config).expect("written");
    };
    // A forged plan whose digest was recomputed: the signature no longer holds.
    let dir = copy_fixture("demo", "saved-signed-forged");
    signed_config(&dir);
    save(&dir, &key);
    let mut plan = read_plan(&dir);
    let signature = plan["signature"].clone();
    assert!(
        signature
            .as_str()
            .is_some_and(|s| s.starts_with("hmac-sha256:"))
    );
    assert!(
        !std::fs::read_to_string(dir.join("plan.json"))
            .expect("plan")
            .contains("correct horse")
    );
    action_mut(&mut plan, "create_user:technician:tomas.novak@contoso.com")["user"]["name"] =
        json!("Mallory");
    write_plan(&dir, &plan, true);
    let mut forged = read_plan(&dir);
    forged["signature"] = signature;
    write_plan(&dir, &forged, false);
    assert_refused(
        &dir,
        &apply(&dir, &key),
        "does not match sync.plan_signing_key",
    );
    // Another key: refused.
    let other = [("ADSYNC_PLAN_KEY", "another key")];
    save(&dir, &key);
    assert_refused(
        &dir,
        &apply(&dir, &other),
        "does not match sync.plan_signing_key",
    );
    // The right key: applied.
    let run = apply(&dir, &key);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stderr.contains("correct horse") && !run.stdout.contains("correct horse"));
}

/// Issue 26, "a partial record is not a leaver", through the Graph and Rescue emulators: members
/// still in the paired group whose Graph record comes back with `mail` null, `""`, blank or
/// absent keep their Rescue users (the linked one, and the one whose e-mail is the member's
/// userPrincipalName); the plan warns; a member who really left is still disabled.
#[test]
fn members_without_mail_keep_their_nodes_through_the_emulators() {
    let emulated = crate::emulated::Emulated::start(
        "scenarios/member-without-mail-kept",
        "e2e-member-without-mail",
    );
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    for (email, status) in [
        ("omar.haddad@contoso.com", "Enabled"),
        ("lena.fischer@contoso.com", "Enabled"),
        ("jane.doe@contoso.com", "Enabled"),
        ("sam.gone@contoso.com", "Disabled"),
    ] {
        let nodes = emulated.users_with_email(email);
        assert_eq!(nodes.len(), 1, "{email}");
        let now = if nodes[0].is_enabled() {
            "Enabled"
        } else {
            "Disabled"
        };
        assert_eq!(now, status, "{email}\n{}", run.transcript());
    }
    assert!(
        run.stderr
            .contains("(node 101) is kept as it is, not disabled")
            && run
                .stderr
                .contains("(node 102) is kept as it is, not disabled"),
        "{}",
        run.transcript()
    );
}
