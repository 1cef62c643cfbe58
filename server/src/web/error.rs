//! Errors on web pages: a signed-out visitor is sent to sign in; anything else becomes an
//! error page in the site's layout (with the help banner), with the right status.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kindred_protocol::api::ErrorCode;

use super::chrome::{Chrome, render_with_status};
use crate::http::status_of;
use crate::node::AppError;
use crate::node::Node;

/// Why a page could not be shown.
#[derive(Debug)]
pub(crate) enum PageError {
    /// Not signed in: go to the sign-in page, then come back to `next`.
    SignIn {
        /// The page they wanted.
        next: String,
    },
    /// Refused or failed.
    App(AppError),
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::App(e)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        PageError::App(e.into())
    }
}

/// Left on an error response for [`error_pages`] to render with the node's chrome.
#[derive(Debug, Clone)]
struct ErrorPage {
    status: StatusCode,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                let to = format!("/signin?next={}", urlencode(&next));
                axum::response::Redirect::to(&to).into_response()
            }
            PageError::App(AppError::Refused { code, message, .. }) => {
                tracing::debug!(?code, %message, "page refused");
                page_marker(status_of(code), message)
            }
            PageError::App(e @ AppError::Internal(_)) => {
                // Logs the cause the same way the API does.
                drop(e.into_response());
                page_marker(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on this node. The admin can find details in its log."
                        .to_owned(),
                )
            }
        }
    }
}

fn page_marker(status: StatusCode, message: String) -> Response {
    let mut response = status.into_response();
    response
        .extensions_mut()
        .insert(ErrorPage { status, message });
    response
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

#[derive(askama::Template)]
#[template(path = "error.html", whitespace = "minimize")]
struct ErrorTemplate {
    chrome: Chrome,
    message: String,
    signed_out: bool,
}

/// A whole error page in the site's layout (with the help banner), for answers made
/// outside the page handlers: the idempotency middleware's refusals of a web form sent
/// again.
pub(crate) fn problem_page(
    node: &Node,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    let template = ErrorTemplate {
        chrome: Chrome::public(node, title),
        message: message.to_owned(),
        signed_out: false,
    };
    render_with_status(&template, &template.chrome, status)
        .unwrap_or_else(|_| (status, message.to_owned()).into_response())
}

/// Middleware: turns error markers into full error pages.
pub(crate) async fn error_pages(State(node): State<Node>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let marker = response.extensions().get::<ErrorPage>().cloned();
    let Some(page) = marker.or_else(|| unmarked_error(&response)) else {
        return response;
    };
    let title = match page.status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Please slow down",
        StatusCode::GONE => "This link has expired",
        s if s.is_server_error() => "Something went wrong",
        _ => "There is a problem",
    };
    let template = ErrorTemplate {
        chrome: Chrome::public(&node, title),
        message: page.message,
        signed_out: page.status == status_of(ErrorCode::Unauthorized),
    };
    let (mut parts, _) = response.into_parts();
    match render_with_status(&template, &template.chrome, page.status) {
        Ok(rendered) => {
            let (new_parts, body) = rendered.into_parts();
            for (name, value) in new_parts.headers.iter() {
                parts.headers.insert(name.clone(), value.clone());
            }
            Response::from_parts(parts, body)
        }
        Err(_) => (page.status, "Something went wrong.").into_response(),
    }
}

/// An error the framework answered before any page handler ran (a method the page does
/// not take), shown as a page too.
fn unmarked_error(response: &Response) -> Option<ErrorPage> {
    let message = match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => "That page does not take that kind of request.",
        _ => return None,
    };
    Some(ErrorPage {
        status: response.status(),
        message: message.to_owned(),
    })
}

/// Fallback for paths that are not pages.
pub(crate) async fn not_found_page() -> Response {
    page_marker(
        StatusCode::NOT_FOUND,
        "There is no page at this address. It may have been moved or taken down.".to_owned(),
    )
}
