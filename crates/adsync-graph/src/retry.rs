//! When to send a failed request again, and how long to wait first.

use std::time::{Duration, SystemTime};

/// How transient failures (HTTP 429, 5xx, timeouts, dropped connections) are retried.
///
/// Every request gets at most `max_attempts` sends and `max_elapsed` of wall time, waits
/// included. A `Retry-After` from the server is honoured as given; when it asks for more time than
/// the budget has left, the request fails at once instead of sleeping past the budget. Without
/// `Retry-After`, waits grow exponentially from `base_delay` up to `max_delay`, with jitter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Sends per request, the first included (at least 1).
    pub max_attempts: u32,
    /// The first backoff wait when the server gives no `Retry-After`.
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
    ///
    /// `attempt` counts the sends made so far (1 after the first), `elapsed` the time since the
    /// first send, `retry_after` what the server asked for.
    pub(crate) fn wait(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let wait = match retry_after {
            Some(asked) => asked,
            None => self.backoff(attempt),
        };
        if elapsed.saturating_add(wait) > self.max_elapsed {
            return None;
        }
        Some(wait)
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

/// Parses a `Retry-After` value: decimal seconds (`10`, `2.128`) or an HTTP date.
///
/// A date in the past means "now". Anything unreadable is ignored (the caller backs off).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_whole_and_decimal_seconds() {
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(parse_retry_after("10", now), Some(Duration::from_secs(10)));
        assert_eq!(
            parse_retry_after(" 2.128 ", now),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("NaN", now), None);
    }

    #[test]
    fn retry_after_reads_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:30 GMT").unwrap();
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
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
        let second = policy.wait(2, Duration::ZERO, None).unwrap();
        assert!((Duration::from_millis(75)..=Duration::from_millis(150)).contains(&second));
        assert_eq!(policy.wait(3, Duration::ZERO, None), None);
        // A server asking for more than the budget has left is not waited for.
        assert_eq!(
            policy.wait(
                1,
                Duration::from_millis(500),
                Some(Duration::from_millis(600))
            ),
            None
        );
        assert_eq!(
            policy.wait(1, Duration::ZERO, Some(Duration::from_millis(600))),
            Some(Duration::from_millis(600))
        );
    }
}
