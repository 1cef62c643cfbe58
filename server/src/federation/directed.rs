//! Receiving directed events (chat messages, mentoring requests: events for members of
//! this node only). A link that already concerns this node hands them to [`pipeline`],
//! which checks the signatures of whatever has arrived at once and hands it to ingest as
//! one group (one write, one flush), while the next group is being checked: directed
//! delivery then moves at the rate of local writes, not one flush per event. A link that
//! does not concern this node yet takes them one at a time ([`receive_one`]), so that the
//! first event that concerns nobody here closes it before anything more is stored.

use kindred_protocol::event::verify_batch;
use kindred_protocol::{Audience, EventId, NodeId, SignedEvent, VerifiedEvent};
use tokio::sync::mpsc;

use super::LinkError;
use crate::node::{Durable, Node};
use crate::store::IngestOutcome;

/// Directed events checked and handed to ingest together, at most.
pub(super) const GROUP: usize = 256;

/// What became of one directed event, for the session to acknowledge.
pub(super) type Stored = (EventId, Result<IngestOutcome, LinkError>);

/// Checks what a directed event claims: that `peer` wrote it (directed events are never
/// relayed) and that it is addressed to this node.
fn check(node: &Node, peer: &NodeId, event: &VerifiedEvent) -> Result<(), LinkError> {
    let payload = event.payload();
    if payload.origin != *peer {
        return Err(LinkError::Protocol(format!(
            "directed event {} relayed by a node that did not write it",
            event.id()
        )));
    }
    let Audience::Directed { recipients } = &payload.audience else {
        return Err(LinkError::Protocol("not a directed event".to_owned()));
    };
    if !recipients.contains(&node.node_id()) {
        return Err(LinkError::Protocol(format!(
            "directed event {} is not addressed to this node",
            event.id()
        )));
    }
    Ok(())
}

/// Verifies and stores one directed event from `peer`, waiting until it is durable;
/// returns its id for the ack and what ingest made of it.
pub(super) async fn receive_one(
    node: &Node,
    peer: &NodeId,
    event: SignedEvent,
) -> Result<(EventId, IngestOutcome), LinkError> {
    let verified = tokio::task::spawn_blocking(move || event.verify())
        .await
        .map_err(|e| LinkError::Store(e.to_string()))?
        .map_err(|e| LinkError::BadSignature(e.to_string()))?;
    check(node, peer, &verified)?;
    let id = verified.id();
    let outcome = node
        .ingest()
        .remote(vec![verified])
        .await
        .map_err(|e| LinkError::Store(e.to_string()))?
        .pop()
        .ok_or_else(|| LinkError::Store("no outcome for a stored event".to_owned()))?;
    Ok((id, outcome))
}

/// Verifies and stores the directed events a link receives, in arrival order: each group
/// (what has arrived, up to [`GROUP`]) is checked on a blocking thread and handed to ingest
/// without waiting, and its outcomes are sent on `done` once durable. A group with a bad
/// signature or a false claim is not stored: the failure is sent for the offending event
/// and the pipeline ends (the link closes on it; the sender sends the rest again).
pub(super) async fn pipeline(
    node: Node,
    peer: NodeId,
    mut incoming: mpsc::Receiver<SignedEvent>,
    done: mpsc::Sender<Stored>,
) {
    // Groups handed to ingest wait here to become durable while the next are checked.
    let (queued_tx, mut queued_rx) = mpsc::channel::<(Vec<EventId>, Durable)>(2);
    let hand_over = async {
        while let Some(first) = incoming.recv().await {
            let mut group = vec![first];
            while group.len() < GROUP
                && let Ok(next) = incoming.try_recv()
            {
                group.push(next);
            }
            match check_group(&node, &peer, group).await {
                Ok(good) => {
                    let ids = good.iter().map(VerifiedEvent::id).collect();
                    let durable = match node.ingest().remote_queued(good).await {
                        Ok(d) => d,
                        Err(e) => {
                            let _ = done
                                .send((
                                    EventId::from_bytes([0; 32]),
                                    Err(LinkError::Store(e.to_string())),
                                ))
                                .await;
                            return;
                        }
                    };
                    if queued_tx.send((ids, durable)).await.is_err() {
                        return;
                    }
                }
                Err(failed) => {
                    let _ = done.send(failed).await;
                    return;
                }
            }
        }
    };
    let report = async {
        while let Some((ids, durable)) = queued_rx.recv().await {
            match durable.outcomes().await {
                Ok(outcomes) => {
                    for (id, outcome) in ids.into_iter().zip(outcomes) {
                        if done.send((id, Ok(outcome))).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    let id = ids.first().copied().unwrap_or(EventId::from_bytes([0; 32]));
                    let _ = done.send((id, Err(LinkError::Store(e.to_string())))).await;
                    return;
                }
            }
        }
    };
    tokio::join!(hand_over, report);
}

/// Verifies a group's signatures at once and checks each event's claims; the first
/// failure fails the group.
async fn check_group(
    node: &Node,
    peer: &NodeId,
    group: Vec<SignedEvent>,
) -> Result<Vec<VerifiedEvent>, Stored> {
    let ids: Vec<EventId> = group.iter().map(SignedEvent::id).collect();
    let verified = tokio::task::spawn_blocking(move || verify_batch(group))
        .await
        .map_err(|e| (ids[0], Err(LinkError::Store(e.to_string()))))?;
    let mut good = Vec::with_capacity(verified.len());
    for (id, result) in ids.iter().zip(verified) {
        let event = result.map_err(|e| (*id, Err(LinkError::BadSignature(e.to_string()))))?;
        check(node, peer, &event).map_err(|e| (*id, Err(e)))?;
        good.push(event);
    }
    Ok(good)
}
