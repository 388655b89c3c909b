//! `adsync apply` over the snapshot target: convergence, guards, saved plans, the lock and the
//! state directory.

use crate::{adsync, copy_fixture, repo_root};

fn scenario_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("fixtures/scenarios"))
        .expect("scenarios")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every scenario that plans without error or guard converges through the real binary and the
/// snapshot target: apply, then plan again, and nothing is left.
#[test]
fn every_unblocked_scenario_converges_through_the_snapshot_target() {
    let mut converged = 0;
    for name in scenario_names() {
        let dir = copy_fixture(&format!("scenarios/{name}"), &format!("converge-{name}"));
        let first = adsync(
            &dir,
            &["plan", "--config", "config.yaml", "--json", "-q"],
            &[],
        );
        if first.code != 0 {
            continue; // a scenario whose plan is an error
        }
        let plan: serde_json::Value = serde_json::from_str(&first.stdout).expect("json");
        if !plan["blocked"].is_null() {
            continue;
        }
        let apply = adsync(
            &dir,
            &["apply", "--config", "config.yaml", "--yes", "-q"],
            &[],
        );
        assert_eq!(apply.code, 0, "{name}: {}", apply.transcript());
        let again = adsync(
            &dir,
            &[
                "plan",
                "--config",
                "config.yaml",
                "--detailed-exitcode",
                "-q",
            ],
            &[],
        );
        assert_eq!(
            again.code,
            0,
            "{name} did not converge: {}",
            again.transcript()
        );
        converged += 1;
    }
    assert!(converged >= 20, "only {converged} scenarios converged");
}

