//! Changing one's own messages from the web: editing and taking back (asked first), and who
//! has seen a message.

use super::conversation::MessageForm;
use super::conversation_id;
use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, NoFields, Problems, member_form};
use crate::web::session::Viewer;
use crate::web::views::excerpt;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use kindred_protocol::EventId;
use kindred_protocol::api::{ErrorCode, MessageView};
use kindred_protocol::event::ConversationId;

/// One of the member's own messages, from the page's path.
pub(super) fn own_message(
    node: &Node,
    viewer: &Viewer,
    conversation: &ConversationId,
    message: &str,
) -> Result<MessageView, PageError> {
    let id = message_id(message)?;
    Ok(node.own_message(&viewer.auth, conversation, &id)?.1)
}

pub(super) fn message_id(text: &str) -> Result<EventId, PageError> {
    text.parse()
        .map_err(|_| AppError::not_found("That message does not exist.").into())
}

#[derive(askama::Template)]
#[template(path = "message_edit.html", whitespace = "minimize")]
pub(super) struct EditMessagePage {
    chrome: Chrome,
    csrf: String,
    conversation: String,
    id: String,
    body: String,
    problems: Problems,
}

pub(crate) async fn edit_message_form(
    State(node): State<Node>,
    viewer: Viewer,
    Path((id, message)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let conversation = conversation_id(&id)?;
    let m = own_message(&node, &viewer, &conversation, &message)?;
    let page = EditMessagePage::new(&node, &viewer, id, &m.id, m.body, Problems::default());
    render(&page, &page.chrome)
}

pub(crate) async fn edit_message(
    State(node): State<Node>,
    viewer: Viewer,
    Path((id, message)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let conversation = conversation_id(&id)?;
    let form: MessageForm = member_form(&viewer, &body)?;
    let mid = message_id(&message)?;
    let mut problems = Problems::default();
    if form.body.trim().is_empty() {
        problems.add(
            "body",
            "A message cannot be empty. To remove it, take it back instead.",
        );
    } else {
        match node
            .edit_message(&viewer.auth, &conversation, &mid, &form.body)
            .await
        {
            Ok(_) => {
                let to = format!("/chat/{conversation}#message-{mid}");
                return Ok(see_other(&node, &to, Some(Flash::Edited)));
            }
            // Problems with the text go next to it; not being allowed is a page of its own.
            Err(AppError::Refused {
                code: ErrorCode::BadRequest | ErrorCode::TooLarge | ErrorCode::RateLimited,
                message,
                ..
            }) => problems.add("body", message),
            Err(e) => return Err(e.into()),
        }
    }
    let page = EditMessagePage::new(&node, &viewer, id, &mid, form.body, problems);
    render_with_status(&page, &page.chrome, page.problems.status())
}

#[derive(askama::Template)]
#[template(path = "message_retract.html", whitespace = "minimize")]
pub(super) struct RetractMessagePage {
    chrome: Chrome,
    csrf: String,
    conversation: String,
    id: String,
    summary: String,
}

pub(crate) async fn retract_message_form(
    State(node): State<Node>,
    viewer: Viewer,
    Path((id, message)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let conversation = conversation_id(&id)?;
    let m = own_message(&node, &viewer, &conversation, &message)?;
    let page = RetractMessagePage {
        chrome: Chrome::member(&node, &viewer, "Take back your message?", "/chat"),
        csrf: viewer.csrf.clone(),
        conversation: id,
        id: m.id.to_string(),
        summary: excerpt(&m.body, 160),
    };
    render(&page, &page.chrome)
}

pub(crate) async fn retract_message(
    State(node): State<Node>,
    Path((id, message)): Path<(String, String)>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    let conversation = conversation_id(&id)?;
    node.retract_message(&viewer.auth, &conversation, &message_id(&message)?)
        .await?;
    Ok(see_other(
        &node,
        &format!("/chat/{conversation}"),
        Some(Flash::MessageTakenBack),
    ))
}

/// Who else has read up to the message `id` (shown under the newest message).
pub(super) fn seen_by(
    view: &kindred_protocol::api::ConversationView,
    me: &kindred_protocol::MemberId,
    id: &str,
) -> Vec<String> {
    view.members
        .iter()
        .filter(|p| p.member != *me && p.read_up_to.is_some_and(|r| r.to_string() == id))
        .map(|p| p.display_name.clone())
        .collect()
}

impl EditMessagePage {
    fn new(
        node: &Node,
        viewer: &Viewer,
        conversation: String,
        id: &EventId,
        body: String,
        problems: Problems,
    ) -> Self {
        Self {
            chrome: Chrome::member(node, viewer, "Edit your message", "/chat"),
            csrf: viewer.csrf.clone(),
            conversation,
            id: id.to_string(),
            body,
            problems,
        }
    }
}
