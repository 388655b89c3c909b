//! The detail cache with rolling verification.
//!
//! `getHierarchy_v2` shows every node's name, e-mail, status and place, but not the fields only
//! `getUser_v3` returns (nickname, SSO ID, the add-ons, the account holder). The cache keeps, per
//! user node, those details as last read with a fingerprint of the node's hierarchy fields at
//! that moment. A read then asks `getUser_v3` only for the nodes in scope that are new, whose
//! hierarchy fields changed, that have no cached details, or that fall in this run's
//! verification slice; every other node takes its cached details.
//!
//! The slice spreads re-reading over the verification window: each node has a phase (a hash of
//! its id, within the window) and is due once per window, when the window's boundary shifted by
//! its phase passes, and in any case once its details are a whole window old. Runs every `t`
//! re-read about `t / window` of the cached nodes each, and a change made by hand that the
//! hierarchy cannot show (the add-on, the SSO ID) is seen within one window.
//!
//! Time is a parameter (seconds since the epoch): this module reads no clock.

use std::collections::BTreeMap;
use std::sync::Mutex;

use adsync_core::model::{NodeId, RescueNode};
use serde::{Deserialize, Serialize};

/// The version of [`DetailCache`]'s format; another version is not used.
pub const CACHE_FORMAT: u32 = 1;

/// Details last read, per node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailCache {
    /// [`CACHE_FORMAT`] when written.
    pub format_version: u32,
    /// The organization's API base the details came from; another base is not used.
    pub base: String,
    /// Per node id.
    pub nodes: BTreeMap<NodeId, CachedDetails>,
}

/// One node's details as `getUser_v3` last returned them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedDetails {
    /// The fingerprint of the node's hierarchy fields when the details were read.
    pub fingerprint: u64,
    /// When they were read (seconds since the epoch).
    pub read_at: u64,
    /// Nickname.
    pub nick: String,
    /// SSO ID.
    pub ssoid: String,
    /// Mobile add-on.
    pub mobile: bool,
    /// RPAT add-on.
    pub rpat: bool,
    /// The account holder.
    #[serde(default)]
    pub account_holder: bool,
}

/// How a read uses the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verify {
    /// Now (seconds since the epoch).
    pub now: u64,
    /// The verification window in seconds (at least 1).
    pub window: u64,
    /// Read every node's details (`--full`, or a scheduled full read).
    pub full: bool,
}

/// Why a node's details were read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailReads {
    /// Nodes not in the cache (new, or never read).
    pub uncached: u64,
    /// Nodes whose hierarchy fields changed since their details were read.
    pub changed: u64,
    /// Nodes in this run's verification slice.
    pub verification: u64,
    /// Every node, because the read was full.
    pub full: u64,
    /// Nodes that took their cached details.
    pub cached: u64,
}

impl DetailReads {
    /// Detail reads made apart from the verification slice.
    pub fn needed(&self) -> u64 {
        self.uncached + self.changed + self.full
    }
}

/// Shared between the caller and the target: the cache to start from and how to verify, then
/// the cache the read produced and what it read.
#[derive(Debug, Default)]
pub struct CacheStore {
    slot: Mutex<Slot>,
}

#[derive(Debug, Default)]
struct Slot {
    start: Option<(DetailCache, Verify)>,
    result: Option<(DetailCache, DetailReads)>,
}

impl CacheStore {
    /// A store for one read: `cache` (empty when none was saved) and `verify`.
    pub fn new(cache: DetailCache, verify: Verify) -> CacheStore {
        CacheStore {
            slot: Mutex::new(Slot {
                start: Some((cache, verify)),
                result: None,
            }),
        }
    }

    /// The cache the last read produced, and what it read; `None` before a read.
    pub fn take_result(&self) -> Option<(DetailCache, DetailReads)> {
        lock(&self.slot).result.take()
    }

    pub(crate) fn start(&self) -> Option<(DetailCache, Verify)> {
        lock(&self.slot).start.clone()
    }

