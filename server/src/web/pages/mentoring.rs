//! Mentoring and buddying pages: the overview, publishing or pausing an offer, asking for
//! a mentor or buddy, the explained shortlist and proposals, answering as a mentor, and a
//! match (agreement, check-ins with the first-meeting fit, closing).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kindred_protocol::api::{
    AnswerProposal, MatchStatus, MatchView, NewCheckIn, OfferView, Propose, PublishOffer,
    RequestView, Suggestion,
};
use kindred_protocol::event::body::mentoring::{
    Agreement, Availability, BuddyRequest, Closing, Fit, Mode, OfferStatus, Weighted,
};
use kindred_protocol::{EventId, Timestamp};
use serde::Deserialize;

use crate::error::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{FormPairs, NoFields, Problems, member_form, member_pairs, split_tags};
use crate::web::session::Viewer;
use crate::web::time::When;

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
const CLOSING_REASONS: [&str; 4] = [
    "Goals met",
    "Not a good fit",
    "Moving on",
    "No longer have the time",
];

/// An agreement's end is a day on the calendar, not an instant: it is kept as 00:00 UTC of
/// that day and read back in UTC, so both people see the same date wherever they are.
const CALENDAR_DATE: jiff::tz::TimeZone = jiff::tz::TimeZone::UTC;

fn match_id(text: &str) -> Result<EventId, PageError> {
    text.parse()
        .map_err(|_| AppError::not_found("That match does not exist.").into())
}

fn mode_text(mode: Mode) -> &'static str {
    match mode {
        Mode::Online => "online or by phone",
        Mode::InPerson => "face to face",
        Mode::Either => "online or face to face",
    }
}

fn days_text(days: u8) -> String {
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

fn status_text(status: MatchStatus) -> &'static str {
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
fn status_code(status: MatchStatus) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(code)) => code,
        _ => String::new(),
    }
}

/// A checkbox in a group.
struct Choice {
    value: String,
    label: String,
    checked: bool,
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
            .map(|o| {
                o.offer
                    .topics
                    .iter()
                    .map(|t| node.mentoring_topic_name(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        offer,
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
    render_with_status(&page, &page.chrome, StatusCode::BAD_REQUEST)
}

pub(crate) async fn offer_status(
    State(node): State<Node>,
    viewer: Viewer,
    Path(action): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let _: NoFields = member_form(&viewer, &body)?;
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
    render_with_status(&page, &page.chrome, StatusCode::BAD_REQUEST)
}

pub(crate) async fn withdraw_request(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let _: NoFields = member_form(&viewer, &body)?;
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
        meets: mode_text(o.mode).to_owned(),
        time: format!(
            "{} a month, {}",
            crate::calendar::count(u64::from(o.availability.hours_per_month), "hour", "hours"),
            days_text(o.availability.days)
        ),
        places_left: o.places_left,
        reasons: s.reasons.clone(),
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
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: ProposeForm = member_form(&viewer, &body)?;
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
            render_with_status(&page, &page.chrome, StatusCode::BAD_REQUEST)
        }
        Err(e) => Err(e.into()),
    }
}

/// A check-in as the match page lists it.
struct CheckInItem {
    by_me: bool,
    who: String,
    pulse: &'static str,
    fit: Option<&'static str>,
    note: Option<String>,
    when: When,
}

fn pulse_text(pulse: u8) -> &'static str {
    match pulse {
        1 => "Hard going",
        2 => "Mixed",
        3 => "Going fine",
        _ => "Going well",
    }
}

fn fit_text(fit: Fit) -> &'static str {
    match fit {
        Fit::Good => "a good fit",
        Fit::Deciding => "still deciding",
        Fit::NotGood => "not a good fit",
    }
}

