//! Reports, the review queue, moderation actions, the audit log and appeals.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kindred_protocol::api::{
    AppealRequest, AuditLog, ModerationDone, ModerationQueue, ModerationRequest, NewReferral,
    ReferralView, ReportFiled, ReportRequest, SafetySettings, SignedOutAppeal, Standing,
    UpdateSafety,
};
use serde::Deserialize;

use super::extract::{ApiJson, ApiQuery};
use crate::http::client_address::ClientAddress;
use crate::node::AppError;
use crate::node::{Auth, Node};

/// `?before=<seq>` for older audit entries.
#[derive(Deserialize)]
pub(crate) struct Before {
    before: Option<u64>,
}

pub(crate) async fn report(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<ReportRequest>,
) -> Result<(StatusCode, Json<ReportFiled>), AppError> {
    Ok((StatusCode::CREATED, Json(node.report(&auth, req).await?)))
}

pub(crate) async fn queue(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<ModerationQueue>, AppError> {
    Ok(Json(node.moderation_queue(&auth)?))
}

pub(crate) async fn act(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<ModerationRequest>,
) -> Result<Json<ModerationDone>, AppError> {
    Ok(Json(node.moderate(&auth, req).await?))
}

pub(crate) async fn audit(
    State(node): State<Node>,
    auth: Auth,
    ApiQuery(q): ApiQuery<Before>,
) -> Result<Json<AuditLog>, AppError> {
    Ok(Json(node.audit_log(&auth, q.before)?))
}

pub(crate) async fn audit_csv(
    State(node): State<Node>,
    auth: Auth,
) -> Result<axum::response::Response, AppError> {
    node.audit_download(&auth)
}

pub(crate) async fn standing(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Standing>, AppError> {
    Ok(Json(node.standing_of(&auth.member_id)?))
}

pub(crate) async fn appeal(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<AppealRequest>,
) -> Result<StatusCode, AppError> {
    node.appeal(&auth.member_id, &req.note)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn appeal_signed_out(
    State(node): State<Node>,
    ClientAddress(address): ClientAddress,
    ApiJson(req): ApiJson<SignedOutAppeal>,
) -> Result<StatusCode, AppError> {
    node.appeal_signed_out(&req.credentials, &req.note, address)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn safety(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<SafetySettings>, AppError> {
    Ok(Json(node.safety(&auth)?))
}

pub(crate) async fn update_safety(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<UpdateSafety>,
) -> Result<Json<SafetySettings>, AppError> {
    Ok(Json(node.update_safety(&auth, req).await?))
}

pub(crate) async fn refer(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<NewReferral>,
) -> Result<(StatusCode, Json<ReferralView>), AppError> {
    Ok((StatusCode::CREATED, Json(node.refer(&auth, req).await?)))
}

pub(crate) async fn referrals(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<ReferralView>>, AppError> {
    Ok(Json(node.referrals(&auth)?))
}

pub(crate) async fn acknowledge(
    State(node): State<Node>,
    auth: Auth,
    super::extract::ApiPath(id): super::extract::ApiPath<u64>,
) -> Result<Json<ReferralView>, AppError> {
    Ok(Json(node.acknowledge_referral(&auth, id).await?))
}
