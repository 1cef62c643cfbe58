//! The search index, kept by the indexer thread a moment behind the event log:
//!
//! - `search_postings`: term (u8 len ‖ text) ‖ segment (u64 BE) → the entries of that
//!   term written by one indexing batch, each entry id (32) ‖ term frequency (u32 BE) ‖
//!   entry length (u32 BE), so ranking needs no second read. A batch writes one value per
//!   distinct term rather than one per term and entry: common words share one write.
//! - `search_docs`: the entry's (original's) local seq (u64 BE) → [`SearchDoc`] in binary:
//!   segment (u64 BE) ‖ length (u32 BE) ‖ per term: u8 length ‖ text ‖ frequency (u32 BE),
//!   so an edit or retraction can remove exactly what was indexed. Keyed by arrival so new
//!   entries are appended (cheap in sled) rather than written at random ids.
//! - `search_meta`: `indexed_up_to` (u64 BE, the last local seq indexed), `total_len`
//!   (u64 BE, sum of document lengths for BM25).
//!
//! Everything here is derived from the event log and rebuilt from the watermark after a
//! crash (or from scratch when the layout changes, see `meta`); index writes are
//! idempotent.

use std::collections::{BTreeMap, HashMap};

use super::kv::{TransactionError, TxKeyspace};
use kindred_protocol::EventId;

use super::events::{BadRecord, Reader};
use super::keys::text_prefix;
use super::origin_log::decode_u64;
use super::{Store, StoreError};

const WATERMARK: &[u8] = b"indexed_up_to";
const TOTAL_LEN: &[u8] = b"total_len";
/// How many entries are indexed.
const DOC_COUNT: &[u8] = b"docs";
/// Which text pipeline built the index (see `node::search::analyzer`).
const ANALYZER: &[u8] = b"analyzer";
/// Postings read per query term at most, so a very common word cannot make a search slow.
const MAX_POSTINGS_PER_TERM: usize = 50_000;
/// Bytes of one posting: id, term frequency, entry length.
const ENTRY: usize = 40;

/// What the index holds for one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SearchDoc {
    /// Number of indexed tokens (title and tags count twice).
    pub(crate) len: u32,
    /// Distinct terms with their frequencies.
    pub(crate) terms: BTreeMap<String, u32>,
    /// The indexing batch whose postings hold this entry (set when stored).
    pub(crate) segment: u64,
}

impl SearchDoc {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.terms.len() * 12);
        out.extend_from_slice(&self.segment.to_be_bytes());
        out.extend_from_slice(&self.len.to_be_bytes());
        for (term, tf) in &self.terms {
            // The tokenizer keeps terms to 40 bytes; a longer one is cut, never misread.
            let bytes = &term.as_bytes()[..term.len().min(255)];
            out.push(bytes.len() as u8);
            out.extend_from_slice(bytes);
            out.extend_from_slice(&tf.to_be_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        Self::read(&mut Reader(bytes)).map_err(|e| StoreError::corrupt("search_docs", e))
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, BadRecord> {
        let mut doc = SearchDoc {
            segment: r.u64()?,
            len: r.u32()?,
            terms: BTreeMap::new(),
        };
        while !r.is_empty() {
            let [n] = r.take::<1>()?;
            let term = std::str::from_utf8(r.slice(usize::from(n))?).map_err(|_| BadRecord)?;
            doc.terms.insert(term.to_owned(), r.u32()?);
        }
        Ok(doc)
    }
}

/// An indexed entry: its original's id and arrival number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct IndexedEntry {
    /// The original post or reply (what search results point to).
    pub(crate) id: EventId,
    /// Its arrival number, the `search_docs` key.
    pub(crate) local_seq: u64,
}

/// A change to apply to the index.
#[derive(Debug, Clone)]
pub(crate) enum IndexOp {
    /// Index (or re-index) an entry.
    Put(IndexedEntry, SearchDoc),
    /// Remove an entry.
    Remove(IndexedEntry),
}

fn posting_key(term: &str, segment: u64) -> Vec<u8> {
    let mut key = text_prefix(term);
    key.extend_from_slice(&segment.to_be_bytes());
    key
}

fn entry(id: &EventId, tf: u32, len: u32) -> [u8; ENTRY] {
    let mut out = [0u8; ENTRY];
    out[..32].copy_from_slice(id.as_bytes());
    out[32..36].copy_from_slice(&tf.to_be_bytes());
    out[36..].copy_from_slice(&len.to_be_bytes());
    out
}

