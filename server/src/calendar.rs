//! Dates and times as people live them: in a time zone (IANA names, such as
//! `Europe/London`, from the tz database via `jiff`), with daylight saving. A node has a
//! zone (`node.time_zone`), and a member may choose their own; every date shown, and
//! every "in a week" a mentoring pair agrees, is worked out in it.

use jiff::tz::TimeZone;
use jiff::{Span, Zoned};

/// A time zone by IANA name; `None` if the tz database does not know it.
pub(crate) fn zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name.trim()).ok()
}

/// The tz database's own spelling of a zone name ("asia/karachi" is "Asia/Karachi").
pub(crate) fn canonical_name(name: &str) -> Option<String> {
    let tz = zone(name)?;
    Some(tz.iana_name().unwrap_or(name.trim()).to_owned())
}

/// `millis` (since the Unix epoch) in `tz`.
fn zoned(millis: u64, tz: &TimeZone) -> Zoned {
    let ts = i64::try_from(millis)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .unwrap_or(jiff::Timestamp::MAX);
    ts.to_zoned(tz.clone())
}

/// When something last done at `last` (ms) is due again, `days` later by the calendar of
/// `tz`: the same local time that many days on, whatever the clocks did in between (a
/// week after 17:00 on the Sunday before the clocks go forward is 17:00 the next Sunday).
pub(crate) fn days_later(last: u64, days: u32, tz: &TimeZone) -> u64 {
    let start = zoned(last, tz);
    match start.checked_add(Span::new().days(i64::from(days))) {
        Ok(due) => u64::try_from(due.timestamp().as_millisecond()).unwrap_or(u64::MAX),
        Err(_) => u64::MAX,
    }
}

/// "31 March 2027", in `tz`.
pub(crate) fn human_date(millis: u64, tz: &TimeZone) -> String {
    zoned(millis, tz).strftime("%-d %B %Y").to_string()
}

/// "30 Nov at 10:42", in `tz`: a recent moment, where the day matters as much as the hour.
pub(crate) fn human_time(millis: u64, tz: &TimeZone) -> String {
    zoned(millis, tz).strftime("%-d %b at %H:%M").to_string()
}

/// "30 November 2026, 06:22", in `tz`: a moment in a record kept for years.
pub(crate) fn date_time(millis: u64, tz: &TimeZone) -> String {
    zoned(millis, tz).strftime("%-d %B %Y, %H:%M").to_string()
}

/// "17 Nov", in `tz`, for labels where the year is said elsewhere.
pub(crate) fn day_month(millis: u64, tz: &TimeZone) -> String {
    zoned(millis, tz).strftime("%-d %b").to_string()
}

/// `YYYY-MM-DD` in `tz`, for a date field.
pub(crate) fn date_value(millis: u64, tz: &TimeZone) -> String {
    zoned(millis, tz).strftime("%Y-%m-%d").to_string()
}

/// The start of the day `text` (`YYYY-MM-DD`) in `tz`, in ms; `None` for anything else or
/// a year outside 2000-2200.
pub(crate) fn parse_date(text: &str, tz: &TimeZone) -> Option<u64> {
    let date: jiff::civil::Date = text.trim().parse().ok()?;
    if !(2000..=2200).contains(&date.year()) {
        return None;
    }
    let start = date.to_zoned(tz.clone()).ok()?;
    u64::try_from(start.timestamp().as_millisecond()).ok()
}

/// The start (ms) of the week (Monday, 00:00 in `tz`) that holds `millis`.
pub(crate) fn week_start(millis: u64, tz: &TimeZone) -> u64 {
    let z = zoned(millis, tz);
    let back = i64::from(z.weekday().to_monday_zero_offset());
    let monday = z
        .date()
        .checked_sub(Span::new().days(back))
        .ok()
        .and_then(|d| d.to_zoned(tz.clone()).ok());
    monday
        .and_then(|m| u64::try_from(m.timestamp().as_millisecond()).ok())
        .unwrap_or(0)
}

