//! Issues 25 and 26 for a GoTo target, through the GoTo emulator: a saved GoTo plan is sealed
//! like Rescue's and re-checked, not trusted. A hand edit is caught by the digest; an edit whose
//! digest was recomputed is caught by the invariants (checked against fresh reads of the
//! directory, the account and `goto-managed.json`) or by the HMAC of `sync.plan_signing_key`.
//! In every refused case nothing is written to the account and nothing is audited.

use adsync_core::plan::Sealed;
use adsync_goto::planner::GotoPlan;
use adsync_tests::goto_emulator::Route;
use serde_json::{Value, json};

use crate::Run;
use crate::e2e_goto::Goto;

/// The GoTo fixture with `grace@contoso.com` managed and a saved plan in `plan.json`.
fn saved(name: &str, env: &[(&str, &str)]) -> Goto {
    let goto = Goto::start(name);
    std::fs::write(
        goto.dir.join(".adsync/goto-managed.json"),
        r#"["grace@contoso.com"]"#,
    )
    .expect("managed");
    save(&goto, env);
    goto
}

fn save(goto: &Goto, env: &[(&str, &str)]) {
    let run = goto.run_with(&["plan", "--out", "plan.json", "-q"], env);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

fn read_plan(goto: &Goto) -> Value {
    let text = std::fs::read_to_string(goto.dir.join("plan.json")).expect("plan.json");
    serde_json::from_str(&text).expect("json")
}

/// Writes `plan`; with `reseal`, the digest is recomputed as an attacker would (no key).
fn write_plan(goto: &Goto, plan: &Value, reseal: bool) {
    let text = if reseal {
        let mut typed: GotoPlan = serde_json::from_value(plan.clone()).expect("a goto plan");
        typed.seal(None);
        serde_json::to_string_pretty(&typed).expect("json")
    } else {
        serde_json::to_string_pretty(plan).expect("json")
    };
    std::fs::write(goto.dir.join("plan.json"), text).expect("written");
}

/// Exit 1, the refusal naming `what`, no write to the account, nothing audited.
fn assert_refused(goto: &Goto, run: &Run, what: &str) {
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("is refused; nothing was applied"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains(what), "{what}\n{}", run.transcript());
    for route in [Route::CreateUsers, Route::UpdateUser, Route::DeleteUser] {
        assert_eq!(
            goto.emulator.count(route),
            0,
            "{route:?}: {}",
            run.transcript()
        );
    }
    let audit = std::fs::read_to_string(goto.dir.join(".adsync/audit.jsonl")).unwrap_or_default();
    assert!(audit.trim().is_empty(), "{audit}");
}

fn push(plan: &mut Value, operation: Value) {
    let operations = plan["operations"].as_array_mut().expect("operations");
    let id = operations.len() + 100;
    operations.push(json!({ "id": id, "operation": operation }));
}

/// The operation of `kind` for `email` in the plan.
fn operation_mut<'p>(plan: &'p mut Value, kind: &str, email: &str) -> &'p mut Value {
    plan["operations"]
        .as_array_mut()
        .expect("operations")
        .iter_mut()
        .map(|planned| &mut planned["operation"])
        .find(|op| op["kind"] == kind && op["email"] == email)
        .unwrap_or_else(|| panic!("no {kind} of {email}"))
}

