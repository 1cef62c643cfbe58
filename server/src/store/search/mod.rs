//! The search index, kept by the indexer thread a moment behind the event log:
//!
//! - `search_postings`: term (u8 len ‖ text) ‖ segment (u64 BE) → the postings of that
//!   term written by one indexing batch, in ascending order of the entry's arrival number,
//!   each as three LEB128 varints: the arrival number's distance from the previous posting's
//!   (the first: the number itself), the term's frequency in the entry, and the entry's
//!   length; ranking needs no second read, and a posting takes 3 to 6 bytes. A batch writes
//!   one value per distinct term rather than one per term and entry: common words share
//!   one write. While a term's newest segment holds fewer than [`MERGE_BELOW`] postings,
//!   the next batch with that term takes it into its own segment (and its key goes), so a
//!   term's postings lie in about one segment per [`MERGE_BELOW`], however small the
//!   batches were (a node that grows by a few posts a minute indexes one or two at a
//!   time). So an entry's posting for a term lies in the first of the term's segments at
//!   or after the segment the entry was indexed in (the merge only ever takes a term's
//!   newest segment into a newer one).
//! - `search_docs`: the entry's (original's) local seq (u64 BE) → [`IndexedDoc`] as three
//!   varints: segment ‖ length ‖ the local seq of the version whose words were indexed.
//!   An edit or retraction removes exactly what was indexed by reading that version again
//!   through the same text pipeline (its signed bytes stay in the log), so the terms are
//!   not stored twice. Keyed by arrival so new entries are appended rather than written at
//!   random ids.
//! - `search_meta`: `indexed_up_to` (u64 BE, the last local seq indexed), `total_len`
//!   (u64 BE, sum of document lengths for BM25), `docs` (u64 BE, entries indexed), and
//!   `df` ‖ term (u8 len ‖ text) → [`TermStats`]: the number of entries holding the term
//!   (BM25's document frequency, so a search reads only the newest of a common term's
//!   postings and still weighs it rightly), its newest segment and how many postings that
//!   held when written (so a batch knows which segments to merge without reading them).
//!
//! Postings name entries by arrival number, not by id (8 bytes or fewer against 32): a
//! search maps only the entries it shows back to ids ([`Store::id_at`]).
//!
//! Everything here is derived from the event log and rebuilt from the watermark after a
//! crash (or from scratch when the layout changes: the pipeline id in `node::search`
//! names the layout too); index writes are idempotent.

use std::collections::{BTreeMap, HashMap};

use kindred_protocol::EventId;

use super::events::{BadRecord, Reader, put_varint};
use super::keys::text_prefix;
use super::kv::TransactionError;
use super::origin_log::decode_u64;
use super::{Store, StoreError};

mod segments;

use segments::{
    Located, MERGE_BELOW, Posting, TermStats, TxError, decode_postings, df_key, encode_postings,
    posting_key, remove_postings, segment_of, take_newest, term_stats,
};

const WATERMARK: &[u8] = b"indexed_up_to";
const TOTAL_LEN: &[u8] = b"total_len";
/// How many entries are indexed.
const DOC_COUNT: &[u8] = b"docs";
/// Which text pipeline built the index (see `node::search::analyzer`).
const ANALYZER: &[u8] = b"analyzer";
/// Postings read per query term at most, newest first, so a very common word cannot make
/// a search slow however long the history: its cost depends on the query, not on the
/// number of posts (measured with `kindred-bench growth`).
pub(crate) const MAX_POSTINGS_PER_TERM: usize = 20_000;

/// The words of one version of an entry, as the text pipeline found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SearchDoc {
    /// Number of indexed tokens (title and tags count twice).
    pub(crate) len: u32,
    /// Distinct terms with their frequencies.
    pub(crate) terms: BTreeMap<String, u32>,
}

/// What `search_docs` holds for an indexed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexedDoc {
    /// The indexing batch whose postings hold the entry.
    pub(crate) segment: u64,
    /// Its number of indexed tokens.
    pub(crate) len: u32,
    /// The local seq of the version whose words were indexed.
    pub(crate) version: u64,
}

