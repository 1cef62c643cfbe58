//! A dry run of opening a redb file: the file is read, and every write redb makes (its
//! recovery after an abrupt stop, its checksum check's repairs) is kept in memory, so the
//! file is never changed. The engine opens a file for real only after it passed this way:
//! a damaged file is refused exactly as it was, and a recovery is only done once it is
//! known to succeed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;

use redb::StorageBackend;
use redb::backends::FileBackend;

/// Writes are kept in blocks of this many bytes.
const BLOCK: u64 = 4096;

/// The file underneath (read, and locked like the real thing so a running node's file is
/// refused as in use), with what redb wrote on top, in memory.
#[derive(Debug)]
struct Overlay {
    file: FileBackend,
    locks: Locks,
    raw: File,
    /// The file's length when opened: bytes past it read as zeros.
    original_len: u64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    len: u64,
    blocks: HashMap<u64, Vec<u8>>,
}

impl Overlay {
    fn open(path: &Path, locks: Locks) -> io::Result<Self> {
        // Opened for writing so redb's locks can be taken (an exclusive fcntl lock needs a
        // writable descriptor); nothing is ever written through it.
        let raw = OpenOptions::new().read(true).write(true).open(path)?;
        let original_len = raw.metadata()?.len();
        let file = FileBackend::new(raw.try_clone()?).map_err(io::Error::other)?;
        Ok(Self {
            file,
            locks,
            raw,
            original_len,
            state: Mutex::new(State {
                len: original_len,
                blocks: HashMap::new(),
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One block as it reads now: written, or from the file (zeros past its old end).
    fn block(&self, state: &State, index: u64) -> io::Result<Vec<u8>> {
        if let Some(b) = state.blocks.get(&index) {
            return Ok(b.clone());
        }
        let mut out = vec![0u8; BLOCK as usize];
        let start = index * BLOCK;
        if start < self.original_len {
            let n = (self.original_len - start).min(BLOCK) as usize;
            read_at(&self.raw, start, &mut out[..n])?;
        }
        Ok(out)
    }
}

fn read_at(file: &File, offset: u64, out: &mut [u8]) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(out, offset)
}

impl StorageBackend for Overlay {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.state().len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let state = self.state();
        let end = offset
            .checked_add(out.len() as u64)
            .filter(|end| *end <= state.len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        let mut at = offset;
        while at < end {
            let index = at / BLOCK;
            let within = (at % BLOCK) as usize;
            let n = ((BLOCK as usize) - within).min((end - at) as usize);
            let block = self.block(&state, index)?;
            let from = (at - offset) as usize;
            out[from..from + n].copy_from_slice(&block[within..within + n]);
            at += n as u64;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut state = self.state();
        if len < state.len {
            // Cut: what lay past the new end reads as zeros if the file grows again.
            let last = len / BLOCK;
            state.blocks.retain(|index, _| *index <= last);
            if len % BLOCK != 0 || len == 0 {
                let block = self.block(&state, last)?;
                let mut block = block;
                block[(len % BLOCK) as usize..].fill(0);
                state.blocks.insert(last, block);
            }
            if len < self.original_len {
                for index in len.div_ceil(BLOCK)..self.original_len.div_ceil(BLOCK) {
                    state.blocks.insert(index, vec![0u8; BLOCK as usize]);
                }
            }
        }
        state.len = len;
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut state = self.state();
        let end = offset + data.len() as u64;
        let mut at = offset;
        while at < end {
            let index = at / BLOCK;
            let within = (at % BLOCK) as usize;
            let n = ((BLOCK as usize) - within).min((end - at) as usize);
            let mut block = self.block(&state, index)?;
            let from = (at - offset) as usize;
            block[within..within + n].copy_from_slice(&data[from..from + n]);
            state.blocks.insert(index, block);
            at += n as u64;
        }
        state.len = state.len.max(end);
        Ok(())
    }

    fn close(&self) -> Result<(), io::Error> {
        self.file.close()
    }

    fn try_lock_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        match self.locks {
            Locks::Take => self.file.try_lock_range(start, end),
            Locks::HeldByUs => Err(redb::BackendError::Unsupported),
        }
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        match self.locks {
            Locks::Take => self.file.try_lock_shared_range(start, end),
            Locks::HeldByUs => Err(redb::BackendError::Unsupported),
        }
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
        match self.locks {
            Locks::Take => self.file.lock_range(start, end),
            Locks::HeldByUs => Err(redb::BackendError::Unsupported),
        }
    }

    fn lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        match self.locks {
            Locks::Take => self.file.lock_shared_range(start, end),
            Locks::HeldByUs => Err(redb::BackendError::Unsupported),
        }
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
        match self.locks {
            Locks::Take => self.file.unlock_range(start, end),
            Locks::HeldByUs => Err(redb::BackendError::Unsupported),
        }
    }

    fn query_lock_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        match self.locks {
            Locks::Take => self.file.query_lock_range(start, end),
            Locks::HeldByUs => Err(redb::BackendError::Unsupported),
        }
    }
}

/// Whether the dry run takes redb's file locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Locks {
    /// Take them: a file another process has open is refused as in use.
    Take,
    /// This process has the file open and holds its writers back meanwhile: no locks (they
    /// would conflict with its own), and the file on disk is its committed state.
    HeldByUs,
}

/// What the dry run found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DryRun {
    /// Opens (after a recovery, if it needed one) and passes redb's checksum check.
    Healthy,
    /// Opening it, or its checksum check, failed: `why`.
    Damaged(String),
}

