//! The `where:` expression language: no input panics the parser, and every condition printed
//! parses back to itself.

use adsync_core::condition::{Condition, Literal, Op, parse};
use proptest::prelude::*;

const ATTRIBUTES: [&str; 6] = [
    "department",
    "jobTitle",
    "mail",
    "employeeId",
    "onPremisesExtensionAttributes.extensionAttribute7",
    "extension_0123456789abcdef0123456789abcdef_costCenter",
];

fn text() -> impl Strategy<Value = Literal> {
    prop_oneof![
        "[ -~]{0,12}".prop_map(Literal::Text),
        "\\PC{0,6}".prop_map(Literal::Text),
        Just(Literal::Null),
    ]
}

fn leaf() -> impl Strategy<Value = Condition> {
    let attribute = prop::sample::select(&ATTRIBUTES[..]).prop_map(str::to_owned);
    prop_oneof![
        (
            attribute.clone(),
            prop::sample::select(vec![Op::Eq, Op::Ne]),
            text()
        )
            .prop_map(|(attribute, op, value)| Condition::Compare {
                attribute,
                op,
                value
            }),
        (attribute.clone(), "[ -~]{0,8}").prop_map(|(attribute, prefix)| Condition::Compare {
            attribute,
            op: Op::StartsWith,
            value: Literal::Text(prefix),
        }),
        (attribute, prop::collection::vec(text(), 1..4))
            .prop_map(|(attribute, values)| Condition::In { attribute, values }),
        any::<bool>().prop_map(|wanted| Condition::Compare {
            attribute: "accountEnabled".into(),
            op: Op::Eq,
            value: Literal::Bool(wanted),
        }),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Condition::Not(Box::new(c))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Condition::And),
            prop::collection::vec(inner, 2..4).prop_map(Condition::Or),
        ]
    })
}

/// Text that looks like conditions often enough to reach deep into the parser.
fn noise() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("department".to_owned()),
        Just("accountEnabled".to_owned()),
        Just(" eq ".to_owned()),
        Just(" ne ".to_owned()),
        Just(" startswith ".to_owned()),
        Just(" in ".to_owned()),
        Just(" and ".to_owned()),
        Just(" or ".to_owned()),
        Just("not ".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(",".to_owned()),
        Just("'x'".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        "\\PC{0,3}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn no_input_panics_and_errors_point_inside_the_text(text in noise()) {
        if let Err(error) = parse(&text) {
            prop_assert!(error.column >= 1 && error.column <= text.chars().count() + 1);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
        let _ = parse(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn printing_then_parsing_round_trips(condition in condition()) {
        let printed = condition.to_string();
        prop_assert_eq!(parse(&printed), Ok(condition), "{}", printed);
    }
}

mod priority {
    //! A pairing that selects by attribute takes part in priority exactly as a group pairing
    //! does: every generated world planned with each group pairing replaced by
    //! `where: id in (<the group's members>)` gives the same plan, but for the words that name
    //! how a pairing selects.

    use adsync_core::config::{GroupRef, Where};
    use adsync_core::desired::{desired, group_members};
    use proptest::prelude::*;
    use serde_json::Value;

    use crate::properties::{ANY, World, check, world};

    /// `world` with each pairing's group replaced by a condition naming its members, and the
    /// pairing named as its group resolved; `None` when a group does not resolve.
    fn by_attribute(world: &World) -> Option<World> {
        world.config.validate().ok()?;
        let wanted = desired(&world.directory, &world.config).ok()?;
        let nested = world.config.source.nested_groups();
        let mut changed = world.clone();
        let pairings = changed.config.pairings.iter_mut().zip(&wanted.pairings);
        for (index, (pairing, resolved)) in pairings.enumerate() {
            let group: GroupRef = pairing.entra_group.take()?;
            let (_, members) = group_members(&world.directory, &group, nested).ok()?;
            // An id no user has keeps two pairings with the same members distinct (the
            // configuration refuses a condition given twice for one destination).
            let ids: Vec<String> = members
                .iter()
                .map(|u| format!("'{}'", u.id.replace('\'', "''")))
                .chain([format!("'no-such-user-{index}'")])
                .collect();
            let text = format!("id in ({})", ids.join(", "));
            pairing.condition = Some(Where::parse(&text).ok()?);
            pairing.name = Some(resolved.label.clone());
        }
        Some(changed)
    }

    /// The plan as JSON without what names the selection: the configuration digest, the
    /// pairings' group or condition, the blocking reason's words and a guard's condition, each
    /// action's reason, and warnings about group members the directory does not hold (a
    /// condition lists none).
    fn comparable(plan: &adsync_core::plan::Plan) -> Value {
        let mut json = serde_json::to_value(plan).expect("a plan serializes");
        let object = json.as_object_mut().expect("an object");
        object.remove("config_digest");
        object.remove("pairings");
        if let Some(blocked) = object["blocked"].as_object_mut() {
            blocked.remove("reason");
            for guard in blocked["guards"].as_array_mut().expect("guards") {
                guard.as_object_mut().expect("a guard").remove("where");
            }
        }
        for action in object["actions"].as_array_mut().expect("actions") {
            action.as_object_mut().expect("an action").remove("reason");
        }
        object["warnings"]
            .as_array_mut()
            .expect("warnings")
            .retain(|w| w["kind"] != "unknown_member");
        json
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn an_attribute_pairing_competes_as_its_group_would(world in world(ANY)) {
            let Some(changed) = by_attribute(&world) else {
                return Err(TestCaseError::reject("an invalid configuration or a group not found"));
            };
            match (check(&world), check(&changed)) {
                (Ok(by_group), Ok(by_condition)) => {
                    prop_assert_eq!(comparable(&by_group), comparable(&by_condition));
                }
                (Err(_), Err(_)) => {}
                (by_group, by_condition) => prop_assert!(
                    false,
                    "one plans, the other does not: {:?} / {:?}",
                    by_group.map(|_| ()),
                    by_condition.map(|_| ())
                ),
            }
        }
    }
}
