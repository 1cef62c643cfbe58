//! Peer-learning endpoints: topics, posts, threads, replies, edits, retractions, reactions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kindred_protocol::EventId;
use kindred_protocol::api::{
    CreateTopic, EditPost, NewPost, NewReply, Page, PostIdView, PostView, React, ReactionCount,
    Retract, ThreadView, TopicView, UpdateTopic,
};
use serde::Deserialize;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::node::AppError;
use crate::node::{Auth, Node};

/// `?q=<words>&limit=<n>` for search.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    q: String,
    limit: Option<usize>,
}

pub(crate) async fn search(
    State(node): State<Node>,
    auth: Auth,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<kindred_protocol::api::SearchHit>>, AppError> {
    Ok(Json(
        node.search(&q.q, q.limit.unwrap_or(20), &auth.member_id)
            .await?,
    ))
}

/// `?before=<cursor>&limit=<n>` for paged lists.
#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    before: Option<String>,
    limit: Option<usize>,
}

fn event_id(text: &str) -> Result<EventId, AppError> {
    text.parse()
        .map_err(|_| AppError::not_found("That post does not exist (malformed id)."))
}

pub(crate) async fn topics(
    State(node): State<Node>,
    _auth: Auth,
) -> Result<Json<Vec<TopicView>>, AppError> {
    Ok(Json(node.topic_views()?))
}

pub(crate) async fn create_topic(
    State(node): State<Node>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateTopic>,
) -> Result<(StatusCode, Json<TopicView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(node.create_topic(&auth, req).await?),
    ))
}

pub(crate) async fn update_topic(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(topic): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateTopic>,
) -> Result<Json<TopicView>, AppError> {
    Ok(Json(node.update_topic(&auth, &topic, req).await?))
}

pub(crate) async fn topic_posts(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(topic): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<PostView>>, AppError> {
    Ok(Json(node.topic_posts(
        &topic,
        q.before.as_deref(),
        q.limit.unwrap_or(20),
        &auth.member_id,
    )?))
}

pub(crate) async fn create_post(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(topic): ApiPath<String>,
    ApiJson(req): ApiJson<NewPost>,
) -> Result<(StatusCode, Json<PostView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(node.create_post(&auth, &topic, req).await?),
    ))
}

/// `?after=<cursor>&limit=<n>` for a thread's replies.
#[derive(Debug, Deserialize)]
pub(crate) struct RepliesQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/post-ids/{short}`.
pub(crate) async fn post_id(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(short): ApiPath<String>,
) -> Result<Json<PostIdView>, AppError> {
    Ok(Json(PostIdView {
        id: node.post_id_from_short(&short, &auth.member_id)?,
    }))
}

pub(crate) async fn thread(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RepliesQuery>,
) -> Result<Json<ThreadView>, AppError> {
    let id = event_id(&id)?;
    let thread = node.thread(&id, &auth.member_id, q.after.as_deref(), q.limit)?;
    node.looked_at(
        &auth.member_id,
        crate::node::notifications::Looked::Thread(id),
    );
    Ok(Json(thread))
}

pub(crate) async fn reply(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NewReply>,
) -> Result<(StatusCode, Json<PostView>), AppError> {
    let view = node.create_reply(&auth, &event_id(&id)?, req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

pub(crate) async fn edit(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<EditPost>,
) -> Result<Json<PostView>, AppError> {
    Ok(Json(node.edit(&auth, &event_id(&id)?, req).await?))
}

pub(crate) async fn retract(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    // The body (a reason) is optional.
    let req: Retract = if body.iter().all(u8::is_ascii_whitespace) {
        Retract::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request(format!("The body is not valid JSON: {e}")))?
    };
    node.retract(&auth, &event_id(&id)?, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn react(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<React>,
) -> Result<Json<Vec<ReactionCount>>, AppError> {
    Ok(Json(
        node.react(&auth, &event_id(&id)?, &req.reaction, false)
            .await?,
    ))
}

pub(crate) async fn unreact(
    State(node): State<Node>,
    auth: Auth,
    ApiPath((id, reaction)): ApiPath<(String, String)>,
) -> Result<Json<Vec<ReactionCount>>, AppError> {
    Ok(Json(
        node.react(&auth, &event_id(&id)?, &reaction, true).await?,
    ))
}

pub(crate) async fn member_posts(
    State(node): State<Node>,
    auth: Auth,
    ApiPath(member): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<PostView>>, AppError> {
    // Either a full member id (`@sam:node`) or a local username.
    let member = node.member_named(&member)?;
    Ok(Json(node.member_posts(
        &member,
        q.before.as_deref(),
        q.limit.unwrap_or(20),
        &auth.member_id,
    )?))
}
