//! Two independent pieces of work side by side, on a second core when there is one.
//!
//! SPEC §12 asks for `desired()` + `plan()` at 999 x 999 in half a second on two cores; one core
//! is not enough. The planner splits its large passes into two halves by position and joins the
//! results in order, so the output never depends on how (or whether) the halves ran in parallel.
//! Scoped threads only: nothing outlives the call, and no runtime or dependency is involved.

use std::sync::OnceLock;

/// Below this many items, a pass stays on the calling thread: starting a thread costs tens of
/// microseconds, more than small passes take.
pub(crate) const SPLIT_AT: usize = 20_000;

/// Whether a second core is there to use.
fn parallel() -> bool {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from)) > 1
}

/// Runs `a` and `b`, `b` on a second thread when `items` is large enough to be worth it and the
/// machine has a second core; returns both results. A panic in either is resumed here.
pub(crate) fn join<A, B, RA, RB>(items: usize, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if items < SPLIT_AT || !parallel() {
        let ra = a();
        return (ra, b());
    }
    std::thread::scope(|scope| {
        let handle = scope.spawn(b);
        let ra = a();
        let rb = match handle.join() {
            Ok(rb) => rb,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (ra, rb)
    })
}

/// Where to cut `0..len` so that both halves weigh about the same, `weight(i)` being item `i`'s.
pub(crate) fn midpoint(len: usize, weight: impl Fn(usize) -> usize) -> usize {
    let total: usize = (0..len).map(&weight).sum();
    let mut sum = 0;
    for at in 0..len {
        if sum * 2 >= total {
            return at;
        }
        sum += weight(at);
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_returns_both_results_in_order_small_or_large() {
        assert_eq!(join(1, || 1, || "b"), (1, "b"));
        let big: Vec<u64> = (0..SPLIT_AT as u64 * 2).collect();
        let (low, high) = join(
            big.len(),
            || big[..SPLIT_AT].iter().sum::<u64>(),
            || big[SPLIT_AT..].iter().sum::<u64>(),
        );
        assert_eq!(low + high, big.iter().sum::<u64>());
        assert!(low < high);
    }

    #[test]
    fn midpoint_balances_the_weights() {
        assert_eq!(midpoint(0, |_| 1), 0);
        assert_eq!(midpoint(10, |_| 1), 5);
        // One heavy item first: the cut comes right after it.
        assert_eq!(midpoint(5, |i| if i == 0 { 100 } else { 1 }), 1);
    }

    #[test]
    #[should_panic(expected = "second half failed")]
    fn a_panic_on_the_second_thread_reaches_the_caller() {
        let _ = join(SPLIT_AT, || 1, || -> u32 { panic!("second half failed") });
    }
}
