//! A pairing's `where:` condition as Graph's `$filter`.
//!
//! Graph compares texts without regard to case, as adsync's own evaluation does. Where Graph's
//! treatment of a missing value is not documented (`ne`, `not`), the filter asks for the
//! missing values explicitly (`or department eq null`), so Graph returns at least every user
//! the condition selects; adsync evaluates the condition again over what it read, so a wider
//! answer never widens the pairing. The filter uses `ne`, `not` and `onPremisesExtensionAttributes`,
//! which make it an advanced query: it is always sent with `ConsistencyLevel: eventual` and
//! `$count=true` (graph-api.md §2.1).

use adsync_core::attribute::ON_PREMISES_EXTENSIONS;
use adsync_core::condition::{Condition, Literal, Op};

/// `condition` as a `$filter` value.
pub fn graph_filter(condition: &Condition) -> String {
    write(condition, false, true)
}

/// `condition` (negated when `negate`), parenthesized unless `top`.
fn write(condition: &Condition, negate: bool, top: bool) -> String {
    let joined = |parts: &[Condition], word: &str| {
        let parts: Vec<String> = parts.iter().map(|c| write(c, negate, false)).collect();
        let text = parts.join(word);
        if top { text } else { format!("({text})") }
    };
    match condition {
        Condition::Compare {
            attribute,
            op,
            value,
        } => compare(&property(attribute), *op, value, negate, top),
        Condition::In { attribute, values } => {
            let alternatives: Vec<Condition> = values
                .iter()
                .map(|value| Condition::Compare {
                    attribute: attribute.clone(),
                    op: Op::Eq,
                    value: value.clone(),
                })
                .collect();
            match (negate, alternatives.as_slice()) {
                (_, [one]) => write(one, negate, top),
                (false, _) if !values.contains(&Literal::Null) => {
                    let list: Vec<String> = values.iter().map(literal).collect();
                    format!("{} in ({})", property(attribute), list.join(","))
                }
                (false, _) => joined(&alternatives, " or "),
                (true, _) => joined(&alternatives, " and "),
            }
        }
        Condition::Not(inner) => write(inner, !negate, top),
        Condition::And(all) if negate => joined(all, " or "),
        Condition::And(all) => joined(all, " and "),
        Condition::Or(any) if negate => joined(any, " and "),
        Condition::Or(any) => joined(any, " or "),
    }
}

fn compare(property: &str, op: Op, value: &Literal, negate: bool, top: bool) -> String {
    let wrap = |text: String| if top { text } else { format!("({text})") };
    let or_missing = |text: String| match value {
        Literal::Text(_) => wrap(format!("{text} or {property} eq null")),
        _ => text,
    };
    let value_text = literal(value);
    match (op, negate) {
        (Op::Eq, false) | (Op::Ne, true) => format!("{property} eq {value_text}"),
        (Op::Ne, false) | (Op::Eq, true) => or_missing(format!("{property} ne {value_text}")),
        (Op::StartsWith, false) => format!("startswith({property},{value_text})"),
        (Op::StartsWith, true) => or_missing(format!("not(startswith({property},{value_text}))")),
    }
}

/// Graph's path of an attribute (`onPremisesExtensionAttributes/extensionAttribute7`).
fn property(attribute: &str) -> String {
    match attribute.strip_prefix(ON_PREMISES_EXTENSIONS) {
        Some(rest) => format!("{ON_PREMISES_EXTENSIONS}/{}", rest.trim_start_matches('.')),
        None => attribute.to_owned(),
    }
}

fn literal(value: &Literal) -> String {
    match value {
        Literal::Text(text) => format!("'{}'", text.replace('\'', "''")),
        Literal::Bool(value) => value.to_string(),
        Literal::Null => "null".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adsync_core::condition::parse;

    #[test]
    fn conditions_become_graph_filters() {
        for (text, filter) in [
            (
                r#"department eq "Service Desk" and accountEnabled eq true"#,
                "department eq 'Service Desk' and accountEnabled eq true",
            ),
            (
                "onPremisesExtensionAttributes.extensionAttribute3 eq 'rescue-l2'",
                "onPremisesExtensionAttributes/extensionAttribute3 eq 'rescue-l2'",
            ),
            (
                "jobTitle startswith \"O'Brien\"",
                "startswith(jobTitle,'O''Brien')",
            ),
            ("department in ('A', 'B')", "department in ('A','B')"),
            (
                "department in ('A', null)",
                "department eq 'A' or department eq null",
            ),
            (
                "department ne 'Sales'",
                "department ne 'Sales' or department eq null",
            ),
            (
                "not (department eq 'Sales' or jobTitle startswith 'x')",
                "(department ne 'Sales' or department eq null) and (not(startswith(jobTitle,'x')) or jobTitle eq null)",
            ),
            (
                "accountEnabled eq true and (department eq 'A' or mail eq null)",
                "accountEnabled eq true and (department eq 'A' or mail eq null)",
            ),
            ("not mail eq null", "mail ne null"),
        ] {
            assert_eq!(graph_filter(&parse(text).expect(text)), filter, "{text}");
        }
    }
}
