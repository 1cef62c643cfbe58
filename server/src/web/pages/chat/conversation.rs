//! One conversation's page: its messages (newest page, older pages), sending, and the
//! message fragments the page's script fetches.

use super::edits::{message_id, seen_by};
use super::{PAGE_SIZE, conversation_id, title_of};
use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{Problems, member_form};
use crate::web::session::Viewer;
use crate::web::time::When;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use kindred_protocol::Timestamp;
use kindred_protocol::api::{MessageView, NewMessage, PersonView};
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::ConversationKind;
use serde::Deserialize;

/// A message as shown in a conversation.
pub(super) struct MessageItem {
    id: String,
    conversation: String,
    author_name: String,
    organisation: String,
    mine: bool,
    body_html: String,
    when: When,
    edited: bool,
    seen_by: Vec<String>,
    deleted: bool,
    hidden: Option<String>,
    muted: Option<String>,
}

pub(super) fn message_item(
    node: &Node,
    viewer: &Viewer,
    m: &MessageView,
    now: Timestamp,
) -> MessageItem {
    MessageItem {
        id: m.id.to_string(),
        conversation: m.conversation.to_string(),
        author_name: m.author_name.clone(),
        organisation: node.organisation_of(&m.author),
        mine: m.author == viewer.auth.member_id,
        body_html: m.body_html.clone(),
        when: When::new(m.created_at, now, &viewer.tz),
        edited: m.edited_at.is_some(),
        seen_by: Vec::new(),
        deleted: m.deleted,
        hidden: m.hidden.clone(),
        muted: m.muted.clone(),
    }
}

/// Someone in a conversation.
pub(super) struct ParticipantItem {
    name: String,
    organisation: String,
    is_me: bool,
}

#[derive(askama::Template)]
#[template(path = "conversation.html", whitespace = "minimize")]
pub(super) struct ConversationPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    is_group: bool,
    is_admin: bool,
    candidates: Vec<PersonView>,
    /// What the admin searched for to add someone.
    find: String,
    muted: bool,
    participants: Vec<ParticipantItem>,
    messages: Vec<MessageItem>,
    older: Option<String>,
    paged: bool,
    problems: Problems,
    draft: String,
}

/// `?before=<cursor>` for older messages; `?find=<words>` to look for someone to add.
#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    before: Option<String>,
    #[serde(default)]
    find: String,
}

/// The conversation page. Showing the newest messages reads them: the read position is
/// the newest message shown, and it moves before the navigation's "new" mark is worked out.
pub(super) async fn conversation_page(
    node: &Node,
    viewer: &Viewer,
    id: &ConversationId,
    before: Option<&str>,
    find: &str,
) -> Result<ConversationPage, PageError> {
    let me = &viewer.auth.member_id;
    let view = node.conversation_view(me, id)?.ok_or_else(|| {
        AppError::not_found("That conversation does not exist, or you are not in it.")
    })?;
    let history = node.history(&viewer.auth, id, before, PAGE_SIZE)?;
    if before.is_none()
        && let Some(newest) = history.items.first()
    {
        node.mark_read(&viewer.auth, id, &newest.id).await?;
    }
    let now = Timestamp::now();
    // History pages come newest first; a conversation reads oldest first.
    let mut messages: Vec<MessageItem> = history
        .items
        .iter()
        .rev()
        .map(|m| message_item(node, viewer, m, now))
        .collect();
    if let Some(last) = messages.last_mut() {
        last.seen_by = seen_by(&view, me, &last.id);
    }
    let title = title_of(&view, me);
    let mut chrome = Chrome::member(node, viewer, title, "/chat");
    if before.is_none() {
        chrome.live_conversation = Some(id.to_string());
    }
    Ok(ConversationPage {
        chrome,
        csrf: viewer.csrf.clone(),
        id: id.to_string(),
        is_group: view.kind == ConversationKind::Group,
        is_admin: view.admins.contains(me),
        candidates: if view.kind == ConversationKind::Group && view.admins.contains(me) {
            node.people(&viewer.auth.member_id, Some(find), None, None)?
                .items
                .into_iter()
                .filter(|p| !view.members.iter().any(|m| m.member == p.member))
                .collect()
        } else {
            Vec::new()
        },
        find: find.to_owned(),
        muted: view.muted,
        participants: view
            .members
            .iter()
            .map(|p| ParticipantItem {
                name: p.display_name.clone(),
                organisation: node.organisation_of(&p.member),
                is_me: p.member == *me,
            })
            .collect(),
        messages,
        older: history.next_cursor,
        paged: before.is_some(),
        problems: Problems::default(),
        draft: String::new(),
    })
}

pub(crate) async fn conversation(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, PageError> {
    let id = conversation_id(&id)?;
    let page = conversation_page(&node, &viewer, &id, q.before.as_deref(), &q.find).await?;
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct MessageForm {
    #[serde(default)]
    pub(super) body: String,
}

pub(crate) async fn send(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = conversation_id(&id)?;
    let form: MessageForm = member_form(&viewer, &body)?;
    let mut problems = Problems::default();
    let req = NewMessage {
        body: form.body.clone(),
        reply_to: None,
    };
    match node.post_message(&viewer.auth, &id, req).await {
        Ok(m) => {
            let to = format!("/chat/{id}#message-{}", m.id);
            return Ok(see_other(&node, &to, None));
        }
        Err(e) => problems.refused("body", e)?,
    }
    let mut page = conversation_page(&node, &viewer, &id, None, "").await?;
    page.problems = problems;
    page.draft = form.body;
    render_with_status(&page, &page.chrome, page.problems.status())
}

/// One message, for the live script to add to an open conversation.
#[derive(askama::Template)]
#[template(path = "fragment_message.html", whitespace = "minimize")]
pub(super) struct MessageFragment {
    m: MessageItem,
}

pub(crate) async fn message_fragment(
    State(node): State<Node>,
    viewer: Viewer,
    Path((id, message)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = conversation_id(&id)?;
    let message = message_id(&message)?;
    // Through the history, so blocked authors stay hidden as they are on the page.
    let found = node
        .history(&viewer.auth, &id, None, PAGE_SIZE)?
        .items
        .into_iter()
        .find(|m| m.id == message)
        .ok_or_else(|| AppError::not_found("No such message."))?;
    let mut m = message_item(&node, &viewer, &found, Timestamp::now());
    // "Seen by" goes with the newest message, as on the page (the live script asks again
    // when someone's read position moves).
    let newest = node
        .history(&viewer.auth, &id, None, 1)?
        .items
        .first()
        .map(|n| n.id);
    if newest == Some(message)
        && let Some(view) = node.conversation_view(&viewer.auth.member_id, &id)?
    {
        m.seen_by = seen_by(&view, &viewer.auth.member_id, &m.id);
    }
    let html = askama::Template::render(&MessageFragment { m }).map_err(AppError::internal)?;
    Ok(Html(html).into_response())
}
