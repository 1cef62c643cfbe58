//! One link's life: handshake, pairing or peer check, registration (one link per peer),
//! then the session loop that replicates both ways until the link drops or is closed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Duration;

use kindred_protocol::peer::{ErrorCode, Hello, PeerFrame, Role};
use kindred_protocol::{EventId, NodeId, Timestamp};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::Instrument;

use super::handshake::{self, recv, refuse, send};
use super::have_vector::{forks_in, have_vector};
use super::wire::Wire;
use super::{LinkError, dial, replicate};
use crate::node::links::DuplicateLink;
use crate::node::{Node, RateLimiter};
use crate::store::PeerRecord;

/// Replication batches sent but not yet acknowledged, at most.
const BATCH_WINDOW: usize = 8;
/// Directed events sent but not yet acknowledged, at most.
const DIRECTED_WINDOW: usize = 32;
/// How often to ping an idle link.
const PING_EVERY: Duration = Duration::from_secs(20);
/// A link that has said nothing for this long is dead.
const DEAD_AFTER: Duration = Duration::from_secs(60);
/// A directed-only link with nothing to deliver closes after this long.
const DIRECTED_IDLE: Duration = Duration::from_secs(60);
/// Events per second accepted from one peer before reading slows down.
const EVENTS_PER_SECOND: u32 = 50_000;
/// Directed events a link may have refused before it is closed (a node sending what
/// nobody here asked for).
const MAX_REFUSED_PER_LINK: u32 = 100;

/// What the side that opened the link wants.
pub(crate) enum Intent {
    /// Accepting a connection.
    Accept,
    /// Reconnecting to a paired peer.
    Dial(NodeId),
    /// Delivering directed events to a node of the federation that is not paired with
    /// this one (known from its announcement); no shared-log exchange on such a link.
    DialDirected(NodeId),
    /// Redeeming a federation invite from `expected`.
    Redeem {
        /// The node the invite came from.
        expected: NodeId,
        /// The name the invite gave for it (its hello must say the same).
        name: kindred_protocol::NodeName,
        /// The invite secret.
        secret: [u8; 32],
        /// Where the inviting node is reached.
        address: String,
        /// Told the result of pairing.
        done: oneshot::Sender<Result<PeerRecord, LinkError>>,
    },
}

/// Handles an accepted websocket (inbound link).
pub(crate) async fn accept(node: Node, wire: Wire) {
    let Ok(permit) = node.federation().handshakes.clone().try_acquire_owned() else {
        refuse(
            &wire,
            ErrorCode::RATE_LIMITED,
            "too many handshakes in progress",
        )
        .await;
        return;
    };
    let shutdown = node.shutdown_signal();
    if shutdown.is_cancelled() {
        return;
    }
    // A link must not keep a stopping node alive (e.g. while waiting for a pairing frame).
    tokio::select! {
        result = run_with_permit(node, wire, Role::Responder, Intent::Accept, Some(permit)) => {
            if let Err(e) = result {
                tracing::info!(error = %e, "inbound link ended");
            }
        }
        _ = shutdown.cancelled() => tracing::debug!("inbound link cancelled: shutting down"),
    }
}

/// Runs a link from handshake to close.
pub(crate) async fn run(
    node: Node,
    wire: Wire,
    role: Role,
    intent: Intent,
) -> Result<(), LinkError> {
    run_with_permit(node, wire, role, intent, None).await
}

