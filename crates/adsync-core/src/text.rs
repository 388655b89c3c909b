//! Free text as Rescue's text protocol carries it (issue 26). Rescue answers in `Key:Value`
//! lines, so the adapter sends a name, nickname, description or group name without control
//! characters: those that break lines (CR, LF, TAB, VT, FF, NEL, U+2028, U+2029) become a space,
//! the rest of C0, DEL and C1 are removed. The planner compares what the directory wants as it
//! would be sent, so a directory value holding such characters is written once, not every run.

use std::borrow::Cow;

/// Whether `c` may not travel in a value of Rescue's text protocol.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Whether `c` ends a line somewhere (it becomes a space rather than vanish).
fn breaks_line(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\t' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `value` as free text is sent to Rescue: unchanged when it holds nothing unsafe.
pub fn as_sent(value: &str) -> Cow<'_, str> {
    if !value.chars().any(is_unsafe) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(
        value
            .chars()
            .filter_map(|c| match c {
                c if breaks_line(c) => Some(' '),
                c if is_unsafe(c) => None,
                c => Some(c),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_spaces_and_other_controls_go() {
        assert_eq!(as_sent("Jane\nDoe"), "Jane Doe");
        assert_eq!(as_sent("Jane\r\nDoe"), "Jane  Doe");
        assert_eq!(as_sent("a\u{0}b\u{7f}c\u{9b}d\u{2028}e"), "abcd e");
        assert!(matches!(as_sent("Jane Doe"), Cow::Borrowed(_)));
    }
}