impl IndexedDoc {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        put_varint(&mut out, self.segment);
        put_varint(&mut out, u64::from(self.len));
        put_varint(&mut out, self.version);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let read = |r: &mut Reader<'_>| -> Result<Self, BadRecord> {
            let doc = IndexedDoc {
                segment: r.varint()?,
                len: u32::try_from(r.varint()?).map_err(|_| BadRecord)?,
                version: r.varint()?,
            };
            if r.is_empty() {
                Ok(doc)
            } else {
                Err(BadRecord)
            }
        };
        read(&mut Reader(bytes)).map_err(|e| StoreError::corrupt("search_docs", e))
    }
}

/// An indexed entry: its original's id and arrival number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct IndexedEntry {
    /// The original post or reply (what search results point to).
    pub(crate) id: EventId,
    /// Its arrival number, the `search_docs` key and what postings name.
    pub(crate) local_seq: u64,
}

/// A change to apply to the index. `indexed` is what the entry's indexed version holds, read
/// again before the batch ([`Store::indexed_doc`]): the postings to take out. It is `None`
/// when the entry is not indexed, or its indexed version's words are gone (erased: the
/// index is rebuilt at the next start then, see `compact.rs`, and until then the entry's
/// postings point at something no search shows).
#[derive(Debug, Clone)]
pub(crate) enum IndexOp {
    /// Index (or re-index) an entry with the words of its version `version` (a local seq).
    Put {
        entry: IndexedEntry,
        version: u64,
        doc: SearchDoc,
        indexed: Option<SearchDoc>,
    },
    /// Remove an entry.
    Remove {
        entry: IndexedEntry,
        indexed: Option<SearchDoc>,
    },
}

impl IndexOp {
    fn entry(&self) -> IndexedEntry {
        match self {
            IndexOp::Put { entry, .. } | IndexOp::Remove { entry, .. } => *entry,
        }
    }

