//! Peer learning pages: home, topic timelines, threads with replies and reactions, writing,
//! editing and taking down posts, search, and the fragments the live script inserts.

mod compose;
mod search;
mod thread;

use axum::extract::{Path, Query, State};
use axum::response::Response;
pub(crate) use compose::*;
use kindred_protocol::api::TopicView;
use kindred_protocol::{EventId, Timestamp};
pub(crate) use search::*;
use serde::Deserialize;
pub(crate) use thread::*;

use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, render};
use crate::web::error::PageError;
use crate::web::session::Viewer;
use crate::web::views::{Entry, TopicItem};

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
