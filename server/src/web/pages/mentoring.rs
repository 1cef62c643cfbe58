//! Mentoring and buddying pages: the overview, publishing or pausing an offer, asking for
//! a mentor or buddy, the explained shortlist and proposals, answering as a mentor, and a
//! match (agreement, check-ins with the first-meeting fit, closing).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use kindred_protocol::EventId;
use kindred_protocol::api::{
    MatchStatus, MatchView, OfferView, Propose, PublishOffer, RequestView, Suggestion,
};
use kindred_protocol::event::body::mentoring::{
    Availability, BuddyRequest, Mode, OfferStatus, Weighted,
};
use serde::Deserialize;

use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{
    Choice, FormPairs, MemberForm, NoFields, Problems, member_pairs, split_tags,
};
use crate::web::session::Viewer;

pub(crate) use super::mentoring_match::{
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

/// The offer form's fields, as typed.
struct OfferFields {
    topics: Vec<Choice>,
    other_topics: String,
    lived_experience: String,
    languages: String,
    region: String,
    mode: &'static str,
    hours: String,
    days: Vec<Choice>,
    capacity: String,
    bio: String,
    prefers_other_orgs: bool,
}

#[derive(askama::Template)]
#[template(path = "mentoring_offer.html", whitespace = "minimize")]
struct OfferPage {
    chrome: Chrome,
    csrf: String,
    f: OfferFields,
    editing: bool,
    problems: Problems,
}

fn mode_value(mode: Mode) -> &'static str {
    match mode {
        Mode::Online => "online",
        Mode::InPerson => "in_person",
        Mode::Either => "either",
    }
}

fn parse_mode(text: &str) -> Mode {
    match text {
        "online" => Mode::Online,
        "in_person" => Mode::InPerson,
        _ => Mode::Either,
    }
}

fn topic_choices(node: &Node, chosen: &[String]) -> Vec<Choice> {
    node.vocabulary()
        .into_iter()
        .map(|t| Choice {
            label: node.mentoring_topic_name(&t),
            checked: chosen.contains(&t),
            value: t,
        })
        .collect()
}

fn day_choices(days: u8) -> Vec<Choice> {
    DAYS.iter()
        .enumerate()
        .map(|(i, d)| Choice {
            value: i.to_string(),
            label: (*d).to_owned(),
            checked: days & (1 << i) != 0,
        })
        .collect()
}

fn days_from(form: &FormPairs) -> u8 {
    form.all("day")
        .iter()
        .filter_map(|d| d.parse::<u8>().ok())
        .filter(|d| *d < 7)
        .fold(0, |bits, d| bits | (1 << d))
}

pub(crate) async fn offer_form(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let existing = node.store().offer(&viewer.auth.member_id)?;
    let editing = existing.is_some();
    let f = match existing.map(|r| r.offer) {
        Some(o) => OfferFields {
            topics: topic_choices(&node, &o.topics),
            other_topics: o.other_topics,
            lived_experience: o.lived_experience.join(", "),
            languages: o.languages.join(", "),
            region: o.region,
            mode: mode_value(o.mode),
            hours: o.availability.hours_per_month.to_string(),
            days: day_choices(o.availability.days),
            capacity: o.capacity.to_string(),
            bio: o.bio,
            prefers_other_orgs: o.prefers_other_orgs,
        },
        None => OfferFields {
            topics: topic_choices(&node, &[]),
            other_topics: String::new(),
            lived_experience: String::new(),
            languages: "English".to_owned(),
            region: String::new(),
            mode: "either",
            hours: "2".to_owned(),
            days: day_choices(0),
            capacity: "1".to_owned(),
            bio: String::new(),
            prefers_other_orgs: false,
        },
    };
    let page = OfferPage {
        chrome: Chrome::member(&node, &viewer, "Offer to mentor or buddy", "/mentoring"),
        csrf: viewer.csrf.clone(),
        f,
        editing,
        problems: Problems::default(),
    };
    render(&page, &page.chrome)
}

