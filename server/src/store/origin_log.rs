//! The per-origin shared log and this node's arrival log.
//!
//! - `origin_seq_event`: origin (32) ‖ seq (u64 BE) → event id.
//! - `origin_head`: origin (32) → highest contiguous seq held (u64 BE).
//! - `local_log`: local seq (u64 BE) → event id, every stored event in arrival order.

use kindred_protocol::{EventId, NodeId};

use super::{Store, StoreError};

pub(crate) fn origin_seq_key(origin: &NodeId, seq: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(origin.as_bytes());
    key[32..].copy_from_slice(&seq.to_be_bytes());
    key
}

pub(crate) fn decode_u64(tree: &'static str, bytes: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|e| StoreError::corrupt(tree, e))
}

impl Store {
    /// Highest contiguous sequence number held for `origin` (0 when none).
    pub(crate) fn origin_head(&self, origin: &NodeId) -> Result<u64, StoreError> {
        match self.trees().origin_head.get(origin.as_bytes())? {
            None => Ok(0),
            Some(v) => decode_u64("origin_head", &v),
        }
    }

    /// The id of event number `seq` from `origin`, if held.
    pub(crate) fn event_at(
        &self,
        origin: &NodeId,
        seq: u64,
    ) -> Result<Option<EventId>, StoreError> {
        match self
            .trees()
            .origin_seq_event
            .get(origin_seq_key(origin, seq))?
        {
            None => Ok(None),
            Some(v) => <[u8; 32]>::try_from(v.as_ref())
                .map(|b| Some(EventId::from_bytes(b)))
                .map_err(|e| StoreError::corrupt("origin_seq_event", e)),
        }
    }

    /// The last local sequence number used (0 when empty).
    pub(crate) fn last_local_seq(&self) -> Result<u64, StoreError> {
        match self.trees().local_log.last()? {
            None => Ok(0),
            Some((k, _)) => decode_u64("local_log", &k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_seq_key_layout_is_pinned() {
        let key = origin_seq_key(&NodeId::from_bytes([9; 32]), 258);
        assert_eq!(&key[..32], &[9; 32]);
        assert_eq!(&key[32..], &[0, 0, 0, 0, 0, 0, 1, 2]);
    }
}
