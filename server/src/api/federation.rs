//! The admin's peer management (`/api/v1/peers`). (The link websocket other nodes connect
//! to is `federation::endpoint`.)

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kindred_protocol::NodeId;
use kindred_protocol::api::{AddPeer, FederationWarning, PeerInviteCreated, PeerView, Role};

use super::extract::{ApiJson, ApiPath};
use crate::federation;
use crate::node::AppError;
use crate::node::{Auth, Node};

/// A node by its id (64 hex characters) or by the name bound to it here (a paired node
/// or one known through the federation).
fn node_id(node: &Node, text: &str) -> Result<NodeId, AppError> {
    if let Ok(id) = text.parse() {
        return Ok(id);
    }
    node.store()
        .bound_node(text.trim())?
        .filter(|id| *id != node.node_id())
        .ok_or_else(|| {
            AppError::not_found(format!(
                "No node here is called {text:?}: give its name as the Peers page shows it, or its node id (64 hex characters)."
            ))
        })
}

pub(crate) async fn peers(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<PeerView>>, AppError> {
    auth.require(Role::Admin)?;
    Ok(Json(node.peer_views()?))
}

pub(crate) async fn create_invite(
    State(node): State<Node>,
    auth: Auth,
) -> Result<(StatusCode, Json<PeerInviteCreated>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(node.create_peer_invite(&auth).await?),
    ))
}

pub(crate) async fn add(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<AddPeer>,
) -> Result<(StatusCode, Json<PeerView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(federation::redeem(&node, &auth, req).await?),
    ))
}

pub(crate) async fn warnings(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<FederationWarning>>, AppError> {
    auth.require(Role::Admin)?;
    Ok(Json(node.federation_warnings()?))
}

pub(crate) async fn block(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    node.admin_block(&auth, node_id(&node, &id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn unblock(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    node.admin_unblock(&auth, node_id(&node, &id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/peers/{node}/decisions`: what this node does with that node's shared
/// moderation decisions (admins).
pub(crate) async fn decisions(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    super::extract::ApiJson(req): super::extract::ApiJson<kindred_protocol::api::SetDecisionPolicy>,
) -> Result<axum::Json<kindred_protocol::api::SetDecisionPolicy>, AppError> {
    let policy = node.set_decisions_from(&auth, &node_id(&node, &id)?, req.policy)?;
    Ok(axum::Json(kindred_protocol::api::SetDecisionPolicy {
        policy,
    }))
}
