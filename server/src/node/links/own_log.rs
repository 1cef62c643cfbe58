//! A restored node never forks its log. After start, before it writes its first new
//! shared-log event, a node learns from its paired peers how far they hold its own log
//! (their have-vectors carry it) and fetches back what it lacks, so it never signs a
//! sequence number its peers already hold a different event for. Shared-log writes wait
//! until every paired peer has answered and the node holds its log as far as any of them,
//! or until `federation.own_log_wait_seconds` pass (logged clearly: a peer that is down
//! cannot help).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kindred_protocol::NodeId;
use tokio::sync::watch;

use crate::node::Node;

/// Whether this node may write to its shared log yet, and what its peers said of it.
pub(crate) struct OwnLog {
    /// True once writing may go ahead.
    ready: watch::Sender<bool>,
    /// Each peer's highest contiguous number of this node's log, as it reported.
    reports: Mutex<HashMap<NodeId, u64>>,
    /// Bumped on each report.
    reported: watch::Sender<u64>,
}

impl OwnLog {
    pub(crate) fn new() -> Self {
        Self {
            ready: watch::channel(false).0,
            reports: Mutex::default(),
            reported: watch::channel(0).0,
        }
    }

    /// Turns true when shared-log writes may go ahead.
    pub(crate) fn ready(&self) -> watch::Receiver<bool> {
        self.ready.subscribe()
    }

    /// Whether writing may go ahead.
    pub(crate) fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// A peer's have-vector said it holds this node's log up to `head`.
    pub(crate) fn report(&self, peer: NodeId, head: u64) {
        self.reports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer, head);
        self.reported.send_modify(|v| *v += 1);
    }

    /// A peer could not be reached: it cannot say anything now, so it is not waited for
    /// (a node with a peer that is down starts writing at once, not after the wait).
    pub(crate) fn unreachable(&self, peer: NodeId) {
        if *self.ready.borrow() {
            return;
        }
        self.reports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(peer)
            .or_insert(0);
        tracing::info!(%peer, "a paired node cannot be reached; not waiting for it to say how far it holds this node's log");
        self.reported.send_modify(|v| *v += 1);
    }

    /// Whether every paired, unblocked peer has answered and this node holds its log as
    /// far as the furthest of them; `Some(furthest)` when so.
    fn caught_up(&self, node: &Node) -> Option<u64> {
        let peers = match node.store().peers() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot read peers");
                return None;
            }
        };
        let reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        let mut furthest = 0;
        for peer in peers {
            if node.federation().is_blocked(&peer.node_id) {
                continue;
            }
            furthest = furthest.max(*reports.get(&peer.node_id)?);
        }
        let ours = node.signals().durable.head(&node.node_id());
        (ours >= furthest).then_some(furthest)
    }
}

/// Opens shared-log writing once this node has caught up with what its peers hold of its
/// own log, or after the configured wait.
pub(crate) async fn run(node: Node) {
    let own = &node.federation().own_log;
    let wait = Duration::from_secs(node.config().federation.own_log_wait_seconds);
    let deadline = tokio::time::Instant::now() + wait;
    let mut reported = own.reported.subscribe();
    let mut stored = node.signals().stored.subscribe();
    let shutdown = node.shutdown_signal();
    loop {
        if let Some(furthest) = own.caught_up(&node) {
            tracing::info!(
                own_head = node.signals().durable.head(&node.node_id()),
                peers_hold = furthest,
                "this node holds its own log as far as its peers do; writing to the shared log"
            );
            own.ready.send_replace(true);
            return;
        }
        tokio::select! {
            _ = reported.changed() => {}
            _ = stored.changed() => {}
            _ = tokio::time::sleep_until(deadline) => {
                tracing::warn!(
                    waited_s = wait.as_secs(),
                    own_head = node.signals().durable.head(&node.node_id()),
                    "not every paired node said how far it holds this node's log; writing to the shared log anyway. If this node was restored from a backup, it may reuse numbers a peer holds (the Peers page would then show a fork)"
                );
                own.ready.send_replace(true);
                return;
            }
            _ = shutdown.cancelled() => return,
        }
    }
}
