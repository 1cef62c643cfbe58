//! Chat endpoints: the people directory, conversations, messages, reactions, read
//! markers, members of groups, and blocks.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kindred_protocol::api::{
    AddParticipant, BlockMember, ConversationView, CreateConversation, EditMessage, MarkRead,
    MessageView, NewMessage, Page, PersonView, React, ReactionCount, SendMessage,
    UpdateConversation,
};
use kindred_protocol::event::ConversationId;
use kindred_protocol::{EventId, MemberId};
use serde::Deserialize;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::node::AppError;
use crate::node::{Auth, Node};

fn conversation(text: &str) -> Result<ConversationId, AppError> {
    text.parse()
        .map_err(|_| AppError::not_found("No such conversation (malformed id)."))
}

fn message(text: &str) -> Result<EventId, AppError> {
    text.parse()
        .map_err(|_| AppError::not_found("No such message (malformed id)."))
}

fn member(text: &str) -> Result<MemberId, AppError> {
    MemberId::parse(text).map_err(|e| AppError::bad_request(format!("Not a member id: {e}.")))
}

/// `?q=<words>&after=<cursor>&limit=<n>` for the directory.
#[derive(Debug, Deserialize)]
pub(crate) struct PeopleQuery {
    q: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

pub(crate) async fn people(
    State(node): State<Node>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PeopleQuery>,
) -> Result<Json<Page<PersonView>>, AppError> {
    Ok(Json(node.people(
        &auth.member_id,
        q.q.as_deref(),
        q.after.as_deref(),
        q.limit,
    )?))
}

/// `GET /api/v1/people/{member}`: one person's profile as the caller sees it.
pub(crate) async fn person(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(member): ApiPath<String>,
) -> Result<Json<kindred_protocol::api::ProfileView>, AppError> {
    let member = node.member_named(&member)?;
    Ok(Json(node.person(&member, &auth.member_id)?))
}

pub(crate) async fn list(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<ConversationView>>, AppError> {
    Ok(Json(node.conversations(&auth)?))
}

pub(crate) async fn create(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateConversation>,
) -> Result<(StatusCode, Json<ConversationView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(node.create_conversation(&auth, req).await?),
    ))
}

pub(crate) async fn get(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ConversationView>, AppError> {
    node.conversation_view(&auth.member_id, &conversation(&id)?)?
        .map(Json)
        .ok_or_else(|| AppError::forbidden("You are not in this conversation."))
}

pub(crate) async fn update(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateConversation>,
) -> Result<Json<ConversationView>, AppError> {
    Ok(Json(
        node.update_conversation(&auth, &conversation(&id)?, req)
            .await?,
    ))
}

/// `?before=&limit=` for history.
#[derive(Debug, Deserialize)]
pub(crate) struct HistoryQuery {
    before: Option<String>,
    limit: Option<usize>,
}

pub(crate) async fn history(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<Page<MessageView>>, AppError> {
    Ok(Json(node.history(
        &auth,
        &conversation(&id)?,
        q.before.as_deref(),
        q.limit.unwrap_or(50),
    )?))
}

pub(crate) async fn post(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NewMessage>,
) -> Result<(StatusCode, Json<MessageView>), AppError> {
    let view = node.post_message(&auth, &conversation(&id)?, req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

pub(crate) async fn edit(
    State(node): State<Node>,
    auth: Auth,
    ApiPath((id, mid)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<EditMessage>,
) -> Result<Json<MessageView>, AppError> {
    Ok(Json(
        node.edit_message(&auth, &conversation(&id)?, &message(&mid)?, &req.body)
            .await?,
    ))
}

pub(crate) async fn retract(
    State(node): State<Node>,
    auth: Auth,
    ApiPath((id, mid)): ApiPath<(String, String)>,
) -> Result<StatusCode, AppError> {
    node.retract_message(&auth, &conversation(&id)?, &message(&mid)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn react(
    State(node): State<Node>,
    auth: Auth,
    ApiPath((id, mid)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<React>,
) -> Result<Json<Vec<ReactionCount>>, AppError> {
    Ok(Json(
        node.react_message(
            &auth,
            &conversation(&id)?,
            &message(&mid)?,
            &req.reaction,
            false,
        )
        .await?,
    ))
}

pub(crate) async fn unreact(
    State(node): State<Node>,
    auth: Auth,
    ApiPath((id, mid, reaction)): ApiPath<(String, String, String)>,
) -> Result<Json<Vec<ReactionCount>>, AppError> {
    Ok(Json(
        node.react_message(&auth, &conversation(&id)?, &message(&mid)?, &reaction, true)
            .await?,
    ))
}

pub(crate) async fn read(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<MarkRead>,
) -> Result<StatusCode, AppError> {
    node.mark_read(&auth, &conversation(&id)?, &req.up_to)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn add_member(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AddParticipant>,
) -> Result<Json<ConversationView>, AppError> {
    Ok(Json(
        node.add_participant(&auth, &conversation(&id)?, req)
            .await?,
    ))
}

pub(crate) async fn remove_member(
    State(node): State<Node>,
    auth: Auth,
    ApiPath((id, who)): ApiPath<(String, String)>,
) -> Result<StatusCode, AppError> {
    node.remove_participant(&auth, &conversation(&id)?, &member(&who)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn blocks(
    State(node): State<Node>,
    auth: Auth,
) -> Result<Json<Vec<String>>, AppError> {
    Ok(Json(node.blocks(&auth)?))
}

pub(crate) async fn block(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<BlockMember>,
) -> Result<StatusCode, AppError> {
    node.set_block(&auth, &req.member, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn unblock(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(who): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    node.set_block(&auth, &member(&who)?, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?with=@name:node` for a one-to-one conversation.
#[derive(Debug, Deserialize)]
pub(crate) struct WithQuery {
    with: String,
}

pub(crate) async fn send_message(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<SendMessage>,
) -> Result<(StatusCode, Json<MessageView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(node.send_message(&auth, req).await?),
    ))
}

pub(crate) async fn messages(
    State(node): State<Node>,
    auth: Auth,
    ApiQuery(q): ApiQuery<WithQuery>,
) -> Result<Json<Vec<MessageView>>, AppError> {
    Ok(Json(node.direct_messages(&auth, &member(&q.with)?)?))
}
