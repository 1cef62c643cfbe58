//! Starting conversations and looking after them: one-to-one from a profile, new groups
//! with a people picker, muting, leaving, read positions and adding people.

use super::{conversation_id, member_id};
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, NoFields, Problems, member_pairs, optional};
use crate::web::session::Viewer;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kindred_protocol::EventId;
use kindred_protocol::api::{CreateConversation, PersonView, UpdateConversation};
use serde::Deserialize;

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
pub(super) struct NewGroupPage {
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

pub(super) fn new_group_page(
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
            // The page has no group-name field: a refused name is shown with the people.
            Err(e) => {
                problems.refused_as("people", e, &[("name", "people"), ("members", "people")])?
            }
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
