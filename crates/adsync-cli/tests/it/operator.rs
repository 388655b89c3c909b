//! The operator's experience (issue 20), end to end against the Graph and Rescue emulators
//! seeded with the demo organization: each command in human and JSON form, and one test per
//! defect an administrator met.

use crate::emulated::{Emulated, filters};
use crate::{adsync, repo_root, scratch};

/// Parses stdout as exactly one JSON document with a `format_version`.
fn document(run: &crate::Run) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", run.transcript()));
    assert!(
        value["format_version"].is_string(),
        "every JSON document has a format_version: {value}"
    );
    value
}

/// explain answers for the four kinds of user an administrator asks about, in human and JSON
/// form: a paired member disabled in Entra ID, a member without mail asked by object id, an
/// unmanaged Rescue user and the account holder. Each exits 0 and shows what it knows.
#[test]
fn explain_answers_for_every_kind_of_user() {
    let emulated = Emulated::start("demo", "op-explain");
    let _filters = filters().bind_to_scope();
    for (name, user) in [
        ("explain_disabled_member", "ivan.petrov@contoso.com"),
        (
            "explain_member_without_mail",
            "3f1c2a7e-5b9d-4c1e-8a2f-000000000017",
        ),
        ("explain_unmanaged_user", "ext.helper@contoso.com"),
        ("explain_account_holder", "owner@contoso.com"),
    ] {
        let run = emulated.run(&["explain", user]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        insta::assert_snapshot!(name, run.transcript());
        let json = emulated.run(&["explain", user, "--json"]);
        assert_eq!(json.code, 0, "{}", json.transcript());
        insta::assert_json_snapshot!(format!("{name}_json"), document(&json));
    }
    let run = emulated.run(&["explain", "ivan.petrov@contoso.com"]);
    assert!(
        run.stdout
            .contains("wanted as:  nothing: the account is disabled in Entra ID"),
        "not 'no paired group holds them': {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("paired in:  helpdesk-l2 (SG-Rescue-L2)")
    );
    let run = emulated.run(&["explain", "3f1c2a7e-5b9d-4c1e-8a2f-000000000017"]);
    assert!(
        run.stdout
            .contains("paired in:  helpdesk-l1 (SG-Rescue-L1)")
    );
    let run = emulated.run(&["explain", "ext.helper@contoso.com"]);
    assert!(
        run.stdout.contains("in Rescue:  node 400"),
        "{}",
        run.stdout
    );
    let run = emulated.run(&["explain", "owner@contoso.com"]);
    assert!(
        run.stdout.contains("node 100") && run.stdout.contains("the account holder"),
        "{}",
        run.stdout
    );
    // Someone neither side knows is still an error, as one JSON document with --json.
    let run = emulated.run(&["explain", "nobody@contoso.com", "--json"]);
    assert_eq!(run.code, 1);
    let error = document(&run);
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nobody@contoso.com")),
        "{error}"
    );
    insta::assert_json_snapshot!("explain_unknown_json", error);
}

