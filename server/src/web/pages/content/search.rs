//! Searching posts from the web, and the fragments the pages' script fetches for live
//! updates.

use super::{entry, event_id};
use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, render_with_status};
use crate::web::error::PageError;
use crate::web::session::Viewer;
use crate::web::views::Entry;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kindred_protocol::api::ErrorCode;
use serde::Deserialize;

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
