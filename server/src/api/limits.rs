//! Limits on what one client may hold open at once:
//!
//! - requests in progress per address (`limits.connections_per_address`); a request's
//!   body has already been read by then, so a slow sender is never counted;
//! - live streams per session (`limits.streams_per_session`) and per address
//!   (`limits.streams_per_address`). Streams are not requests in progress: a member's open
//!   tabs never use up the address's allowance for ordinary requests.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use kindred_protocol::api::ErrorCode;

use crate::http::client_address::ClientAddress;
use crate::http::error_response;
use crate::node::Node;
use crate::node::rate_limit::Slot;

/// Middleware: refuses a request when its address has too many in progress.
pub(crate) async fn per_address(
    State(node): State<Node>,
    ClientAddress(address): ClientAddress,
    req: Request,
    next: Next,
) -> Response {
    let max = node.config().limits.connections_per_address;
    let Some(slot) = node.limits().in_flight.take(address, max) else {
        tracing::warn!(%address, "too many requests in progress from one address");
        return error_response(
            ErrorCode::RateLimited,
            "Too many requests in progress from your address. Please try again shortly.".to_owned(),
        );
    };
    let response = next.run(req).await;
    drop(slot);
    response
}

/// What an open live stream holds: its place in the session's and the address's limits.
pub(crate) struct StreamSlots {
    _session: Slot<[u8; 32]>,
    _address: Slot<IpAddr>,
}

/// Takes a stream's places, or the error to answer with.
pub(crate) fn take_stream(
    node: &Node,
    session: [u8; 32],
    address: IpAddr,
) -> Result<StreamSlots, crate::node::AppError> {
    let limits = &node.config().limits;
    let Some(session_slot) = node
        .limits()
        .streams_by_session
        .take(session, limits.streams_per_session)
    else {
        return Err(crate::node::AppError::new(
            ErrorCode::RateLimited,
            "Too many live streams open for this session; close a tab or window and try again.",
        ));
    };
    let Some(address_slot) = node
        .limits()
        .streams_by_address
        .take(address, limits.streams_per_address)
    else {
        tracing::warn!(%address, "too many live streams from one address");
        return Err(crate::node::AppError::new(
            ErrorCode::RateLimited,
            "Too many live streams open from your address. Please try again shortly.",
        ));
    };
    Ok(StreamSlots {
        _session: session_slot,
        _address: address_slot,
    })
}