/// The commands' human and JSON forms, pinned.
#[test]
fn plan_validate_tree_and_status_in_human_and_json_form() {
    let emulated = Emulated::start("demo", "op-forms");
    let _filters = filters().bind_to_scope();
    for (name, args) in [
        ("forms_plan", vec!["plan"]),
        ("forms_validate_online", vec!["validate", "--online"]),
        ("forms_tree", vec!["tree"]),
        ("forms_tree_subtree", vec!["tree", "Helpdesk/L2"]),
    ] {
        let run = emulated.run(&args);
        assert_eq!(run.code, 0, "{}", run.transcript());
        insta::assert_snapshot!(name, run.transcript());
    }
    for (name, args) in [
        ("forms_plan_json", vec!["plan", "--json"]),
        (
            "forms_validate_online_json",
            vec!["validate", "--online", "--json"],
        ),
        ("forms_tree_json", vec!["tree", "Helpdesk", "--json"]),
    ] {
        let run = emulated.run(&args);
        assert_eq!(run.code, 0, "{}", run.transcript());
        insta::assert_json_snapshot!(name, document(&run), {
            ".config_digest" => "[DIGEST]",
            ".origin.made_at" => "[TIME]",
            ".config" => "[CONFIG]",
        });
    }
    // status before any run: the human error, and a JSON document saying so.
    let run = emulated.run(&["status", "--json"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    let none = document(&run);
    assert_eq!(none["recorded"], false);
    assert!(none["last_success"].is_null());
    insta::assert_json_snapshot!("forms_status_none_json", none, { ".last_run" => "[PATH]" });

    let run = emulated.run(&["groups", "search", "SG-Rescue", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    insta::assert_json_snapshot!("forms_groups_search_json", document(&run));

    let apply = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let applied = document(&apply);
    assert_eq!(applied["outcome"], "success");
    // Creates run concurrently, so the new nodes' ids come in any order.
    insta::assert_json_snapshot!("forms_apply_json", applied, {
        ".run_id" => "[RUN_ID]",
        ".results[].node_id" => "[NODE]",
    });
    let run = emulated.run(&["status"]);
    insta::assert_snapshot!("forms_status", run.transcript());
    let run = emulated.run(&["status", "--json"]);
    assert_eq!(run.code, 0);
    let status = document(&run);
    assert_eq!(status["recorded"], true);
    assert_eq!(status["counts"]["applied"], 13);
    insta::assert_json_snapshot!("forms_status_json", status, {
        ".run_id" => "[RUN_ID]",
        ".started" => "[TIME]",
        ".finished" => "[TIME]",
        ".last_success" => "[TIME]",
    });
}

/// A refused apply with --json prints one document saying what refused it.
#[test]
fn a_refused_apply_prints_a_json_document() {
    let emulated = Emulated::start("demo", "op-refused");
    emulated.edit_config("max_disables: 10%", "max_disables: 1");
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let refused = document(&run);
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["flags"], "--allow-destructive");
    assert!(
        refused["refused"][0]
            .as_str()
            .is_some_and(|r| r.contains("max_disables")),
        "{refused}"
    );
    assert_eq!(emulated.read(".adsync/audit.jsonl"), "", "nothing applied");
    insta::assert_json_snapshot!("apply_refused_json", refused, { ".run_id" => "[RUN_ID]" });
}

/// `plan --out` says where the plan went and how to apply it; the file records when and against
/// what it was made; applying it much later warns about its age.
#[test]
fn a_saved_plan_says_how_to_apply_it_and_an_old_one_is_flagged() {
    let emulated = Emulated::start("demo", "op-saved");
    let run = emulated.run(&["plan", "--out", "plan.json", "-q"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let run = emulated.run(&["plan", "--out", "plan.json"]);
    assert!(
        run.stderr
            .ends_with("Saved the plan to plan.json; apply it with `adsync apply plan.json`\n"),
        "{}",
        run.transcript()
    );
    let mut plan: serde_json::Value =
        serde_json::from_str(&emulated.read("plan.json")).expect("plan.json");
    assert!(plan["digest"].is_string(), "a saved plan is sealed");
    assert_eq!(plan["origin"]["tenant"], "contoso.onmicrosoft.com");
    assert_eq!(plan["origin"]["organization"], "Contoso Support");
    assert!(plan["origin"]["made_at"].is_string());

    // Years old: applied, with a warning. (The file is sealed: a hand edit of `made_at` would
    // be refused, so the old plan is sealed again, as `plan --out` would have sealed it then.)
    plan["origin"]["made_at"] = "2020-01-01T00:00:00.000Z".into();
    let mut old: adsync_core::plan::Plan = serde_json::from_value(plan).expect("a plan");
    old.seal(None);
    std::fs::write(
        emulated.dir.join("plan.json"),
        serde_json::to_string(&old).expect("json"),
    )
    .expect("written");
    let run = emulated.run(&["apply", "plan.json", "--max-plan-age", "12h"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("warning: the plan `plan.json` was made ")
            && run.stderr.contains("more than --max-plan-age 12h"),
        "{}",
        run.transcript()
    );
}

/// Declining the confirmation is not a success (terraform exits 1 too); tested through the
/// pseudo-terminal suite, where stdin is a terminal. Here: without a terminal, `--yes` is
/// required and the refusal exits 1.
#[test]
fn apply_without_a_terminal_and_without_yes_exits_1() {
    let emulated = Emulated::start("demo", "op-no-yes");
    let run = emulated.run(&["apply"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("refusing to apply without confirmation")
    );
}

/// `plan` filters and its compact form.
#[test]
fn plan_filters_and_compact_summary() {
    let emulated = Emulated::start("demo", "op-filters");
    let _filters = filters().bind_to_scope();
    for (name, args) in [
        (
            "filter_only",
            vec!["plan", "--only", "create,disable", "-q"],
        ),
        (
            "filter_pairing",
            vec!["plan", "--pairing", "helpdesk-l2", "-q"],
        ),
        (
            "filter_user",
            vec!["plan", "--user", "hana.sato@contoso.com", "-q"],
        ),
        ("compact", vec!["plan", "--compact", "-q"]),
    ] {
        let run = emulated.run(&args);
        assert_eq!(run.code, 0, "{}", run.transcript());
        insta::assert_snapshot!(name, run.transcript());
    }
    let run = emulated.run(&["plan", "--only", "create,disable", "-q"]);
    let listed: Vec<&str> = run
        .stdout
        .lines()
        .take_while(|line| !line.is_empty())
        .collect();
    assert_eq!(listed.len(), 8, "4 creates and 4 disables: {}", run.stdout);
    assert!(
        listed
            .iter()
            .all(|line| line.starts_with("+ create") || line.starts_with("- disable"))
    );
    // Unknown names are errors with a suggestion.
    let run = emulated.run(&["plan", "--only", "disabel"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("did you mean `disable`?"),
        "{}",
        run.stderr
    );
    let run = emulated.run(&["plan", "--pairing", "helpdesk-l3"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("did you mean `helpdesk-l1`?")
            || run.stderr.contains("did you mean `helpdesk-l2`?"),
        "{}",
        run.stderr
    );
    let run = emulated.run(&["tree", "Helpdesk/L3"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("did you mean `Helpdesk/L"),
        "{}",
        run.stderr
    );
}

/// `validate --online` names the pairing whose Entra group is missing.
#[test]
fn validate_names_the_pairing_whose_group_is_missing() {
    let emulated = Emulated::start(
        "scenarios/entra-group-missing-is-error",
        "op-validate-missing",
    );
    let run = emulated.run(&["validate", "--online"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("FAIL Entra group of `helpdesk-l2`: no Entra group is named `SG-Rescue-L3`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ok   LogMeIn Rescue"), "{}", run.stdout);
}

/// The starter's all-zero client id and an empty pairing list are accepted, with warnings.
#[test]
fn validate_warns_about_placeholders_and_an_empty_pairing_list() {
    let dir = scratch("op-placeholders");
    let run = adsync(&dir, &["init"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let text = std::fs::read_to_string(dir.join("adsync.yaml")).expect("written");
    let start = text.find("pairings:").expect("pairings");
    std::fs::write(
        dir.join("adsync.yaml"),
        format!("{}pairings: []\n", &text[..start]),
    )
    .expect("written");
    let env = [
        ("ADSYNC_GRAPH_CLIENT_SECRET", "x"),
        ("ADSYNC_RESCUE_API_TOKEN", "y"),
        ("ADSYNC_DEFAULT_PASSWORD", "z"),
    ];
    let run = adsync(&dir, &["validate"], &env);
    assert_eq!(run.code, 0, "warnings, not errors: {}", run.transcript());
    assert!(
        run.stdout.contains(
            "warn source.client_id: `00000000-0000-0000-0000-000000000000` is the starter file's placeholder"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("warn configuration: no pairings"),
        "{}",
        run.stdout
    );
}

/// `init --config other.yaml` tells the operator to validate other.yaml, not adsync.yaml.
#[test]
fn init_names_the_file_it_wrote() {
    let dir = scratch("op-init-other");
    let run = adsync(&dir, &["--config", "other.yaml", "init"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("run `adsync --config other.yaml validate`"),
        "{}",
        run.stderr
    );
    assert!(dir.join("other.yaml").exists());
}

/// A token endpoint that refuses connections is a sign-in failure, not a group's read.
#[test]
fn an_unreachable_token_endpoint_is_not_blamed_on_a_group() {
    let emulated = Emulated::start("demo", "op-token-unreachable");
    // A port nothing listens on: bind one, note it, let it go.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let config = emulated.config_text(crate::emulated::Auth::Token);
    let graph = emulated.graph.uri();
    let config = config.replacen(
        &format!("authority_url: {graph}"),
        &format!("authority_url: http://{closed}"),
        1,
    );
    emulated.write_config_text(&config);
    let run = emulated.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("could not get an access token from Entra ID"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("could not read group"),
        "{}",
        run.stderr
    );
}

/// Configuration errors: a duplicate key at its own line, a number in words, a close name.
#[test]
fn configuration_errors_point_at_the_right_line_and_suggest() {
    let dir = scratch("op-config-errors");
    let demo = std::fs::read_to_string(repo_root().join("fixtures/demo/adsync.yaml"))
        .expect("demo config");
    let check = |text: String| {
        std::fs::write(dir.join("adsync.yaml"), text).expect("written");
        let run = adsync(&dir, &["validate"], &[]);
        assert_eq!(run.code, 1, "{}", run.transcript());
        run.stderr
    };
    let duplicate = demo.replacen(
        "  path: rescue.yaml\n",
        "  path: rescue.yaml\n  path: other.yaml\n",
        1,
    );
    let line = duplicate
        .lines()
        .position(|l| l == "  path: other.yaml")
        .expect("the duplicate")
        + 1;
    let stderr = check(duplicate);
    assert!(
        stderr.contains(&format!("duplicate key `path` at line {line}")),
        "{stderr}"
    );
    let stderr = check(demo.replacen("target:\n", "target:\n  concurrency: -2\n", 1));
    assert!(
        stderr.contains("expected a whole number, 0 or more"),
        "{stderr}"
    );
    assert!(!stderr.contains("usize"), "{stderr}");
    let stderr = check(demo.replacen("role: technician", "role: technican", 1));
    assert!(stderr.contains("did you mean `technician`?"), "{stderr}");
    let stderr = check(demo.replacen("pairings:", "pairngs:", 1));
    assert!(stderr.contains("did you mean `pairings`?"), "{stderr}");
}

/// `--every 15` has no unit: refused with both readings, never taken as seconds.
#[test]
fn an_interval_without_a_unit_is_refused() {
    let dir = scratch("op-every");
    let config = repo_root().join("fixtures/demo/adsync.yaml");
    let config = config.to_str().expect("utf-8 path");
    let run = adsync(&dir, &["--config", config, "run", "--every", "15"], &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("--every `15` has no unit")
            && run.stderr.contains("`15s`")
            && run.stderr.contains("`15m`"),
        "{}",
        run.stderr
    );
}

/// Every command's --help has examples; apply's names its exit codes.
#[test]
fn every_command_has_examples_and_apply_lists_its_exit_codes() {
    let dir = scratch("op-help");
    for command in [
        "plan",
        "apply",
        "dry-run",
        "run",
        "validate",
        "groups",
        "tree",
        "explain",
        "status",
        "init",
        "completions",
        "goto",
    ] {
        let run = adsync(&dir, &[command, "--help"], &[]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        assert!(
            run.stdout.contains("Examples:\n  adsync "),
            "`adsync {command} --help` has examples: {}",
            run.stdout
        );
    }
    let run = adsync(&dir, &["apply", "--help"], &[]);
    for code in ["0  applied", "1  error", "3  refused", "4  finished"] {
        assert!(run.stdout.contains(code), "{code}: {}", run.stdout);
    }
}

/// Logging levels: `-v` adds adsync's own progress to `plan`; `-vv` adds adsync's request
/// lines (method, path without query, status, duration) and no connection-pool noise; the
/// libraries' debug lines come only with `-vvv`.
#[test]
fn verbosity_shows_adsync_first_and_library_noise_last() {
    let emulated = Emulated::start("demo", "op-verbosity");
    let quiet = emulated.run(&["plan"]);
    assert!(!quiet.stderr.contains(" INFO "), "{}", quiet.stderr);
    let v = emulated.run(&["-v", "plan"]);
    assert!(v.stderr.contains("read the directory"), "{}", v.stderr);
    assert!(v.stderr.contains("planned"), "{}", v.stderr);
    let vv = emulated.run(&["-vv", "plan"]);
    assert!(
        vv.stderr.lines().any(|l| l.contains("GET /v1.0/groups")
            && l.contains("status=200")
            && l.contains("ms=")),
        "{}",
        vv.stderr
    );
    assert!(
        vv.stderr
            .lines()
            .any(|l| l.contains("POST /API/getHierarchy_v2.aspx") && l.contains("status=200")),
        "{}",
        vv.stderr
    );
    assert!(
        !vv.stderr.contains("$select"),
        "no query strings: {}",
        vv.stderr
    );
    for noise in ["hyper", "reqwest::", "rustls", "pool"] {
        assert!(!vv.stderr.contains(noise), "{noise} at -vv: {}", vv.stderr);
    }
    let vvv = emulated.run(&["-vvv", "plan"]);
    assert!(
        vvv.stderr.contains("hyper") || vvv.stderr.contains("reqwest"),
        "libraries speak at -vvv: {}",
        vvv.stderr.len()
    );
    for secret in crate::emulated::SECRETS {
        assert!(!vvv.stderr.contains(secret), "a secret in the debug log");
    }
}
