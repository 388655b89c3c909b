//! Saved plans over generated worlds (issue 26): a fresh plan passes every check `apply
//! plan.json` makes in the world it was made in, and a saved plan with any single action
//! edited is refused.
//!
//! Cases per property: proptest's default of 256; `PROPTEST_CASES` overrides it.

use adsync_core::model::{NodeId, RescueSnapshot};
use adsync_core::plan::{Action, Plan, verify};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::properties::{ANY, REAL, check, world};

const KEY: &[u8] = b"plan signing key";

/// One edit of one action of a saved plan's JSON.
#[derive(Clone, Debug)]
enum Edit {
    /// Set a field of the action to a value.
    Set(&'static str, Value),
    /// Remove a field.
    Remove(&'static str),
    /// Remove the action.
    Drop,
    /// Repeat the action.
    Repeat,
    /// Swap the action with another.
    Swap(prop::sample::Index),
}

fn field() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "id",
        "kind",
        "role",
        "from_role",
        "email",
        "object_id",
        "node_id",
        "container",
        "from",
        "to",
        "to_node",
        "changes",
        "mobile",
        "user",
        "reason",
        "precondition",
    ])
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0u64..400).prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "technician",
            "administrator",
            "master_administrator",
            "technicians",
            "administrators",
            "master_administrators",
            "create_user",
            "move_user",
            "disable_user",
            "enable_user",
            "set_mobile_license",
            "",
            "Helpdesk",
            "Helpdesk/L2",
            "owner@contoso.com",
            "ana.lima@contoso.com",
            "mallory@contoso.com",
        ])
        .prop_map(|text| json!(text)),
        Just(json!({})),
        Just(json!({ "absent": true })),
        Just(json!({ "status": "Enabled" })),
        Just(json!({ "name": { "old": "a", "new": "b" } })),
        Just(
            json!({ "name": "Mallory", "nick": "", "email": "mallory@contoso.com", "ssoid": "", "description": "", "mobile": true })
        ),
        "[a-z .@]{0,12}".prop_map(|text| json!(text)),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (field(), value()).prop_map(|(field, value)| Edit::Set(field, value)),
        1 => field().prop_map(Edit::Remove),
        1 => Just(Edit::Drop),
        1 => Just(Edit::Repeat),
        1 => any::<prop::sample::Index>().prop_map(Edit::Swap),
    ]
}

/// The plan's JSON with `edit` made to action `at`.
fn edited(plan: &Value, at: usize, edit: &Edit) -> Value {
    let mut plan = plan.clone();
    let Some(actions) = plan.get_mut("actions").and_then(Value::as_array_mut) else {
        return plan;
    };
    let count = actions.len();
    match edit {
        Edit::Set(field, value) => {
            if let Some(action) = actions[at].as_object_mut() {
                action.insert((*field).to_owned(), value.clone());
            }
        }
        Edit::Remove(field) => {
            if let Some(action) = actions[at].as_object_mut() {
                action.remove(*field);
            }
        }
        Edit::Drop => {
            actions.remove(at);
        }
        Edit::Repeat => {
            let action = actions[at].clone();
            actions.insert(at, action);
        }
        Edit::Swap(other) => actions.swap(at, other.index(count)),
    }
    plan
}

