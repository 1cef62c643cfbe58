//! Who brought which origin: the paired node whose link first delivered a node this node
//! had never heard of is its introducer. A peer may introduce at most
//! `federation.new_origins_per_peer_per_day` (500) new origins a day (a hostile node making up
//! keys is held to that), and blocking a peer blocks what it introduced: its made-up
//! keys cannot keep flooding through it. (What an honest peer relays from a hostile one
//! is the hostile one's peers' to block.)

use std::collections::HashSet;

use kindred_protocol::NodeId;

use super::LinkError;
use crate::node::Node;
use crate::store::StoreError;

/// Whether events of `origin` arriving on `peer`'s link may be stored: an origin this
/// node knows already, the peer itself, or a new one the peer may still introduce today
/// (recorded as its introducer).
pub(crate) fn admit(node: &Node, peer: &NodeId, origin: &NodeId) -> Result<bool, LinkError> {
    if origin == peer || *origin == node.node_id() {
        return Ok(true);
    }
    let store = node.store();
    if store.introducer(origin)?.is_some() || store.origin_head(origin)? > 0 {
        return Ok(true);
    }
    let day = node.now().as_millis() / 86_400_000;
    let limit = node.config().federation.new_origins_per_peer_per_day;
    if !node.federation().introductions.take(*peer, day, limit) {
        tracing::info!(%peer, %origin, "a peer has brought as many new nodes as it may today; this one waits");
        node.store().note_conflict(
            crate::store::ConflictKind::Introductions,
            peer,
            format!("brought {limit} nodes this node had never heard of today; more wait until tomorrow (a node behind it may be making up keys: block whichever peer of yours brings them)"),
            node.now().as_millis(),
        )?;
        return Ok(false);
    }
    store.set_introducer(origin, peer)?;
    tracing::info!(%peer, %origin, "a peer brought events of a node not seen before");
    Ok(true)
}

/// Every node blocked here, with what those introduced.
pub(crate) fn blocked_with_introduced(node: &Node) -> Result<HashSet<NodeId>, StoreError> {
    let mut blocked: HashSet<NodeId> = node.store().blocked_nodes()?.into_iter().collect();
    for b in blocked.clone() {
        blocked.extend(node.store().introduced_by(&b)?);
    }
    Ok(blocked)
}
