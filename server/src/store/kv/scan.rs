//! Scans: owned key ranges, and the paged iterator every engine's scans go through.

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use super::{Entry, KeyspaceOps, KvError, Value};

/// A range of keys, owned.
#[derive(Clone, Debug)]
pub(crate) struct KeyRange {
    pub(crate) lower: Bound<Vec<u8>>,
    pub(crate) upper: Bound<Vec<u8>>,
}

impl KeyRange {
    pub(super) fn of<K: AsRef<[u8]>, R: RangeBounds<K>>(range: R) -> Self {
        let own = |b: Bound<&K>| match b {
            Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
            Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        Self {
            lower: own(range.start_bound()),
            upper: own(range.end_bound()),
        }
    }

    /// Every key starting with `prefix`.
    pub(crate) fn prefix(prefix: &[u8]) -> Self {
        Self {
            lower: Bound::Included(prefix.to_vec()),
            upper: match prefix_end(prefix) {
                Some(end) => Bound::Excluded(end),
                None => Bound::Unbounded,
            },
        }
    }

    /// Whether no key can be inside (a reversed or empty range).
    pub(crate) fn is_empty(&self) -> bool {
        match (&self.lower, &self.upper) {
            (Bound::Included(l), Bound::Included(u)) => l > u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(u))
            | (Bound::Excluded(l), Bound::Included(u)) => l >= u,
            _ => false,
        }
    }

    /// The rest of the range after `key` has been seen (going forward) or before it
    /// (going backward).
    pub(crate) fn after(&self, key: &[u8], reverse: bool) -> Self {
        let mut next = self.clone();
        if reverse {
            next.upper = Bound::Excluded(key.to_vec());
        } else {
            next.lower = Bound::Excluded(key.to_vec());
        }
        next
    }
}

/// The first key after every key starting with `prefix` (none if it is all 0xFF).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Entries of a keyspace in key order (or reverse, with [`Iter::rev`] before the first
/// `next`), read in pages so no read lock is held between pages.
pub(crate) struct Iter {
    ops: Arc<dyn KeyspaceOps>,
    range: KeyRange,
    reverse: bool,
    page: std::vec::IntoIter<Entry>,
    /// Entries the next read asks for: [`FIRST_PAGE`], doubling up to [`PAGE`].
    next_page: usize,
    done: bool,
    failed: bool,
}

/// Entries read at a time at most: enough to make paging cheap, few enough to keep memory
/// flat.
const PAGE: usize = 256;
/// Entries the first read asks for: most scans stop after a few (the newest page of a
/// timeline, the last run before a number), and a full page of 256 was most of their cost.
const FIRST_PAGE: usize = 16;

impl Iter {
    pub(super) fn new(ops: Arc<dyn KeyspaceOps>, range: KeyRange) -> Self {
        let done = range.is_empty();
        Self {
            ops,
            range,
            reverse: false,
            page: Vec::new().into_iter(),
            next_page: FIRST_PAGE,
            done,
            failed: false,
        }
    }

    /// Goes from the greatest key down instead.
    pub(crate) fn rev(mut self) -> Self {
        self.reverse = !self.reverse;
        self
    }
}

impl Iterator for Iter {
    type Item = Result<(Value, Value), KvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((k, v)) = self.page.next() {
            return Some(Ok((Value::from(k), Value::from(v))));
        }
        if self.done || self.failed {
            return None;
        }
        let asked = self.next_page;
        self.next_page = (asked * 2).min(PAGE);
        match self.ops.scan(&self.range, self.reverse, asked) {
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
            Ok(page) => {
                if page.len() < asked {
                    self.done = true;
                }
                if let Some((last, _)) = page.last() {
                    self.range = self.range.after(last, self.reverse);
                }
                self.page = page.into_iter();
                self.page
                    .next()
                    .map(|(k, v)| Ok((Value::from(k), Value::from(v))))
            }
        }
    }
}
