//! The redb engine: one file (`kindred.redb`), a keyspace is a table of byte keys and
//! values. redb is a copy-on-write B-tree whose pages carry checksums; a commit either
//! lands whole or not at all. Every commit is durable when it returns: its writes are in
//! the redo journal ([`super::redb_journal`], one sequential write and one disk flush)
//! before redb commits them without waiting for the disk; a checkpoint now and then is a
//! durable redb commit. The ingest path commits a whole group of events at once (its group
//! commit). A failed write never takes earlier ones with it, and [`Backend::flush`] has
//! nothing left to do.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use redb::{ReadableDatabase, TableDefinition, TableHandle};

use super::redb_journal::{self, Identity, Journal};
use super::{
    Backend, Engine, KeyspaceOps, KvError, TransactionError, TxBody, TxError, TxFault, TxOps,
};

/// Free space (bytes) under which the disk counts as full for redb's file: a reopen waits
/// for more, and an I/O failure meanwhile is the disk being full.
const REOPEN_ROOM: u64 = 2 * 1024 * 1024;

/// What redb says after a failed write, until the file is opened again.
const EARLIER_WRITE: &str = "an earlier write to the database file failed";

/// The database file inside the data folder's `db` directory.
pub(crate) const FILE: &str = "kindred.redb";

/// Page cache: as much as sled was given, so the two compare fairly.
const CACHE_BYTES: usize = 24 * 1024 * 1024;

mod commit;
mod table;

use table::{RedbTable, RedbTx};

type Def<'a> = TableDefinition<'a, &'static [u8], &'static [u8]>;
type Guard<'a> = redb::AccessGuard<'a, &'static [u8]>;

struct Shared {
    /// Exclusive only to check, compact or reopen the file; `None` while a reopen after a
    /// failed write has not succeeded yet (the disk is still full).
    db: RwLock<Option<redb::Database>>,
    path: PathBuf,
    /// A write or flush failed: redb refuses everything after an I/O error until the file
    /// is opened again, which also throws away what was not durable yet (never
    /// acknowledged). Done before the next operation, so writes resume by themselves once
    /// there is space.
    broken: AtomicBool,
    /// The last failed write found the disk full.
    full: AtomicBool,
    /// `db` is a read-only view of the file ([`super::redb_dry::open_view`]) while the disk
    /// is full: redb refuses reads too after a failed write, and opening the file again
    /// needs room. Writes never reach it: they wait for `broken` to clear.
    read_view: AtomicBool,
    /// The file passed the dry run's checksum check as it was opened, and nothing but
    /// this handle has written to it since: the start-up check ([`KvDb::verify`]) takes
    /// that answer instead of reading every page a second time.
    checked_at_open: AtomicBool,
    /// The redo journal; taken only while holding redb's write transaction (so in commit
    /// order), never the other way round.
    journal: Mutex<Journal>,
    /// The database's id, in its journal's header.
    id: [u8; 16],
}

pub(super) struct RedbDb {
    shared: Arc<Shared>,
}

fn kv(e: impl Into<redb::Error>) -> KvError {
    match e.into() {
        redb::Error::Io(io) => KvError::from_io(io),
        redb::Error::Corrupted(m) => KvError::Corrupt(m),
        redb::Error::DatabaseAlreadyOpen => KvError::Locked,
        redb::Error::DatabaseClosed => KvError::Closed,
        redb::Error::PreviousIo => KvError::Io(std::io::Error::other(EARLIER_WRITE)),
        other => KvError::Engine {
            engine: "redb",
            message: other.to_string(),
        },
    }
}

fn fault(e: impl Into<redb::Error>) -> TxFault {
    TxFault::Storage(kv(e))
}

impl RedbDb {
    /// Opens (or creates) the database in `dir`. `accept_loss`: a journal that is missing,
    /// cut, another database's or damaged is logged and gone past instead of refused.
    pub(super) fn open(
        dir: &Path,
        expect: Option<super::Expect<'_>>,
        accept_loss: bool,
    ) -> Result<Self, KvError> {
        std::fs::create_dir_all(dir).map_err(KvError::from_io)?;
        let path = dir.join(FILE);
        let existed = std::fs::metadata(&path).is_ok_and(|m| m.len() > 0);
        let (mut db, ident) = open_file(&path, expect, !accept_loss)?;
        give_space_back(&mut db, &path)?;
        let journal = Journal::open(dir, ident).map_err(KvError::from_io)?;
        Ok(Self {
            shared: Arc::new(Shared {
                journal: Mutex::new(journal),
                id: ident.id,
                db: RwLock::new(Some(db)),
                path,
                broken: AtomicBool::new(false),
                read_view: AtomicBool::new(false),
                full: AtomicBool::new(false),
                checked_at_open: AtomicBool::new(existed),
            }),
        })
    }
}

