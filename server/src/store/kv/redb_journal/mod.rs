//! The redo journal in front of redb (`kindred.journal`, beside the database file).
//!
//! A durable redb commit writes every page it changed (a post touches eight or so
//! tables: about twenty scattered pages) and waits for the disk to flush them. A commit
//! here instead appends what it wrote (keyspace, key, value or removal) to this journal
//! and waits for that one sequential write, then lets redb commit without waiting
//! ([`redb::Durability::None`]). Every so often a durable redb commit (a *checkpoint*)
//! takes everything so far and records the last journal record it holds (`applied`, in
//! its own table); the journal then starts again from its beginning.
//!
//! After an abrupt stop, redb holds its last checkpoint; opening it applies again, in
//! order, every record after `applied`. The records are blind writes (a value or a
//! removal, never "add one"), so applying a record a second time changes nothing: a
//! checkpoint redb made by itself is harmless. This is the redo half of write-ahead
//! logging (ARIES, Mohan et al., 1992; LevelDB's log format has the same record
//! framing).
//!
//! Each record carries its generation (`base`: the `applied` it follows), its sequence
//! number and a CRC-32 of both and its writes. Reading stops at the first record that is
//! missing, torn (its checksum fails) or from an older generation. A record whose checksum
//! fails while the next one reads whole and follows on is damage, not a torn end, and is
//! refused.
//!
//! The file is written with zeros before use, so an append overwrites blocks the file
//! already has: the disk flush carries no file-system changes, and a full disk cannot
//! refuse an append (only the journal's growth).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::KvError;

mod record;

pub(super) use record::{Op, Record};
use record::{encode, parse, u32_at};

/// The journal file in the database's folder.
pub(crate) const FILE: &str = "kindred.journal";

/// The table holding the database's id and current generation; not a keyspace (never
/// listed, copied or compared).
pub(super) const TABLE: &str = "kindred:journal";

const ID_KEY: &[u8] = b"id";
const GENERATION_KEY: &[u8] = b"generation";

/// The file starts with magic, the database's id (16 bytes) and a CRC-32 of both.
const FILE_MAGIC: [u8; 4] = *b"KJh1";
const FILE_HEADER: usize = 64;

/// Bytes for records (written with zeros when the file is made); it grows only for a
/// record larger than what is left.
const CHUNK: u64 = 1024 * 1024;

/// A checkpoint is due once the journal holds this many bytes ...
const CHECKPOINT_BYTES: u64 = CHUNK / 2;
/// ... or this many records ...
const CHECKPOINT_RECORDS: u32 = 4096;
/// ... or the first one is this old. Bounds what redb keeps in memory and what an open
/// after an abrupt stop applies again.
const CHECKPOINT_AGE: Duration = Duration::from_secs(1);

/// Whether a commit writing `ops` is better made durable in redb itself (a checkpoint)
/// than journaled: a quarter of the space before a checkpoint is due.
pub(super) fn too_large(ops: &[Op]) -> bool {
    let mut bytes = 0;
    for op in ops {
        bytes += match op {
            Op::Insert { table, key, value } => table.len() + key.len() + value.len() + 11,
            Op::Remove { table, key } => table.len() + key.len() + 7,
        };
        if bytes as u64 > CHECKPOINT_BYTES / 4 {
            return true;
        }
    }
    false
}

fn engine(e: impl std::fmt::Display) -> KvError {
    KvError::Engine {
        engine: "redb",
        message: e.to_string(),
    }
}

type Def<'a> = redb::TableDefinition<'a, &'static [u8], &'static [u8]>;

/// A database's journal identity: its id (in the file's header) and the generation its
/// unapplied records carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Identity {
    pub(super) id: [u8; 16],
    pub(super) generation: u64,
}

