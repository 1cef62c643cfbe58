//! A mentor's offer on the web: the form (topics, ways of meeting, days, places) and
//! publishing, pausing, resuming or withdrawing it.

use super::DAYS;
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
use kindred_protocol::api::PublishOffer;
use kindred_protocol::event::body::mentoring::{Availability, Mode, OfferStatus};

/// The offer form's fields, as typed.
pub(super) struct OfferFields {
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
pub(super) struct OfferPage {
    chrome: Chrome,
    csrf: String,
    f: OfferFields,
    editing: bool,
    problems: Problems,
}

pub(super) fn mode_value(mode: Mode) -> &'static str {
    match mode {
        Mode::Online => "online",
        Mode::InPerson => "in_person",
        Mode::Either => "either",
    }
}

pub(super) fn parse_mode(text: &str) -> Mode {
    match text {
        "online" => Mode::Online,
        "in_person" => Mode::InPerson,
        _ => Mode::Either,
    }
}

pub(super) fn topic_choices(node: &Node, chosen: &[String]) -> Vec<Choice> {
    node.vocabulary()
        .into_iter()
        .map(|t| Choice {
            label: node.mentoring_topic_name(&t),
            checked: chosen.contains(&t),
            value: t,
        })
        .collect()
}

pub(super) fn day_choices(days: u8) -> Vec<Choice> {
    DAYS.iter()
        .enumerate()
        .map(|(i, d)| Choice {
            value: i.to_string(),
            label: (*d).to_owned(),
            checked: days & (1 << i) != 0,
        })
        .collect()
}

pub(super) fn days_from(form: &FormPairs) -> u8 {
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
