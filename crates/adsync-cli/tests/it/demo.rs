//! `adsync plan` on the bundled offline demo.

use crate::{adsync, repo_root};

#[test]
fn plan_prints_a_diff_and_summary() {
    let run = adsync(
        &repo_root(),
        &["plan", "--config", "fixtures/demo/adsync.yaml"],
        &[],
    );
    insta::assert_snapshot!(run.transcript());
    assert_eq!(run.code, 0);
}

#[test]
fn detailed_exitcode_reports_pending_changes_with_2() {
    let run = adsync(
        &repo_root(),
        &[
            "plan",
            "--config",
            "fixtures/demo/adsync.yaml",
            "--detailed-exitcode",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
}

#[test]
fn config_is_found_through_adsync_config_from_any_folder() {
    let config = repo_root().join("fixtures/demo/adsync.yaml");
    let elsewhere = crate::scratch("demo-elsewhere");
    let run = adsync(
        &elsewhere,
        &["plan", "-q"],
        &[("ADSYNC_CONFIG", config.to_str().expect("utf-8 path"))],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("to create"), "{}", run.transcript());
    assert_eq!(run.stderr, "", "-q keeps stderr quiet");
}

#[test]
fn json_follows_the_plan_format() {
    let run = adsync(
        &repo_root(),
        &["plan", "--config", "fixtures/demo/adsync.yaml", "--json"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let plan: serde_json::Value =
        serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(plan["format_version"], "1.0");
    assert!(plan["blocked"].is_null());
    for key in [
        "create_user",
        "move_user",
        "update_user",
        "enable_user",
        "set_mobile_license",
        "disable_user",
        "create_group",
        "unchanged",
    ] {
        assert!(plan["summary"][key].is_u64(), "summary.{key} is a count");
    }
    for warning in plan["warnings"].as_array().expect("warnings is an array") {
        assert!(warning["kind"].is_string() && warning["message"].is_string());
    }
    let actions = plan["actions"].as_array().expect("actions is an array");
    assert!(!actions.is_empty());
    let phases = [
        "create_group",
        "create_user",
        "move_user",
        "update_user",
        "enable_user",
        "set_mobile_license",
        "disable_user",
    ];
    let mut last = 0;
    for action in actions {
        for key in ["id", "kind", "reason", "precondition"] {
            assert!(!action[key].is_null(), "every action has `{key}`: {action}");
        }
        let phase = phases
            .iter()
            .position(|p| action["kind"] == *p)
            .expect("a known kind");
        assert!(phase >= last, "actions are in phase order");
        last = phase;
        assert!(action["email"].is_string() && action["role"].is_string());
        match action["kind"].as_str() {
            Some("move_user") => assert!(action["from"].is_string() && action["to"].is_string()),
            Some("create_user") => assert!(action["to"].is_string()),
            Some("update_user") => {
                let changes = action["changes"].as_object().expect("changes");
                assert!(
                    changes
                        .values()
                        .all(|c| c["old"].is_string() && c["new"].is_string())
                );
            }
            Some("set_mobile_license") => assert!(action["mobile"].is_boolean()),
            _ => {}
        }
    }
    // When and against what the plan was made; the time changes with every run.
    assert!(plan["origin"]["made_at"].is_string(), "{}", plan["origin"]);
    assert_eq!(plan["origin"]["organization"], "Contoso Support");
    insta::assert_json_snapshot!(plan, {
        ".config_digest" => "[digest]",
        ".origin.made_at" => "[TIME]",
    });
}

#[test]
fn saved_plan_is_the_json_document() {
    let dir = crate::scratch("demo-out");
    let out = dir.join("plan.json");
    let config = repo_root().join("fixtures/demo/adsync.yaml");
    let run = adsync(
        &dir,
        &[
            "plan",
            "-q",
            "--config",
            config.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("plan.json written"))
            .expect("JSON");
    assert_eq!(saved["format_version"], "1.0");
    assert!(
        saved["config_digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
}

#[test]
fn usage_errors_exit_1_not_2() {
    let run = adsync(&repo_root(), &["plan", "--no-such-flag"], &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    let run = adsync(&repo_root(), &["--help"], &[]);
    assert_eq!(run.code, 0);
}
