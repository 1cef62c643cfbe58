//! Federation trees:
//!
//! - `peers`: node id (32) → [`PeerRecord`] (JSON): paired nodes, their address and the
//!   reconnect state (so backoff survives restarts).
//! - `peer_invites`: SHA-256 of the invite secret (32) → [`PeerInviteRecord`] (JSON).
//! - `blocked_nodes`: node id (32) → (): defederated nodes, paired or not.
//! - `outbox`: peer node id (32) ‖ local seq (u64 BE) → event id: directed events waiting
//!   for that peer's acknowledgement, in the order they were written (filled by ingest).
//! - `origin_names`: node id (32) → node name: the name each origin first used, so no node
//!   can post as another node's members; and `a` ‖ node id (33 bytes in all) →
//!   [`Announcement`] (JSON): where that node says it can be reached.

use kindred_protocol::{EventId, NodeId};
use serde::{Deserialize, Serialize};

use super::origin_log::decode_u64;
use super::{Store, StoreError, from_json, to_json};

/// A paired node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PeerRecord {
    /// Its key.
    pub(crate) node_id: NodeId,
    /// Its name.
    pub(crate) name: String,
    /// Its public address (http(s) URL), if it gave one.
    pub(crate) address: Option<String>,
    /// When paired (ms).
    pub(crate) added_at: u64,
    /// Failed connection attempts in a row (drives the backoff).
    pub(crate) failures: u32,
    /// Do not dial before this time (ms).
    pub(crate) next_attempt_at: u64,
    /// The last link error.
    pub(crate) last_error: Option<String>,
    /// The newest address it announced after the pairing (it moved), once followed.
    #[serde(default)]
    pub(crate) announced: Option<String>,
}

/// Where a node says it can be reached (from its announcement on the shared log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Announcement {
    /// Its name.
    pub(crate) name: String,
    /// Its public address.
    pub(crate) address: String,
    /// Its organisation.
    pub(crate) organisation: String,
    /// Effective time of the announcement (ms: its origin's, capped at arrival).
    pub(crate) updated_at: u64,
    /// The announcement (ties between two of the same millisecond go to the larger id).
    #[serde(default)]
    pub(crate) event: Option<kindred_protocol::EventId>,
}

pub(crate) fn announcement_key(node: &NodeId) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = b'a';
    key[1..].copy_from_slice(node.as_bytes());
    key
}

/// `origin_names` key of how many members' profiles `node` has stored here (u64 BE).
pub(crate) fn profile_count_key(node: &NodeId) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = b'p';
    key[1..].copy_from_slice(node.as_bytes());
    key
}

/// `origin_names` key of how many of those are listed in the people directory (u64 BE).
pub(crate) fn listed_count_key(node: &NodeId) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = b'l';
    key[1..].copy_from_slice(node.as_bytes());
    key
}

/// A federation invite this node issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PeerInviteRecord {
    /// The admin who made it.
    pub(crate) created_by: String,
    /// Made (ms).
    pub(crate) created_at: u64,
    /// Expires (ms).
    pub(crate) expires_at: u64,
    /// The node that used it.
    pub(crate) used_by: Option<NodeId>,
}

pub(crate) fn outbox_key(peer: &NodeId, local_seq: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(peer.as_bytes());
    key[32..].copy_from_slice(&local_seq.to_be_bytes());
    key
}

impl Store {
    /// Every paired node.
    pub(crate) fn peers(&self) -> Result<Vec<PeerRecord>, StoreError> {
        self.trees()
            .peers
            .iter()
            .map(|item| {
                let (_, v) = item?;
                from_json("peers", &v)
            })
            .collect()
    }

    /// One paired node.
    pub(crate) fn peer(&self, id: &NodeId) -> Result<Option<PeerRecord>, StoreError> {
        match self.trees().peers.get(id.as_bytes())? {
            None => Ok(None),
            Some(v) => from_json("peers", &v).map(Some),
        }
    }

