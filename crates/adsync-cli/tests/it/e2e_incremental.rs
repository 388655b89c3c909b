//! Incremental directory reads end to end: the saved delta state, `--full`, the fallbacks and
//! what `adsync status` says about reads.

use adsync_tests::graph_emulator::{Fault, RequestKind};

use crate::emulated::Emulated;

const FIXTURE: &str = "scenarios/nested-groups-expanded";
const STATE: &str = ".adsync/graph-delta.json";
const DETAILS: &str = ".adsync/rescue-details.json";

/// A plan's JSON without its `origin` (which says when it was made).
fn plan_of(run: &crate::Run) -> serde_json::Value {
    let mut plan: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", run.transcript()));
    plan.as_object_mut().expect("an object").remove("origin");
    plan
}

/// Someone leaves, someone is renamed, someone joins a nested group.
fn change_directory(emulated: &mut Emulated) {
    let mut directory = emulated.graph.seed().clone();
    directory.users[1].display_name = "Omar H. Haddad".to_owned();
    let moved = directory.users[2].id.clone();
    for group in &mut directory.groups {
        group.members.retain(|id| *id != moved);
    }
    let joiner = directory.users[0].id.clone();
    let nested = directory.groups[0].member_groups[0].clone();
    if let Some(group) = directory.groups.iter_mut().find(|g| g.id == nested) {
        group.members.push(joiner);
    }
    emulated.graph.replace(directory);
}

