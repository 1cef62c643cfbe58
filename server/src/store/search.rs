//! The search index, kept by the indexer thread a moment behind the event log:
//!
//! - `search_postings`: term (u8 len ‖ text) ‖ entry id (32) → term frequency (u32 BE) ‖
//!   entry length (u32 BE), so ranking needs no second read.
//! - `search_docs`: entry id (original) → [`SearchDoc`] (JSON): its length and terms, so an
//!   edit or retraction can remove exactly what was indexed.
//! - `search_meta`: `indexed_up_to` (u64 BE, the last local seq indexed), `total_len`
//!   (u64 BE, sum of document lengths for BM25).
//!
//! Everything here is derived from the event log and rebuilt from the watermark after a
//! crash; index writes are idempotent.

use std::collections::BTreeMap;

use kindred_protocol::EventId;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::keys::push_text;
use super::origin_log::decode_u64;
use super::{Store, StoreError, from_json, to_json};

const WATERMARK: &[u8] = b"indexed_up_to";
const TOTAL_LEN: &[u8] = b"total_len";
/// Postings read per query term at most, so a very common word cannot make a search slow.
const MAX_POSTINGS_PER_TERM: usize = 50_000;

/// What the index holds for one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SearchDoc {
    /// Number of indexed tokens (title and tags count twice).
    pub(crate) len: u32,
    /// Distinct terms with their frequencies.
    pub(crate) terms: BTreeMap<String, u32>,
}

/// A change to apply to the index.
#[derive(Debug, Clone)]
pub(crate) enum IndexOp {
    /// Index (or re-index) an entry under its original id.
    Put(EventId, SearchDoc),
    /// Remove an entry.
    Remove(EventId),
}

fn posting_key(term: &str, id: &EventId) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + term.len() + 32);
    push_text(&mut key, term);
    key.extend_from_slice(id.as_bytes());
    key
}

impl Store {
    /// The last local sequence number the index covers.
    pub(crate) fn indexed_up_to(&self) -> Result<u64, StoreError> {
        match self.trees().search_meta.get(WATERMARK)? {
            None => Ok(0),
            Some(v) => decode_u64("search_meta", &v),
        }
    }

    /// Applies index changes and moves the watermark, in one transaction.
    pub(crate) fn apply_index(&self, ops: &[IndexOp], up_to: u64) -> Result<(), StoreError> {
        let t = self.trees();
        let result = (&t.search_postings, &t.search_docs, &t.search_meta).transaction(
            |(postings, docs, meta)| {
                let abort = ConflictableTransactionError::Abort;
                let mut total = match meta.get(TOTAL_LEN)? {
                    None => 0,
                    Some(v) => decode_u64("search_meta", &v).map_err(abort)?,
                };
                for op in ops {
                    let id = match op {
                        IndexOp::Put(id, _) | IndexOp::Remove(id) => id,
                    };
                    if let Some(old) = docs.remove(id.as_bytes())? {
                        let old: SearchDoc = from_json("search_docs", &old).map_err(abort)?;
                        total = total.saturating_sub(u64::from(old.len));
                        for term in old.terms.keys() {
                            postings.remove(posting_key(term, id))?;
                        }
                    }
                    if let IndexOp::Put(id, doc) = op {
                        for (term, tf) in &doc.terms {
                            let mut value = [0u8; 8];
                            value[..4].copy_from_slice(&tf.to_be_bytes());
                            value[4..].copy_from_slice(&doc.len.to_be_bytes());
                            postings.insert(posting_key(term, id), &value)?;
                        }
                        total += u64::from(doc.len);
                        docs.insert(id.as_bytes(), to_json("search_docs", doc).map_err(abort)?)?;
                    }
                }
                meta.insert(TOTAL_LEN, &total.to_be_bytes())?;
                meta.insert(WATERMARK, &up_to.to_be_bytes())?;
                Ok(())
            },
        );
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Number of indexed entries and the sum of their lengths.
    pub(crate) fn index_stats(&self) -> Result<(u64, u64), StoreError> {
        let docs = self.trees().search_docs.len() as u64;
        let total = match self.trees().search_meta.get(TOTAL_LEN)? {
            None => 0,
            Some(v) => decode_u64("search_meta", &v)?,
        };
        Ok((docs, total))
    }

    /// Entries containing `term`, with the term's frequency in each and the entry's length.
    pub(crate) fn postings(&self, term: &str) -> Result<Vec<(EventId, u32, u32)>, StoreError> {
        let mut prefix = Vec::with_capacity(1 + term.len());
        push_text(&mut prefix, term);
        let mut out = Vec::new();
        for item in self
            .trees()
            .search_postings
            .scan_prefix(&prefix)
            .take(MAX_POSTINGS_PER_TERM)
        {
            let (key, value) = item?;
            let id = <[u8; 32]>::try_from(&key[prefix.len()..])
                .map(EventId::from_bytes)
                .map_err(|e| StoreError::corrupt("search_postings", e))?;
            let value = <[u8; 8]>::try_from(value.as_ref())
                .map_err(|e| StoreError::corrupt("search_postings", e))?;
            let tf = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
            let len = u32::from_be_bytes([value[4], value[5], value[6], value[7]]);
            out.push((id, tf, len));
        }
        Ok(out)
    }

    /// Ids in arrival order after `after`, at most `limit`.
    pub(crate) fn local_log_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, EventId)>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .trees()
            .local_log
            .range((after + 1).to_be_bytes()..)
            .take(limit)
        {
            let (k, v) = item?;
            let seq = decode_u64("local_log", &k)?;
            let id = <[u8; 32]>::try_from(v.as_ref())
                .map(EventId::from_bytes)
                .map_err(|e| StoreError::corrupt("local_log", e))?;
            out.push((seq, id));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posting_key_layout_is_pinned() {
        let key = posting_key("grant", &EventId::from_bytes([3; 32]));
        assert_eq!(&key[..6], b"\x05grant");
        assert_eq!(&key[6..], &[3; 32]);
    }
}
