//! No secret leaves the process on any path: every command at `-vv`, on success and on each
//! failure path an operator can meet (refused credentials, missing variables, reads that fail
//! or come back malformed, writes refused with every kind of code, a guard or the lock
//! refusing, a stale saved plan, a failing service cycle). After each run, stdout, stderr and
//! every file under the folder (state directory, saved plans, workbooks unzipped, the service
//! mode's logs) are searched for every secret value, and for what the secrets buy: the Graph
//! bearer token and the Rescue authcode the emulators issued.
//!
//! `e2e_secrets` covers the success paths at `-vv` and `RUST_LOG=trace`; this suite adds the
//! commands and the failure paths it does not run.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use adsync_rescue::api::{code, method};
use adsync_tests::graph_emulator::{Fault as GraphFault, RequestKind};
use adsync_tests::rescue_emulator::Fault;

use crate::Run;
use crate::emulated::{
    Auth, DEFAULT_PASSWORD_VAR, Emulated, GRAPH_SECRET_VAR, RESCUE_PASSWORD_VAR, RESCUE_TOKEN_VAR,
    SECRETS, wait_for_exit, wait_until,
};

/// Values that grant access without being configured: the emulators' bearer tokens
/// (`emulator-token-N`) and authcodes (`emulator-authcode-N-M`).
const ISSUED: [&str; 2] = ["emulator-token-", "emulator-authcode-"];

/// Wrong but distinctive values, given on the failure paths that refuse them.
const WRONG: [&str; 3] = [
    "wrong-graph-secret-Qx71",
    "wrong-rescue-token-Vb38",
    "wrong-account-password-Kd52",
];

fn leaks(text: &str) -> Vec<&'static str> {
    SECRETS
        .iter()
        .chain(ISSUED.iter())
        .chain(WRONG.iter())
        .copied()
        .filter(|secret| text.contains(secret))
        .collect()
}

/// Every file below `dir`, workbooks unzipped (an xlsx is a zip archive).
fn files(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let name = path.display().to_string();
        if path.extension().is_some_and(|e| e == "xlsx") {
            let mut archive =
                zip::ZipArchive::new(std::io::Cursor::new(&bytes)).expect("an xlsx is a zip");
            for index in 0..archive.len() {
                let mut entry = archive.by_index(index).expect("an entry");
                let mut inflated = Vec::new();
                entry.read_to_end(&mut inflated).expect("inflated");
                out.push((
                    format!("{name}:{}", entry.name()),
                    String::from_utf8_lossy(&inflated).into_owned(),
                ));
            }
        } else {
            out.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
}

/// Asserts that neither the run's output nor any file under the folder holds a secret.
fn assert_clean(emulated: &Emulated, label: &str, run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let found = leaks(text);
        assert!(
            found.is_empty(),
            "{label}: {stream} holds {found:?}:\n{text}"
        );
    }
    let mut written = Vec::new();
    files(&emulated.dir, &mut written);
    for (name, text) in written {
        let found = leaks(&text);
        assert!(found.is_empty(), "{label}: {name} holds {found:?}:\n{text}");
    }
}

/// Runs `args` at `-vv` with `env`, expects exit `code`, and checks for leaks.
fn check(emulated: &Emulated, args: &[&str], env: &[(&str, &str)], code: i32) -> Run {
    let mut args = args.to_vec();
    args.push("-vv");
    let run = emulated.run_with(&args, env);
    assert_eq!(run.code, code, "{args:?}: {}", run.transcript());
    assert_clean(emulated, &format!("{args:?}"), &run);
    run
}

fn env_with(
    emulated: &Emulated,
    variable: &'static str,
    value: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    let mut env: Vec<_> = emulated
        .env()
        .into_iter()
        .filter(|(key, _)| *key != variable)
        .collect();
    if let Some(value) = value {
        env.push((variable, value));
    }
    env
}

/// Every command on its success path, including those `e2e_secrets` leaves out.
#[test]
fn every_command_at_vv_succeeds_without_a_leak() {
    let emulated = Emulated::start("demo", "secrets-success");
    let env = emulated.env();
    for (args, code) in [
        (&["validate"][..], 0),
        (&["validate", "--online", "--json"], 0),
        (&["groups", "search", "SG-Rescue"], 0),
        (&["groups", "members", "SG-Rescue-L2"], 0),
        (&["tree"], 0),
        (&["tree", "--json"], 0),
        (&["explain", "bruno.costa@contoso.com"], 0),
        (&["explain", "hana.sato@contoso.com", "--json"], 0),
        (&["plan", "--detailed-exitcode", "--out", "plan.json"], 2),
        (&["dry-run", "--out", "report.xlsx"], 0),
        (&["apply", "--yes"], 0),
        (&["status"], 0),
        (&["status", "--json"], 0),
        (&["completions", "bash"], 0),
    ] {
        check(&emulated, args, &env, code);
    }
    // init writes a starter beside a configuration it must not touch.
    let starter = emulated.dir.join("starter");
    std::fs::create_dir_all(&starter).expect("folder");
    check(
        &emulated,
        &["init", "--config", "starter/adsync.yaml"],
        &env,
        0,
    );
    // The same with password sign-in, which exchanges the password for an authcode.
    emulated.write_config(Auth::Password);
    for args in [
        &["validate", "--online"][..],
        &["tree"],
        &["plan", "--detailed-exitcode"],
    ] {
        check(&emulated, args, &env, 0);
    }
    assert!(emulated.rescue.authcodes_issued() >= 3);
}

