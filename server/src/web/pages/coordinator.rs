//! The mentoring coordinator's pages (admins and moderators): the dashboard of counts with
//! a weekly chart (server-rendered SVG, with the same figures as a table), and cohort
//! rounds: run one, review the proposed pairs with their reasons, drop pairs, send.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use kindred_protocol::api::{CohortRound, Dashboard, EditRound, Role, WeekCounts};

use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, NoFields, member_pairs};
use crate::web::session::Viewer;

/// The chart's drawing area, in SVG units.
const CHART_W: u64 = 640;
const CHART_H: u64 = 200;
const AXIS_LEFT: u64 = 36;
const AXIS_BOTTOM: u64 = 24;

/// One bar of the chart.
struct Bar {
    x: u64,
    y: u64,
    width: u64,
    height: u64,
    class: &'static str,
    title: String,
}

/// A week's label under the chart and its row in the table.
struct WeekRow {
    label: String,
    x: u64,
    counts: WeekCounts,
}

/// Lays the weeks out as grouped bars, scaled to the largest count.
fn chart(weeks: &[WeekCounts], tz: &jiff::tz::TimeZone) -> (Vec<Bar>, Vec<WeekRow>, u64) {
    let top = weeks
        .iter()
        .flat_map(|w| [w.requests, w.matches, w.closures])
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_h = CHART_H - AXIS_BOTTOM - 8;
    let slot = (CHART_W - AXIS_LEFT) / (weeks.len().max(1) as u64);
    let bar_w = (slot.saturating_sub(8) / 3).max(2);
    let mut bars = Vec::new();
    let mut rows = Vec::new();
    for (i, w) in weeks.iter().enumerate() {
        let x0 = AXIS_LEFT + i as u64 * slot + 4;
        let label = crate::calendar::day_month(w.starts_at.as_millis(), tz);
        for (j, (value, class, one, many)) in [
            (w.requests, "bar-requests", "request", "requests"),
            (w.matches, "bar-matches", "match started", "matches started"),
            (w.closures, "bar-closures", "match ended", "matches ended"),
        ]
        .into_iter()
        .enumerate()
        {
            let height = value * plot_h / top;
            bars.push(Bar {
                x: x0 + j as u64 * bar_w,
                y: CHART_H - AXIS_BOTTOM - height,
                // A hair narrower than the slot, so neighbouring bars stay apart.
                width: bar_w.saturating_sub(1).max(1),
                height,
                class,
                title: format!(
                    "Week of {label}: {}",
                    crate::calendar::count(value, one, many)
                ),
            });
        }
        rows.push(WeekRow {
            label,
            x: x0 + bar_w * 3 / 2,
            counts: *w,
        });
    }
    (bars, rows, top)
}

#[derive(askama::Template)]
#[template(path = "admin_mentoring.html", whitespace = "minimize")]
struct DashboardPage {
    chrome: Chrome,
    csrf: String,
    section: &'static str,
    is_admin: bool,
    d: Dashboard,
    average_days: Option<String>,
    bars: Vec<Bar>,
    weeks: Vec<WeekRow>,
    top: u64,
    chart_w: u64,
    chart_h: u64,
    axis_left: u64,
    axis_y: u64,
}

/// `/admin/mentoring/counts.csv`: the dashboard's counts to download for funder reports.
pub(crate) async fn counts_csv(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    Ok(node.dashboard_download(&viewer.auth).await?)
}

pub(crate) async fn dashboard(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let d = node.dashboard(&viewer.auth).await?;
    let (bars, weeks, top) = chart(&d.weeks, &node.organisation_zone());
    let page = DashboardPage {
        chrome: Chrome::member(&node, &viewer, "Mentoring dashboard", "/admin"),
        csrf: viewer.csrf.clone(),
        section: "mentoring",
        is_admin: viewer.auth.member.role >= Role::Admin,
        average_days: d.average_days_to_match.map(|days| format!("{days:.1}")),
        d,
        bars,
        weeks,
        top,
        chart_w: CHART_W,
        chart_h: CHART_H,
        axis_left: AXIS_LEFT,
        axis_y: CHART_H - AXIS_BOTTOM,
    };
    render(&page, &page.chrome)
}

