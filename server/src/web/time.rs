//! Times as people read them, in the viewer's time zone (`crate::calendar`): "5 minutes
//! ago" or "in 3 days" for what is near, "12 November 2026" otherwise, plus the exact UTC
//! time for `<time datetime>`.

use jiff::tz::TimeZone;
use kindred_protocol::Timestamp;

use crate::calendar;

/// A time shown on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct When {
    /// Machine-readable, for `<time datetime>` (UTC, ISO 8601).
    pub(crate) iso: String,
    /// For people.
    pub(crate) text: String,
}

impl When {
    /// Describes `at` as seen at `now`, in `tz`.
    pub(crate) fn new(at: Timestamp, now: Timestamp, tz: &TimeZone) -> Self {
        let iso = i64::try_from(at.as_millis())
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map(|ts| ts.strftime("%Y-%m-%dT%H:%MZ").to_string())
            .unwrap_or_default();
        Self {
            iso,
            text: calendar::relative(at.as_millis(), now.as_millis(), tz),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_times_are_relative_older_ones_dated_in_the_zone() {
        let tz = calendar::zone("Europe/London").unwrap();
        // 2026-11-23 00:00 UTC.
        let now = Timestamp(1_795_392_000_000);
        let ago = |secs: u64| When::new(Timestamp(now.0 - secs * 1000), now, &tz).text;
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(7_200), "2 hours ago");
        assert_eq!(ago(30 * 86_400), "24 October 2026");
        let ahead = When::new(Timestamp(now.0 + 6 * 86_400_000 - 60_000), now, &tz);
        assert_eq!(ahead.text, "in 6 days");
        assert_eq!(ahead.iso, "2026-11-28T23:59Z");
    }
}
