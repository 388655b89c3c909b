//! Mapped fields (issue 24): a pairing's templates over a directory user's attributes, cut to
//! the lengths adsync writes.

use crate::config::Attribute;
use crate::error::Problem;
use crate::model::{DirectoryUser, UserKey};
use crate::warning::{Warning, WarningKind};

use super::settings::ResolvedPairing;

/// The fields a template can fill, in the order [`Mapped`] keeps them (the e-mail is the
/// identity key and takes none).
pub(super) const FIELDS: [Attribute; 4] = [
    Attribute::Name,
    Attribute::Nick,
    Attribute::Ssoid,
    Attribute::Description,
];

/// The longest text adsync writes to each field, in characters. Rescue documents no lengths (a
/// name "too long" is refused with `INVALIDPARAM_NAME`); these are adsync's own bounds, and a
/// longer mapped value is cut with a warning rather than refused by Rescue mid-apply.
pub const FIELD_LIMITS: [(Attribute, usize); 4] = [
    (Attribute::Name, 128),
    (Attribute::Nick, 64),
    (Attribute::Ssoid, 128),
    (Attribute::Description, 256),
];

/// A desired user's mapped values under its winning pairing, and the directory values they were
/// made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mapped {
    /// Per [`FIELDS`] slot, the value; `None` for a field the pairing does not map.
    pub(super) values: [Option<Box<str>>; 4],
    /// Each attribute the templates read, with the user's value (`None` when missing).
    pub(super) sources: Box<[Source]>,
}

/// An attribute a template read, and the user's value (`None` when missing).
pub(super) type Source = (Box<str>, Option<Box<str>>);

/// What mapping found besides the values.
#[derive(Debug, Default)]
pub(super) struct Findings {
    pub(super) warnings: Vec<Warning>,
    pub(super) problems: Vec<Problem>,
}

/// The values `pairing`'s templates give `user` (keyed `key`); `None` when it maps no field.
/// A required field (the name) left empty is a problem; a value beyond [`FIELD_LIMITS`] is cut
/// with a warning.
pub(super) fn map(
    pairing: &ResolvedPairing,
    user: &DirectoryUser,
    key: &UserKey,
    findings: &mut Findings,
) -> Option<Box<Mapped>> {
    if pairing.templates.is_empty() {
        return None;
    }
    let mut values: [Option<Box<str>>; 4] = Default::default();
    let mut sources: Vec<Source> = Vec::new();
    for (slot, (field, limit)) in FIELD_LIMITS.into_iter().enumerate() {
        let Some(mapped) = pairing.templates.get(&field) else {
            continue;
        };
        let mut value = mapped.template.render(user);
        if value.is_empty() && field == Attribute::Name {
            findings.problems.push(Problem::EmptyField {
                pairing: pairing.label.clone(),
                key: mapped.key.clone(),
                template: mapped.template.to_string(),
                field: field.as_str(),
                user: key.to_string(),
            });
        }
        if let Some((cut, _)) = value.char_indices().nth(limit) {
            findings.warnings.push(Warning {
                kind: WarningKind::Truncated,
                message: format!(
                    "{}: template `{}` gives {key} a {} of {} characters; cut to {limit}",
                    mapped.key,
                    mapped.template,
                    field.as_str(),
                    value.chars().count()
                ),
                email: Some(key.clone()),
            });
            value.truncate(cut);
            value.truncate(value.trim_end().len());
        }
        values[slot] = Some(value.into_boxed_str());
        for (name, found) in mapped.template.sources(user) {
            if !sources.iter().any(|(known, _)| **known == *name) {
                sources.push((name.into(), found.map(String::into_boxed_str)));
            }
        }
    }
    Some(Box::new(Mapped {
        values,
        sources: sources.into_boxed_slice(),
    }))
}

/// The slot of `field` in [`Mapped::values`].
pub(super) fn slot(field: Attribute) -> Option<usize> {
    FIELDS.iter().position(|&f| f == field)
}