/// Opens `path` the way the engine would, and runs redb's checksum check, without
/// changing the file. Errors: the file cannot be read, or it is in use (`Locked`).
pub(super) fn dry_run(path: &Path, locks: Locks) -> Result<DryRun, super::KvError> {
    dry_run_expecting(path, locks, None, true)
}

/// As [`dry_run`]; a file that passes is then read, with its journal's writes, for what
/// `expect` says it must hold ([`super::KvError::WentBack`] if it does not). `strict`:
/// see [`super::redb_journal::pending`].
pub(super) fn dry_run_expecting(
    path: &Path,
    locks: Locks,
    expect: Option<super::Expect<'_>>,
    strict: bool,
) -> Result<DryRun, super::KvError> {
    // redb asserts on some damaged files: a panic here is damage found, not a crash.
    match std::panic::catch_unwind(|| dry_run_inner(path, locks, expect, strict)) {
        Ok(result) => result,
        Err(_) => Ok(DryRun::Damaged(format!(
            "the database file {} is damaged (redb stopped reading it: its structures are damaged)",
            path.display()
        ))),
    }
}

fn dry_run_inner(
    path: &Path,
    locks: Locks,
    expect: Option<super::Expect<'_>>,
    strict: bool,
) -> Result<DryRun, super::KvError> {
    let overlay = Overlay::open(path, locks).map_err(super::KvError::from_io)?;
    let opened = redb::Database::builder().create_with_backend(overlay);
    let mut db = match opened {
        Ok(db) => db,
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Err(super::KvError::Locked),
        Err(redb::DatabaseError::Storage(redb::StorageError::Io(e))) => {
            return Err(super::KvError::from_io(e));
        }
        Err(e) => {
            return Ok(DryRun::Damaged(format!(
                "the database file {} is damaged (it does not open: {e})",
                path.display()
            )));
        }
    };
    let file = |why: String| {
        DryRun::Damaged(format!(
            "the database file {} is damaged ({why})",
            path.display()
        ))
    };
    let mut found = match db.check_integrity() {
        Ok(true) => DryRun::Healthy,
        Ok(false) => file("its checksum check found damaged pages".into()),
        Err(e) => file(format!("its checksum check failed: {e}")),
    };
    if let DryRun::Healthy = found {
        // What the journal holds on top, as opening for real applies it.
        match with_journal(&db, path, strict) {
            Ok(()) => {}
            Err(super::KvError::Corrupt(why)) => found = DryRun::Damaged(why),
            // Refused as it is, for what it is (`--repair` can go past it).
            Err(e) => return Err(e),
        }
    }
    if let (DryRun::Healthy, Some(expect)) = (&found, expect) {
        let value = match expect.or_value {
            Some((space, key)) => value_of(&db, space, key)?,
            None => None,
        };
        expect.check(last_key(&db, expect.keyspace)?.as_deref(), value.as_deref())?;
    }
    Ok(found)
}

/// Applies the journal beside `path` to `db` (an overlay: in memory).
fn with_journal(db: &redb::Database, path: &Path, strict: bool) -> Result<(), super::KvError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let records = super::redb_journal::pending(db, dir, strict)?;
    if records.is_empty() {
        return Ok(());
    }
    let engine = |e: &dyn std::fmt::Display| super::KvError::Engine {
        engine: "redb",
        message: e.to_string(),
    };
    let txn = db.begin_write().map_err(|e| engine(&e))?;
    super::redb_journal::apply(&txn, &records)?;
    txn.commit().map_err(|e| engine(&e))
}

