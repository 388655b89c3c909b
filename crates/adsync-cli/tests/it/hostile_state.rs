//! Unbounded inputs and corrupt state (issue 26): a secret file that never ends, deeply nested
//! YAML in a snapshot or the configuration, and a corrupt `links.json`. Each fails fast with
//! an error naming the file; the corrupt state file is set aside, never deleted, and the next
//! run rebuilds it.

use std::time::{Duration, Instant};

use crate::emulated::{Emulated, GRAPH_SECRET_VAR};
use crate::{adsync, copy_fixture};

#[cfg(unix)]
#[test]
fn a_secret_file_that_never_ends_is_refused_at_its_size_limit() {
    let emulated = Emulated::start("demo", "hostile-secret-file");
    emulated.edit_config(
        &format!("client_secret: {{ env: {GRAPH_SECRET_VAR} }}"),
        "client_secret: { file: /dev/zero }",
    );
    let started = Instant::now();
    let run = emulated.run(&["plan"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("source.client_secret") && run.stderr.contains("larger than 64 KiB"),
        "{}",
        run.transcript()
    );
}

/// 200 KB of nested flow collections: the YAML parser alone takes tens of seconds on it.
fn nested(key: &str) -> String {
    format!("{key}: {}{}\n", "[".repeat(100_000), "]".repeat(100_000))
}

/// Runs `args` in `dir` and expects a fast exit 1 naming `file` and the nesting limit.
fn assert_refused_fast(dir: &std::path::Path, args: &[&str], file: &str) {
    let started = Instant::now();
    let run = adsync(dir, args, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains(file) && run.stderr.contains("deeper than 64 levels"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_deeply_nested_snapshot_fails_fast() {
    let dir = copy_fixture("scenarios/create-technician", "hostile-nested-snapshot");
    std::fs::write(dir.join("directory.yaml"), nested("users")).expect("written");
    assert_refused_fast(&dir, &["plan", "--config", "config.yaml"], "directory.yaml");
}

#[test]
fn a_deeply_nested_configuration_fails_fast() {
    let dir = copy_fixture("scenarios/create-technician", "hostile-nested-config");
    let config = std::fs::read_to_string(dir.join("config.yaml")).expect("config");
    std::fs::write(
        dir.join("config.yaml"),
        format!("{config}{}", nested("extra")),
    )
    .expect("written");
    assert_refused_fast(
        &dir,
        &["validate", "--config", "config.yaml"],
        "config.yaml",
    );
}

#[test]
fn a_corrupt_links_file_is_set_aside_and_the_next_run_rebuilds_it() {
    let dir = copy_fixture("scenarios/create-technician", "hostile-corrupt-links");
    let state = dir.join(".adsync");
    std::fs::create_dir_all(&state).expect("state dir");
    let corrupt = "{\"technician\": {\"00000000-0000-4000-8000-0000";
    std::fs::write(state.join("links.json"), corrupt).expect("written");

    // A plan (no lock) names the file and says what to do; it moves nothing.
    let plan = adsync(&dir, &["plan", "--config", "config.yaml"], &[]);
    assert_eq!(plan.code, 1, "{}", plan.transcript());
    assert!(
        plan.stderr.contains("links.json` is corrupt"),
        "{}",
        plan.transcript()
    );
    assert!(
        plan.stderr.contains("sets it aside"),
        "{}",
        plan.transcript()
    );
    assert!(state.join("links.json").exists());

    // An apply holds the lock: it sets the file aside and stops before changing anything.
    let apply = adsync(&dir, &["apply", "--config", "config.yaml", "--yes"], &[]);
    assert_eq!(apply.code, 1, "{}", apply.transcript());
    assert!(
        apply.stderr.contains("set aside as"),
        "{}",
        apply.transcript()
    );
    assert!(apply.stderr.contains("run again"), "{}", apply.transcript());
    assert!(!state.join("links.json").exists());
    let aside: Vec<_> = std::fs::read_dir(&state)
        .expect("listed")
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("links.json.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "set aside once");
    assert_eq!(
        std::fs::read_to_string(aside[0].path()).expect("kept"),
        corrupt,
        "the corrupt file is kept as it was"
    );
    assert!(!state.join("lock").exists(), "the lock is released");

    // The next run applies and writes new links.
    let again = adsync(&dir, &["apply", "--config", "config.yaml", "--yes"], &[]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    let links: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("links.json")).expect("links"))
            .expect("valid links");
    assert!(links.is_object(), "{links}");
}

/// Plans, workbooks and state files are their owner's only; the state directory too.
#[cfg(unix)]
#[test]
fn files_adsync_writes_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = copy_fixture("scenarios/create-technician", "hostile-file-modes");
    let mode = |relative: &str| {
        std::fs::metadata(dir.join(relative))
            .unwrap_or_else(|error| panic!("{relative}: {error}"))
            .permissions()
            .mode()
            & 0o777
    };
    // A plan file left world-readable by an older version is replaced, not reused.
    std::fs::write(dir.join("plan.json"), "{}").expect("written");
    std::fs::set_permissions(
        dir.join("plan.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    for args in [
        &["plan", "--config", "config.yaml", "--out", "plan.json"][..],
        &["dry-run", "--config", "config.yaml", "--out", "report.xlsx"],
        &["apply", "--config", "config.yaml", "--yes"],
    ] {
        let run = adsync(&dir, args, &[]);
        assert!(
            run.code == 0 || run.code == 2,
            "{args:?}: {}",
            run.transcript()
        );
    }
    assert_eq!(mode(".adsync"), 0o700);
    for file in [
        "plan.json",
        "report.xlsx",
        ".adsync/links.json",
        ".adsync/last-run.json",
        ".adsync/runs.jsonl",
        ".adsync/audit.jsonl",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}

/// A directory read slower than `sync.read_budget_s` fails when the budget is spent, whatever
/// the retry policy would still allow, and nothing is written.
#[test]
fn a_read_past_the_configured_budget_fails_in_time() {
    use adsync_tests::graph_emulator::{Fault, RequestKind};
    let emulated = Emulated::start("demo", "hostile-read-budget");
    emulated.edit_config("sync:\n", "sync:\n  read_budget_s: 1\n");
    // Every member page answers after 3 s; each attempt times out at 2 s and is retried.
    emulated.graph.inject(
        Some(RequestKind::TransitiveMemberUsers),
        Fault::Slow(Duration::from_secs(3)),
        usize::MAX,
    );
    let started = Instant::now();
    let run = emulated.run(&["apply", "--yes"]);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("longer than its budget of 1s (sync.read_budget_s)"),
        "{}",
        run.transcript()
    );
    assert_eq!(
        emulated
            .rescue
            .count(adsync_rescue::api::method::CREATE_USER),
        0,
        "a failed read writes nothing"
    );
}
