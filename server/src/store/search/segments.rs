//! A term's segments in `search_postings` (see the parent module for the layout): posting
//! lists' binary form, a term's statistics in `search_meta`, and the steps of an indexing
//! transaction that take an entry's postings out and merge a term's small newest segment
//! into the batch's own.

use std::collections::HashMap;

use super::super::StoreError;
use super::super::events::{BadRecord, Reader, put_varint};
use super::super::keys::text_prefix;
use super::super::kv::TxKeyspace;
use super::SearchDoc;

/// Prefix of a term's document frequency in `search_meta`.
const DF: &[u8] = b"df";

/// A term's newest segment holding fewer postings than this is merged into the next
/// batch's segment for the term: reading a term's newest 20,000 postings then takes about
/// 80 reads at most, not one per indexing batch. Such a segment's value is about 1 KiB.
pub(crate) const MERGE_BELOW: u32 = 256;

/// What `search_meta` holds for a term: 8 + 8 + 4 bytes, big-endian.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TermStats {
    /// Entries holding the term (BM25's document frequency).
    pub(crate) entries: u64,
    /// The term's newest segment (0: none yet).
    pub(crate) newest: u64,
    /// Its postings when it was written (an edit or retraction since may have taken some
    /// out: this only decides merging).
    pub(crate) newest_len: u32,
}

impl TermStats {
    pub(super) fn encode(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[..8].copy_from_slice(&self.entries.to_be_bytes());
        out[8..16].copy_from_slice(&self.newest.to_be_bytes());
        out[16..].copy_from_slice(&self.newest_len.to_be_bytes());
        out
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let b: [u8; 20] = bytes
            .try_into()
            .map_err(|_| StoreError::corrupt("search_meta", BadRecord))?;
        let (mut entries, mut newest, mut newest_len) = ([0u8; 8], [0u8; 8], [0u8; 4]);
        entries.copy_from_slice(&b[..8]);
        newest.copy_from_slice(&b[8..16]);
        newest_len.copy_from_slice(&b[16..]);
        Ok(Self {
            entries: u64::from_be_bytes(entries),
            newest: u64::from_be_bytes(newest),
            newest_len: u32::from_be_bytes(newest_len),
        })
    }
}

/// One posting: the entry's arrival number, the term's frequency in it, its length.
pub(crate) type Posting = (u64, u32, u32);

pub(super) fn df_key(term: &str) -> Vec<u8> {
    let mut key = DF.to_vec();
    key.extend_from_slice(&text_prefix(term));
    key
}

pub(super) fn posting_key(term: &str, segment: u64) -> Vec<u8> {
    let mut key = text_prefix(term);
    key.extend_from_slice(&segment.to_be_bytes());
    key
}

/// One posting list's bytes, sorted by arrival number (the list is sorted in place).
pub(super) fn encode_postings(list: &mut [Posting]) -> Vec<u8> {
    list.sort_unstable_by_key(|p| p.0);
    let mut out = Vec::with_capacity(list.len() * 4);
    let mut previous = 0;
    for &(seq, tf, len) in list.iter() {
        put_varint(&mut out, seq - previous);
        put_varint(&mut out, u64::from(tf));
        put_varint(&mut out, u64::from(len));
        previous = seq;
    }
    out
}

/// Reads one posting list's bytes, appending at most `room` postings to `out`.
pub(super) fn decode_postings(
    bytes: &[u8],
    out: &mut Vec<Posting>,
    room: usize,
) -> Result<(), BadRecord> {
    let mut r = Reader(bytes);
    let mut seq = 0u64;
    let mut taken = 0;
    while !r.is_empty() && taken < room {
        seq = seq.checked_add(r.varint()?).ok_or(BadRecord)?;
        let tf = u32::try_from(r.varint()?).map_err(|_| BadRecord)?;
        let len = u32::try_from(r.varint()?).map_err(|_| BadRecord)?;
        out.push((seq, tf, len));
        taken += 1;
    }
    Ok(())
}

/// A posting list's bytes without the entry `seq` (`None`: it was not there).
pub(super) fn without(entries: &[u8], seq: u64) -> Result<Option<Vec<u8>>, BadRecord> {
    let mut list = Vec::new();
    decode_postings(entries, &mut list, usize::MAX)?;
    let before = list.len();
    list.retain(|p| p.0 != seq);
    Ok((list.len() < before).then(|| encode_postings(&mut list)))
}

/// The segment a `search_postings` key names (its last 8 bytes).
pub(super) fn segment_of(key: &[u8]) -> Result<u64, StoreError> {
    key.len()
        .checked_sub(8)
        .and_then(|at| key.get(at..))
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::corrupt("search_postings", BadRecord))
}