#[test]
fn blocked_plan_is_refused_with_3_and_nothing_changes() {
    let dir = copy_fixture("scenarios/blast-radius-exceeded-blocks", "blocked");
    let before = std::fs::read_to_string(dir.join("rescue.yaml")).expect("rescue");
    let run = adsync(&dir, &["apply", "--config", "config.yaml", "--yes"], &[]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(
        run.stderr.contains("--allow-destructive"),
        "{}",
        run.transcript()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("rescue.yaml")).expect("rescue"),
        before
    );
    assert!(
        !dir.join(".adsync/audit.jsonl").exists(),
        "nothing attempted, nothing audited"
    );

    let run = adsync(
        &dir,
        &[
            "apply",
            "--config",
            "config.yaml",
            "--yes",
            "--allow-destructive",
            "-q",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("applied 8, failed 0"),
        "{}",
        run.transcript()
    );
}

#[test]
fn empty_group_guard_needs_its_own_flag() {
    let dir = copy_fixture("scenarios/empty-group-guard-blocks", "empty-group");
    let run = adsync(
        &dir,
        &[
            "apply",
            "--config",
            "config.yaml",
            "--yes",
            "--allow-destructive",
        ],
        &[],
    );
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(
        run.stderr.contains("--allow-empty-groups"),
        "{}",
        run.transcript()
    );
    let run = adsync(
        &dir,
        &[
            "apply",
            "--config",
            "config.yaml",
            "--yes",
            "--allow-empty-groups",
            "-q",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn stale_saved_plan_skips_drifted_actions_and_exits_4() {
    let dir = copy_fixture("scenarios/disable-when-user-left-group", "stale-plan");
    let run = adsync(
        &dir,
        &[
            "plan",
            "--config",
            "config.yaml",
            "--out",
            "plan.json",
            "-q",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    // Someone disables Omar by hand after the plan was reviewed.
    let rescue = std::fs::read_to_string(dir.join("rescue.yaml")).expect("rescue");
    let edited = rescue.replacen(
        "email: \"omar.haddad@contoso.com\"\n    nick: Omar\n    ssoid: \"\"\n    description: Support engineer\n    status: Enabled",
        "email: \"omar.haddad@contoso.com\"\n    nick: Omar\n    ssoid: \"\"\n    description: Support engineer\n    status: Disabled",
        1,
    );
    assert_ne!(edited, rescue, "the fixture holds Omar as enabled");
    std::fs::write(dir.join("rescue.yaml"), edited).expect("written");
    let run = adsync(
        &dir,
        &["apply", "--config", "config.yaml", "plan.json"],
        &[],
    );
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(run.stdout.contains("drifted 1"), "{}", run.transcript());
    assert!(
        run.stdout.contains("node 101 is now Disabled"),
        "{}",
        run.transcript()
    );
}

#[test]
fn saved_plan_from_another_configuration_is_refused() {
    let dir = copy_fixture("scenarios/disable-when-user-left-group", "other-config");
    let run = adsync(
        &dir,
        &[
            "plan",
            "--config",
            "config.yaml",
            "--out",
            "plan.json",
            "-q",
        ],
        &[],
    );
    assert_eq!(run.code, 0);
    let config = std::fs::read_to_string(dir.join("config.yaml")).expect("config");
    std::fs::write(
        dir.join("config.yaml"),
        format!("{config}sync:\n  protected: [someone@contoso.com]\n"),
    )
    .expect("written");
    let run = adsync(
        &dir,
        &["apply", "--config", "config.yaml", "plan.json"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("different configuration"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_second_run_is_refused_while_the_lock_is_held_and_a_dead_holder_is_taken_over() {
    let dir = copy_fixture("scenarios/create-technician", "lock");
    std::fs::create_dir_all(dir.join(".adsync")).expect("state dir");
    // The test process itself is a live holder: it holds the OS lock on the file.
    let live = format!(
        "{{\"pid\": {}, \"started\": \"2026-11-21T10:00:00.000Z\", \"command\": \"apply\"}}",
        std::process::id()
    );
    std::fs::write(dir.join(".adsync/lock"), live).expect("lock written");
    let holder = std::fs::File::open(dir.join(".adsync/lock")).expect("opened");
    holder.lock().expect("the OS lock");
    let run = adsync(&dir, &["apply", "--config", "config.yaml", "--yes"], &[]);
    drop(holder);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        run.transcript()
    );
    assert!(
        run.stderr.contains("2026-11-21T10:00:00.000Z"),
        "{}",
        run.transcript()
    );

    // A holder that no longer runs (pids this large are not handed out on Linux).
    std::fs::write(
        dir.join(".adsync/lock"),
        "{\"pid\": 4194999, \"started\": \"2026-11-21T09:00:00.000Z\", \"command\": \"apply\"}",
    )
    .expect("lock written");
    let run = adsync(&dir, &["apply", "--config", "config.yaml", "--yes"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr.contains("taking over the lock of pid 4194999"),
        "{}",
        run.transcript()
    );
    assert!(
        !dir.join(".adsync/lock").exists(),
        "the lock is released at the end"
    );
}

#[test]
fn state_directory_records_audit_links_and_last_run() {
    let dir = copy_fixture("scenarios/changed-email-with-link-is-update", "state");
    std::fs::create_dir_all(dir.join(".adsync")).expect("state dir");
    std::fs::write(
        dir.join(".adsync/links.json"),
        "{\"technician\": {\"00000000-0000-4000-8000-000000000001\": 100}}",
    )
    .expect("links written");
    let run = adsync(
        &dir,
        &["apply", "--config", "config.yaml", "--yes", "-q"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let audit = std::fs::read_to_string(dir.join(".adsync/audit.jsonl")).expect("audit");
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["outcome"], "applied");
    assert_eq!(lines[0]["before"]["email"], "jane.doe@contoso.com");
    assert_eq!(lines[0]["after"]["email"], "jane.smith@contoso.com");
    let last: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".adsync/last-run.json")).expect("last run"),
    )
    .expect("json");
    assert_eq!(last["outcome"], "success");
    assert_eq!(last["counts"]["applied"], 1);
    let links: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".adsync/links.json")).expect("links"),
    )
    .expect("json");
    assert_eq!(
        links["technician"]["00000000-0000-4000-8000-000000000001"],
        100
    );
}
