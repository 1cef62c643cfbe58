//! What a match's two people do on its page: answer, withdraw, propose and confirm the
//! agreement, check in, close and reflect. How the page looks is in
//! `match_view.rs`; the mentoring overview is in `mod.rs`, offers in `offer.rs`, requests
//! and suggestions in `ask.rs`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use kindred_protocol::EventId;
use kindred_protocol::api::{AnswerProposal, NewCheckIn};
use kindred_protocol::event::body::mentoring::{Agreement, Closing, Fit};
use serde::Deserialize;

use super::match_view::match_page;
use super::{CALENDAR_DATE, match_id};
use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, NoFields, member_form};
use crate::web::session::Viewer;

pub(crate) async fn match_detail(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let m = node.get_match(&viewer.auth, &match_id(&id)?).await?;
    node.looked_at(
        &viewer.auth.member_id,
        crate::node::notifications::Looked::Match(m.id),
    );
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
    render_with_status(&page, &page.chrome, page.problems.status())
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
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<AnswerForm>,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
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
    Path(id): Path<String>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
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
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<AgreementForm>,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
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
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<CheckInForm>,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
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
    let req = match closing_from(&form, "Choose why the match is ending.") {
        Ok(req) => req,
        Err(error) => return match_problem(&node, &viewer, &id, "reason", error).await,
    };
    if !crate::web::confirm::confirmed(&body) {
        return crate::web::confirm::ask_first(
            &node,
            &viewer,
            &body,
            crate::web::confirm::Ask {
                question: "End this match?".to_owned(),
                consequence: "The other person is told that the match has ended, and it cannot be started again: you would need a new request. Why, and how it went, stay private to you.".to_owned(),
                action: &format!("/mentoring/matches/{id}/close"),
                button: "Yes, end the match",
                cancel: &format!("/mentoring/matches/{id}"),
            },
        );
    }
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
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<ConfirmForm>,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
    let Ok(proposal) = form.agreement.parse::<EventId>() else {
        let error = AppError::bad_request("Read the agreement again, then confirm it.");
        return match_problem(&node, &viewer, &id, "agreement", error).await;
    };
    let result = node.confirm_agreement(&viewer.auth, &id, &proposal).await;
    after_match_action(
        &node,
        &viewer,
        &id,
        result,
        ("#agreement", Flash::Edited),
        "agreement",
    )
    .await
}

pub(crate) async fn reflect(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<CloseForm>,
) -> Result<Response, PageError> {
    let id = match_id(&id)?;
    let req = match closing_from(&form, "Choose why the match ended.") {
        Ok(req) => req,
        Err(error) => return match_problem(&node, &viewer, &id, "reason", error).await,
    };
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

/// The closing or reflection a form gives; `missing` is said when no reason was chosen.
fn closing_from(form: &CloseForm, missing: &str) -> Result<Closing, AppError> {
    let reason = form.reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request(missing));
    }
    Ok(Closing {
        reason: reason.to_owned(),
        rating: form
            .rating
            .parse::<u8>()
            .ok()
            .filter(|r| *r <= 5)
            .unwrap_or(0),
    })
}
