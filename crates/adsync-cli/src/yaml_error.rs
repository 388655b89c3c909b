//! The configuration parser's messages, made into what an operator can act on: the line of a
//! duplicate key (the parser gives the line of its block), "did you mean" for unknown keys and
//! values, and what a number must look like instead of a Rust type name.

use crate::suggest;

/// `message` (serde_yaml's, for `text`) rewritten for people.
pub(crate) fn explain(message: &str, text: &str) -> String {
    let (body, location) = split_location(message);
    let body = untagged(body);
    let body = type_names(&body);
    if let Some(field) = between(&body, "duplicate field `", "`")
        && let Some((line, _)) = location
        && let Some((first, duplicate)) = duplicate_lines(text, line, field)
    {
        let key = body
            .split_once("duplicate field")
            .map_or("", |(key, _)| key);
        return format!(
            "{key}duplicate key `{field}` at line {duplicate} (its first value is at line {first}); \
             a key may appear once in a block"
        );
    }
    let hint = unknown(&body);
    match location {
        Some((line, column)) => format!("{body} at line {line} column {column}{hint}"),
        None => format!("{body}{hint}"),
    }
}

/// `body` and `(line, column)` from `... at line L column C`.
fn split_location(message: &str) -> (&str, Option<(usize, usize)>) {
    let Some((body, at)) = message.rsplit_once(" at line ") else {
        return (message, None);
    };
    let mut parts = at.split(" column ");
    let line = parts.next().and_then(|l| l.trim().parse().ok());
    let column = parts.next().and_then(|c| c.trim().parse().ok());
    match (line, column) {
        (Some(line), Some(column)) => (body, Some((line, column))),
        _ => (message, None),
    }
}

/// serde_yaml's messages for untagged enums say nothing useful; say what was expected.
fn untagged(body: &str) -> String {
    body.replace(
        "data did not match any variant of untagged enum GroupRef",
        "expected a group display name or `{ id: <guid> }`",
    )
    .replace(
        "data did not match any variant of untagged enum DestinationRef",
        "expected a group path (`Helpdesk/L2`) or `{ id: N }`",
    )
}

/// Rust's type names, as serde prints them, in words.
fn type_names(body: &str) -> String {
    let mut body = body.to_owned();
    for (rust, words) in [
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u16", "expected a whole number, 0 or more"),
        ("expected u8", "expected a whole number, 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ] {
        if body.ends_with(rust) || body.contains(&format!("{rust},")) {
            body = body.replace(rust, words);
        }
    }
    body
}

/// `; did you mean `x`?` for an unknown field or variant, from the names serde lists.
fn unknown(body: &str) -> String {
    let word =
        between(body, "unknown field `", "`").or_else(|| between(body, "unknown variant `", "`"));
    let Some(word) = word else {
        return String::new();
    };
    let Some((_, expected)) = body.split_once(", expected ") else {
        return String::new();
    };
    let names: Vec<&str> = expected
        .split('`')
        .enumerate()
        .filter(|(at, _)| at % 2 == 1)
        .map(|(_, name)| name)
        .collect();
    suggest::did_you_mean(word, names)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(start)?;
    rest.split_once(end).map(|(inside, _)| inside)
}

/// The lines (1-based) of the first and second `key:` in the block mapping that starts at
/// `line`, at its indentation; `None` when they cannot be told (flow mappings).
fn duplicate_lines(text: &str, line: usize, key: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.get(line.checked_sub(1)?)?;
    let indent = key_indent(start)?;
    let mut found = Vec::new();
    for (at, current) in lines.iter().enumerate().skip(line - 1) {
        let trimmed = current.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some(this) = key_indent(current) else {
            continue;
        };
        if this < indent && at > line - 1 {
            break;
        }
        let content = current.get(this..).unwrap_or_default();
        if this == indent && is_key(content, key) {
            found.push(at + 1);
        }
    }
    (found.len() >= 2).then(|| (found[0], found[1]))
}

/// Where a line's key starts: after the indentation and any `- ` of a sequence item.
fn key_indent(line: &str) -> Option<usize> {
    let mut at = line.len() - line.trim_start().len();
    while line.get(at..).is_some_and(|rest| rest.starts_with("- ")) {
        at += 2;
        at += line[at..].len() - line[at..].trim_start().len();
    }
    (at < line.len()).then_some(at)
}

fn is_key(content: &str, key: &str) -> bool {
    let content = content.trim_start_matches(['"', '\'']);
    content
        .strip_prefix(key)
        .is_some_and(|rest| rest.trim_start_matches(['"', '\'']).starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_is_reported_at_its_own_line() {
        let text = "source:\n  type: snapshot\n  path: d.yaml\n  # a comment\n  path: e.yaml\ntarget: {}\n";
        let message = explain("source: duplicate field `path` at line 2 column 3", text);
        assert_eq!(
            message,
            "source: duplicate key `path` at line 5 (its first value is at line 3); a key may \
             appear once in a block"
        );
    }

    #[test]
    fn duplicates_in_a_sequence_item_are_found_too() {
        let text = "pairings:\n  - name: a\n    role: technician\n    role: administrator\n";
        let message = explain(
            "pairings[0]: duplicate field `role` at line 2 column 5",
            text,
        );
        assert!(
            message.contains("at line 4 (its first value is at line 3)"),
            "{message}"
        );
    }

    #[test]
    fn unknown_keys_and_values_get_a_suggestion() {
        let message = explain(
            "unknown field `pairngs`, expected one of `source`, `target`, `sync`, `pairings` at line 7 column 1",
            "",
        );
        assert!(
            message.ends_with("at line 7 column 1; did you mean `pairings`?"),
            "{message}"
        );
        let message = explain(
            "target.type: unknown variant `snapshott`, expected `rescue` or `snapshot` at line 5 column 9",
            "",
        );
        assert!(message.contains("did you mean `snapshot`?"), "{message}");
    }

    #[test]
    fn type_names_become_words() {
        let message = explain(
            "target.concurrency: invalid type: integer `-1`, expected usize at line 7 column 16",
            "",
        );
        assert_eq!(
            message,
            "target.concurrency: invalid type: integer `-1`, expected a whole number, 0 or more \
             at line 7 column 16"
        );
    }
}
