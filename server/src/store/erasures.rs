//! The `erasures` tree: which members their home nodes erased, and the tombstone each
//! erasure signed for their shared-log events.
//!
//! - `m` ‖ member id → JSON [`ErasureRecord`];
//! - `s` ‖ origin (32) ‖ seq (u64 BE) → the tombstone's signed bytes, stored in that slot
//!   when the erased event arrives after the erasure (its content is never stored);
//! - `c` → () while erased content may still sit in the database files' free space: the
//!   next start compacts the database (`compact.rs`).

use kindred_protocol::{MemberId, NodeId};
use serde::{Deserialize, Serialize};

use super::origin_log::origin_seq_key;
use super::{Store, StoreError, from_json};

/// A member erased by their home node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ErasureRecord {
    /// When this node first carried out an erasure of them (ms).
    pub(crate) erased_at: u64,
    /// How many erasure events (parts) of them this node has applied.
    pub(crate) parts: u32,
}

/// The key of a member's record.
pub(crate) fn member_key(member: &MemberId) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + member.as_str().len());
    key.push(b'm');
    key.extend_from_slice(member.as_str().as_bytes());
    key
}

/// The key of a slot's tombstone.
pub(crate) fn slot_key(origin: &NodeId, seq: u64) -> [u8; 41] {
    let mut key = [0u8; 41];
    key[0] = b's';
    key[1..].copy_from_slice(&origin_seq_key(origin, seq));
    key
}

/// The key marking that a compaction is due.
pub(crate) const COMPACT_KEY: &[u8] = b"c";

impl Store {
    /// Whether `member` was erased, and when.
    pub(crate) fn erasure(&self, member: &MemberId) -> Result<Option<ErasureRecord>, StoreError> {
        match self.trees().erasures.get(member_key(member))? {
            None => Ok(None),
            Some(v) => from_json("erasures", &v).map(Some),
        }
    }

    /// Every erased member this node knows of.
    pub(crate) fn erased_members(&self) -> Result<Vec<(MemberId, ErasureRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().erasures.scan_prefix(b"m") {
            let (k, v) = item?;
            let text = std::str::from_utf8(&k[1..]).map_err(|e| StoreError::corrupt("erasures", e))?;
            let member = MemberId::parse(text).map_err(|e| StoreError::corrupt("erasures", e))?;
            out.push((member, from_json("erasures", &v)?));
        }
        Ok(out)
    }

    /// Whether erased content may still be in the database files (a compaction is due).
    pub(crate) fn compaction_due(&self) -> Result<bool, StoreError> {
        Ok(self.trees().erasures.get(COMPACT_KEY)?.is_some())
    }
}
