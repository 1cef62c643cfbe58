//! The acknowledged mark: where the arrival log ended when writers were last told their
//! events were stored, kept in a small file (`acknowledged`) beside the engine's files.
//!
//! Why: an engine that checksums its commits (redb) takes a newest commit whose pages
//! fail their checksums for one a power cut tore, and opens the commit before it. After a
//! power cut that is right (nobody was told the torn commit's writes were stored), but
//! when the pages were damaged later it silently drops writes that were acknowledged.
//! The mark tells the two apart: a log that ends before the mark went back.
//!
//! The mark is written after each durable group, before anyone is answered, with one
//! positioned write and no sync of its own: it need only outlive the process. A mark
//! older than the log (a power cut lost its last writes) is never wrong, and the log only
//! grows past a mark written after it was durable. It holds the log's end exactly, not its
//! highest end: refusing a held directed event removes its record, and when that record is
//! the log's very last and its group stores nothing new, the end goes down. So that a stop
//! before the lower mark is written (or a power cut that loses it) is not taken for lost
//! writes, the same commit keeps the highest removed number (`held::REMOVED_END_KEY`), and
//! the check takes the log's end as the larger of the two.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file's name, inside the database folder.
pub(crate) const FILE: &str = "acknowledged";

/// The mark as written: the number, then its complement (a file cut short or garbled is
/// then no mark at all rather than a wrong one).
fn encode(end: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&end.to_be_bytes());
    out[8..].copy_from_slice(&(!end).to_be_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<u64> {
    let end = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let check = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
    (check == !end).then_some(end)
}

/// The mark in `dir`, if there is a whole one (none before the first write, after a
/// compaction or a migration: their copies are complete).
pub(crate) fn read(dir: &Path) -> Option<u64> {
    let bytes = std::fs::read(dir.join(FILE)).ok()?;
    let end = decode(&bytes);
    if end.is_none() {
        tracing::warn!(
            file = %dir.join(FILE).display(),
            "the acknowledged mark is garbled; it is written again at the next write"
        );
    }
    end
}

/// Writes the mark of one database folder. The file is opened at the first write, so a
/// database only read (a check, a backup of a stopped node) is left as it was.
pub(crate) struct Mark {
    dir: PathBuf,
    /// The file (once opened) and the end last written to it.
    state: Mutex<Option<(std::fs::File, u64)>>,
    /// A failure to open or write the mark was logged (once is enough: it repeats for
    /// every group).
    warned: std::sync::atomic::AtomicBool,
}

impl Mark {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            state: Mutex::new(None),
            warned: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The database folder the mark is in.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records that the arrival log ends at `end` and all of it is durable. A failure is
    /// logged and otherwise ignored: the mark guards against an engine's silent loss, and
    /// a missing mark only means that loss would not be noticed.
    pub(crate) fn record(&self, end: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.as_ref().is_some_and(|(_, written)| *written == end) {
            return;
        }
        if state.is_none() {
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(self.dir.join(FILE))
            {
                Ok(file) => *state = Some((file, u64::MAX)),
                Err(e) => {
                    self.warn(&e);
                    return;
                }
            }
        }
        if let Some((file, written)) = state.as_mut() {
            match file.write_all_at(&encode(end), 0) {
                Ok(()) => *written = end,
                Err(e) => self.warn(&e),
            }
        }
    }
}

impl Mark {
    fn warn(&self, e: &std::io::Error) {
        if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                file = %self.dir.join(FILE).display(), error = %e,
                "cannot write the acknowledged mark: the node runs, but a database that loses its newest writes will not be noticed at the next start"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_ending_before_the_mark_is_refused_unless_its_end_was_removed() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("db");
        for engine in [
            super::super::kv::Engine::Redb,
            super::super::kv::Engine::Sled,
        ] {
            let _ = std::fs::remove_dir_all(&db);
            let store = super::super::Store::open_on(&db, engine).expect("open");
            let t = store.writer();
            for seq in 1..=5u64 {
                t.events
                    .insert(seq.to_be_bytes(), b"record")
                    .expect("write");
            }
            drop(t);
            store.acknowledge(5);
            store.flush_now().expect("flush");
            drop(store);
            let store = super::super::Store::open_on(&db, engine).expect("whole");
            // The last record goes without the mark being lowered: a crash in between.
            store
                .writer()
                .events
                .remove(5u64.to_be_bytes())
                .expect("remove");
            store.flush_now().expect("flush");
            drop(store);
            assert!(matches!(
                super::super::Store::open_on(&db, engine),
                Err(super::super::StoreError::WentBack {
                    acknowledged: 5,
                    stored: 4
                })
            ));
            // As a refused held event leaves it: the removed number is kept.
            let store = super::super::Store::open_accepting_loss(&db).expect("accepting");
            store
                .writer()
                .held
                .insert(super::super::held::REMOVED_END_KEY, 5u64.to_be_bytes())
                .expect("write");
            store.acknowledge(5);
            store.flush_now().expect("flush");
            drop(store);
            assert!(
                super::super::Store::open_on(&db, engine).is_ok(),
                "{engine}"
            );
        }
    }

    #[test]
    fn a_mark_reads_back_and_a_garbled_one_is_none() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(read(dir.path()), None);
        let mark = Mark::new(dir.path());
        mark.record(41);
        assert_eq!(read(dir.path()), Some(41));
        // The end can go down (a refused held event was the log's last).
        mark.record(40);
        assert_eq!(read(dir.path()), Some(40));
        let mut bytes = std::fs::read(dir.path().join(FILE)).expect("read");
        bytes[3] ^= 1;
        std::fs::write(dir.path().join(FILE), &bytes).expect("write");
        assert_eq!(read(dir.path()), None);
        std::fs::write(dir.path().join(FILE), &bytes[..9]).expect("write");
        assert_eq!(read(dir.path()), None);
    }
}
