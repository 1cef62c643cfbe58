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
mod handshake;
mod have_vector;
mod introductions;
mod invite;
mod link;
pub(crate) mod own_log;
mod replicate;
mod warnings;
pub(crate) mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use kindred_protocol::api::PeerView;
use kindred_protocol::{DecodeError, HandshakeError, NodeId, NodeName, Timestamp};
use thiserror::Error;
use tokio::sync::{Semaphore, watch};

pub(crate) use address::is_public;
pub(crate) use introductions::{admit, blocked_with_introduced};
pub(crate) use invite::redeem;
pub(crate) use link::accept;

use crate::node::Node;
use crate::store::StoreError;

/// Two links between the same nodes opened within this long of each other (ms) were
/// dialled at the same time from both ends; see `Federation::register`.
const SIMULTANEOUS_MS: u64 = 10_000;

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
    dialing: Mutex<HashSet<NodeId>>,
    /// Bumped whenever links open or close or peers change, to wake dialers.
    changes: watch::Sender<u64>,
    /// Limits handshakes in progress (a flood of connections cannot pile up).
    handshakes: Arc<Semaphore>,
    /// Next link id.
    next_link: AtomicU64,
    /// Whether this node has caught up with its own log (shared-log writes wait for it).
    pub(crate) own_log: own_log::OwnLog,
    /// New origins each peer introduced today.
    pub(crate) introductions: introductions::Introductions,
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
            own_log: own_log::OwnLog::new(),
            introductions: introductions::Introductions::default(),
        }
    }

    /// Whether events from (and links with) `node` are refused.
    pub(crate) fn is_blocked(&self, node: &NodeId) -> bool {
        self.blocked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(node)
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

    fn connected(&self, peer: &NodeId) -> Option<u64> {
        self.links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(peer)
            .map(|l| l.since)
    }

    fn bump(&self) {
        self.changes.send_modify(|v| *v += 1);
    }

    /// Registers a link. Two links opened at about the same time (both ends dialled) are
    /// settled by keeping the one opened by the node with the smaller id (both ends decide
    /// the same way). A new link from a peer whose link here has been up for longer than
    /// that replaces it: the peer dialled because its side is gone (it crashed, froze or
    /// was restored from a backup), and the old link would otherwise shut it out until it
    /// timed out.
    fn register(
        &self,
        peer: NodeId,
        initiator: NodeId,
        now_ms: u64,
    ) -> Result<(u64, watch::Receiver<bool>), LinkError> {
        let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = links.get(&peer)
            && existing.initiator != initiator
            && existing.initiator < initiator
            && now_ms.saturating_sub(existing.since) < SIMULTANEOUS_MS
        {
            return Err(LinkError::Duplicate);
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

    fn unregister(&self, peer: &NodeId, id: u64) {
        let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        if links.get(peer).is_some_and(|l| l.id == id) {
            links.remove(peer);
        }
        drop(links);
        self.bump();
    }

    fn close_link(&self, peer: &NodeId) {
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
        tokio::spawn(dial::watch_outboxes(self.clone()));
        tokio::spawn(own_log::run(self.clone()));
        Ok(())
    }

    /// Blocks (defederates) a node at once: its link drops, its events are refused and
    /// hidden, directed messages to it stop. Survives restarts.
    pub(crate) async fn block_node(&self, node: NodeId) -> Result<(), StoreError> {
        self.store().set_blocked(&node, true)?;
        self.store().durable().await?;
        // What it introduced goes with it.
        let blocked = blocked_with_introduced(self)?;
        *self
            .federation()
            .blocked
            .write()
            .unwrap_or_else(|p| p.into_inner()) = blocked;
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
        *self
            .federation()
            .blocked
            .write()
            .unwrap_or_else(|p| p.into_inner()) = blocked;
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
    ) -> Result<(), crate::error::AppError> {
        auth.require(kindred_protocol::api::Role::Admin)?;
        if node == self.node_id() {
            return Err(crate::error::AppError::bad_request(
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
    ) -> Result<(), crate::error::AppError> {
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
        assert!(matches!(
            fed.register(big, big, 1_500),
            Err(LinkError::Duplicate)
        ));
        assert_eq!(fed.links.lock().unwrap()[&big].id, first);
        // Long after, the peer dials again: its side of the old link is gone (a crash, a
        // freeze, a restore), so the new link replaces the old one.
        let (second, _) = fed.register(big, big, 1_000 + SIMULTANEOUS_MS + 1).unwrap();
        assert_ne!(second, first);
        assert_eq!(fed.links.lock().unwrap()[&big].id, second);
    }
}
