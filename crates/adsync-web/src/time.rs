//! Moments and lengths of time as the pages word them.

use std::time::{Duration, SystemTime};

use crate::view::Stamp;

/// `time` and how long ago (or until) it is.
pub(crate) fn when(now: SystemTime, stamp: &Stamp) -> String {
    let relative = match now.duration_since(stamp.time) {
        Ok(ago) => format!("{} ago", duration(round(ago))),
        Err(ahead) => format!("in {}", duration(round(ahead.duration()))),
    };
    format!("{} ({relative})", readable_time(&stamp.text))
}

/// `2026-11-21T23:05:12.345Z` as `2026-11-21 23:05:12 UTC`; other text as it is.
pub(crate) fn readable_time(text: &str) -> String {
    match (text.get(..10), text.get(11..19)) {
        (Some(date), Some(time)) if text.get(10..11) == Some("T") && text.ends_with('Z') => {
            format!("{date} {time} UTC")
        }
        _ => text.to_owned(),
    }
}

fn round(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs())
}

/// `1h 5m`, `2m 30s`, `4.2s`.
pub(crate) fn duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..10 if duration.subsec_millis() > 0 => format!("{:.1}s", duration.as_secs_f64()),
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m {}s", seconds / 60, seconds % 60),
        _ => format!("{}h {}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_naturally() {
        assert_eq!(
            readable_time("2026-11-21T23:05:12.345Z"),
            "2026-11-21 23:05:12 UTC"
        );
        assert_eq!(readable_time("yesterday"), "yesterday");
        assert_eq!(
            readable_time("2026-11-21é23:05:12.345Z"),
            "2026-11-21é23:05:12.345Z"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(duration(Duration::from_secs(42)), "42s");
        assert_eq!(duration(Duration::from_secs(150)), "2m 30s");
        assert_eq!(duration(Duration::from_secs(3900)), "1h 5m");
    }
}