/// `db`'s identity; `None` for a database made before the journal (or not yet).
pub(super) fn identity(db: &redb::Database) -> Result<Option<Identity>, KvError> {
    use redb::ReadableDatabase;
    let txn = db.begin_read().map_err(engine)?;
    let table = match txn.open_table(Def::new(TABLE)) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(engine(e)),
    };
    let id = table.get(ID_KEY).map_err(engine)?;
    let generation = table.get(GENERATION_KEY).map_err(engine)?;
    Ok(match (id, generation) {
        (Some(id), Some(g)) => match (
            <[u8; 16]>::try_from(id.value()),
            <[u8; 8]>::try_from(g.value()),
        ) {
            (Ok(id), Ok(g)) => Some(Identity {
                id,
                generation: u64::from_be_bytes(g),
            }),
            _ => None,
        },
        _ => None,
    })
}

/// Records, inside the durable commit `txn`, that `db` holds every journaled write so
/// far and that new records carry `generation`.
pub(super) fn set_identity(txn: &redb::WriteTransaction, ident: Identity) -> Result<(), KvError> {
    let mut table = txn.open_table(Def::new(TABLE)).map_err(engine)?;
    table.insert(ID_KEY, &ident.id[..]).map_err(engine)?;
    table
        .insert(GENERATION_KEY, &ident.generation.to_be_bytes()[..])
        .map_err(engine)?;
    Ok(())
}

/// A fresh random generation (or id).
pub(super) fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // Without the system's randomness, the clock still tells generations apart.
    if getrandom::fill(&mut b).is_err() {
        b = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64))
        .to_le_bytes();
    }
    u64::from_le_bytes(b)
}

/// A fresh random database id (two random generations side by side).
pub(super) fn random_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&random_u64().to_le_bytes());
    id[8..].copy_from_slice(&random_u64().to_le_bytes());
    id
}

fn header_bytes(id: [u8; 16]) -> [u8; FILE_HEADER] {
    let mut h = [0u8; FILE_HEADER];
    h[..4].copy_from_slice(&FILE_MAGIC);
    h[4..20].copy_from_slice(&id);
    let crc = crc32fast::hash(&h[..20]);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

fn header_id(bytes: &[u8]) -> Option<[u8; 16]> {
    let h = bytes.get(..FILE_HEADER)?;
    if h[..4] != FILE_MAGIC || u32_at(h, 20)? != crc32fast::hash(&h[..20]) {
        return None;
    }
    h[4..20].try_into().ok()
}

fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// The journal's writes `db` does not hold yet, in order. `strict`: a journal that is
/// missing, cut short, from another database or damaged inside is refused
/// ([`KvError::Journal`], saying which); otherwise (a loss the operator accepted) it is
/// logged and what can be read is used.
pub(super) fn pending(
    db: &redb::Database,
    dir: &Path,
    strict: bool,
) -> Result<Vec<Record>, KvError> {
    // A database made before the journal, or a new one: nothing can be waiting.
    let Some(ident) = identity(db)? else {
        return Ok(Vec::new());
    };
    let path = path_in(dir);
    let refuse = |why: String| -> Result<(), KvError> {
        let message = format!("the database's journal {} {why}", path.display());
        if strict {
            return Err(KvError::Journal(message));
        }
        tracing::error!(%message, "going on without what it held, as asked");
        Ok(())
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            refuse("is missing: the newest writes may be in it".into())?;
            return Ok(Vec::new());
        }
        Err(e) => return Err(KvError::from_io(e)),
    };
    match header_id(&bytes) {
        Some(id) if id == ident.id => {}
        Some(_) => {
            refuse("belongs to another database".into())?;
            return Ok(Vec::new());
        }
        None => {
            refuse("has a damaged header".into())?;
            return Ok(Vec::new());
        }
    }
    if (bytes.len() as u64) < FILE_HEADER as u64 + CHUNK {
        refuse(format!("was cut short ({} bytes)", bytes.len()))?;
    }
    let (records, damage) = parse(&bytes[FILE_HEADER..], ident.generation);
    if let Some(why) = damage {
        refuse(format!("is damaged: {why}"))?;
    }
    Ok(records)
}

/// Applies `records` inside `txn`.
pub(super) fn apply(txn: &redb::WriteTransaction, records: &[Record]) -> Result<(), KvError> {
    for record in records {
        for op in &record.ops {
            match op {
                Op::Insert { table, key, value } => {
                    let mut t = txn.open_table(Def::new(table)).map_err(engine)?;
                    t.insert(key.as_slice(), value.as_slice()).map_err(engine)?;
                }
                Op::Remove { table, key } => {
                    let mut t = txn.open_table(Def::new(table)).map_err(engine)?;
                    t.remove(key.as_slice()).map_err(engine)?;
                }
            }
        }
    }
    Ok(())
}