#[test]
fn a_second_plan_reads_changes_only_and_plans_what_a_full_read_plans() {
    let mut emulated = Emulated::start(FIXTURE, "incremental-plan");
    let first = emulated.run(&["plan", "--json"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    assert!(
        !first.stderr.contains("in full"),
        "the very first read is full without saying so: {}",
        first.transcript()
    );
    assert!(emulated.dir.join(STATE).exists());

    change_directory(&mut emulated);
    emulated.graph.reset_counts();
    let incremental = emulated.run(&["plan", "--json"]);
    assert_eq!(incremental.code, 0, "{}", incremental.transcript());
    assert!(
        !incremental.stderr.contains("in full"),
        "{}",
        incremental.transcript()
    );
    let counts = emulated.graph.counts();
    assert!(
        counts.keys().all(|kind| matches!(
            kind,
            RequestKind::Token | RequestKind::GroupsDelta | RequestKind::UsersDelta
        )),
        "an incremental read resolves no group and lists no members: {counts:?}"
    );

    let full = emulated.run(&["plan", "--json", "--full"]);
    assert_eq!(full.code, 0, "{}", full.transcript());
    assert!(!full.stderr.contains("in full"), "{}", full.transcript());
    assert_eq!(plan_of(&incremental), plan_of(&full));
    assert_ne!(
        plan_of(&first),
        plan_of(&full),
        "the change shows in the plan"
    );
}

#[test]
fn an_unreadable_state_is_set_aside_and_read_in_full() {
    let emulated = Emulated::start(FIXTURE, "incremental-unreadable");
    let first = emulated.run(&["plan", "-q"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    std::fs::write(emulated.dir.join(STATE), "{ not json").expect("state written");
    std::fs::write(emulated.dir.join(DETAILS), "[1, 2").expect("cache written");
    let second = emulated.run(&["plan", "--json"]);
    assert_eq!(second.code, 0, "{}", second.transcript());
    assert!(
        second.stderr.contains("set aside") && second.stderr.contains("could not be read"),
        "{}",
        second.transcript()
    );
    let aside: Vec<String> = std::fs::read_dir(emulated.dir.join(".adsync"))
        .expect("state dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.starts_with("graph-delta.json.unreadable-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let details_aside = std::fs::read_dir(emulated.dir.join(".adsync"))
        .expect("state dir")
        .filter(|entry| {
            let name = entry.as_ref().expect("entry").file_name();
            name.to_string_lossy()
                .starts_with("rescue-details.json.unreadable-")
        })
        .count();
    assert_eq!(details_aside, 1);
    let cache: serde_json::Value =
        serde_json::from_str(&emulated.read(DETAILS)).expect("a new cache was saved");
    assert_eq!(cache["cache"]["format_version"], 1, "{cache}");
    let kept = std::fs::read_to_string(emulated.dir.join(".adsync").join(&aside[0]))
        .expect("the file set aside");
    assert_eq!(kept, "{ not json");
    let saved: serde_json::Value =
        serde_json::from_str(&emulated.read(STATE)).expect("a new state was saved");
    assert_eq!(saved["last_read"]["kind"], "full");
}

#[test]
fn a_graph_that_answers_delta_with_404_still_gets_a_correct_plan() {
    let emulated = Emulated::start(FIXTURE, "incremental-refused");
    let expected = emulated.run(&["plan", "--json"]);
    std::fs::remove_file(emulated.dir.join(STATE)).expect("state removed");
    emulated
        .graph
        .inject(Some(RequestKind::GroupsDelta), Fault::NotFound, 1000);
    emulated
        .graph
        .inject(Some(RequestKind::UsersDelta), Fault::NotFound, 1000);
    let refused = emulated.run(&["plan", "--json"]);
    assert_eq!(refused.code, 0, "{}", refused.transcript());
    assert_eq!(
        refused
            .stderr
            .matches("Graph refused the delta query (http 404)")
            .count(),
        1,
        "{}",
        refused.transcript()
    );
    assert_eq!(plan_of(&refused), plan_of(&expected));
    assert!(
        !emulated.dir.join(STATE).exists(),
        "nothing to continue from"
    );
}

#[test]
fn status_says_when_the_last_full_read_was_and_what_the_last_read_found() {
    let mut emulated = Emulated::start(FIXTURE, "incremental-status");
    let apply = emulated.run(&["apply", "--yes", "-q"]);
    assert!(apply.code == 0, "{}", apply.transcript());
    change_directory(&mut emulated);
    let again = emulated.run(&["apply", "--yes", "-q"]);
    assert!(again.code == 0, "{}", again.transcript());
    let status = emulated.run(&["status"]);
    assert_eq!(status.code, 0, "{}", status.transcript());
    assert!(
        status.stdout.contains("full read:"),
        "{}",
        status.transcript()
    );
    assert!(
        status.stdout.contains("last read:    incremental:"),
        "{}",
        status.transcript()
    );
    let json = emulated.run(&["status", "--json"]);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(document["directory_read"]["kind"], "incremental");
    assert_eq!(
        document["directory_reads"]["last_read"]["changes"]["users"],
        1
    );
    assert!(document["directory_reads"]["last_full_read"].is_string());

    // A state that went missing after runs were recorded is said, once.
    std::fs::remove_file(emulated.dir.join(STATE)).expect("state removed");
    let plan = emulated.run(&["plan"]);
    assert_eq!(
        plan.stderr
            .matches("reading the directory in full: no saved directory state")
            .count(),
        1,
        "{}",
        plan.transcript()
    );
}

/// `adsync run` keeps its Graph source between cycles: after the first cycle, a cycle that finds
/// nothing new asks Graph for the two delta links only (no token, no group lookup).
#[test]
fn run_cycles_after_the_first_make_two_graph_requests() {
    let emulated = Emulated::start(FIXTURE, "incremental-run");
    let mut child = emulated.spawn(&["run", "--every", "1s"], "run");
    let two = crate::emulated::wait_until(std::time::Duration::from_secs(20), || {
        emulated.read("run.stderr").contains("cycle 2 finished")
    });
    assert!(two, "{}", emulated.read("run.stderr"));
    emulated.graph.reset_counts();
    let two_more = crate::emulated::wait_until(std::time::Duration::from_secs(20), || {
        emulated.read("run.stderr").contains("cycle 4 finished")
    });
    assert!(two_more, "{}", emulated.read("run.stderr"));
    crate::e2e_run::terminate(&child);
    let status = crate::emulated::wait_for_exit(&mut child, std::time::Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", emulated.read("run.stderr"));
    let counts = emulated.graph.counts();
    assert_eq!(counts.get(&RequestKind::Token), None, "{counts:?}");
    let total: usize = counts.values().sum();
    // Cycles 3 and 4 (a slow machine may count part of cycle 3 or 5): two delta requests each.
    assert!((3..=6).contains(&total), "{counts:?}");
    assert!(
        counts
            .keys()
            .all(|kind| matches!(kind, RequestKind::GroupsDelta | RequestKind::UsersDelta)),
        "{counts:?}"
    );
}

/// A run killed after its delta read, before it saved anything (here: while Rescue's tree is
/// being read), leaves the previous state as it was; the next run continues from it and sees
/// the changes the killed run had read.
#[test]
fn a_run_killed_after_the_delta_read_leaves_the_previous_state_usable() {
    let mut emulated = Emulated::start(FIXTURE, "incremental-killed");
    let first = emulated.run(&["plan", "--json"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    let before = std::fs::read(emulated.dir.join(STATE)).expect("state");

    change_directory(&mut emulated);
    emulated.rescue.inject(
        Some(adsync_rescue::api::method::GET_HIERARCHY),
        adsync_tests::rescue_emulator::Fault::Timeout(std::time::Duration::from_secs(30)),
        1,
    );
    emulated.rescue.reset_counts();
    let mut child = emulated.spawn(&["plan", "--json"], "killed");
    let reading_rescue = crate::emulated::wait_until(std::time::Duration::from_secs(20), || {
        emulated
            .rescue
            .count(adsync_rescue::api::method::GET_HIERARCHY)
            > 0
    });
    assert!(reading_rescue, "{}", emulated.read("killed.stderr"));
    child.kill().expect("killed");
    let _ = child.wait();
    assert_eq!(
        std::fs::read(emulated.dir.join(STATE)).expect("state"),
        before,
        "the killed run saved nothing"
    );

    let resumed = emulated.run(&["plan", "--json"]);
    assert_eq!(resumed.code, 0, "{}", resumed.transcript());
    assert!(
        !resumed.stderr.contains("in full"),
        "{}",
        resumed.transcript()
    );
    let full = emulated.run(&["plan", "--json", "--full"]);
    assert_eq!(plan_of(&resumed), plan_of(&full));
    assert_ne!(plan_of(&resumed), plan_of(&first), "the changes are seen");
}

/// `sync.full_read_every`: once it has passed since the last full read, the next read is full,
/// quietly, and the schedule starts again; `--full` resets it too.
#[test]
fn a_full_read_follows_the_schedule_quietly() {
    let emulated = Emulated::start(FIXTURE, "incremental-schedule");
    let first = emulated.run(&["plan", "-q"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    let mut saved: serde_json::Value = serde_json::from_str(&emulated.read(STATE)).expect("state");
    saved["full_read_at"] = "2020-01-01T00:00:00.000Z".into();
    std::fs::write(emulated.dir.join(STATE), saved.to_string()).expect("state written");
    emulated.graph.reset_counts();
    let due = emulated.run(&["plan"]);
    assert_eq!(due.code, 0, "{}", due.transcript());
    assert!(!due.stderr.contains("in full"), "{}", due.transcript());
    let saved: serde_json::Value = serde_json::from_str(&emulated.read(STATE)).expect("state");
    assert_eq!(saved["last_read"]["kind"], "full", "{saved}");
    assert!(
        saved["last_read"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("full_read_every")),
        "{saved}"
    );
    assert_ne!(saved["full_read_at"], "2020-01-01T00:00:00.000Z");
    assert!(
        emulated.graph.count(RequestKind::GroupById)
            + emulated.graph.count(RequestKind::GroupByName)
            > 0,
        "a full read resolves the groups again"
    );
    let next = emulated.run(&["plan", "-q"]);
    assert_eq!(next.code, 0, "{}", next.transcript());
    let saved: serde_json::Value = serde_json::from_str(&emulated.read(STATE)).expect("state");
    assert_eq!(saved["last_read"]["kind"], "incremental", "{saved}");
}

/// The saved delta state and detail cache are their owner's only, like every state file.
#[cfg(unix)]
#[test]
fn the_saved_state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let emulated = Emulated::start(FIXTURE, "incremental-private");
    let run = emulated.run(&["plan", "-q"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    for file in [STATE, DETAILS] {
        let mode = std::fs::metadata(emulated.dir.join(file))
            .unwrap_or_else(|error| panic!("{file}: {error}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}
