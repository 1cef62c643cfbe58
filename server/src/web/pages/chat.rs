//! People and chat pages: the people directory, the conversation list with unread
//! counts, one conversation with live messages, and starting a conversation or group.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use kindred_protocol::api::{
    ConversationView, CreateConversation, ErrorCode, MessageView, NewMessage, PersonView,
    UpdateConversation,
};
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::ConversationKind;
use kindred_protocol::{EventId, MemberId, Timestamp};
use serde::Deserialize;

use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, NoFields, Problems, member_form, member_pairs, optional};
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

/// A message as shown in a conversation.
struct MessageItem {
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

fn message_item(node: &Node, viewer: &Viewer, m: &MessageView, now: Timestamp) -> MessageItem {
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
struct ParticipantItem {
    name: String,
    organisation: String,
    is_me: bool,
}

#[derive(askama::Template)]
#[template(path = "conversation.html", whitespace = "minimize")]
struct ConversationPage {
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
async fn conversation_page(
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
    body: String,
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
struct MessageFragment {
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

#[derive(Deserialize)]
pub(crate) struct StartForm {
    #[serde(default)]
    member: String,
}

/// Opens (or starts) the one-to-one conversation with someone from the directory.
pub(crate) async fn start(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<StartForm>,
) -> Result<Response, PageError> {
    let req = CreateConversation {
        members: vec![member_id(&form.member)?],
        name: None,
    };
    let view = node.create_conversation(&viewer.auth, req).await?;
    Ok(see_other(&node, &format!("/chat/{}", view.id), None))
}

#[derive(askama::Template)]
#[template(path = "chat_new.html", whitespace = "minimize")]
struct NewGroupPage {
    chrome: Chrome,
    csrf: String,
    people: Vec<PersonView>,
    /// Chosen people not on this page (kept when the form comes back with a problem).
    others_chosen: Vec<String>,
    problems: Problems,
    name: String,
    chosen: Vec<String>,
    /// What was searched for.
    query: String,
    /// The next page of people, if there is one.
    more: Option<String>,
}

/// `?q=<words>&after=<cursor>` to find people for a new group.
#[derive(Deserialize, Default)]
pub(crate) struct PickerQuery {
    #[serde(default)]
    q: String,
    after: Option<String>,
}

fn new_group_page(
    node: &Node,
    viewer: &Viewer,
    query: &PickerQuery,
) -> Result<NewGroupPage, PageError> {
    let me = &viewer.auth.member_id;
    let found = node.people(
        &viewer.auth.member_id,
        Some(&query.q),
        query.after.as_deref(),
        None,
    )?;
    Ok(NewGroupPage {
        chrome: Chrome::member(node, viewer, "Start a group conversation", "/chat"),
        csrf: viewer.csrf.clone(),
        people: found
            .items
            .into_iter()
            .filter(|p| p.member != *me)
            .collect(),
        others_chosen: Vec::new(),
        problems: Problems::default(),
        name: String::new(),
        chosen: Vec::new(),
        query: query.q.clone(),
        more: found.next_cursor,
    })
}

pub(crate) async fn new_group_form(
    State(node): State<Node>,
    viewer: Viewer,
    Query(query): Query<PickerQuery>,
) -> Result<Response, PageError> {
    let page = new_group_page(&node, &viewer, &query)?;
    render(&page, &page.chrome)
}

pub(crate) async fn new_group(
    State(node): State<Node>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = member_pairs(&viewer, &body)?;
    let name = form.get("name").to_owned();
    let chosen = form.all("member");
    let mut problems = Problems::default();
    if name.trim().is_empty() {
        problems.add(
            "name",
            "Give the group a name, for example Volunteer coordinators.",
        );
    }
    if chosen.is_empty() {
        problems.add("people", "Choose at least one person to invite.");
    }
    if problems.is_empty() {
        let members = chosen
            .iter()
            .map(|m| member_id(m))
            .collect::<Result<Vec<_>, _>>()?;
        let req = CreateConversation {
            members,
            name: optional(&name),
        };
        match node.create_conversation(&viewer.auth, req).await {
            Ok(view) => return Ok(see_other(&node, &format!("/chat/{}", view.id), None)),
            Err(e) => problems.refused("people", e)?,
        }
    }
    let mut page = new_group_page(&node, &viewer, &PickerQuery::default())?;
    page.problems = problems;
    page.name = name;
    page.others_chosen = chosen
        .iter()
        .filter(|c| !page.people.iter().any(|p| p.member.to_string() == **c))
        .cloned()
        .collect();
    page.chosen = chosen;
    render_with_status(&page, &page.chrome, page.problems.status())
}

#[derive(Deserialize)]
pub(crate) struct MuteForm {
    #[serde(default)]
    muted: String,
}

pub(crate) async fn mute(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<MuteForm>,
) -> Result<Response, PageError> {
    let id = conversation_id(&id)?;
    let req = UpdateConversation {
        name: None,
        muted: Some(form.muted == "yes"),
    };
    node.update_conversation(&viewer.auth, &id, req).await?;
    Ok(see_other(
        &node,
        &format!("/chat/{id}"),
        Some(Flash::Edited),
    ))
}

pub(crate) async fn leave(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    let id = conversation_id(&id)?;
    let me = viewer.auth.member_id.clone();
    node.remove_participant(&viewer.auth, &id, &me).await?;
    Ok(see_other(&node, "/chat", Some(Flash::LeftConversation)))
}

/// Marks a conversation read up to a message (the live script calls this as messages
/// arrive on an open conversation).
/// The read-position form the conversation page's script sends.
#[derive(Deserialize)]
pub(crate) struct ReadForm {
    up_to: EventId,
}

pub(crate) async fn read(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<ReadForm>,
) -> Result<Response, PageError> {
    let id = conversation_id(&id)?;
    node.mark_read(&viewer.auth, &id, &form.up_to).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A group admin adds someone from the directory.
pub(crate) async fn add(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<StartForm>,
) -> Result<Response, PageError> {
    let id = conversation_id(&id)?;
    let req = kindred_protocol::api::AddParticipant {
        member: member_id(&form.member)?,
        admin: false,
    };
    node.add_participant(&viewer.auth, &id, req).await?;
    Ok(see_other(
        &node,
        &format!("/chat/{id}"),
        Some(Flash::Edited),
    ))
}

/// One of the member's own messages, from the page's path.
fn own_message(
    node: &Node,
    viewer: &Viewer,
    conversation: &ConversationId,
    message: &str,
) -> Result<MessageView, PageError> {
    let id = message_id(message)?;
    Ok(node.own_message(&viewer.auth, conversation, &id)?.1)
}

fn message_id(text: &str) -> Result<EventId, PageError> {
    text.parse()
        .map_err(|_| AppError::not_found("That message does not exist.").into())
}

#[derive(askama::Template)]
#[template(path = "message_edit.html", whitespace = "minimize")]
struct EditMessagePage {
    chrome: Chrome,
    csrf: String,
    conversation: String,
    id: String,
    body: String,
    problems: Problems,
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
struct RetractMessagePage {
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
fn seen_by(
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