/// A file with more than this share of free pages is compacted when it is opened.
const COMPACT_FREE_SHARE: f64 = 0.25;

/// ... and only when that much would come back (bytes): small files are left alone.
const COMPACT_MIN_BYTES: u64 = 16 * 1024 * 1024;

/// Space freed inside the file (retracted, erased or re-indexed records) is reused by
/// later writes but not given back to the file system; when much of the file is free, it
/// is compacted as it opens (before anything else uses it). A start after deleting a lot
/// therefore returns the space.
fn give_space_back(db: &mut redb::Database, path: &Path) -> Result<(), KvError> {
    let file = std::fs::metadata(path).map_err(KvError::from_io)?.len();
    let used = {
        let txn = db.begin_write().map_err(kv)?;
        let stats = txn.stats().map_err(kv)?;
        txn.abort().map_err(kv)?;
        stats.allocated_pages() * stats.page_size() as u64
    };
    let free = file.saturating_sub(used);
    if free < COMPACT_MIN_BYTES || (free as f64) < file as f64 * COMPACT_FREE_SHARE {
        return Ok(());
    }
    let started = std::time::Instant::now();
    // Compaction may take several passes to move every page it can.
    while db.compact().map_err(kv)? {}
    let after = std::fs::metadata(path).map_err(KvError::from_io)?.len();
    tracing::info!(
        before_bytes = file,
        after_bytes = after,
        ms = started.elapsed().as_millis() as u64,
        "gave unused space in the database file back to the disk"
    );
    Ok(())
}

/// Opens (or creates) the file and applies the journal's writes it does not hold yet, in
/// one durable commit that also starts a new journal generation; returns it with its
/// journal identity. An existing file is first opened in a dry run ([`super::redb_dry`]:
/// redb's recovery after an abrupt stop, its checksum check and the journal's writes, with
/// every write kept in memory), so a damaged file or journal is refused exactly as it was,
/// and a recovery is only carried out once it is known to succeed. A file that passes the
/// check but not `expect` (redb went back to an earlier commit) is refused as it is too.
/// `strict`: see [`redb_journal::pending`].
fn open_file(
    path: &Path,
    expect: Option<super::Expect<'_>>,
    strict: bool,
) -> Result<(redb::Database, Identity), KvError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = redb::Database::builder();
    builder.set_cache_size(CACHE_BYTES);
    let existing = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    if existing {
        let started = std::time::Instant::now();
        match super::redb_dry::dry_run_expecting(
            path,
            super::redb_dry::Locks::Take,
            expect,
            strict,
        )? {
            super::redb_dry::DryRun::Healthy => {}
            super::redb_dry::DryRun::Damaged(why) => {
                tracing::error!(path = %path.display(), %why, "the database is damaged; it was left as it is");
                return Err(KvError::Corrupt(format!("{why}; nothing was changed")));
            }
        }
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "the database file passed redb's checksum check"
        );
    }
    let db = builder.create(path).map_err(kv)?;
    let records = redb_journal::pending(&db, dir, strict)?;
    let id = match redb_journal::identity(&db)? {
        Some(ident) => ident.id,
        None => {
            // The journal is made before the database names it, so that a database
            // naming one always has it.
            let id = redb_journal::random_id();
            redb_journal::Journal::create(dir, id).map_err(KvError::from_io)?;
            id
        }
    };
    let ident = Identity {
        id,
        generation: redb_journal::random_u64(),
    };
    let txn = db.begin_write().map_err(kv)?;
    redb_journal::apply(&txn, &records)?;
    redb_journal::set_identity(&txn, ident)?;
    txn.commit().map_err(kv)?;
    if !records.is_empty() {
        tracing::info!(
            records = records.len(),
            "applied the journal's writes the database file did not hold yet (the node had stopped without a checkpoint)"
        );
    }
    Ok((db, ident))
}

/// Bytes free for this user on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    rustix::fs::statvfs(dir)
        .ok()
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
}

/// The open database, for the length of one operation.
struct Open<'a>(std::sync::RwLockReadGuard<'a, Option<redb::Database>>);

impl std::ops::Deref for Open<'_> {
    type Target = redb::Database;

    fn deref(&self) -> &redb::Database {
        // `Shared::db` hands out a guard only when the database is open.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("checked open"))
    }
}

