//! "did you mean `…`?": the closest of the names a place accepts, when one is close enough.

/// The candidate closest to `word`, when it is close enough to be what was meant: at most a
/// third of its letters differ (case aside), or one is the other with a prefix or suffix.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|candidate| !candidate.is_empty())
        .map(|candidate| {
            let lower = candidate.to_lowercase();
            let distance = strsim::damerau_levenshtein(&word, &lower);
            (distance, candidate, lower)
        })
        .filter(|(distance, _, lower)| {
            let allowed = (word.chars().count().max(lower.chars().count()) / 3).max(1);
            *distance <= allowed
                || (word.len() >= 3 && (lower.contains(&word) || word.contains(lower.as_str())))
        })
        .min_by_key(|(distance, candidate, _)| (*distance, *candidate))
        .map(|(_, candidate, _)| candidate)
}

/// `; did you mean `x`?` for messages, or nothing.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    closest(word, candidates)
        .map(|found| format!("; did you mean `{found}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let keys = ["source", "target", "sync", "pairings"];
        assert_eq!(closest("pairngs", keys), Some("pairings"));
        assert_eq!(closest("Sync", keys), Some("sync"));
        assert_eq!(closest("targte", keys), Some("target"));
        assert_eq!(closest("colour", keys), None);
        let paths = ["Helpdesk/L1", "Helpdesk/L2", "Contractors"];
        assert_eq!(closest("Helpdesk/L3", paths), Some("Helpdesk/L1"));
        assert_eq!(closest("helpdesk", paths), Some("Helpdesk/L1"));
    }
}
