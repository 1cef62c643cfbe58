//! Peer learning pages: home, topic timelines, threads with replies and reactions, writing,
//! editing and taking down posts, search, and the fragments the live script inserts.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kindred_protocol::api::{
    EditPost, EntryKind, ErrorCode, NewPost, NewReply, Retract, TopicView,
};
use kindred_protocol::{EventId, Timestamp};
use serde::Deserialize;

use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, Problems, member_form, optional, split_tags};
use crate::web::session::Viewer;
use crate::web::views::{Entry, TopicItem, topic_url};

/// Posts per page of a topic.
const PAGE_SIZE: usize = 20;
/// Recent posts shown per topic on the home page.
const HOME_RECENT: usize = 3;

fn event_id(text: &str) -> Result<EventId, PageError> {
    text.parse().map_err(|_| {
        AppError::not_found("That post does not exist. The link may be incomplete.").into()
    })
}

fn entry(node: &Node, viewer: &Viewer, post: &kindred_protocol::api::PostView) -> Entry {
    let mut e = Entry::new(post, viewer, Timestamp::now(), &node.node_id());
    // A reply to a reply says whom it answers, with a link to what it answers.
    if let (Some(to), Some(root)) = (post.reply_to, post.thread_root)
        && to != root
        && let Ok(Some(answered)) = node.post_view(&to, Some(&viewer.auth.member_id))
    {
        e.answers = Some((answered.author_name, reply_url(&root, &to)));
    }
    e
}

fn find_topic(node: &Node, name: &str) -> Result<TopicView, PageError> {
    let key = crate::rules::topic_key(name);
    node.topic_views()?
        .into_iter()
        .find(|t| crate::rules::topic_key(&t.name) == key)
        .ok_or_else(|| AppError::not_found(format!("There is no topic called “{name}”.")).into())
}

/// A topic on the home page with its latest posts.
struct HomeTopic {
    topic: TopicItem,
    recent: Vec<Entry>,
}

#[derive(askama::Template)]
#[template(path = "home.html", whitespace = "minimize")]
struct HomePage {
    chrome: Chrome,
    topics: Vec<HomeTopic>,
    can_create_topics: bool,
}

pub(crate) async fn home(State(node): State<Node>, viewer: Viewer) -> Result<Response, PageError> {
    let now = Timestamp::now();
    let mut views = node.topic_views()?;
    // Most recently active first; quiet topics after, by name.
    views.sort_by_key(|t| std::cmp::Reverse(t.last_activity));
    let mut topics = Vec::with_capacity(views.len());
    for view in &views {
        let recent = if view.posts == 0 {
            Vec::new()
        } else {
            node.topic_posts(&view.name, None, HOME_RECENT, &viewer.auth.member_id)?
                .items
                .iter()
                .map(|p| entry(&node, &viewer, p))
                .collect()
        };
        topics.push(HomeTopic {
            topic: TopicItem::new(view, now, &viewer.tz),
            recent,
        });
    }
    let mut chrome = Chrome::member(&node, &viewer, "Home", "/");
    chrome.live_home = true;
    let page = HomePage {
        chrome,
        topics,
        can_create_topics: viewer.is_moderator(),
    };
    render(&page, &page.chrome)
}

#[derive(askama::Template)]
#[template(path = "topic.html", whitespace = "minimize")]
struct TopicPage {
    chrome: Chrome,
    topic: TopicItem,
    posts: Vec<Entry>,
    paged: bool,
    older: Option<String>,
}

/// `?before=<cursor>` for older posts.
#[derive(Deserialize)]
pub(crate) struct PageQuery {
    before: Option<String>,
}

pub(crate) async fn topic(
    State(node): State<Node>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let view = find_topic(&node, &name)?;
    let page = node.topic_posts(
        &view.name,
        q.before.as_deref(),
        PAGE_SIZE,
        &viewer.auth.member_id,
    )?;
    let mut chrome = Chrome::member(&node, &viewer, view.name.clone(), "/");
    // Live additions only make sense on the newest page.
    if q.before.is_none() {
        chrome.live_topic = Some(view.name.clone());
    }
    let template = TopicPage {
        chrome,
        posts: page
            .items
            .iter()
            .map(|p| entry(&node, &viewer, p))
            .collect(),
        topic: TopicItem::new(&view, Timestamp::now(), &viewer.tz),
        paged: q.before.is_some(),
        older: page.next_cursor,
    };
    render(&template, &template.chrome)
}

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
fn reply_url(root: &EventId, reply: &EventId) -> String {
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

#[derive(askama::Template)]
#[template(path = "search.html", whitespace = "minimize")]
struct SearchPage {
    chrome: Chrome,
    query: String,
    results: Vec<Entry>,
    /// Why the search did not run (too long, too busy), shown instead of "No results".
    problem: Option<String>,
}

/// `?q=` for search.
#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub(crate) async fn search(
    State(node): State<Node>,
    viewer: Viewer,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let query = q.q.trim().to_owned();
    let mut problem = None;
    let mut status = StatusCode::OK;
    let results = if query.is_empty() {
        Vec::new()
    } else {
        match node.search(&query, 30, &viewer.auth.member_id).await {
            Ok(hits) => hits
                .iter()
                .map(|h| entry(&node, &viewer, &h.post))
                .collect(),
            // A query of only very short or common words: no results rather than an error.
            Err(AppError::Refused {
                code: ErrorCode::BadRequest,
                ..
            }) => Vec::new(),
            // Too long, or too many searches at once: say so, with the status.
            Err(AppError::Refused { code, message, .. }) => {
                status = crate::http::status_of(code);
                problem = Some(message);
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        }
    };
    let title = if query.is_empty() {
        "Search".to_owned()
    } else {
        format!("Search: {query}")
    };
    let page = SearchPage {
        chrome: Chrome::member(&node, &viewer, title, "/search"),
        query,
        results,
        problem,
    };
    render_with_status(&page, &page.chrome, status)
}

#[derive(askama::Template)]
#[template(path = "fragment_card.html", whitespace = "minimize")]
struct CardFragment {
    e: Entry,
    with_topic: bool,
}

#[derive(askama::Template)]
#[template(path = "fragment_reply.html", whitespace = "minimize")]
struct ReplyFragment {
    e: Entry,
    csrf: String,
}

/// `GET /fragments/posts/{id}`: one entry as the live script inserts it (a card for a
/// post, the full reply for a reply).
pub(crate) async fn fragment(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = event_id(&id)?;
    let view = node.visible(&id, Some(&viewer.auth.member_id))?;
    let e = entry(&node, &viewer, &view);
    let html = if e.is_reply {
        askama::Template::render(&ReplyFragment {
            e,
            csrf: viewer.csrf.clone(),
        })
    } else {
        askama::Template::render(&CardFragment {
            e,
            with_topic: true,
        })
    }
    .map_err(AppError::internal)?;
    Ok(axum::response::IntoResponse::into_response(
        axum::response::Html(html),
    ))
}
