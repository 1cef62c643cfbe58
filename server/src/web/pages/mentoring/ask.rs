//! Asking for a mentor or buddy on the web: the request form with what matters most,
//! withdrawing it, suggestions with their reasons and trade-offs, and proposing a match.

use super::offer::{day_choices, days_from, mode_value, parse_mode, topic_choices};
use super::{CRITERIA, days_text, mode_text};
use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{
    Choice, FormPairs, MemberForm, NoFields, Problems, member_pairs, split_tags,
};
use crate::web::session::Viewer;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use kindred_protocol::api::{Propose, RequestView, Suggestion};
use kindred_protocol::event::body::mentoring::{Availability, BuddyRequest, Mode, Weighted};
use serde::Deserialize;

/// How much a criterion matters, as chosen on the request form.
pub(super) struct CriterionRow {
    name: &'static str,
    label: &'static str,
    choice: &'static str,
}

#[derive(askama::Template)]
#[template(path = "mentoring_ask.html", whitespace = "minimize")]
pub(super) struct AskPage {
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

pub(super) fn criteria_rows(form: Option<&FormPairs>) -> Vec<CriterionRow> {
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
pub(super) struct SuggestionItem {
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

pub(super) fn suggestion_item(node: &Node, s: &Suggestion) -> SuggestionItem {
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
pub(super) struct SuggestionsPage {
    chrome: Chrome,
    csrf: String,
    request: String,
    suggestions: Vec<SuggestionItem>,
    problems: Problems,
}

pub(super) fn suggestions_page(
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

pub(super) fn open_request(node: &Node, viewer: &Viewer) -> Result<Option<RequestView>, PageError> {
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
