//! The `Auth` extractor: a bearer token (or, for the web pages, the session cookie) resolved
//! to a member, with the per-session request rate limit applied.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use kindred_protocol::api::ErrorCode;

use crate::error::AppError;
use crate::node::{Auth, Node};

/// Name of the web session cookie.
pub(crate) const SESSION_COOKIE: &str = "kindred_session";

/// The session token from `Authorization: Bearer` or the session cookie.
pub(crate) fn token_of(parts: &Parts) -> Option<String> {
    if let Some(value) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
        if !token.is_empty() {
            return Some(token.to_owned());
        }
    }
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<Node> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, node: &Node) -> Result<Self, Self::Rejection> {
        let token = token_of(parts).ok_or_else(|| {
            AppError::new(
                ErrorCode::Unauthorized,
                "Please sign in: this needs a session token.",
            )
        })?;
        let auth = node.authenticate(&token)?;
        if !node.limits().requests.try_take(&auth.session_hash) {
            tracing::warn!(member = %auth.member_id, "request rate limit reached");
            return Err(AppError::new(
                ErrorCode::RateLimited,
                "Too many requests. Please slow down and try again in a minute.",
            ));
        }
        Ok(auth)
    }
}
