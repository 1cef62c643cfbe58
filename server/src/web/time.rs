//! Times as people read them: "5 minutes ago" for recent things, "12 Nov 2026" otherwise,
//! plus the exact UTC time for `<time datetime>`.

use kindred_protocol::Timestamp;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A time shown on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct When {
    /// Machine-readable, for `<time datetime>` (UTC, ISO 8601).
    pub(crate) iso: String,
    /// For people.
    pub(crate) text: String,
}

impl When {
    /// Describes `at` as seen at `now`.
    pub(crate) fn new(at: Timestamp, now: Timestamp) -> Self {
        let (y, m, d, hh, mm) = civil(at.as_millis());
        let iso = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}Z");
        let secs = now.as_millis().saturating_sub(at.as_millis()) / 1000;
        let plural = |n: u64, unit: &str| {
            if n == 1 {
                format!("1 {unit} ago")
            } else {
                format!("{n} {unit}s ago")
            }
        };
        let text = match secs {
            0..60 => "just now".to_owned(),
            60..3_600 => plural(secs / 60, "minute"),
            3_600..86_400 => plural(secs / 3_600, "hour"),
            86_400..604_800 => plural(secs / 86_400, "day"),
            _ => format!("{d} {} {y}", MONTHS[(m - 1) as usize]),
        };
        Self { iso, text }
    }
}

/// `YYYY-MM-DD` (UTC) for a date field, from ms since the epoch.
pub(crate) fn date_value(millis: u64) -> String {
    let (y, m, d, _, _) = civil(millis);
    format!("{y:04}-{m:02}-{d:02}")
}

/// "17 Nov" (UTC), for labels where the year is said elsewhere.
pub(crate) fn day_month(at: Timestamp) -> String {
    let (_, m, d, _, _) = civil(at.as_millis());
    format!("{d} {}", MONTHS[(m - 1) as usize])
}

/// Milliseconds since the epoch at the start of a `YYYY-MM-DD` date (UTC); `None` for
/// anything else, or a year outside 2000-2200.
pub(crate) fn parse_date(text: &str) -> Option<u64> {
    let mut parts = text.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(2000..=2200).contains(&y) {
        return None;
    }
    // Days from a civil date, the inverse of `civil`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days).ok().map(|d| d * 86_400_000)
}

/// Year, month, day, hour and minute (UTC) of a time in milliseconds since 1970.
fn civil(millis: u64) -> (i64, u32, u32, u32, u32) {
    let secs = millis / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to a proleptic Gregorian date, counting in 400-year eras from 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3_600) as u32,
        ((rem % 3_600) / 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_right_across_eras_and_leap_days() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0));
        // 2024-02-29 12:34 UTC.
        assert_eq!(civil(1_709_210_040_000), (2024, 2, 29, 12, 34));
        // 2026-11-23 00:00 UTC.
        assert_eq!(civil(1_795_392_000_000), (2026, 11, 23, 0, 0));
        assert_eq!(civil(951_782_400_000), (2000, 2, 29, 0, 0));
    }

    #[test]
    fn recent_times_are_relative_older_ones_dated() {
        let now = Timestamp(1_795_392_000_000);
        let ago = |secs: u64| When::new(Timestamp(now.0 - secs * 1000), now).text;
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(7_200), "2 hours ago");
        assert_eq!(ago(86_400 * 3), "3 days ago");
        assert_eq!(ago(86_400 * 30), "24 Oct 2026");
        assert_eq!(When::new(now, now).iso, "2026-11-23T00:00Z");
    }

    #[test]
    fn dates_round_trip_through_the_date_field() {
        for text in ["2026-11-23", "2027-02-28", "2028-02-29", "2030-12-31"] {
            let ms = parse_date(text).unwrap();
            assert_eq!(date_value(ms), text);
        }
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("soon"), None);
        assert_eq!(day_month(Timestamp(1_795_392_000_000)), "23 Nov");
    }
}
