//! When to send a failed request again, how long to wait first, and how fast to send at all.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Mutex;

/// How transient failures (HTTP 429, 5xx, dropped connections) are retried.
///
/// Every request gets at most `max_attempts` sends and `max_elapsed` of wall time, waits
/// included. A `Retry-After` is honoured as given (GoTo documents none, so usually the wait is an
/// exponential backoff with jitter from `base_delay` up to `max_delay`); when it asks for more
/// than the budget has left, the request fails at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Sends per request, the first included (at least 1).
    pub max_attempts: u32,
    /// The first backoff wait.
    pub base_delay: Duration,
    /// The longest backoff wait (a `Retry-After` may ask for more).
    pub max_delay: Duration,
    /// The wall-time budget of one request, waits included.
    pub max_elapsed: Duration,
    /// The time one send may take, connect to last byte.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(180),
            timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No backoff waits (a `Retry-After` is still honoured): for tests and emulators.
    pub fn immediate(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            max_elapsed: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }

    /// How long to wait before send number `attempt + 1`, or `None` to give up.
    pub(crate) fn wait(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
        (elapsed.saturating_add(wait) <= self.max_elapsed).then_some(wait)
    }

    /// Exponential backoff with "equal jitter": half the step fixed, half random.
    fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let step = self
            .base_delay
            .saturating_mul(1_u32 << exponent)
            .min(self.max_delay);
        let half = step / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(fastrand::u64(0..=jitter_ms))
    }
}

/// Parses a `Retry-After` value: decimal seconds or an HTTP date (a past date means now).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Spaces requests to one API evenly so they stay under its rate limit: each request takes the
/// next free slot, `1 / rate` seconds after the previous one.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// At most `per_second` requests a second (at least 1).
    pub(crate) fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs(1) / per_second.max(1),
            next: Mutex::new(None),
        }
    }

    /// Waits for this request's slot. The lock is held through the wait and the next slot is
    /// counted from when this one really fired, so a stalled runtime never releases a burst.
    pub(crate) async fn acquire(&self) {
        let mut next = self.next.lock().await;
        if let Some(at) = *next {
            tokio::time::sleep_until(at.into()).await;
        }
        *next = Some(Instant::now() + self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:30 GMT").unwrap();
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after("later", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn attempts_and_time_are_bounded() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(150),
            max_elapsed: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        };
        let first = policy.wait(1, Duration::ZERO, None).unwrap();
        assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
        assert_eq!(policy.wait(3, Duration::ZERO, None), None);
        assert_eq!(
            policy.wait(
                1,
                Duration::from_millis(500),
                Some(Duration::from_millis(600))
            ),
            None
        );
    }

    #[tokio::test]
    async fn the_limiter_spaces_requests() {
        let limiter = RateLimiter::new(20);
        let started = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        // Five slots 50 ms apart: the fifth is at 200 ms at the earliest.
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