    pub(crate) fn finish(&self, cache: DetailCache, reads: DetailReads) {
        lock(&self.slot).result = Some((cache, reads));
    }
}

fn lock(slot: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The fingerprint of a node's hierarchy fields (FNV-1a over their JSON): stable across runs
/// and builds.
pub fn fingerprint(node: &RescueNode) -> u64 {
    let text = serde_json::to_string(node).unwrap_or_default();
    fnv(text.as_bytes())
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Why `node` (fingerprint `print`) needs its details read, or `None` when the cached ones do.
pub(crate) fn reason(
    cached: Option<&CachedDetails>,
    node: NodeId,
    print: u64,
    verify: Verify,
) -> Option<Reason> {
    if verify.full {
        return Some(Reason::Full);
    }
    let Some(cached) = cached else {
        return Some(Reason::Uncached);
    };
    if cached.fingerprint != print {
        return Some(Reason::Changed);
    }
    due(node, cached.read_at, verify).then_some(Reason::Verification)
}

/// Whether a node read at `read_at` is in the slice at `verify.now`.
fn due(node: NodeId, read_at: u64, verify: Verify) -> bool {
    let window = verify.window.max(1);
    if verify.now.saturating_sub(read_at) >= window {
        return true;
    }
    let phase = fnv(&node.0.to_le_bytes()) % window;
    (verify.now + phase) / window != (read_at + phase) / window
}

/// Why a node's details are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Full,
    Uncached,
    Changed,
    Verification,
}

impl DetailReads {
    pub(crate) fn count(&mut self, reason: Option<Reason>) {
        match reason {
            None => self.cached += 1,
            Some(Reason::Full) => self.full += 1,
            Some(Reason::Uncached) => self.uncached += 1,
            Some(Reason::Changed) => self.changed += 1,
            Some(Reason::Verification) => self.verification += 1,
        }
    }
}

impl DetailCache {
    /// Forgets `nodes`: their next read reads their details (a plan that changes a node makes
    /// its cached details stale).
    pub fn forget(&mut self, nodes: impl IntoIterator<Item = NodeId>) {
        for node in nodes {
            self.nodes.remove(&node);
        }
    }
}

/// One read's use of the cache: which nodes to read, and the cache it leaves.
pub(crate) struct DetailPlan<'a> {
    store: &'a CacheStore,
    verify: Verify,
    base: String,
    old: BTreeMap<NodeId, CachedDetails>,
    prints: Vec<(NodeId, u64)>,
    reads: DetailReads,
    /// The nodes whose details must be read.
    pub(crate) to_read: Vec<NodeId>,
}

/// Which of `wanted` (user nodes of `snapshot` in scope) need `getUser_v3`; without a store,
/// all of them.
pub(crate) fn plan_reads<'a>(
    store: Option<&'a CacheStore>,
    base: &str,
    snapshot: &adsync_core::model::RescueSnapshot,
    wanted: Vec<NodeId>,
) -> Result<DetailPlan<'a>, Vec<NodeId>> {
    let Some((store, (cache, verify))) = store.and_then(|store| Some((store, store.start()?)))
    else {
        return Err(wanted);
    };
    let old = if cache.format_version == CACHE_FORMAT && cache.base == base {
        cache.nodes
    } else {
        BTreeMap::new()
    };
    let by_id: std::collections::HashMap<NodeId, &RescueNode> =
        snapshot.nodes.iter().map(|node| (node.id, node)).collect();
    let mut plan = DetailPlan {
        store,
        verify,
        base: base.to_owned(),
        old,
        prints: Vec::with_capacity(wanted.len()),
        reads: DetailReads::default(),
        to_read: Vec::new(),
    };
    for node in wanted {
        let Some(found) = by_id.get(&node) else {
            continue;
        };
        let print = fingerprint(found);
        let why = reason(plan.old.get(&node), node, print, verify);
        plan.reads.count(why);
        if why.is_some() {
            plan.to_read.push(node);
        }
        plan.prints.push((node, print));
    }
    Ok(plan)
}