proptest! {
    /// What `plan --out` saves passes `apply plan.json`'s checks against the world it was made
    /// in, with the guards the planner found.
    #[test]
    fn a_fresh_plan_passes_its_own_checks(world in world(ANY)) {
        let Ok(plan) = check(&world) else {
            return Err(TestCaseError::reject("no plan"));
        };
        let mut sealed = plan.clone();
        sealed.seal(Some(KEY));
        let read: Plan = serde_json::from_str(&serde_json::to_string(&sealed).expect("json"))
            .expect("reads back");
        prop_assert_eq!(read.check_seal(Some(KEY)), Ok(()));
        prop_assert_eq!(verify(&read, &world.config, &world.current, &Default::default()), Ok(plan.blocked.clone()));
    }

    /// Any single edit of an action that changes what the file says is refused: by the parser,
    /// or by the seal (with and without a signing key).
    #[test]
    fn every_edited_plan_is_refused(
        world in world(REAL),
        at in any::<prop::sample::Index>(),
        edit in edit(),
        signed in any::<bool>(),
    ) {
        let Ok(plan) = check(&world) else {
            return Err(TestCaseError::reject("no plan"));
        };
        prop_assume!(!plan.actions.is_empty());
        let key = signed.then_some(KEY);
        let mut sealed = plan;
        sealed.seal(key);
        let original = serde_json::to_value(&sealed).expect("json");
        let changed = edited(&original, at.index(sealed.actions.len()), &edit);
        let text = serde_json::to_string(&changed).expect("json");
        let Ok(read) = serde_json::from_str::<Plan>(&text) else {
            // Refused as malformed: the CLI names the file and the field.
            return Ok(());
        };
        // An edit that changes nothing the plan means (a value written as it already was) is
        // no edit.
        prop_assume!(read != sealed);
        prop_assert!(read.check_seal(key).is_err(), "edit {:?} was not detected", edit);
    }
}

/// A forgery whose digest was recomputed (anyone can hash a file): what it breaks is one of
/// the invariants `verify` holds, so it is refused all the same.
#[derive(Clone, Copy, Debug)]
enum Forgery {
    /// A create or move sent to another container than its role's.
    OtherContainer,
    /// A node action aimed at the account holder.
    AccountHolder,
    /// A node action aimed at a node of the other plane.
    OtherPlane,
}

fn forge(action: &mut Action, forgery: Forgery, rescue: &RescueSnapshot) -> bool {
    use adsync_core::model::Container;
    match forgery {
        Forgery::OtherContainer => {
            let place = match action {
                Action::CreateUser(create) => &mut create.to,
                Action::MoveUser(move_user) => &mut move_user.to,
                _ => return false,
            };
            place.container = match place.container {
                Container::Technicians => Container::MasterAdministrators,
                _ => Container::Technicians,
            };
            true
        }
        Forgery::AccountHolder | Forgery::OtherPlane => {
            let Some(plane) = action.role().map(|role| role.plane()) else {
                return false;
            };
            let target = rescue.nodes.iter().find(|node| match forgery {
                Forgery::AccountHolder => node.account_holder,
                _ => node
                    .node_type
                    .user_role()
                    .is_some_and(|role| role.plane() != plane),
            });
            let (Some(target), Some(slot)) = (target, node_slot(action)) else {
                return false;
            };
            *slot = target.id;
            true
        }
    }
}

fn node_slot(action: &mut Action) -> Option<&mut NodeId> {
    match action {
        Action::MoveUser(a) => Some(&mut a.node_id),
        Action::UpdateUser(a) => Some(&mut a.node_id),
        Action::EnableUser(a) => Some(&mut a.node_id),
        Action::SetMobileLicense(a) => Some(&mut a.node_id),
        Action::DisableUser(a) => Some(&mut a.node_id),
        Action::CreateGroup(_) | Action::CreateUser(_) => None,
    }
}

proptest! {
    #[test]
    fn forged_actions_with_a_recomputed_digest_are_refused(
        world in world(REAL),
        at in any::<prop::sample::Index>(),
        forgery in prop_oneof![
            Just(Forgery::OtherContainer),
            Just(Forgery::AccountHolder),
            Just(Forgery::OtherPlane),
        ],
    ) {
        let Ok(mut plan) = check(&world) else {
            return Err(TestCaseError::reject("no plan"));
        };
        prop_assume!(!plan.actions.is_empty());
        // The first action from `at` on that this forgery applies to.
        let count = plan.actions.len();
        let start = at.index(count);
        let forged = (0..count)
            .map(|offset| (start + offset) % count)
            .find(|&at| forge(&mut plan.actions[at], forgery, &world.current.rescue));
        let Some(at) = forged else {
            return Err(TestCaseError::reject("nothing to forge"));
        };
        plan.seal(None);
        prop_assert_eq!(plan.check_seal(None), Ok(()));
        let refusal = verify(&plan, &world.config, &world.current, &Default::default());
        prop_assert!(refusal.is_err(), "{:?} of {} was not refused", forgery, plan.actions[at].id());
    }
}
