//! adsync-graph's delta reads through the Graph emulator: an incremental read returns exactly
//! what a full read of the changed directory returns, costs one request per delta round when
//! nothing changed, and every token Graph no longer accepts ends in a correct full read.

use adsync_core::adapter::{NoProgress, SourceRequest};
use adsync_core::config::GroupRef;
use adsync_core::model::{DirectorySnapshot, DirectoryUser};
use adsync_graph::{DeltaHow, DeltaRead, DeltaStart, DeltaState, FullReason, GraphSource};
use adsync_tests::graph_emulator::generate::{DirectoryShape, directory};
use adsync_tests::graph_emulator::{Fault, GraphEmulator, RequestKind};

fn shape() -> DirectoryShape {
    DirectoryShape {
        groups: 12,
        users: 400,
        nesting_depth: 2,
        chains: 2,
        large_groups: vec![250],
        seed: 22,
    }
}

/// The tops of the nesting chains and a few plain groups, by name and by id: nested groups
/// are tracked without being paired.
fn request(seed: &DirectorySnapshot, nested_groups: bool) -> SourceRequest {
    let groups = [0, 3, 6, 8, 9]
        .iter()
        .map(|&i| {
            let group = &seed.groups[i];
            if i % 2 == 0 {
                GroupRef::Name(group.display_name.clone())
            } else {
                GroupRef::Id {
                    id: group.id.clone(),
                }
            }
        })
        .collect();
    SourceRequest {
        groups,
        nested_groups,
        attributes: Vec::new(),
        selections: Vec::new(),
    }
}

async fn read(source: &GraphSource, request: &SourceRequest, start: DeltaStart) -> DeltaRead {
    source
        .read_delta(request, start, &NoProgress)
        .await
        .expect("the delta read succeeds")
}

fn saved(state: &Option<DeltaState>) -> DeltaStart {
    DeltaStart::Saved(Box::new(state.clone().expect("a state to continue from")))
}

/// Users of `group` (direct), and the group's nested groups.
fn group_mut<'a>(
    directory: &'a mut DirectorySnapshot,
    id: &str,
) -> &'a mut adsync_core::model::DirectoryGroup {
    directory
        .groups
        .iter_mut()
        .find(|group| group.id == id)
        .expect("the group exists")
}

/// Joins, leaves, renames, disables, deletions and nested-group edits, all at once.
fn churn(directory: &mut DirectorySnapshot) -> Vec<String> {
    let paired = directory.groups[6].id.clone();
    let nested = directory.groups[6].member_groups[0].clone();
    let plain = directory.groups[0].id.clone();
    let unpaired = directory.groups[1].id.clone();
    let members = group_mut(directory, &plain).members.clone();
    let outsider = directory
        .users
        .iter()
        .find(|user| !members.contains(&user.id))
        .map(|user| user.id.clone())
        .expect("someone outside the group");
    // A join, a leave, a join inside a nested group, a new nested group.
    group_mut(directory, &plain).members.push(outsider.clone());
    let left = group_mut(directory, &plain).members.remove(0);
    let joined_nested = directory.users[7].id.clone();
    group_mut(directory, &nested).members.push(joined_nested);
    group_mut(directory, &paired).member_groups.push(unpaired);
    // A rename, a disable, a deletion, a new user who joins.
    directory.users[1].display_name = "Renamed Person".to_owned();
    directory.users[2].account_enabled = false;
    let deleted = directory.users.remove(3).id;
    let newcomer = DirectoryUser {
        id: "aaaaaaaa-0000-4000-8000-000000000001".to_owned(),
        upn: "newcomer@contoso.com".to_owned(),
        mail: Some("newcomer@contoso.com".to_owned()),
        display_name: "New Comer".to_owned(),
        given_name: None,
        surname: None,
        job_title: None,
        department: None,
        mobile_phone: None,
        employee_id: None,
        account_enabled: true,
        attributes: Default::default(),
    };
    group_mut(directory, &plain)
        .members
        .push(newcomer.id.clone());
    directory.users.push(newcomer);
    vec![outsider, left, deleted]
}

