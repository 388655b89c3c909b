//! Mapped fields (issue 24): a pairing's templates over a directory user's attributes, cut to
//! the lengths adsync writes.

use crate::attribute::Attributes;
use crate::config::Attribute;
use crate::error::Problem;
use crate::model::{DirectoryUser, UserKey};
use crate::template::text_of;
use crate::warning::{Warning, WarningKind};

use super::settings::ResolvedPairing;

/// The longest text adsync writes to each field, in characters. Rescue documents no lengths (a
/// name "too long" is refused with `INVALIDPARAM_NAME`); these are adsync's own bounds, and a
/// longer mapped value is cut with a warning rather than refused by Rescue mid-apply.
pub const FIELD_LIMITS: [(Attribute, usize); 4] = [
    (Attribute::Name, 128),
    (Attribute::Nick, 64),
    (Attribute::Ssoid, 128),
    (Attribute::Description, 256),
];

/// Marks a missing attribute's end in [`Mapped::ends`].
const MISSING: u32 = 1 << 31;

/// A desired user's mapped values under its winning pairing, and the directory values they were
/// made from, in two allocations: the values of the fields the pairing maps (in
/// `pairing.templates` order), then the value of each attribute the templates read (in
/// [`read_by`] order), back to back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mapped {
    texts: Box<str>,
    /// Where each piece ends in `texts`, [`MISSING`] set for an attribute without a value.
    ends: Box<[u32]>,
}

impl Mapped {
    /// Piece `at`; `None` for a missing attribute.
    fn piece(&self, at: usize) -> Option<&str> {
        let end = *self.ends.get(at)?;
        if end & MISSING != 0 {
            return None;
        }
        let start = match at {
            0 => 0,
            _ => self.ends[at - 1] & !MISSING,
        };
        self.texts.get(start as usize..end as usize)
    }

    /// The value of `field` under `pairing` (the pairing the values were made for).
    pub(super) fn value(&self, pairing: &ResolvedPairing, field: Attribute) -> Option<&str> {
        let at = pairing.templates.keys().position(|&f| f == field)?;
        self.piece(at)
    }

    /// The value of the `n`th attribute [`read_by`] lists.
    pub(super) fn source(&self, pairing: &ResolvedPairing, n: usize) -> Option<&str> {
        self.piece(pairing.templates.len() + n)
    }
}

/// What mapping found besides the values.
#[derive(Debug, Default)]
pub(super) struct Findings {
    pub(super) warnings: Vec<Warning>,
    pub(super) problems: Vec<Problem>,
}

/// The attributes `pairing`'s templates read, each once, in the order of its templates.
pub(super) fn read_by(pairing: &ResolvedPairing) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for mapped in pairing.templates.values() {
        for name in mapped.template.attributes() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The values `pairing`'s templates give `user` (keyed `key`), with the values of the
/// attributes `read` (the pairing's [`read_by`]); `None` when it maps no field. A required field
/// (the name) left empty is a problem; a value beyond [`FIELD_LIMITS`] is cut with a warning.
pub(super) fn map(
    pairing: &ResolvedPairing,
    read: &[&str],
    user: &DirectoryUser,
    key: &UserKey,
    findings: &mut Findings,
) -> Option<Box<Mapped>> {
    if pairing.templates.is_empty() {
        return None;
    }
    let mut texts = String::new();
    let mut ends = Vec::with_capacity(pairing.templates.len() + read.len());
    for (&field, mapped) in &pairing.templates {
        let start = texts.len();
        mapped.template.render_into(user, &mut texts);
        if start == texts.len() && field == Attribute::Name {
            findings.problems.push(Problem::EmptyField {
                pairing: pairing.label.clone(),
                key: mapped.key.clone(),
                template: mapped.template.to_string(),
                field: field.as_str(),
                user: key.to_string(),
            });
        }
        let limit = FIELD_LIMITS
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(usize::MAX, |(_, limit)| *limit);
        if let Some((cut, _)) = texts[start..].char_indices().nth(limit) {
            findings.warnings.push(Warning {
                kind: WarningKind::Truncated,
                message: format!(
                    "{}: template `{}` gives {key} a {} of {} characters; cut to {limit}",
                    mapped.key,
                    mapped.template,
                    field.as_str(),
                    texts[start..].chars().count()
                ),
                email: Some(key.clone()),
            });
            texts.truncate(start + cut);
            texts.truncate(start + texts[start..].trim_end().len());
        }
        ends.push(end(&texts));
    }
    for name in read {
        match text_of(user.value(name)) {
            Some(value) => {
                texts.push_str(value);
                ends.push(end(&texts));
            }
            None => ends.push(end(&texts) | MISSING),
        }
    }
    Some(Box::new(Mapped {
        texts: texts.into_boxed_str(),
        ends: ends.into_boxed_slice(),
    }))
}

/// The end of `texts` as a piece's end. A directory user's texts are far below 2 GiB (the
/// snapshot was read into memory, and mapped fields are cut to their limits).
fn end(texts: &str) -> u32 {
    u32::try_from(texts.len()).unwrap_or(MISSING - 1) & !MISSING
}
