//! A link's session once the handshake is done: replication both ways until the link
//! drops or is closed. [`Session`] holds what is in flight each way and what the peer holds,
//! and has one method per thing that can happen (a frame arrives, a received batch is
//! stored, the windows have room, the ping timer fires); [`run`] only waits for the next
//! thing and hands it over. The methods take a [`Wire`], so they are tested with two wires
//! back to back, without sockets.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kindred_protocol::peer::{ErrorCode, PeerFrame};
use kindred_protocol::{EventId, NodeId, SignedEvent, Timestamp};
use tokio::sync::mpsc;
use tokio::time::Instant;

mod directed_window;

use super::LinkError;
use super::directed;
use super::handshake::{refuse, send};
use super::have_vector::{forks_in, have_vector};
use super::replicate::{self, Received};
use super::wire::{Incoming, Wire};
use crate::node::links::PeerStats;
use crate::node::{Node, RateLimiter};
use directed_window::{FORGET_AT, FORGET_EVERY};

/// Replication batches sent but not yet acknowledged, at most.
const BATCH_WINDOW: usize = 8;
/// How often to ping an idle link.
const PING_EVERY: Duration = Duration::from_secs(20);
/// A link that has said nothing for this long is dead.
const DEAD_AFTER: Duration = Duration::from_secs(60);
/// A directed-only link with nothing to deliver closes after this long.
const DIRECTED_IDLE: Duration = Duration::from_secs(60);
/// Events per second accepted from one peer before reading slows down.
const EVENTS_PER_SECOND: u32 = 50_000;

/// What the session loop does after an event.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// Go on.
    Continue,
    /// End the link cleanly.
    End,
}

/// One link's replication state.
pub(super) struct Session<'a> {
    node: &'a Node,
    peer: NodeId,
    /// Only directed events flow (the peer is not paired, only a member's node).
    directed_only: bool,
    stats: Arc<PeerStats>,
    /// All events in, per second.
    limiter: RateLimiter<()>,
    /// Directed events in, per author.
    per_author: RateLimiter<kindred_protocol::MemberId>,
    /// Directed events in, per link, whatever authors a node makes up.
    per_link: RateLimiter<()>,
    /// Whether this node has anything to do with the peer over directed events.
    related: bool,
    /// Directed events refused on this link.
    refused_here: u32,
    /// What the peer holds, once it has told us.
    theirs: Option<HashMap<NodeId, u64>>,
    /// Batch number, event count, origin and last sequence number, oldest first.
    batches_in_flight: VecDeque<(u64, usize, NodeId, u64)>,
    next_batch: u64,
    /// Directed events sent and not acknowledged, with their outbox number.
    directed_in_flight: HashMap<EventId, u64>,
    /// Outbox numbers of directed events the peer acknowledged, not yet taken out of the
    /// outbox: taken out together ([`Session::forget_delivered`]), one write for many. If
    /// the link drops first they are sent again and the peer acknowledges its duplicates.
    delivered: Vec<u64>,
    /// When `delivered` was last taken out of the outbox.
    forgotten_at: Instant,
    /// Forks this link has already shown the peer (each once, or the two would trade
    /// their copies for ever).
    shown_forks: HashSet<(NodeId, u64)>,
    /// How far the outbox to the peer has been read.
    outbox_cursor: u64,
    last_heard: Instant,
    last_directed: Instant,
}

impl<'a> Session<'a> {
    /// A session with `peer`; `directed_only` for a node that is not paired.
    ///
    /// # Errors
    /// Storage errors reading whether the peer is related to this node.
    pub(super) fn new(
        node: &'a Node,
        peer: NodeId,
        directed_only: bool,
    ) -> Result<Self, LinkError> {
        let per_minute = node.config().chat.messages_per_minute;
        Ok(Session {
            node,
            peer,
            directed_only,
            stats: node.federation().stats(&peer),
            limiter: RateLimiter::new(EVENTS_PER_SECOND, Duration::from_secs(1)),
            // Twice what a member may send at their own node, so a backlog flows at a
            // steady pace and a flood is slowed to it.
            per_author: RateLimiter::new(per_minute.saturating_mul(2), Duration::from_secs(60)),
            // A few busy members' worth.
            per_link: RateLimiter::new(per_minute.saturating_mul(8), Duration::from_secs(60)),
            related: !directed_only || replicate::related(node, &peer)?,
            refused_here: 0,
            theirs: None,
            batches_in_flight: VecDeque::new(),
            next_batch: 1,
            directed_in_flight: HashMap::new(),
            delivered: Vec::new(),
            forgotten_at: Instant::now(),
            shown_forks: HashSet::new(),
            outbox_cursor: 0,
            last_heard: Instant::now(),
            last_directed: Instant::now(),
        })
    }

