//! Per-address connection limit: requests (and open live streams) in flight from one
//! address are counted and refused above `limits.connections_per_address`.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use kindred_protocol::api::ErrorCode;

use super::client_address::ClientAddress;
use crate::error::error_response;
use crate::node::Node;

/// Holds one slot for an address; frees it on drop.
pub(crate) struct Slot {
    node: Node,
    address: IpAddr,
}

impl Slot {
    /// Takes a slot, or `None` when the address is at its limit.
    pub(crate) fn take(node: &Node, address: IpAddr) -> Option<Self> {
        let max = node.config().limits.connections_per_address;
        let mut open = node
            .limits()
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Self {
            node: node.clone(),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .node
            .limits()
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Middleware: refuses a request when its address has too many in flight.
pub(crate) async fn per_address(
    State(node): State<Node>,
    ClientAddress(address): ClientAddress,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(slot) = Slot::take(&node, address) else {
        tracing::warn!(%address, "too many connections from one address");
        return error_response(
            ErrorCode::RateLimited,
            "Too many connections from your address. Please try again shortly.".to_owned(),
        );
    };
    // The request holds the slot until it is answered; a live stream takes a clone so it
    // keeps the slot for as long as it is open.
    let slot = std::sync::Arc::new(slot);
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    drop(slot);
    response
}
