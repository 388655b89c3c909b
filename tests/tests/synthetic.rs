//! The synthetic organizations adsync-bench measures: deterministic, the two sides generated
//! apart equal to both generated together, and the plan of one is exactly the drift it was made
//! with, so the benchmark plans the changes it claims to.

use adsync_core::Cores;
use adsync_core::desired::{desired, desired_on};
use adsync_core::model::Plane;
use adsync_core::plan::{CurrentState, Policy, plan, plan_on};
use adsync_tests::synthetic::{self, Shape};

fn shape(drift_per_mille: u32) -> Shape {
    let mut shape = Shape::new(40, 120);
    shape.drift_per_mille = drift_per_mille;
    shape
}

#[test]
fn equal_shapes_give_equal_organizations_and_the_sides_agree() {
    let shape = shape(Shape::REALISTIC_DRIFT);
    let whole = synthetic::organization(&shape);
    let again = synthetic::organization(&shape);
    assert_eq!(whole.directory, again.directory);
    assert_eq!(whole.rescue, again.rescue);
    assert_eq!(whole.links, again.links);

    let directory = synthetic::directory(&shape);
    let rescue = synthetic::rescue(&shape);
    assert_eq!(directory.directory, whole.directory);
    assert_eq!(directory.config, whole.config);
    assert_eq!(rescue.rescue, whole.rescue);
    assert_eq!(rescue.drift, whole.drift);
}

#[test]
fn the_shape_holds_the_requested_groups_and_people() {
    let shape = Shape::new(40, 120);
    let org = synthetic::organization(&shape);
    assert_eq!(org.config.pairings.len(), 40);
    assert_eq!(org.directory.groups.len(), 40);
    assert!(org.directory.groups.iter().all(|g| g.members.len() == 120));
    assert_eq!(org.directory.users.len(), shape.people);
    // SPEC §12's density: about four memberships per person, so most sit in several groups.
    let memberships: usize = org.directory.groups.iter().map(|g| g.members.len()).sum();
    let per_person = memberships as f64 / shape.people as f64;
    assert!((3.5..4.5).contains(&per_person), "{per_person}");
    assert_eq!(Shape::new(999, 999).people, 250_000);
}

#[test]
fn the_plan_is_exactly_the_drift_the_organization_was_made_with() {
    for drift_per_mille in [Shape::REALISTIC_DRIFT, 100] {
        assert_plan_is_the_drift(&shape(drift_per_mille));
    }
}

/// Above the size at which the planner splits its passes between two cores (and makes its user
/// list in two halves), the plan is still exactly the drift, in the documented order,
/// and the same every time.
#[test]
fn a_plan_large_enough_to_use_both_cores_is_still_exactly_the_drift() {
    let mut shape = Shape::new(200, 500);
    shape.drift_per_mille = 40;
    let made = assert_plan_is_the_drift(&shape);
    assert!(made.users.len() > 40_000, "{}", made.users.len());
    let order: Vec<_> = made
        .users
        .iter()
        .map(|user| (user.email, user.plane, user.node_id))
        .collect();
    assert!(
        order.is_sorted(),
        "the user list is in key, plane, node order"
    );
    let again = assert_plan_is_the_drift(&shape);
    assert_eq!(made, again, "equal inputs give equal plans");
    // And the same on one core.
    let org = synthetic::organization(&shape);
    let one = Cores::one();
    let wanted = desired_on(&org.directory, &org.config, one).expect("the configuration resolves");
    let current = CurrentState {
        rescue: org.rescue,
        links: org.links,
    };
    let alone = plan_on(&wanted, &current, &Policy::from_config(&org.config), one).expect("a plan");
    assert_eq!(made, alone, "one core or two give one plan");
}

/// Plans `shape`'s organization and checks that the plan is exactly its drift.
fn assert_plan_is_the_drift(shape: &Shape) -> adsync_core::plan::Plan {
    let org = synthetic::organization(shape);
    let wanted = desired(&org.directory, &org.config).expect("the configuration resolves");
    let current = CurrentState {
        rescue: org.rescue.clone(),
        links: org.links.clone(),
    };
    let made = plan(&wanted, &current, &Policy::from_config(&org.config)).expect("a plan");
    // Every desired user has its entry in the user list, once.
    let desired_users =
        wanted.plane(Plane::Technician).len() + wanted.plane(Plane::Administrator).len();
    let entries: std::collections::BTreeSet<_> = made
        .users
        .iter()
        .filter(|user| user.role.is_some())
        .map(|user| (user.email.clone(), user.plane))
        .collect();
    assert_eq!(entries.len(), desired_users);
    assert_eq!(
        made.users.iter().filter(|user| user.role.is_some()).count(),
        desired_users
    );
    let drift = &org.drift;
    let summary = &made.summary;
    assert!(
        drift.missing > 0 && drift.moved > 0 && drift.leavers > 0,
        "{drift:?}"
    );
    assert_eq!(summary.create_group, 0);
    assert_eq!(summary.create_user as usize, drift.missing, "{drift:?}");
    assert_eq!(summary.move_user as usize, drift.moved, "{drift:?}");
    assert_eq!(
        summary.update_user as usize,
        drift.renamed + drift.email_changed,
        "{drift:?}"
    );
    assert_eq!(summary.enable_user as usize, drift.disabled, "{drift:?}");
    assert_eq!(
        summary.set_mobile_license as usize, drift.mobile,
        "{drift:?}"
    );
    assert_eq!(
        summary.disable_user as usize,
        drift.leavers + drift.disabled_in_entra,
        "{drift:?}"
    );
    let changed = drift.missing
        + drift.moved
        + drift.renamed
        + drift.email_changed
        + drift.disabled
        + drift.mobile;
    assert_eq!(summary.unchanged as usize, drift.placements - changed);
    made
}
