//! Templates over directory attributes: what a mapped field is made of.
//!
//! ```text
//! "{givenName} {surname}"             two attributes and a space
//! "{mail|userPrincipalName}"          the first of the two that is not empty
//! "{employeeId:upper}"                transforms after a colon: lower, upper, trim
//! "{displayName} ({department})"      any text around them; {{ and }} for braces
//! ```
//!
//! Attributes are Graph names ([`crate::attribute::kind_of`]). A missing attribute gives an
//! empty text; the whole result is trimmed. Target-neutral: [`parse`] once, then
//! [`Template::render`] over anything that implements [`Attributes`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::attribute::{self, Attributes, Value};

/// A parsed template; compares and prints as its text.
#[derive(Clone, Debug)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Field {
        /// The attributes, first one not empty wins.
        names: Vec<String>,
        transforms: Vec<Transform>,
    },
}

/// A transform applied to a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
    /// Spaces off both ends.
    Trim,
}

/// Why a template does not parse: where (1-based character column) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct TemplateError {
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses `text`, checking every attribute and transform.
pub fn parse(text: &str) -> Result<Template, TemplateError> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        match (c, chars.get(at + 1)) {
            ('{', Some('{')) | ('}', Some('}')) => {
                literal.push(c);
                at += 2;
            }
            ('{', _) => {
                let close = (at..chars.len())
                    .find(|&i| chars[i] == '}')
                    .ok_or(TemplateError {
                        column: at + 1,
                        message: "this `{` has no closing `}` (write `{{` for a brace)".into(),
                    })?;
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(field(&chars[at + 1..close], at + 2)?);
                at = close + 1;
            }
            ('}', _) => {
                return Err(TemplateError {
                    column: at + 1,
                    message: "a `}` without its `{` (write `}}` for a brace)".into(),
                });
            }
            _ => {
                literal.push(c);
                at += 1;
            }
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Text(literal));
    }
    Ok(Template {
        text: text.to_owned(),
        parts,
    })
}

/// `names:transform:…` between braces, the first character at `column`.
fn field(inside: &[char], column: usize) -> Result<Part, TemplateError> {
    let inside: String = inside.iter().collect();
    let mut pieces = inside.split(':');
    let alternatives = pieces.next().unwrap_or_default();
    let mut names = Vec::new();
    let mut offset = 0;
    for name in alternatives.split('|') {
        let trimmed = name.trim();
        let at = column + offset + name.chars().take_while(|c| c.is_whitespace()).count();
        if trimmed.is_empty() {
            return Err(TemplateError {
                column: at,
                message: "expected an attribute name (`{givenName}`, `{mail|userPrincipalName}`)"
                    .into(),
            });
        }
        attribute::kind_of(trimmed).map_err(|message| TemplateError {
            column: at,
            message,
        })?;
        names.push(trimmed.to_owned());
        offset += name.chars().count() + 1;
    }
    let mut transforms = Vec::new();
    offset = alternatives.chars().count() + 1;
    for piece in pieces {
        transforms.push(match piece.trim() {
            "lower" => Transform::Lower,
            "upper" => Transform::Upper,
            "trim" => Transform::Trim,
            other => {
                return Err(TemplateError {
                    column: column + offset,
                    message: format!("unknown transform `{other}`; known: lower, upper, trim"),
                });
            }
        });
        offset += piece.chars().count() + 1;
    }
    Ok(Part::Field { names, transforms })
}

impl Template {
    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text for `user`: each field the first of its attributes that is not empty,
    /// transformed; the whole trimmed.
    pub fn render(&self, user: &impl Attributes) -> String {
        let mut out = String::new();
        self.render_into(user, &mut out);
        out
    }