    /// Forgets every pairing and what waited to be sent to paired nodes: after this node's
    /// key was rotated, no peer knows it any more, and each must pair with it again.
    /// Returns how many pairings were forgotten.
    pub(crate) fn forget_peers(&self) -> Result<usize, StoreError> {
        let peers = self.peers()?.len();
        self.writer().peers.clear()?;
        self.writer().outbox.clear()?;
        Ok(peers)
    }

    /// Adds a paired node (or replaces it, pairing again); changes go through
    /// [`Store::update_peer`].
    pub(crate) fn put_peer(&self, peer: &PeerRecord) -> Result<(), StoreError> {
        self.writer()
            .peers
            .insert(peer.node_id.as_bytes(), to_json("peers", peer)?)?;
        Ok(())
    }

    /// Changes a paired node's record with `change`, as one step (compare-and-swap): link
    /// state written as a link ends never re-creates a pairing removed meanwhile, nor
    /// undoes an address noted meanwhile. `None`, with nothing written, when the node is
    /// not paired (any more).
    ///
    /// Errors: the store's.
    pub(crate) fn update_peer<R>(
        &self,
        node: &NodeId,
        mut change: impl FnMut(&mut PeerRecord) -> R,
    ) -> Result<Option<R>, StoreError> {
        super::update_json(
            &self.writer().peers,
            "peers",
            node.as_bytes(),
            || None,
            |peer: &mut PeerRecord| Ok::<_, StoreError>(change(peer)),
        )
    }

    /// Stores a federation invite under its secret's hash.
    pub(crate) fn put_peer_invite(
        &self,
        hash: &[u8; 32],
        invite: &PeerInviteRecord,
    ) -> Result<(), StoreError> {
        self.writer()
            .peer_invites
            .insert(hash, to_json("peer_invites", invite)?)?;
        Ok(())
    }

    /// Marks an invite used by `node`, if it is valid now. Atomic: an invite pairs one node.
    pub(crate) fn use_peer_invite(
        &self,
        hash: &[u8; 32],
        node: &NodeId,
        now: u64,
    ) -> Result<bool, StoreError> {
        let tree = &self.writer().peer_invites;
        loop {
            let Some(current) = tree.get(hash)? else {
                return Ok(false);
            };
            let mut invite: PeerInviteRecord = from_json("peer_invites", &current)?;
            if invite.used_by.is_some() || invite.expires_at <= now {
                return Ok(false);
            }
            invite.used_by = Some(*node);
            let new = to_json("peer_invites", &invite)?;
            if tree
                .compare_and_swap(hash, Some(current), Some(new))?
                .is_ok()
            {
                return Ok(true);
            }
        }
    }

    /// Every blocked node.
    pub(crate) fn blocked_nodes(&self) -> Result<Vec<NodeId>, StoreError> {
        self.trees()
            .blocked_nodes
            .iter()
            .map(|item| {
                let (k, _) = item?;
                <[u8; 32]>::try_from(k.as_ref())
                    .map(NodeId::from_bytes)
                    .map_err(|e| StoreError::corrupt("blocked_nodes", e))
            })
            .collect()
    }

    /// Blocks or unblocks a node.
    pub(crate) fn set_blocked(&self, node: &NodeId, blocked: bool) -> Result<(), StoreError> {
        let tree = &self.writer().blocked_nodes;
        if blocked {
            tree.insert(node.as_bytes(), [])?;
        } else {
            tree.remove(node.as_bytes())?;
        }
        Ok(())
    }

    /// Directed events waiting for `peer`, oldest first, after `after` (a local seq).
    pub(crate) fn outbox(
        &self,
        peer: &NodeId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, EventId)>, StoreError> {
        let start = outbox_key(peer, after.saturating_add(1));
        let end = outbox_key(peer, u64::MAX);
        let mut out = Vec::new();
        for item in self.trees().outbox.range(start..=end).take(limit) {
            let (k, v) = item?;
            let seq = decode_u64("outbox", &k[32..])?;
            let id = <[u8; 32]>::try_from(v.as_ref())
                .map(EventId::from_bytes)
                .map_err(|e| StoreError::corrupt("outbox", e))?;
            out.push((seq, id));
        }
        Ok(out)
    }

