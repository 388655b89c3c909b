//! The hash maps and sets of the planner's lookups: the standard ones with rustc-hash's Fx
//! hasher.
//!
//! Their keys are the organization's own ids and e-mails, they are never exposed, and no output
//! order comes from them (that is always a sort or a `BTreeMap`), so SipHash's resistance to
//! crafted collisions buys nothing here, while its cost shows at SPEC §12's million
//! memberships (docs/performance.md has the figure).

/// A `HashMap` with the Fx hasher.
pub(crate) type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// A `HashSet` with the Fx hasher.
pub(crate) type FastSet<K> = rustc_hash::FxHashSet<K>;