    fn indexed(&self) -> Option<&SearchDoc> {
        match self {
            IndexOp::Put { indexed, .. } | IndexOp::Remove { indexed, .. } => indexed.as_ref(),
        }
    }
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
        self.apply_index_merging(ops, up_to, MERGE_BELOW)
    }

    /// [`Store::apply_index`], merging segments under `merge_below` postings (tests use a
    /// small one to cross it often).
    fn apply_index_merging(
        &self,
        ops: &[IndexOp],
        up_to: u64,
        merge_below: u32,
    ) -> Result<(), StoreError> {
        let located = self.locate_postings(ops)?;
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
                let mut segment: BTreeMap<&str, Vec<Posting>> = BTreeMap::new();
                // Entries gained (or lost) by each term in earlier segments.
                let mut df: HashMap<&str, i64> = HashMap::new();
                let mut indexed: HashMap<IndexedEntry, (&SearchDoc, u64)> = HashMap::new();
                for op in ops {
                    let e = op.entry();
                    let (seq, key) = (e.local_seq, e.local_seq.to_be_bytes());
                    if let Some((earlier, _)) = indexed.remove(&e) {
                        // Indexed earlier in this batch: take it out of the new segment.
                        total = total.saturating_sub(u64::from(earlier.len));
                        count = count.saturating_sub(1);
                        for term in earlier.terms.keys() {
                            if let Some(list) = segment.get_mut(term.as_str()) {
                                list.retain(|p| p.0 != seq);
                            }
                        }
                    } else if let Some(old) = docs.get(key)? {
                        let old = IndexedDoc::decode(&old).map_err(abort)?;
                        total = total.saturating_sub(u64::from(old.len));
                        count = count.saturating_sub(1);
                        if let Some(words) = op.indexed() {
                            remove_postings(postings, seq, words, &located, &mut df)?;
                        }
                    }
                    match op {
                        IndexOp::Remove { .. } => {
                            docs.remove(key)?;
                        }
                        IndexOp::Put { doc, version, .. } => {
                            for (term, tf) in &doc.terms {
                                segment
                                    .entry(term.as_str())
                                    .or_default()
                                    .push((seq, *tf, doc.len));
                            }
                            total += u64::from(doc.len);
                            count += 1;
                            indexed.insert(e, (doc, *version));
                        }
                    }
                }
                for (term, mut list) in segment {
                    if list.is_empty() {
                        continue;
                    }
                    let change = df.remove(term).unwrap_or(0) + list.len() as i64;
                    let key = df_key(term);
                    let held = term_stats(meta, &key)?;
                    if held.newest_len < merge_below {
                        take_newest(postings, term, &held, &mut list)?;
                    }
                    let stats = TermStats {
                        entries: held.entries.saturating_add_signed(change),
                        newest: up_to,
                        newest_len: u32::try_from(list.len()).unwrap_or(u32::MAX),
                    };
                    postings.insert(posting_key(term, up_to), encode_postings(&mut list))?;
                    meta.insert(key, stats.encode())?;
                }
                // Terms that only lost entries in this batch.
                for (term, change) in df {
                    if change == 0 {
                        continue;
                    }
                    let key = df_key(term);
                    let held = term_stats(meta, &key)?;
                    let entries = held.entries.saturating_add_signed(change);
                    if entries == 0 {
                        meta.remove(key)?;
                    } else {
                        meta.insert(key, TermStats { entries, ..held }.encode())?;
                    }
                }
                for (e, (doc, version)) in indexed {
                    let stored = IndexedDoc {
                        segment: up_to,
                        len: doc.len,
                        version,
                    };
                    docs.insert(e.local_seq.to_be_bytes(), stored.encode())?;
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

    /// Where the postings of the entries `ops` re-index or remove lie (see [`Located`]).
    fn locate_postings<'d>(&self, ops: &'d [IndexOp]) -> Result<Located<'d>, StoreError> {
        let mut located = HashMap::new();
        for op in ops {
            let Some(words) = op.indexed() else {
                continue;
            };
            let seq = op.entry().local_seq;
            let Some(doc) = self.indexed_doc(seq)? else {
                continue;
            };
            for term in words.terms.keys() {
                let from = posting_key(term, doc.segment);
                let to = posting_key(term, u64::MAX);
                if let Some((key, _)) = self.trees().search_postings.first_in(from..=to)? {
                    located.insert((seq, term.as_str()), segment_of(&key)?);
                }
            }
        }
        Ok(located)
    }

    /// What the index holds for the entry with arrival number `seq`, if it is indexed.
    pub(crate) fn indexed_doc(&self, seq: u64) -> Result<Option<IndexedDoc>, StoreError> {
        match self.trees().search_docs.get(seq.to_be_bytes())? {
            None => Ok(None),
            Some(v) => IndexedDoc::decode(&v).map(Some),
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

    /// How many indexed entries hold `term` (BM25's document frequency).
    pub(crate) fn term_entries(&self, term: &str) -> Result<u64, StoreError> {
        match self.trees().search_meta.get(df_key(term))? {
            None => Ok(0),
            Some(v) => TermStats::decode(&v).map(|t| t.entries),
        }
    }

    /// Entries containing `term` (by arrival number), with the term's frequency in each and
    /// the entry's length: the newest `most` or so, read from the newest batches back (a
    /// batch's postings are read whole, so a few more may come).
    pub(crate) fn postings(&self, term: &str, most: usize) -> Result<Vec<Posting>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .trees()
            .search_postings
            .scan_prefix(text_prefix(term))
            .rev()
        {
            let (_, entries) = item?;
            decode_postings(&entries, &mut out, usize::MAX)
                .map_err(|e| StoreError::corrupt("search_postings", e))?;
            if out.len() >= most {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(terms: &[(&str, u32)]) -> SearchDoc {
        SearchDoc {
            len: terms.iter().map(|(_, tf)| tf).sum(),
            terms: terms.iter().map(|(t, tf)| ((*t).to_owned(), *tf)).collect(),
        }
    }

    fn put(entry: IndexedEntry, doc: SearchDoc, indexed: Option<SearchDoc>) -> IndexOp {
        IndexOp::Put {
            entry,
            version: entry.local_seq,
            doc,
            indexed,
        }
    }

    fn entry_at(n: u8) -> IndexedEntry {
        IndexedEntry {
            id: EventId::from_bytes([n; 32]),
            local_seq: u64::from(n),
        }
    }

    #[test]
    fn an_indexed_doc_survives_its_binary_form() {
        let d = IndexedDoc {
            segment: 9_000_000,
            len: 420,
            version: 9_000_123,
        };
        assert_eq!(IndexedDoc::decode(&d.encode()).unwrap(), d);
        assert!(d.encode().len() <= 10, "a few bytes, not the terms");
        let mut damaged = d.encode();
        damaged.truncate(damaged.len() - 1);
        assert!(IndexedDoc::decode(&damaged).is_err());
        let mut longer = d.encode();
        longer.push(1);
        assert!(IndexedDoc::decode(&longer).is_err());
    }

    fn ids(store: &Store, term: &str) -> Vec<u64> {
        let mut ids: Vec<u64> = store
            .postings(term, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(seq, _, _)| seq)
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
                    put(a, doc(&[("grant", 2), ("bid", 1)]), None),
                    put(b, doc(&[("grant", 1)]), None),
                ],
                10,
            )
            .unwrap();
        assert_eq!(store.trees().search_postings.len(), 2, "one list per term");
        assert_eq!(ids(&store, "grant"), [a.local_seq, b.local_seq]);
        assert_eq!(store.postings("grant", 1).unwrap()[0], (a.local_seq, 2, 3));
        assert_eq!(store.index_stats().unwrap(), (2, 4));
        assert_eq!(store.term_entries("grant").unwrap(), 2);
        assert_eq!(store.term_entries("bid").unwrap(), 1);
        let stored = store.indexed_doc(a.local_seq).unwrap().unwrap();
        assert_eq!((stored.segment, stored.len, stored.version), (10, 3, 1));

        // An edit in a later batch moves the entry (the words it had are taken out); a
        // retraction removes it.
        let had = doc(&[("grant", 2), ("bid", 1)]);
        store
            .apply_index(&[put(a, doc(&[("lottery", 1)]), Some(had))], 20)
            .unwrap();
        assert_eq!(ids(&store, "grant"), [b.local_seq]);
        assert!(ids(&store, "bid").is_empty());
        assert_eq!(ids(&store, "lottery"), [a.local_seq]);
        let remove = IndexOp::Remove {
            entry: b,
            indexed: Some(doc(&[("grant", 1)])),
        };
        store.apply_index(&[remove], 30).unwrap();
        assert!(ids(&store, "grant").is_empty());
        assert_eq!(store.index_stats().unwrap(), (1, 1));
        for (term, entries) in [("grant", 0), ("bid", 0), ("lottery", 1)] {
            assert_eq!(store.term_entries(term).unwrap(), entries, "{term}");
        }
        assert_eq!(store.indexed_up_to().unwrap(), 30);
        assert!(store.indexed_doc(b.local_seq).unwrap().is_none());

        // An entry whose indexed words are gone (erased) still leaves the statistics.
        let gone = IndexOp::Remove {
            entry: a,
            indexed: None,
        };
        store.apply_index(&[gone], 40).unwrap();
        assert_eq!(store.index_stats().unwrap(), (0, 0));
    }

    #[test]
    fn an_entry_replaced_within_its_batch_is_indexed_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = entry_at(1);
        store
            .apply_index(
                &[
                    put(a, doc(&[("first", 1)]), None),
                    put(a, doc(&[("second", 1)]), None),
                ],
                5,
            )
            .unwrap();
        assert!(ids(&store, "first").is_empty());
        assert_eq!(ids(&store, "second"), [a.local_seq]);
        assert_eq!(store.index_stats().unwrap(), (1, 1));
        assert_eq!(store.term_entries("first").unwrap(), 0);
        assert_eq!(store.term_entries("second").unwrap(), 1);
    }

    fn entry_seq(seq: u64) -> IndexedEntry {
        IndexedEntry {
            id: EventId::from_bytes([0; 32]),
            local_seq: seq,
        }
    }

    fn segments(store: &Store, term: &str) -> usize {
        store
            .trees()
            .search_postings
            .scan_prefix(text_prefix(term))
            .count()
    }

    #[test]
    fn a_common_term_is_read_from_its_newest_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let per_batch = u64::from(MERGE_BELOW);
        for batch in 1..=5u64 {
            let ops: Vec<IndexOp> = (0..per_batch)
                .map(|i| put(entry_seq(batch * 1000 + i), doc(&[("grant", 1)]), None))
                .collect();
            store.apply_index(&ops, batch * 1000 + 999).unwrap();
        }
        assert_eq!(store.term_entries("grant").unwrap(), 5 * per_batch);
        assert_eq!(segments(&store, "grant"), 5, "full segments are not merged");
        let newest = store.postings("grant", 300).unwrap();
        // Whole segments, newest first: the last two, not the first.
        let mut seqs: Vec<u64> = newest.iter().map(|p| p.0).collect();
        seqs.sort();
        assert_eq!(seqs.len(), 2 * MERGE_BELOW as usize);
        assert_eq!(seqs.first(), Some(&4000));
    }

    #[test]
    fn small_batches_share_a_segment_and_their_entries_can_still_be_taken_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // A node indexing one post at a time.
        for seq in 1..=10u64 {
            store
                .apply_index(&[put(entry_seq(seq), doc(&[("grant", 1)]), None)], seq)
                .unwrap();
        }
        assert_eq!(segments(&store, "grant"), 1, "one segment, not ten");
        assert_eq!(ids(&store, "grant"), (1..=10).collect::<Vec<_>>());
        assert_eq!(store.term_entries("grant").unwrap(), 10);

        // The first post edited: its posting moved into the tenth batch's segment, and is
        // found there.
        let had = doc(&[("grant", 1)]);
        store
            .apply_index(
                &[put(entry_seq(1), doc(&[("lottery", 1)]), Some(had.clone()))],
                11,
            )
            .unwrap();
        assert_eq!(ids(&store, "grant"), (2..=10).collect::<Vec<_>>());
        assert_eq!(store.term_entries("grant").unwrap(), 9);
        assert_eq!(ids(&store, "lottery"), [1]);

        // A full segment, then one more batch: a second segment, and an early entry (in
        // the full one) and a late one (in the new one) are both taken out.
        let ops: Vec<IndexOp> = (100..100 + u64::from(MERGE_BELOW))
            .map(|seq| put(entry_seq(seq), doc(&[("grant", 1)]), None))
            .collect();
        store.apply_index(&ops, 1000).unwrap();
        store
            .apply_index(&[put(entry_seq(1001), doc(&[("grant", 1)]), None)], 1001)
            .unwrap();
        assert_eq!(segments(&store, "grant"), 2);
        let remove = |seq| IndexOp::Remove {
            entry: entry_seq(seq),
            indexed: Some(had.clone()),
        };
        store.apply_index(&[remove(5), remove(1001)], 1002).unwrap();
        let held = ids(&store, "grant");
        assert!(!held.contains(&5) && !held.contains(&1001));
        assert_eq!(held.len(), 8 + MERGE_BELOW as usize);
        assert_eq!(store.term_entries("grant").unwrap(), held.len() as u64);
        assert_eq!(segments(&store, "grant"), 1, "the emptied segment went");
    }

    const WORDS: [&str; 4] = ["grant", "bid", "fund", "rota"];

    /// A batch's ops: (entry 0..16, words as a bit set: 0 removes the entry).
    fn batches() -> impl Strategy<Value = Vec<Vec<(u8, u8)>>> {
        let op = (0u8..16, 0u8..16);
        proptest::collection::vec(proptest::collection::vec(op, 1..8), 1..30)
    }

    proptest! {
        // Memory engine: fast enough for CI's PROPTEST_CASES.
        #[test]
        fn the_index_holds_what_was_indexed_however_segments_merged(
            batches in batches(),
            merge_below in 1u32..6,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open_on(dir.path(), super::super::kv::Engine::Memory).unwrap();
            // What each entry's indexed version holds, as the indexer would read it again.
            let mut model: HashMap<u64, SearchDoc> = HashMap::new();
            for (n, batch) in batches.iter().enumerate() {
                let before = model.clone();
                let ops: Vec<IndexOp> = batch
                    .iter()
                    .map(|&(entry, words)| {
                        let entry = entry_seq(u64::from(entry) + 1);
                        let indexed = before.get(&entry.local_seq).cloned();
                        if words == 0 {
                            model.remove(&entry.local_seq);
                            return IndexOp::Remove { entry, indexed };
                        }
                        let terms: Vec<(&str, u32)> = WORDS
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| words & (1 << i) != 0)
                            .map(|(i, w)| (*w, i as u32 + 1))
                            .collect();
                        model.insert(entry.local_seq, doc(&terms));
                        put(entry, doc(&terms), indexed)
                    })
                    .collect();
                store.apply_index_merging(&ops, 100 + n as u64, merge_below).unwrap();
            }
            for word in WORDS {
                let mut want: Vec<Posting> = model
                    .iter()
                    .filter_map(|(seq, d)| d.terms.get(word).map(|tf| (*seq, *tf, d.len)))
                    .collect();
                want.sort();
                let mut held = store.postings(word, usize::MAX).unwrap();
                held.sort();
                prop_assert_eq!(&held, &want, "{}", word);
                prop_assert_eq!(store.term_entries(word).unwrap(), want.len() as u64);
            }
            let total: u64 = model.values().map(|d| u64::from(d.len)).sum();
            prop_assert_eq!(store.index_stats().unwrap(), (model.len() as u64, total));
        }
    }
}
