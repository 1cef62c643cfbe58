//! Compaction: rewriting the database into a fresh folder after an erasure, or after
//! take-downs replaced much of it.
//!
//! sled appends; what an erasure removes stays in the files' free space until sled reuses
//! it, which may be never, and redb leaves the pages a take-down emptied half full. So
//! after an erasure (`erasures` tree, key `c`), or once redactions replaced an eighth of
//! the database's size (key `t`), the next start copies every live record into
//! `db.compacting`, then swaps it in. The search index is
//! not copied (it holds words of erased posts); the node rebuilds it from the event log.
//!
//! Crash-safe: the copy is complete and flushed before `db.compacted` (an empty marker)
//! is written; a start that finds the marker finishes the swap, and one that finds a
//! `db.compacting` without it throws the partial copy away.

use std::path::{Path, PathBuf};

use super::backup::Item;
#[cfg(test)]
use super::erasures::{COMPACT_KEY, REDACTED_KEY};
use super::kv::Engine;
use super::{SnapshotError, Store, StoreError};

/// Records written to the fresh database per batch.
const BATCH: usize = 2_000;

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    db.with_file_name(name)
}

/// Compacts the database in `db` if an erasure or take-downs asked for it, finishing or
/// discarding an interrupted compaction first. Returns whether it compacted.
///
/// A compaction that would not fit on the disk (the copy needs about the database's size
/// free) is skipped with a warning, and one whose copy fails on a full disk is thrown
/// away: it only gives space back, so it never stops a start. It stays due for the next.
///
/// Errors: [`StoreError`] when the database cannot be read, or the copy cannot be thrown
/// away or swapped in (the original is left in place, untouched).
pub(crate) fn compact_if_due(db: &Path) -> Result<bool, StoreError> {
    finish_interrupted(db)?;
    let (fresh, marker, old) = (
        sibling(db, ".compacting"),
        sibling(db, ".compacted"),
        sibling(db, ".old"),
    );
    if super::kv::Engine::holding_data_in(db).is_none() {
        // Nothing to compact (a first start; an emptied database is refused later).
        return Ok(false);
    }
    let store = Store::open_as_is(db)?;
    if !store.compaction_due()? {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let before = store.size_on_disk()?;
    let free = free_bytes(db);
    if free.is_some_and(|free| free < before) {
        tracing::warn!(
            database_bytes = before,
            free_bytes = free,
            "a compaction is due (after an erasure or many take-downs) but the disk has too little room for the copy; skipped, and tried at the next start. Until then, erased or retracted words may remain in the database's free space"
        );
        return Ok(false);
    }
    let copied = copy_into(&store, &fresh, store.engine());
    drop(store);
    // The copy is only taken once the marker says it is whole.
    let marked = copied.and_then(|()| std::fs::File::create(&marker).map(drop).map_err(io));
    if let Err(e) = marked {
        if fresh.exists() {
            std::fs::remove_dir_all(&fresh).map_err(io)?;
        }
        if e.is_full() {
            tracing::warn!(error = %e, "the disk filled up during a compaction (space or inodes); the copy was thrown away and the node goes on (tried again at the next start)");
            return Ok(false);
        }
        return Err(e);
    }
    sync_dir(db)?;
    finish_swap(db, &fresh, &marker, &old)?;
    std::fs::remove_dir_all(&old).map_err(io)?;
    tracing::info!(
        before_bytes = before,
        after_bytes = dir_size(db),
        ms = started.elapsed().as_millis() as u64,
        "database compacted after an erasure: erased content is gone from its files"
    );
    Ok(true)
}

/// Finishes a compaction a stop interrupted (its copy complete, with its marker: swapped
/// in, even when the original was already moved aside and `db` is missing) or throws its
/// partial copy away. Run before anything looks for the database in `db`.
///
/// Errors: the swap or the removal failed (I/O).
pub(crate) fn finish_interrupted(db: &Path) -> Result<(), StoreError> {
    let fresh = sibling(db, ".compacting");
    let marker = sibling(db, ".compacted");
    let old = sibling(db, ".old");
    if marker.exists() {
        finish_swap(db, &fresh, &marker, &old)?;
    } else if fresh.exists() {
        std::fs::remove_dir_all(&fresh).map_err(io)?;
    }
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io)?;
    }
    Ok(())
}

/// Copies every record of `store` but the search index (and a due compaction's marks)
/// into a new database in `fresh` on `engine`, flushed when this returns. Idempotency
/// records are copied: a client retrying across the restart must still be recognised.
pub(crate) fn copy_into(store: &Store, fresh: &Path, engine: Engine) -> Result<(), StoreError> {
    let target = Store::open_as_is_on(fresh, engine)?;
    let mut tree: Option<&'static str> = None;
    let mut batch: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut failed: Option<StoreError> = None;
    let flush = |tree: Option<&'static str>, batch: &mut Vec<(Vec<u8>, Vec<u8>)>| {
        if let (Some(name), false) = (tree, batch.is_empty()) {
            let result = target.load(name, batch);
            batch.clear();
            return result;
        }
        Ok(())
    };
    let result = store.snapshot_leaving(&super::backup::SEARCH_INDEX, |item| {
        let outcome = match item {
            Item::Tree(name) => {
                let r = flush(tree, &mut batch);
                tree = Some(name);
                r
            }
            Item::Record(k, v) => {
                batch.push((k.to_vec(), v.to_vec()));
                if batch.len() >= BATCH {
                    flush(tree, &mut batch)
                } else {
                    Ok(())
                }
            }
        };
        outcome.map_err(|e| {
            failed = Some(e);
            std::io::Error::other("copy failed")
        })
    });
    match result {
        Ok(()) => {}
        Err(SnapshotError::Store(e)) => return Err(e),
        Err(SnapshotError::Sink(_)) => {
            return Err(failed.unwrap_or(StoreError::Closed));
        }
    }
    flush(tree, &mut batch)?;
    target.flush_now()?;
    Ok(())
}

