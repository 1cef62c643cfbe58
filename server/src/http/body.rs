//! Request bodies are read in full, within a time limit, before anything else looks at the
//! request: a client that sends its body slowly is cut off with 408 (`timeout`) instead of
//! holding the node's attention, it is never counted against anyone's limits while it
//! dawdles, and its connection may be shed to make room like an idle one. Every body the node accepts is small (`limits.max_request_bytes`), so buffering
//! costs little.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kindred_protocol::api::ErrorCode;

use super::registry::Connection;
use crate::http::error_response;

/// What [`read_body_in_time`] needs.
#[derive(Clone, Copy)]
pub(crate) struct BodyLimits {
    /// Longest time to receive a whole body.
    pub(crate) within: Duration,
    /// Largest body, in bytes.
    pub(crate) max_bytes: usize,
}

/// Middleware: buffers the body within [`BodyLimits::within`], or answers 408 and closes
/// the connection. Over [`BodyLimits::max_bytes`]: 413.
pub(crate) async fn read_body_in_time(
    State(limits): State<BodyLimits>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    // A declared length over the limit is refused before anything is read (and, for
    // `Expect: 100-continue`, before the client is invited to send it).
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes as u64) {
        tracing::info!(path = %parts.uri.path(), ?declared, "request body declared too large");
        return closing(
            &parts,
            ErrorCode::TooLarge,
            "The request body is too large.",
        );
    }
    let read = axum::body::to_bytes(body, limits.max_bytes);
    let bytes = match tokio::time::timeout(limits.within, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                return closing(
                    &parts,
                    ErrorCode::TooLarge,
                    "The request body is too large.",
                );
            }
            tracing::debug!(error = %e, "request body could not be read");
            return closing(
                &parts,
                ErrorCode::BadRequest,
                "The request body could not be read.",
            );
        }
        Err(_) => {
            tracing::info!(path = %parts.uri.path(), "request body came too slowly; cut off");
            return closing(
                &parts,
                ErrorCode::Timeout,
                "The request came too slowly and was cut off. Please try again.",
            );
        }
    };
    // From here the request is being served: its connection is busy, and stays busy for
    // good if it becomes a websocket.
    let in_flight = parts.extensions.get::<Arc<Connection>>().map(|c| c.begin());
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if let Some(in_flight) = in_flight
        && response.status() == StatusCode::SWITCHING_PROTOCOLS
    {
        in_flight.upgraded();
    }
    response
}

/// An error answer that also closes the connection (what is left of the body is unread).
/// Private like every other answer: the documented JSON for the API, the federation
/// endpoint and `/healthz`, a short page for the web pages (which are served inside this).
fn closing(parts: &Parts, code: ErrorCode, message: &str) -> Response {
    let path = parts.uri.path();
    let api = path.starts_with("/api/") || path.starts_with("/federation/") || path == "/healthz";
    let mut response = if api {
        error_response(code, message.to_owned()).into_response()
    } else {
        let page = format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>There is a problem</title><h1>There is a problem</h1><p>{message}</p>\
             <p><a href=\"/\">Go to the home page</a></p></html>"
        );
        let mut r = (crate::http::status_of(code), page).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'"),
        );
        r
    };
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    super::private(headers);
    response
}
