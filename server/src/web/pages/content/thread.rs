//! A thread's page: the post, a page of its replies, replying (also to a reply), and
//! reactions.

use super::{entry, event_id};
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, Problems, member_form, optional};
use crate::web::session::Viewer;
use crate::web::views::Entry;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use kindred_protocol::EventId;
use kindred_protocol::api::{EntryKind, NewReply};
use serde::Deserialize;

#[derive(askama::Template)]
#[template(path = "thread.html", whitespace = "minimize")]
struct ThreadPage {
    chrome: Chrome,
    csrf: String,
    post: Entry,
    replies: Vec<Entry>,
    /// The next page of replies, if there is one.
    more: Option<String>,
    /// Whether this is a later page (earlier replies are not shown).
    paged: bool,
    problems: Problems,
    draft: String,
    draft_cw: String,
    /// The reply being answered, when the member chose "Reply" on one.
    replying_to: Option<ReplyingTo>,
}

/// The reply a new reply answers, as the form shows it.
struct ReplyingTo {
    id: String,
    name: String,
    excerpt: String,
}

/// The reply `text` names in the thread `root`, as the form shows it; `None` when it is
/// not a reply the viewer can see in that thread.
fn answered_reply(
    node: &Node,
    viewer: &Viewer,
    root: &EventId,
    text: &str,
) -> Result<Option<ReplyingTo>, PageError> {
    let Ok(id) = text.trim().parse::<EventId>() else {
        return Ok(None);
    };
    let Some(answered) = node.post_view(&id, Some(&viewer.auth.member_id))? else {
        return Ok(None);
    };
    if answered.thread_root != Some(*root) {
        return Ok(None);
    }
    Ok(Some(ReplyingTo {
        id: answered.id.to_string(),
        name: answered.author_name,
        // Quoted only when it may be read in passing.
        excerpt: match (&answered.hidden, &answered.muted, &answered.content_warning) {
            (Some(_), _, _) => "(hidden by moderators here)".to_owned(),
            (None, Some(why), _) => format!("(folded away: {why})"),
            (None, None, Some(cw)) => format!("(content warning: {cw})"),
            (None, None, None) => crate::web::views::excerpt(&answered.body, 120),
        },
    }))
}

/// Where a reply is shown: the page of its thread that starts with it.
pub(super) fn reply_url(root: &EventId, reply: &EventId) -> String {
    if root == reply {
        return format!("/posts/{root}#post-{root}");
    }
    format!("/posts/{root}?at={reply}#post-{reply}")
}

/// `?after=<cursor>` (the next page of replies) or `?at=<reply>` (the page starting with
/// that reply) on a thread.
#[derive(Deserialize, Default)]
pub(crate) struct ThreadQuery {
    after: Option<String>,
    at: Option<String>,
    /// Answer this reply rather than the post (`?reply_to=<id>`).
    reply_to: Option<String>,
}

fn thread_page(
    node: &Node,
    viewer: &Viewer,
    id: &EventId,
    query: &ThreadQuery,
    problems: Problems,
    draft: String,
    draft_cw: String,
) -> Result<ThreadPage, PageError> {
    let after = match (&query.after, &query.at) {
        (Some(after), _) => Some(after.clone()),
        (None, Some(at)) => node.page_starting_at(&event_id(at)?)?,
        (None, None) => None,
    };
    let thread = node.thread(id, &viewer.auth.member_id, after.as_deref(), None)?;
    let post = entry(node, viewer, &thread.post);
    let mut problems = problems;
    let root = id.to_string();
    let replying_to = match query
        .reply_to
        .as_deref()
        .filter(|r| !r.is_empty() && r.trim() != root)
    {
        None => None,
        Some(r) => match answered_reply(node, viewer, id, r)? {
            Some(found) => Some(found),
            None => {
                // Gone or never in this thread: say so beside the form, which then answers
                // the post, and keep whatever was typed.
                problems.add(
                    "body",
                    "The reply you were answering is not in this thread any more; yours will answer the post.",
                );
                None
            }
        },
    };
    // The page's title is read out and shown in tabs and history: behind a content
    // warning or hidden by moderators, it never names what the post is about.
    let page_title = match (&post.hidden, &post.content_warning) {
        (Some(_), _) => "Hidden post".to_owned(),
        (None, Some(cw)) => format!("{}: {cw}", post.cw_label),
        (None, None) => post.title.clone(),
    };
    let mut chrome = Chrome::member(node, viewer, page_title, "/");
    // New replies arrive at the end: only the last page shows them live.
    if thread.next_cursor.is_none() {
        chrome.live_thread = Some(post.id.clone());
    }
    Ok(ThreadPage {
        more: thread.next_cursor,
        paged: after.is_some(),
        chrome,
        csrf: viewer.csrf.clone(),
        replies: thread
            .replies
            .iter()
            .map(|r| entry(node, viewer, r))
            .collect(),
        post,
        problems,
        draft,
        draft_cw,
        replying_to,
    })
}

