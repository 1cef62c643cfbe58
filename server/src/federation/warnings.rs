//! What the admin is warned about on the Peers page and in `peers list`: nodes that signed
//! two events with one number (forks), claims on names bound to other nodes, and paired
//! nodes whose clock is far from this one's.

use kindred_protocol::Timestamp;
use kindred_protocol::api::{FederationWarning, WarningKind, clock_offset_words};

use crate::node::Node;
use crate::store::{ConflictKind, StoreError};

impl Node {
    /// Every warning, oldest first.
    pub(crate) fn federation_warnings(&self) -> Result<Vec<FederationWarning>, StoreError> {
        let mut out = Vec::new();
        for c in self.store().conflicts()? {
            // Blocked: the admin has acted on it.
            if c.origin != self.node_id() && self.federation().is_blocked(&c.origin) {
                continue;
            }
            let node_name = self.store().origin_name(&c.origin)?;
            let who = if c.origin == self.node_id() {
                "This node".to_owned()
            } else {
                node_name.clone().unwrap_or_else(|| c.origin.to_string())
            };
            let (kind, message) = match c.kind {
                ConflictKind::Fork if c.origin == self.node_id() => (
                    WarningKind::Fork,
                    format!(
                        "This node {}: it was probably restored from a backup and wrote before it had caught up with its peers. Each node keeps the copy it had first, so that one post or message differs between this node and the peer that has the other; nothing else is affected. To avoid it, restore while the peers are up (deploy/README.md).",
                        c.detail
                    ),
                ),
                ConflictKind::Fork => (
                    WarningKind::Fork,
                    format!(
                        "{who} {}. This node keeps the copy it had first and refuses the other. If {who} was restored from a backup, it wrote before it had caught up with its peers; if not, it may be misbehaving.",
                        c.detail
                    ),
                ),
                ConflictKind::Introductions => {
                    (WarningKind::NewNodes, format!("{who} {}.", c.detail))
                }
                ConflictKind::NameClaim => (
                    WarningKind::NameClaim,
                    format!(
                        "{who} {}. If {who} is not a node you trust, block it; if it is the rightful owner of the name, pair with it.",
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
            let version = stats
                .protocol_version
                .load(std::sync::atomic::Ordering::Relaxed);
            if version != 0 && version < kindred_protocol::ERASURE_PROTOCOL_VERSION {
                let now = self.now();
                out.push(FederationWarning {
                    kind: WarningKind::OldVersion,
                    node_id: peer.node_id,
                    node_name: Some(peer.name.clone()),
                    message: format!(
                        "{} runs an older Kindred that cannot carry out erasures: when a member deletes their account, what that node holds of them stays there. Ask its admin to upgrade.",
                        peer.name
                    ),
                    count: 1,
                    first_seen: now,
                    last_seen: now,
                });
            }
            if let Some(offset) = offset
                && offset.unsigned_abs() > limit
            {
                let now = self.now();
                out.push(FederationWarning {
                    kind: WarningKind::Clock,
                    node_id: peer.node_id,
                    node_name: Some(peer.name.clone()),
                    message: format!(
                        "{}'s clock is {} this node's. One of the two is wrong (compare both with a phone's clock): times shown for its messages may be off, but the order of conversations does not depend on it.",
                        peer.name,
                        clock_offset_words(offset)
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