/// As [`run`], holding `permit` (a handshake slot) until the handshake is over.
async fn run_with_permit(
    node: Node,
    mut wire: Wire,
    role: Role,
    intent: Intent,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Result<(), LinkError> {
    let expected = match &intent {
        Intent::Accept => None,
        Intent::Dial(id) | Intent::DialDirected(id) => Some(*id),
        Intent::Redeem { expected, .. } => Some(*expected),
    };
    let theirs = match handshake::run(&node, &mut wire, role, expected).await {
        Ok(h) => h,
        Err(e) => {
            if let Intent::Redeem { done, .. } = intent {
                let _ = done.send(Err(e));
                return Ok(());
            }
            return Err(e);
        }
    };
    drop(permit);
    let offset = i64::try_from(theirs.time.as_millis()).unwrap_or(i64::MAX)
        - i64::try_from(node.now().as_millis()).unwrap_or(i64::MAX);
    *node
        .federation()
        .stats(&theirs.node_id)
        .clock_offset
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(offset);
    node.federation()
        .stats(&theirs.node_id)
        .protocol_version
        .store(
            theirs.protocol_version,
            std::sync::atomic::Ordering::Relaxed,
        );
    let far = offset.unsigned_abs() > node.config().federation.clock_warning_ms;
    if far {
        tracing::warn!(peer = %theirs.node_id, name = %theirs.node_name, offset_ms = offset, "a node's clock is far from this node's; one of them is wrong");
    }
    node.signals()
        .durable
        .set_skew(theirs.node_id, far.then_some(offset));
    let span = tracing::info_span!("link", peer = %theirs.node_id, name = %theirs.node_name);
    established(node, wire, role, intent, theirs)
        .instrument(span)
        .await
}

/// The rest of a link's life, once the peer's key is proven.
async fn established(
    node: Node,
    mut wire: Wire,
    role: Role,
    intent: Intent,
    theirs: Hello,
) -> Result<(), LinkError> {
    let peer = theirs.node_id;
    if node.federation().is_blocked(&peer) {
        tracing::warn!("refused a blocked node");
        refuse(&wire, ErrorCode::BLOCKED, "this node has blocked yours").await;
        return Err(LinkError::Blocked);
    }
    let mut directed_only = false;
    match intent {
        Intent::Accept | Intent::Dial(_) | Intent::DialDirected(_) => {
            if let Some(record) = node.store().peer(&peer)? {
                same_name(&wire, &theirs, &record.name).await?;
            } else if let Intent::DialDirected(_) = intent {
                directed_only = true;
                let bound = node.store().origin_name(&peer)?;
                same_name(&wire, &theirs, bound.as_deref().unwrap_or_default()).await?;
            } else if let Intent::Accept = intent {
                directed_only = accept_unpaired(&node, &mut wire, &theirs).await?;
            }
        }
        Intent::Redeem {
            secret,
            address,
            done,
            name,
            ..
        } => {
            let result = if theirs.node_name != name {
                Err(LinkError::Protocol(format!(
                    "the invite is from {name}, but the node there calls itself {}",
                    theirs.node_name
                )))
            } else {
                redeem_pairing(&node, &mut wire, &theirs, secret, address).await
            };
            let failed = result.as_ref().err().map(ToString::to_string);
            let _ = done.send(result);
            if let Some(e) = failed {
                return Err(LinkError::Protocol(e));
            }
        }
    }
    let initiator = match role {
        Role::Initiator => node.node_id(),
        Role::Responder => peer,
    };
    let now = Timestamp::now().as_millis();
    let (link_id, mut closed) = match node.federation().register(peer, initiator, now) {
        Ok(r) => r,
        Err(DuplicateLink) => {
            refuse(
                &wire,
                ErrorCode::INTERNAL,
                "a link to this node is already open",
            )
            .await;
            return Err(LinkError::Duplicate);
        }
    };
    tracing::info!(?role, directed_only, "link up");
    node.federation().stats(&peer).set_up(true);
    let result = session(&node, peer, &mut wire, &mut closed, directed_only).await;
    node.federation().unregister(&peer, link_id);
    let stats = node.federation().stats(&peer);
    if node.federation().connected(&peer).is_none() {
        stats.set_up(false);
    }
    *stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
        result.as_ref().err().map(ToString::to_string);
    match &result {
        Ok(()) => tracing::info!("link closed"),
        Err(e) => tracing::info!(error = %e, "link down"),
    }
    result
}

/// Refuses a node whose hello gives another name than the one it is known by here: a
/// node's name never changes, and no node can borrow another's.
async fn same_name(wire: &Wire, theirs: &Hello, known: &str) -> Result<(), LinkError> {
    if theirs.node_name.as_str() == known {
        return Ok(());
    }
    tracing::warn!(peer = %theirs.node_id, claimed = %theirs.node_name, known, "refused a node that calls itself by another name than it is known by");
    let why = format!(
        "this node knows yours as {known:?}, not {:?}",
        theirs.node_name.as_str()
    );
    refuse(wire, ErrorCode::HANDSHAKE_FAILED, &why).await;
    Err(LinkError::Protocol(why))
}

/// A node that is not paired: its first frame is either `Pair` (redeeming an invite), or
/// its have-vector on a directed-only link, which is accepted from nodes known through the
/// federation (their events or announcement reached this node through its peers). Returns
/// whether the link is directed-only.
async fn accept_unpaired(node: &Node, wire: &mut Wire, theirs: &Hello) -> Result<bool, LinkError> {
    let frame = tokio::time::timeout(Duration::from_secs(10), recv(wire)).await;
    let (secret, address) = match frame {
        Ok(Ok(PeerFrame::Pair { secret, address })) => (secret, address),
        Ok(Ok(PeerFrame::HaveVector(_)))
            if node.store().origin_name(&theirs.node_id)?.as_deref()
                == Some(theirs.node_name.as_str()) =>
        {
            tracing::info!(peer = %theirs.node_id, name = %theirs.node_name, "directed-only link from a node of the federation");
            return Ok(true);
        }
        _ => {
            tracing::warn!(peer = %theirs.node_id, name = %theirs.node_name, "refused an unpaired node");
            refuse(
                wire,
                ErrorCode::UNKNOWN_PEER,
                "this node is not paired with yours",
            )
            .await;
            return Err(LinkError::NotPaired);
        }
    };
    if let Err(why) = super::name_free_for(node, theirs.node_name.as_str(), &theirs.node_id) {
        tracing::warn!(peer = %theirs.node_id, name = %theirs.node_name, %why, "refused a pairing under a name that is taken");
        node.store().note_conflict(
            crate::store::ConflictKind::NameClaim,
            &theirs.node_id,
            format!(
                "tried to pair with one of this node's invites as {}: {why}",
                theirs.node_name
            ),
            node.now().as_millis(),
        )?;
        refuse(wire, ErrorCode::BAD_INVITE, &why).await;
        return Err(LinkError::NotPaired);
    }
    let hash = crate::node::hash_bytes(&secret);
    if !node
        .store()
        .use_peer_invite(&hash, &theirs.node_id, Timestamp::now().as_millis())?
    {
        tracing::warn!(peer = %theirs.node_id, "refused a pairing with an unknown, used or expired invite");
        refuse(
            wire,
            ErrorCode::BAD_INVITE,
            "that federation invite is unknown, used or expired",
        )
        .await;
        return Err(LinkError::NotPaired);
    }
    let record = PeerRecord {
        node_id: theirs.node_id,
        name: theirs.node_name.to_string(),
        address: (!address.is_empty()).then_some(address),
        added_at: node.now().as_millis(),
        failures: 0,
        next_attempt_at: 0,
        last_error: None,
        announced: None,
    };
    node.store().put_peer(&record)?;
    super::bind_first_hand(node, theirs)?;
    node.store().durable().await?;
    // What waited for the name, and conversations already started with its members
    // (perhaps sent to a node whose claim on the name was blocked), go to it now.
    super::settle_name(node, theirs.node_name.as_str()).await;
    send(wire, &PeerFrame::Paired).await?;
    tracing::info!(peer = %theirs.node_id, name = %theirs.node_name, "paired by invite");
    dial::ensure_dialer(node, theirs.node_id);
    Ok(false)
}

/// The redeeming side: present the secret, wait for `Paired`, record the peer.
async fn redeem_pairing(
    node: &Node,
    wire: &mut Wire,
    theirs: &Hello,
    secret: [u8; 32],
    address: String,
) -> Result<PeerRecord, LinkError> {
    let own_address = node.config().public_url();
    send(
        wire,
        &PeerFrame::Pair {
            secret,
            address: own_address,
        },
    )
    .await?;
    match tokio::time::timeout(Duration::from_secs(10), recv(wire)).await {
        Ok(Ok(PeerFrame::Paired)) => {}
        Ok(Err(e)) => return Err(e),
        Ok(Ok(_)) => {
            return Err(LinkError::Protocol(
                "expected the pairing answer".to_owned(),
            ));
        }
        Err(_) => return Err(LinkError::Timeout("the pairing answer")),
    }
    let record = PeerRecord {
        node_id: theirs.node_id,
        name: theirs.node_name.to_string(),
        address: Some(address),
        added_at: node.now().as_millis(),
        failures: 0,
        next_attempt_at: 0,
        last_error: None,
        announced: None,
    };
    node.store().put_peer(&record)?;
    super::bind_first_hand(node, theirs)?;
    node.store().durable().await?;
    // What waited for the name, and conversations already started with its members
    // (perhaps sent to a node whose claim on the name was blocked), go to it now.
    super::settle_name(node, theirs.node_name.as_str()).await;
    tracing::info!(peer = %theirs.node_id, name = %theirs.node_name, "paired");
    Ok(record)
}

/// Replicates both ways until the link drops or is closed.
async fn session(
    node: &Node,
    peer: NodeId,
    wire: &mut Wire,
    closed: &mut tokio::sync::watch::Receiver<bool>,
    directed_only: bool,
) -> Result<(), LinkError> {
    let fed = node.federation();
    let stats = fed.stats(&peer);
    let mut log_changed = node.signals().shared_log.subscribe();
    let mut outbox_changed = node.signals().outbox.subscribe();
    let limiter = RateLimiter::new(EVENTS_PER_SECOND, Duration::from_secs(1));
    // Directed events per author: twice what a member may send at their own node, so a
    // backlog flows at a steady pace and a flood is slowed to it.
    let per_author = RateLimiter::new(
        node.config().chat.messages_per_minute.saturating_mul(2),
        Duration::from_secs(60),
    );
    // And per link, whatever authors a node makes up: a few busy members' worth.
    let per_link = RateLimiter::new(
        node.config().chat.messages_per_minute.saturating_mul(8),
        Duration::from_secs(60),
    );

    // A directed-only link says it holds nothing, so no shared log flows on it.
    let ours = if directed_only {
        Vec::new()
    } else {
        have_vector(node)?
    };
    send(wire, &PeerFrame::HaveVector(ours)).await?;
    let mut last_directed = Instant::now();
    // Whether this node has anything to do with the peer over directed events; refused
    // directed events on this link.
    let mut related = !directed_only || replicate::related(node, &peer)?;
    let mut refused_here = 0u32;
    // What the peer holds, once it has told us.
    let mut theirs: Option<HashMap<NodeId, u64>> = None;
    // Batch number, event count, origin and last sequence number, oldest first.
    let mut batches_in_flight: VecDeque<(u64, usize, NodeId, u64)> = VecDeque::new();
    let mut next_batch = 1u64;
    let mut directed_in_flight: HashMap<EventId, u64> = HashMap::new();
    // Forks this link has already shown the peer (each once, or the two would trade
    // their copies for ever).
    let mut shown_forks: std::collections::HashSet<(NodeId, u64)> = Default::default();
    let mut outbox_cursor = 0u64;
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = Instant::now();
    // Received batches are verified and stored off this loop, in order; their outcomes
    // come back on `stored_batches` for acknowledging. The pipeline stops with the session.
    let (receiving, incoming) = tokio::sync::mpsc::channel(2 * BATCH_WINDOW);
    let (outcomes, mut stored_batches) = tokio::sync::mpsc::channel(2 * BATCH_WINDOW);
    let _pipeline = AbortOnDrop(node.tasks().spawn(replicate::receive_pipeline(
        node.clone(),
        peer,
        incoming,
        outcomes,
    )));

    loop {
        // Send what the window allows.
        if let Some(theirs) = theirs.as_mut() {
            while batches_in_flight.len() < BATCH_WINDOW {
                let Some(out) = replicate::next_batch(node, &peer, theirs)? else {
                    break;
                };
                let n = out.events.len();
                send(
                    wire,
                    &PeerFrame::EventBatch {
                        batch: next_batch,
                        events: out.events,
                    },
                )
                .await?;
                batches_in_flight.push_back((next_batch, n, out.origin, out.seq));
                next_batch += 1;
            }
        }
        if !fed.is_blocked(&peer) {
            while directed_in_flight.len() < DIRECTED_WINDOW {
                let room = DIRECTED_WINDOW - directed_in_flight.len();
                // Only what is on disk (see `DurableLog`).
                let durable = node.signals().durable.local_seq();
                let mut queued = node.store().outbox(&peer, outbox_cursor, room)?;
                queued.retain(|(seq, _)| *seq <= durable);
                if queued.is_empty() {
                    break;
                }
                for (seq, id) in queued {
                    outbox_cursor = seq;
                    match node.store().event(&id)? {
                        Some(event) => {
                            send(wire, &PeerFrame::Directed(event)).await?;
                            directed_in_flight.insert(id, seq);
                        }
                        None => node.store().outbox_delivered(&peer, seq)?,
                    }
                }
            }
        }

        tokio::select! {
            incoming = wire.rx.recv() => {
                let Some(incoming) = incoming else {
                    return Err(LinkError::Closed);
                };
                last_heard = Instant::now();
                let bytes = match incoming {
                    super::wire::Incoming::Frame(b) => b,
                    super::wire::Incoming::Invalid(why) => {
                        refuse(wire, ErrorCode::MALFORMED, why).await;
                        return Err(LinkError::Protocol(why.to_owned()));
                    }
                };
                let frame = match PeerFrame::decode(&bytes) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "malformed frame; disconnecting");
                        refuse(wire, ErrorCode::MALFORMED, &e.to_string()).await;
                        return Err(e.into());
                    }
                };
                match frame {
                    PeerFrame::HaveVector(_) if directed_only => {}
                    PeerFrame::EventBatch { .. } if directed_only => {
                        let what = "this link carries directed events only";
                        refuse(wire, ErrorCode::MALFORMED, what).await;
                        return Err(LinkError::Protocol(what.to_owned()));
                    }
                    PeerFrame::HaveVector(entries) => {
                        let mut map: HashMap<NodeId, u64> =
                            entries.iter().map(|e| (e.origin, e.seq)).collect();
                        // A different event at a number both hold: each side sends the
                        // other its signed copy (once), so a fork is recorded only on
                        // signed evidence, never on a peer's word.
                        let mut ask = Vec::new();
                        for (origin, seq) in forks_in(node, &peer, &entries)? {
                            if shown_forks.insert((origin, seq)) {
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
                        fed.own_log.report(peer, map.get(&node.node_id()).copied().unwrap_or(0));
                        *stats.heads.lock().unwrap_or_else(|p| p.into_inner()) = map.clone();
                        theirs = Some(map);
                    }
                    PeerFrame::EventBatch { batch, events } => {
                        // Throttle rather than drop: waiting here stops reading, which
                        // slows the peer down through the socket.
                        for _ in 0..events.len() {
                            while !limiter.try_take(&()) {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                        // Room for more than a peer's window, so a peer keeping to the
                        // protocol never makes this wait.
                        if receiving.send((batch, Ok(events))).await.is_err() {
                            return Err(LinkError::Store("the receiving pipeline stopped".to_owned()));
                        }
                    }
                    PeerFrame::BatchAck { batch } => match batches_in_flight.pop_front() {
                        Some((expected, n, origin, seq)) if expected == batch => {
                            stats.events_sent.fetch_add(n as u64, Ordering::Relaxed);
                            let mut heads = stats.heads.lock().unwrap_or_else(|p| p.into_inner());
                            let h = heads.entry(origin).or_insert(0);
                            *h = (*h).max(seq);
                        }
                        _ => return Err(LinkError::Protocol(format!("unexpected ack for batch {batch}"))),
                    },
                    PeerFrame::Directed(event) => {
                        last_directed = Instant::now();
                        while !limiter.try_take(&()) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        // No member sends faster than members here may (their own node
                        // holds them to it); a node that does is slowed by not reading.
                        if let Ok(p) = kindred_protocol::EventPayload::from_bytes(event.payload_bytes()) {
                            while !per_author.try_take(&p.author) || !per_link.try_take(&()) {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                        match replicate::receive_directed(node, &peer, event).await {
                            Ok((id, outcome)) => {
                                if outcome.refusal().is_some() {
                                    refused_here += 1;
                                    if directed_only && !related {
                                        let why = "nothing your node sent concerns a member of this node";
                                        refuse(wire, ErrorCode::UNKNOWN_PEER, why).await;
                                        return Err(LinkError::Protocol(why.to_owned()));
                                    }
                                    if refused_here > MAX_REFUSED_PER_LINK {
                                        let why = "too many refused events on this link";
                                        refuse(wire, ErrorCode::RATE_LIMITED, why).await;
                                        return Err(LinkError::Protocol(why.to_owned()));
                                    }
                                } else {
                                    // Held events (waiting for a conversation) do not make
                                    // a node related; they are bounded by its hold quota.
                                    related |= matches!(
                                        outcome,
                                        crate::store::IngestOutcome::Stored {
                                            verdict: crate::store::Verdict::Applied,
                                            ..
                                        }
                                    );
                                    stats.events_received.fetch_add(1, Ordering::Relaxed);
                                }
                                // A refused event is acknowledged too: sending it again
                                // would not change the answer, and it must not hold up
                                // the sender's later events.
                                send(wire, &PeerFrame::DirectedAck(id)).await?;
                            }
                            Err(e @ (LinkError::BadSignature(_) | LinkError::Protocol(_))) => {
                                tracing::warn!(%peer, error = %e, "refusing a directed event");
                                refuse(wire, ErrorCode::BAD_SIGNATURE, &e.to_string()).await;
                                return Err(e);
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    PeerFrame::DirectedAck(id) => {
                        last_directed = Instant::now();
                        if let Some(seq) = directed_in_flight.remove(&id) {
                            node.store().outbox_delivered(&peer, seq)?;
                            stats.events_sent.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    PeerFrame::Ping(v) => send(wire, &PeerFrame::Pong(v)).await?,
                    PeerFrame::Pong(_) => {}
                    PeerFrame::Error { code, message } => {
                        return Err(LinkError::Refused { code: code.0, message });
                    }
                    other => {
                        // The frame's name only: some frames carry secrets (an invite's).
                        let what = format!("unexpected {} frame after the handshake", other.name());
                        refuse(wire, ErrorCode::MALFORMED, &what).await;
                        return Err(LinkError::Protocol(what));
                    }
                }
            }
            Some((batch, result)) = stored_batches.recv() => {
                let received = match result {
                    Ok(r) => r,
                    Err(e @ (LinkError::BadSignature(_) | LinkError::Protocol(_))) => {
                        refuse(wire, ErrorCode::BAD_SIGNATURE, &e.to_string()).await;
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                };
                stats.events_received.fetch_add(received.stored, Ordering::Relaxed);
                {
                    let mut heads = stats.heads.lock().unwrap_or_else(|p| p.into_inner());
                    for (origin, seq) in &received.seen {
                        let h = heads.entry(*origin).or_insert(0);
                        *h = (*h).max(*seq);
                        if let Some(theirs) = theirs.as_mut() {
                            let t = theirs.entry(*origin).or_insert(0);
                            *t = (*t).max(*seq);
                        }
                    }
                }
                // A fork: send the peer this node's own copy of that number once, so it
                // sees the fork too (and each side's admin is told).
                if let Some(theirs) = theirs.as_mut() {
                    for (origin, seq) in &received.forks {
                        if shown_forks.insert((*origin, *seq)) {
                            let t = theirs.entry(*origin).or_insert(0);
                            *t = (*t).min(seq.saturating_sub(1));
                        }
                    }
                }
                send(wire, &PeerFrame::BatchAck { batch }).await?;
                if received.gap {
                    // Ask the peer to resend from what we actually hold.
                    send(wire, &PeerFrame::HaveVector(have_vector(node)?)).await?;
                }
            }
            _ = log_changed.changed() => {}
            _ = outbox_changed.changed() => {}
            _ = ping.tick() => {
                if last_heard.elapsed() > DEAD_AFTER {
                    return Err(LinkError::Timeout("any frame from the peer"));
                }
                if directed_only
                    && directed_in_flight.is_empty()
                    && last_directed.elapsed() > DIRECTED_IDLE
                    && node.store().outbox_len(&peer) == 0
                {
                    // Nothing more to deliver: the dialer opens a new link when needed.
                    return Ok(());
                }
                send(wire, &PeerFrame::Ping(Timestamp::now().as_millis())).await?;
            }
            _ = closed.changed() => {
                let reason = if fed.is_blocked(&peer) { "blocked" } else { "closing" };
                let code = if fed.is_blocked(&peer) { ErrorCode::BLOCKED } else { ErrorCode::INTERNAL };
                refuse(wire, code, reason).await;
                return if fed.is_blocked(&peer) { Err(LinkError::Blocked) } else { Ok(()) };
            }
        }
    }
}

/// Stops a task when the owner goes away (a link's receiving pipeline with its session).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
