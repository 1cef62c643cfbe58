//! Replication of the shared log and delivery of directed events.
//!
//! Sending: for each origin, a peer is sent what it lacks, in order, in batches that fit a
//! frame. Receiving: events are verified in one batch, then stored in order per origin
//! through the node's one ingest path; an event that arrives ahead of a gap is held (in
//! memory, bounded) until the gap fills, so members never see a hole. Directed events are
//! accepted only from their origin and only if addressed to this node.

use std::collections::{BTreeMap, HashMap};

use tokio::sync::mpsc;

use kindred_protocol::event::verify_batch;
use kindred_protocol::limits::{MAX_BATCH_EVENTS, MAX_FRAME_BYTES};
use kindred_protocol::{Audience, NodeId, SignedEvent, VerifiedEvent};

use super::LinkError;
use crate::node::Node;
use crate::store::IngestOutcome;

/// Bytes of events per batch frame at most (the rest of the frame is headroom).
const BATCH_BYTES: usize = MAX_FRAME_BYTES - 64 * 1024;

/// Shared-log events received on one link ahead of a gap, per origin by sequence number,
/// bounded in bytes per origin and in all (twice that), and dropped with the link: a
/// peer that sends far ahead of what it filled in costs at most that much memory, and
/// what is dropped is sent again after the next have-vector exchange.
pub(crate) struct Pending {
    by_origin: HashMap<NodeId, (usize, BTreeMap<u64, VerifiedEvent>)>,
    /// Bytes held in all.
    bytes: usize,
    /// Bytes held at most per origin.
    per_origin: usize,
}

impl Pending {
    pub(crate) fn new(per_origin: usize) -> Self {
        Self {
            by_origin: HashMap::new(),
            bytes: 0,
            per_origin,
        }
    }

    /// Holds an event; false if its origin's share (or the link's) is full: the event is
    /// dropped and will be sent again after the next have-vector exchange.
    fn hold(&mut self, origin: NodeId, seq: u64, event: VerifiedEvent) -> bool {
        let size = event.signed().encoded_len();
        let (held_bytes, held) = self.by_origin.entry(origin).or_default();
        if held.contains_key(&seq) {
            return true;
        }
        if *held_bytes + size > self.per_origin || self.bytes + size > 2 * self.per_origin {
            if held.is_empty() {
                self.by_origin.remove(&origin);
            }
            return false;
        }
        *held_bytes += size;
        self.bytes += size;
        held.insert(seq, event);
        true
    }

    /// Takes the held run of consecutive events starting at `from`.
    fn take_run(&mut self, origin: &NodeId, from: u64) -> Vec<VerifiedEvent> {
        let Some((held_bytes, held)) = self.by_origin.get_mut(origin) else {
            return Vec::new();
        };
        let mut freed = 0;
        // Anything below `from` is already stored.
        let stale: Vec<u64> = held.range(..from).map(|(s, _)| *s).collect();
        for s in stale {
            if let Some(e) = held.remove(&s) {
                freed += e.signed().encoded_len();
            }
        }
        let mut run = Vec::new();
        let mut next = from;
        while let Some(event) = held.remove(&next) {
            freed += event.signed().encoded_len();
            run.push(event);
            next += 1;
        }
        *held_bytes -= freed;
        self.bytes -= freed;
        if held.is_empty() {
            self.by_origin.remove(origin);
        }
        run
    }
}

/// A batch to send: events of one origin, up to `seq`.
pub(crate) struct Outgoing {
    /// The origin.
    pub(crate) origin: NodeId,
    /// The last sequence number in the batch.
    pub(crate) seq: u64,
    /// The events, in order.
    pub(crate) events: Vec<SignedEvent>,
}

