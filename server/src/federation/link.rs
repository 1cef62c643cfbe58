//! One link's life: handshake, pairing or peer check, registration (one link per peer),
//! then the session (`session.rs`) that replicates both ways until the link drops or is
//! closed.

use std::time::Duration;

use kindred_protocol::peer::{ErrorCode, Hello, PeerFrame, Role};
use kindred_protocol::{NodeId, Timestamp};
use tokio::sync::oneshot;
use tracing::Instrument;

use super::handshake::{self, recv, refuse, send};
use super::wire::Wire;
use super::{LinkError, dial};
use crate::node::Node;
use crate::node::links::DuplicateLink;
use crate::store::PeerRecord;

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
    let result = super::session::run(&node, peer, &mut wire, &mut closed, directed_only).await;
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