/// The open journal, appended to by each commit.
pub(super) struct Journal {
    file: File,
    /// The file's length (all written).
    len: u64,
    /// Where the next record goes.
    at: u64,
    generation: u64,
    next_seq: u64,
    records: u32,
    since: Instant,
}

impl Journal {
    /// Makes a new journal for the database `id` (a whole file, written, then moved in
    /// place), replacing any there.
    pub(super) fn create(dir: &Path, id: [u8; 16]) -> io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let temp = dir.join(format!("{FILE}.new"));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all_at(&header_bytes(id), 0)?;
        zero(&file, FILE_HEADER as u64, FILE_HEADER as u64 + CHUNK)?;
        file.sync_all()?;
        std::fs::rename(&temp, path_in(dir))?;
        File::open(dir)?.sync_all()
    }

    /// Opens the journal of the database `ident` (made afresh when it is missing, cut
    /// short or not that database's: an operator accepted that), starting its generation:
    /// the database holds every older record, which is wiped.
    pub(super) fn open(dir: &Path, ident: Identity) -> io::Result<Self> {
        let path = path_in(dir);
        // Only the header and the length are needed: the records were read by the open.
        let whole = |file: &File| -> io::Result<bool> {
            let mut header = [0u8; FILE_HEADER];
            file.read_exact_at(&mut header, 0)?;
            Ok(header_id(&header) == Some(ident.id)
                && file.metadata()?.len() >= FILE_HEADER as u64 + CHUNK)
        };
        let ours = OpenOptions::new()
            .read(true)
            .open(&path)
            .and_then(|f| whole(&f))
            .unwrap_or(false);
        if !ours {
            Self::create(dir, ident.id)?;
        }
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let len = file.metadata()?.len();
        let journal = Self {
            file,
            len,
            at: FILE_HEADER as u64,
            generation: ident.generation,
            next_seq: 1,
            records: 0,
            since: Instant::now(),
        };
        journal.wipe(len);
        Ok(journal)
    }

    /// Appends one commit's writes and waits for the disk. On an error nothing counts
    /// as written (a half-written record is overwritten by the next).
    pub(super) fn append(&mut self, ops: &[Op]) -> io::Result<()> {
        let record = encode(self.generation, self.next_seq, ops);
        let end = self.at + record.len() as u64;
        if end > self.len {
            let new_len = end.div_ceil(CHUNK) * CHUNK + FILE_HEADER as u64;
            zero(&self.file, self.len, new_len)?;
            self.file.sync_all()?;
            self.len = new_len;
        }
        let written = self
            .file
            .write_all_at(&record, self.at)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Best effort: a record whose sync failed may still reach the disk; its magic
            // goes so that it is not applied at the next open.
            let _ = self.file.write_all_at(&[0; 4], self.at);
            let _ = self.file.sync_data();
            return Err(e);
        }
        if self.records == 0 {
            self.since = Instant::now();
        }
        self.at = end;
        self.next_seq += 1;
        self.records += 1;
        Ok(())
    }

    /// Overwrites the records before `upto` with zeros: records the database holds are
    /// not kept, so what a member erased does not linger here. They reach the disk with
    /// the next append's flush (or the system's own writeback); records left behind are
    /// of an older generation, never applied again.
    fn wipe(&self, upto: u64) {
        if let Err(e) = zero(&self.file, FILE_HEADER as u64, upto.min(self.len)) {
            tracing::warn!(error = %e, "the journal's applied records could not be wiped");
        }
    }

    /// Whether records were appended since the last checkpoint.
    pub(super) fn holds_records(&self) -> bool {
        self.records > 0
    }

    /// Whether a checkpoint is due.
    pub(super) fn due(&self) -> bool {
        self.records > 0
            && (self.at >= CHECKPOINT_BYTES
                || self.records >= CHECKPOINT_RECORDS
                || self.since.elapsed() >= CHECKPOINT_AGE)
    }

    /// The generation the next checkpoint starts.
    pub(super) fn next_generation(&self) -> u64 {
        random_u64()
    }

    /// A durable commit now holds every record and names `generation` as the next: the
    /// records are wiped, and the new generation starts at the beginning of the file.
    pub(super) fn checkpointed(&mut self, generation: u64) {
        self.wipe(self.at);
        self.generation = generation;
        self.at = FILE_HEADER as u64;
        self.next_seq = 1;
        self.records = 0;
    }
}

