//! Notification endpoints: the member's notifications and their email settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kindred_protocol::api::{
    EmailSettings, MarkNotificationsRead, NotificationList, UpdateEmailSettings,
};
use serde::Deserialize;

use super::extract::{ApiJson, ApiQuery};
use crate::node::AppError;
use crate::node::{Auth, Node};

/// `?before=<seq>` for older notifications.
#[derive(Deserialize)]
pub(crate) struct Before {
    before: Option<u64>,
}

pub(crate) async fn list(
    State(node): State<Node>,
    auth: Auth,
    ApiQuery(q): ApiQuery<Before>,
) -> Result<Json<NotificationList>, AppError> {
    Ok(Json(node.notifications(&auth, q.before)?))
}

pub(crate) async fn read(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<MarkNotificationsRead>,
) -> Result<StatusCode, AppError> {
    node.mark_notifications_read(&auth.member_id, req.up_to)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn email(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<EmailSettings>, AppError> {
    Ok(Json(node.email_settings(&auth.member_id)?))
}

pub(crate) async fn update_email(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<UpdateEmailSettings>,
) -> Result<Json<EmailSettings>, AppError> {
    Ok(Json(node.update_email_settings(&auth, req).await?))
}