fn finish_swap(db: &Path, fresh: &Path, marker: &Path, old: &Path) -> Result<(), StoreError> {
    if fresh.exists() {
        if db.exists() {
            std::fs::rename(db, old).map_err(io)?;
        }
        std::fs::rename(fresh, db).map_err(io)?;
    }
    sync_dir(db)?;
    std::fs::remove_file(marker).map_err(io)?;
    sync_dir(db)
}

/// Bytes free for this user on the file system holding `db` (`None` if it cannot say).
fn free_bytes(db: &Path) -> Option<u64> {
    let dir = db.parent().unwrap_or(db);
    rustix::fs::statvfs(dir)
        .ok()
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
}

fn sync_dir(db: &Path) -> Result<(), StoreError> {
    if let Some(parent) = db.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Storage(super::kv::KvError::from_io(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_contain(dir: &Path, needle: &[u8]) -> bool {
        walk(dir).iter().any(|path| {
            std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        })
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[test]
    fn what_was_removed_leaves_the_files_and_the_rest_stays() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("db");
        let engine = {
            let store = Store::open(&db).expect("open");
            let t = store.writer();
            t.profiles
                .insert(b"gone", &b"ERASED-MARKER-7f3a"[..])
                .expect("insert");
            t.profiles
                .insert(b"kept", &b"still here"[..])
                .expect("insert");
            store.flush_now().expect("flush");
            t.profiles.remove(b"gone").expect("remove");
            // Words a redaction replaced, waiting for the indexer: not copied either.
            t.erasures
                .insert(
                    &super::super::ingest::stash_key_for_tests(7, 3)[..],
                    &b"RETRACTED-MARKER-9c1d"[..],
                )
                .expect("stash");
            t.idempotency
                .insert(b"scope-key", &b"an answer"[..])
                .expect("answer");
            t.erasures.insert(COMPACT_KEY, []).expect("mark");
            drop(t);
            store.flush_now().expect("flush");
            store.engine()
        };
        if engine == Engine::Sled {
            assert!(
                files_contain(&db, b"ERASED-MARKER-7f3a"),
                "sled keeps removed values in its files: the reason this exists"
            );
        }
        assert!(compact_if_due(&db).expect("compact"));
        assert!(!files_contain(dir.path(), b"ERASED-MARKER-7f3a"));
        assert!(!files_contain(dir.path(), b"RETRACTED-MARKER-9c1d"));
        let store = Store::open(&db).expect("open again");
        assert_eq!(
            store
                .trees()
                .profiles
                .get(b"kept")
                .expect("read")
                .as_deref(),
            Some(&b"still here"[..])
        );
        // Idempotency records stay: a retry across the restart is still recognised.
        assert!(
            store
                .trees()
                .idempotency
                .get(b"scope-key")
                .expect("read")
                .is_some()
        );
        assert!(!store.compaction_due().expect("read"));
        // Take-downs that replaced an eighth of the size make one due (a byte does not).
        let size = store.size_on_disk().expect("size");
        store
            .writer()
            .erasures
            .insert(REDACTED_KEY, 1u64.to_be_bytes())
            .expect("count");
        assert!(!store.compaction_due().expect("read"));
        store
            .writer()
            .erasures
            .insert(REDACTED_KEY, size.to_be_bytes())
            .expect("count");
        assert!(store.compaction_due().expect("read"));
        store.writer().erasures.remove(REDACTED_KEY).expect("reset");
        drop(store);
        assert!(!compact_if_due(&db).expect("nothing due"));
    }

    #[test]
    fn an_interrupted_compaction_is_finished_or_thrown_away() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("db");
        drop(Store::open(&db).expect("open"));
        // A copy left without its marker: thrown away, the original kept.
        std::fs::create_dir(sibling(&db, ".compacting")).expect("partial copy");
        assert!(!compact_if_due(&db).expect("recover"));
        assert!(!sibling(&db, ".compacting").exists());
        assert!(db.exists());
        // A complete copy with its marker, the original already moved: swapped in.
        std::fs::rename(&db, sibling(&db, ".compacting")).expect("move");
        std::fs::File::create(sibling(&db, ".compacted")).expect("marker");
        assert!(!compact_if_due(&db).expect("recover"));
        assert!(db.exists());
        assert!(!sibling(&db, ".compacted").exists());
        drop(Store::open(&db).expect("opens"));
    }
}