/// Credentials that are wrong or missing, on every command that needs them.
#[test]
fn refused_and_missing_credentials_leak_nothing() {
    let emulated = Emulated::start("demo", "secrets-credentials");
    for (variable, value) in [
        (GRAPH_SECRET_VAR, Some(WRONG[0])),
        (RESCUE_TOKEN_VAR, Some(WRONG[1])),
        (GRAPH_SECRET_VAR, None),
        (RESCUE_TOKEN_VAR, None),
        (DEFAULT_PASSWORD_VAR, None),
    ] {
        let env = env_with(&emulated, variable, value);
        for args in [
            &["validate", "--online"][..],
            &["plan"],
            &["apply", "--yes"],
            &["dry-run", "--out", "report.xlsx"],
            &["explain", "bruno.costa@contoso.com"],
        ] {
            check(&emulated, args, &env, 1);
        }
    }
    for (variable, value) in [(GRAPH_SECRET_VAR, WRONG[0]), (RESCUE_TOKEN_VAR, WRONG[1])] {
        let env = env_with(&emulated, variable, Some(value));
        let args: &[&str] = if variable == GRAPH_SECRET_VAR {
            &["groups", "search", "SG"]
        } else {
            &["tree"]
        };
        check(&emulated, args, &env, 1);
    }

    emulated.write_config(Auth::Password);
    let env = env_with(&emulated, RESCUE_PASSWORD_VAR, Some(WRONG[2]));
    check(&emulated, &["validate", "--online"], &env, 1);
    check(&emulated, &["plan"], &env, 1);
    check(&emulated, &["tree"], &env, 1);
    // Rescue's sign-in limit, and a session that ends and cannot be renewed.
    let env = emulated.env();
    emulated.rescue.inject(
        Some(method::REQUEST_AUTH_CODE),
        Fault::Body(code::LIMIT_REACHED.into()),
        1,
    );
    check(&emulated, &["plan"], &env, 1);
    emulated
        .rescue
        .inject(Some(method::GET_HIERARCHY), Fault::NotLoggedIn, 2);
    check(&emulated, &["plan"], &env, 1);
}

/// Reads that fail or come back malformed: no plan, and nothing leaks from the error chain.
#[test]
fn failed_reads_leak_nothing() {
    let persistent = usize::MAX;
    type Inject = fn(&Emulated, usize);
    let cases: [(&str, Inject); 8] = [
        ("graph 503", |e, n| {
            e.graph.inject(
                Some(RequestKind::TransitiveMemberUsers),
                GraphFault::Unavailable,
                n,
            );
        }),
        ("graph malformed", |e, n| {
            e.graph.inject(None, GraphFault::Malformed, n);
        }),
        ("graph token truncated", |e, n| {
            e.graph
                .inject(Some(RequestKind::Token), GraphFault::Truncated, n);
        }),
        ("graph 403", |e, n| {
            e.graph.inject(None, GraphFault::Forbidden, n)
        }),
        ("graph limited information", |e, _| {
            e.graph.set_users_readable(false);
        }),
        ("rescue unknown code", |e, n| {
            e.rescue.inject(
                Some(method::GET_HIERARCHY),
                Fault::Body("SURPRISE_CODE".into()),
                n,
            );
        }),
        ("rescue truncated tree", |e, n| {
            e.rescue.inject(
                Some(method::GET_HIERARCHY),
                Fault::Body("OK\n\nNodeID:1\nParentID:9\n".into()),
                n,
            );
        }),
        ("rescue 500", |e, n| {
            e.rescue.inject(
                None,
                Fault::Http {
                    status: 500,
                    retry_after: None,
                },
                n,
            );
        }),
    ];
    for (index, (label, inject)) in cases.iter().enumerate() {
        let emulated = Emulated::start("demo", &format!("secrets-reads-{index}"));
        let env = emulated.env();
        inject(&emulated, persistent);
        for args in [
            &["plan"][..],
            &["apply", "--yes"],
            &["dry-run", "--out", "report.xlsx"],
            &["explain", "bruno.costa@contoso.com"],
        ] {
            let run = check(&emulated, args, &env, 1);
            assert!(
                run.stderr.contains("error:"),
                "{label}: {}",
                run.transcript()
            );
        }
        assert_eq!(
            emulated.rescue.count(method::CREATE_USER),
            0,
            "{label}: a failed read writes nothing"
        );
    }
}

