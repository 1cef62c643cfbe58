//! A match's page and what its two people do there: answer, withdraw, agree the terms,
//! check in and close. The mentoring overview, offers, requests and suggestions are in
//! `mentoring.rs`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kindred_protocol::api::{AnswerProposal, MatchStatus, MatchView, NewCheckIn};
use kindred_protocol::event::body::mentoring::{Agreement, Closing, Fit};
use kindred_protocol::{EventId, MemberId, Timestamp};
use serde::Deserialize;

use super::mentoring::{CALENDAR_DATE, CLOSING_REASONS, match_id, status_code, status_text};
use crate::error::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{NoFields, Problems, member_form};
use crate::web::session::Viewer;
use crate::web::time::When;

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
    /// Where the agreement stands, in words ("Proposed by Ann on 3 March; waiting for
    /// you to confirm it").
    agreement_state: String,
    /// The proposal the viewer may confirm (its id), when the other person proposed it.
    confirm_id: Option<String>,
    /// Whether both have agreed it.
    agreed: bool,
    /// What the buddy's request asked for, in words, for the mentor.
    asked: Vec<(&'static str, String)>,
    agreement_ends: String,
    /// The agreement's end as people read it ("31 March 2027").
    agreement_ends_text: String,
    /// "every week", "every 2 weeks".
    rhythm_text: String,
    checkins: Vec<CheckInItem>,
    checkin_due: bool,
    first_checkin: bool,
    closing: Option<Closing>,
    /// "Ann ended this match on 3 March 2027." when it has ended.
    ended: Option<String>,
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
    let name_of = |who: &MemberId| -> String {
        if who == me {
            "you".to_owned()
        } else if *who == m.mentor {
            m.mentor_name.clone()
        } else {
            m.buddy_name.clone()
        }
    };
    let day = |t: Timestamp| crate::calendar::human_date(t.as_millis(), &viewer.tz);
    let status = m.agreement_status.clone();
    let (agreement_state, confirm_id, agreed) = match status.as_ref() {
        None => (String::new(), None, false),
        Some(st) => match (&st.proposed_by, st.proposed_at) {
            (Some(by), Some(at)) => {
                let proposed = format!("Proposed by {} on {}", name_of(by), day(at));
                match (&st.confirmed_by, st.confirmed_at) {
                    (Some(c), Some(cat)) => (
                        format!("{proposed}; confirmed by {} on {}.", name_of(c), day(cat)),
                        None,
                        true,
                    ),
                    _ if by == me => (
                        format!("{proposed}; waiting for {other} to confirm it."),
                        None,
                        false,
                    ),
                    _ => (
                        format!("{proposed}; waiting for you to confirm it."),
                        st.id.map(|i| i.to_string()),
                        false,
                    ),
                }
            }
            _ => (
                "Written before agreements were confirmed: propose it again for you both to agree it.".to_owned(),
                None,
                false,
            ),
        },
    };
    let asked = m
        .asked
        .as_ref()
        .map(|a| {
            let mut out = Vec::new();
            if !a.topics.is_empty() {
                let names: Vec<String> = a
                    .topics
                    .iter()
                    .map(|t| node.mentoring_topic_name(t))
                    .collect();
                out.push(("Topics", names.join(", ")));
            }
            if !a.languages.is_empty() {
                // Kept folded for matching ("welsh"); read as a name ("Welsh").
                let names: Vec<String> = a
                    .languages
                    .iter()
                    .map(|l| {
                        let mut c = l.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect())
                            .unwrap_or_default()
                    })
                    .collect();
                out.push(("Languages", names.join(", ")));
            }
            out.push((
                "How to meet",
                super::mentoring::mode_text(a.mode).to_owned(),
            ));
            out
        })
        .unwrap_or_default();
    let ended = m.closed_at.map(|at| match &m.closed_by {
        Some(by) if by == me => format!("You ended this match on {}.", day(at)),
        Some(by) => format!("{} ended this match on {}.", name_of(by), day(at)),
        None => format!("This match ended on {}.", day(at)),
    });
    let mut chrome = Chrome::member(node, viewer, format!("Match with {other}"), "/mentoring");
    chrome.live_data.push(("match", m.id.to_string()));
    chrome.live_data.push((
        "agreement",
        status
            .as_ref()
            .and_then(|s| s.id)
            .map(|id| {
                let confirmed = if agreed { "+confirmed" } else { "" };
                format!("{id}{confirmed}")
            })
            .unwrap_or_default(),
    ));
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
        agreement_state,
        confirm_id,
        agreed,
        asked,
        ended,
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
    #[serde(default)]
    share_fit: Option<String>,
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
        share_fit: form.share_fit.is_some(),
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
    let req = closing_from(&form);
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

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    agreement: String,
}

pub(crate) async fn confirm(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
    let form: ConfirmForm = member_form(&viewer, &body)?;
    let Ok(proposal) = form.agreement.parse::<EventId>() else {
        let error = AppError::bad_request("Read the agreement again, then confirm it.");
        return match_problem(&node, &viewer, &id, "goals", error).await;
    };
    let result = node.confirm_agreement(&viewer.auth, &id, &proposal).await;
    after_match_action(
        &node,
        &viewer,
        &id,
        result,
        ("#agreement", Flash::Edited),
        "goals",
    )
    .await
}

pub(crate) async fn reflect(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
    let form: CloseForm = member_form(&viewer, &body)?;
    if form.reason.trim().is_empty() {
        let error = AppError::bad_request("Choose why the match ended.");
        return match_problem(&node, &viewer, &id, "reason", error).await;
    }
    let req = closing_from(&form);
    let result = node.reflect(&viewer.auth, &id, req).await;
    after_match_action(
        &node,
        &viewer,
        &id,
        result,
        ("#reflection", Flash::Edited),
        "reason",
    )
    .await
}

fn closing_from(form: &CloseForm) -> Closing {
    Closing {
        reason: form.reason.trim().to_owned(),
        rating: form
            .rating
            .parse::<u8>()
            .ok()
            .filter(|r| *r <= 5)
            .unwrap_or(0),
    }
}
