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
use std::path::Path;
use std::time::{Duration, Instant};

use super::KvError;

/// The journal file in the database's folder.
pub(crate) const FILE: &str = "kindred.journal";

/// The table holding `applied`; not a keyspace (never listed, copied or compared).
pub(super) const TABLE: &str = "kindred:journal";

const APPLIED_KEY: &[u8] = b"applied";

const MAGIC: [u8; 4] = *b"KJr1";

/// magic, payload length (u32), base (u64), seq (u64), CRC-32 (u32).
const HEADER: usize = 4 + 4 + 8 + 8 + 4;

/// The file grows by this many bytes (of zeros) at a time.
const CHUNK: u64 = 2 * 1024 * 1024;

/// A checkpoint is due once the journal holds this many bytes ...
const CHECKPOINT_BYTES: u64 = CHUNK / 2;
/// ... or this many records ...
const CHECKPOINT_RECORDS: u32 = 4096;
/// ... or the last one is this old. Bounds what redb keeps in memory and what an open
/// after an abrupt stop applies again.
const CHECKPOINT_AGE: Duration = Duration::from_secs(1);

/// One write of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Op {
    Insert {
        table: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Remove {
        table: String,
        key: Vec<u8>,
    },
}

/// One commit, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    base: u64,
    seq: u64,
    ops: Vec<Op>,
}

const INSERT: u8 = 1;
const REMOVE: u8 = 2;