impl DetailPlan<'_> {
    /// Fills the nodes not read from the cache, and leaves the new cache in the store: the
    /// details just read, and the cached ones of the other nodes in scope.
    pub(crate) fn finish(
        self,
        snapshot: &mut adsync_core::model::RescueSnapshot,
        read: &[crate::wire::UserDetails],
    ) {
        let read: std::collections::HashMap<NodeId, &crate::wire::UserDetails> =
            read.iter().map(|user| (user.node, user)).collect();
        let mut nodes = BTreeMap::new();
        for (node, print) in &self.prints {
            let entry = match read.get(node) {
                Some(user) => CachedDetails {
                    fingerprint: *print,
                    read_at: self.verify.now,
                    nick: user.nick.clone(),
                    ssoid: user.ssoid.clone(),
                    mobile: user.mobile,
                    rpat: user.rpat,
                    account_holder: user.account_holder,
                },
                None => match self.old.get(node) {
                    Some(cached) => cached.clone(),
                    None => continue,
                },
            };
            nodes.insert(*node, entry);
        }
        for node in &mut snapshot.nodes {
            if read.contains_key(&node.id) {
                continue;
            }
            if let Some(cached) = nodes.get(&node.id) {
                node.nick = Some(cached.nick.clone());
                node.ssoid = Some(cached.ssoid.clone());
                node.mobile = Some(cached.mobile);
                node.rpat = Some(cached.rpat);
                node.account_holder = cached.account_holder;
            }
        }
        let cache = DetailCache {
            format_version: CACHE_FORMAT,
            base: self.base,
            nodes,
        };
        self.store.finish(cache, self.reads);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_is_verified_once_per_window_spread_over_it() {
        let window = 24 * 3600;
        let start = 1_800_000_000;
        let nodes: Vec<NodeId> = (1..=2000).map(NodeId).collect();
        let mut read_at: BTreeMap<NodeId, u64> = nodes.iter().map(|n| (*n, start)).collect();
        let step = 15 * 60;
        let mut per_run = Vec::new();
        for run in 1..=(window / step) {
            let now = start + run * step;
            let verify = Verify {
                now,
                window,
                full: false,
            };
            let mut slice = 0;
            for node in &nodes {
                if due(*node, read_at[node], verify) {
                    read_at.insert(*node, now);
                    slice += 1;
                }
            }
            per_run.push(slice);
        }
        // Each node once in the window (the last run may complete the window).
        let total: usize = per_run.iter().sum();
        assert_eq!(total, nodes.len());
        // Spread: no run re-reads more than a few times its share (2000 / 96 ≈ 21).
        assert!(per_run.iter().all(|&n| n <= 60), "{per_run:?}");
    }

    #[test]
    fn a_changed_node_or_an_uncached_one_is_read_and_the_rest_is_not() {
        let verify = Verify {
            now: 1000,
            window: 86_400,
            full: false,
        };
        let cached = CachedDetails {
            fingerprint: 7,
            read_at: 999,
            nick: String::new(),
            ssoid: String::new(),
            mobile: false,
            rpat: false,
            account_holder: false,
        };
        assert_eq!(reason(None, NodeId(1), 7, verify), Some(Reason::Uncached));
        assert_eq!(
            reason(Some(&cached), NodeId(1), 8, verify),
            Some(Reason::Changed)
        );
        let full = Verify {
            full: true,
            ..verify
        };
        assert_eq!(
            reason(Some(&cached), NodeId(1), 7, full),
            Some(Reason::Full)
        );
        let fresh = (1..100u64)
            .filter(|n| reason(Some(&cached), NodeId(*n), 7, verify).is_none())
            .count();
        assert!(
            fresh >= 95,
            "a second after reading, almost none is due: {fresh}"
        );
    }
}
