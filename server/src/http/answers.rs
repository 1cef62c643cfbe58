//! What every API answer carries, whatever produced it: `Cache-Control: no-store` (answers
//! hold people's words and may pass through shared computers and proxies),
//! `X-Content-Type-Options: nosniff`, and for errors the documented JSON shape, also for the
//! ones the framework makes itself (an unknown method, a body or upgrade it could not
//! read).

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use kindred_protocol::api::ErrorCode;

use crate::http::error_response;

/// Middleware for the API, `/healthz` and the federation endpoint.
pub(crate) async fn api_answers(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut response = if (status.is_client_error() || status.is_server_error()) && !is_json {
        let (code, message) = error_for(status);
        tracing::info!(%method, %path, %status, "request refused before reaching a handler");
        let mut json = error_response(code, message.to_owned());
        // Keep what the framework said about the answer (e.g. `Allow` on a 405).
        if let Some(allow) = response.headers().get(header::ALLOW) {
            json.headers_mut().insert(header::ALLOW, allow.clone());
        }
        json
    } else {
        response
    };
    crate::http::private(response.headers_mut());
    response
}

/// The error code and message for a status the framework answered with.
fn error_for(status: StatusCode) -> (ErrorCode, &'static str) {
    match status {
        StatusCode::UNAUTHORIZED => (ErrorCode::Unauthorized, "Please sign in."),
        StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "That is not allowed."),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "No such API endpoint."),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "This endpoint does not take that method; see docs/api.md.",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::Timeout,
            "The request came too slowly and was cut off. Please try again.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::TooLarge, "The request body is too large."),
        StatusCode::TOO_MANY_REQUESTS => (
            ErrorCode::RateLimited,
            "Too many requests. Please try again shortly.",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            ErrorCode::Unavailable,
            "The node is busy or shutting down. Please try again shortly.",
        ),
        s if s.is_client_error() => (
            ErrorCode::BadRequest,
            "The request could not be read; see docs/api.md for its shape.",
        ),
        _ => (
            ErrorCode::Internal,
            "Something went wrong on this node. The admin can find details in its log.",
        ),
    }
}
