//! The `Auth` extractor: a bearer token resolved to a member, with the per-session request
//! rate limit applied.
//!
//! The API takes bearer tokens only. The web session cookie is sent by the browser to any
//! page of the same *site*, which includes other ports and sibling subdomains, so a cookie
//! on an API call cannot tell the member's own page from a hostile neighbour's; it is
//! refused. The one exception is the live stream the web pages open, which accepts the
//! cookie only from a page of this node ([`stream_token`]).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use kindred_protocol::api::ErrorCode;

use crate::node::AppError;
use crate::node::{Auth, Node};
use crate::web::SESSION_COOKIE;

/// The token from `Authorization: Bearer`.
pub(crate) fn bearer_of(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// The web session cookie's value.
pub(crate) fn session_cookie_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// The token for the live stream: a bearer token, or the session cookie when the upgrade
/// comes from a page of this node (`Origin` present and naming this node's host; browsers
/// always send it on websocket upgrades, and a page cannot forge it).
pub(crate) fn stream_token(headers: &HeaderMap) -> Result<String, AppError> {
    if let Some(token) = bearer_of(headers) {
        return Ok(token);
    }
    let Some(token) = session_cookie_of(headers) else {
        return Err(sign_in_needed());
    };
    if !from_this_node(headers) {
        tracing::warn!(origin = ?headers.get(axum::http::header::ORIGIN), "live stream refused: opened by a page of another site");
        return Err(AppError::forbidden(
            "The live stream can only be opened by this node's own pages.",
        ));
    }
    Ok(token)
}

/// Whether `Origin` is present and names the host the request was sent to.
fn from_this_node(headers: &HeaderMap) -> bool {
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    match (origin.and_then(|o| o.split_once("://")), host) {
        (Some((scheme, origin_host)), Some(host)) => {
            matches!(scheme, "http" | "https") && origin_host.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

fn sign_in_needed() -> AppError {
    AppError::new(
        ErrorCode::Unauthorized,
        "Please sign in: this needs a session token.",
    )
}

/// Resolves `token` and applies the session's request rate limit.
pub(crate) fn authorise(node: &Node, token: &str) -> Result<Auth, AppError> {
    let auth = node.authenticate(token)?;
    if !node.limits().requests.try_take(&auth.session_hash) {
        tracing::warn!(member = %auth.member_id, "request rate limit reached");
        return Err(AppError::new(
            ErrorCode::RateLimited,
            "Too many requests. Please slow down and try again in a minute.",
        ));
    }
    Ok(auth)
}

impl FromRequestParts<Node> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, node: &Node) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer_of(&parts.headers) else {
            if session_cookie_of(&parts.headers).is_some() {
                tracing::warn!(path = %parts.uri.path(), "API call with only the web session cookie refused");
                return Err(AppError::new(
                    ErrorCode::Unauthorized,
                    "The API needs `Authorization: Bearer <token>`; the web session cookie only works for the web pages.",
                ));
            }
            return Err(sign_in_needed());
        };
        authorise(node, &token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_stream_takes_the_cookie_only_from_this_nodes_pages() {
        let with = |origin: Option<&'static str>, bearer: bool| {
            let mut h = HeaderMap::new();
            h.insert(
                axum::http::header::HOST,
                HeaderValue::from_static("127.0.0.1:7070"),
            );
            h.insert(
                COOKIE,
                HeaderValue::from_static("kindred_session=kds_cookie"),
            );
            if let Some(o) = origin {
                h.insert(axum::http::header::ORIGIN, HeaderValue::from_static(o));
            }
            if bearer {
                h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer kds_bearer"));
            }
            stream_token(&h).ok()
        };
        for (origin, bearer, expected) in [
            (Some("http://127.0.0.1:7070"), false, Some("kds_cookie")),
            (Some("https://127.0.0.1:7070"), false, Some("kds_cookie")),
            (Some("http://127.0.0.1:9999"), false, None),
            (Some("http://evil.127.0.0.1:7070"), false, None),
            (Some("null"), false, None),
            (Some("chrome-extension://127.0.0.1:7070"), false, None),
            (None, false, None),
            (Some("http://127.0.0.1:9999"), true, Some("kds_bearer")),
            (None, true, Some("kds_bearer")),
        ] {
            assert_eq!(
                with(origin, bearer).as_deref(),
                expected,
                "{origin:?} {bearer}"
            );
        }
    }
}
