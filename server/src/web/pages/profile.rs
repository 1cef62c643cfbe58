//! A person's profile page (`/people/@name:node`): who they are, what they are happy to
//! talk about, their posts, and "Send a message" when they take messages. Bylines link
//! here.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use kindred_protocol::Timestamp;
use kindred_protocol::api::ProfileView;
use serde::Deserialize;

use crate::node::Node;
use crate::web::chrome::{Chrome, render};
use crate::web::error::PageError;
use crate::web::session::Viewer;
use crate::web::views::Entry;

/// Posts shown per page of a profile.
const POSTS_PER_PAGE: usize = 20;

#[derive(askama::Template)]
#[template(path = "profile.html", whitespace = "minimize")]
struct ProfilePage {
    chrome: Chrome,
    csrf: String,
    person: ProfileView,
    is_me: bool,
    posts: Vec<Entry>,
    /// The next page of their posts.
    more: Option<String>,
    paged: bool,
    blocked: bool,
}

/// `?before=<cursor>` for older posts.
#[derive(Deserialize)]
pub(crate) struct ProfileQuery {
    before: Option<String>,
}

pub(crate) async fn profile(
    State(node): State<Node>,
    viewer: Viewer,
    Path(member): Path<String>,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, PageError> {
    let member = node.member_named(&member)?;
    let me = &viewer.auth.member_id;
    let person = node.person(&member, me)?;
    let page = node.member_posts(&member, q.before.as_deref(), POSTS_PER_PAGE, me)?;
    let now = Timestamp::now();
    let posts = page
        .items
        .iter()
        .map(|p| Entry::new(p, &viewer, now, &node.node_id()))
        .collect();
    let page = ProfilePage {
        chrome: Chrome::member(&node, &viewer, person.display_name.clone(), "/people"),
        csrf: viewer.csrf.clone(),
        is_me: member == *me,
        blocked: node.store().has_blocked(me, &member)?,
        person,
        posts,
        more: page.next_cursor,
        paged: q.before.is_some(),
    };
    render(&page, &page.chrome)
}