#[derive(askama::Template)]
#[template(path = "mentoring_match.html", whitespace = "minimize")]
struct MatchPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    as_mentor: bool,
    other: String,
    status: &'static str,
    pending: bool,
    active: bool,
    note: String,
    answer_message: Option<String>,
    agreement: Option<Agreement>,
    agreement_ends: String,
    /// The agreement's end as people read it ("31 March 2027").
    agreement_ends_text: String,
    /// "every week", "every 2 weeks".
    rhythm_text: String,
    checkins: Vec<CheckInItem>,
    checkin_due: bool,
    first_checkin: bool,
    closing: Option<Closing>,
    conversation: Option<String>,
    reasons: [&'static str; 4],
    problems: Problems,
}

fn match_page(node: &Node, viewer: &Viewer, m: MatchView) -> MatchPage {
    let now = Timestamp::now();
    let as_mentor = m.role == "mentor";
    let me = &viewer.auth.member_id;
    let other = if as_mentor {
        m.buddy_name.clone()
    } else {
        m.mentor_name.clone()
    };
    let checkins: Vec<CheckInItem> = m
        .checkins
        .iter()
        .map(|c| CheckInItem {
            by_me: c.by == *me,
            who: if c.by == m.mentor {
                m.mentor_name.clone()
            } else {
                m.buddy_name.clone()
            },
            pulse: pulse_text(c.pulse),
            fit: c.fit.map(fit_text),
            note: c.note.clone(),
            when: When::new(c.at, now, &viewer.tz),
        })
        .collect();
    let mut chrome = Chrome::member(node, viewer, format!("Match with {other}"), "/mentoring");
    chrome.live_data.push(("match", m.id.to_string()));
    chrome
        .live_data
        .push(("match-status", status_code(m.status)));
    MatchPage {
        chrome,
        csrf: viewer.csrf.clone(),
        id: m.id.to_string(),
        as_mentor,
        status: status_text(m.status),
        pending: m.status == MatchStatus::Pending,
        active: m.status == MatchStatus::Active,
        note: m.note.clone(),
        answer_message: m.answer_message.clone(),
        agreement_ends: m
            .agreement
            .as_ref()
            .filter(|a| a.ends_at > 0)
            .map(|a| crate::calendar::date_value(a.ends_at, &CALENDAR_DATE))
            .unwrap_or_default(),
        agreement_ends_text: m
            .agreement
            .as_ref()
            .filter(|a| a.ends_at > 0)
            .map(|a| crate::calendar::human_date(a.ends_at, &CALENDAR_DATE))
            .unwrap_or_default(),
        rhythm_text: m
            .agreement
            .as_ref()
            .map(|a| crate::calendar::every_days(u32::from(a.rhythm_days)))
            .unwrap_or_default(),
        agreement: m.agreement.clone(),
        first_checkin: !checkins.iter().any(|c| c.by_me),
        checkins,
        checkin_due: m.checkin_due,
        closing: m.closing.clone(),
        conversation: m.conversation.map(|c| c.to_string()),
        reasons: CLOSING_REASONS,
        problems: Problems::default(),
        other,
    }
}

pub(crate) async fn match_detail(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let m = node.get_match(&viewer.auth, &match_id(&id)?).await?;
    let page = match_page(&node, &viewer, m);
    render(&page, &page.chrome)
}

/// Shows the match page again with a problem (a refused form).
async fn match_problem(
    node: &Node,
    viewer: &Viewer,
    id: &EventId,
    field: &'static str,
    error: AppError,
) -> Result<Response, PageError> {
    let m = node.get_match(&viewer.auth, id).await?;
    let mut page = match_page(node, viewer, m);
    page.problems.refused(field, error)?;
    render_with_status(&page, &page.chrome, StatusCode::BAD_REQUEST)
}

/// After an action on a match: back to the match page with a notice, or the page again
/// with the node's refusal next to `field`.
async fn after_match_action<T>(
    node: &Node,
    viewer: &Viewer,
    id: &EventId,
    result: Result<T, AppError>,
    (anchor, flash): (&str, Flash),
    field: &'static str,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(see_other(
            node,
            &format!("/mentoring/matches/{id}{anchor}"),
            Some(flash),
        )),
        Err(e @ AppError::Refused { .. }) => match_problem(node, viewer, id, field, e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(crate) struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    message: String,
}

