//! A seeded, reproducible throttle shared by both emulators: which requests get a 429 depends on
//! the seed and the request's number only.

/// Answers a seeded share of requests with HTTP 429. Whether request number `n` is throttled
/// depends on the seed and `n` only, so a run is reproducible while requests come in the same
/// order, and a retry (a new request number) is throttled or not independently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Throttle {
    /// The share of requests throttled, in percent (0 to 100).
    pub percent: u8,
    /// Picks which requests.
    pub seed: u64,
    /// The 429's `Retry-After` (none when `None`).
    pub retry_after: Option<String>,
}

impl Throttle {
    /// `percent` of requests, picked by `seed`, without a `Retry-After`.
    pub fn new(percent: u8, seed: u64) -> Throttle {
        Throttle {
            percent,
            seed,
            retry_after: None,
        }
    }

    /// Whether request number `n` (counted from 0) is throttled.
    pub fn hits(&self, n: u64) -> bool {
        splitmix64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % 100
            < u64::from(self.percent)
    }
}

/// SplitMix64's finaliser: a cheap, well-mixed hash of a counter.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_close_to_the_percentage_and_reproducible() {
        let throttle = Throttle::new(30, 7);
        let hits = (0..10_000).filter(|&n| throttle.hits(n)).count();
        assert!((2_800..=3_200).contains(&hits), "{hits}");
        let again = (0..10_000).filter(|&n| throttle.hits(n)).count();
        assert_eq!(hits, again);
        assert_eq!(
            (0..1000).filter(|&n| Throttle::new(0, 7).hits(n)).count(),
            0
        );
        assert_eq!(
            (0..1000).filter(|&n| Throttle::new(100, 7).hits(n)).count(),
            1000
        );
    }
}