/// What `key` holds in the table `name` of `db` (`None` when absent or missing).
fn value_of(
    db: &redb::Database,
    name: &str,
    key: &[u8],
) -> Result<Option<Vec<u8>>, super::KvError> {
    read_table(db, name, |t| {
        Ok(redb::ReadableTable::get(t, key)?.map(|v| v.value().to_vec()))
    })
}

/// The last key of the table `name` in `db` (`None` when it is empty or missing).
fn last_key(db: &redb::Database, name: &str) -> Result<Option<Vec<u8>>, super::KvError> {
    read_table(db, name, |t| {
        Ok(redb::ReadableTable::last(t)?.map(|(k, _)| k.value().to_vec()))
    })
}

/// Runs `read` on the table `name` of `db` in a read transaction; a missing table reads
/// as `None`.
fn read_table(
    db: &redb::Database,
    name: &str,
    read: impl FnOnce(
        &redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    ) -> Result<Option<Vec<u8>>, redb::StorageError>,
) -> Result<Option<Vec<u8>>, super::KvError> {
    use redb::ReadableDatabase;
    let engine = |e: &dyn std::fmt::Display| super::KvError::Engine {
        engine: "redb",
        message: e.to_string(),
    };
    let txn = db.begin_read().map_err(|e| engine(&e))?;
    let def = redb::TableDefinition::<&[u8], &[u8]>::new(name);
    match txn.open_table(def) {
        Ok(table) => read(&table).map_err(|e| engine(&e)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(engine(&e)),
    }
}

/// A database on the file whose writes stay in memory, for reading while the disk is full
/// (its recovery, if the file needs one, runs in memory too). Nothing may be written
/// through it that should last: the caller refuses writes meanwhile.
pub(super) fn open_view(path: &Path) -> Result<redb::Database, super::KvError> {
    let overlay = Overlay::open(path, Locks::Take).map_err(super::KvError::from_io)?;
    let view = redb::Database::builder()
        .create_with_backend(overlay)
        .map_err(|e| super::KvError::Engine {
            engine: "redb",
            message: e.to_string(),
        })?;
    // Acknowledged writes may be in the journal only.
    with_journal(&view, path, false)?;
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_reads_through_keeps_writes_and_never_touches_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 10_000]).unwrap();
        let o = Overlay::open(&path, Locks::Take).unwrap();
        let mut out = [0u8; 3];
        o.read(4094, &mut out).unwrap();
        assert_eq!(out, [7, 7, 7]);
        o.write(4095, &[1, 2]).unwrap();
        o.read(4094, &mut out).unwrap();
        assert_eq!(out, [7, 1, 2], "a write across a block boundary");
        o.write(12_000, &[9]).unwrap();
        assert_eq!(o.len().unwrap(), 12_001);
        let mut gap = [5u8; 2];
        o.read(10_500, &mut gap).unwrap();
        assert_eq!(gap, [0, 0], "past the file's old end reads zeros");
        o.set_len(5_000).unwrap();
        o.set_len(9_000).unwrap();
        let mut cut = [5u8; 1];
        o.read(6_000, &mut cut).unwrap();
        assert_eq!(cut, [0], "cut then grown: zeros");
        assert!(o.read(8_999, &mut [0u8; 2]).is_err(), "past the end");
        assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 10_000]);
    }

    #[test]
    fn a_healthy_file_passes_and_a_damaged_one_is_found_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let db = redb::Database::create(&path).unwrap();
            let def: redb::TableDefinition<'_, &[u8], &[u8]> = redb::TableDefinition::new("t");
            let tx = db.begin_write().unwrap();
            {
                let mut t = tx.open_table(def).unwrap();
                for i in 0u32..2_000 {
                    t.insert(i.to_be_bytes().as_slice(), [3u8; 300].as_slice())
                        .unwrap();
                }
            }
            tx.commit().unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        assert_eq!(dry_run(&path, Locks::Take).unwrap(), DryRun::Healthy);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "a dry run writes nothing"
        );
        let mut damaged = before.clone();
        let at = damaged.len() / 2;
        damaged[at] ^= 0x55;
        std::fs::write(&path, &damaged).unwrap();
        assert!(matches!(
            dry_run(&path, Locks::Take).unwrap(),
            DryRun::Damaged(_)
        ));
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "left as it was");
    }
}
