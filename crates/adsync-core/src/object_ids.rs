//! Directory users by object id: the index behind the membership lookups of `desired()`.
//!
//! Entra object ids are GUIDs in canonical form: 32 lower-case hexadecimal digits in groups of
//! 8-4-4-4-12. Such an id is held as the 128-bit number it spells, inside the table's slot, so a
//! lookup reads one slot where a table of texts reads a slot and then the text it points to:
//! with hundreds of thousands of users, both tables are larger than the caches, and a million
//! memberships wait for one cache miss each instead of two. Any other id (upper case, braces,
//! another service's own scheme) is kept as text, in a table of its own.
//!
//! The index still matches texts exactly: a canonical text and its number determine each other,
//! and a canonical text never equals one that is not.

use crate::hash::{FxHasher, StrTable};
use std::hash::Hasher;

/// The number a canonical GUID spells (its digits in order, dashes left out), or `None` when
/// `text` is not one.
pub(crate) fn canonical_guid(text: &[u8]) -> Option<u128> {
    let text: &[u8; 36] = text.try_into().ok()?;
    if [8, 13, 18, 23].iter().any(|&at| text[at] != b'-') {
        return None;
    }
    let chunk = |parts: [&[u8]; 2]| -> Option<u128> {
        let mut digits = [0u8; 8];
        digits[..parts[0].len()].copy_from_slice(parts[0]);
        digits[parts[0].len()..].copy_from_slice(parts[1]);
        hex8(digits).map(u128::from)
    };
    Some(
        chunk([&text[0..4], &text[4..8]])? << 96
            | chunk([&text[9..13], &text[14..18]])? << 64
            | chunk([&text[19..23], &text[24..28]])? << 32
            | chunk([&text[28..32], &text[32..36]])?,
    )
}

/// Eight lower-case hexadecimal digits as a number, a byte per digit side by side in one
/// word, or `None` if any byte is something else.
fn hex8(digits: [u8; 8]) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The first digit is the most significant byte.
    let text = u64::from_be_bytes(digits);
    // `0`-`9` (0x30-0x39) are their low four bits; `a`-`f` (0x61-0x66) have bit 6 set and
    // their low four bits are 1-6, so adding 9 gives 10-15. Other bytes come out as anything
    // from 0 to 24, which the check below catches. No byte carries into the next.
    let value = (text & (0x0f * ONES)) + 9 * ((text >> 6) & ONES);
    // Each value spelled back as its digit: only the sixteen digits spell themselves.
    let above_nine = ((value + 6 * ONES) >> 4) & ONES;
    let spelled = value + 0x30 * ONES + 39 * above_nine;
    if value & (0xf0 * ONES) != 0 || spelled != text {
        return None;
    }
    // Pack the eight 4-bit values: pairs into bytes, bytes into 16 bits, then into 32.
    let pairs = (value | (value >> 4)) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    Some((quads | (quads >> 16)) as u32)
}

/// Three GUIDs and their positions: one cache line, to which it is aligned. A lookup reads its
/// home bucket, and the next one only when the home bucket is full and holds another GUID: about
/// one lookup in fifty with a third of the slots used (250,000 ids), one in sixteen with half.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Bucket {
    guids: [u128; 3],
    /// Filled from the first; [`FREE`] in a free slot.
    values: [u32; 3],
}

/// A free slot's value.
const FREE: u32 = u32::MAX;

/// Lookups in flight at once (see [`ObjectIds::get_many`]).
const BATCH: usize = 32;

/// Object ids collected in listing order, then made into [`ObjectIds`].
#[derive(Debug, Default)]
pub(crate) struct ObjectIdsBuilder {
    /// The canonical GUIDs with their positions.
    guids: Vec<(u128, u32)>,
    /// The other ids, back to back, with their ends and positions.
    text: Vec<u8>,
    ends: Vec<usize>,
    positions: Vec<u32>,
    /// The ids pushed so far.
    count: u32,
}

