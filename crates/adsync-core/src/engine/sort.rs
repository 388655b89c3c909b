//! Sorting by text where the texts lie scattered in memory.

/// The first 24 bytes of `text`, zero-padded, as numbers ordered as the text is: most
/// comparisons of two texts are settled by these without reading either text again.
fn prefix(text: &str) -> (u128, u64) {
    let mut bytes = [0u8; 24];
    let head = text.as_bytes();
    let len = head.len().min(24);
    bytes[..len].copy_from_slice(&head[..len]);
    let mut high = [0u8; 16];
    let mut low = [0u8; 8];
    high.copy_from_slice(&bytes[..16]);
    low.copy_from_slice(&bytes[16..]);
    (u128::from_be_bytes(high), u64::from_be_bytes(low))
}

/// `items` sorted by `text_of(item)`, then by the item itself: the order of a plain sort on
/// `(text_of(item), item)`, with each text read once up front rather than at every comparison.
pub(crate) fn by_text<'t>(items: &mut [u32], text_of: impl Fn(u32) -> &'t str) {
    let mut keyed: Vec<((u128, u64), u32)> = items
        .iter()
        .map(|&item| (prefix(text_of(item)), item))
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| text_of(a.1).cmp(text_of(b.1)))
            .then(a.1.cmp(&b.1))
    });
    for (slot, (_, item)) in items.iter_mut().zip(keyed) {
        *slot = item;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ordering by the leading bytes as numbers, then by the text, is ordering by the text.
    #[test]
    fn sorting_by_prefixes_is_sorting_by_text() {
        let texts = [
            "alexander.anderson.1@contoso.com",
            "alexander.anderson.10@contoso.com",
            "alexander.anderson.2@contoso.com",
            "alexander.anderson",
            "alexander.andersoN",
            "alexander.anders",
            "alexander.anders\0",
            "alexander",
            "",
            "b",
            "é@contoso.com",
            "alexander.anderson.2@contoso.com",
        ];
        let mut items: Vec<u32> = (0..texts.len() as u32).rev().collect();
        by_text(&mut items, |item| texts[item as usize]);
        let mut expected: Vec<u32> = (0..texts.len() as u32).collect();
        expected.sort_by(|&a, &b| texts[a as usize].cmp(texts[b as usize]).then(a.cmp(&b)));
        assert_eq!(items, expected);
    }
}
