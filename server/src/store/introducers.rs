//! `introducers`: origin (32) → peer (32): the paired node whose link first brought this
//! node an origin it had never heard of. Blocking a node blocks what it introduced too,
//! so a hostile peer cannot keep flooding the federation through new keys it makes.

use kindred_protocol::NodeId;

use super::names::decode_node;
use super::{Store, StoreError};

impl Store {
    /// The peer that introduced `origin`, if one did.
    pub(crate) fn introducer(&self, origin: &NodeId) -> Result<Option<NodeId>, StoreError> {
        self.trees()
            .introducers
            .get(origin.as_bytes())?
            .map(|v| decode_node("introducers", &v))
            .transpose()
    }

    /// Records that `peer` introduced `origin`, unless another did first.
    pub(crate) fn set_introducer(&self, origin: &NodeId, peer: &NodeId) -> Result<(), StoreError> {
        // Err means another peer was recorded first; that one stays.
        let _ = self.writer().introducers.compare_and_swap(
            origin.as_bytes(),
            None as Option<&[u8]>,
            Some(&peer.as_bytes()[..]),
        )?;
        Ok(())
    }

    /// The origins `peer` introduced.
    pub(crate) fn introduced_by(&self, peer: &NodeId) -> Result<Vec<NodeId>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().introducers.iter() {
            let (k, v) = item?;
            if v.as_ref() == peer.as_bytes() {
                out.push(decode_node("introducers", &k)?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_introducer_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let (o, p, q) = (
            NodeId::from_bytes([1; 32]),
            NodeId::from_bytes([2; 32]),
            NodeId::from_bytes([3; 32]),
        );
        store.set_introducer(&o, &p).unwrap();
        store.set_introducer(&o, &q).unwrap();
        assert_eq!(store.introducer(&o).unwrap(), Some(p));
        assert_eq!(store.introduced_by(&p).unwrap(), vec![o]);
        assert!(store.introduced_by(&q).unwrap().is_empty());
    }
}
