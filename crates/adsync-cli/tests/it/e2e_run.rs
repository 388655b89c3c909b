//! `adsync run --every`, the service mode, end to end against the emulators: cycles, a failed
//! cycle followed by a good one, SIGTERM, and `last-run.json` as monitors read it.

use std::time::Duration;

use adsync_rescue::api::method;
use adsync_tests::rescue_emulator::Fault;

use crate::emulated::{Emulated, filters, wait_for_exit, wait_until};

pub(crate) fn terminate(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "SIGTERM was delivered");
}

fn last_run(emulated: &Emulated) -> serde_json::Value {
    serde_json::from_str(&emulated.read(".adsync/last-run.json")).unwrap_or_default()
}

/// A failed first cycle is reported and the next one still runs and applies; later cycles
/// find nothing to do; SIGTERM between cycles exits 0.
#[test]
fn run_every_second_retries_a_failed_cycle_applies_and_stops_on_sigterm() {
    let emulated = Emulated::start("demo", "e2e-run");
    // The first cycle's read of the tree fails on each of its three attempts.
    emulated.rescue.inject(
        Some(method::GET_HIERARCHY),
        Fault::Http {
            status: 503,
            retry_after: None,
        },
        3,
    );
    let mut child = emulated.spawn(&["run", "--every", "1s"], "run");

    let mut outcomes = Vec::new();
    let mut seen = String::new();
    let observed = wait_until(Duration::from_secs(20), || {
        let record = last_run(&emulated);
        if let Some(run_id) = record["run_id"].as_str()
            && run_id != seen
        {
            seen = run_id.to_owned();
            outcomes.push(record["outcome"].as_str().unwrap_or_default().to_owned());
        }
        // A failed cycle, the cycle that applies, and one that finds nothing to do.
        emulated.rescue.count(method::GET_HIERARCHY) >= 3 + 2 && outcomes.len() >= 3
    });
    assert!(
        observed,
        "three cycles within 20 s; seen {outcomes:?}: {}",
        emulated.read("run.stderr")
    );
    terminate(&child);
    let status = wait_for_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", emulated.read("run.stderr"));

    assert_eq!(outcomes[..3], ["error", "success", "success"]);
    let record = last_run(&emulated);
    assert_eq!(record["command"], "run");
    assert_eq!(record["outcome"], "success");
    assert!(record["last_success"].is_string());
    assert_eq!(
        emulated.read(".adsync/audit.jsonl").lines().count(),
        13,
        "the demo is applied once"
    );
    assert!(
        !emulated.dir.join(".adsync/lock").exists(),
        "the lock is released"
    );
    let stderr = emulated.read("run.stderr");
    assert!(
        stderr.contains("error: failed to read the LogMeIn Rescue organization"),
        "the failed cycle is reported: {stderr}"
    );
    assert!(stderr.ends_with("stopped\n"), "{stderr}");
    let plan = emulated.run(&["plan", "--detailed-exitcode", "-q"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());

    let status = emulated.run(&["status"]);
    let _filters = filters().bind_to_scope();
    insta::assert_snapshot!("status_after_run", status.transcript());
}

/// SIGTERM while a cycle applies: the action in flight finishes, the rest are skipped, the run
/// exits 0 and records an incomplete cycle; the next apply converges.
#[test]
fn sigterm_during_an_apply_finishes_the_action_in_flight_and_exits_0() {
    let emulated = Emulated::start("demo", "e2e-run-sigterm");
    emulated.edit_config("  concurrency: 4\n", "  concurrency: 1\n");
    emulated.rescue.set_latency(Duration::from_millis(40));
    let mut child = emulated.spawn(&["run", "--every", "1h"], "run");
    assert!(
        wait_until(Duration::from_secs(20), || {
            emulated.read(".adsync/audit.jsonl").lines().count() >= 2
        }),
        "the apply started: {}",
        emulated.read("run.stderr")
    );
    terminate(&child);
    let status = wait_for_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", emulated.read("run.stderr"));

    let record = last_run(&emulated);
    assert_eq!(record["outcome"], "incomplete", "{record}");
    let applied = record["counts"]["applied"].as_u64().unwrap_or_default();
    let skipped = record["counts"]["skipped"].as_u64().unwrap_or_default();
    assert!(applied >= 2 && skipped >= 1, "{record}");
    assert_eq!(applied + skipped, 13, "{record}");
    assert_eq!(record["counts"]["failed"], 0, "{record}");
    let audit = emulated.read(".adsync/audit.jsonl");
    let skipped_lines = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|l| l["outcome"] == "skipped")
        .count() as u64;
    assert_eq!(skipped_lines, skipped);

    emulated.rescue.set_latency(Duration::ZERO);
    let run = emulated.run(&["apply", "--yes", "-q"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let plan = emulated.run(&["plan", "--detailed-exitcode", "-q"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    emulated.assert_no_duplicate_users();
}

/// `run --dry-run` writes a workbook per cycle and changes nothing.
#[test]
fn run_dry_run_writes_a_workbook_each_cycle() {
    let emulated = Emulated::start("demo", "e2e-run-dry");
    std::fs::create_dir_all(emulated.dir.join("reports")).expect("folder");
    let mut child = emulated.spawn(
        &["run", "--every", "1s", "--dry-run", "--out-dir", "reports"],
        "run",
    );
    let workbooks = || {
        std::fs::read_dir(emulated.dir.join("reports"))
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    assert!(
        wait_until(Duration::from_secs(20), || workbooks() >= 2),
        "two workbooks: {}",
        emulated.read("run.stderr")
    );
    terminate(&child);
    let status = wait_for_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", emulated.read("run.stderr"));
    let record = last_run(&emulated);
    assert_eq!(record["command"], "run --dry-run");
    assert_eq!(record["counts"]["planned"], 13);
    for write in [method::CREATE_USER, method::SET_USER, method::MOVE_NODE] {
        assert_eq!(emulated.rescue.count(write), 0, "{write}");
    }
    assert!(emulated.read(".adsync/audit.jsonl").is_empty());
}

/// SIGTERM while a cycle still reads: no action is in flight, so the read is dropped, nothing
/// is attempted or audited, and the run exits 0 at once.
#[test]
fn sigterm_during_the_read_stops_without_attempting_anything() {
    let emulated = Emulated::start("demo", "e2e-run-sigterm-read");
    // Every Graph answer takes 400 ms: the directory read takes seconds.
    emulated.graph.set_latency(Duration::from_millis(400));
    let mut child = emulated.spawn(&["run", "--every", "1h"], "run");
    assert!(
        wait_until(Duration::from_secs(10), || emulated.graph.total_requests()
            >= 1),
        "the read started: {}",
        emulated.read("run.stderr")
    );
    terminate(&child);
    let status = wait_for_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", emulated.read("run.stderr"));
    assert_eq!(
        emulated.rescue.total_requests(),
        0,
        "the directory read was dropped before Rescue was read"
    );
    assert_eq!(
        emulated.read(".adsync/audit.jsonl"),
        "",
        "nothing attempted"
    );
    assert_eq!(emulated.read("run.stdout"), "");
    assert_eq!(
        untimed(&emulated.read("run.stderr")),
        "[TIME] adsync run: a cycle every 1h\n\
         [TIME] cycle 1 started\n\
         stopped before applying anything; the next run plans again\n\
         [TIME] cycle 1 finished: incomplete in [SECONDS]s; stopping\n\
         [TIME] stopped\n"
    );
    let record = last_run(&emulated);
    assert_eq!(record["outcome"], "incomplete", "{record}");
    assert!(!emulated.dir.join(".adsync/lock").exists());
}

/// The service's log by default: one timestamped line when a cycle starts and one when it
/// ends, with its outcome, counts, duration and the next start; no plan on stdout without
/// `-v`. A cycle that finds nothing to do still records its counts (zeros, not `{}`).
#[test]
fn each_cycle_logs_one_line_at_its_start_and_end_with_counts_and_the_next_start() {
    let emulated = Emulated::start("demo", "e2e-run-log");
    let mut child = emulated.spawn(&["run", "--every", "1s"], "run");
    let two_cycles = wait_until(Duration::from_secs(20), || {
        emulated.read("run.stderr").contains("cycle 2 finished")
    });
    assert!(two_cycles, "two cycles: {}", emulated.read("run.stderr"));
    terminate(&child);
    let status = wait_for_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", emulated.read("run.stderr"));

    let log = untimed(&emulated.read("run.stderr"));
    // The plan's warnings come once, in the first cycle, not every cycle.
    let warnings = log.lines().filter(|l| l.starts_with("warning: ")).count();
    assert_eq!(warnings, 2, "{log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.starts_with("warning: "))
        .collect();
    assert_eq!(
        lines[..5],
        [
            "[TIME] adsync run: a cycle every 1s",
            "[TIME] cycle 1 started",
            "[TIME] cycle 1 finished: success, 13 planned, 13 applied, 0 failed, 0 skipped, 0 drifted in [SECONDS]s; next at [TIME]",
            "[TIME] cycle 2 started",
            "[TIME] cycle 2 finished: success, 0 planned, 0 applied, 0 failed, 0 skipped, 0 drifted in [SECONDS]s; next at [TIME]",
        ],
        "{log}"
    );
    assert_eq!(
        emulated.read("run.stdout"),
        "",
        "the whole plan is printed only with -v"
    );
    let record = last_run(&emulated);
    assert_eq!(record["counts"]["planned"], 0, "{record}");
    assert_eq!(record["counts"]["applied"], 0, "{record}");
}

/// With `-v` each cycle's plan is printed.
#[test]
fn verbose_cycles_print_their_plan() {
    let emulated = Emulated::start("demo", "e2e-run-verbose");
    let mut child = emulated.spawn(&["-v", "run", "--every", "1h"], "run");
    let applied = wait_until(Duration::from_secs(20), || {
        emulated.read("run.stderr").contains("cycle 1 finished")
    });
    assert!(applied, "{}", emulated.read("run.stderr"));
    terminate(&child);
    wait_for_exit(&mut child, Duration::from_secs(10));
    let stdout = emulated.read("run.stdout");
    assert!(
        stdout.contains("+ create technician bruno.costa@contoso.com"),
        "{stdout}"
    );
    assert!(stdout.contains("applied 13, failed 0"), "{stdout}");
}

/// A `run --dry-run` cycle changes nothing, so monitoring never mistakes it for a sync: the
/// last success stays the last real one.
#[test]
fn a_dry_run_cycle_never_counts_as_the_last_success() {
    let emulated = Emulated::start("demo", "e2e-run-dry-success");
    let run = emulated.run(&["apply", "--yes", "-q"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let synced = last_run(&emulated)["last_success"].clone();
    assert!(synced.is_string(), "{synced}");
    std::thread::sleep(Duration::from_millis(20));
    let mut child = emulated.spawn(&["run", "--every", "1h", "--dry-run"], "run");
    let cycled = wait_until(Duration::from_secs(20), || {
        last_run(&emulated)["command"] == "run --dry-run"
    });
    assert!(cycled, "{}", emulated.read("run.stderr"));
    terminate(&child);
    wait_for_exit(&mut child, Duration::from_secs(10));
    let record = last_run(&emulated);
    assert_eq!(record["outcome"], "success", "{record}");
    assert_eq!(record["dry_run"], true, "{record}");
    assert_eq!(record["last_success"], synced, "{record}");
    assert_ne!(record["finished"], synced, "{record}");
}

/// `text` with each line's leading RFC 3339 time as `[TIME]`, and durations (`in 0.1s`) and
/// later times as placeholders.
pub(crate) fn untimed(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = match line.get(..24) {
                Some(time) if time.ends_with('Z') && time.as_bytes()[10] == b'T' => {
                    format!("[TIME]{}", &line[24..])
                }
                _ => line.to_owned(),
            };
            let line = match line.split_once(" in ") {
                Some((head, tail)) if tail.split_once("s;").is_some() => {
                    let (_, rest) = tail.split_once("s;").unwrap_or_default();
                    format!("{head} in [SECONDS]s;{rest}")
                }
                _ => line,
            };
            match line.split_once("next at ") {
                Some((head, _)) => format!("{head}next at [TIME]\n"),
                None => format!("{line}\n"),
            }
        })
        .collect()
}