pub(crate) async fn thread(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<ThreadQuery>,
) -> Result<Response, PageError> {
    let id = event_id(&id)?;
    // A link to a reply opens its thread at the reply.
    let view = node.visible(&id, Some(&viewer.auth.member_id))?;
    if let (EntryKind::Reply, Some(root)) = (view.kind, view.thread_root) {
        return Ok(see_other(&node, &reply_url(&root, &id), None));
    }
    node.looked_at(
        &viewer.auth.member_id,
        crate::node::notifications::Looked::Thread(id),
    );
    let page = thread_page(
        &node,
        &viewer,
        &id,
        &query,
        Problems::default(),
        String::new(),
        String::new(),
    )?;
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct ReplyForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    content_warning: String,
    /// The reply this answers (empty: the post).
    #[serde(default)]
    reply_to: String,
}

pub(crate) async fn reply(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = event_id(&id)?;
    let form: ReplyForm = member_form(&viewer, &body)?;
    let mut problems = Problems::default();
    // Answering the post itself is a plain reply.
    let named = optional(&form.reply_to).filter(|r| r.trim() != id.to_string());
    let reply_to = match named {
        Some(r) => match answered_reply(&node, &viewer, &id, &r)? {
            Some(found) => Some(event_id(&found.id)?),
            None => {
                problems.add(
                    "body",
                    "The reply you were answering is not in this thread any more. Post again to answer the post.",
                );
                let page = thread_page(
                    &node,
                    &viewer,
                    &id,
                    &ThreadQuery::default(),
                    problems,
                    form.body,
                    form.content_warning,
                )?;
                return render_with_status(&page, &page.chrome, page.problems.status());
            }
        },
        None => None,
    };
    let req = NewReply {
        body: form.body.clone(),
        reply_to,
        content_warning: optional(&form.content_warning),
    };
    match node.create_reply(&viewer.auth, &id, req).await {
        Ok(view) => {
            let to = reply_url(&id, &view.id);
            return Ok(see_other(&node, &to, Some(Flash::Replied)));
        }
        Err(e) => problems.refused("body", e)?,
    }
    let query = ThreadQuery {
        reply_to: optional(&form.reply_to),
        ..ThreadQuery::default()
    };
    let page = thread_page(
        &node,
        &viewer,
        &id,
        &query,
        problems,
        form.body,
        form.content_warning,
    )?;
    render_with_status(&page, &page.chrome, page.problems.status())
}

#[derive(Deserialize)]
pub(crate) struct ReactForm {
    #[serde(default)]
    reaction: String,
    #[serde(default)]
    action: String,
}

pub(crate) async fn react(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<ReactForm>,
) -> Result<Response, PageError> {
    let id = event_id(&id)?;
    let view = node.visible(&id, Some(&viewer.auth.member_id))?;
    node.react(&viewer.auth, &id, &form.reaction, form.action == "remove")
        .await?;
    let root = view.thread_root.unwrap_or(view.id);
    Ok(see_other(&node, &reply_url(&root, &id), None))
}
