//! Account endpoints: set-up, sign-in, sessions, the member's own details, invites, members.

use axum::Json;
use axum::extract::State;

use crate::http::client_address::ClientAddress;
use axum::http::{HeaderMap, StatusCode, header::USER_AGENT};
use kindred_protocol::api::{
    AccountDeletion, ChangePassword, CreateInvite, DeleteAccount, DeleteMember, InviteCreated,
    InviteView, LoginRequest, MemberView, RedeemInviteRequest, ResetLinkCreated, ResetPassword,
    SessionCreated, SessionView, SetupRequest, UpdateMe, UpdateMember,
};

use super::extract::{ApiJson, ApiPath};
use crate::node::AppError;
use crate::node::{Auth, Node};

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub(crate) async fn setup(
    State(node): State<Node>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SetupRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), AppError> {
    let session = node.setup(req, user_agent(&headers)).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

pub(crate) async fn login(
    State(node): State<Node>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), AppError> {
    let session = node.login(req, address, user_agent(&headers)).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

pub(crate) async fn logout(State(node): State<Node>, auth: Auth) -> Result<StatusCode, AppError> {
    node.logout(&auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn sessions(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<SessionView>>, AppError> {
    Ok(Json(node.sessions(&auth)?))
}

pub(crate) async fn revoke_session(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    node.revoke_session(&auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn me(State(node): State<Node>, auth: Auth) -> Result<Json<MemberView>, AppError> {
    Ok(Json(node.me(&auth)?))
}

pub(crate) async fn update_me(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<UpdateMe>,
) -> Result<Json<MemberView>, AppError> {
    Ok(Json(node.update_me(&auth, req).await?))
}

pub(crate) async fn change_password(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<ChangePassword>,
) -> Result<StatusCode, AppError> {
    node.change_password(&auth, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn create_invite(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateInvite>,
) -> Result<(StatusCode, Json<InviteCreated>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(node.create_invite(&auth, req).await?),
    ))
}

pub(crate) async fn invites(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<InviteView>>, AppError> {
    Ok(Json(node.invites(&auth)?))
}

pub(crate) async fn revoke_invite(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    node.revoke_invite(&auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn redeem_invite(
    State(node): State<Node>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RedeemInviteRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), AppError> {
    let session = node.redeem_invite(req, user_agent(&headers)).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

pub(crate) async fn members(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<MemberView>>, AppError> {
    Ok(Json(node.members(&auth)?))
}

pub(crate) async fn update_member(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(member): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateMember>,
) -> Result<Json<MemberView>, AppError> {
    Ok(Json(node.update_member(&auth, &member, req).await?))
}

pub(crate) async fn reset_link(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(member): ApiPath<String>,
) -> Result<(StatusCode, Json<ResetLinkCreated>), AppError> {
    let created = node.admin_reset_link(&auth, &member).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub(crate) async fn export_me(
    State(node): State<Node>,
    auth: Auth,
) -> Result<axum::response::Response, AppError> {
    Ok(crate::http::zip_download(node.export_own(&auth).await?))
}

pub(crate) async fn export_member(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(member): ApiPath<String>,
) -> Result<axum::response::Response, AppError> {
    Ok(crate::http::zip_download(
        node.export_for_admin(&auth, &member).await?,
    ))
}

pub(crate) async fn delete_me(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<DeleteAccount>,
) -> Result<Json<AccountDeletion>, AppError> {
    Ok(Json(node.delete_own_account(&auth, req).await?))
}

pub(crate) async fn delete_member(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(member): ApiPath<String>,
    ApiJson(req): ApiJson<DeleteMember>,
) -> Result<Json<AccountDeletion>, AppError> {
    Ok(Json(node.delete_member_account(&auth, &member, req).await?))
}

pub(crate) async fn stop_deletion(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(member): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    node.stop_deletion(&auth, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn reset_password(
    State(node): State<Node>,
    ApiJson(req): ApiJson<ResetPassword>,
) -> Result<StatusCode, AppError> {
    node.reset_password(&req.token, &req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
