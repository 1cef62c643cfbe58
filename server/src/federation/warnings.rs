//! What the admin is warned about on the Peers page and in `peers list`: nodes that signed
//! two events with one number (forks), claims on names bound to other nodes, and paired
//! nodes whose clock is far from this one's.

use kindred_protocol::Timestamp;
use kindred_protocol::api::{FederationWarning, WarningKind};

use crate::node::Node;
use crate::store::{ConflictKind, StoreError};

/// "2 h 5 min", "40 s": how far apart two clocks are.
fn span(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

impl Node {
    /// Every warning, oldest first.
    pub(crate) fn federation_warnings(&self) -> Result<Vec<FederationWarning>, StoreError> {
        let mut out = Vec::new();
        for c in self.store().conflicts()? {
            let node_name = self.store().origin_name(&c.origin)?;
            let who = if c.origin == self.node_id() {
                "This node".to_owned()
            } else {
                node_name.clone().unwrap_or_else(|| c.origin.to_string())
            };
            let (kind, message) = match c.kind {
                ConflictKind::Fork => (
                    WarningKind::Fork,
                    format!(
                        "{who} {}. The first one held here is kept. If that node was restored from a backup, it wrote before it had caught up with its peers.",
                        c.detail
                    ),
                ),
                ConflictKind::NameClaim => (
                    WarningKind::NameClaim,
                    format!(
                        "{who} {}. Its events are refused; if it is not a node you trust, block it.",
                        c.detail
                    ),
                ),
            };
            out.push(FederationWarning {
                kind,
                node_id: c.origin,
                node_name,
                message,
                count: c.count,
                first_seen: Timestamp(c.first_seen),
                last_seen: Timestamp(c.last_seen),
            });
        }
        let limit = self.config().federation.clock_warning_ms;
        for peer in self.store().peers()? {
            let stats = self.federation().stats(&peer.node_id);
            let offset = *stats.clock_offset.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(offset) = offset
                && offset.unsigned_abs() > limit
            {
                let direction = if offset > 0 { "ahead of" } else { "behind" };
                let now = self.now();
                out.push(FederationWarning {
                    kind: WarningKind::Clock,
                    node_id: peer.node_id,
                    node_name: Some(peer.name.clone()),
                    message: format!(
                        "{}'s clock is {} {direction} this node's. One of the two is wrong: times shown for its messages may be off, but the order of conversations does not depend on it.",
                        peer.name,
                        span(offset.unsigned_abs())
                    ),
                    count: 1,
                    first_seen: now,
                    last_seen: now,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(40_000), "40 s");
        assert_eq!(span(125_000), "2 min");
        assert_eq!(span(7_500_000), "2 h 5 min");
    }
}