#[tokio::test]
async fn an_incremental_read_equals_a_full_read_of_the_changed_directory() {
    for nested in [true, false] {
        let seed = directory(&shape());
        let request = request(&seed, nested);
        let mut emulator = GraphEmulator::start(seed.clone()).await;
        let source = GraphSource::new(emulator.settings(4)).expect("settings");

        let first = read(
            &source,
            &request,
            DeltaStart::Full(FullReason::NoSavedState),
        )
        .await;
        assert_eq!(first.how, DeltaHow::Full(FullReason::NoSavedState));
        assert_eq!(first.snapshot, emulator.expected_snapshot(&request));

        let mut changed = seed.clone();
        churn(&mut changed);
        emulator.replace(changed);
        let second = read(&source, &request, saved(&first.state)).await;
        assert!(
            matches!(second.how, DeltaHow::Incremental(changes) if changes.users == 4),
            "{:?}",
            second.how
        );
        assert_eq!(second.snapshot, emulator.expected_snapshot(&request));
        if nested {
            let DeltaHow::Incremental(changes) = second.how else {
                unreachable!()
            };
            assert_eq!(
                changes.new_groups, 1,
                "the newly nested group is read in full"
            );
        }

        // The same again from the new state: nothing changed, nothing differs.
        let third = read(&source, &request, saved(&second.state)).await;
        assert_eq!(third.snapshot, second.snapshot);
    }
}

#[tokio::test]
async fn a_read_with_no_change_costs_one_request_per_delta_round() {
    let seed = directory(&shape());
    let request = request(&seed, true);
    let emulator = GraphEmulator::start(seed).await;
    let source = GraphSource::new(emulator.settings(4)).expect("settings");
    let first = read(&source, &request, DeltaStart::Full(FullReason::Requested)).await;
    let rounds = first.state.as_ref().expect("state").group_links.len() + 1;
    emulator.reset_counts();
    let again = read(&source, &request, saved(&first.state)).await;
    assert_eq!(again.snapshot, first.snapshot);
    let counts = emulator.counts();
    assert_eq!(
        emulator.total_requests(),
        rounds,
        "one page per round, no token (it is cached), no resolution: {counts:?}"
    );
    assert_eq!(again.how, DeltaHow::Incremental(Default::default()));
}

#[tokio::test]
async fn many_paired_groups_are_filtered_fifty_at_a_time_and_tracked_by_one_link() {
    let seed = directory(&DirectoryShape {
        groups: 120,
        users: 600,
        nesting_depth: 0,
        chains: 0,
        large_groups: vec![],
        seed: 5,
    });
    let request = SourceRequest {
        groups: seed
            .groups
            .iter()
            .map(|group| GroupRef::Id {
                id: group.id.clone(),
            })
            .collect(),
        nested_groups: true,
        attributes: Vec::new(),
        selections: Vec::new(),
    };
    let emulator = GraphEmulator::start(seed).await;
    let source = GraphSource::new(emulator.settings(4)).expect("settings");
    emulator.reset_counts();
    let first = read(&source, &request, DeltaStart::Full(FullReason::Requested)).await;
    assert_eq!(first.snapshot, emulator.expected_snapshot(&request));
    let filtered = emulator
        .served()
        .iter()
        .filter(|served| served.kind == RequestKind::GroupsDelta)
        .filter(|served| served.request.contains("filter="))
        .count();
    assert!(filtered >= 3, "120 groups take three filters: {filtered}");
    assert_eq!(first.state.expect("state").group_links.len(), 1);

    // Nothing changed: two requests, whatever the number of groups.
    emulator.reset_counts();
    let again = source
        .read_delta(
            &request,
            DeltaStart::Full(FullReason::Requested),
            &NoProgress,
        )
        .await
        .expect("read");
    let state = again.state;
    emulator.reset_counts();
    let steady = read(&source, &request, saved(&state)).await;
    assert_eq!(steady.snapshot, again.snapshot);
    assert_eq!(emulator.total_requests(), 2, "{:?}", emulator.counts());
}