/// The next batch of shared-log events `peer` lacks, updating `theirs` to what it will
/// hold once the batch arrives. `None` when the peer has everything.
pub(crate) fn next_batch(
    node: &Node,
    peer: &NodeId,
    theirs: &mut HashMap<NodeId, u64>,
) -> Result<Option<Outgoing>, LinkError> {
    let fed = node.federation();
    // Only what is on disk: an event sent before its flush could be lost in a crash and
    // its number signed again for another event.
    for (origin, ours) in node.signals().durable.heads() {
        if fed.is_blocked(&origin) || origin == *peer && theirs.get(&origin).is_none() {
            // A peer that has not reported its own log is not sent its own events.
            continue;
        }
        let have = theirs.get(&origin).copied().unwrap_or(0);
        if ours <= have {
            continue;
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut seq = have;
        while seq < ours && batch.len() < MAX_BATCH_EVENTS {
            let Some(event) = node.store().event_at(&origin, seq + 1)? else {
                break;
            };
            if event.is_tombstone() && !old_peer_warned(node, peer, &origin, seq + 1) {
                // An older node cannot read a tombstone; it stops at the erased slot.
                break;
            }
            if bytes + event.encoded_len() > BATCH_BYTES && !batch.is_empty() {
                break;
            }
            bytes += event.encoded_len();
            batch.push(event);
            seq += 1;
        }
        if batch.is_empty() {
            continue;
        }
        theirs.insert(origin, seq);
        return Ok(Some(Outgoing {
            origin,
            seq,
            events: batch,
        }));
    }
    Ok(None)
}

/// Whether `peer` understands tombstones; logs once per slot when it does not.
fn old_peer_warned(node: &Node, peer: &NodeId, origin: &NodeId, seq: u64) -> bool {
    let version = node
        .federation()
        .stats(peer)
        .protocol_version
        .load(std::sync::atomic::Ordering::Relaxed);
    let understands = version == 0 || version >= kindred_protocol::ERASURE_PROTOCOL_VERSION;
    if !understands {
        tracing::debug!(%peer, %origin, seq, version, "a peer on an older protocol cannot take an erased event's tombstone; it is not sent this origin's later events until it upgrades");
    }
    understands
}

/// What came of a received batch.
pub(crate) struct Received {
    /// Events newly stored (including held ones that could now be stored).
    pub(crate) stored: u64,
    /// Events were held behind a gap: ask the peer to resend from our heads.
    pub(crate) gap: bool,
    /// Highest sequence number seen per origin (the peer holds at least these).
    pub(crate) seen: HashMap<NodeId, u64>,
    /// Origins and numbers the peer sent a different event for than the one held here.
    pub(crate) forks: Vec<(NodeId, u64)>,
}

/// A numbered batch on its way through [`receive_pipeline`]: ready for the next stage, or
/// failed in an earlier one. The number is the peer's, echoed in the acknowledgement.
pub(crate) type Batch<T> = (u64, Result<T, LinkError>);

/// What the pipeline says about a batch, in the order the batches arrived.
pub(crate) type Outcome = Batch<Received>;

/// Verifies and stores the batches a link receives, in arrival order, in three stages so
/// that verifying a batch overlaps with writing and flushing the ones before it, and
/// ingest finds the next batch waiting when it finishes one. Each batch's outcome is sent
/// on `done` once it is durable (or failed). Ends when `incoming` closes or `done` is
/// dropped; a failed batch ends it too (the link closes on it).
pub(crate) async fn receive_pipeline(
    node: Node,
    peer: NodeId,
    incoming: mpsc::Receiver<Batch<Vec<SignedEvent>>>,
    done: mpsc::Sender<Outcome>,
) {
    let node = &node;
    let expected = Expected::default();
    let expected = &expected;
    let per_origin =
        usize::try_from(node.config().federation.gap_bytes_per_origin).unwrap_or(usize::MAX);
    let pending = std::sync::Mutex::new(Pending::new(per_origin));
    let pending = &pending;
    // One verified batch waits to be handed to ingest; handed-over batches wait to be
    // written and flushed while the next ones are verified and handed over.
    let (verified_tx, verified_rx) = mpsc::channel(1);
    let (queued_tx, queued_rx) = mpsc::channel(2);
    // All stages run on this task; the verification itself runs on a blocking thread.
    tokio::join!(
        stage(incoming, verified_tx, |events| verify(&peer, events)),
        stage(verified_rx, queued_tx, |events| store_batch(
            node, &peer, expected, pending, events
        )),
        stage(queued_rx, done, |written: Written| written.durable()),
    );
}

/// One pipeline stage: does `work` on each batch in order and passes the result on; a
/// batch that failed earlier is passed on as it is. Stops after a failure (the link
/// closes on it) or when either side goes away.
async fn stage<T, U, F, Fut>(
    mut input: mpsc::Receiver<Batch<T>>,
    output: mpsc::Sender<Batch<U>>,
    mut work: F,
) where
    F: FnMut(T) -> Fut,
    Fut: std::future::Future<Output = Result<U, LinkError>>,
{
    while let Some((batch, item)) = input.recv().await {
        let result = match item {
            Ok(item) => work(item).await,
            Err(e) => Err(e),
        };
        let failed = result.is_err();
        if output.send((batch, result)).await.is_err() || failed {
            break;
        }
    }
}

/// A batch handed to ingest, not yet known to be stored and durable.
struct Written {
    /// One per group of events handed to ingest.
    parts: Vec<crate::node::Durable>,
    /// Events were held behind a gap.
    gap: bool,
    /// Highest sequence number seen per origin.
    seen: HashMap<NodeId, u64>,
}

impl Written {
    /// Waits until everything written is durable; counts what was newly stored.
    async fn durable(self) -> Result<Received, LinkError> {
        let mut stored = 0;
        let mut forks = Vec::new();
        for part in self.parts {
            let outcomes = part
                .outcomes()
                .await
                .map_err(|e| LinkError::Store(e.to_string()))?;
            for outcome in outcomes {
                match outcome {
                    IngestOutcome::Stored { .. } => stored += 1,
                    IngestOutcome::Duplicate(_) => {}
                    IngestOutcome::OutOfOrder { id, expected } => {
                        // Another link stored something first; this one is retried on resend.
                        tracing::debug!(%id, expected, "event arrived out of order");
                    }
                    // Logged and recorded by ingest; a shared-log event is never refused
                    // unstored, and a fork is the origin's fault, not this link's.
                    IngestOutcome::Refused { .. } => {}
                    IngestOutcome::Forked { origin, seq, .. } => forks.push((origin, seq)),
                }
            }
        }
        Ok(Received {
            stored,
            gap: self.gap,
            seen: self.seen,
            forks,
        })
    }
}

/// Checks every signature of a batch at once. Any bad signature fails the whole batch.
async fn verify(peer: &NodeId, events: Vec<SignedEvent>) -> Result<Vec<VerifiedEvent>, LinkError> {
    let verified = tokio::task::spawn_blocking(move || verify_batch(events))
        .await
        .map_err(|e| LinkError::Store(e.to_string()))?;
    let mut good = Vec::with_capacity(verified.len());
    for result in verified {
        match result {
            Ok(event) => good.push(event),
            Err(e) => {
                tracing::warn!(%peer, error = %e, "refusing a batch with an invalid event");
                return Err(LinkError::BadSignature(e.to_string()));
            }
        }
    }
    Ok(good)
}

/// The next sequence number a link's pipeline expects from each origin: the store's head
/// when the origin was first seen, moved on by every event the pipeline has handed to
/// ingest since. Ingest stores requests in the order they were handed over, so the next
/// batch can be handed over before the previous one is written.
type Expected = std::sync::Mutex<HashMap<NodeId, u64>>;

/// Hands a verified batch of shared-log events to ingest, in order per origin, without
/// waiting for it to be written. An event that does not belong on the shared log fails the
/// whole batch (nothing stored).
/// Whether `origin`'s events on this link may be stored (see `introductions`), asking at
/// most once per batch and origin.
fn admitted(
    node: &Node,
    peer: &NodeId,
    origin: &NodeId,
    known: &mut HashMap<NodeId, bool>,
) -> Result<bool, LinkError> {
    if let Some(ok) = known.get(origin) {
        return Ok(*ok);
    }
    let ok = super::admit(node, peer, origin)?;
    known.insert(*origin, ok);
    Ok(ok)
}

async fn store_batch(
    node: &Node,
    peer: &NodeId,
    expected: &Expected,
    pending: &std::sync::Mutex<Pending>,
    good: Vec<VerifiedEvent>,
) -> Result<Written, LinkError> {
    let fed = node.federation();
    let mut admitted_now: HashMap<NodeId, bool> = HashMap::new();
    let mut seen: HashMap<NodeId, u64> = HashMap::new();
    let mut in_order = Vec::new();
    let mut gap = false;
    let mut runs = Vec::new();
    {
        let mut expected = expected.lock().unwrap_or_else(|p| p.into_inner());
        // The next sequence number of each origin this batch touches, written back to
        // `expected` at the end; and the origins whose head was read from the store (at
        // most once per batch: a read waits while ingest is writing).
        let mut next_of: Vec<(NodeId, u64)> = Vec::new();
        let mut asked = Vec::new();
        for event in good {
            let payload = event.payload();
            let Audience::Shared { seq } = payload.audience else {
                return Err(LinkError::Protocol(format!(
                    "event {} in a replication batch is not a shared-log event",
                    event.id()
                )));
            };
            let origin = payload.origin;
            let max = seen.entry(origin).or_insert(0);
            *max = (*max).max(seq);
            if fed.is_blocked(&origin) || !admitted(node, peer, &origin, &mut admitted_now)? {
                continue;
            }
            // This node's own events come back as duplicates, or, after a restore from a
            // backup, as the events it wrote after the backup: stored like any others.
            let slot = match next_of.iter().position(|(o, _)| *o == origin) {
                Some(i) => i,
                None => {
                    let next = match expected.get(&origin) {
                        Some(n) => *n,
                        None => {
                            asked.push(origin);
                            node.store().origin_head(&origin)? + 1
                        }
                    };
                    next_of.push((origin, next));
                    next_of.len() - 1
                }
            };
            let next = &mut next_of[slot].1;
            if seq > *next && !asked.contains(&origin) {
                // Ahead of what this link handed over: another link may have stored the
                // events between, so ask the store before calling it a gap.
                asked.push(origin);
                *next = (*next).max(node.store().origin_head(&origin)? + 1);
            }
            if seq == *next {
                *next += 1;
                in_order.push(event);
            } else if seq > *next {
                gap = true;
                let held = pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .hold(origin, seq, event);
                if !held {
                    tracing::info!(%origin, seq, "events ahead of a gap fill this link's share; dropped until sent again");
                }
            } else if node.store().local_seq_of(&event.id())?.is_none() {
                // Below `next` is stored or queued already; an event this node does not
                // hold with such a number may be a second event for it (a fork), which
                // ingest records. (A queued copy is stored first: ingest keeps order.)
                in_order.push(event);
            }
        }
        // Held events that now follow on.
        let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
        for (origin, mut next) in next_of {
            let run = pending.take_run(&origin, next);
            if !run.is_empty() && !fed.is_blocked(&origin) {
                next += run.len() as u64;
                runs.push(run);
            }
            expected.insert(origin, next);
        }
    }
    let mut parts = vec![queue(node, in_order).await?];
    for run in runs {
        parts.push(queue(node, run).await?);
    }
    Ok(Written { parts, gap, seen })
}

async fn queue(node: &Node, events: Vec<VerifiedEvent>) -> Result<crate::node::Durable, LinkError> {
    node.ingest()
        .remote_queued(events)
        .await
        .map_err(|e| LinkError::Store(e.to_string()))
}

/// Whether this node has anything to do with `peer` over directed events: something waits
/// to be delivered to it, or one of this node's members shares a conversation or a match
/// with one of its members. A directed-only link from any other node must open with an
/// event that concerns one of this node's members, or it is closed.
pub(crate) fn related(node: &Node, peer: &NodeId) -> Result<bool, LinkError> {
    if node.store().outbox_len(peer) > 0 {
        return Ok(true);
    }
    let Some(name) = node.store().origin_name(peer)? else {
        return Ok(false);
    };
    if node.store().shares_conversation_with(&name)? {
        return Ok(true);
    }
    Ok(node
        .store()
        .matches()?
        .iter()
        .any(|m| m.buddy.node_name() == name || m.mentor.node_name() == name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_protocol::{EventBody, EventPayload, NodeKeypair, References, Timestamp};

    fn event(key: &NodeKeypair, seq: u64, size: usize) -> VerifiedEvent {
        let payload = EventPayload {
            origin: key.node_id(),
            created_at: Timestamp(1),
            audience: Audience::Shared { seq },
            author: "@sam:far.test".parse().unwrap(),
            refs: References::default(),
            body: EventBody::Unknown {
                kind: 999,
                bytes: vec![0; size],
            },
        };
        VerifiedEvent::sign(payload, key).unwrap()
    }

    #[test]
    fn events_ahead_of_a_gap_are_bounded_per_origin_and_in_all() {
        let (a, b, c) = (
            NodeKeypair::from_seed(&[1; 32]),
            NodeKeypair::from_seed(&[2; 32]),
            NodeKeypair::from_seed(&[3; 32]),
        );
        let mut pending = Pending::new(25_000);
        // About 10 KB each: two fit an origin's share, a third does not.
        assert!(pending.hold(a.node_id(), 3, event(&a, 3, 10_000)));
        assert!(pending.hold(a.node_id(), 4, event(&a, 4, 10_000)));
        assert!(!pending.hold(a.node_id(), 5, event(&a, 5, 10_000)));
        // Another origin has its own share, until the link's total (twice a share) is full.
        assert!(pending.hold(b.node_id(), 3, event(&b, 3, 10_000)));
        assert!(pending.hold(b.node_id(), 4, event(&b, 4, 10_000)));
        assert!(!pending.hold(c.node_id(), 3, event(&c, 3, 10_000)));
        // Once the gap fills, the run is handed over and its bytes freed.
        assert_eq!(pending.take_run(&a.node_id(), 3).len(), 2);
        assert!(pending.hold(c.node_id(), 3, event(&c, 3, 10_000)));
    }
}
