//! `/help`: the organisation's crisis and support lines, for everyone, signed in or not.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::node::Node;
use crate::web::chrome::{Chrome, render};
use crate::web::error::PageError;
use crate::web::session::signed_in_viewer;

#[derive(askama::Template)]
#[template(path = "help.html", whitespace = "minimize")]
struct HelpPage {
    chrome: Chrome,
    intro: String,
}

pub(crate) async fn help(
    State(node): State<Node>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let chrome = match signed_in_viewer(&node, &headers) {
        Some(viewer) => Chrome::member(&node, &viewer, "Get help now", "/help"),
        None => Chrome::public(&node, "Get help now"),
    };
    let page = HelpPage {
        chrome,
        intro: node.config().help.intro.clone(),
    };
    render(&page, &page.chrome)
}