pub(super) type TxError = super::super::kv::TxError<StoreError>;

/// Where the postings of entries a batch re-indexes or removes lie, by (arrival number,
/// term): the first of the term's segments at or after the entry's own. Found before the
/// batch's transaction, which can read single keys only; the indexer is the index's only
/// writer, so nothing moves them meanwhile.
pub(super) type Located<'d> = HashMap<(u64, &'d str), u64>;

/// Removes an indexed entry's postings (its terms `doc`) from where `located` found them.
pub(super) fn remove_postings<'d>(
    postings: &TxKeyspace<'_>,
    seq: u64,
    doc: &'d SearchDoc,
    located: &Located<'d>,
    df: &mut HashMap<&'d str, i64>,
) -> Result<(), TxError> {
    for term in doc.terms.keys() {
        let Some(segment) = located.get(&(seq, term.as_str())) else {
            continue;
        };
        let key = posting_key(term, *segment);
        let Some(entries) = postings.get(&key)? else {
            continue;
        };
        let rest = without(&entries, seq)
            .map_err(|e| TxError::Abort(StoreError::corrupt("search_postings", e)))?;
        let Some(rest) = rest else {
            continue;
        };
        *df.entry(term.as_str()).or_default() -= 1;
        if rest.is_empty() {
            postings.remove(key)?;
        } else {
            postings.insert(key, rest)?;
        }
    }
    Ok(())
}

/// Takes `term`'s newest segment into `list` (this batch's postings for it), removing its
/// key; an entry in both counts once, as this batch has it.
pub(super) fn take_newest(
    postings: &TxKeyspace<'_>,
    term: &str,
    held: &TermStats,
    list: &mut Vec<Posting>,
) -> Result<(), TxError> {
    if held.newest == 0 {
        return Ok(());
    }
    let key = posting_key(term, held.newest);
    let Some(bytes) = postings.get(&key)? else {
        return Ok(());
    };
    decode_postings(&bytes, list, usize::MAX)
        .map_err(|e| TxError::Abort(StoreError::corrupt("search_postings", e)))?;
    postings.remove(key)?;
    // Stable: of two postings of one entry, this batch's (first in `list`) stays.
    list.sort_by_key(|p| p.0);
    list.dedup_by_key(|p| p.0);
    Ok(())
}

/// A term's statistics in `search_meta` (all zero when it has none).
pub(super) fn term_stats(meta: &TxKeyspace<'_>, key: &[u8]) -> Result<TermStats, TxError> {
    match meta.get(key)? {
        None => Ok(TermStats::default()),
        Some(v) => TermStats::decode(&v).map_err(TxError::Abort),
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

    #[test]
    fn posting_lists_survive_their_binary_form_in_any_order() {
        let mut list = vec![
            (300, 1, 40),
            (7, 2, 1),
            (u64::MAX, u32::MAX, u32::MAX),
            (8, 1, 200),
        ];
        let bytes = encode_postings(&mut list);
        let mut back = Vec::new();
        decode_postings(&bytes, &mut back, usize::MAX).unwrap();
        assert_eq!(
            back,
            [
                (7, 2, 1),
                (8, 1, 200),
                (300, 1, 40),
                (u64::MAX, u32::MAX, u32::MAX)
            ]
        );
        // Small numbers take a byte each: a posting of a nearby entry is 3 bytes.
        assert_eq!(encode_postings(&mut [(5, 1, 90), (6, 1, 100)]).len(), 6);
        let mut some = Vec::new();
        decode_postings(&bytes, &mut some, 2).unwrap();
        assert_eq!(some.len(), 2, "stops at the room given");
        assert!(
            without(&bytes, 8).unwrap().unwrap().len() < bytes.len(),
            "an entry can be taken out"
        );
        assert_eq!(
            without(&bytes, 9).unwrap(),
            None,
            "nor one that is not there"
        );
        // A list cut short, or a varint running past 10 bytes, is damage.
        assert!(decode_postings(&bytes[..bytes.len() - 1], &mut Vec::new(), usize::MAX).is_err());
        assert!(decode_postings(&[0xff; 11], &mut Vec::new(), usize::MAX).is_err());
    }

    #[test]
    fn a_terms_statistics_survive_their_binary_form() {
        let t = TermStats {
            entries: 12_345,
            newest: u64::MAX,
            newest_len: 7,
        };
        assert_eq!(TermStats::decode(&t.encode()).unwrap(), t);
        assert!(TermStats::decode(&t.encode()[..19]).is_err());
        assert!(
            TermStats::decode(&42u64.to_be_bytes()).is_err(),
            "the old layout"
        );
    }
}
