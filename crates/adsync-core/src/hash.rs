//! A fast hasher for the planner's internal maps.
//!
//! The standard library's SipHash resists collision attacks at a cost that dominates a planner
//! looking up a million memberships (SPEC §12). These maps are keyed by the organization's own
//! object ids, e-mails and node ids, are never exposed, and never decide output order (that is
//! always a sort or a `BTreeMap`), so the multiplicative hash rustc itself uses ("Fx") is enough.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// The Fx hash: rotate, xor, multiply, a word at a time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply only carries entropy upwards, and hashbrown picks buckets by the low
        // bits: fold the high bits down (the finaliser of MurmurHash3), or keys that differ in
        // their middle (`jane.doe.123@…`, `jane.doe.124@…`) crowd into a few buckets.
        let mut hash = self.hash;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash
    }
}

/// The [`FxHasher`] hash of `text`.
fn hash_bytes(text: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(text);
    hasher.finish()
}

/// An open-addressing table from strings to `u32` values that keeps only a tag and the value in
/// each slot (eight bytes), the strings themselves staying where the caller keeps them, found
/// through `text_of(value)` (as bytes). A lookup touches one slot, and a string only when its tag matches:
/// with hundreds of thousands of keys that is one cache miss where a `HashMap<&str, u32>` takes
/// three (control byte, entry, string).
#[derive(Debug)]
pub(crate) struct StrTable {
    /// [`StrTable::EMPTY`] when empty, else the hash's high half (never zero) above the value
    /// (never `u32::MAX`).
    slots: Vec<u64>,
    mask: usize,
}

impl StrTable {
    /// A free slot. Not zero: a table of zeros would be mapped lazily, and its first lookups,
    /// which read slots before anything is written, would fault each page twice (once to map
    /// the shared zero page, once to copy it on the first write). Filling it writes each page
    /// once, in order.
    const EMPTY: u64 = u64::MAX;

    /// A table for `entries` strings, at most half full.
    pub(crate) fn with_capacity(entries: usize) -> StrTable {
        let size = entries.max(4).saturating_mul(2).next_power_of_two();
        StrTable {
            slots: vec![StrTable::EMPTY; size],
            mask: size - 1,
        }
    }

    fn split(text: &[u8]) -> (usize, u64) {
        let hash = hash_bytes(text);
        // The index comes from the low bits, the tag from the high half, never zero.
        ((hash as usize), (hash >> 32 | 1) << 32)
    }

    /// The value stored for `text`.
    pub(crate) fn get<'s>(&self, text: &[u8], text_of: impl Fn(u32) -> &'s [u8]) -> Option<u32> {
        let (mut at, tag) = StrTable::split(text);
        loop {
            let slot = self.slots[at & self.mask];
            if slot == StrTable::EMPTY {
                return None;
            }
            let value = slot as u32;
            if slot & !0xffff_ffff == tag && text_of(value) == text {
                return Some(value);
            }
            at = at.wrapping_add(1);
        }
    }

    /// Stores `text(0)`, `text(1)`, … `text(count - 1)` in order, each with `value(i)` (below
    /// `u32::MAX`), unless
    /// the text has a value already (the first one stored stays); a batch at a time, the slots
    /// of a batch read together so that their cache misses overlap.
    pub(crate) fn insert_many<'s>(
        &mut self,
        count: usize,
        text: impl Fn(usize) -> &'s [u8],
        value: impl Fn(usize) -> u32,
        text_of: impl Fn(u32) -> &'s [u8],
    ) {
        const BATCH: usize = 32;
        let mut split = [(0usize, 0u64); BATCH];
        for start in (0..count).step_by(BATCH) {
            let batch = start..count.min(start + BATCH);
            for (at, i) in batch.clone().enumerate() {
                split[at] = StrTable::split(text(i));
            }
            // A loop of its own, so that the batch's slot reads are all in flight at once.
            let touched = split[..batch.len()]
                .iter()
                .fold(0u64, |acc, &(at, _)| acc ^ self.slots[at & self.mask]);
            std::hint::black_box(touched);
            for (at, i) in batch.enumerate() {
                self.insert_split(text(i), split[at], value(i), &text_of);
            }
        }
    }

    fn insert_split<'s>(
        &mut self,
        text: &[u8],
        (mut at, tag): (usize, u64),
        value: u32,
        text_of: &impl Fn(u32) -> &'s [u8],
    ) -> u32 {
        debug_assert_ne!(value, u32::MAX, "a value the empty slot uses");
        loop {
            let slot = &mut self.slots[at & self.mask];
            if *slot == StrTable::EMPTY {
                *slot = tag | u64::from(value);
                return value;
            }
            let existing = *slot as u32;
            if *slot & !0xffff_ffff == tag && text_of(existing) == text {
                return existing;
            }
            at = at.wrapping_add(1);
        }
    }
}