impl Shared {
    /// The database, opened again first if a write failed since.
    fn db(&self) -> Result<Open<'_>, KvError> {
        if self.broken.load(Ordering::Acquire) {
            self.reopen()?;
        }
        self.current()
    }

    /// The database for reading. After a failed write redb refuses reads too, so the
    /// handle is first opened again (when there is room) or replaced by a read-only view,
    /// and members keep reading while the disk is full.
    fn for_reading(&self) -> Result<Open<'_>, KvError> {
        if self.broken.load(Ordering::Acquire) && !self.read_view.load(Ordering::Acquire) {
            self.settle_for_reading();
        }
        match self.current() {
            Err(KvError::Closed) => self.db(),
            other => other,
        }
    }

    /// Opens the file again if there is room, or else reads through a view of it whose
    /// writes stay in memory (it is opened like a dry run: recovery included).
    fn settle_for_reading(&self) {
        if self.free_bytes().is_none_or(|f| f >= REOPEN_ROOM) {
            if let Err(e) = self.reopen() {
                tracing::warn!(error = %e, "the database could not be opened again after a failed write");
            }
            return;
        }
        let mut slot = self.db.write().unwrap_or_else(|p| p.into_inner());
        if !self.broken.load(Ordering::Acquire) || self.read_view.load(Ordering::Acquire) {
            return;
        }
        // The broken handle holds the file lock: closed first.
        drop(slot.take());
        match super::redb_dry::open_view(&self.path) {
            Ok(view) => {
                *slot = Some(view);
                self.read_view.store(true, Ordering::Release);
                tracing::warn!(file = %self.path.display(), "the disk is full: reading through a read-only view until there is room to write");
            }
            Err(e) => {
                tracing::error!(error = %e, "the database cannot be read while the disk is full");
            }
        }
    }

    fn current(&self) -> Result<Open<'_>, KvError> {
        let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            return Err(KvError::Closed);
        }
        Ok(Open(guard))
    }

    /// Free bytes on the file's disk (none when the system cannot say).
    fn free_bytes(&self) -> Option<u64> {
        free_bytes(self.path.parent()?)
    }

    fn reopen(&self) -> Result<(), KvError> {
        let mut slot = self.db.write().unwrap_or_else(|p| p.into_inner());
        if !self.broken.load(Ordering::Acquire) {
            return Ok(());
        }
        // Opening again needs room (redb may write as it opens): while there is none, the
        // old handle stays for reading and writes are refused as the disk being full.
        if self.free_bytes().is_some_and(|f| f < REOPEN_ROOM) {
            return Err(KvError::Full(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no room to write yet",
            )));
        }
        // The old handle holds the file lock: closed before the file is opened again.
        drop(slot.take());
        let (db, ident) = match open_file(&self.path, None, true) {
            Ok(opened) => opened,
            // Once more: the old handle's lock may take a moment to go.
            Err(_) => open_file(&self.path, None, true)?,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        *self.journal() = Journal::open(dir, ident).map_err(KvError::from_io)?;
        *slot = Some(db);
        self.broken.store(false, Ordering::Release);
        self.read_view.store(false, Ordering::Release);
        tracing::warn!(
            file = %self.path.display(),
            "the database was opened again after a failed write"
        );
        Ok(())
    }

    /// Notes an error that leaves redb refusing writes until the file is opened again. A
    /// write refused because an earlier one failed (another writer's, a moment before)
    /// fails for the same reason: a full disk stays a full disk.
    fn failed(&self, e: KvError) -> KvError {
        // An I/O failure while the disk has no room left is the disk being full, whatever
        // call reported it (a read-back of a short write, a file growing).
        let e = match e {
            KvError::Io(io) if self.free_bytes().is_some_and(|f| f < REOPEN_ROOM) => {
                KvError::Full(io)
            }
            other => other,
        };
        match e {
            KvError::Full(io) => {
                self.broken.store(true, Ordering::Release);
                self.full.store(true, Ordering::Release);
                KvError::Full(io)
            }
            KvError::Io(io)
                if io.kind() == std::io::ErrorKind::Other && io.to_string() == EARLIER_WRITE =>
            {
                self.broken.store(true, Ordering::Release);
                if self.full.load(Ordering::Acquire) {
                    KvError::Full(std::io::Error::new(
                        std::io::ErrorKind::StorageFull,
                        EARLIER_WRITE,
                    ))
                } else {
                    KvError::Io(io)
                }
            }
            KvError::Io(io) => {
                self.broken.store(true, Ordering::Release);
                self.full.store(false, Ordering::Release);
                KvError::Io(io)
            }
            other => other,
        }
    }
}