/// The entries of a posting value without `id`'s.
fn without(entries: &[u8], id: &EventId) -> Vec<u8> {
    entries
        .chunks(ENTRY)
        .filter(|e| e.get(..32) != Some(id.as_bytes().as_slice()))
        .flatten()
        .copied()
        .collect()
}

type TxError = super::kv::TxError<StoreError>;

/// Removes an indexed entry's postings from its segment.
fn remove_postings(
    postings: &TxKeyspace<'_>,
    id: &EventId,
    doc: &SearchDoc,
) -> Result<(), TxError> {
    for term in doc.terms.keys() {
        let key = posting_key(term, doc.segment);
        if let Some(entries) = postings.get(&key)? {
            let rest = without(&entries, id);
            if rest.is_empty() {
                postings.remove(key)?;
            } else {
                postings.insert(key, rest)?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// Drops the index if it was built by another text pipeline than `analyzer` (another
    /// language, or an older Kindred): the indexer then rebuilds it from the event log.
    /// Returns whether it was dropped.
    pub(crate) fn index_built_by(&self, analyzer: &str) -> Result<bool, StoreError> {
        let t = self.writer();
        if t.search_meta.get(ANALYZER)?.as_deref() == Some(analyzer.as_bytes()) {
            return Ok(false);
        }
        // Cleared in this order so a crash in between leaves "no watermark" and so a
        // full rebuild; the pipeline is recorded last.
        t.search_meta.remove(WATERMARK)?;
        t.search_postings.clear()?;
        t.search_docs.clear()?;
        t.search_meta.clear()?;
        t.search_meta.insert(ANALYZER, analyzer.as_bytes())?;
        Ok(true)
    }

    /// The last local sequence number the index covers.
    pub(crate) fn indexed_up_to(&self) -> Result<u64, StoreError> {
        match self.trees().search_meta.get(WATERMARK)? {
            None => Ok(0),
            Some(v) => decode_u64("search_meta", &v),
        }
    }

    /// Applies index changes and moves the watermark to `up_to`, in one transaction. The
    /// new postings form segment `up_to` (unique: the watermark only moves forward).
    pub(crate) fn apply_index(&self, ops: &[IndexOp], up_to: u64) -> Result<(), StoreError> {
        let t = self.writer();
        let result = self.transaction(
            [&t.search_postings, &t.search_docs, &t.search_meta],
            |[postings, docs, meta]| {
                let abort = TxError::Abort;
                let mut total = match meta.get(TOTAL_LEN)? {
                    None => 0,
                    Some(v) => decode_u64("search_meta", &v).map_err(abort)?,
                };
                // Kept here because counting a sled tree reads all of it.
                let mut count = match meta.get(DOC_COUNT)? {
                    None => 0,
                    Some(v) => decode_u64("search_meta", &v).map_err(abort)?,
                };
                // This batch's segment, by term, and the entries it indexes.
                let mut segment: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
                let mut indexed: HashMap<IndexedEntry, &SearchDoc> = HashMap::new();
                for op in ops {
                    let e = match op {
                        IndexOp::Put(e, _) | IndexOp::Remove(e) => *e,
                    };
                    let (id, key) = (&e.id, e.local_seq.to_be_bytes());
                    if let Some(earlier) = indexed.remove(&e) {
                        // Indexed earlier in this batch: take it out of the new segment.
                        total = total.saturating_sub(u64::from(earlier.len));
                        count = count.saturating_sub(1);
                        for term in earlier.terms.keys() {
                            if let Some(entries) = segment.get_mut(term.as_str()) {
                                *entries = without(entries, id);
                            }
                        }
                    } else if let Some(old) = docs.get(key)? {
                        let old = SearchDoc::decode(&old).map_err(abort)?;
                        total = total.saturating_sub(u64::from(old.len));
                        count = count.saturating_sub(1);
                        remove_postings(postings, id, &old)?;
                    }
                    if let IndexOp::Remove(_) = op {
                        docs.remove(key)?;
                    }
                    if let IndexOp::Put(_, doc) = op {
                        for (term, tf) in &doc.terms {
                            segment
                                .entry(term.as_str())
                                .or_default()
                                .extend_from_slice(&entry(id, *tf, doc.len));
                        }
                        total += u64::from(doc.len);
                        count += 1;
                        indexed.insert(e, doc);
                    }
                }
                for (term, entries) in segment {
                    if !entries.is_empty() {
                        postings.insert(posting_key(term, up_to), entries)?;
                    }
                }
                for (e, doc) in indexed {
                    let doc = SearchDoc {
                        segment: up_to,
                        ..doc.clone()
                    };
                    docs.insert(e.local_seq.to_be_bytes(), doc.encode())?;
                }
                meta.insert(TOTAL_LEN, total.to_be_bytes())?;
                meta.insert(DOC_COUNT, count.to_be_bytes())?;
                meta.insert(WATERMARK, up_to.to_be_bytes())?;
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
        let docs = match self.trees().search_meta.get(DOC_COUNT)? {
            None => 0,
            Some(v) => decode_u64("search_meta", &v)?,
        };
        let total = match self.trees().search_meta.get(TOTAL_LEN)? {
            None => 0,
            Some(v) => decode_u64("search_meta", &v)?,
        };
        Ok((docs, total))
    }

    /// Entries containing `term`, with the term's frequency in each and the entry's length.
    pub(crate) fn postings(&self, term: &str) -> Result<Vec<(EventId, u32, u32)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().search_postings.scan_prefix(text_prefix(term)) {
            let (_, entries) = item?;
            if entries.len() % ENTRY != 0 {
                return Err(StoreError::corrupt(
                    "search_postings",
                    std::io::Error::other("a posting list of the wrong length"),
                ));
            }
            for e in entries.chunks_exact(ENTRY) {
                if out.len() >= MAX_POSTINGS_PER_TERM {
                    return Ok(out);
                }
                let mut id = [0u8; 32];
                id.copy_from_slice(&e[..32]);
                let tf = u32::from_be_bytes([e[32], e[33], e[34], e[35]]);
                let len = u32::from_be_bytes([e[36], e[37], e[38], e[39]]);
                out.push((EventId::from_bytes(id), tf, len));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posting_key_layout_is_pinned() {
        let key = posting_key("grant", 7);
        assert_eq!(&key[..6], b"\x05grant");
        assert_eq!(&key[6..], &7u64.to_be_bytes());
    }

    fn doc(terms: &[(&str, u32)]) -> SearchDoc {
        SearchDoc {
            len: terms.iter().map(|(_, tf)| tf).sum(),
            terms: terms.iter().map(|(t, tf)| ((*t).to_owned(), *tf)).collect(),
            segment: 0,
        }
    }

    fn entry_at(n: u8) -> IndexedEntry {
        IndexedEntry {
            id: EventId::from_bytes([n; 32]),
            local_seq: u64::from(n),
        }
    }

    #[test]
    fn a_doc_survives_the_binary_form() {
        let d = SearchDoc {
            segment: 9,
            ..doc(&[("grant", 2), ("bid", 1), ("héllo", 7)])
        };
        assert_eq!(SearchDoc::decode(&d.encode()).unwrap(), d);
        let mut damaged = d.encode();
        damaged.truncate(damaged.len() - 1);
        assert!(SearchDoc::decode(&damaged).is_err());
    }

    fn ids(store: &Store, term: &str) -> Vec<EventId> {
        let mut ids: Vec<EventId> = store
            .postings(term)
            .unwrap()
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn entries_in_one_batch_share_a_posting_list_and_can_be_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (a, b) = (entry_at(1), entry_at(2));
        store
            .apply_index(
                &[
                    IndexOp::Put(a, doc(&[("grant", 2), ("bid", 1)])),
                    IndexOp::Put(b, doc(&[("grant", 1)])),
                ],
                10,
            )
            .unwrap();
        assert_eq!(store.trees().search_postings.len(), 2, "one list per term");
        assert_eq!(ids(&store, "grant"), [a.id, b.id]);
        assert_eq!(store.postings("grant").unwrap()[0], (a.id, 2, 3));
        assert_eq!(store.index_stats().unwrap(), (2, 4));

        // An edit in a later batch moves the entry; a retraction removes it.
        store
            .apply_index(&[IndexOp::Put(a, doc(&[("lottery", 1)]))], 20)
            .unwrap();
        assert_eq!(ids(&store, "grant"), [b.id]);
        assert!(ids(&store, "bid").is_empty());
        assert_eq!(ids(&store, "lottery"), [a.id]);
        store.apply_index(&[IndexOp::Remove(b)], 30).unwrap();
        assert!(ids(&store, "grant").is_empty());
        assert_eq!(store.index_stats().unwrap(), (1, 1));
        assert_eq!(store.indexed_up_to().unwrap(), 30);
    }

    #[test]
    fn an_entry_replaced_within_its_batch_is_indexed_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = entry_at(1);
        store
            .apply_index(
                &[
                    IndexOp::Put(a, doc(&[("first", 1)])),
                    IndexOp::Put(a, doc(&[("second", 1)])),
                ],
                5,
            )
            .unwrap();
        assert!(ids(&store, "first").is_empty());
        assert_eq!(ids(&store, "second"), [a.id]);
        assert_eq!(store.index_stats().unwrap(), (1, 1));
    }
}
