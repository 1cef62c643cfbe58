//! The coordinator's counts as a CSV file for funder reports: counts only, never content,
//! in one long table (`measure,category,week_starting,count`) that spreadsheets filter and
//! pivot without reshaping. Written with the `csv` crate (RFC 4180 quoting).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use kindred_protocol::api::Dashboard;

use crate::node::AppError;
use crate::node::{Auth, Node};

/// The CSV's header row.
const HEADER: [&str; 4] = ["measure", "category", "week_starting", "count"];

/// `d` as CSV. Week starts are dates in `tz` (YYYY-MM-DD). A cell that a spreadsheet would
/// read as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed
/// with `'` (OWASP's advice on CSV injection), since reasons can be typed by members.
pub(crate) fn dashboard_csv(d: &Dashboard, tz: &jiff::tz::TimeZone) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)?;
    let mut row = |measure: &str, category: &str, week: &str, count: String| {
        w.write_record([measure, &inert(category), week, &count])
    };
    row("open_requests", "", "", d.open_requests.to_string())?;
    row("pending_proposals", "", "", d.pending_proposals.to_string())?;
    row("active_matches", "", "", d.active_matches.to_string())?;
    row("at_risk", "", "", d.at_risk.to_string())?;
    row("checkin_overdue", "", "", d.checkin_overdue.to_string())?;
    for (reason, n) in &d.closed {
        row("ended_by_reason", reason, "", n.to_string())?;
    }
    for (label, n) in ["good", "still deciding", "not good"].iter().zip(d.fit) {
        row("first_meeting_fit", label, "", n.to_string())?;
    }
    if let Some(days) = d.average_days_to_match {
        row("average_days_to_match", "", "", format!("{days:.1}"))?;
    }
    for week in &d.weeks {
        let start = crate::calendar::date_value(week.starts_at.as_millis(), tz);
        row("requests", "", &start, week.requests.to_string())?;
        row("matches_started", "", &start, week.matches.to_string())?;
        row("matches_ended", "", &start, week.closures.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

impl Node {
    /// The dashboard's counts as a CSV file to download, named with today's date in the
    /// organisation's time zone. Coordinators only (moderators and admins), like the
    /// dashboard; errors as [`Node::dashboard`].
    pub(crate) async fn dashboard_download(&self, auth: &Auth) -> Result<Response, AppError> {
        let d = self.dashboard(auth).await?;
        let tz = self.organisation_zone();
        let body = dashboard_csv(&d, &tz).map_err(AppError::internal)?;
        let today =
            crate::calendar::date_value(kindred_protocol::Timestamp::now().as_millis(), &tz);
        Ok(csv_response(&format!("mentoring-counts-{today}.csv"), body))
    }
}

/// A CSV file to download as `filename`, never cached.
pub(crate) fn csv_response(filename: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// A cell as a spreadsheet will not run it as a formula (OWASP's advice on CSV injection).
pub(crate) fn inert(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_protocol::Timestamp;
    use kindred_protocol::api::WeekCounts;

    #[test]
    fn counts_in_one_long_table_and_nothing_a_spreadsheet_would_run() {
        let d = Dashboard {
            open_requests: 3,
            pending_proposals: 1,
            active_matches: 4,
            at_risk: 1,
            checkin_overdue: 2,
            closed: vec![
                ("goals met".into(), 2),
                ("=HYPERLINK(\"x\")".into(), 1),
                ("moving on, sadly".into(), 1),
            ],
            fit: [2, 1, 0],
            average_days_to_match: Some(3.26),
            weeks: vec![WeekCounts {
                // Monday 23 November 2026, 00:00 UTC.
                starts_at: Timestamp(1_795_392_000_000),
                requests: 2,
                matches: 1,
                closures: 0,
            }],
        };
        let csv = dashboard_csv(&d, &jiff::tz::TimeZone::UTC).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "measure,category,week_starting,count");
        for expected in [
            "open_requests,,,3",
            "checkin_overdue,,,2",
            "ended_by_reason,goals met,,2",
            "ended_by_reason,\"'=HYPERLINK(\"\"x\"\")\",,1",
            "ended_by_reason,\"moving on, sadly\",,1",
            "first_meeting_fit,still deciding,,1",
            "average_days_to_match,,,3.3",
            "requests,,2026-11-23,2",
            "matches_ended,,2026-11-23,0",
        ] {
            assert!(lines.contains(&expected), "{expected:?} in\n{csv}");
        }
    }
}
