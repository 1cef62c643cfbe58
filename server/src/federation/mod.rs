//! Federation: pairing with other organisations' nodes, one websocket link per peer,
//! replication of the shared log (catch-up by have-vectors, then live push, gossiped on to
//! other peers), directed delivery through per-peer outboxes, and defederation.
//!
//! - `wire`: the websocket as two channels of frames;
//! - `handshake`: the mutual key proof at the start of each link;
//! - `link`: one link's life: pairing, the session loop, statistics;
//! - `have_vector`: what this node holds of each log, and forks a peer's reveals;
//! - `replicate`: what to send a peer and how received events are ordered and stored;
//! - `dial`: reconnecting with capped exponential backoff and jitter;
//! - `address`: which addresses may be dialled;
//! - `invite`: federation invite tokens;
//! - `introductions`: which peer brought which node, and how many new ones a day;
//! - `own_log`: a restored node catches up with its own log before writing to it;
//! - `warnings`: what the admin is warned about (forks, name claims, clocks).

mod address;
mod dial;
mod directed;
mod endpoint;
mod handshake;
mod have_vector;
mod introductions;
mod invite;
mod link;
mod replicate;
mod session;
mod warnings;
pub(crate) mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use kindred_protocol::api::PeerView;
use kindred_protocol::{DecodeError, HandshakeError, NodeId, NodeName, Timestamp};
use thiserror::Error;

pub(crate) use endpoint::endpoint;
pub(crate) use introductions::{admit, blocked_with_introduced};
pub(crate) use invite::redeem;
pub(crate) use link::accept;

use crate::node::Node;
use crate::node::links::{Federation, PeerStats};
use crate::store::StoreError;