fn encode(base: u64, seq: u64, ops: &[Op]) -> Vec<u8> {
    let mut payload = Vec::new();
    for op in ops {
        let (tag, table, key, value) = match op {
            Op::Insert { table, key, value } => (INSERT, table, key, Some(value)),
            Op::Remove { table, key } => (REMOVE, table, key, None),
        };
        payload.push(tag);
        payload.extend_from_slice(&(table.len() as u16).to_le_bytes());
        payload.extend_from_slice(table.as_bytes());
        payload.extend_from_slice(&(key.len() as u32).to_le_bytes());
        payload.extend_from_slice(key);
        if let Some(value) = value {
            payload.extend_from_slice(&(value.len() as u32).to_le_bytes());
            payload.extend_from_slice(value);
        }
    }
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&base.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&checksum(base, seq, &payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

fn checksum(base: u64, seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&base.to_le_bytes());
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// What lies at an offset of the file.
enum Found {
    Whole(Record, usize),
    /// Framed, but its checksum or contents fail; the next record would start at `next`.
    Bad {
        next: usize,
    },
    /// Zeros, or not even a header.
    End,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn read_at(bytes: &[u8], at: usize) -> Found {
    let Some(header) = bytes.get(at..at + HEADER) else {
        return Found::End;
    };
    if header[..4] != MAGIC {
        return Found::End;
    }
    let (Some(len), Some(base), Some(seq), Some(crc)) = (
        u32_at(header, 4),
        u64_at(header, 8),
        u64_at(header, 16),
        u32_at(header, 24),
    ) else {
        return Found::End;
    };
    let start = at + HEADER;
    let Some(payload) = bytes.get(start..start + len as usize) else {
        return Found::End;
    };
    let next = start + len as usize;
    if checksum(base, seq, payload) != crc {
        return Found::Bad { next };
    }
    match decode_ops(payload) {
        Some(ops) => Found::Whole(Record { base, seq, ops }, next),
        None => Found::Bad { next },
    }
}

fn decode_ops(mut p: &[u8]) -> Option<Vec<Op>> {
    fn take<'a>(p: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (p.get(..n)?, p.get(n..)?);
        *p = rest;
        Some(head)
    }
    let mut ops = Vec::new();
    while !p.is_empty() {
        let tag = take(&mut p, 1)?[0];
        let n = u16::from_le_bytes(take(&mut p, 2)?.try_into().ok()?) as usize;
        let table = String::from_utf8(take(&mut p, n)?.to_vec()).ok()?;
        let n = u32::from_le_bytes(take(&mut p, 4)?.try_into().ok()?) as usize;
        let key = take(&mut p, n)?.to_vec();
        ops.push(match tag {
            INSERT => {
                let n = u32::from_le_bytes(take(&mut p, 4)?.try_into().ok()?) as usize;
                let value = take(&mut p, n)?.to_vec();
                Op::Insert { table, key, value }
            }
            REMOVE => Op::Remove { table, key },
            _ => return None,
        });
    }
    Some(ops)
}

/// The records of the current generation, in order: from the file's start while each
/// follows on from the one before. Errors: a damaged record inside the run (described).
fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let mut out: Vec<Record> = Vec::new();
    let mut at = 0;
    loop {
        match read_at(bytes, at) {
            Found::Whole(record, next) => {
                if let Some(last) = out.last()
                    && (record.base != last.base || record.seq != last.seq + 1)
                {
                    break;
                }
                out.push(record);
                at = next;
            }
            Found::Bad { next } => {
                // A torn last append has nothing of its generation after it.
                if let (Some(last), Found::Whole(after, _)) = (out.last(), read_at(bytes, next))
                    && after.base == last.base
                    && after.seq == last.seq + 2
                {
                    return Err(format!(
                        "record {} at byte {at} fails its checksum",
                        last.seq + 1
                    ));
                }
                break;
            }
            Found::End => break,
        }
    }
    Ok(out)
}

/// The journal's records in `dir` (none when there is no journal). Errors: it cannot be
/// read, or it is damaged inside ([`KvError::Corrupt`]).
pub(super) fn read(dir: &Path) -> Result<Vec<Record>, KvError> {
    let bytes = match std::fs::read(dir.join(FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(KvError::from_io(e)),
    };
    parse(&bytes).map_err(|why| {
        KvError::Corrupt(format!(
            "the journal {} is damaged: {why}",
            dir.join(FILE).display()
        ))
    })
}

fn engine(e: impl std::fmt::Display) -> KvError {
    KvError::Engine {
        engine: "redb",
        message: e.to_string(),
    }
}

type Def<'a> = redb::TableDefinition<'a, &'static [u8], &'static [u8]>;

/// The last record `db` holds the writes of (0 before the first).
fn applied(db: &redb::Database) -> Result<u64, KvError> {
    use redb::ReadableDatabase;
    let txn = db.begin_read().map_err(engine)?;
    let table = match txn.open_table(Def::new(TABLE)) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(engine(e)),
    };
    let value = table.get(APPLIED_KEY).map_err(engine)?;
    Ok(value
        .and_then(|v| v.value().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0))
}

/// Records, inside the commit `txn` (which must be durable), that it holds every record
/// up to `seq`.
pub(super) fn set_applied(txn: &redb::WriteTransaction, seq: u64) -> Result<(), KvError> {
    let mut table = txn.open_table(Def::new(TABLE)).map_err(engine)?;
    table
        .insert(APPLIED_KEY, &seq.to_be_bytes()[..])
        .map_err(engine)?;
    Ok(())
}

/// Applies to `db`, in one durable commit, the records it does not hold yet; returns the
/// number the next generation follows. Records that do not follow on from what `db`
/// holds (it went back to an earlier checkpoint) are left out, with an error in the log:
/// what they needed is gone, and the caller's check of what was acknowledged decides.
pub(super) fn replay(db: &redb::Database, records: &[Record]) -> Result<u64, KvError> {
    let applied = applied(db)?;
    let newest = records.last().map_or(applied, |r| r.seq).max(applied);
    let newer: Vec<&Record> = records.iter().filter(|r| r.seq > applied).collect();
    let follows = newer.first().is_some_and(|r| r.seq == applied + 1);
    if !newer.is_empty() && !follows {
        tracing::error!(
            applied,
            journal_from = newer.first().map(|r| r.seq),
            "the journal starts after what the database holds: its records were not applied"
        );
    }
    if newest == applied {
        return Ok(applied);
    }
    let txn = db.begin_write().map_err(engine)?;
    if follows {
        for record in &newer {
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
        tracing::info!(
            records = newer.len(),
            "applied the journal's writes after an abrupt stop"
        );
    }
    // Numbered past every record in the file, so no old one can pass for a new one.
    set_applied(&txn, newest)?;
    txn.commit().map_err(|e| match e {
        redb::CommitError::Storage(redb::StorageError::Io(io)) => KvError::from_io(io),
        other => engine(other),
    })?;
    Ok(newest)
}

/// The open journal, appended to by each commit.
pub(super) struct Journal {
    file: File,
    /// The file's length (all written).
    len: u64,
    /// Where the next record goes.
    at: u64,
    /// The generation: the `applied` of the checkpoint it follows.
    base: u64,
    next_seq: u64,
    records: u32,
    since: Instant,
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, starting a generation after `applied`.
    pub(super) fn open(dir: &Path, applied: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(FILE))?;
        let len = file.metadata()?.len();
        let journal = Self {
            file,
            len,
            at: 0,
            base: applied,
            next_seq: applied + 1,
            records: 0,
            since: Instant::now(),
        };
        // The database holds it all now (the caller applied it).
        journal.wipe(len);
        Ok(journal)
    }

    /// Appends one commit's writes and waits for the disk; returns its number. On an
    /// error nothing counts as written (a half-written record is overwritten by the next).
    pub(super) fn append(&mut self, ops: &[Op]) -> io::Result<u64> {
        let seq = self.next_seq;
        let record = encode(self.base, seq, ops);
        let end = self.at + record.len() as u64;
        if end > self.len {
            self.grow(end)?;
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
        self.at = end;
        self.next_seq += 1;
        self.records += 1;
        Ok(seq)
    }

    /// Overwrites the file's first `upto` bytes with zeros: records the database holds are
    /// not kept, so what a member erased does not linger here. They reach the disk with
    /// the next append's flush (or the system's own writeback).
    fn wipe(&self, upto: u64) {
        let zeros = vec![0u8; 64 * 1024];
        let mut at = 0;
        while at < upto.min(self.len) {
            let n = (upto.min(self.len) - at).min(zeros.len() as u64) as usize;
            if let Err(e) = self.file.write_all_at(&zeros[..n], at) {
                tracing::warn!(error = %e, "the journal's applied records could not be wiped");
                return;
            }
            at += n as u64;
        }
    }

    /// Writes zeros up to a whole chunk past `end`, and makes the new length durable.
    fn grow(&mut self, end: u64) -> io::Result<()> {
        let new_len = end.div_ceil(CHUNK) * CHUNK;
        let zeros = vec![0u8; 64 * 1024];
        let mut at = self.len;
        while at < new_len {
            let n = (new_len - at).min(zeros.len() as u64) as usize;
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        self.file.sync_all()?;
        self.len = new_len;
        Ok(())
    }

    /// The number of the last record appended (or the generation's base).
    pub(super) fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Whether a checkpoint is due.
    pub(super) fn due(&self) -> bool {
        self.records > 0
            && (self.at >= CHECKPOINT_BYTES
                || self.records >= CHECKPOINT_RECORDS
                || self.since.elapsed() >= CHECKPOINT_AGE)
    }

    /// A durable commit now holds every record: they are wiped, and the next generation
    /// starts at the beginning of the file.
    pub(super) fn checkpointed(&mut self) {
        self.wipe(self.at);
        self.base = self.last_seq();
        self.at = 0;
        self.records = 0;
        self.since = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(n: u8) -> Vec<Op> {
        vec![
            Op::Insert {
                table: "events".into(),
                key: vec![n],
                value: vec![n; 3],
            },
            Op::Remove {
                table: "held".into(),
                key: vec![n, n],
            },
        ]
    }

    #[test]
    fn records_round_trip_and_a_run_stops_at_a_torn_end_or_an_older_generation() {
        let mut bytes = Vec::new();
        for seq in 1..=3 {
            bytes.extend(encode(0, seq, &ops(seq as u8)));
        }
        let whole = parse(&bytes).expect("parse");
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[2].ops, ops(3));

        // A torn last record: the two before it stand.
        let torn = &bytes[..bytes.len() - 2];
        assert_eq!(parse(torn).expect("parse").len(), 2);

        // A new generation written over the start of an older one stops where it ends.
        let mut newer = encode(3, 4, &ops(4));
        newer.resize(bytes.len(), 0);
        let first = encode(3, 4, &ops(4)).len();
        newer[first..].copy_from_slice(&bytes[first..]);
        let run = parse(&newer).expect("parse");
        assert_eq!(run.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4]);
    }

    #[test]
    fn a_damaged_record_inside_the_run_is_refused() {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for seq in 1..=3 {
            starts.push(bytes.len());
            bytes.extend(encode(0, seq, &ops(seq as u8)));
        }
        bytes[starts[1] + HEADER + 3] ^= 0x40;
        let err = parse(&bytes).expect_err("damage");
        assert!(err.contains("record 2"), "{err}");
    }

    #[test]
    fn appends_wait_for_the_disk_and_a_checkpoint_starts_again_at_the_beginning() {
        let dir = tempfile::tempdir().expect("dir");
        let mut journal = Journal::open(dir.path(), 7).expect("open");
        assert_eq!(journal.append(&ops(1)).expect("append"), 8);
        assert_eq!(journal.append(&ops(2)).expect("append"), 9);
        let records = read(dir.path()).expect("read");
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [8, 9]);
        assert_eq!(
            std::fs::metadata(dir.path().join(FILE))
                .expect("meta")
                .len(),
            CHUNK
        );

        journal.checkpointed();
        assert_eq!(journal.append(&ops(3)).expect("append"), 10);
        let records = read(dir.path()).expect("read");
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [10]);
    }

    #[test]
    fn replay_applies_what_follows_once_and_skips_what_does_not_follow() {
        let dir = tempfile::tempdir().expect("dir");
        let db = redb::Database::create(dir.path().join("t.redb")).expect("db");
        let records: Vec<Record> = (1..=2)
            .map(|seq| Record {
                base: 0,
                seq,
                ops: ops(seq as u8),
            })
            .collect();
        assert_eq!(replay(&db, &records).expect("replay"), 2);
        // Again: nothing newer, nothing changes.
        assert_eq!(replay(&db, &records).expect("replay"), 2);
        let read_value = |key: &[u8]| {
            use redb::ReadableDatabase;
            let txn = db.begin_read().expect("read");
            let t = txn.open_table(Def::new("events")).expect("table");
            t.get(key).expect("get").map(|v| v.value().to_vec())
        };
        assert_eq!(read_value(&[2]), Some(vec![2; 3]));

        // Records after a gap (the database went back) are left out, numbered past.
        let later = vec![Record {
            base: 4,
            seq: 5,
            ops: ops(5),
        }];
        assert_eq!(replay(&db, &later).expect("replay"), 5);
        assert_eq!(read_value(&[5]), None);
    }
}
