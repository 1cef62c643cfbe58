//! A confirmation step before an action that is hard to undo (suspending someone, taking
//! something down, blocking a peer, ending a match): the form is sent again from a page
//! that says what will happen, with everything that was typed kept in hidden fields.

use axum::response::Response;

use super::chrome::{Chrome, render};
use super::error::PageError;
use super::session::Viewer;
use crate::node::Node;

#[derive(askama::Template)]
#[template(path = "confirm.html", whitespace = "minimize")]
struct ConfirmPage {
    chrome: Chrome,
    csrf: String,
    question: String,
    consequence: String,
    action: String,
    fields: Vec<(String, String)>,
    button: &'static str,
    cancel: String,
}

/// What to ask before an action.
pub(crate) struct Ask<'a> {
    /// The question, as the page's heading ("Block Riverside Hub?").
    pub(crate) question: String,
    /// What will happen, in plain words.
    pub(crate) consequence: String,
    /// Where the form goes (the same action).
    pub(crate) action: &'a str,
    /// The button that goes ahead.
    pub(crate) button: &'static str,
    /// Where "Cancel" goes.
    pub(crate) cancel: &'a str,
}

/// Whether the submitted form `body` was confirmed (`confirmed=yes`).
pub(crate) fn confirmed(body: &[u8]) -> bool {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .is_ok_and(|pairs| pairs.iter().any(|(k, v)| k == "confirmed" && v == "yes"))
}

/// The confirmation page for a form `body` that was not confirmed yet.
pub(crate) fn ask_first(
    node: &Node,
    viewer: &Viewer,
    body: &[u8],
    ask: Ask<'_>,
) -> Result<Response, PageError> {
    let fields = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "_csrf" && k != "confirmed")
        .collect();
    let page = ConfirmPage {
        chrome: Chrome::member(node, viewer, ask.question.clone(), ""),
        csrf: viewer.csrf.clone(),
        question: ask.question,
        consequence: ask.consequence,
        action: ask.action.to_owned(),
        fields,
        button: ask.button,
        cancel: ask.cancel.to_owned(),
    };
    render(&page, &page.chrome)
}
