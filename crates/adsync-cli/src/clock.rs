//! The clock, read only here, and timestamps in RFC 3339 (UTC).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, as an RFC 3339 UTC timestamp with milliseconds.
pub(crate) fn now() -> String {
    format_time(SystemTime::now())
}

/// `time` as `2026-11-21T23:05:12.345Z`.
pub(crate) fn format_time(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let seconds = since.as_secs();
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let rest = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// A compact stamp for file names and run ids: `20261121-230512`.
pub(crate) fn compact(time: SystemTime) -> String {
    let text = format_time(time);
    format!(
        "{}{}{}-{}{}{}",
        &text[0..4],
        &text[5..7],
        &text[8..10],
        &text[11..13],
        &text[14..16],
        &text[17..19]
    )
}

/// Parses what [`format_time`] writes (fractions of a second optional).
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.split('-').map(str::parse::<u64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (time, millis) = match time.split_once('.') {
        Some((time, fraction)) => {
            let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
            (time, digits.parse::<u64>().ok()?)
        }
        None => (time, 0),
    };
    let mut time = time.split(':').map(str::parse::<u64>);
    let (hour, minute, second) = (time.next()?.ok()?, time.next()?.ok()?, time.next()?.ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::from_millis(seconds * 1000 + millis))
}

/// How long ago `text` (an RFC 3339 UTC time) was; `None` when it does not parse or lies
/// ahead.
pub(crate) fn age(text: &str) -> Option<Duration> {
    SystemTime::now().duration_since(parse_time(text)?).ok()
}

/// `3d 4h`, `2h 5m`, `45s`: a duration for people, to the two largest units.
pub(crate) fn human_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let units = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let parts: Vec<String> = units
        .iter()
        .scan(total, |rest, &(size, unit)| {
            let count = *rest / size;
            *rest %= size;
            Some((count, unit))
        })
        .skip_while(|(count, _)| *count == 0)
        .take(2)
        .filter(|(count, _)| *count > 0)
        .map(|(count, unit)| format!("{count}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let year = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = year / 400;
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

/// Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let instant = UNIX_EPOCH + Duration::from_millis(1_795_302_312_345);
        assert_eq!(format_time(instant), "2026-11-21T23:05:12.345Z");
        assert_eq!(compact(instant), "20261121-230512");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&format_time(leap)[..10], "2000-02-29");
        for instant in [UNIX_EPOCH, instant, leap] {
            assert_eq!(parse_time(&format_time(instant)), Some(instant));
        }
        assert_eq!(parse_time("2026-13-01T00:00:00Z"), None);
        assert_eq!(human_duration(Duration::from_secs(93_784)), "1d 2h");
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_secs(7_200)), "2h");
    }
}