/// `at` as people say it, seen at `now`, to the nearest unit: "just now", "5 minutes ago",
/// "in 7 days", and beyond a week and a half-day either way the date in `tz` ("31 March
/// 2027").
pub(crate) fn relative(at: u64, now: u64, tz: &TimeZone) -> String {
    let (secs, future) = if at > now {
        ((at - now) / 1000, true)
    } else {
        ((now - at) / 1000, false)
    };
    // To the nearest unit ("in 2 days" for 47 h 59 min), moving up a unit when that rounds
    // to a whole one (59 min 40 s is "1 hour").
    let nearest = |unit: u64| (secs + unit / 2) / unit;
    let (n, unit) = match secs {
        0..30 => {
            return if future { "in a moment" } else { "just now" }.to_owned();
        }
        30..3_570 => (nearest(60).max(1), "minute"),
        3_570..84_600 => (nearest(3_600).max(1), "hour"),
        84_600..648_000 => (nearest(86_400).max(1), "day"),
        _ => return human_date(at, tz),
    };
    let amount = count(n, unit, &format!("{unit}s"));
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

pub(crate) use kindred_protocol::text::{count, every_days};

#[cfg(test)]
mod tests {
    use super::*;

    fn london() -> TimeZone {
        zone("Europe/London").unwrap()
    }

    /// ms of a UTC date and time.
    fn utc(text: &str) -> u64 {
        let ts: jiff::Timestamp = text.parse().unwrap();
        u64::try_from(ts.as_millisecond()).unwrap()
    }

    #[test]
    fn a_week_is_the_same_local_time_across_both_uk_clock_changes() {
        let tz = london();
        // The clocks go forward at 01:00 UTC on Sunday 28 March 2027: a check-in at 17:00
        // GMT the Sunday before is due at 17:00 BST a week later.
        let before_spring = utc("2027-03-21T17:00:00Z"); // 17:00 GMT
        let due = days_later(before_spring, 7, &tz);
        assert_eq!(due, utc("2027-03-28T16:00:00Z"), "17:00 BST a week later");
        // Autumn: 17:00 BST on Sunday 24 October 2027, clocks go back on the 31st.
        let before_autumn = utc("2027-10-24T16:00:00Z"); // 17:00 BST
        let due = days_later(before_autumn, 7, &tz);
        assert_eq!(due, utc("2027-10-31T17:00:00Z"), "17:00 GMT a week later");
        // A fixed 7 x 24 hours would have been an hour off both times.
        assert_ne!(due, before_autumn + 7 * 86_400_000);
    }

    #[test]
    fn dates_are_in_the_zone_not_utc() {
        let tz = london();
        // 00:30 BST on 1 July is 23:30 UTC on 30 June.
        let at = utc("2027-06-30T23:30:00Z");
        assert_eq!(human_date(at, &tz), "1 July 2027");
        assert_eq!(date_value(at, &tz), "2027-07-01");
        assert_eq!(day_month(at, &tz), "1 Jul");
        assert_eq!(human_date(at, &zone("UTC").unwrap()), "30 June 2027");
        assert_eq!(
            parse_date("2027-07-01", &tz),
            Some(utc("2027-06-30T23:00:00Z"))
        );
        assert_eq!(parse_date("1999-01-01", &tz), None);
        assert_eq!(parse_date("31/03/2027", &tz), None);
        assert!(zone("Mars/Olympus_Mons").is_none());
    }

    #[test]
    fn weeks_start_on_monday_in_the_zone() {
        let tz = london();
        // Sunday 23:30 UTC in summer is already Monday 00:30 in London.
        let at = utc("2027-07-04T23:30:00Z");
        assert_eq!(week_start(at, &tz), utc("2027-07-04T23:00:00Z"));
    }

    #[test]
    fn relative_times_read_both_ways() {
        let tz = london();
        let now = utc("2027-03-01T12:00:00Z");
        let cases = [
            (now - 10_000, "just now"),
            (now + 10_000, "in a moment"),
            (now - 60_000, "1 minute ago"),
            (now - 5 * 60_000, "5 minutes ago"),
            (now + 3 * 3_600_000, "in 3 hours"),
            (now + 86_400_000, "in 1 day"),
            (now + 7 * 86_400_000 - 60_000, "in 7 days"),
            (now - 8 * 86_400_000, "21 February 2027"),
            (now + 6 * 86_400_000 - 60_000, "in 6 days"),
            (now + 48 * 3_600_000 - 60_000, "in 2 days"),
            (now - 3_590_000, "1 hour ago"),
            (now - 2 * 86_400_000, "2 days ago"),
            (now + 30 * 86_400_000, "31 March 2027"),
        ];
        for (at, text) in cases {
            assert_eq!(relative(at, now, &tz), text);
        }
    }

    #[test]
    fn counts_and_rhythms_read_as_english() {
        assert_eq!(count(1, "hour", "hours"), "1 hour");
        assert_eq!(count(0, "reply", "replies"), "0 replies");
        assert_eq!(every_days(1), "every day");
        assert_eq!(every_days(7), "every week");
        assert_eq!(every_days(14), "every 2 weeks");
        assert_eq!(every_days(10), "every 10 days");
    }
}