#[tokio::test]
async fn changes_to_groups_adsync_does_not_track_are_passed_over() {
    let seed = directory(&shape());
    let request = request(&seed, true);
    let mut emulator = GraphEmulator::start(seed.clone()).await;
    let source = GraphSource::new(emulator.settings(4)).expect("settings");
    let first = read(&source, &request, DeltaStart::Full(FullReason::Requested)).await;
    let mut changed = seed.clone();
    // Group 2 is neither paired nor nested in a paired group.
    changed.groups[2].display_name.push_str(" (renamed)");
    changed.groups[2].members.clear();
    emulator.replace(changed);
    let second = read(&source, &request, saved(&first.state)).await;
    assert_eq!(second.how, DeltaHow::Incremental(Default::default()));
    assert_eq!(second.snapshot, first.snapshot);
}

#[tokio::test]
async fn tokens_graph_no_longer_accepts_end_in_a_full_read() {
    let cases = [
        (
            RequestKind::GroupsDelta,
            Fault::Gone,
            410,
            "SyncStateNotFound",
        ),
        (
            RequestKind::UsersDelta,
            Fault::SyncStateNotFound,
            400,
            "syncStateNotFound",
        ),
        (RequestKind::UsersDelta, Fault::NotFound, 404, ""),
    ];
    for (kind, fault, status, code) in cases {
        let seed = directory(&shape());
        let request = request(&seed, true);
        let mut emulator = GraphEmulator::start(seed.clone()).await;
        let source = GraphSource::new(emulator.settings(4)).expect("settings");
        let first = read(&source, &request, DeltaStart::Full(FullReason::Requested)).await;
        let mut changed = seed.clone();
        churn(&mut changed);
        emulator.replace(changed);
        emulator.inject(Some(kind), fault, 1);
        let second = read(&source, &request, saved(&first.state)).await;
        assert_eq!(
            second.how,
            DeltaHow::Full(FullReason::TokenRejected {
                status,
                code: code.to_owned()
            })
        );
        assert_eq!(second.snapshot, emulator.expected_snapshot(&request));
        assert!(second.state.is_some());
    }
}

#[tokio::test]
async fn a_graph_without_delta_gets_the_ordinary_read_and_keeps_no_state() {
    let seed = directory(&shape());
    let request = request(&seed, true);
    let emulator = GraphEmulator::start(seed).await;
    let source = GraphSource::new(emulator.settings(4)).expect("settings");
    emulator.inject(Some(RequestKind::GroupsDelta), Fault::NotFound, 100);
    emulator.inject(Some(RequestKind::UsersDelta), Fault::NotFound, 100);
    let read = read(
        &source,
        &request,
        DeltaStart::Full(FullReason::NoSavedState),
    )
    .await;
    assert!(
        matches!(read.how, DeltaHow::Refused { status: 404, .. }),
        "{:?}",
        read.how
    );
    assert_eq!(read.snapshot, emulator.expected_snapshot(&request));
    assert!(read.state.is_none());
}

#[tokio::test]
async fn a_state_for_another_pairing_set_or_format_is_read_in_full() {
    let seed = directory(&shape());
    let request = request(&seed, true);
    let emulator = GraphEmulator::start(seed.clone()).await;
    let source = GraphSource::new(emulator.settings(4)).expect("settings");
    let first = read(&source, &request, DeltaStart::Full(FullReason::Requested)).await;

    let mut other = request.clone();
    other.groups.pop();
    let second = read(&source, &other, saved(&first.state)).await;
    assert_eq!(second.how, DeltaHow::Full(FullReason::ScopeChanged));
    assert_eq!(second.snapshot, emulator.expected_snapshot(&other));

    let mut old = first.state.clone().expect("state");
    old.format_version += 1;
    let third = read(&source, &request, DeltaStart::Saved(Box::new(old))).await;
    assert_eq!(third.how, DeltaHow::Full(FullReason::OtherFormat));
}

