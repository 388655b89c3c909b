//! Text adsync sends to Rescue. Rescue answers in `Key:Value` lines, so a value carrying a line
//! break could, on the next read, be taken for fields of its own or for whole forged nodes
//! (node ids, e-mails, statuses). Before any value is sent:
//!
//! - free text (name, nick, description, group name) loses its control characters: C0 (NUL, CR,
//!   LF, TAB and the rest), DEL, C1, and the Unicode line and paragraph separators. Those that
//!   break lines become a space, the others are removed; a warning names the user and field.
//! - identity (e-mail, SSO ID) is refused whole: removing a character from it would make it
//!   name someone else, so the action fails with [`Error::UnsafeText`].

use std::borrow::Cow;

use crate::error::Error;

/// A field sent to Rescue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    /// A user's display name.
    Name,
    /// A user's nickname.
    Nick,
    /// A user's e-mail (identity: refused).
    Email,
    /// A user's SSO ID (identity: refused).
    Ssoid,
    /// A user's or group's description.
    Description,
    /// A group's name.
    GroupName,
}

impl Field {
    fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Nick => "nick",
            Field::Email => "e-mail",
            Field::Ssoid => "SSO ID",
            Field::Description => "description",
            Field::GroupName => "group name",
        }
    }

    fn is_identity(self) -> bool {
        matches!(self, Field::Email | Field::Ssoid)
    }
}

pub(crate) use adsync_core::text::is_unsafe;

/// `value` as it may be sent as `field` of `who` (a user or group, for messages): unchanged
/// when safe, cleaned for free text (with a warning), refused for identity.
pub(crate) fn safe<'v>(value: &'v str, field: Field, who: &str) -> Result<Cow<'v, str>, Error> {
    if !value.chars().any(is_unsafe) {
        return Ok(Cow::Borrowed(value));
    }
    if field.is_identity() {
        return Err(Error::UnsafeText {
            who: printable(who),
            field: field.as_str(),
        });
    }
    let cleaned = adsync_core::text::as_sent(value).into_owned();
    tracing::warn!(
        who = %printable(who),
        field = field.as_str(),
        "removed line breaks and control characters from a value sent to Rescue"
    );
    Ok(Cow::Owned(cleaned))
}

/// `text` with its control characters escaped, for messages.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if is_unsafe(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::parse_hierarchy;

    /// Hostile directory text: control characters, line breaks and `Key:Value` fragments.
    fn hostile_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[\\x00-\\x1f\\x7f-\\x9f\\u{2028}\\u{2029}]",
            Just("\nNodeID:9\nParentID:1\n".to_owned()),
            Just("\n\nNodeID:900\nParentID:1\nName:Eve\nEmail:e@x\nDescription:\nStatus:Online\nType:MasterAdministrator\n".to_owned()),
            Just("\r\nEmail:eve@example.com".to_owned()),
            Just("Type:Root".to_owned()),
            "\\PC{0,6}",
        ];
        prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        /// Whatever the directory holds, the cleaned value reads back from a hierarchy answer
        /// as one field of its own node: no forged field, no forged node.
        #[test]
        fn cleaned_text_reads_back_as_one_field(name in hostile_text(), description in hostile_text()) {
            let name = safe(&name, Field::Name, "x").expect("free text is cleaned");
            let description = safe(&description, Field::Description, "x").expect("cleaned");
            let answer = format!(
                "NodeID:1\nParentID:0\nName:Root\nEmail:\nDescription:\nStatus:Offline\nType:Root\n\n\
                 NodeID:5\nParentID:1\nName:{name}\nEmail:kim@contoso.com\nDescription:{description}\n\
                 Status:Online\nType:Technician\n"
            );
            let nodes = parse_hierarchy(&answer).expect("a cleaned value keeps the format");
            prop_assert_eq!(nodes.len(), 2);
            prop_assert_eq!(nodes[1].name.as_str(), name.trim());
            prop_assert_eq!(nodes[1].email.as_deref(), Some("kim@contoso.com"));
            prop_assert_eq!(nodes[1].description.as_deref(), Some(description.trim()));
            prop_assert_eq!(nodes[1].node_type.as_str(), "Technician");
        }
    }

    #[test]
    fn free_text_loses_controls_and_line_breaks_become_spaces() {
        let hostile = "Eve\r\nNodeID:9\nType:Root\u{0}\u{7f}\u{9b}x\u{2028}y\tz";
        let cleaned = safe(hostile, Field::Name, "eve@contoso.com").expect("cleaned");
        assert_eq!(cleaned, "Eve  NodeID:9 Type:Rootx y z");
        assert!(!cleaned.chars().any(is_unsafe));
        for field in [Field::Nick, Field::Description, Field::GroupName] {
            assert!(!safe(hostile, field, "x").expect("cleaned").contains('\n'));
        }
        assert!(matches!(
            safe("Plain: text ü", Field::Name, "x"),
            Ok(Cow::Borrowed("Plain: text ü"))
        ));
    }

    #[test]
    fn identity_with_controls_is_refused_naming_the_user_and_field() {
        for (field, name) in [(Field::Email, "e-mail"), (Field::Ssoid, "SSO ID")] {
            let error = safe("a@b.c\nType:Root", field, "kim@contoso.com\n").expect_err("refused");
            let text = error.to_string();
            assert!(text.contains("kim@contoso.com\\u{a}"), "{text}");
            assert!(text.contains(name), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
        assert!(safe("kim@contoso.com", Field::Email, "kim").is_ok());
    }
}
