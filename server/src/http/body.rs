//! Request bodies are read in full, within a time limit, before anything else looks at the
//! request: a client that sends its body slowly is cut off with 408 (`timeout`) instead of
//! holding the node's attention, and it is never counted against anyone's limits while it
//! dawdles. Every body the node accepts is small (`limits.max_request_bytes`), so buffering
//! costs little.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kindred_protocol::api::ErrorCode;

use crate::error::error_response;

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
    let read = axum::body::to_bytes(body, limits.max_bytes);
    let bytes = match tokio::time::timeout(limits.within, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                return error_response(
                    ErrorCode::TooLarge,
                    "The request body is too large.".to_owned(),
                );
            }
            tracing::debug!(error = %e, "request body could not be read");
            return closing(ErrorCode::BadRequest, "The request body could not be read.");
        }
        Err(_) => {
            tracing::info!(path = %parts.uri.path(), "request body came too slowly; cut off");
            return closing(
                ErrorCode::Timeout,
                "The request came too slowly and was cut off. Please try again.",
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// An error answer that also closes the connection (what is left of the body is unread).
fn closing(code: ErrorCode, message: &str) -> Response {
    let mut response = error_response(code, message.to_owned()).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
