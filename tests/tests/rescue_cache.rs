//! adsync-rescue's detail cache through the Rescue emulator: a read through the cache returns
//! what a full read returns whenever the hierarchy shows the change, reads details only for
//! new, changed and due nodes, and finds a change made by hand that the hierarchy cannot show
//! by the end of the verification window.

use std::sync::Arc;

use adsync_core::adapter::{DetailRequest, Target};
use adsync_core::desired::desired;
use adsync_core::model::{NodeId, RescueSnapshot};
use adsync_core::scope::detail_request;
use adsync_rescue::api::method;
use adsync_rescue::cache::{CacheStore, DetailCache, DetailReads, Verify};
use adsync_tests::rescue_emulator::RescueEmulator;
use adsync_tests::synthetic::{Organization, Shape, organization};

const DAY: u64 = 24 * 3600;
const START: u64 = 1_800_000_000;

struct World {
    emulator: RescueEmulator,
    details: DetailRequest,
}

async fn world() -> World {
    let Organization {
        config,
        directory,
        rescue,
        links,
        ..
    } = organization(&Shape::new(6, 60));
    let wanted = desired(&directory, &config).expect("desired");
    let details = detail_request(&config, &wanted, &links);
    assert!(details.any(), "the shape reads details");
    World {
        emulator: RescueEmulator::start(&rescue).await,
        details,
    }
}

/// A read through `cache` at `now`; the snapshot, the new cache and what was read.
async fn cached_read(
    world: &World,
    cache: DetailCache,
    now: u64,
    full: bool,
) -> (RescueSnapshot, DetailCache, DetailReads) {
    let store = Arc::new(CacheStore::new(
        cache,
        Verify {
            now,
            window: DAY,
            full,
        },
    ));
    let target = world.emulator.target(4).with_detail_cache(store.clone());
    let snapshot = target.snapshot(&world.details).await.expect("read");
    let (cache, reads) = store.take_result().expect("the read left a cache");
    (snapshot, cache, reads)
}

async fn plain_read(world: &World) -> RescueSnapshot {
    world
        .emulator
        .target(4)
        .snapshot(&world.details)
        .await
        .expect("read")
}

/// Sets `node`'s SSO ID as an administrator would in the console: nothing the hierarchy shows.
fn change_ssoid_by_hand(emulator: &RescueEmulator, node: NodeId, ssoid: &str) {
    let answer = emulator.edit_user_by_hand(node, |found| found.ssoid = Some(ssoid.to_owned()));
    assert!(answer.starts_with("OK"), "setUser_v2 by hand: {answer}");
}

#[tokio::test]
async fn a_cached_read_equals_a_full_read_and_reads_only_what_it_must() {
    let world = world().await;
    let expected = plain_read(&world).await;
    let in_scope = world.details.scope.users_in(&expected).len() as u64;

    world.emulator.reset_counts();
    let (first, cache, reads) = cached_read(&world, DetailCache::default(), START, false).await;
    assert_eq!(first, expected);
    assert_eq!(reads.uncached, in_scope);
    assert_eq!(world.emulator.count(method::GET_USER) as u64, in_scope);

    // A minute later nothing changed: the hierarchy and a sliver of verification.
    world.emulator.reset_counts();
    let (second, cache, reads) = cached_read(&world, cache, START + 60, false).await;
    assert_eq!(second, expected);
    assert_eq!(reads.needed(), 0);
    assert_eq!(reads.cached + reads.verification, in_scope);
    assert_eq!(world.emulator.count(method::GET_HIERARCHY), 1);
    assert_eq!(
        world.emulator.count(method::GET_USER) as u64,
        reads.verification
    );

    // A full read reads everything again.
    let (third, _, reads) = cached_read(&world, cache, START + 120, true).await;
    assert_eq!(third, expected);
    assert_eq!(reads.full, in_scope);
}

#[tokio::test]
async fn a_change_by_hand_is_found_within_the_verification_window() {
    let world = world().await;
    let expected = plain_read(&world).await;
    let scope = world.details.scope.users_in(&expected);
    let (_, mut cache, _) = cached_read(&world, DetailCache::default(), START, false).await;

    let node = scope[scope.len() / 2];
    change_ssoid_by_hand(&world.emulator, node, "changed-by-hand");
    let truth = plain_read(&world).await;
    assert_ne!(truth, expected, "the change is real");

    // Runs every 15 minutes: the cache may show the old SSO ID for a while, never past a day.
    let mut found_at = None;
    let step = 15 * 60;
    for run in 1..=(DAY / step) {
        let (snapshot, next, _) = cached_read(&world, cache, START + run * step, false).await;
        cache = next;
        if snapshot == truth {
            found_at.get_or_insert(run);
        } else {
            assert!(found_at.is_none(), "once read, the change stays: run {run}");
            assert_eq!(snapshot, expected, "the only difference is the hand change");
        }
    }
    assert!(found_at.is_some(), "found within the window");
}

#[tokio::test]
async fn a_node_whose_hierarchy_fields_change_is_read_at_once() {
    let world = world().await;
    let expected = plain_read(&world).await;
    let scope = world.details.scope.users_in(&expected);
    let (_, cache, _) = cached_read(&world, DetailCache::default(), START, false).await;
    let node = scope[0];
    // The SSO ID and the name change together: the name shows in the hierarchy.
    let answer = world.emulator.edit_user_by_hand(node, |found| {
        found.ssoid = Some("renamed-too".to_owned());
        found.name.push_str(" Renamed");
    });
    assert!(answer.starts_with("OK"), "{answer}");
    let truth = plain_read(&world).await;
    let (snapshot, _, reads) = cached_read(&world, cache, START + 60, false).await;
    assert_eq!(snapshot, truth);
    assert_eq!(reads.changed, 1);
}
