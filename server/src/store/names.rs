//! `node_names`: node name (text) → node id (32): the one node each name is bound to.
//! `origin_names` holds the other direction (node id → name). Both are written together:
//! at first start for this node, at pairing for a paired node (first-hand), and by the
//! ingest path when a node's announcement binds its name. The first binding wins.

use kindred_protocol::NodeId;

use super::{Store, StoreError};

/// What came of asking to bind a name to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Binding {
    /// Bound now, or bound so already.
    Bound,
    /// The name belongs to another node.
    NameTaken(NodeId),
    /// The node already has another name.
    NodeNamed(String),
}

pub(crate) fn decode_node(tree: &'static str, bytes: &[u8]) -> Result<NodeId, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(NodeId::from_bytes)
        .map_err(|e| StoreError::corrupt(tree, e))
}

impl Store {
    /// The node `name` is bound to.
    pub(crate) fn bound_node(&self, name: &str) -> Result<Option<NodeId>, StoreError> {
        self.trees()
            .node_names
            .get(name.as_bytes())?
            .map(|v| decode_node("node_names", &v))
            .transpose()
    }

    /// Binds `name` to `node` first-hand (this node at first start, a peer at pairing),
    /// unless either is bound otherwise. Not durable until the caller waits for it.
    pub(crate) fn bind_name(&self, name: &str, node: &NodeId) -> Result<Binding, StoreError> {
        if let Some(known) = self.origin_name(node)?
            && known != name
        {
            return Ok(Binding::NodeNamed(known));
        }
        let taken = self.trees().node_names.compare_and_swap(
            name.as_bytes(),
            None as Option<&[u8]>,
            Some(&node.as_bytes()[..]),
        )?;
        if let Err(e) = taken {
            let holder = match e.current {
                Some(v) => decode_node("node_names", &v)?,
                None => return Ok(Binding::Bound),
            };
            if holder != *node {
                return Ok(Binding::NameTaken(holder));
            }
        }
        self.trees()
            .origin_names
            .insert(node.as_bytes(), name.as_bytes())?;
        Ok(Binding::Bound)
    }

    /// Binds `name` to `node` whatever was bound before (this node's own name at start).
    pub(crate) fn rebind_name(&self, name: &str, node: &NodeId) -> Result<(), StoreError> {
        self.trees()
            .node_names
            .insert(name.as_bytes(), &node.as_bytes()[..])?;
        self.trees()
            .origin_names
            .insert(node.as_bytes(), name.as_bytes())?;
        Ok(())
    }
}