pub(crate) async fn run_round(
    State(node): State<Node>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    let round = node.run_round(&viewer.auth).await?;
    Ok(see_other(
        &node,
        &format!("/admin/mentoring/rounds/{}", round.id),
        None,
    ))
}

/// A proposed pair as the review page shows it.
struct PairRow {
    request: String,
    buddy: String,
    mentor: String,
    reasons: Vec<String>,
    /// Why its proposal could not be sent (a sent round only).
    not_sent: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "admin_round.html", whitespace = "minimize")]
struct RoundPage {
    chrome: Chrome,
    csrf: String,
    section: &'static str,
    is_admin: bool,
    id: String,
    sent: bool,
    /// Pairs of a sent round whose proposal could not be sent.
    not_sent: usize,
    pairs: Vec<PairRow>,
    unmatched: Vec<String>,
}

fn buddy_name(node: &Node, member: &kindred_protocol::MemberId) -> String {
    node.store()
        .member(member.localpart())
        .ok()
        .flatten()
        .map_or_else(|| member.to_string(), |m| m.display_name)
}

fn round_page(node: &Node, viewer: &Viewer, round: CohortRound) -> Result<RoundPage, PageError> {
    let requests = node.store().requests()?;
    let unmatched = round
        .unmatched
        .iter()
        .map(|id| {
            requests
                .iter()
                .find(|r| r.id == *id)
                .map_or_else(|| id.clone(), |r| buddy_name(node, &r.member))
        })
        .collect();
    Ok(RoundPage {
        chrome: Chrome::member(node, viewer, "Cohort round", "/admin"),
        csrf: viewer.csrf.clone(),
        section: "mentoring",
        is_admin: viewer.auth.member.role >= Role::Admin,
        sent: round.status == "sent",
        not_sent: round.pairs.iter().filter(|p| p.not_sent.is_some()).count(),
        pairs: round
            .pairs
            .iter()
            .map(|p| PairRow {
                request: p.request.clone(),
                buddy: buddy_name(node, &p.buddy),
                mentor: p.mentor_name.clone(),
                reasons: p.reasons.clone(),
                not_sent: p.not_sent.clone(),
            })
            .collect(),
        unmatched,
        id: round.id,
    })
}

pub(crate) async fn round(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let round = node.get_round(&viewer.auth, &id)?;
    let page = round_page(&node, &viewer, round)?;
    render(&page, &page.chrome)
}

/// Takes pairs out of a draft round (one per ticked "leave out" box).
pub(crate) async fn edit_round(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = member_pairs(&viewer, &body)?;
    let drop = form.all("drop");
    if drop.is_empty() {
        return Err(AppError::bad_request("Tick the pairs to leave out first.").into());
    }
    let req = EditRound {
        drop,
        reassign: Vec::new(),
    };
    node.edit_round(&viewer.auth, &id, req).await?;
    Ok(see_other(
        &node,
        &format!("/admin/mentoring/rounds/{id}"),
        Some(Flash::Edited),
    ))
}

pub(crate) async fn send_round(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    node.send_round(&viewer.auth, &id).await?;
    Ok(see_other(
        &node,
        &format!("/admin/mentoring/rounds/{id}"),
        Some(Flash::RoundSent),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_protocol::Timestamp;

    #[test]
    fn bars_scale_to_the_busiest_week_and_stay_in_the_chart() {
        let weeks: Vec<WeekCounts> = (0..12)
            .map(|i| WeekCounts {
                starts_at: Timestamp(1_763_942_400_000 + i * 7 * 86_400_000),
                requests: i,
                matches: i / 2,
                closures: 0,
            })
            .collect();
        let (bars, rows, top) = chart(&weeks, &jiff::tz::TimeZone::UTC);
        assert_eq!(top, 11);
        assert_eq!(bars.len(), 36);
        assert_eq!(rows.len(), 12);
        let tallest = bars.iter().map(|b| b.height).max().unwrap();
        assert_eq!(tallest, CHART_H - AXIS_BOTTOM - 8);
        assert!(
            bars.iter()
                .all(|b| b.x + 2 <= CHART_W && b.y + b.height <= CHART_H)
        );
        assert!(bars[33].title.contains("11 requests"));
    }
}
