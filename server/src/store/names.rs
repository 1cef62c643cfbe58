//! `node_names`: node name (text) → node id (32) ‖ how (1: first-hand, 0: by the node's
//! own announcement): the one node each name is bound to. `origin_names` holds the other
//! direction (node id → name). Both are written together: at first start for this node,
//! at pairing for a paired node (first-hand), and by the ingest path when a node's
//! announcement binds its name. The first binding wins, except that a first-hand pairing
//! takes a name from a node bound only by its announcement, or from a blocked node (an
//! organisation that lost its key pairs again under its own name).

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

/// A `node_names` value: the node, and whether the binding is first-hand.
pub(crate) fn binding_value(node: &NodeId, first_hand: bool) -> [u8; 33] {
    let mut value = [0u8; 33];
    value[..32].copy_from_slice(node.as_bytes());
    value[32] = u8::from(first_hand);
    value
}

/// Reads a `node_names` value.
pub(crate) fn decode_binding(bytes: &[u8]) -> Result<(NodeId, bool), StoreError> {
    let node = decode_node("node_names", bytes.get(..32).unwrap_or(bytes))?;
    Ok((node, bytes.get(32) == Some(&1)))
}

impl Store {
    /// The node `name` is bound to.
    pub(crate) fn bound_node(&self, name: &str) -> Result<Option<NodeId>, StoreError> {
        Ok(self.binding(name)?.map(|(node, _)| node))
    }

    /// The node `name` is bound to, and whether first-hand.
    pub(crate) fn binding(&self, name: &str) -> Result<Option<(NodeId, bool)>, StoreError> {
        self.trees()
            .node_names
            .get(name.as_bytes())?
            .map(|v| decode_binding(&v))
            .transpose()
    }

    /// Binds a free `name` to `node` as its announcement would (a node unblocked gets back
    /// the name its block freed).
    pub(crate) fn bind_announced(&self, name: &str, node: &NodeId) -> Result<(), StoreError> {
        self.writer()
            .node_names
            .insert(name.as_bytes(), &binding_value(node, false)[..])?;
        self.writer()
            .origin_names
            .insert(node.as_bytes(), name.as_bytes())?;
        Ok(())
    }

    /// Removes `name`'s binding (and its node's name), so another node may claim it.
    pub(crate) fn unbind_name(&self, name: &str) -> Result<(), StoreError> {
        if let Some((node, _)) = self.binding(name)? {
            self.writer().origin_names.remove(node.as_bytes())?;
        }
        self.writer().node_names.remove(name.as_bytes())?;
        Ok(())
    }

    /// Binds `name` to `node` first-hand (this node at first start, a peer at pairing),
    /// unless either is bound otherwise. Not durable until the caller waits for it.
    pub(crate) fn bind_name(&self, name: &str, node: &NodeId) -> Result<Binding, StoreError> {
        if let Some(known) = self.origin_name(node)?
            && known != name
        {
            return Ok(Binding::NodeNamed(known));
        }
        let taken = self.writer().node_names.compare_and_swap(
            name.as_bytes(),
            None as Option<&[u8]>,
            Some(&binding_value(node, true)[..]),
        )?;
        if let Err(e) = taken {
            let holder = match e.current {
                Some(v) => decode_binding(&v)?.0,
                None => return Ok(Binding::Bound),
            };
            if holder != *node {
                return Ok(Binding::NameTaken(holder));
            }
            self.writer()
                .node_names
                .insert(name.as_bytes(), &binding_value(node, true)[..])?;
        }
        self.writer()
            .origin_names
            .insert(node.as_bytes(), name.as_bytes())?;
        Ok(Binding::Bound)
    }

    /// Binds `name` to `node` first-hand whatever was bound before (this node's own name
    /// at start; a pairing taking a name from a node bound only by announcement, or from
    /// a blocked node). The previous holder loses its name.
    pub(crate) fn rebind_name(&self, name: &str, node: &NodeId) -> Result<(), StoreError> {
        if let Some((old, _)) = self.binding(name)?
            && old != *node
        {
            self.writer().origin_names.remove(old.as_bytes())?;
        }
        self.writer()
            .node_names
            .insert(name.as_bytes(), &binding_value(node, true)[..])?;
        self.writer()
            .origin_names
            .insert(node.as_bytes(), name.as_bytes())?;
        Ok(())
    }
}