    /// [`Template::render`], appended to `out` (which keeps what it held before).
    pub fn render_into(&self, user: &impl Attributes, out: &mut String) {
        let start = out.len();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field { names, transforms } => {
                    let value = names.iter().find_map(|name| text_of(user.value(name)));
                    let value = value.unwrap_or_default();
                    if transforms.is_empty() {
                        out.push_str(value);
                    } else {
                        out.push_str(&transformed(value.to_owned(), transforms));
                    }
                }
            }
        }
        let kept = out[start..].trim_end().len();
        out.truncate(start + kept);
        let lead = out[start..].len() - out[start..].trim_start().len();
        out.drain(start..start + lead);
    }

    /// The attributes the template reads, each once, in the order written.
    pub fn attributes(&self) -> Vec<&str> {
        let mut found: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Field { names, .. } = part {
                for name in names {
                    if !found.contains(&name.as_str()) {
                        found.push(name);
                    }
                }
            }
        }
        found
    }

    /// Each attribute the template reads with `user`'s value (`None` when missing), for plans and
    /// `explain`: where a mapped value came from.
    pub fn sources(&self, user: &impl Attributes) -> Vec<(String, Option<String>)> {
        self.attributes()
            .into_iter()
            .map(|name| (name.to_owned(), non_empty(user.value(name))))
            .collect()
    }
}

fn non_empty(value: Value<'_>) -> Option<String> {
    text_of(value).map(str::to_owned)
}

/// A value as a template shows it: `None` when missing or blank.
pub fn text_of(value: Value<'_>) -> Option<&str> {
    match value {
        Value::Missing => None,
        Value::Text(text) if text.trim().is_empty() => None,
        Value::Text(text) => Some(text),
        Value::Bool(true) => Some("true"),
        Value::Bool(false) => Some("false"),
    }
}

fn transformed(mut value: String, transforms: &[Transform]) -> String {
    for transform in transforms {
        value = match transform {
            Transform::Lower => value.to_lowercase(),
            Transform::Upper => value.to_uppercase(),
            Transform::Trim => value.trim().to_owned(),
        };
    }
    value
}

impl PartialEq for Template {
    fn eq(&self, other: &Template) -> bool {
        self.text == other.text
    }
}

impl Eq for Template {}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Template, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text)
            .map_err(|error| serde::de::Error::custom(format!("template `{text}`, {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DirectoryUser;

    fn jane() -> DirectoryUser {
        let mut user: DirectoryUser = serde_json::from_value(serde_json::json!({
            "id": "u1", "upn": "Jane@Contoso.com", "display_name": "Jane Doe",
            "given_name": "Jane", "surname": "Doe", "department": " Service Desk ",
        }))
        .expect("a user");
        user.attributes.insert(
            "onPremisesExtensionAttributes.extensionAttribute7".into(),
            "JD-0042".into(),
        );
        user
    }

    #[test]
    fn templates_render_with_fallbacks_and_transforms() {
        for (text, expected) in [
            ("{givenName} {surname}", "Jane Doe"),
            ("{mail|userPrincipalName:lower}", "jane@contoso.com"),
            (
                "{displayName} ({department:trim})",
                "Jane Doe (Service Desk)",
            ),
            (
                "{onPremisesExtensionAttributes.extensionAttribute7:lower}",
                "jd-0042",
            ),
            ("{jobTitle} ", ""),
            ("{{{employeeId|givenName:upper}}}", "{JANE}"),
        ] {
            assert_eq!(parse(text).expect(text).render(&jane()), expected, "{text}");
        }
        let template = parse("{mail|userPrincipalName}").expect("parses");
        assert_eq!(template.attributes(), ["mail", "userPrincipalName"]);
        assert_eq!(
            template.sources(&jane()),
            [
                ("mail".to_owned(), None),
                (
                    "userPrincipalName".to_owned(),
                    Some("Jane@Contoso.com".to_owned())
                )
            ]
        );
    }

    #[test]
    fn errors_point_at_the_column() {
        for (text, column, words) in [
            ("{givenName} {surnam}", 14, "unknown attribute `surnam`"),
            ("{mail|}", 7, "expected an attribute name"),
            ("{mail| upn}", 8, "unknown attribute `upn`"),
            ("{mail:shout}", 7, "unknown transform `shout`"),
            ("{givenName", 1, "no closing"),
            ("a } b", 3, "without its `{`"),
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(
                (error.column, error.message.contains(words)),
                (column, true),
                "{text}: {error}"
            );
        }
    }
}
