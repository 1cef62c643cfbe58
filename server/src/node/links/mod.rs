//! The state of this node's links with its peers, held by the node so that the domain
//! can ask it (is this origin blocked?) without depending on the federation transport:
//! which links are open, per-peer counters, the blocked set, dialers running, the
//! handshake limit, whether the node has caught up with its own log, and today's
//! introductions. `federation/` runs the links and changes this state.

mod own_log;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use kindred_protocol::{NodeId, Timestamp};
use tokio::sync::{Semaphore, watch};

pub(crate) use own_log::{OwnLog, run as run_own_log};

/// Two links between the same nodes opened within this long of each other (ms) were
/// dialled at the same time from both ends; see `Federation::register`.
const SIMULTANEOUS_MS: u64 = 10_000;

/// Another link to the same peer won (see [`Federation::register`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DuplicateLink;

/// Counters for one peer, kept across its links while this node runs.
#[derive(Default)]
pub(crate) struct PeerStats {
    /// Events sent to it.
    pub(crate) events_sent: AtomicU64,
    /// Events received from it and stored.
    pub(crate) events_received: AtomicU64,
    /// What it last said it holds, per origin (updated as events flow).
    pub(crate) heads: Mutex<HashMap<NodeId, u64>>,
    /// The last link error.
    pub(crate) last_error: Mutex<Option<String>>,
    /// How far its clock was ahead of ours (ms) when the last link came up.
    pub(crate) clock_offset: Mutex<Option<i64>>,
    /// The link protocol version it spoke when the last link came up (0: no link yet).
    pub(crate) protocol_version: std::sync::atomic::AtomicU16,
    /// Since when no link has been up (ms), once one went down or an attempt failed;
    /// `None` while a link is up or before the first attempt.
    pub(crate) down_since: Mutex<Option<u64>>,
}

impl PeerStats {
    /// Records that a link came up (`up`) or that none is up now, keeping the first time
    /// it went down.
    pub(crate) fn set_up(&self, up: bool) {
        let mut down = self.down_since.lock().unwrap_or_else(|p| p.into_inner());
        if up {
            *down = None;
        } else if down.is_none() {
            *down = Some(Timestamp::now().as_millis());
        }
    }
}

/// One open link.
struct LinkEntry {
    /// Distinguishes links to the same peer over time.
    id: u64,
    /// Which node opened it; when two links race, the one opened by the smaller id stays.
    initiator: NodeId,
    /// Tells the link to close.
    close: watch::Sender<bool>,
    /// When it came up (ms).
    since: u64,
}

/// The federation state of a node.
pub(crate) struct Federation {
    /// Open links by peer.
    links: Mutex<HashMap<NodeId, LinkEntry>>,
    /// Counters by peer.
    stats: Mutex<HashMap<NodeId, Arc<PeerStats>>>,
    /// Blocked nodes and the nodes they introduced (mirrors the `blocked_nodes` and
    /// `introducers` trees for fast checks on every event).
    blocked: RwLock<HashSet<NodeId>>,
    /// Peers with a dialer running.
    pub(crate) dialing: Mutex<HashSet<NodeId>>,
    /// Bumped whenever links open or close or peers change, to wake dialers.
    pub(crate) changes: watch::Sender<u64>,
    /// Limits handshakes in progress (a flood of connections cannot pile up).
    pub(crate) handshakes: Arc<Semaphore>,
    /// Next link id.
    next_link: AtomicU64,
    /// Whether this node has caught up with its own log (shared-log writes wait for it).
    pub(crate) own_log: OwnLog,
    /// New origins each peer introduced today.
    pub(crate) introductions: Introductions,
}

impl Federation {
    pub(crate) fn new(blocked: HashSet<NodeId>) -> Self {
        Self {
            links: Mutex::default(),
            stats: Mutex::default(),
            blocked: RwLock::new(blocked.into_iter().collect()),
            dialing: Mutex::default(),
            changes: watch::channel(0).0,
            handshakes: Arc::new(Semaphore::new(32)),
            next_link: AtomicU64::new(1),
            own_log: OwnLog::new(),
            introductions: Introductions::default(),
        }
    }

    /// Whether events from (and links with) `node` are refused.
    pub(crate) fn is_blocked(&self, node: &NodeId) -> bool {
        self.blocked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(node)
    }