impl ObjectIdsBuilder {
    /// Room for `ids` ids, which must stay below `u32::MAX`.
    pub(crate) fn with_capacity(ids: usize) -> ObjectIdsBuilder {
        ObjectIdsBuilder {
            guids: Vec::with_capacity(ids),
            ..ObjectIdsBuilder::default()
        }
    }

    /// The next id; its position is the number of ids pushed before it.
    pub(crate) fn push(&mut self, id: &str) {
        let position = self.count;
        debug_assert_ne!(position, FREE, "a position the free slot uses");
        self.count += 1;
        match canonical_guid(id.as_bytes()) {
            Some(guid) => self.guids.push((guid, position)),
            None => {
                self.text.extend_from_slice(id.as_bytes());
                self.ends.push(self.text.len());
                self.positions.push(position);
            }
        }
    }

    /// The index; an id pushed twice keeps its first position.
    pub(crate) fn build(self) -> ObjectIds {
        // Half the slots used at most, and a quarter at least.
        let buckets = self.guids.len().max(2).div_ceil(3).saturating_mul(2);
        self.build_in(buckets.next_power_of_two())
    }

    /// The index, in `size` buckets (a power of two, with room to spare).
    fn build_in(self, size: usize) -> ObjectIds {
        let count = self.positions.len();
        let mut others = StrTable::with_capacity(count);
        let text_of = |other: u32| other_text(&self.text, &self.ends, other);
        others.insert_many(
            count,
            |other| text_of(other as u32),
            |other| other as u32,
            text_of,
        );
        let mut ids = ObjectIds {
            buckets: vec![
                Bucket {
                    guids: [0; 3],
                    values: [FREE; 3],
                };
                size
            ],
            mask: size - 1,
            others,
            text: self.text,
            ends: self.ends,
            positions: self.positions,
        };
        // A batch at a time, its buckets read first so that their cache misses overlap.
        for batch in self.guids.chunks(BATCH) {
            let touched = batch.iter().fold(0u32, |acc, &(guid, _)| {
                acc ^ ids.buckets[home(guid) & ids.mask].values[0]
            });
            std::hint::black_box(touched);
            for &(guid, position) in batch {
                let (at, slot) = ids.probe(guid);
                let bucket = &mut ids.buckets[at];
                if bucket.values[slot] == FREE {
                    bucket.guids[slot] = guid;
                    bucket.values[slot] = position;
                }
            }
        }
        ids
    }
}

/// The home slot of `guid` (before masking).
fn home(guid: u128) -> usize {
    let mut hasher = FxHasher::default();
    hasher.write_u64(guid as u64);
    hasher.write_u64((guid >> 64) as u64);
    hasher.finish() as usize
}

/// The text of the `other`th id that is not a canonical GUID, of those kept back to back in
/// `text` up to `ends`.
fn other_text<'t>(text: &'t [u8], ends: &[usize], other: u32) -> &'t [u8] {
    let at = other as usize;
    let start = if at == 0 { 0 } else { ends[at - 1] };
    text.get(start..ends[at]).unwrap_or_default()
}

/// Positions by object id (see the module's documentation).
#[derive(Debug)]
pub(crate) struct ObjectIds {
    /// Canonical GUIDs, by their hash's low bits.
    buckets: Vec<Bucket>,
    mask: usize,
    /// The other ids: their texts by their order among them, and their positions.
    others: StrTable,
    text: Vec<u8>,
    ends: Vec<usize>,
    positions: Vec<u32>,
}

impl ObjectIds {
    /// The bucket and slot that hold `guid`, or else the free slot where it would go.
    fn probe(&self, guid: u128) -> (usize, usize) {
        let mut at = home(guid) & self.mask;
        loop {
            let bucket = &self.buckets[at];
            for slot in 0..3 {
                if bucket.values[slot] == FREE || bucket.guids[slot] == guid {
                    return (at, slot);
                }
            }
            at = (at + 1) & self.mask;
        }
    }

    /// The position of `id`, looked up alone: what the tests check the batched lookups against.
    #[cfg(test)]
    fn get(&self, id: &str) -> Option<u32> {
        self.find(canonical_guid(id.as_bytes()), id)
    }

