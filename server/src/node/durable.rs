//! What is on disk: the highest arrival number and each origin's shared-log head that a
//! flush has covered. Federation links build have-vectors, batches and directed
//! deliveries only from below these marks, so nothing leaves this node before it is
//! durable: a crash can lose only what nobody else has seen, and this node never signs a
//! sequence number twice (after a restart it numbers on from what reached disk).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use kindred_protocol::NodeId;

/// The durable watermark. Moved on only by the group-commit callback, after a flush. It
/// also counts, per origin, the events the rules refused (for the Peers page).
pub(crate) struct DurableLog {
    /// Events refused per origin since start.
    refused: std::sync::Mutex<HashMap<NodeId, u64>>,
    /// Paired nodes whose clock is known (from their hello) to be far from this node's:
    /// how far ahead (ms). Their events are placed in timelines by the corrected time.
    skewed_clocks: RwLock<HashMap<NodeId, i64>>,
    /// Each origin's highest contiguous sequence number on disk.
    heads: RwLock<HashMap<NodeId, u64>>,
    /// The highest arrival number on disk.
    local_seq: AtomicU64,
}

impl DurableLog {
    /// Marks for a store just opened (everything in it is on disk).
    pub(crate) fn new(heads: Vec<(NodeId, u64)>, local_seq: u64) -> Self {
        Self {
            refused: std::sync::Mutex::default(),
            skewed_clocks: RwLock::default(),
            heads: RwLock::new(heads.into_iter().collect()),
            local_seq: AtomicU64::new(local_seq),
        }
    }

    /// Records a flushed group: its last arrival number and the heads it reached.
    pub(crate) fn advance(&self, local_seq: u64, heads: &[(NodeId, u64)]) {
        if !heads.is_empty() {
            let mut held = self.heads.write().unwrap_or_else(|p| p.into_inner());
            for (origin, seq) in heads {
                let h = held.entry(*origin).or_insert(0);
                *h = (*h).max(*seq);
            }
        }
        self.local_seq.fetch_max(local_seq, Ordering::AcqRel);
    }

    /// Counts a refused event from `origin`.
    pub(crate) fn count_refused(&self, origin: NodeId) {
        *self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(origin)
            .or_default() += 1;
    }

    /// Events from `origin` the rules refused since this node started.
    pub(crate) fn refused(&self, origin: &NodeId) -> u64 {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(origin)
            .copied()
            .unwrap_or(0)
    }

    /// Records how far ahead (ms) a paired node's clock is (`None`: close enough).
    pub(crate) fn set_skew(&self, node: NodeId, offset: Option<i64>) {
        let mut skews = self
            .skewed_clocks
            .write()
            .unwrap_or_else(|p| p.into_inner());
        match offset {
            Some(o) => skews.insert(node, o),
            None => skews.remove(&node),
        };
    }

    /// The paired nodes whose clocks are far off, and by how much (ms ahead).
    pub(crate) fn skews(&self) -> HashMap<NodeId, i64> {
        self.skewed_clocks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every origin's durable head.
    pub(crate) fn heads(&self) -> Vec<(NodeId, u64)> {
        self.heads
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(o, s)| (*o, *s))
            .collect()
    }

    /// One origin's durable head (0 when none).
    pub(crate) fn head(&self, origin: &NodeId) -> u64 {
        self.heads
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(origin)
            .copied()
            .unwrap_or(0)
    }

    /// The highest arrival number on disk.
    pub(crate) fn local_seq(&self) -> u64 {
        self.local_seq.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_only_move_forward() {
        let a = NodeId::from_bytes([1; 32]);
        let log = DurableLog::new(vec![(a, 5)], 10);
        log.advance(12, &[(a, 7)]);
        log.advance(11, &[(a, 6)]);
        assert_eq!((log.head(&a), log.local_seq()), (7, 12));
        assert_eq!(log.head(&NodeId::from_bytes([2; 32])), 0);
    }
}
