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

/// The moment an RFC 3339 UTC timestamp as [`format_time`] writes it names
/// (`2026-11-21T23:05:12.345Z`, the fraction optional); `None` for any other text.
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if bytes.len() < 20
        || !text.ends_with('Z')
        || separators.iter().any(|&(at, c)| bytes.get(at) != Some(&c))
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<u64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let millis = match &text[19..text.len() - 1] {
        "" => 0,
        fraction => {
            let digits = fraction.strip_prefix('.')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            format!("{digits:0<3}")[..3].parse::<u64>().ok()?
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis))
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

/// Howard Hinnant's civil-to-days algorithm: days since 1970-01-01 (years from 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

/// `90s`, `15m`, `2h`, `1h30m`, `1d`: a number and a unit, repeated. A bare number is refused:
/// `--every 15` could mean seconds or minutes, and a wrong guess is a service that hammers both
/// APIs or one that hardly runs.
pub(crate) fn parse_interval(text: &str, flag: &str) -> Result<Duration, crate::error::Error> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(crate::error::Error::Usage {
            message: format!("{flag} `{text}` has no unit"),
            hint: format!("write `{trimmed}s` for seconds or `{trimmed}m` for minutes"),
        });
    }
    let bad = || crate::error::Error::Usage {
        message: format!("{flag} `{text}` is not an interval"),
        hint: "write a number and a unit (s, m, h, d), e.g. `30s`, `15m`, `1h30m`".to_owned(),
    };
    let mut total = 0u64;
    let mut number = String::new();
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        total = value
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
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

    #[test]
    fn parses_what_it_formats_and_nothing_else() {
        for millis in [0, 951_782_400_000, 1_795_302_312_345, 4_102_444_799_999] {
            let instant = UNIX_EPOCH + Duration::from_millis(millis);
            assert_eq!(parse_time(&format_time(instant)), Some(instant), "{millis}");
        }
        assert_eq!(
            parse_time("2026-11-21T23:05:12Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_795_302_312))
        );
        for bad in [
            "",
            "2026-11-21 23:05:12Z",
            "2026-11-21T23:05:12.345",
            "2026-13-21T23:05:12Z",
            "2026-11-21T23:05:12.Z",
            "2026-11-21T23:05:12.3a5Z",
            "1969-12-31T23:59:59Z",
            "２026-11-21T23:05:12Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