#[test]
fn a_hand_edited_goto_plan_is_refused_by_its_digest_by_apply_and_dry_run() {
    let goto = saved("goto-saved-edited", &[]);
    let mut plan = read_plan(&goto);
    assert!(
        plan["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    operation_mut(&mut plan, "create_user", "nina@contoso.com")["first_name"] = json!("Mallory");
    write_plan(&goto, &plan, false);
    let run = goto.run(&["apply", "plan.json"]);
    assert_refused(&goto, &run, "does not match its `digest`");
    assert!(
        run.stderr.contains("re-run `adsync plan --out"),
        "{}",
        run.transcript()
    );
    let dry = goto.run(&["dry-run", "--plan", "plan.json", "--out", "review.xlsx"]);
    assert_refused(&goto, &dry, "does not match its `digest`");
    // Unsealed (the `--json` output saved by hand): refused with the way out.
    let json = goto.run(&["plan", "--json", "-q"]);
    std::fs::write(goto.dir.join("plan.json"), &json.stdout).expect("written");
    assert_refused(
        &goto,
        &goto.run(&["apply", "plan.json"]),
        "the plan is not sealed",
    );
    // An unknown format: refused.
    let mut plan = read_plan(&goto);
    plan["format_version"] = json!("2.0");
    write_plan(&goto, &plan, true);
    assert_refused(
        &goto,
        &goto.run(&["apply", "plan.json"]),
        "`format_version` \"2.0\"",
    );
}

#[test]
fn forged_goto_operations_with_a_recomputed_digest_are_refused_by_the_invariants() {
    let goto = saved("goto-saved-forged", &[]);
    let pristine = read_plan(&goto);
    let forgeries: Vec<(Value, &str)> = vec![
        (
            json!({ "kind": "suspend", "user": "1001", "email": "ada@contoso.com",
                    "before": ["5002"] }),
            "(suspend ada@contoso.com): adsync does not manage ada@contoso.com",
        ),
        (
            json!({ "kind": "set_licences", "user": "1001", "email": "ada@contoso.com",
                    "before": ["5002"], "after": ["5002", "9999"] }),
            "gives licence 9999 granting no product a goto rule grants",
        ),
        (
            json!({ "kind": "move_to_group", "user": "1001", "email": "ada@contoso.com",
                    "from": null, "to": "33" }),
            "moves the user to user group 33, which no goto rule sets",
        ),
        (
            json!({ "kind": "set_role", "user": "1001", "email": "ada@contoso.com",
                    "before": "none", "after": "full" }),
            "sets an admin role no goto rule sets",
        ),
        (
            json!({ "kind": "create_user", "email": "it-breakglass@contoso.com",
                    "first_name": "B", "last_name": "G", "licences": ["5001"] }),
            "it-breakglass@contoso.com is protected",
        ),
        (
            json!({ "kind": "create_user", "email": "mallory@contoso.com",
                    "first_name": "M", "last_name": "E", "licences": ["5001"] }),
            "no goto rule selects mallory@contoso.com",
        ),
    ];
    for (operation, what) in forgeries {
        let mut plan = pristine.clone();
        push(&mut plan, operation);
        write_plan(&goto, &plan, true);
        assert_refused(&goto, &goto.run(&["apply", "plan.json"]), what);
    }
    // `blocked: null` over a plan the budget blocks: recomputed, and refused.
    let config = goto.dir.join("adsync.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace("max_disables: \"10%\"", "max_disables: 0"),
    )
    .expect("written");
    save(&goto, &[]);
    let mut plan = read_plan(&goto);
    assert!(plan["blocked"].is_object(), "{plan:#}");
    plan["blocked"] = Value::Null;
    write_plan(&goto, &plan, true);
    let run = goto.run(&["apply", "plan.json"]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(
        run.stderr.contains("--allow-destructive"),
        "{}",
        run.transcript()
    );
    assert_eq!(goto.emulator.count(Route::UpdateUser), 0);
}

#[test]
fn a_signed_goto_plan_is_applied_with_its_key_and_refused_without_it() {
    let key = [("ADSYNC_PLAN_KEY", "correct horse battery staple")];
    let goto = Goto::start("goto-saved-signed");
    let config = goto.dir.join("adsync.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace(
            "  state_dir: .adsync\n",
            "  state_dir: .adsync\n  plan_signing_key: { env: ADSYNC_PLAN_KEY }\n",
        ),
    )
    .expect("written");
    save(&goto, &key);
    let mut plan = read_plan(&goto);
    let signature = plan["signature"].clone();
    assert!(
        signature
            .as_str()
            .is_some_and(|s| s.starts_with("hmac-sha256:"))
    );
    let text = std::fs::read_to_string(goto.dir.join("plan.json")).expect("plan");
    assert!(!text.contains("correct horse"));
    // A forged plan whose digest was recomputed: the signature no longer holds.
    operation_mut(&mut plan, "create_user", "nina@contoso.com")["first_name"] = json!("Mallory");
    write_plan(&goto, &plan, true);
    let mut forged = read_plan(&goto);
    forged["signature"] = signature;
    write_plan(&goto, &forged, false);
    let run = goto.run_with(&["apply", "plan.json"], &key);
    assert_refused(&goto, &run, "does not match sync.plan_signing_key");
    // Another key, then the right one.
    save(&goto, &key);
    let other = [("ADSYNC_PLAN_KEY", "another key")];
    let run = goto.run_with(&["apply", "plan.json"], &other);
    assert_refused(&goto, &run, "does not match sync.plan_signing_key");
    let run = goto.run_with(&["apply", "plan.json"], &key);
    assert_eq!(
        run.code,
        4,
        "nina and pia are out of licences: {}",
        run.transcript()
    );
    assert!(
        goto.emulator.count(Route::CreateUsers) > 0,
        "{}",
        run.transcript()
    );
    assert!(!run.stderr.contains("correct horse") && !run.stdout.contains("correct horse"));
}