/// Writes refused in every way while applying: the apply ends with 4, the audit log and the
/// last-run record hold the failures, and none of it holds a secret.
#[test]
fn failed_writes_leak_nothing() {
    let emulated = Emulated::start("demo", "secrets-writes");
    let env = emulated.env();
    let rescue = &emulated.rescue;
    rescue.inject(
        Some(method::CREATE_USER),
        Fault::Body(code::LIMIT_REACHED.into()),
        1,
    );
    rescue.inject(
        Some(method::SET_USER),
        Fault::Body("UNHEARD_OF_CODE".into()),
        1,
    );
    rescue.inject(
        Some(method::MOVE_NODE),
        Fault::Body(code::INVALID_SECRET_AUTHCODE.into()),
        1,
    );
    rescue.inject(Some(method::SET_USER), Fault::NotLoggedIn, 1);
    rescue.inject(
        Some(method::SET_USER),
        Fault::Body(code::INVALIDPARAM_EMAIL_ALREADY_IN_USE.into()),
        1,
    );
    rescue.set_mobile_licences(Some(rescue.mobile_licences_in_use()));
    check(&emulated, &["apply", "--yes", "--json"], &env, 4);
    let audit = emulated.read(".adsync/audit.jsonl");
    assert!(audit.contains("\"failed\""), "{audit}");
    check(&emulated, &["status"], &env, 0);

    // Password sign-in: a write refused after the one renewal, then a clean re-run.
    emulated.write_config(Auth::Password);
    rescue.set_mobile_licences(None);
    rescue.inject(Some(method::SET_USER), Fault::NotLoggedIn, 2);
    let run = emulated.run_with(&["apply", "--yes", "-vv"], &env);
    assert!(matches!(run.code, 0 | 4), "{}", run.transcript());
    assert_clean(&emulated, "password apply with NOTLOGGEDIN twice", &run);
    check(&emulated, &["apply", "--yes"], &env, 0);
}

/// A guard, the lock and a stale saved plan refuse; the refusals leak nothing either.
#[test]
fn refusals_leak_nothing() {
    let emulated = Emulated::start("demo", "secrets-refusals");
    let env = emulated.env();
    check(&emulated, &["plan", "--out", "plan.json"], &env, 0);

    // A budget of one disable: the demo's four block the plan.
    let config = emulated.read("adsync.yaml");
    let budget = config
        .lines()
        .find(|line| line.trim_start().starts_with("max_disables:"))
        .expect("the demo sets max_disables")
        .to_owned();
    let indent: String = budget.chars().take_while(|c| *c == ' ').collect();
    emulated.edit_config(&budget, &format!("{indent}max_disables: 1"));
    check(&emulated, &["apply", "--yes"], &env, 3);
    // The saved plan was made from the other configuration.
    check(&emulated, &["apply", "plan.json"], &env, 1);
    emulated.edit_config(&format!("{indent}max_disables: 1"), &budget);

    // Another run (this test process, alive) holds the lock.
    let lock = emulated.dir.join(".adsync/lock");
    std::fs::write(
        &lock,
        format!(
            "{{\"pid\": {}, \"started\": \"2026-01-01T00:00:00Z\", \"command\": \"apply\"}}",
            std::process::id()
        ),
    )
    .expect("lock written");
    let holder = std::fs::File::open(&lock).expect("opened");
    holder.lock().expect("the OS lock");
    check(&emulated, &["apply", "--yes"], &env, 1);
    drop(holder);
    std::fs::remove_file(&lock).expect("lock removed");
}

/// The service mode at `-vv`: a failed cycle, then a cycle that applies, then SIGTERM.
#[test]
fn a_service_cycle_that_fails_then_applies_leaks_nothing() {
    let emulated = Emulated::start("demo", "secrets-run");
    // The first cycle's token request fails on each of its three attempts.
    emulated
        .graph
        .inject(Some(RequestKind::Token), GraphFault::Unavailable, 3);
    let mut child = emulated.spawn(&["run", "--every", "1s", "-vv"], "run");
    let applied = wait_until(Duration::from_secs(20), || {
        emulated.read(".adsync/audit.jsonl").lines().count() >= 13
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = wait_for_exit(&mut child, Duration::from_secs(10));
    assert!(
        applied,
        "the second cycle applied: {}",
        emulated.read("run.stderr")
    );
    assert_eq!(exit.code(), Some(0), "{}", emulated.read("run.stderr"));
    let stderr = emulated.read("run.stderr");
    assert!(stderr.contains("DEBUG"), "-vv logs at debug level");
    assert!(stderr.contains("error:"), "the failed cycle is reported");
    let run = Run {
        code: 0,
        stdout: emulated.read("run.stdout"),
        stderr,
    };
    assert_clean(&emulated, "run --every 1s -vv", &run);
}
