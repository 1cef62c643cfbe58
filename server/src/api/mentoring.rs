//! Mentoring endpoints (`/api/v1/mentoring/...`): offers, requests, suggestions,
//! proposals and matches, cohort rounds, the dashboard.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kindred_protocol::EventId;
use kindred_protocol::api::{
    AnswerProposal, CohortRound, ConfirmAgreement, Dashboard, EditRound, MatchView, NewCheckIn,
    OfferView, Propose, PublishOffer, RequestView, Suggestion,
};
use kindred_protocol::event::body::mentoring::{Agreement, BuddyRequest, Closing, OfferStatus};
use serde::Deserialize;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::node::AppError;
use crate::node::{Auth, Node};

fn match_id(text: &str) -> Result<EventId, AppError> {
    text.parse()
        .map_err(|_| AppError::not_found("No such proposal or match (malformed id)."))
}

pub(crate) async fn topics(State(node): State<Node>, _auth: Auth) -> Json<Vec<String>> {
    Json(node.vocabulary())
}

pub(crate) async fn offers(
    State(node): State<Node>,
    _auth: Auth,
) -> Result<Json<Vec<OfferView>>, AppError> {
    Ok(Json(node.offers().await?))
}

pub(crate) async fn my_offer(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<OfferView>, AppError> {
    node.mentoring_caught_up().await?;
    let record = node
        .store()
        .offer(&auth.member_id)?
        .ok_or_else(|| AppError::not_found("You have not published an offer."))?;
    Ok(Json(node.offer_view(record)?))
}

pub(crate) async fn publish_offer(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<PublishOffer>,
) -> Result<Json<OfferView>, AppError> {
    Ok(Json(node.publish_offer(&auth, req).await?))
}

pub(crate) async fn offer_status(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(action): ApiPath<String>,
) -> Result<Json<OfferView>, AppError> {
    let status = match action.as_str() {
        "pause" => OfferStatus::Paused,
        "resume" => OfferStatus::Open,
        "withdraw" => OfferStatus::Withdrawn,
        _ => return Err(AppError::not_found("Use pause, resume or withdraw.")),
    };
    Ok(Json(node.set_offer_status(&auth, status).await?))
}

pub(crate) async fn create_request(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<BuddyRequest>,
) -> Result<(StatusCode, Json<RequestView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(node.create_request(&auth, req).await?),
    ))
}

pub(crate) async fn requests(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<RequestView>>, AppError> {
    Ok(Json(node.my_requests(&auth)?))
}

pub(crate) async fn withdraw_request(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    node.withdraw_request(&auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?request=&limit=` for suggestions.
#[derive(Debug, Deserialize)]
pub(crate) struct SuggestionQuery {
    request: Option<String>,
    limit: Option<usize>,
}

pub(crate) async fn suggestions(
    State(node): State<Node>,
    auth: Auth,
    ApiQuery(q): ApiQuery<SuggestionQuery>,
) -> Result<Json<Vec<Suggestion>>, AppError> {
    Ok(Json(
        node.suggestions(&auth, q.request.as_deref(), q.limit.unwrap_or(5))
            .await?,
    ))
}

pub(crate) async fn propose(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<Propose>,
) -> Result<(StatusCode, Json<MatchView>), AppError> {
    Ok((StatusCode::CREATED, Json(node.propose(&auth, req).await?)))
}

pub(crate) async fn matches(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<MatchView>>, AppError> {
    Ok(Json(node.my_matches(&auth).await?))
}

pub(crate) async fn get_match(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MatchView>, AppError> {
    let m = node.get_match(&auth, &match_id(&id)?).await?;
    node.looked_at(
        &auth.member_id,
        crate::node::notifications::Looked::Match(m.id),
    );
    Ok(Json(m))
}

pub(crate) async fn answer(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AnswerProposal>,
) -> Result<Json<MatchView>, AppError> {
    Ok(Json(node.answer(&auth, &match_id(&id)?, req).await?))
}

pub(crate) async fn withdraw(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    node.withdraw_proposal(&auth, &match_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn check_in(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NewCheckIn>,
) -> Result<Json<MatchView>, AppError> {
    Ok(Json(node.check_in(&auth, &match_id(&id)?, req).await?))
}

pub(crate) async fn agree(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<Agreement>,
) -> Result<Json<MatchView>, AppError> {
    Ok(Json(node.agree(&auth, &match_id(&id)?, req).await?))
}

pub(crate) async fn close(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<Closing>,
) -> Result<Json<MatchView>, AppError> {
    Ok(Json(node.close_match(&auth, &match_id(&id)?, req).await?))
}

pub(crate) async fn confirm(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ConfirmAgreement>,
) -> Result<Json<MatchView>, AppError> {
    Ok(Json(
        node.confirm_agreement(&auth, &match_id(&id)?, &req.agreement)
            .await?,
    ))
}

pub(crate) async fn reflect(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<Closing>,
) -> Result<Json<MatchView>, AppError> {
    Ok(Json(node.reflect(&auth, &match_id(&id)?, req).await?))
}

pub(crate) async fn run_round(
    State(node): State<Node>,
    auth: Auth,
) -> Result<(StatusCode, Json<CohortRound>), AppError> {
    Ok((StatusCode::CREATED, Json(node.run_round(&auth).await?)))
}

pub(crate) async fn get_round(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CohortRound>, AppError> {
    Ok(Json(node.get_round(&auth, &id)?))
}

pub(crate) async fn edit_round(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<EditRound>,
) -> Result<Json<CohortRound>, AppError> {
    Ok(Json(node.edit_round(&auth, &id, req).await?))
}

pub(crate) async fn send_round(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CohortRound>, AppError> {
    Ok(Json(node.send_round(&auth, &id).await?))
}

pub(crate) async fn dashboard(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Dashboard>, AppError> {
    Ok(Json(node.dashboard(&auth).await?))
}

/// `GET /api/v1/mentoring/dashboard.csv`: the same counts as a CSV download.
pub(crate) async fn dashboard_csv(
    State(node): State<Node>,
    auth: Auth,
) -> Result<axum::response::Response, AppError> {
    node.dashboard_download(&auth).await
}