/// Why a link failed or ended.
#[derive(Debug, Error)]
pub(crate) enum LinkError {
    /// The connection closed.
    #[error("connection closed")]
    Closed,
    /// The peer did not answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The peer could not be reached.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// A frame could not be decoded.
    #[error("malformed frame")]
    Malformed(#[from] DecodeError),
    /// The peer broke the protocol.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The handshake failed.
    #[error("handshake failed")]
    Handshake(#[from] HandshakeError),
    /// The peer sent an error frame.
    #[error("the peer refused: {message} (code {code})")]
    Refused {
        /// The error code.
        code: u16,
        /// The peer's message.
        message: String,
    },
    /// The peer sent an event whose signature does not verify.
    #[error("the peer sent an event with a bad signature: {0}")]
    BadSignature(String),
    /// The peer is not paired with this node.
    #[error("not a paired node")]
    NotPaired,
    /// The peer is blocked.
    #[error("the node is blocked")]
    Blocked,
    /// Another link to the same peer won.
    #[error("another link to this peer is already open")]
    Duplicate,
    /// Storage failed.
    #[error("storage error: {0}")]
    Store(String),
}

impl From<StoreError> for LinkError {
    fn from(e: StoreError) -> Self {
        LinkError::Store(e.to_string())
    }
}

/// Whether `name` could be bound to `node` here: it is not this node's name, no other node
/// holds it, and `node` is not known by another name. `Err` says why not, for the admin.
pub(crate) fn name_free_for(node: &Node, name: &str, id: &NodeId) -> Result<(), String> {
    if name == node.config().node.name.as_str() {
        return Err(format!("{name} is this node's own name"));
    }
    let store = node.store();
    match store.binding(name) {
        // The first binding wins, whether first-hand or by announcement: a pairing never
        // takes a name from a node this one knows, however the redeemer names itself.
        // Only the admin's block of the holder (an impostor, or an organisation's node
        // whose key was lost) frees it.
        Ok(Some((holder, _))) if holder != *id && !node.federation().is_blocked(&holder) => {
            return Err(format!(
                "the name {name} belongs to another node here ({holder}); if that node is an impostor, or the organisation lost its node's key, block it first (Peers page, or kindred-cli peers block {name})"
            ));
        }
        Err(e) => return Err(format!("cannot check the name: {e}")),
        _ => {}
    }
    match store.origin_name(id) {
        Ok(Some(known)) if known != name => Err(format!(
            "this node is known here as {known}, and a node's name never changes"
        )),
        Err(e) => Err(format!("cannot check the name: {e}")),
        _ => Ok(()),
    }
}

/// Binds a newly paired node's name to it (first-hand: it proved its key in the handshake
/// and its name matched), after [`name_free_for`] said it may, taking it from a blocked
/// node. True when it took the name from another
/// node (what waited for the name must then be decided again: [`settle_name`]).
fn bind_first_hand(node: &Node, theirs: &kindred_protocol::peer::Hello) -> Result<bool, LinkError> {
    let name = theirs.node_name.as_str();
    match node.store().bind_name(name, &theirs.node_id)? {
        crate::store::Binding::Bound => Ok(false),
        crate::store::Binding::NameTaken(holder) => {
            tracing::warn!(%name, from = %holder, to = %theirs.node_id, "a pairing takes a node name from a blocked node");
            node.store().rebind_name(name, &theirs.node_id)?;
            Ok(true)
        }
        other => Err(LinkError::Protocol(format!(
            "the name {name} cannot be bound to this node: {other:?}"
        ))),
    }
}

/// Decides again whatever waited for `name` now that its binding changed, and sends this
/// node's conversations with its members to the node that has it now.
async fn settle_name(node: &Node, name: &str) {
    let waiting = vec![crate::rules::Awaiting::Name(name.to_owned())];
    if let Err(e) = node.ingest().release(waiting).await {
        tracing::error!(%name, error = %e, "cannot decide again what waited for a node name");
    }
    if node.store().bound_node(name).ok().flatten().is_some()
        && let Err(e) = node.reannounce_conversations(name).await
    {
        tracing::error!(%name, error = %e, "cannot send conversations again");
    }
}

impl Node {
    /// Starts a dialer for every paired peer (at start-up).
    pub(crate) fn start_federation(&self) -> Result<(), StoreError> {
        for peer in self.store().peers()? {
            dial::ensure_dialer(self, peer.node_id);
        }
        self.tasks().spawn(dial::watch_outboxes(self.clone()));
        self.tasks()
            .spawn(crate::node::links::run_own_log(self.clone()));
        Ok(())
    }

    /// Blocks (defederates) a node at once: its link drops, its events are refused and
    /// hidden, directed messages to it stop. Survives restarts.
    pub(crate) async fn block_node(&self, node: NodeId) -> Result<(), StoreError> {
        self.store().set_blocked(&node, true)?;
        self.store().durable().await?;
        // What it introduced goes with it.
        let blocked = blocked_with_introduced(self)?;
        self.federation().set_blocked(blocked);
        self.federation().close_link(&node);
        self.federation().bump();
        // A name it held only by its own announcement is free again: a node that claimed
        // it too (held until now) may have it.
        if let Some(name) = self.store().origin_name(&node)?
            && self.store().binding(&name)? == Some((node, false))
        {
            self.store().unbind_name(&name)?;
            self.store().durable().await?;
            tracing::warn!(%node, %name, "a blocked node's name, held only by its announcement, is free again");
            settle_name(self, &name).await;
        }
        tracing::warn!(%node, "node blocked");
        Ok(())
    }

    /// Lifts a block.
    pub(crate) async fn unblock_node(&self, node: NodeId) -> Result<(), StoreError> {
        self.store().set_blocked(&node, false)?;
        self.store().durable().await?;
        let blocked = blocked_with_introduced(self)?;
        self.federation().set_blocked(blocked);
        self.federation().bump();
        if self.store().peer(&node)?.is_some() {
            dial::ensure_dialer(self, node);
        }
        // A name its block freed comes back to it if nobody has taken it meanwhile; if
        // another node has, the admin is told (messages for that name go to the other).
        if self.store().origin_name(&node)?.is_none()
            && let Some(a) = self.store().announcement(&node)?
        {
            match self.store().binding(&a.name)? {
                None => {
                    self.store().bind_announced(&a.name, &node)?;
                    self.store().durable().await?;
                    settle_name(self, &a.name).await;
                }
                Some((holder, _)) if holder != node => {
                    let name = a.name;
                    tracing::warn!(%node, %holder, name, "an unblocked node's name is held by another node");
                    self.store().note_conflict(
                        crate::store::ConflictKind::NameClaim,
                        &node,
                        format!(
                            "was unblocked, but its name {name} now belongs here to another node ({holder}), so messages for @…:{name} go to that node. If {holder} is not the real {name}, block {holder} first"
                        ),
                        self.now().as_millis(),
                    )?;
                    self.store().durable().await?;
                }
                Some(_) => {}
            }
        }
        tracing::info!(%node, "node unblocked");
        Ok(())
    }

    /// An admin blocks a node (not this one).
    pub(crate) async fn admin_block(
        &self,
        auth: &crate::node::Auth,
        node: NodeId,
    ) -> Result<(), crate::node::AppError> {
        auth.require(kindred_protocol::api::Role::Admin)?;
        if node == self.node_id() {
            return Err(crate::node::AppError::bad_request(
                "A node cannot block itself.",
            ));
        }
        self.block_node(node).await?;
        tracing::warn!(by = %auth.member_id, %node, "node blocked by admin");
        Ok(())
    }

    /// An admin lifts a block.
    pub(crate) async fn admin_unblock(
        &self,
        auth: &crate::node::Auth,
        node: NodeId,
    ) -> Result<(), crate::node::AppError> {
        auth.require(kindred_protocol::api::Role::Admin)?;
        self.unblock_node(node).await?;
        tracing::info!(by = %auth.member_id, %node, "node unblocked by admin");
        Ok(())
    }

    /// Every node blocked here.
    pub(crate) fn blocked_nodes(&self) -> Result<Vec<NodeId>, StoreError> {
        self.store().blocked_nodes()
    }

    /// Every paired or blocked node with its link state.
    pub(crate) fn peer_views(&self) -> Result<Vec<PeerView>, StoreError> {
        let fed = self.federation();
        let heads: HashMap<NodeId, u64> = self.signals().durable.heads().into_iter().collect();
        let mut views = Vec::new();
        let mut seen = HashSet::new();
        for peer in self.store().peers()? {
            seen.insert(peer.node_id);
            let stats = fed.stats(&peer.node_id);
            let (we_lack, they_lack) = lag(&heads, &stats, fed);
            let since = fed.connected(&peer.node_id);
            views.push(PeerView {
                node_id: peer.node_id,
                name: NodeName::new(peer.name.clone())
                    .unwrap_or_else(|_| self.config().node.name.clone()),
                address: dial::current_address(self, &peer),
                paired: true,
                blocked: fed.is_blocked(&peer.node_id),
                connected: since.is_some(),
                connected_since: since.map(Timestamp),
                last_error: stats
                    .last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone()
                    .or(peer.last_error.clone()),
                events_sent: stats.events_sent.load(Ordering::Relaxed),
                events_received: stats.events_received.load(Ordering::Relaxed),
                we_lack,
                they_lack,
                outbox: self.store().outbox_len(&peer.node_id) as u64,
                added_at: Some(Timestamp(peer.added_at)),
                refused: self.signals().durable.refused(&peer.node_id),
                clock_offset_ms: *stats.clock_offset.lock().unwrap_or_else(|p| p.into_inner()),
                protocol_version: match stats.protocol_version.load(Ordering::Relaxed) {
                    0 => None,
                    v => Some(v),
                },
                organisation: self
                    .store()
                    .announcement(&peer.node_id)?
                    .map(|a| a.organisation)
                    .filter(|o| !o.trim().is_empty()),
                down_since: (*stats.down_since.lock().unwrap_or_else(|p| p.into_inner()))
                    .filter(|_| since.is_none())
                    .map(Timestamp),
                decisions: self.decisions_from(&peer.node_id)?,
            });
        }
        for node in self.store().blocked_nodes()? {
            if seen.contains(&node) {
                continue;
            }
            // The name it is bound to, or the one it announced (a block frees a name held
            // only by announcement).
            let name = match self.store().origin_name(&node)? {
                Some(n) => Some(n),
                None => self.store().announcement(&node)?.map(|a| a.name),
            };
            let Some(name) = name
                .and_then(|n| NodeName::new(n).ok())
                .or_else(|| NodeName::new("unknown.node").ok())
            else {
                continue;
            };
            views.push(PeerView {
                node_id: node,
                name,
                address: None,
                paired: false,
                blocked: true,
                connected: false,
                connected_since: None,
                last_error: None,
                events_sent: 0,
                events_received: 0,
                we_lack: 0,
                they_lack: 0,
                outbox: 0,
                added_at: None,
                refused: self.signals().durable.refused(&node),
                clock_offset_ms: None,
                protocol_version: None,
                organisation: self
                    .store()
                    .announcement(&node)?
                    .map(|a| a.organisation)
                    .filter(|o| !o.trim().is_empty()),
                down_since: None,
                decisions: self.decisions_from(&node)?,
            });
        }
        Ok(views)
    }
}

/// How far apart this node and a peer are: (events it has that we lack, and the reverse).
fn lag(ours: &HashMap<NodeId, u64>, stats: &PeerStats, fed: &Federation) -> (u64, u64) {
    let theirs = stats.heads.lock().unwrap_or_else(|p| p.into_inner());
    let mut we_lack = 0;
    let mut they_lack = 0;
    for (origin, their_head) in theirs.iter() {
        if !fed.is_blocked(origin) {
            we_lack += their_head.saturating_sub(*ours.get(origin).unwrap_or(&0));
        }
    }
    for (origin, our_head) in ours {
        if !fed.is_blocked(origin) {
            they_lack += our_head.saturating_sub(*theirs.get(origin).unwrap_or(&0));
        }
    }
    (we_lack, they_lack)
}