pub(crate) async fn publish_offer(
    State(node): State<Node>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = member_pairs(&viewer, &body)?;
    let topics = form.all("topic");
    let days = days_from(&form);
    let mut problems = Problems::default();
    let hours = form.get("hours").trim().parse::<u16>();
    let capacity = form.get("capacity").trim().parse::<u16>();
    if topics.is_empty() && form.get("other_topics").trim().is_empty() {
        problems.add(
            "topics",
            "Choose at least one topic, or describe what you can help with.",
        );
    }
    if !matches!(hours, Ok(1..=200)) {
        problems.add(
            "hours",
            "Enter the hours a month you can give, from 1 to 200.",
        );
    }
    if !matches!(capacity, Ok(1..=20)) {
        problems.add("capacity", "Enter how many people at once, from 1 to 20.");
    }
    if problems.is_empty() {
        let req = PublishOffer {
            topics: topics.clone(),
            other_topics: form.get("other_topics").trim().to_owned(),
            lived_experience: split_tags(form.get("lived_experience")),
            languages: split_tags(form.get("languages")),
            region: form.get("region").trim().to_owned(),
            mode: parse_mode(form.get("mode")),
            availability: Availability {
                hours_per_month: hours.clone().unwrap_or(1),
                days,
            },
            capacity: capacity.clone().unwrap_or(1),
            bio: form.get("bio").trim().to_owned(),
            prefers_other_orgs: form.has("prefers_other_orgs"),
        };
        match node.publish_offer(&viewer.auth, req).await {
            Ok(_) => return Ok(see_other(&node, "/mentoring", Some(Flash::OfferPublished))),
            Err(e) => problems.refused("topics", e)?,
        }
    }
    let page = OfferPage {
        chrome: Chrome::member(&node, &viewer, "Offer to mentor or buddy", "/mentoring"),
        csrf: viewer.csrf.clone(),
        f: OfferFields {
            topics: topic_choices(&node, &topics),
            other_topics: form.get("other_topics").to_owned(),
            lived_experience: form.get("lived_experience").to_owned(),
            languages: form.get("languages").to_owned(),
            region: form.get("region").to_owned(),
            mode: mode_value(parse_mode(form.get("mode"))),
            hours: form.get("hours").to_owned(),
            days: day_choices(days),
            capacity: form.get("capacity").to_owned(),
            bio: form.get("bio").to_owned(),
            prefers_other_orgs: form.has("prefers_other_orgs"),
        },
        editing: node.store().offer(&viewer.auth.member_id)?.is_some(),
        problems,
    };
    render_with_status(&page, &page.chrome, page.problems.status())
}

pub(crate) async fn offer_status(
    State(node): State<Node>,
    Path(action): Path<String>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    let status = match action.as_str() {
        "pause" => OfferStatus::Paused,
        "resume" => OfferStatus::Open,
        "withdraw" => OfferStatus::Withdrawn,
        _ => return Err(AppError::not_found("There is no such change to an offer.").into()),
    };
    node.set_offer_status(&viewer.auth, status).await?;
    Ok(see_other(&node, "/mentoring", Some(Flash::Edited)))
}

/// How much a criterion matters, as chosen on the request form.
struct CriterionRow {
    name: &'static str,
    label: &'static str,
    choice: &'static str,
}

#[derive(askama::Template)]
#[template(path = "mentoring_ask.html", whitespace = "minimize")]
struct AskPage {
    chrome: Chrome,
    csrf: String,
    topics: Vec<Choice>,
    goals: String,
    languages: String,
    region: String,
    mode: &'static str,
    hours: String,
    days: Vec<Choice>,
    criteria: Vec<CriterionRow>,
    problems: Problems,
}

fn criteria_rows(form: Option<&FormPairs>) -> Vec<CriterionRow> {
    CRITERIA
        .iter()
        .map(|(name, label)| CriterionRow {
            name,
            label,
            choice: match form.map(|f| f.get(&format!("c_{name}"))) {
                Some("must") => "must",
                Some("nice") => "nice",
                Some(_) => "any",
                // Defaults: topics matter most; the rest is a preference.
                None if *name == "topics" => "must",
                None => "nice",
            },
        })
        .collect()
}

pub(crate) async fn ask_form(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let page = AskPage {
        chrome: Chrome::member(&node, &viewer, "Ask for a mentor or buddy", "/mentoring"),
        csrf: viewer.csrf.clone(),
        topics: topic_choices(&node, &[]),
        goals: String::new(),
        languages: "English".to_owned(),
        region: String::new(),
        mode: "either",
        hours: "2".to_owned(),
        days: day_choices(0),
        criteria: criteria_rows(None),
        problems: Problems::default(),
    };
    render(&page, &page.chrome)
}

pub(crate) async fn ask(
    State(node): State<Node>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = member_pairs(&viewer, &body)?;
    let topics = form.all("topic");
    let days = days_from(&form);
    let hours = form.get("hours").trim().parse::<u16>();
    let mut problems = Problems::default();
    if topics.is_empty() {
        problems.add(
            "topics",
            "Choose at least one topic you would like help with.",
        );
    }
    if form.get("goals").trim().is_empty() {
        problems.add(
            "goals",
            "Say in a sentence or two what you hope to get from it.",
        );
    }
    if !matches!(hours, Ok(1..=200)) {
        problems.add("hours", "Enter the hours a month you have, from 1 to 200.");
    }
    if problems.is_empty() {
        let mut must = Vec::new();
        let mut nice_to_have = Vec::new();
        for (name, _) in CRITERIA {
            match form.get(&format!("c_{name}")) {
                "must" => must.push(name.to_owned()),
                "nice" => nice_to_have.push(Weighted {
                    criterion: name.to_owned(),
                    weight: 50,
                }),
                _ => {}
            }
        }
        let req = BuddyRequest {
            topics: topics.clone(),
            goals: form.get("goals").trim().to_owned(),
            languages: split_tags(form.get("languages")),
            region: form.get("region").trim().to_owned(),
            mode: parse_mode(form.get("mode")),
            availability: Availability {
                hours_per_month: hours.clone().unwrap_or(1),
                days,
            },
            wants_other_org: must.iter().any(|m| m == "other_org")
                || nice_to_have.iter().any(|w| w.criterion == "other_org"),
            must,
            nice_to_have,
        };
        match node.create_request(&viewer.auth, req).await {
            Ok(_) => return Ok(see_other(&node, "/mentoring/suggestions", None)),
            Err(e) => problems.refused("goals", e)?,
        }
    }
    let page = AskPage {
        chrome: Chrome::member(&node, &viewer, "Ask for a mentor or buddy", "/mentoring"),
        csrf: viewer.csrf.clone(),
        topics: topic_choices(&node, &topics),
        goals: form.get("goals").to_owned(),
        languages: form.get("languages").to_owned(),
        region: form.get("region").to_owned(),
        mode: mode_value(parse_mode(form.get("mode"))),
        hours: form.get("hours").to_owned(),
        days: day_choices(days),
        criteria: criteria_rows(Some(&form)),
        problems,
    };
    render_with_status(&page, &page.chrome, page.problems.status())
}