/// Writes zeros to `file` from `from` to `to`.
fn zero(file: &File, from: u64, to: u64) -> io::Result<()> {
    let zeros = vec![0u8; 64 * 1024];
    let mut at = from;
    while at < to {
        let n = (to - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::record::tests::ops;
    use super::*;

    fn seqs(run: &[Record]) -> Vec<u64> {
        run.iter().map(|r| r.seq).collect()
    }

    fn redb(dir: &Path) -> redb::Database {
        redb::Database::create(dir.join("t.redb")).expect("db")
    }

    fn set(db: &redb::Database, ident: Identity) {
        let txn = db.begin_write().expect("write");
        set_identity(&txn, ident).expect("identity");
        txn.commit().expect("commit");
    }

    #[test]
    fn appends_are_pending_until_a_checkpoint_names_the_next_generation() {
        let dir = tempfile::tempdir().expect("dir");
        let db = redb(dir.path());
        // A database without an identity has nothing pending, whatever lies beside it.
        assert!(pending(&db, dir.path(), true).expect("none").is_empty());

        let ident = Identity {
            id: [1; 16],
            generation: 5,
        };
        Journal::create(dir.path(), ident.id).expect("create");
        set(&db, ident);
        let mut journal = Journal::open(dir.path(), ident).expect("open");
        journal.append(&ops(1)).expect("append");
        journal.append(&ops(2)).expect("append");
        assert_eq!(seqs(&pending(&db, dir.path(), true).expect("read")), [1, 2]);
        assert_eq!(
            std::fs::metadata(dir.path().join(FILE))
                .expect("meta")
                .len(),
            FILE_HEADER as u64 + CHUNK
        );

        let txn = db.begin_write().expect("write");
        apply(&txn, &pending(&db, dir.path(), true).expect("read")).expect("apply");
        set_identity(
            &txn,
            Identity {
                generation: 6,
                ..ident
            },
        )
        .expect("identity");
        txn.commit().expect("commit");
        journal.checkpointed(6);
        assert!(pending(&db, dir.path(), true).expect("read").is_empty());
        journal.append(&ops(3)).expect("append");
        assert_eq!(seqs(&pending(&db, dir.path(), true).expect("read")), [1]);
        {
            use redb::ReadableDatabase;
            let txn = db.begin_read().expect("read");
            let t = txn.open_table(Def::new("events")).expect("table");
            assert!(t.get(&[2u8][..]).expect("get").is_some());
        }
    }

    #[test]
    fn a_journal_missing_cut_or_from_another_database_is_refused_unless_accepted() {
        let dir = tempfile::tempdir().expect("dir");
        let db = redb(dir.path());
        let ident = Identity {
            id: [1; 16],
            generation: 5,
        };
        set(&db, ident);
        let path = dir.path().join(FILE);
        let refused = |db: &redb::Database| match pending(db, dir.path(), true) {
            Err(KvError::Journal(why)) => why,
            other => panic!("not refused: {other:?}"),
        };
        assert!(refused(&db).contains("missing"));
        assert!(
            pending(&db, dir.path(), false)
                .expect("accepted")
                .is_empty()
        );

        Journal::create(dir.path(), [2; 16]).expect("create");
        assert!(refused(&db).contains("another database"));

        Journal::create(dir.path(), ident.id).expect("create");
        let mut journal = Journal::open(dir.path(), ident).expect("open");
        journal.append(&ops(1)).expect("append");
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..FILE_HEADER + 100]).expect("cut");
        assert!(refused(&db).contains("cut"));
        assert_eq!(
            seqs(&pending(&db, dir.path(), false).expect("accepted")),
            [1]
        );
    }
}
