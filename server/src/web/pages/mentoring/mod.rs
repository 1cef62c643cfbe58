//! Mentoring and buddying pages: the overview, publishing or pausing an offer, asking for
//! a mentor or buddy, the explained shortlist and proposals, answering as a mentor, and a
//! match (agreement, check-ins with the first-meeting fit, closing).

mod ask;
mod match_view;
mod matches;
mod offer;

pub(crate) use ask::*;
use axum::extract::State;
use axum::response::Response;
use kindred_protocol::EventId;
use kindred_protocol::api::{MatchStatus, MatchView, OfferView, RequestView};
use kindred_protocol::event::body::mentoring::Mode;
pub(crate) use offer::*;

use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, render};
use crate::web::error::PageError;
use crate::web::session::Viewer;

pub(crate) use matches::{
    agree, answer, check_in, close, confirm, match_detail, reflect, withdraw,
};

/// Days of the week, Monday first (bit 0 of `Availability::days`).
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// What a buddy can make essential or a preference, in plain words.
const CRITERIA: [(&str, &str); 6] = [
    ("topics", "Knows about the topics I chose"),
    ("language", "Speaks a language I speak"),
    ("region", "Is in my region (or can meet online)"),
    ("mode", "Can meet the way I prefer"),
    ("availability", "Has the time I need"),
    ("other_org", "Is from another organisation"),
];

/// Reasons a match ends, offered on the closing form.
pub(super) use kindred_protocol::api::CLOSING_REASONS;

/// An agreement's end is a day on the calendar, not an instant: it is kept as 00:00 UTC of
/// that day and read back in UTC, so both people see the same date wherever they are.
pub(super) const CALENDAR_DATE: jiff::tz::TimeZone = jiff::tz::TimeZone::UTC;

pub(super) fn match_id(text: &str) -> Result<EventId, PageError> {
    text.parse()
        .map_err(|_| AppError::not_found("That match does not exist.").into())
}

pub(super) fn mode_text(mode: Mode) -> &'static str {
    match mode {
        Mode::Online => "online or by phone",
        Mode::InPerson => "face to face",
        Mode::Either => "online or face to face",
    }
}

pub(super) fn days_text(days: u8) -> String {
    let names: Vec<&str> = DAYS
        .iter()
        .enumerate()
        .filter(|(i, _)| days & (1 << i) != 0)
        .map(|(_, d)| *d)
        .collect();
    if names.is_empty() {
        "any day".to_owned()
    } else {
        names.join(", ")
    }
}

pub(super) fn status_text(status: MatchStatus) -> &'static str {
    match status {
        MatchStatus::Pending => "Waiting for an answer",
        MatchStatus::Active => "Matched",
        MatchStatus::Declined => "Declined",
        MatchStatus::NoLongerAvailable => "No longer available",
        MatchStatus::Expired => "Expired without an answer",
        MatchStatus::Withdrawn => "Withdrawn",
        MatchStatus::Closed => "Ended",
    }
}

/// The status as the API and the live stream spell it (its serde name), which the live
/// script compares with updates.
pub(super) fn status_code(status: MatchStatus) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(code)) => code,
        _ => String::new(),
    }
}

/// A match in a list.
struct MatchItem {
    id: String,
    other: String,
    as_mentor: bool,
    status: &'static str,
    waiting_for_me: bool,
    checkin_due: bool,
}

fn match_item(m: &MatchView) -> MatchItem {
    let as_mentor = m.role == "mentor";
    MatchItem {
        id: m.id.to_string(),
        other: if as_mentor {
            m.buddy_name.clone()
        } else {
            m.mentor_name.clone()
        },
        as_mentor,
        status: status_text(m.status),
        waiting_for_me: as_mentor && m.status == MatchStatus::Pending,
        checkin_due: m.checkin_due,
    }
}

#[derive(askama::Template)]
#[template(path = "mentoring.html", whitespace = "minimize")]
struct OverviewPage {
    chrome: Chrome,
    csrf: String,
    current: Vec<MatchItem>,
    past: Vec<MatchItem>,
    offer: Option<OfferView>,
    offer_topics: String,
    request: Option<RequestView>,
    /// The request's topics as the organisation names them.
    request_topics: String,
}

pub(crate) async fn overview(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    // Matches first: reading them waits until mentoring events are applied, so the offer
    // read next is current too.
    let (current, past): (Vec<MatchView>, Vec<MatchView>) = node
        .my_matches(&viewer.auth)
        .await?
        .into_iter()
        .partition(|m| matches!(m.status, MatchStatus::Pending | MatchStatus::Active));
    let offer = match node.store().offer(&viewer.auth.member_id)? {
        Some(record) => Some(node.offer_view(record)?),
        None => None,
    };
    let request = open_request(&node, &viewer)?;
    let mut chrome = Chrome::member(&node, &viewer, "Mentoring and buddying", "/mentoring");
    chrome.live_data.push(("mentoring", "yes".to_owned()));
    let page = OverviewPage {
        chrome,
        csrf: viewer.csrf.clone(),
        current: current.iter().map(match_item).collect(),
        past: past.iter().map(match_item).collect(),
        offer_topics: offer
            .as_ref()
            .map(|o| node.mentoring_topic_names(&o.offer.topics))
            .unwrap_or_default(),
        offer,
        request_topics: request
            .as_ref()
            .map(|r| node.mentoring_topic_names(&r.request.topics))
            .unwrap_or_default(),
        request,
    };
    render(&page, &page.chrome)
}

/// A check-in as the match page lists it.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_words() {
        assert_eq!(
            kindred_protocol::api::topic_name("burnout-and-wellbeing"),
            "Burnout and wellbeing"
        );
        assert_eq!(days_text(0b0000_0101), "Monday, Wednesday");
        assert_eq!(days_text(0), "any day");
    }
}