    /// Says what this node holds (nothing on a directed-only link, so no shared log flows
    /// on it).
    pub(super) async fn open(&mut self, wire: &Wire) -> Result<(), LinkError> {
        let ours = if self.directed_only {
            Vec::new()
        } else {
            have_vector(self.node)?
        };
        send(wire, &PeerFrame::HaveVector(ours)).await
    }

    /// Sends what the windows allow: batches of the shared log the peer lacks, and
    /// directed events waiting in its outbox (only what is on disk, see `DurableLog`).
    pub(super) async fn fill_windows(&mut self, wire: &Wire) -> Result<(), LinkError> {
        if let Some(theirs) = self.theirs.as_mut() {
            while self.batches_in_flight.len() < BATCH_WINDOW {
                let Some(out) = replicate::next_batch(self.node, &self.peer, theirs)? else {
                    break;
                };
                let n = out.events.len();
                let batch = self.next_batch;
                send(
                    wire,
                    &PeerFrame::EventBatch {
                        batch,
                        events: out.events,
                    },
                )
                .await?;
                self.batches_in_flight
                    .push_back((batch, n, out.origin, out.seq));
                self.next_batch += 1;
            }
        }
        self.fill_directed(wire).await
    }

    /// Something arrived from the peer. Batches go to the receiving pipeline
    /// (`pipes.batches`), directed events of a link that concerns this node to theirs
    /// (`pipes.directed`); everything else is handled here.
    pub(super) async fn on_incoming(
        &mut self,
        wire: &Wire,
        incoming: Incoming,
        pipes: &Pipes,
    ) -> Result<(), LinkError> {
        self.last_heard = Instant::now();
        let bytes = match incoming {
            Incoming::Frame(b) => b,
            Incoming::Invalid(why) => {
                refuse(wire, ErrorCode::MALFORMED, why).await;
                return Err(LinkError::Protocol(why.to_owned()));
            }
        };
        let frame = match PeerFrame::decode(&bytes) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "malformed frame; disconnecting");
                refuse(wire, ErrorCode::MALFORMED, &e.to_string()).await;
                return Err(e.into());
            }
        };
        match frame {
            PeerFrame::HaveVector(_) if self.directed_only => Ok(()),
            PeerFrame::EventBatch { .. } if self.directed_only => {
                let what = "this link carries directed events only";
                refuse(wire, ErrorCode::MALFORMED, what).await;
                Err(LinkError::Protocol(what.to_owned()))
            }
            PeerFrame::HaveVector(entries) => self.on_have_vector(wire, &entries).await,
            PeerFrame::EventBatch { batch, events } => {
                // Throttle rather than drop: waiting here stops reading, which slows the
                // peer down through the socket.
                for _ in 0..events.len() {
                    self.wait_for(|s| s.limiter.try_take(&())).await;
                }
                // Room for more than a peer's window, so a peer keeping to the protocol
                // never makes this wait.
                pipes
                    .batches
                    .send((batch, Ok(events)))
                    .await
                    .map_err(|_| LinkError::Store("the receiving pipeline stopped".to_owned()))
            }
            PeerFrame::BatchAck { batch } => self.on_batch_ack(batch),
            PeerFrame::Directed(event) => self.on_directed(wire, event, &pipes.directed).await,
            PeerFrame::DirectedAck(id) => {
                self.on_directed_ack(&id);
                Ok(())
            }
            PeerFrame::Ping(v) => send(wire, &PeerFrame::Pong(v)).await,
            PeerFrame::Pong(_) => Ok(()),
            PeerFrame::Error { code, message } => Err(LinkError::Refused {
                code: code.0,
                message,
            }),
            other => {
                // The frame's name only: some frames carry secrets (an invite's).
                let what = format!("unexpected {} frame after the handshake", other.name());
                refuse(wire, ErrorCode::MALFORMED, &what).await;
                Err(LinkError::Protocol(what))
            }
        }
    }

    /// Waits (20 ms at a time) until `take` succeeds: slowing down by not reading.
    async fn wait_for(&self, take: impl Fn(&Self) -> bool) {
        while !take(self) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the peer holds. A different event at a number both hold: each side sends the
    /// other its signed copy (once), so a fork is recorded only on signed evidence, never
    /// on a peer's word.
    async fn on_have_vector(
        &mut self,
        wire: &Wire,
        entries: &[kindred_protocol::peer::HaveEntry],
    ) -> Result<(), LinkError> {
        let node = self.node;
        let mut map: HashMap<NodeId, u64> = entries.iter().map(|e| (e.origin, e.seq)).collect();
        let mut ask = Vec::new();
        for (origin, seq) in forks_in(node, &self.peer, entries)? {
            if self.shown_forks.insert((origin, seq)) {
                map.insert(origin, seq - 1);
                ask.push((origin, seq - 1));
            }
        }
        if !ask.is_empty() {
            let mut ours = have_vector(node)?;
            for e in ours.iter_mut() {
                if let Some((_, below)) = ask.iter().find(|(o, _)| *o == e.origin) {
                    e.seq = *below;
                    e.head = match node.store().event_at(&e.origin, *below)? {
                        Some(ev) => ev.id(),
                        None => EventId::from_bytes([0; 32]),
                    };
                }
            }
            send(wire, &PeerFrame::HaveVector(ours)).await?;
        }
        // How far it holds this node's own log (a restored node catches up).
        node.federation()
            .own_log
            .report(self.peer, map.get(&node.node_id()).copied().unwrap_or(0));
        *self.stats.heads.lock().unwrap_or_else(|p| p.into_inner()) = map.clone();
        self.theirs = Some(map);
        Ok(())
    }

    /// The peer stored a batch: acknowledgements come in the order batches were sent.
    ///
    /// # Errors
    /// [`LinkError::Protocol`] for an acknowledgement of any other batch.
    pub(super) fn on_batch_ack(&mut self, batch: u64) -> Result<(), LinkError> {
        match self.batches_in_flight.pop_front() {
            Some((expected, n, origin, seq)) if expected == batch => {
                self.stats
                    .events_sent
                    .fetch_add(n as u64, Ordering::Relaxed);
                let mut heads = self.stats.heads.lock().unwrap_or_else(|p| p.into_inner());
                let h = heads.entry(origin).or_insert(0);
                *h = (*h).max(seq);
                Ok(())
            }
            _ => Err(LinkError::Protocol(format!(
                "unexpected ack for batch {batch}"
            ))),
        }
    }

    /// The receiving pipeline stored (or refused) batch `batch`: acknowledge it, note what
    /// the peer holds, show it a fork once, and ask again from what this node holds when
    /// the batch left a gap.
    pub(super) async fn on_stored(
        &mut self,
        wire: &Wire,
        batch: u64,
        result: Result<Received, LinkError>,
    ) -> Result<(), LinkError> {
        let received = match result {
            Ok(r) => r,
            Err(e @ (LinkError::BadSignature(_) | LinkError::Protocol(_))) => {
                refuse(wire, ErrorCode::BAD_SIGNATURE, &e.to_string()).await;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        self.stats
            .events_received
            .fetch_add(received.stored, Ordering::Relaxed);
        self.note_received(&received);
        send(wire, &PeerFrame::BatchAck { batch }).await?;
        if received.gap {
            send(wire, &PeerFrame::HaveVector(have_vector(self.node)?)).await?;
        }
        Ok(())
    }

    /// What a stored batch says the peer holds, and the forks it revealed: this node's own
    /// copy of each forked number is sent back once (by lowering what the peer is thought
    /// to hold below it), so the peer sees the fork too.
    fn note_received(&mut self, received: &Received) {
        let mut heads = self.stats.heads.lock().unwrap_or_else(|p| p.into_inner());
        for (origin, seq) in &received.seen {
            let h = heads.entry(*origin).or_insert(0);
            *h = (*h).max(*seq);
            if let Some(theirs) = self.theirs.as_mut() {
                let t = theirs.entry(*origin).or_insert(0);
                *t = (*t).max(*seq);
            }
        }
        drop(heads);
        if let Some(theirs) = self.theirs.as_mut() {
            for (origin, seq) in &received.forks {
                if self.shown_forks.insert((*origin, *seq)) {
                    let t = theirs.entry(*origin).or_insert(0);
                    *t = (*t).min(seq.saturating_sub(1));
                }
            }
        }
    }

    /// The ping timer: a silent peer is dead; an idle directed-only link ends (the dialer
    /// opens a new one when needed); otherwise a ping goes out.
    pub(super) async fn on_tick(&mut self, wire: &Wire) -> Result<Flow, LinkError> {
        if self.last_heard.elapsed() > DEAD_AFTER {
            return Err(LinkError::Timeout("any frame from the peer"));
        }
        if self.directed_only
            && self.directed_in_flight.is_empty()
            && self.last_directed.elapsed() > DIRECTED_IDLE
            && self.node.store().outbox_len(&self.peer) == 0
        {
            return Ok(Flow::End);
        }
        send(wire, &PeerFrame::Ping(Timestamp::now().as_millis())).await?;
        Ok(Flow::Continue)
    }

    /// The link was told to close: because the peer was blocked (it is told so), or
    /// because this node is stopping.
    pub(super) async fn on_close(&self, wire: &Wire) -> Result<(), LinkError> {
        let blocked = self.node.federation().is_blocked(&self.peer);
        let (code, reason) = if blocked {
            (ErrorCode::BLOCKED, "blocked")
        } else {
            (ErrorCode::INTERNAL, "closing")
        };
        refuse(wire, code, reason).await;
        if blocked {
            Err(LinkError::Blocked)
        } else {
            Ok(())
        }
    }
}

/// Replicates both ways until the link drops or is closed.
pub(super) async fn run(
    node: &Node,
    peer: NodeId,
    wire: &mut Wire,
    closed: &mut tokio::sync::watch::Receiver<bool>,
    directed_only: bool,
) -> Result<(), LinkError> {
    let mut session = Session::new(node, peer, directed_only)?;
    let mut log_changed = node.signals().shared_log.subscribe();
    let mut outbox_changed = node.signals().outbox.subscribe();
    session.open(wire).await?;
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut forget = tokio::time::interval(FORGET_EVERY);
    forget.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Received batches are verified and stored off this loop, in order; their outcomes
    // come back on `stored_batches` for acknowledging. The pipeline stops with the session.
    let (receiving, incoming) = mpsc::channel(2 * BATCH_WINDOW);
    let (outcomes, mut stored_batches) = mpsc::channel(2 * BATCH_WINDOW);
    let _pipeline = AbortOnDrop(node.tasks().spawn(replicate::receive_pipeline(
        node.clone(),
        peer,
        incoming,
        outcomes,
    )));
    // Directed events likewise, acknowledged as each group becomes durable.
    let (directed, directed_in) = mpsc::channel(2 * directed::GROUP);
    let (directed_out, mut stored_directed) = mpsc::channel(2 * directed::GROUP);
    let _directed = AbortOnDrop(node.tasks().spawn(directed::pipeline(
        node.clone(),
        peer,
        directed_in,
        directed_out,
    )));
    let pipes = Pipes {
        batches: receiving,
        directed,
    };
    let ended = async {
        loop {
            // Acknowledged deliveries are forgotten once they are due and nothing more is
            // waiting to be read (or too many wait), so a stream of acknowledgements costs
            // a few writes a second.
            if session.forget_due() && (wire.rx.is_empty() || session.delivered.len() >= FORGET_AT)
            {
                session.forget_delivered()?;
            }
            session.fill_windows(wire).await?;
            tokio::select! {
                incoming = wire.rx.recv() => {
                    let Some(incoming) = incoming else {
                        return Err(LinkError::Closed);
                    };
                    session.on_incoming(wire, incoming, &pipes).await?;
                }
                Some((batch, result)) = stored_batches.recv() => {
                    session.on_stored(wire, batch, result).await?;
                }
                Some(stored) = stored_directed.recv() => {
                    session.on_directed_stored(wire, stored).await?;
                }
                _ = log_changed.changed() => {}
                _ = outbox_changed.changed() => {}
                // Wakes the loop so acknowledged deliveries are forgotten when the link
                // is quiet.
                _ = forget.tick(), if !session.delivered.is_empty() => {}
                _ = ping.tick() => {
                    if session.on_tick(wire).await? == Flow::End {
                        return Ok(());
                    }
                }
                _ = closed.changed() => return session.on_close(wire).await,
            }
        }
    }
    .await;
    // However the link ended, what the peer acknowledged leaves the outbox (a blocked or
    // vanished peer would otherwise keep it there for ever).
    if let Err(e) = session.forget_delivered() {
        tracing::warn!(peer = %session.peer, error = %e, "acknowledged deliveries stay in the outbox; they are sent again");
    }
    ended
}

/// Where a session hands what it receives: replication batches and directed events.
pub(super) struct Pipes {
    pub(super) batches: mpsc::Sender<(u64, Result<Vec<SignedEvent>, LinkError>)>,
    pub(super) directed: mpsc::Sender<SignedEvent>,
}

/// Stops a task when the owner goes away (a link's receiving pipeline with its session).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests;