impl Backend for RedbDb {
    fn keyspace(&self, name: &str) -> Result<Arc<dyn KeyspaceOps>, KvError> {
        // Created when missing; an existing one is opened without a write (opening a
        // database must not change its file).
        if !self.keyspace_names()?.iter().any(|n| n == name) {
            self.shared.write(|txn| {
                txn.open_table(Def::new(name)).map_err(kv)?;
                Ok(())
            })?;
        }
        Ok(Arc::new(RedbTable {
            shared: self.shared.clone(),
            name: name.to_owned(),
        }))
    }

    fn drop_keyspace(&self, name: &str) -> Result<bool, KvError> {
        self.shared
            .write(|txn| txn.delete_table(Def::new(name)).map_err(kv))
    }

    fn keyspace_names(&self) -> Result<Vec<String>, KvError> {
        let db = self.shared.for_reading()?;
        let txn = db.begin_read().map_err(kv)?;
        Ok(txn
            .list_tables()
            .map_err(kv)?
            .map(|t| t.name().to_owned())
            .filter(|name| name != redb_journal::TABLE)
            .collect())
    }

    fn flush(&self) -> Result<(), KvError> {
        // Every commit was durable when it returned.
        Ok(())
    }

    /// The database file's size; not the journal's (a fixed 2 MiB or so that nothing
    /// can give back).
    fn size_on_disk(&self) -> Result<u64, KvError> {
        Ok(std::fs::metadata(&self.shared.path)
            .map_err(KvError::from_io)?
            .len())
    }

    /// Allocated pages: the file also holds pages freed since the last checkpoint, which
    /// only later writes reuse.
    fn size_in_use(&self) -> Result<u64, KvError> {
        let db = self.shared.db()?;
        let txn = db.begin_write().map_err(kv)?;
        let stats = txn.stats().map_err(kv)?;
        txn.abort().map_err(kv)?;
        Ok(stats.allocated_pages() * stats.page_size() as u64)
    }

    fn transaction(
        &self,
        spaces: &[&str],
        body: &mut TxBody<'_>,
    ) -> Result<(), TransactionError<()>> {
        let storage = |e: KvError| TransactionError::Storage(self.shared.failed(e));
        let db = self.shared.db().map_err(storage)?;
        let txn = db.begin_write().map_err(|e| storage(kv(e)))?;
        let ops = RefCell::new(Vec::new());
        {
            // Tables open at their first use: a group of posts touches 8 or so of the
            // ingest's 19 keyspaces, and opening one costs a lookup and a close.
            let views: Vec<RedbTx<'_>> = spaces
                .iter()
                .map(|name| RedbTx {
                    txn: &txn,
                    name,
                    table: RefCell::new(None),
                    ops: &ops,
                })
                .collect();
            let refs: Vec<&dyn TxOps> = views.iter().map(|v| v as &dyn TxOps).collect();
            match body(&refs) {
                Ok(()) => {}
                Err(TxError::Abort(())) => return Err(TransactionError::Abort(())),
                // One writer at a time: nothing can conflict.
                Err(TxError::Conflict) => {
                    return Err(storage(KvError::Engine {
                        engine: "redb",
                        message: "a conflict without a concurrent writer".into(),
                    }));
                }
                Err(TxError::Storage(e)) => return Err(storage(e)),
            }
        }
        self.shared
            .commit_journaled(&db, txn, ops.into_inner())
            .map_err(storage)?;
        Ok(())
    }

    /// redb's checksum check, run in a dry run against the file as it is on disk (the
    /// live handle's own check could repair, that is write to, a damaged file), with the
    /// journal's writes applied on top in memory.
    fn verify(&self) -> Result<Option<bool>, KvError> {
        if self.shared.checked_at_open.swap(false, Ordering::SeqCst) {
            return Ok(Some(true));
        }
        let _exclusive = self.shared.db.write().unwrap_or_else(|p| p.into_inner());
        match super::redb_dry::dry_run(&self.shared.path, super::redb_dry::Locks::HeldByUs) {
            Ok(super::redb_dry::DryRun::Healthy) => Ok(Some(true)),
            Ok(super::redb_dry::DryRun::Damaged(why)) => {
                tracing::error!(%why, "redb's checksum check found damage");
                Ok(Some(false))
            }
            Err(e) => Err(e),
        }
    }

    fn engine(&self) -> Engine {
        Engine::Redb
    }
}
