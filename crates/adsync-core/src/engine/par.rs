//! Two independent pieces of work side by side, on a second core when there is one and the
//! `parallel` feature (on by default) is enabled.
//!
//! Work is cut by position and joined in order, so a result never depends on how, or whether,
//! the halves ran in parallel. Scoped threads only: nothing outlives the call, and no runtime or
//! dependency is involved.

use std::sync::OnceLock;

/// How the planner may use the machine's cores.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cores {
    /// Whether a second core may take half of a large pass.
    pub second: bool,
    /// Below this many items a pass stays on the calling thread: starting a thread costs tens
    /// of microseconds, more than small passes take.
    pub split_at: usize,
}

impl Cores {
    /// The cores this machine has, with the default threshold.
    pub fn available() -> Cores {
        static SECOND: OnceLock<bool> = OnceLock::new();
        let second =
            *SECOND.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from) > 1);
        Cores {
            second: cfg!(feature = "parallel") && second,
            split_at: 20_000,
        }
    }

    /// One core only.
    pub fn one() -> Cores {
        Cores {
            second: false,
            split_at: usize::MAX,
        }
    }

    /// Both halves of every pass on two threads, however small (tests of the parallel paths),
    /// when the `parallel` feature is enabled.
    pub fn always_two() -> Cores {
        Cores {
            second: cfg!(feature = "parallel"),
            split_at: 0,
        }
    }

    /// Runs `a` and `b`, `b` on a second thread when `items` is large enough to be worth it;
    /// returns both results. A panic in either is resumed here.
    pub(crate) fn join<A, B, RA, RB>(self, items: usize, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        if !self.second || items < self.split_at {
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

    /// `f` of every item, in order, the items cut in two halves of about equal `weight`.
    pub(crate) fn map<T: Sync, R: Send>(
        self,
        items: &[T],
        weight: impl Fn(&T) -> usize,
        f: impl Fn(&T) -> R + Sync,
    ) -> Vec<R> {
        let total: usize = items.iter().map(&weight).sum();
        let mut sum = 0;
        let cut = items
            .iter()
            .position(|item| {
                let half = sum * 2 >= total;
                sum += weight(item);
                half
            })
            .unwrap_or(items.len());
        let (low, high) = items.split_at(cut);
        let (mut low, high) = self.join(
            total,
            || low.iter().map(&f).collect::<Vec<R>>(),
            || high.iter().map(&f).collect::<Vec<R>>(),
        );
        low.extend(high);
        low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_results_come_back_in_order_on_one_core_or_two() {
        for cores in [Cores::one(), Cores::always_two(), Cores::available()] {
            assert_eq!(cores.join(1, || 1, || "b"), (1, "b"));
            let items: Vec<u64> = (0..1000).collect();
            let doubled = cores.map(&items, |&i| (i % 7) as usize, |&i| i * 2);
            assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
            assert!(cores.map(&[] as &[u64], |_| 1, |&i| i).is_empty());
        }
    }
}
