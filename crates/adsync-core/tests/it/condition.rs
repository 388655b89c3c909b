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