pub(crate) async fn answer(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
    let form: AnswerForm = member_form(&viewer, &body)?;
    let req = AnswerProposal {
        accept: form.answer == "accept",
        message: crate::web::forms::optional(&form.message),
    };
    let result = node.answer(&viewer.auth, &id, req).await;
    after_match_action(
        &node,
        &viewer,
        &id,
        result,
        ("", Flash::Answered),
        "message",
    )
    .await
}

pub(crate) async fn withdraw(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
    let _: NoFields = member_form(&viewer, &body)?;
    node.withdraw_proposal(&viewer.auth, &id).await?;
    Ok(see_other(&node, "/mentoring", Some(Flash::Edited)))
}

#[derive(Deserialize)]
pub(crate) struct AgreementForm {
    #[serde(default)]
    goals: String,
    #[serde(default)]
    rhythm_days: String,
    #[serde(default)]
    ends_on: String,
}

pub(crate) async fn agree(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
    let form: AgreementForm = member_form(&viewer, &body)?;
    let rhythm = form
        .rhythm_days
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|d| (1..=90).contains(d));
    let ends = if form.ends_on.trim().is_empty() {
        Some(0)
    } else {
        crate::calendar::parse_date(&form.ends_on, &CALENDAR_DATE)
    };
    let (Some(rhythm_days), Some(ends_at)) = (rhythm, ends) else {
        let error = AppError::bad_request(
            "Enter how often you will meet (1 to 90 days) and, if you like, an end date.",
        );
        return match_problem(&node, &viewer, &id, "rhythm_days", error).await;
    };
    let req = Agreement {
        goals: form.goals.trim().to_owned(),
        rhythm_days,
        ends_at,
    };
    let result = node.agree(&viewer.auth, &id, req).await;
    after_match_action(&node, &viewer, &id, result, ("", Flash::Edited), "goals").await
}

#[derive(Deserialize)]
pub(crate) struct CheckInForm {
    #[serde(default)]
    pulse: String,
    #[serde(default)]
    fit: String,
    #[serde(default)]
    note: String,
}

pub(crate) async fn check_in(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
    let form: CheckInForm = member_form(&viewer, &body)?;
    let Some(pulse) = form
        .pulse
        .parse::<u8>()
        .ok()
        .filter(|p| (1..=4).contains(p))
    else {
        let error = AppError::bad_request("Choose how it is going.");
        return match_problem(&node, &viewer, &id, "pulse", error).await;
    };
    let fit = match form.fit.as_str() {
        "good" => Some(Fit::Good),
        "deciding" => Some(Fit::Deciding),
        "not_good" => Some(Fit::NotGood),
        _ => None,
    };
    let req = NewCheckIn {
        pulse,
        fit,
        note: crate::web::forms::optional(&form.note),
    };
    let result = node.check_in(&viewer.auth, &id, req).await;
    after_match_action(
        &node,
        &viewer,
        &id,
        result,
        ("#checkins", Flash::CheckedIn),
        "note",
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct CloseForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    rating: String,
}

pub(crate) async fn close(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
    let form: CloseForm = member_form(&viewer, &body)?;
    if form.reason.trim().is_empty() {
        let error = AppError::bad_request("Choose why the match is ending.");
        return match_problem(&node, &viewer, &id, "reason", error).await;
    }
    let req = Closing {
        reason: form.reason.trim().to_owned(),
        rating: form
            .rating
            .parse::<u8>()
            .ok()
            .filter(|r| *r <= 5)
            .unwrap_or(0),
    };
    let result = node.close_match(&viewer.auth, &id, req).await;
    after_match_action(
        &node,
        &viewer,
        &id,
        result,
        ("", Flash::MatchClosed),
        "reason",
    )
    .await
}

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
