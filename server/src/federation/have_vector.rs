//! Have-vectors: what this node holds of each origin's log (only what is on disk), and
//! what a peer's says about forks.

use kindred_protocol::peer::HaveEntry;
use kindred_protocol::{EventId, NodeId};

use super::LinkError;
use crate::node::Node;

/// The origins and numbers for which `peer` says it holds a different event than this
/// node does (unsigned: nothing is recorded until the signed events are exchanged).
pub(super) fn forks_in(
    node: &Node,
    peer: &NodeId,
    entries: &[HaveEntry],
) -> Result<Vec<(NodeId, u64)>, LinkError> {
    let mut forks = Vec::new();
    for e in entries {
        if e.seq == 0 || e.seq > node.signals().durable.head(&e.origin) {
            continue;
        }
        let Some(ours) = node.store().event_at(&e.origin, e.seq)?.map(|ev| ev.id()) else {
            continue;
        };
        if ours != e.head {
            tracing::info!(%peer, origin = %e.origin, seq = e.seq, held = %ours, theirs = %e.head, "a peer says it holds a different event with this number; exchanging copies");
            forks.push((e.origin, e.seq));
        }
    }
    Ok(forks)
}

/// What this node holds of each origin's log, on disk (blocked origins left out). Its own
/// origin is always listed, even at 0, so a peer sends back what this node lacks of its
/// own log (after a restore from a backup).
pub(super) fn have_vector(node: &Node) -> Result<Vec<HaveEntry>, LinkError> {
    let fed = node.federation();
    let own = node.node_id();
    let mut heads = node.signals().durable.heads();
    if !heads.iter().any(|(origin, _)| *origin == own) {
        heads.push((own, 0));
    }
    let mut entries = Vec::with_capacity(heads.len());
    for (origin, seq) in heads {
        if fed.is_blocked(&origin) {
            continue;
        }
        let head = match seq {
            0 => EventId::from_bytes([0; 32]),
            _ => node
                .store()
                .event_at(&origin, seq)?
                .map(|e| e.id())
                .unwrap_or(EventId::from_bytes([0; 32])),
        };
        entries.push(HaveEntry { origin, seq, head });
    }
    Ok(entries)
}