    /// Replaces the blocked set (after a block or unblock, with what they introduced).
    pub(crate) fn set_blocked(&self, blocked: HashSet<NodeId>) {
        *self.blocked.write().unwrap_or_else(|p| p.into_inner()) = blocked;
    }

    /// Whether any node is blocked.
    pub(crate) fn any_blocked(&self) -> bool {
        !self
            .blocked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    pub(crate) fn stats(&self, peer: &NodeId) -> Arc<PeerStats> {
        self.stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(*peer)
            .or_default()
            .clone()
    }

    pub(crate) fn connected(&self, peer: &NodeId) -> Option<u64> {
        self.links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(peer)
            .map(|l| l.since)
    }

    pub(crate) fn bump(&self) {
        self.changes.send_modify(|v| *v += 1);
    }

    /// Registers a link. Two links opened at about the same time (both ends dialled) are
    /// settled by keeping the one opened by the node with the smaller id (both ends decide
    /// the same way). A new link from a peer whose link here has been up for longer than
    /// that replaces it: the peer dialled because its side is gone (it crashed, froze or
    /// was restored from a backup), and the old link would otherwise shut it out until it
    /// timed out.
    pub(crate) fn register(
        &self,
        peer: NodeId,
        initiator: NodeId,
        now_ms: u64,
    ) -> Result<(u64, watch::Receiver<bool>), DuplicateLink> {
        let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = links.get(&peer)
            && existing.initiator != initiator
            && existing.initiator < initiator
            && now_ms.saturating_sub(existing.since) < SIMULTANEOUS_MS
        {
            return Err(DuplicateLink);
        }
        let id = self.next_link.fetch_add(1, Ordering::Relaxed);
        let (close, closed) = watch::channel(false);
        let entry = LinkEntry {
            id,
            initiator,
            close,
            since: now_ms,
        };
        if let Some(old) = links.insert(peer, entry) {
            // The replaced link stops at its next step.
            let _ = old.close.send(true);
        }
        drop(links);
        self.bump();
        Ok((id, closed))
    }

    pub(crate) fn unregister(&self, peer: &NodeId, id: u64) {
        let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        if links.get(peer).is_some_and(|l| l.id == id) {
            links.remove(peer);
        }
        drop(links);
        self.bump();
    }

    pub(crate) fn close_link(&self, peer: &NodeId) {
        if let Some(link) = self
            .links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(peer)
        {
            // The link stops at its next step.
            let _ = link.close.send(true);
        }
    }

    /// Closes every link (shutdown).
    pub(crate) fn close_all(&self) {
        for link in self
            .links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            let _ = link.close.send(true);
        }
        self.bump();
    }
}

/// New origins introduced per peer today.
#[derive(Default)]
pub(crate) struct Introductions {
    /// Per peer: the day (days since the epoch) and how many it introduced that day.
    today: Mutex<HashMap<NodeId, (u64, u32)>>,
}

impl Introductions {
    /// Counts one more introduction by `peer`; false when it has used up today's.
    pub(crate) fn take(&self, peer: NodeId, day: u64, limit: u32) -> bool {
        let mut today = self.today.lock().unwrap_or_else(|p| p.into_inner());
        let entry = today.entry(peer).or_insert((day, 0));
        if entry.0 != day {
            *entry = (day, 0);
        }
        if entry.1 >= limit {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_dialled_at_once_are_settled_and_a_stale_link_gives_way() {
        let fed = Federation::new(HashSet::new());
        let small = NodeId::from_bytes([1; 32]);
        let big = NodeId::from_bytes([9; 32]);
        // Here is `small`; the peer is `big`. This node dialled first.
        let (first, _) = fed.register(big, small, 1_000).unwrap();
        // The peer's own dial arrives a moment later: the smaller id's link stays.
        assert!(matches!(fed.register(big, big, 1_500), Err(DuplicateLink)));
        assert_eq!(fed.links.lock().unwrap()[&big].id, first);
        // Long after, the peer dials again: its side of the old link is gone (a crash, a
        // freeze, a restore), so the new link replaces the old one.
        let (second, _) = fed.register(big, big, 1_000 + SIMULTANEOUS_MS + 1).unwrap();
        assert_ne!(second, first);
        assert_eq!(fed.links.lock().unwrap()[&big].id, second);
    }
}