#[tokio::test]
async fn renamed_or_deleted_paired_groups_are_read_in_full() {
    let seed = directory(&shape());
    let request = request(&seed, true);
    let mut emulator = GraphEmulator::start(seed.clone()).await;
    let source = GraphSource::new(emulator.settings(4)).expect("settings");
    let first = read(&source, &request, DeltaStart::Full(FullReason::Requested)).await;

    // Group 6 is paired by name; a rename means the name may now resolve elsewhere (or not).
    let mut renamed = seed.clone();
    renamed.groups[6].display_name.push_str(" (old)");
    let id = renamed.groups[6].id.clone();
    emulator.replace(renamed);
    let error = source
        .read_delta(&request, saved(&first.state), &NoProgress)
        .await
        .expect_err("the full read that follows cannot find the name");
    assert!(error.to_string().contains("is named"), "{error}");

    // Group 9 is paired by id and deleted.
    let mut deleted = seed.clone();
    let gone = deleted.groups.remove(9).id;
    emulator.replace(deleted);
    let error = source
        .read_delta(&request, saved(&first.state), &NoProgress)
        .await
        .expect_err("a paired group that is gone fails the read");
    assert!(error.to_string().contains(&gone), "{error}; renamed {id}");
}

#[tokio::test]
async fn a_run_that_died_before_saving_continues_from_the_previous_state() {
    let seed = directory(&shape());
    let request = request(&seed, true);
    let mut emulator = GraphEmulator::start(seed.clone()).await;
    let source = GraphSource::new(emulator.settings(4)).expect("settings");
    let first = read(&source, &request, DeltaStart::Full(FullReason::Requested)).await;

    let mut changed = seed.clone();
    let touched = churn(&mut changed);
    emulator.replace(changed.clone());
    // This read's state is never saved (the run was killed).
    let lost = read(&source, &request, saved(&first.state)).await;
    drop(lost);
    changed.users[10].display_name = "Later Change".to_owned();
    emulator.replace(changed);
    let resumed = read(&source, &request, saved(&first.state)).await;
    assert!(matches!(resumed.how, DeltaHow::Incremental(_)));
    assert_eq!(resumed.snapshot, emulator.expected_snapshot(&request));
    assert!(!touched.is_empty());
}

/// A delta round goes through the same bounded paging as every listing: a nextLink back to a
/// page the round already read is a failed read, never a shorter success nor a full read.
#[tokio::test]
async fn a_paging_loop_in_a_delta_round_is_a_failed_read() {
    let seed = directory(&shape());
    let request = request(&seed, true);
    let emulator = GraphEmulator::start(seed).await;
    let source = GraphSource::new(emulator.settings(4)).expect("settings");
    let first = read(&source, &request, DeltaStart::Full(FullReason::Requested)).await;
    // The saved link leads to `a`, `a` to `b`, `b` back to `a`: no link points at its own
    // page, so only the round's memory of links tells.
    let page = |next: &str| Fault::Answer {
        status: 200,
        body: format!(
            r#"{{"value":[],"@odata.nextLink":"{}/v1.0/users/delta?$skiptoken={next}"}}"#,
            emulator.uri()
        ),
    };
    emulator.reset_counts();
    for next in ["a", "b", "a"] {
        emulator.inject(Some(RequestKind::UsersDelta), page(next), 1);
    }
    let error = source
        .read_delta(&request, saved(&first.state), &NoProgress)
        .await
        .expect_err("a paging loop fails the read");
    assert!(error.to_string().contains("paging loop"), "{error}");
    // The saved link, `a`, `b`; the link back to `a` is refused before it is sent.
    assert_eq!(emulator.count(RequestKind::UsersDelta), 3);
}

/// The read budget bounds a delta read as it bounds a full one.
#[tokio::test]
async fn a_delta_read_past_its_budget_fails_in_time() {
    let seed = directory(&shape());
    let request = request(&seed, true);
    let emulator = GraphEmulator::start(seed).await;
    let source = GraphSource::new(emulator.settings(4))
        .expect("settings")
        .with_read_budget(std::time::Duration::from_millis(500));
    let first = read(&source, &request, DeltaStart::Full(FullReason::Requested)).await;
    emulator.inject(
        Some(RequestKind::UsersDelta),
        Fault::Slow(std::time::Duration::from_secs(5)),
        usize::MAX,
    );
    let started = std::time::Instant::now();
    let error = source
        .read_delta(&request, saved(&first.state), &NoProgress)
        .await
        .expect_err("the read runs out of budget");
    assert!(
        matches!(error, adsync_graph::Error::ReadBudget { .. }),
        "{error}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