pub(crate) async fn withdraw_request(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    node.withdraw_request(&viewer.auth, &id).await?;
    Ok(see_other(&node, "/mentoring", Some(Flash::Edited)))
}

/// A suggested mentor with the reasons, as the shortlist shows them.
struct SuggestionItem {
    mentor: String,
    name: String,
    organisation: String,
    bio: String,
    topics: String,
    meets: String,
    time: String,
    places_left: u16,
    reasons: Vec<String>,
    trade_offs: Vec<String>,
}

fn suggestion_item(node: &Node, s: &Suggestion) -> SuggestionItem {
    let o = &s.offer.offer;
    let mut topics: Vec<String> = o
        .topics
        .iter()
        .map(|t| node.mentoring_topic_name(t))
        .collect();
    if !o.other_topics.is_empty() {
        topics.push(o.other_topics.clone());
    }
    SuggestionItem {
        mentor: s.offer.mentor.to_string(),
        name: s.offer.mentor_name.clone(),
        organisation: s.offer.organisation.clone(),
        bio: o.bio.clone(),
        topics: topics.join(", "),
        meets: match o.mode {
            Mode::Online => mode_text(o.mode).to_owned(),
            _ if o.region.trim().is_empty() => mode_text(o.mode).to_owned(),
            _ => format!("{}, in {}", mode_text(o.mode), o.region.trim()),
        },
        time: format!(
            "{} a month, {}",
            crate::calendar::count(u64::from(o.availability.hours_per_month), "hour", "hours"),
            days_text(o.availability.days)
        ),
        places_left: o.places_left,
        reasons: s.reasons.clone(),
        trade_offs: s.trade_offs.clone(),
    }
}

#[derive(askama::Template)]
#[template(path = "mentoring_suggestions.html", whitespace = "minimize")]
struct SuggestionsPage {
    chrome: Chrome,
    csrf: String,
    request: String,
    suggestions: Vec<SuggestionItem>,
    problems: Problems,
}

fn suggestions_page(
    node: &Node,
    viewer: &Viewer,
    request: &RequestView,
    suggestions: &[Suggestion],
) -> SuggestionsPage {
    SuggestionsPage {
        chrome: Chrome::member(node, viewer, "Suggested mentors", "/mentoring"),
        csrf: viewer.csrf.clone(),
        request: request.id.clone(),
        suggestions: suggestions
            .iter()
            .map(|s| suggestion_item(node, s))
            .collect(),
        problems: Problems::default(),
    }
}

fn open_request(node: &Node, viewer: &Viewer) -> Result<Option<RequestView>, PageError> {
    Ok(node
        .my_requests(&viewer.auth)?
        .into_iter()
        .find(|r| r.status == "open"))
}

pub(crate) async fn suggestions(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let Some(request) = open_request(&node, &viewer)? else {
        return Ok(see_other(&node, "/mentoring/ask", None));
    };
    let found = node.suggestions(&viewer.auth, Some(&request.id), 5).await?;
    let page = suggestions_page(&node, &viewer, &request, &found);
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct ProposeForm {
    #[serde(default)]
    mentor: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    request: String,
}

pub(crate) async fn propose(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<ProposeForm>,
) -> Result<Response, PageError> {
    let mentor = kindred_protocol::MemberId::parse(&form.mentor)
        .map_err(|_| AppError::bad_request("That mentor is not known here."))?;
    let req = Propose {
        mentor,
        note: form.note.trim().to_owned(),
        request: (!form.request.is_empty()).then(|| form.request.clone()),
    };
    match node.propose(&viewer.auth, req).await {
        Ok(m) => Ok(see_other(
            &node,
            &format!("/mentoring/matches/{}", m.id),
            Some(Flash::ProposalSent),
        )),
        Err(AppError::Refused { message, .. }) => {
            let Some(request) = open_request(&node, &viewer)? else {
                return Ok(see_other(&node, "/mentoring", None));
            };
            let found = node.suggestions(&viewer.auth, Some(&request.id), 5).await?;
            let mut page = suggestions_page(&node, &viewer, &request, &found);
            page.problems.add("", message);
            render_with_status(&page, &page.chrome, page.problems.status())
        }
        Err(e) => Err(e.into()),
    }
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
