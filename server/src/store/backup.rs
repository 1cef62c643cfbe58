//! A point-in-time copy of every tree, for backups, and loading one into an empty store,
//! for restores. The copy is logical (tree, key, value), so a backup does not depend on
//! the engine's file layout.
//!
//! Consistency: every write to the store holds the write gate shared ([`Store::writer`]);
//! a snapshot holds it exclusively while it reads, so it sees each transaction whole or not
//! at all. Writers wait (they are not refused) for as long as the snapshot takes.

use std::cell::Cell;
use std::ops::Deref;
use std::sync::RwLockReadGuard;

use super::{Store, StoreError, Trees};

thread_local! {
    /// How many write guards this thread holds: a store write made inside another one
    /// must not wait for the gate again (a snapshot waiting between them would deadlock).
    static WRITING: Cell<u32> = const { Cell::new(0) };
}

/// The trees, held for writing: while any of these lives, no snapshot is being taken.
pub(crate) struct Writing<'a> {
    trees: &'a Trees,
    _gate: Option<RwLockReadGuard<'a, ()>>,
}

impl Deref for Writing<'_> {
    type Target = Trees;
    fn deref(&self) -> &Trees {
        self.trees
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        WRITING.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// One thing a snapshot hands over, in order: a tree's name, then its records.
pub(crate) enum Item<'a> {
    /// The records that follow belong to this tree.
    Tree(&'static str),
    /// A key and its value.
    Record(&'a [u8], &'a [u8]),
}

/// Why a snapshot stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The receiver of the snapshot failed (a full disk, a closed connection).
    #[error("writing the backup failed: {0}")]
    Sink(#[source] std::io::Error),
}

impl Store {
    /// The trees, for a write. Every write to the store goes through this (reads use
    /// [`Store::trees`]); see the module comment.
    pub(crate) fn writer(&self) -> Writing<'_> {
        let depth = WRITING.with(Cell::get);
        let gate = (depth == 0).then(|| {
            self.shared
                .gate
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        });
        WRITING.with(|d| d.set(depth + 1));
        Writing {
            trees: &self.shared.trees,
            _gate: gate,
        }
    }

    /// The first record in which `other` differs from this database (the search index
    /// left out: it is rebuilt), or `None` when they hold the same.
    pub(crate) fn first_difference(&self, other: &Store) -> Result<Option<String>, StoreError> {
        for ((name, mine), (_, theirs)) in self.trees().all().into_iter().zip(other.trees().all()) {
            if REBUILT.contains(&name) {
                continue;
            }
            let kept = |r: &Result<(super::kv::Value, super::kv::Value), super::kv::KvError>| !matches!(r, Ok((k, _)) if left_out_of_copies(name, k));
            let mut a = mine.iter().filter(kept);
            let mut b = theirs.iter().filter(kept);
            loop {
                match (a.next().transpose()?, b.next().transpose()?) {
                    (None, None) => break,
                    (Some(x), Some(y)) if x == y => {}
                    (Some((k, _)), _) | (None, Some((k, _))) => {
                        return Ok(Some(format!("{name}: the record {k:?} differs")));
                    }
                }
            }
        }
        Ok(None)
    }

    /// About how many records a snapshot will hand over (for a progress bar; counted
    /// without stopping writers, so it may be a little off).
    pub(crate) fn record_estimate(&self) -> u64 {
        self.trees()
            .all()
            .iter()
            .filter(|(name, _)| !REBUILT.contains(name))
            // Counted by hand so a tree that cannot be read ends the count (sled's own
            // `len` retries a failing page for ever).
            .map(|(_, t)| t.iter().map_while(Result::ok).count() as u64)
            .sum()
    }

    /// Hands every tree's records to `sink`, tree by tree, as of one moment: writes wait
    /// until it returns. The search index is left out ([`REBUILT`]): it is three quarters
    /// of the bytes, and a restored node rebuilds it from the event log.
    ///
    /// Errors: [`SnapshotError::Store`] when a tree cannot be read,
    /// [`SnapshotError::Sink`] when `sink` fails (the snapshot stops there).
    pub(crate) fn snapshot(
        &self,
        sink: impl FnMut(Item<'_>) -> std::io::Result<()>,
    ) -> Result<(), SnapshotError> {
        self.snapshot_leaving(&REBUILT, sink)
    }

    /// As [`Store::snapshot`], leaving out the trees named in `leave` (which must include
    /// the search index: the words it still has to take out are left out too).
    pub(crate) fn snapshot_leaving(
        &self,
        leave: &[&str],
        mut sink: impl FnMut(Item<'_>) -> std::io::Result<()>,
    ) -> Result<(), SnapshotError> {
        let _all = self
            .shared
            .gate
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (name, tree) in self.trees().all() {
            if leave.contains(&name) {
                continue;
            }
            sink(Item::Tree(name)).map_err(SnapshotError::Sink)?;
            for record in tree.iter() {
                let (k, v) = record.map_err(StoreError::Storage)?;
                if left_out_of_copies(name, &k) {
                    continue;
                }
                sink(Item::Record(&k, &v)).map_err(SnapshotError::Sink)?;
            }
        }
        Ok(())
    }

    /// Whether the store holds nothing yet but what opening it wrote (the schema version).
    pub(crate) fn is_fresh(&self) -> bool {
        self.trees()
            .all()
            .iter()
            .all(|(name, t)| *name == "meta" || t.is_empty())
    }

    /// Writes `records` into the tree called `tree` (a restore into a fresh store).
    ///
    /// Errors: [`StoreError::Corrupt`] for a tree this Kindred does not have,
    /// [`StoreError::Db`] when writing fails.
    pub(crate) fn load(
        &self,
        tree: &str,
        records: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let trees = self.writer();
        let Some((_, target)) = trees.all().into_iter().find(|(name, _)| *name == tree) else {
            return Err(StoreError::corrupt(
                "backup",
                std::io::Error::other(format!("unknown tree {tree}")),
            ));
        };
        let mut batch = super::kv::Batch::default();
        for (k, v) in records {
            batch.insert(k.as_slice(), v.as_slice());
        }
        target.apply_batch(batch)?;
        Ok(())
    }

    /// Whether this Kindred has a tree of that name.
    pub(crate) fn has_tree(name: &str) -> bool {
        TREE_NAMES.contains(&name)
    }
}

/// Records no copy carries (a backup, a compaction, a migration), beyond whole trees: in
/// `erasures`, the words redactions replaced that wait for the search indexer (every copy
/// leaves the index out, to be rebuilt, so nothing needs them, and a copy must not carry
/// retracted words), and the marks of a compaction due (a copy is compacted).
pub(crate) fn left_out_of_copies(tree: &str, key: &[u8]) -> bool {
    tree == "erasures"
        && (key.first() == Some(&super::ingest::STASH_TAG)
            || key == super::erasures::COMPACT_KEY
            || key == super::erasures::REDACTED_KEY)
}

/// The search index's trees: the node rebuilds them from the event log when they are
/// empty (`node/search`: no watermark means a full rebuild).
pub(crate) const SEARCH_INDEX: [&str; 3] = ["search_postings", "search_docs", "search_meta"];

/// Trees a snapshot (a backup) leaves out: the search index, and the idempotency records,
/// which matter for an hour only.
const REBUILT: [&str; 4] = [
    "search_postings",
    "search_docs",
    "search_meta",
    "idempotency",
];

/// Every tree's name, in the order snapshots list them.
const TREE_NAMES: [&str; 35] = [
    "meta",
    "events",
    "event_ids",
    "origin_runs",
    "origin_head",
    "topic_timeline",
    "thread_replies",
    "author_timeline",
    "reactions",
    "topic_stats",
    "topics",
    "members",
    "sessions",
    "member_sessions",
    "invites",
    "search_postings",
    "search_docs",
    "search_meta",
    "peers",
    "peer_invites",
    "blocked_nodes",
    "outbox",
    "origin_names",
    "profiles",
    "chat",
    "mentoring",
    "node_names",
    "held",
    "conflicts",
    "introducers",
    "password_resets",
    "erasures",
    "idempotency",
    "notifications",
    "moderation",
];

impl Trees {
    /// Every tree with its name (the names are [`TREE_NAMES`], in that order).
    pub(crate) fn all(&self) -> [(&'static str, &super::kv::Keyspace); 35] {
        let trees = [
            &self.meta,
            &self.events,
            &self.event_ids,
            &self.origin_runs,
            &self.origin_head,
            &self.topic_timeline,
            &self.thread_replies,
            &self.author_timeline,
            &self.reactions,
            &self.topic_stats,
            &self.topics,
            &self.members,
            &self.sessions,
            &self.member_sessions,
            &self.invites,
            &self.search_postings,
            &self.search_docs,
            &self.search_meta,
            &self.peers,
            &self.peer_invites,
            &self.blocked_nodes,
            &self.outbox,
            &self.origin_names,
            &self.profiles,
            &self.chat,
            &self.mentoring,
            &self.node_names,
            &self.held,
            &self.conflicts,
            &self.introducers,
            &self.password_resets,
            &self.erasures,
            &self.idempotency,
            &self.notifications,
            &self.moderation,
        ];
        std::array::from_fn(|i| (TREE_NAMES[i], trees[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(store: &Store) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        let mut tree = "";
        store
            .snapshot(|item| {
                match item {
                    Item::Tree(name) => tree = name,
                    Item::Record(k, v) => out.push((tree.to_owned(), k.to_vec(), v.to_vec())),
                }
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn the_names_match_the_trees_sled_holds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (name, tree) in store.trees().all() {
            assert_eq!(tree.name(), name);
        }
    }

    #[test]
    fn a_snapshot_loaded_into_a_fresh_store_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.writer().members.insert(b"ann", b"{}").unwrap();
        store.writer().peers.insert(b"p", b"x").unwrap();
        store.writer().search_postings.insert(b"t", b"x").unwrap();
        let taken = records(&store);
        assert!(
            taken.iter().all(|(t, _, _)| t != "search_postings"),
            "the index is rebuilt, not backed up"
        );
        let other = tempfile::tempdir().unwrap();
        let fresh = Store::open(other.path()).unwrap();
        assert!(fresh.is_fresh());
        type Records = Vec<(Vec<u8>, Vec<u8>)>;
        let mut by_tree: std::collections::BTreeMap<String, Records> = Default::default();
        for (t, k, v) in &taken {
            by_tree
                .entry(t.clone())
                .or_default()
                .push((k.clone(), v.clone()));
        }
        for (t, recs) in &by_tree {
            fresh.load(t, recs).unwrap();
        }
        assert!(!fresh.is_fresh());
        assert_eq!(records(&fresh), taken);
        assert!(fresh.load("no_such_tree", &[]).is_err());
    }

    #[test]
    fn a_write_inside_a_write_does_not_wait_for_the_gate_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let outer = store.writer();
        let inner = store.writer();
        inner.members.insert(b"a", b"1").unwrap();
        drop(inner);
        drop(outer);
        // The gate is free again: a snapshot can be taken.
        assert!(!records(&store).is_empty());
    }
}
