//! Writing and changing posts on the web: the compose form, editing one's own post or
//! reply, and taking one down (asked first).

use super::thread::reply_url;
use super::{entry, event_id, find_topic};
use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, Problems, member_form, optional, split_tags};
use crate::web::session::Viewer;
use crate::web::views::topic_url;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use kindred_protocol::EventId;
use kindred_protocol::api::{EditPost, EntryKind, NewPost, Retract, TopicView};
use serde::Deserialize;

/// The write and edit form.
#[derive(askama::Template)]
#[template(path = "compose.html", whitespace = "minimize")]
struct ComposePage {
    chrome: Chrome,
    csrf: String,
    action: String,
    cancel: String,
    topic: String,
    shared: bool,
    is_reply: bool,
    title: String,
    body: String,
    tags: String,
    content_warning: String,
    button: &'static str,
    problems: Problems,
}

#[derive(Deserialize, Default)]
pub(crate) struct ComposeForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    content_warning: String,
}

fn compose_page(
    node: &Node,
    viewer: &Viewer,
    topic: &TopicView,
    form: ComposeForm,
    problems: Problems,
) -> ComposePage {
    let url = topic_url(&topic.name);
    ComposePage {
        chrome: Chrome::member(node, viewer, format!("Write a post in {}", topic.name), "/"),
        csrf: viewer.csrf.clone(),
        action: format!("{url}/new"),
        cancel: url,
        topic: topic.name.clone(),
        shared: topic.shared,
        is_reply: false,
        title: form.title,
        body: form.body,
        tags: form.tags,
        content_warning: form.content_warning,
        button: "Publish post",
        problems,
    }
}

pub(crate) async fn compose_form(
    State(node): State<Node>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let topic = find_topic(&node, &name)?;
    let page = compose_page(
        &node,
        &viewer,
        &topic,
        ComposeForm::default(),
        Problems::default(),
    );
    render(&page, &page.chrome)
}

pub(crate) async fn compose(
    State(node): State<Node>,
    viewer: Viewer,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let topic = find_topic(&node, &name)?;
    let form: ComposeForm = member_form(&viewer, &body)?;
    let mut problems = Problems::default();
    let req = NewPost {
        title: form.title.clone(),
        body: form.body.clone(),
        tags: split_tags(&form.tags),
        content_warning: optional(&form.content_warning),
    };
    match node.create_post(&viewer.auth, &topic.name, req).await {
        Ok(view) => {
            return Ok(see_other(
                &node,
                &format!("/posts/{}", view.id),
                Some(Flash::Posted),
            ));
        }
        Err(e) => problems.refused("", e)?,
    }
    let page = compose_page(&node, &viewer, &topic, form, problems);
    render_with_status(&page, &page.chrome, page.problems.status())
}

fn edit_page(
    node: &Node,
    viewer: &Viewer,
    view: &kindred_protocol::api::PostView,
    form: ComposeForm,
    problems: Problems,
) -> ComposePage {
    let is_reply = view.kind == EntryKind::Reply;
    let cancel = match view.thread_root {
        Some(root) if is_reply => reply_url(&root, &view.id),
        _ => format!("/posts/{}", view.id),
    };
    let title = if is_reply {
        "Edit your reply".to_owned()
    } else {
        "Edit your post".to_owned()
    };
    ComposePage {
        chrome: Chrome::member(node, viewer, title, "/"),
        csrf: viewer.csrf.clone(),
        action: format!("/posts/{}/edit", view.id),
        cancel,
        topic: view.topic.clone(),
        shared: !view.local_only,
        is_reply,
        title: form.title,
        body: form.body,
        tags: form.tags,
        content_warning: form.content_warning,
        button: "Save changes",
        problems,
    }
}

fn own_entry(
    node: &Node,
    viewer: &Viewer,
    id: &EventId,
) -> Result<kindred_protocol::api::PostView, PageError> {
    let view = node.visible(id, Some(&viewer.auth.member_id))?;
    if view.author != viewer.auth.member_id {
        return Err(AppError::forbidden("Only the person who wrote this can edit it.").into());
    }
    Ok(view)
}

pub(crate) async fn edit_form(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = event_id(&id)?;
    let view = own_entry(&node, &viewer, &id)?;
    let form = ComposeForm {
        title: view.title.clone().unwrap_or_default(),
        body: view.body.clone(),
        tags: view.tags.join(", "),
        content_warning: view.content_warning.clone().unwrap_or_default(),
    };
    let page = edit_page(&node, &viewer, &view, form, Problems::default());
    render(&page, &page.chrome)
}

pub(crate) async fn edit(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = event_id(&id)?;
    let view = own_entry(&node, &viewer, &id)?;
    let form: ComposeForm = member_form(&viewer, &body)?;
    let is_reply = view.kind == EntryKind::Reply;
    let mut problems = Problems::default();
    let req = EditPost {
        title: (!is_reply).then(|| form.title.clone()),
        body: form.body.clone(),
        tags: (!is_reply).then(|| split_tags(&form.tags)),
        content_warning: optional(&form.content_warning),
    };
    match node.edit(&viewer.auth, &id, req).await {
        Ok(_) => {
            let to = match view.thread_root {
                Some(root) if is_reply => reply_url(&root, &id),
                _ => format!("/posts/{id}"),
            };
            return Ok(see_other(&node, &to, Some(Flash::Edited)));
        }
        Err(e) => problems.refused("", e)?,
    }
    let page = edit_page(&node, &viewer, &view, form, problems);
    render_with_status(&page, &page.chrome, page.problems.status())
}

#[derive(askama::Template)]
#[template(path = "retract.html", whitespace = "minimize")]
struct RetractPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    mine: bool,
    is_reply: bool,
    summary: String,
    back: String,
    problems: Problems,
}

pub(crate) async fn retract_form(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = event_id(&id)?;
    let view = node.visible(&id, Some(&viewer.auth.member_id))?;
    let e = entry(&node, &viewer, &view);
    if !e.mine && !e.can_moderate {
        return Err(AppError::forbidden(
            "Only the author, or a moderator of the organisation it came from, can take this down.",
        )
        .into());
    }
    let title = if e.is_reply {
        "Take down this reply?"
    } else {
        "Take down this post?"
    };
    let page = RetractPage {
        chrome: Chrome::member(&node, &viewer, title, "/"),
        csrf: viewer.csrf.clone(),
        summary: if e.is_reply {
            e.excerpt.clone()
        } else {
            e.title.clone()
        },
        back: e.url.clone(),
        id: e.id,
        mine: e.mine,
        is_reply: e.is_reply,
        problems: Problems::default(),
    };
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct RetractForm {
    #[serde(default)]
    reason: String,
}

pub(crate) async fn retract(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<RetractForm>,
) -> Result<Response, PageError> {
    let id = event_id(&id)?;
    let view = node.visible(&id, Some(&viewer.auth.member_id))?;
    node.retract(
        &viewer.auth,
        &id,
        Retract {
            reason: optional(&form.reason),
        },
    )
    .await?;
    let to = match (view.kind, view.thread_root) {
        (EntryKind::Reply, Some(root)) => format!("/posts/{root}"),
        _ => topic_url(&view.topic),
    };
    Ok(see_other(&node, &to, Some(Flash::Retracted)))
}