/// An open-addressing table from `u64` ids to `u32` positions, built in batches like
/// [`StrTable::insert_many`]: a table of hundreds of thousands of ids is larger than the caches,
/// and a `HashMap` filled one id at a time waits for one cache miss (or two) per id.
#[derive(Debug)]
pub(crate) struct IdTable {
    /// `(id, position)`; `position == EMPTY` marks a free slot.
    slots: Vec<(u64, u32)>,
    /// How far the index is shifted: the slot comes from the hash's high bits.
    shift: u32,
}

const EMPTY: u32 = u32::MAX;

impl IdTable {
    /// A table for `entries` ids, at most three-quarters full.
    pub(crate) fn with_capacity(entries: usize) -> IdTable {
        let size = (entries.max(4).saturating_mul(4) / 3 + 1).next_power_of_two();
        IdTable {
            slots: vec![(0, EMPTY); size],
            shift: 64 - size.trailing_zeros(),
        }
    }

    fn slot(&self, id: u64) -> usize {
        // Fibonacci hashing: ids that follow each other (as Rescue's node ids often do) land
        // far apart, and the high bits of the product carry every bit of the id.
        ((id ^ (id >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// From slot `at` on, the slot that holds `id`, or else the free slot where it would go.
    fn probe(&self, id: u64, mut at: usize) -> usize {
        let mask = self.slots.len() - 1;
        loop {
            let (held, position) = self.slots[at];
            if position == EMPTY || held == id {
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    /// The position stored for `id`.
    pub(crate) fn get(&self, id: u64) -> Option<u32> {
        let (_, position) = self.slots[self.probe(id, self.slot(id))];
        (position != EMPTY).then_some(position)
    }

    /// The positions stored for `ids`, in order, appended to `out`; a batch at a time, each
    /// batch's slots read first so that their cache misses overlap (as in
    /// [`StrTable::insert_many`]).
    pub(crate) fn get_many(&self, ids: impl Iterator<Item = u64>, out: &mut Vec<Option<u32>>) {
        const BATCH: usize = 32;
        let mut batch = [0u64; BATCH];
        let mut ids = ids.peekable();
        while ids.peek().is_some() {
            let mut len = 0;
            let mut touched = 0u64;
            for id in ids.by_ref().take(BATCH) {
                touched ^= self.slots[self.slot(id)].0;
                batch[len] = id;
                len += 1;
            }
            std::hint::black_box(touched);
            out.extend(batch[..len].iter().map(|&id| self.get(id)));
        }
    }

    /// Stores `ids[i]` with position `i` unless the id is stored already (the first one stays),
    /// and appends the position each id has to `out`. Positions must be below `u32::MAX`.
    pub(crate) fn insert_many(&mut self, ids: impl Iterator<Item = u64>, out: &mut Vec<u32>) {
        const BATCH: usize = 32;
        let mut batch = [(0u64, 0usize); BATCH];
        let mut ids = ids.peekable();
        while ids.peek().is_some() {
            // Each id's slot is read first, in a loop of nothing else, so that the batch's
            // cache misses overlap.
            let mut len = 0;
            let mut touched = 0u64;
            for id in ids.by_ref().take(BATCH) {
                let at = self.slot(id);
                touched ^= self.slots[at].0;
                batch[len] = (id, at);
                len += 1;
            }
            std::hint::black_box(touched);
            for &(id, at) in &batch[..len] {
                let slot = self.probe(id, at);
                if self.slots[slot].1 == EMPTY {
                    self.slots[slot] = (id, out.len() as u32);
                }
                out.push(self.slots[slot].1);
            }
        }
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A `HashSet` with [`FxHasher`].
pub(crate) type FastSet<T> = HashSet<T, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    fn hash<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut hasher = FxHasher::default();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn strings_that_differ_only_in_their_tail_hash_apart() {
        assert_ne!(
            hash("jane.doe.1@contoso.com"),
            hash("jane.doe.2@contoso.com")
        );
        assert_ne!(hash("a"), hash("a\0"));
        assert_eq!(hash("same"), hash(&"same".to_owned()));
    }

    #[test]
    fn the_string_table_finds_what_it_holds_and_keeps_the_first_value() {
        let words: Vec<String> = (0..1000).map(|i| format!("user.{i}@contoso.com")).collect();
        let mut table = StrTable::with_capacity(words.len());
        let word = |i: usize| words[i].as_bytes();
        let bytes = |v: u32| words[v as usize].as_bytes();
        table.insert_many(words.len(), word, |i| i as u32, bytes);
        for (i, word) in words.iter().enumerate() {
            assert_eq!(table.get(word.as_bytes(), bytes), Some(i as u32));
        }
        // Each word twice, the second time with a value of its own: the first value stays.
        let mut again = StrTable::with_capacity(words.len());
        let twice = |i: usize| word(i % words.len());
        let value_text = |v: u32| twice(v as usize);
        again.insert_many(2 * words.len(), twice, |i| i as u32, value_text);
        for (i, word) in words.iter().enumerate() {
            assert_eq!(again.get(word.as_bytes(), value_text), Some(i as u32));
        }
        assert_eq!(table.get(b"nobody@contoso.com", bytes), None);
    }

    #[test]
    fn a_lookup_looks_past_a_slot_whose_tag_matches_but_text_does_not() {
        // Value 0 is stored under the hash of `a` while its text reads `b`: the slot's tag
        // matches `a`, its text does not, and `a` itself lies in the next slot.
        let texts = ["b", "a"];
        let text_of = |v: u32| texts[v as usize].as_bytes();
        let mut table = StrTable::with_capacity(4);
        table.insert_many(2, |_| b"a".as_slice(), |i| i as u32, text_of);
        assert_eq!(table.get(b"a", text_of), Some(1));
        assert_eq!(table.get(b"b", text_of), None);
    }

    #[test]
    fn the_id_table_keeps_the_first_position_of_each_id() {
        // Sequential ids, ids that differ only in their high half, zero and the largest id, and
        // repeats: more than a batch, and enough to fill the table three-quarters.
        let mut ids: Vec<u64> = (0..3000).map(|i| 7_000_000 + i).collect();
        ids.extend((0..100).map(|i| i << 40));
        ids.extend([0, u64::MAX, 7_000_005, u64::MAX, 1 << 40]);
        let mut table = IdTable::with_capacity(ids.len());
        let mut first = Vec::new();
        table.insert_many(ids.iter().copied(), &mut first);
        assert_eq!(first.len(), ids.len());
        for (at, &id) in ids.iter().enumerate() {
            let earliest = ids.iter().position(|&other| other == id).unwrap() as u32;
            assert_eq!(first[at], earliest, "id {id}");
            assert_eq!(table.get(id), Some(earliest), "id {id}");
        }
        let mut found = Vec::new();
        table.get_many(
            [7_000_005, 6_999_999, u64::MAX, 3 << 40].into_iter(),
            &mut found,
        );
        assert_eq!(found, [Some(5), None, Some(3101), Some(3003)]);
        assert_eq!(table.get(6_999_999), None);
        assert_eq!(table.get(1 << 50), None);
        assert_eq!(IdTable::with_capacity(0).get(0), None);
    }
}
