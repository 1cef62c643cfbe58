//! The per-origin shared log.
//!
//! - `origin_seq`: origin (32) ‖ seq (u64 BE) → local seq (the event's `events` key).
//! - `origin_head`: origin (32) → highest contiguous seq held (u64 BE).

use kindred_protocol::{NodeId, SignedEvent};

use super::events::signed_in;
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

    /// Event number `seq` from `origin`, if held.
    pub(crate) fn event_at(
        &self,
        origin: &NodeId,
        seq: u64,
    ) -> Result<Option<SignedEvent>, StoreError> {
        let t = self.trees();
        let Some(local) = t.origin_seq.get(origin_seq_key(origin, seq))? else {
            return Ok(None);
        };
        match t.events.get(local)? {
            None => Ok(None),
            Some(record) => signed_in(&record).map(Some),
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
