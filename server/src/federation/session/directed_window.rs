//! The directed half of a link's session: directed events to the peer from its outbox,
//! sent within a window and forgotten in groups once acknowledged, and directed events
//! from the peer, throttled per author and per link and acknowledged once stored.

use std::sync::atomic::Ordering;
use std::time::Duration;

use kindred_protocol::peer::{ErrorCode, PeerFrame};
use kindred_protocol::{EventId, SignedEvent};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::super::LinkError;
use super::super::directed::{self, Stored};
use super::super::handshake::{refuse, send};
use super::super::wire::Wire;
use super::Session;

/// Directed events sent but not yet acknowledged, at most: enough to keep the receiver's
/// pipeline busy through one group write and flush (`directed::GROUP`) and the next.
const DIRECTED_WINDOW: usize = 512;
/// Acknowledged directed events are taken out of the outbox at most this often, or once
/// this many have been acknowledged: the removal is a durable write that shares the
/// node's write path with everything its members are sending, so a stream of
/// acknowledgements costs a few writes a second, not one per burst. A crash before the
/// removal only sends those events again (the peer acknowledges the duplicates).
pub(super) const FORGET_EVERY: Duration = Duration::from_millis(200);
pub(super) const FORGET_AT: usize = DIRECTED_WINDOW;
/// Directed events a link may have refused before it is closed (a node sending what
/// nobody here asked for).
const MAX_REFUSED_PER_LINK: u32 = 100;

impl Session<'_> {
    /// Sends directed events waiting in the peer's outbox, as many as the window allows
    /// (only what is on disk, see `DurableLog`); none to a blocked peer.
    pub(super) async fn fill_directed(&mut self, wire: &Wire) -> Result<(), LinkError> {
        if self.node.federation().is_blocked(&self.peer) {
            return Ok(());
        }
        while self.directed_in_flight.len() < DIRECTED_WINDOW {
            let room = DIRECTED_WINDOW - self.directed_in_flight.len();
            let durable = self.node.signals().durable.local_seq();
            let mut queued = self
                .node
                .store()
                .outbox(&self.peer, self.outbox_cursor, room)?;
            queued.retain(|(seq, _)| *seq <= durable);
            if queued.is_empty() {
                break;
            }
            for (seq, id) in queued {
                self.outbox_cursor = seq;
                match self.node.store().event(&id)? {
                    Some(event) => {
                        send(wire, &PeerFrame::Directed(event)).await?;
                        self.directed_in_flight.insert(id, seq);
                    }
                    None => self.node.store().outbox_delivered(&self.peer, seq)?,
                }
            }
        }
        Ok(())
    }

    /// The peer acknowledged directed event `id`: it leaves the window, and the outbox
    /// with the next group ([`Session::forget_delivered`]).
    pub(super) fn on_directed_ack(&mut self, id: &EventId) {
        self.last_directed = Instant::now();
        if let Some(seq) = self.directed_in_flight.remove(id) {
            self.delivered.push(seq);
            self.stats.events_sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A directed event for a member here. No member sends faster than members here may
    /// (their own node holds them to it); a node that does is slowed by not reading. On a
    /// link that concerns this node it goes to the directed pipeline (acknowledged from
    /// [`Session::on_directed_stored`]); otherwise it is stored here and now, so the first
    /// that concerns nobody here closes the link.
    pub(super) async fn on_directed(
        &mut self,
        wire: &Wire,
        event: SignedEvent,
        pipeline: &mpsc::Sender<SignedEvent>,
    ) -> Result<(), LinkError> {
        self.last_directed = Instant::now();
        self.wait_for(|s| s.limiter.try_take(&())).await;
        if let Ok(p) = kindred_protocol::EventPayload::from_bytes(event.payload_bytes()) {
            while !self.per_author.try_take(&p.author) || !self.per_link.try_take(&()) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        if self.related {
            return pipeline
                .send(event)
                .await
                .map_err(|_| LinkError::Store("the directed pipeline stopped".to_owned()));
        }
        let (id, result) = match directed::receive_one(self.node, &self.peer, event).await {
            Ok((id, outcome)) => (id, Ok(outcome)),
            Err(e) => (EventId::from_bytes([0; 32]), Err(e)),
        };
        self.on_directed_stored(wire, (id, result)).await
    }

    /// A directed event was stored (or refused) here: acknowledge it. A refused event is
    /// acknowledged too: sending it again would not change the answer, and it must not
    /// hold up the sender's later events. A link that keeps sending what is refused is
    /// closed.
    pub(super) async fn on_directed_stored(
        &mut self,
        wire: &Wire,
        (id, result): Stored,
    ) -> Result<(), LinkError> {
        match result {
            Ok(outcome) => {
                if outcome.refusal().is_some() {
                    self.refused_here += 1;
                    if self.directed_only && !self.related {
                        let why = "nothing your node sent concerns a member of this node";
                        refuse(wire, ErrorCode::UNKNOWN_PEER, why).await;
                        return Err(LinkError::Protocol(why.to_owned()));
                    }
                    if self.refused_here > MAX_REFUSED_PER_LINK {
                        let why = "too many refused events on this link";
                        refuse(wire, ErrorCode::RATE_LIMITED, why).await;
                        return Err(LinkError::Protocol(why.to_owned()));
                    }
                } else {
                    // Held events (waiting for a conversation) do not make a node related;
                    // they are bounded by its hold quota.
                    self.related |= matches!(
                        outcome,
                        crate::store::IngestOutcome::Stored {
                            verdict: crate::store::Verdict::Applied,
                            ..
                        }
                    );
                    self.stats.events_received.fetch_add(1, Ordering::Relaxed);
                }
                send(wire, &PeerFrame::DirectedAck(id)).await
            }
            Err(e @ (LinkError::BadSignature(_) | LinkError::Protocol(_))) => {
                tracing::warn!(peer = %self.peer, error = %e, "refusing a directed event");
                refuse(wire, ErrorCode::BAD_SIGNATURE, &e.to_string()).await;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the acknowledged directed events are due to be taken out of the outbox
    /// ([`FORGET_EVERY`], [`FORGET_AT`]).
    pub(super) fn forget_due(&self) -> bool {
        !self.delivered.is_empty()
            && (self.delivered.len() >= FORGET_AT || self.forgotten_at.elapsed() >= FORGET_EVERY)
    }

    /// Takes the directed events the peer acknowledged out of its outbox, in one write.
    pub(super) fn forget_delivered(&mut self) -> Result<(), LinkError> {
        self.forgotten_at = Instant::now();
        if !self.delivered.is_empty() {
            self.node
                .store()
                .outbox_delivered_many(&self.peer, &self.delivered)?;
            self.delivered.clear();
        }
        Ok(())
    }
}
