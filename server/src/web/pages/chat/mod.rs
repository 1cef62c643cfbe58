//! People and chat pages: the people directory, the conversation list with unread
//! counts, one conversation with live messages, and starting a conversation or group.

mod conversation;
mod edits;
mod groups;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
pub(crate) use conversation::*;
pub(crate) use edits::*;
pub(crate) use groups::*;
use kindred_protocol::api::{ConversationView, PersonView};
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::ConversationKind;
use kindred_protocol::{MemberId, Timestamp};
use serde::Deserialize;

use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, render};
use crate::web::error::PageError;
use crate::web::session::Viewer;
use crate::web::time::When;
use crate::web::views::excerpt;

/// Messages per page of a conversation.
const PAGE_SIZE: usize = 40;

fn conversation_id(text: &str) -> Result<ConversationId, PageError> {
    text.parse()
        .map_err(|_| AppError::not_found("That conversation does not exist.").into())
}

fn member_id(text: &str) -> Result<MemberId, PageError> {
    MemberId::parse(text.trim())
        .map_err(|_| AppError::bad_request("That is not a person in the directory.").into())
}

/// A conversation's name as its participants see it: the group's name, or the other
/// people's names.
fn title_of(view: &ConversationView, me: &MemberId) -> String {
    if view.kind == ConversationKind::Group && !view.name.is_empty() {
        return view.name.clone();
    }
    let others: Vec<&str> = view
        .members
        .iter()
        .filter(|p| p.member != *me)
        .map(|p| p.display_name.as_str())
        .collect();
    if others.is_empty() {
        "Just you".to_owned()
    } else {
        others.join(", ")
    }
}

/// A person in the directory.
struct PersonItem {
    view: PersonView,
    is_me: bool,
}

#[derive(askama::Template)]
#[template(path = "people.html", whitespace = "minimize")]
struct PeoplePage {
    chrome: Chrome,
    csrf: String,
    query: String,
    people: Vec<PersonItem>,
    listed: bool,
    /// The next page, if there is one.
    more: Option<String>,
    /// Whether this is a later page.
    paged: bool,
}

/// `?q=` to search the directory, `?after=` for the next page.
#[derive(Deserialize)]
pub(crate) struct PeopleQuery {
    #[serde(default)]
    q: String,
    after: Option<String>,
}

pub(crate) async fn people(
    State(node): State<Node>,
    viewer: Viewer,
    Query(q): Query<PeopleQuery>,
) -> Result<Response, PageError> {
    let me = &viewer.auth.member_id;
    let found = node.people(&viewer.auth.member_id, Some(&q.q), q.after.as_deref(), None)?;
    let people = found
        .items
        .into_iter()
        .map(|view| PersonItem {
            is_me: view.member == *me,
            view,
        })
        .collect();
    let page = PeoplePage {
        chrome: Chrome::member(&node, &viewer, "People", "/people"),
        csrf: viewer.csrf.clone(),
        query: q.q,
        people,
        listed: viewer.auth.member.listed,
        more: found.next_cursor,
        paged: q.after.is_some(),
    };
    render(&page, &page.chrome)
}

/// A conversation in the list.
struct ConversationItem {
    id: String,
    title: String,
    is_group: bool,
    unread: u64,
    muted: bool,
    last: Option<(String, String)>,
    when: Option<When>,
}

fn conversation_items(node: &Node, viewer: &Viewer) -> Result<Vec<ConversationItem>, PageError> {
    let now = Timestamp::now();
    let me = &viewer.auth.member_id;
    Ok(node
        .conversations(&viewer.auth)?
        .iter()
        .map(|c| ConversationItem {
            id: c.id.to_string(),
            title: title_of(c, me),
            is_group: c.kind == ConversationKind::Group,
            unread: c.unread,
            muted: c.muted,
            last: c.last_message.as_ref().map(|m| {
                let who = if m.author == *me {
                    "You".to_owned()
                } else {
                    m.author_name.clone()
                };
                let text = match (&m.hidden, &m.muted) {
                    (Some(_), _) => "(hidden by moderators here)".to_owned(),
                    (None, Some(why)) => format!("(folded away: {why})"),
                    (None, None) => excerpt(&m.body, 120),
                };
                (who, text)
            }),
            when: c.last_activity.map(|t| When::new(t, now, &viewer.tz)),
        })
        .collect())
}

#[derive(askama::Template)]
#[template(path = "chat_list.html", whitespace = "minimize")]
struct ChatListPage {
    chrome: Chrome,
    conversations: Vec<ConversationItem>,
}

#[derive(askama::Template)]
#[template(path = "fragment_conversations.html", whitespace = "minimize")]
struct ConversationsFragment {
    conversations: Vec<ConversationItem>,
}

pub(crate) async fn list(State(node): State<Node>, viewer: Viewer) -> Result<Response, PageError> {
    let mut chrome = Chrome::member(&node, &viewer, "Chat", "/chat");
    chrome.live_chat_list = true;
    let page = ChatListPage {
        chrome,
        conversations: conversation_items(&node, &viewer)?,
    };
    render(&page, &page.chrome)
}

/// The conversation list alone, for the live script to swap in.
pub(crate) async fn list_fragment(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let html = askama::Template::render(&ConversationsFragment {
        conversations: conversation_items(&node, &viewer)?,
    })
    .map_err(AppError::internal)?;
    Ok(Html(html).into_response())
}