    /// The position of `id`, whose number is `guid` if it is a canonical GUID.
    fn find(&self, guid: Option<u128>, id: &str) -> Option<u32> {
        match guid {
            Some(guid) => {
                let (at, slot) = self.probe(guid);
                let value = self.buckets[at].values[slot];
                (value != FREE).then_some(value)
            }
            None if self.positions.is_empty() => None,
            None => {
                let other = self.others.get(id.as_bytes(), |other| {
                    other_text(&self.text, &self.ends, other)
                })?;
                Some(self.positions[other as usize])
            }
        }
    }

    /// The positions of `ids`, in order, appended to `out` (`absent` for an id not held).
    /// Looks them up a batch at a time, each step over the whole batch, so that the batch's
    /// memory reads are in flight together: first the texts, then the home buckets.
    pub(crate) fn get_many<T: AsRef<str>>(&self, ids: &[T], absent: u32, out: &mut Vec<u32>) {
        let mut guids = [None; BATCH];
        for batch in ids.chunks(BATCH) {
            let touched = batch.iter().fold(0u8, |acc, id| {
                acc ^ id.as_ref().as_bytes().first().copied().unwrap_or(0)
            });
            std::hint::black_box(touched);
            for (guid, id) in guids.iter_mut().zip(batch) {
                *guid = canonical_guid(id.as_ref().as_bytes());
            }
            let touched = guids[..batch.len()]
                .iter()
                .flatten()
                .fold(0u32, |acc, &guid| {
                    acc ^ self.buckets[home(guid) & self.mask].values[0]
                });
            std::hint::black_box(touched);
            for (&guid, id) in guids.iter().zip(batch) {
                out.push(self.find(guid, id.as_ref()).unwrap_or(absent));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An object id from the Graph reference's sample payloads (`reference/graph-api.md`).
    const SAMPLE: &str = "86462606-fde0-4fc4-9e0c-a20eb73e54c6";

    #[test]
    fn a_canonical_guid_is_the_number_its_digits_spell() {
        assert_eq!(
            canonical_guid(SAMPLE.as_bytes()),
            Some(0x86462606_fde0_4fc4_9e0c_a20eb73e54c6)
        );
        assert_eq!(
            canonical_guid(b"00000000-0000-0000-0000-000000000000"),
            Some(0)
        );
        assert_eq!(
            canonical_guid(b"ffffffff-ffff-ffff-ffff-ffffffffffff"),
            Some(u128::MAX)
        );
    }

    #[test]
    fn every_byte_that_is_not_a_lower_case_digit_is_refused() {
        // Every byte value at every digit position: only `0`-`9` and `a`-`f` are digits.
        let digits: Vec<usize> = (0..36).filter(|at| ![8, 13, 18, 23].contains(at)).collect();
        for at in digits {
            for byte in 0..=255u8 {
                let mut text = SAMPLE.as_bytes().to_vec();
                text[at] = byte;
                let digit = byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
                let parsed = canonical_guid(&text);
                assert_eq!(parsed.is_some(), digit, "byte {byte:#04x} at {at}");
                if let Some(parsed) = parsed {
                    let spelled = format!("{parsed:032x}");
                    let plain: String = std::str::from_utf8(&text)
                        .unwrap()
                        .chars()
                        .filter(|c| *c != '-')
                        .collect();
                    assert_eq!(spelled, plain);
                }
            }
        }
    }

    #[test]
    fn other_forms_of_a_guid_are_not_canonical() {
        for text in [
            "86462606-FDE0-4FC4-9E0C-A20EB73E54C6",
            "{86462606-fde0-4fc4-9e0c-a20eb73e54c6}",
            "86462606fde04fc49e0ca20eb73e54c6",
            "86462606-fde0-4fc4-9e0c-a20eb73e54c",
            "86462606-fde0-4fc4-9e0c-a20eb73e54c6d",
            "86462606-fde0-4fc4-9e0c_a20eb73e54c6",
            "86462606-fde0-4fc4-9e0ca-20eb73e54c6",
            " 86462606-fde0-4fc4-9e0c-a20eb73e54c",
            "",
        ] {
            assert_eq!(canonical_guid(text.as_bytes()), None, "{text}");
        }
    }

    fn index(ids: &[&str]) -> ObjectIds {
        let mut builder = ObjectIdsBuilder::with_capacity(ids.len());
        for id in ids {
            builder.push(id);
        }
        builder.build()
    }

    #[test]
    fn ids_are_matched_exactly_whatever_their_form() {
        let ids = [
            SAMPLE,
            "86462606-FDE0-4FC4-9E0C-A20EB73E54C6",
            "user-7",
            "",
            "00000000-0000-0000-0000-000000000000",
        ];
        let index = index(&ids);
        for (position, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(position as u32), "{id}");
        }
        for absent in [
            "86462606-fde0-4fc4-9e0c-a20eb73e54c7",
            "86462606-FDE0-4fc4-9e0c-a20eb73e54c6",
            "user-8",
            "USER-7",
            "00000000-0000-0000-0000-000000000001",
        ] {
            assert_eq!(index.get(absent), None, "{absent}");
        }
    }

    #[test]
    fn an_id_listed_twice_keeps_its_first_position() {
        let index = index(&[SAMPLE, "x", SAMPLE, "x"]);
        assert_eq!(index.get(SAMPLE), Some(0));
        assert_eq!(index.get("x"), Some(1));
    }

    #[test]
    fn full_buckets_overflow_into_the_next_ones_and_wrap_around() {
        // Twenty GUIDs in eight buckets of three: most buckets fill, and lookups go on past
        // them, from the last bucket to the first.
        let ids: Vec<String> = (0..20)
            .map(|n| format!("00000000-0000-0000-0000-{n:012x}"))
            .collect();
        let mut builder = ObjectIdsBuilder::with_capacity(ids.len());
        for id in &ids {
            builder.push(id);
        }
        let index = builder.build_in(8);
        // Where each GUID lies against its home bucket: past it, or past the last bucket.
        let (mut past, mut wrapped) = (0, 0);
        for id in &ids {
            let guid = canonical_guid(id.as_bytes()).unwrap();
            let (at, home) = (index.probe(guid).0, home(guid) & index.mask);
            past += usize::from(at != home);
            wrapped += usize::from(at < home);
        }
        assert!(
            past >= 4 && wrapped >= 1,
            "{past} past home, {wrapped} wrapped"
        );
        for (position, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(position as u32), "{id}");
        }
        assert_eq!(index.get("00000000-0000-0000-0000-0000000000ff"), None);
    }

    #[test]
    fn batched_lookups_agree_with_single_ones() {
        // Enough ids that many share a run of slots, both forms mixed, and absent ones among
        // the lookups; in an order unlike the listing.
        let ids: Vec<String> = (0..5_000u32)
            .map(|n| {
                if n % 7 == 0 {
                    format!("other-{n}")
                } else {
                    let n = u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
                    let hex = format!("{n:032x}");
                    format!(
                        "{}-{}-{}-{}-{}",
                        &hex[..8],
                        &hex[8..12],
                        &hex[12..16],
                        &hex[16..20],
                        &hex[20..]
                    )
                }
            })
            .collect();
        let listed: Vec<&str> = ids.iter().step_by(2).map(String::as_str).collect();
        let index = index(&listed);
        let mut looked_up: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
        looked_up.push("nothing");
        let mut batched = Vec::new();
        index.get_many(&looked_up, u32::MAX, &mut batched);
        let single: Vec<u32> = looked_up
            .iter()
            .map(|id| index.get(id).unwrap_or(u32::MAX))
            .collect();
        assert_eq!(batched, single);
        let found = batched.iter().filter(|&&p| p != u32::MAX).count();
        assert_eq!(found, listed.len());
        for (at, id) in looked_up.iter().enumerate() {
            if let Some(position) = listed.iter().position(|listed| listed == id) {
                assert_eq!(batched[at], position as u32, "{id}");
            }
        }
    }
}