    /// How many directed events wait for `peer`.
    pub(crate) fn outbox_len(&self, peer: &NodeId) -> usize {
        self.trees().outbox.scan_prefix(peer.as_bytes()).count()
    }

    /// When this node stored the oldest directed event still waiting for `peer` (ms), if any.
    pub(crate) fn outbox_oldest_received_at(
        &self,
        peer: &NodeId,
    ) -> Result<Option<u64>, StoreError> {
        let Some((seq, _)) = self.outbox(peer, 0, 1)?.into_iter().next() else {
            return Ok(None);
        };
        Ok(self.stored_at(seq)?.map(|e| e.meta.received_at))
    }

    /// Drops a delivered directed event from `peer`'s outbox.
    pub(crate) fn outbox_delivered(&self, peer: &NodeId, local_seq: u64) -> Result<(), StoreError> {
        self.writer().outbox.remove(outbox_key(peer, local_seq))?;
        Ok(())
    }

    /// Drops delivered directed events (by outbox number) from `peer`'s outbox, in one
    /// write.
    pub(crate) fn outbox_delivered_many(
        &self,
        peer: &NodeId,
        local_seqs: &[u64],
    ) -> Result<(), StoreError> {
        let t = self.writer();
        let result = self.transaction([&t.outbox], |[outbox]| {
            for seq in local_seqs {
                outbox.remove(outbox_key(peer, *seq))?;
            }
            Ok::<_, super::kv::TxError<StoreError>>(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(super::kv::TransactionError::Abort(e)) => Err(e),
            Err(super::kv::TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Where a node says it can be reached.
    pub(crate) fn announcement(&self, node: &NodeId) -> Result<Option<Announcement>, StoreError> {
        match self.trees().origin_names.get(announcement_key(node))? {
            None => Ok(None),
            Some(v) => from_json("origin_names", &v).map(Some),
        }
    }

    /// Nodes with directed events waiting.
    pub(crate) fn outbox_peers(&self) -> Result<Vec<NodeId>, StoreError> {
        let mut out: Vec<NodeId> = Vec::new();
        let mut from = [0u8; 40];
        loop {
            let Some((k, _)) = self.trees().outbox.range(from..).next().transpose()? else {
                return Ok(out);
            };
            let id = <[u8; 32]>::try_from(&k[..32])
                .map(NodeId::from_bytes)
                .map_err(|e| StoreError::corrupt("outbox", e))?;
            out.push(id);
            // Jump past this peer's entries.
            from = outbox_key(&id, u64::MAX);
            match from[..32].iter().rposition(|b| *b != 0xff) {
                Some(i) => {
                    from[i] += 1;
                    for b in &mut from[i + 1..] {
                        *b = 0;
                    }
                }
                None => return Ok(out),
            }
        }
    }

    /// The name an origin uses, if known.
    pub(crate) fn origin_name(&self, origin: &NodeId) -> Result<Option<String>, StoreError> {
        match self.trees().origin_names.get(origin.as_bytes())? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|e| StoreError::corrupt("origin_names", e)),
        }
    }

    /// Every origin with a shared log here, and how far this node holds it.
    pub(crate) fn heads(&self) -> Result<Vec<(NodeId, u64)>, StoreError> {
        self.trees()
            .origin_head
            .iter()
            .map(|item| {
                let (k, v) = item?;
                let id = <[u8; 32]>::try_from(k.as_ref())
                    .map(NodeId::from_bytes)
                    .map_err(|e| StoreError::corrupt("origin_head", e))?;
                Ok((id, decode_u64("origin_head", &v)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_key_layout_is_pinned() {
        let key = outbox_key(&NodeId::from_bytes([4; 32]), 0x0102);
        assert_eq!(&key[..32], &[4; 32]);
        assert_eq!(&key[32..], &[0, 0, 0, 0, 0, 0, 1, 2]);
    }
}
