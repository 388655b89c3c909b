//! `adsync apply` end to end through the Graph and Rescue emulators: convergence of every
//! scenario, faults injected into Rescue, saved plans that went stale, and the lock.

use std::time::Duration;

use adsync_rescue::api::{method, param};
use adsync_tests::rescue_emulator::{API_TOKEN, Fault};

use crate::emulated::{Auth, Emulated, filters, seed_links, wait_for_exit, wait_until};
use crate::{adsync, copy_fixture, repo_root};

fn scenario_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("fixtures/scenarios"))
        .expect("scenarios")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The apply's `--json` report.
fn report(run: &crate::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", run.transcript()))
}

/// `(email, category)` of every failed result, sorted.
fn failures(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut failed: Vec<(String, String)> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["outcome"] == "failed")
        .map(|r| {
            (
                r["email"].as_str().unwrap_or_default().to_owned(),
                r["category"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    failed.sort();
    failed
}

/// Asserts that a plan now finds nothing to do.
fn assert_converged(emulated: &Emulated, context: &str) {
    let run = emulated.run(&["plan", "--detailed-exitcode", "-q"]);
    assert_eq!(
        run.code,
        0,
        "{context} did not converge: {}",
        run.transcript()
    );
    emulated.assert_no_duplicate_users();
}

/// Every scenario is an error, blocked or plannable through the emulators as it is offline;
/// every one that plans without error or guard converges: apply, then plan again, and nothing
/// is left.
#[test]
fn every_unblocked_scenario_converges_through_the_emulators() {
    let mut converged = Vec::new();
    let mut refused = Vec::new();
    for name in scenario_names() {
        let fixture = format!("scenarios/{name}");
        let offline_dir = copy_fixture(&fixture, &format!("e2e-off-{name}"));
        seed_links(&fixture, &offline_dir);
        let offline = adsync(
            &offline_dir,
            &["plan", "--config", "config.yaml", "--json", "-q"],
            &[],
        );
        let emulated = Emulated::start(&fixture, &format!("e2e-conv-{name}"));
        let online = emulated.run(&["plan", "--json", "-q"]);
        assert_eq!(online.code, offline.code, "{name}: {}", online.transcript());
        if online.code != 0 {
            refused.push(name);
            continue; // a scenario whose plan is an error
        }
        // The summaries may differ: a directory snapshot file holds users outside the paired
        // groups (and their key conflicts), Graph is asked for the paired groups' members only.
        let plan = report(&online);
        assert_eq!(plan["blocked"], report(&offline)["blocked"], "{name}");
        if !plan["blocked"].is_null() {
            refused.push(name);
            continue;
        }
        let apply = emulated.run(&["apply", "--yes", "-q"]);
        assert_eq!(apply.code, 0, "{name}: {}", apply.transcript());
        assert_converged(&emulated, &name);
        converged.push(name);
    }
    assert_eq!(
        refused,
        [
            "blast-radius-exceeded-blocks",
            "empty-group-guard-blocks",
            "entra-group-ambiguous-is-error",
            "entra-group-missing-is-error",
            "mapped-empty-name-is-error",
            "member-limit-exceeded",
            "missing-rescue-group-is-error",
            "where-selecting-nobody-is-guarded",
        ],
        "only the blocked and error scenarios are left out"
    );
    assert!(converged.len() >= 25, "only {converged:?} converged");
}

/// `createUser` applied but answered `ERROR`: the adapter finds the node before sending again,
/// so every user exists once.
#[test]
fn error_after_create_user_is_applied_makes_no_duplicate() {
    let emulated = Emulated::start("demo", "e2e-fault-error-after-create");
    emulated
        .rescue
        .inject(Some(method::CREATE_USER), Fault::ErrorAfterApply, 4);
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let report = report(&run);
    assert_eq!(report["outcomes"]["applied"], 13);
    assert_eq!(
        emulated.rescue.count(method::CREATE_USER),
        4,
        "four creates, each sent once"
    );
    assert_converged(&emulated, "after ERROR on createUser");
}

/// `createUser` refused with `ERROR` on every attempt: those users fail as transient, nothing
/// half-made stays behind, everyone else is applied, and the next apply creates them.
#[test]
fn error_on_every_create_attempt_is_transient_and_the_next_apply_converges() {
    let emulated = Emulated::start("demo", "e2e-fault-error-create");
    // Four creates, three attempts each.
    emulated
        .rescue
        .inject(Some(method::CREATE_USER), Fault::Error, 12);
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    let report = report(&run);
    assert_eq!(
        failures(&report),
        [
            ("bruno.costa@contoso.com".into(), "transient".into()),
            ("tomas.novak@contoso.com".into(), "transient".into()),
            ("victor.almeida@contoso.com".into(), "transient".into()),
            ("yusuf.demir@contoso.com".into(), "transient".into()),
        ]
    );
    assert_eq!(report["outcomes"]["applied"], 9);
    assert!(
        emulated
            .users_with_email("victor.almeida@contoso.com")
            .is_empty()
    );
    let audit = emulated.read(".adsync/audit.jsonl");
    let failed: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .filter(|l: &serde_json::Value| l["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 4);
    assert!(
        failed
            .iter()
            .all(|l| l["category"] == "transient" && l["code"] == "ERROR")
    );

    let again = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert_eq!(self::report(&again)["outcomes"]["applied"], 4);
    assert_converged(&emulated, "after ERROR on every createUser");
}

/// A burst of 429s: short ones are retried away; one that outlasts the attempts fails that
/// action as transient, and the next apply converges.
#[test]
fn a_burst_of_429s_is_retried_and_what_outlasts_it_is_transient() {
    let emulated = Emulated::start("demo", "e2e-fault-429");
    let throttled = Fault::Http {
        status: 429,
        retry_after: Some("0".into()),
    };
    emulated
        .rescue
        .inject(Some(method::SET_USER), throttled.clone(), 2);
    emulated
        .rescue
        .inject(Some(method::GET_USER), throttled.clone(), 2);
    // The only move gets throttled on each of its three attempts.
    emulated
        .rescue
        .inject(Some(method::MOVE_NODE), throttled, 3);
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    let report = report(&run);
    assert_eq!(
        failures(&report),
        [("hana.sato@contoso.com".into(), "transient".into())]
    );
    assert_eq!(report["outcomes"]["applied"], 12);
    assert_eq!(emulated.rescue.count(method::MOVE_NODE), 3);

    let again = emulated.run(&["apply", "--yes"]);
    {
        let _filters = filters().bind_to_scope();
        insta::assert_snapshot!("second_apply_after_429", again.transcript());
    }
    assert_eq!(again.code, 0);
    assert_converged(&emulated, "after a burst of 429s");
}

/// Timeouts on `setUser_v2`: one applied before the answer was lost, one not applied, both
/// verified by reading the node and settled; then three in a row on one create, which fails as
/// transient and leaves no empty node behind.
#[test]
fn timeouts_on_set_user_are_verified_and_never_duplicate() {
    let emulated = Emulated::start("demo", "e2e-fault-timeout");
    // One action at a time, so the faults land on known actions; a 1 s request timeout.
    emulated.edit_config(
        "  concurrency: 4\n  retry: { max_attempts: 3, initial_backoff_ms: 1, max_backoff_ms: 5, request_timeout_s: 2 }",
        "  concurrency: 1\n  retry: { max_attempts: 3, initial_backoff_ms: 1, max_backoff_ms: 5, request_timeout_s: 1 }",
    );
    let held = Duration::from_millis(1500);
    emulated
        .rescue
        .inject(Some(method::SET_USER), Fault::TimeoutAfterApply(held), 1);
    emulated
        .rescue
        .inject(Some(method::SET_USER), Fault::Timeout(held), 1);
    emulated
        .rescue
        .inject(Some(method::SET_USER), Fault::Timeout(held), 3);
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    let report = report(&run);
    let failed = failures(&report);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].1, "transient");
    assert_eq!(report["outcomes"]["applied"], 12);
    assert!(
        emulated.users_with_email(&failed[0].0).is_empty(),
        "the empty node of the failed create is rolled back"
    );
    assert_eq!(emulated.rescue.count(method::DELETE_NODE), 1);
    emulated.assert_no_duplicate_users();

    let again = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert_eq!(self::report(&again)["outcomes"]["applied"], 1);
    assert_converged(&emulated, "after timeouts on setUser_v2");
}

/// `NOTLOGGEDIN` in the middle of an apply with password sign-in: adsync signs in once more and
/// carries on.
#[test]
fn notloggedin_mid_run_signs_in_again_and_the_apply_finishes() {
    let emulated = Emulated::start("demo", "e2e-fault-notloggedin");
    emulated.write_config(Auth::Password);
    // In the create phase, while other writes are in flight with the same authcode.
    emulated
        .rescue
        .inject(Some(method::SET_USER), Fault::NotLoggedIn, 1);
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(report(&run)["outcomes"]["applied"], 13);
    assert_eq!(
        emulated.rescue.authcodes_issued(),
        2,
        "one sign-in, and one more after NOTLOGGEDIN"
    );
    assert_converged(&emulated, "after NOTLOGGEDIN");
}

/// No free mobile licence: the add-on changes that need one fail as out_of_licenses.
#[test]
fn no_free_mobile_licence_is_out_of_licenses() {
    let emulated = Emulated::start("demo", "e2e-fault-licences");
    let in_use = emulated.rescue.mobile_licences_in_use();
    emulated.rescue.set_mobile_licences(Some(in_use));
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert_eq!(
        failures(&report(&run)),
        [
            ("bruno.costa@contoso.com".into(), "out_of_licenses".into()),
            ("gabriel.nunez@contoso.com".into(), "out_of_licenses".into()),
        ]
    );
    emulated.assert_no_duplicate_users();
    // Ivan's disable released one licence; one more makes room for both.
    emulated.rescue.set_mobile_licences(Some(in_use + 1));
    let again = emulated.run(&["apply", "--yes", "-q"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert_converged(&emulated, "after licences were bought");
}

/// A saved plan applied after Rescue changed: the drifted action is skipped and reported, the
/// others applied, exit 4.
#[test]
fn stale_saved_plan_skips_drifted_actions_and_exits_4() {
    let emulated = Emulated::start("demo", "e2e-stale-plan");
    let run = emulated.run(&["plan", "--out", "plan.json", "-q"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // Someone moves Hana to Helpdesk/L1 by hand after the plan was reviewed.
    let answer = emulated.rescue.call(
        method::MOVE_NODE,
        &[
            (param::AUTHCODE, API_TOKEN),
            (param::MOVE_NODE, "205"),
            (param::MOVE_TARGET, "11"),
        ],
    );
    assert!(answer.starts_with("OK"), "{answer}");
    emulated.rescue.reset_counts();
    let run = emulated.run(&["apply", "plan.json"]);
    {
        let _filters = filters().bind_to_scope();
        insta::assert_snapshot!(run.transcript());
    }
    assert_eq!(run.code, 4);
    assert_eq!(
        emulated.rescue.count(method::MOVE_NODE),
        0,
        "the drifted move is not sent"
    );
    let hana = emulated.users_with_email("hana.sato@contoso.com");
    assert_eq!(
        hana[0].parent.map(|p| p.0),
        Some(11),
        "left where the operator put it"
    );

    // A fresh plan moves her, as the directory still wants.
    let run = emulated.run(&["apply", "--yes", "-q"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_converged(&emulated, "after a stale plan");

    // A plan from another configuration is refused outright.
    let run = emulated.run(&["plan", "--out", "plan.json", "-q"]);
    assert_eq!(run.code, 0);
    emulated.edit_config("  protected:\n", "  protected:\n  - someone@contoso.com\n");
    let run = emulated.run(&["apply", "plan.json"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("different configuration"),
        "{}",
        run.stderr
    );
}

/// While one apply runs, a second exits 1 naming the first one's pid; the first finishes.
#[test]
fn a_second_concurrent_apply_is_refused_naming_the_first() {
    let emulated = Emulated::start("demo", "e2e-concurrent");
    emulated.rescue.set_latency(Duration::from_millis(40));
    let mut first = emulated.spawn(&["apply", "--yes", "-q"], "first");
    let lock = emulated.dir.join(".adsync/lock");
    assert!(
        wait_until(Duration::from_secs(10), || lock.exists()),
        "the first apply takes the lock"
    );
    let second = emulated.run(&["apply", "--yes"]);
    assert_eq!(second.code, 1, "{}", second.transcript());
    assert!(
        second.stderr.contains(&format!("pid {}", first.id())),
        "{}",
        second.transcript()
    );
    {
        let _filters = filters().bind_to_scope();
        insta::assert_snapshot!(second.transcript());
    }
    let status = wait_for_exit(&mut first, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", emulated.read("first.stderr"));
    assert!(!lock.exists(), "the lock is released");
    assert_converged(&emulated, "after two concurrent applies");
}

/// An apply killed with SIGKILL at several points, then run again: the stale lock is taken
/// over, the audit log holds whole JSON lines only, and Rescue converges.
#[test]
fn an_apply_killed_at_any_point_converges_on_the_next_run() {
    for after in [1, 3, 6] {
        let emulated = Emulated::start("demo", &format!("e2e-sigkill-{after}"));
        // One action at a time, each a few requests of 15 ms: about a second for the plan.
        emulated.edit_config("  concurrency: 4\n", "  concurrency: 1\n");
        emulated.rescue.set_latency(Duration::from_millis(15));
        let mut child = emulated.spawn(&["apply", "--yes", "-q"], "killed");
        let audit_lines = || emulated.read(".adsync/audit.jsonl").lines().count();
        assert!(
            wait_until(Duration::from_secs(20), || audit_lines() >= after),
            "the apply reached {after} actions: {}",
            emulated.read("killed.stderr")
        );
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reaped");
        assert_eq!(status.code(), None, "killed by a signal");
        let pid = child.id();
        let lock = emulated.read(".adsync/lock");
        assert!(
            lock.contains(&format!("\"pid\": {pid}")),
            "the dead run's lock stays: {lock}"
        );
        let audit = emulated.read(".adsync/audit.jsonl");
        assert!(audit.lines().count() < 13, "killed before the end");
        assert!(
            audit.is_empty() || audit.ends_with('\n'),
            "whole lines only"
        );

        emulated.rescue.set_latency(Duration::ZERO);
        let run = emulated.run(&["apply", "--yes"]);
        assert!(run.code == 0, "killed after {after}: {}", run.transcript());
        assert!(
            run.stderr
                .contains(&format!("taking over the lock of pid {pid}")),
            "{}",
            run.transcript()
        );
        assert_converged(&emulated, &format!("an apply killed after {after} actions"));
        // A kill between createUser and setUser_v2 left an empty node; the rerun filled it.
        assert_eq!(empty_nodes(&emulated), [], "killed after {after}");
        let audit = emulated.read(".adsync/audit.jsonl");
        for line in audit.lines() {
            let line: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(line["outcome"].is_string(), "{line}");
        }
        // The action in flight at the kill may have reached Rescue without its line: a line is
        // written when an action ends. One action at a time, so at most one is missing.
        assert!(
            audit.lines().count() >= 12,
            "every other action is in the log:\n{audit}"
        );
    }
}

/// A read that stays broken after retries means no plan: apply exits 1 and writes nothing.
#[test]
fn a_failed_read_means_no_writes() {
    let emulated = Emulated::start("demo", "e2e-failed-read");
    // A page of the groups delta round comes back cut in half.
    emulated.graph.inject(
        Some(adsync_tests::graph_emulator::RequestKind::GroupsDelta),
        adsync_tests::graph_emulator::Fault::Truncated,
        1,
    );
    let run = emulated.run(&["apply", "--yes"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .starts_with("error: failed to read the directory"),
        "{}",
        run.transcript()
    );
    assert_eq!(run.stdout, "");
    assert_eq!(
        emulated.rescue.total_requests(),
        0,
        "Rescue is not even read"
    );
    assert!(emulated.read(".adsync/audit.jsonl").is_empty());
    let record: serde_json::Value =
        serde_json::from_str(&emulated.read(".adsync/last-run.json")).expect("last-run.json");
    assert_eq!(record["outcome"], "error");

    // A Rescue read that fails after retries: the same.
    emulated
        .rescue
        .inject(Some(method::GET_USER), Fault::Body("garbage".into()), 1);
    let run = emulated.run(&["apply", "--yes"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .starts_with("error: failed to read the LogMeIn Rescue organization"),
        "{}",
        run.transcript()
    );
    for write in [method::CREATE_USER, method::SET_USER, method::MOVE_NODE] {
        assert_eq!(emulated.rescue.count(write), 0, "{write}");
    }
}

/// A plan over a guard is refused with 3 and nothing is written, until the flag is given.
#[test]
fn guards_refuse_with_3_and_write_nothing() {
    for (scenario, flag, applied) in [
        ("blast-radius-exceeded-blocks", "--allow-destructive", 8),
        ("empty-group-guard-blocks", "--allow-empty-groups", 1),
    ] {
        let emulated =
            Emulated::start(&format!("scenarios/{scenario}"), &format!("e2e-{scenario}"));
        let run = emulated.run(&["apply", "--yes"]);
        assert_eq!(run.code, 3, "{scenario}: {}", run.transcript());
        assert!(run.stderr.contains(flag), "{}", run.transcript());
        assert_eq!(emulated.rescue.count(method::SET_USER), 0, "{scenario}");
        assert!(emulated.read(".adsync/audit.jsonl").is_empty());

        let run = emulated.run(&["apply", "--yes", "--json", flag]);
        assert_eq!(run.code, 0, "{scenario}: {}", run.transcript());
        assert_eq!(report(&run)["outcomes"]["applied"], applied, "{scenario}");
    }
}

/// Users with neither name nor e-mail: what `createUser` makes before `setUser_v2` fills it.
fn empty_nodes(emulated: &Emulated) -> Vec<(u64, u64)> {
    emulated
        .rescue
        .snapshot()
        .nodes
        .into_iter()
        .filter(|node| node.name.is_empty() && node.email.as_deref().unwrap_or("").is_empty())
        .map(|node| (node.id.0, node.parent.map_or(0, |p| p.0)))
        .collect()
}

/// A run killed between `createUser` and the `setUser_v2` that fills the node leaves an empty
/// user behind; the next apply fills that node rather than leave it for good.
#[test]
fn an_empty_user_left_by_an_interrupted_create_is_filled_by_the_next_apply() {
    let emulated = Emulated::start("demo", "e2e-orphan-user");
    // As if runs had died after createUser in Administrators and in Helpdesk/L1.
    for parent in ["3", "11"] {
        let answer = emulated.rescue.call(
            method::CREATE_USER,
            &[(param::AUTHCODE, API_TOKEN), (param::PARENT, parent)],
        );
        assert!(answer.starts_with("OK"), "{answer}");
    }
    let orphans = empty_nodes(&emulated);
    assert_eq!(orphans.len(), 2, "{orphans:?}");
    emulated.rescue.reset_counts();

    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(report(&run)["outcomes"]["applied"], 13);
    assert_eq!(empty_nodes(&emulated), [], "no empty node is left");
    assert_eq!(
        emulated.rescue.count(method::CREATE_USER),
        2,
        "two of the four creates fill the empty nodes"
    );
    let victor = emulated.users_with_email("victor.almeida@contoso.com");
    assert_eq!(victor[0].id.0, orphans[0].0);
    assert_converged(&emulated, "after filling empty nodes");
}

/// The same for a group: `createGroup` made it, `setGroup` never named it.
#[test]
fn an_empty_group_left_by_an_interrupted_create_is_filled_by_the_next_apply() {
    let emulated = Emulated::start("scenarios/create-missing-groups-first", "e2e-orphan-group");
    for parent in ["3", "10"] {
        let answer = emulated.rescue.call(
            method::CREATE_GROUP,
            &[(param::AUTHCODE, API_TOKEN), (param::PARENT, parent)],
        );
        assert!(answer.starts_with("OK"), "{answer}");
    }
    let orphans = empty_nodes(&emulated);
    assert_eq!(orphans.len(), 2, "{orphans:?}");
    emulated.rescue.reset_counts();

    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(empty_nodes(&emulated), [], "no empty node is left");
    assert_eq!(
        emulated.rescue.count(method::CREATE_GROUP),
        1,
        "of EMEA, L3 and Night, only Night is made anew"
    );
    assert_converged(&emulated, "after filling empty groups");
}

/// A `createUser` answer naming a node that already exists is refused; the empty node the call
/// made goes into the target's ledger, which the end of the apply tidies: the node proven empty
/// is deleted and the state directory keeps no ledger. The next apply creates the user.
#[test]
fn an_empty_node_behind_a_lying_create_answer_is_tidied_after_the_apply() {
    let emulated = Emulated::start("demo", "e2e-orphan-ledger");
    let ledger = emulated
        .dir
        .join(".adsync")
        .join(adsync_rescue::ORPHANS_FILE);
    emulated.rescue.inject(
        Some(method::CREATE_USER),
        Fault::BodyAfterApply("OK 3".to_owned()),
        1,
    );
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert_eq!(emulated.rescue.count(method::DELETE_NODE), 1);
    assert_eq!(empty_nodes(&emulated), [], "the empty node is removed");
    assert!(!ledger.exists(), "nothing is left to remember");

    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_converged(&emulated, "after the lying create");
}

/// A corrupt ledger of empty nodes does not stop the apply: it is moved aside, never deleted.
#[test]
fn a_corrupt_empty_node_ledger_is_set_aside_and_the_apply_goes_on() {
    let emulated = Emulated::start("demo", "e2e-orphan-ledger-corrupt");
    let state = emulated.dir.join(".adsync");
    std::fs::create_dir_all(&state).expect("state directory");
    let ledger = state.join(adsync_rescue::ORPHANS_FILE);
    std::fs::write(&ledger, "{ not a list").expect("ledger written");
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!ledger.exists());
    let aside = state.join(format!("{}.corrupt", adsync_rescue::ORPHANS_FILE));
    assert_eq!(
        std::fs::read_to_string(aside).expect("set aside"),
        "{ not a list"
    );
    assert_converged(&emulated, "after setting the ledger aside");
}
