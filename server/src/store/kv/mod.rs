//! The storage interface: named keyspaces of ordered byte keys and values, plain reads and
//! writes, ordered scans, atomic batches, compare-and-swap, and transactions across
//! several keyspaces. Every typed module of `store` is written against this; the engines
//! behind it ([`Engine`]) are interchangeable.
//!
//! What every engine promises (checked by the conformance tests in `kv/conformance.rs`):
//! - keys are ordered bytewise; scans run in key order (or reverse) and see writes made
//!   before they started (not necessarily ones made while they run);
//! - a transaction's writes become visible together or not at all, and two transactions
//!   never interleave on the same keys (an engine may run the body again after a conflict,
//!   so a body must not have side effects outside its views);
//! - nothing is durable until [`Db::flush`] returns (the group commit in `commit.rs`
//!   calls it); what was flushed survives a crash of the process.

mod error;
mod memory;
mod redb_dry;
mod redb_engine;
mod redb_journal;
mod scan;
mod sled_engine;
mod value;

pub(crate) use error::KvError;
pub(crate) use error::{TransactionError, TxError, TxFault};
pub(crate) use scan::{Iter, KeyRange};
pub(crate) use value::Value;
use value::owned;

#[cfg(test)]
mod conformance;

use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

/// A key and its value, as an engine hands them over.
pub(crate) type Entry = (Vec<u8>, Vec<u8>);

/// Which engine stores a node's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// sled 0.34 (the engine Kindred started with; unmaintained).
    Sled,
    /// redb: a copy-on-write B-tree with checksums, crash-safe by design.
    Redb,
    /// Nothing on disk (tests and benchmarks); gone when the node stops.
    Memory,
}

impl Engine {
    /// The engine a new data folder is created on.
    pub const DEFAULT: Engine = Engine::Redb;

    /// Whether every write is durable when it returns (redb commits with a disk sync
    /// each; the memory engine has nothing to wait for), so nobody need wait for a flush.
    pub(crate) fn durable_on_commit(self) -> bool {
        !matches!(self, Engine::Sled)
    }

    /// The engine new data folders are created on when the configuration does not say:
    /// `KINDRED_STORAGE__ENGINE` if it names one (as the config override would; the test
    /// suite runs once per engine this way), otherwise [`Engine::DEFAULT`].
    pub fn for_new_folders() -> Engine {
        std::env::var("KINDRED_STORAGE__ENGINE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(Engine::DEFAULT)
    }

    /// The name used in configuration and messages.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sled => "sled",
            Engine::Redb => "redb",
            Engine::Memory => "memory",
        }
    }

    /// The engine whose files are in `dir`, if any (an empty redb file is none: emptied,
    /// it holds no database).
    pub(crate) fn found_in(dir: &Path) -> Option<Engine> {
        if std::fs::metadata(dir.join(redb_engine::FILE)).is_ok_and(|m| m.len() > 0) {
            Some(Engine::Redb)
        } else if dir.join("conf").exists() || dir.join("db").exists() {
            Some(Engine::Sled)
        } else {
            None
        }
    }
}

impl Engine {
    /// As [`Engine::found_in`], only when the engine's main file holds something: an
    /// emptied file (redb's `kindred.redb`, sled's `db`) is no database to read or copy.
    pub(crate) fn holding_data_in(dir: &Path) -> Option<Engine> {
        let holds = |file: &str| std::fs::metadata(dir.join(file)).is_ok_and(|m| m.len() > 0);
        match Self::found_in(dir)? {
            Engine::Redb => Some(Engine::Redb),
            Engine::Sled => holds("db").then_some(Engine::Sled),
            Engine::Memory => None,
        }
    }
}

impl std::str::FromStr for Engine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sled" => Ok(Engine::Sled),
            "redb" => Ok(Engine::Redb),
            "memory" => Ok(Engine::Memory),
            other => Err(format!(
                "unknown storage engine {other:?}: use \"redb\" or \"sled\""
            )),
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Writes applied together by [`Keyspace::apply_batch`].
#[derive(Default, Debug)]
pub(crate) struct Batch {
    pub(crate) ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    pub(crate) fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.ops
            .push((key.as_ref().to_vec(), Some(value.as_ref().to_vec())));
    }

    pub(crate) fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.ops.push((key.as_ref().to_vec(), None));
    }
}

/// A transaction body as an engine runs it: the views of its keyspaces in; whether to
/// commit out.
pub(crate) type TxBody<'b> = dyn FnMut(&[&dyn TxOps]) -> Result<(), TxError<()>> + 'b;

/// One engine's database: its keyspaces, durability and transactions.
pub(crate) trait Backend: Send + Sync {
    /// Opens a keyspace, creating it when missing.
    fn keyspace(&self, name: &str) -> Result<Arc<dyn KeyspaceOps>, KvError>;
    /// Removes a keyspace and everything in it; whether it existed.
    fn drop_keyspace(&self, name: &str) -> Result<bool, KvError>;
    /// The names of the keyspaces that exist.
    fn keyspace_names(&self) -> Result<Vec<String>, KvError>;
    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), KvError>;
    /// Bytes the files take on disk.
    fn size_on_disk(&self) -> Result<u64, KvError>;
    /// Bytes of the files that hold records (without space freed inside them that later
    /// writes reuse).
    fn size_in_use(&self) -> Result<u64, KvError> {
        self.size_on_disk()
    }
    /// Runs `body` over transactional views of `spaces`, in that order, and commits what
    /// it wrote unless it returns an error (run again on `TxError::Conflict`).
    fn transaction(
        &self,
        spaces: &[&str],
        body: &mut TxBody<'_>,
    ) -> Result<(), TransactionError<()>>;
    /// Checks the files' own structure and checksums, where the engine has them; `None`
    /// when it has no such check.
    fn verify(&self) -> Result<Option<bool>, KvError>;
    /// The engine.
    fn engine(&self) -> Engine;
}

/// A keyspace's plain (non-transactional) operations.
pub(crate) trait KeyspaceOps: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, KvError>;
    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;
    /// Sets `key` to `new` only if it holds `old` now; otherwise what it holds.
    fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<Result<(), Option<Vec<u8>>>, KvError>;
    fn apply_batch(&self, batch: Batch) -> Result<(), KvError>;
    /// Up to `limit` entries of `range`, in order (or reverse order).
    fn scan(&self, range: &KeyRange, reverse: bool, limit: usize) -> Result<Vec<Entry>, KvError>;
    fn clear(&self) -> Result<(), KvError>;
}

/// A keyspace's operations inside a transaction (no scans: not every engine has them).
pub(crate) trait TxOps {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxFault>;
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, TxFault>;
    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxFault>;
}

/// Whether the last write found the disk full: set by a write that fails so, cleared by
/// one that succeeds (`/healthz` and the admin pages report it).
#[derive(Default)]
struct Health {
    full: std::sync::atomic::AtomicBool,
}

impl Health {
    /// Notes a write's outcome: a full disk sets the mark, a write that went through
    /// clears it.
    fn note<T>(&self, result: Result<T, KvError>) -> Result<T, KvError> {
        let full = matches!(&result, Err(e) if e.is_full());
        if full || result.is_ok() {
            self.full.store(full, std::sync::atomic::Ordering::Release);
        }
        result
    }

    /// Notes a flush's outcome: only a failure counts (a flush with nothing to write
    /// succeeds on a full disk).
    fn note_flush(&self, result: Result<(), KvError>) -> Result<(), KvError> {
        if matches!(&result, Err(e) if e.is_full()) {
            self.full.store(true, std::sync::atomic::Ordering::Release);
        }
        result
    }
}

/// An open database on one engine. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Db {
    backend: Arc<dyn Backend>,
    health: Arc<Health>,
}

/// What an existing database must hold to be opened: `keyspace`'s last key is at least
/// `last_key_at_least` (the store's acknowledged mark), or else the value stored under
/// `or_value` (a keyspace and a key) is. One that does not is refused with
/// [`KvError::WentBack`]; on redb before its recovery writes anything, so the file stays
/// as it was.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Expect<'a> {
    pub(crate) keyspace: &'a str,
    pub(crate) last_key_at_least: &'a [u8],
    pub(crate) or_value: Option<(&'a str, &'a [u8])>,
}

impl Expect<'_> {
    /// `last`: the keyspace's last key; `value`: what `or_value` names holds.
    fn check(&self, last: Option<&[u8]>, value: Option<&[u8]>) -> Result<(), KvError> {
        let reaches = |b: Option<&[u8]>| b.is_some_and(|b| b >= self.last_key_at_least);
        if reaches(last) || reaches(value) {
            return Ok(());
        }
        Err(KvError::WentBack {
            found: last.map(<[u8]>::to_vec),
        })
    }
}

impl Db {
    /// Opens (or creates) the database in `dir` on `engine`.
    #[cfg(test)]
    pub(crate) fn open(dir: &Path, engine: Engine) -> Result<Self, KvError> {
        Self::open_expecting(dir, engine, None, false)
    }

    /// As [`Db::open`], refusing a database that does not hold what `expect` says.
    /// `accept_loss` (an operator's repair): a damaged or missing redb journal is gone past
    /// (logged) instead of refused.
    pub(crate) fn open_expecting(
        dir: &Path,
        engine: Engine,
        expect: Option<Expect<'_>>,
        accept_loss: bool,
    ) -> Result<Self, KvError> {
        let backend: Arc<dyn Backend> = match engine {
            Engine::Sled => Arc::new(sled_engine::SledDb::open(dir)?),
            Engine::Redb => Arc::new(redb_engine::RedbDb::open(dir, expect, accept_loss)?),
            Engine::Memory => Arc::new(memory::MemoryDb::default()),
        };
        if let Some(expect) = expect {
            // redb was checked before it opened for real; sled has no earlier moment.
            let last = backend
                .keyspace(expect.keyspace)?
                .scan(&KeyRange::prefix(&[]), true, 1)?
                .into_iter()
                .next()
                .map(|(k, _)| k);
            let value = match expect.or_value {
                Some((space, key)) => backend.keyspace(space)?.get(key)?,
                None => None,
            };
            expect.check(last.as_deref(), value.as_deref())?;
        }
        Ok(Self {
            backend,
            health: Arc::default(),
        })
    }

    /// Whether the last write failed because the disk is full.
    pub(crate) fn full(&self) -> bool {
        self.health.full.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn engine(&self) -> Engine {
        self.backend.engine()
    }

    /// Opens a keyspace, creating it when missing.
    pub(crate) fn keyspace(&self, name: &str) -> Result<Keyspace, KvError> {
        Ok(Keyspace {
            name: Arc::from(name),
            ops: self.backend.keyspace(name)?,
            backend: self.backend.clone(),
            health: self.health.clone(),
        })
    }

    pub(crate) fn drop_keyspace(&self, name: &str) -> Result<bool, KvError> {
        self.backend.drop_keyspace(name)
    }

    pub(crate) fn keyspace_names(&self) -> Result<Vec<String>, KvError> {
        self.backend.keyspace_names()
    }

    /// Makes every write so far durable.
    pub(crate) fn flush(&self) -> Result<(), KvError> {
        self.health.note_flush(self.backend.flush())
    }

    pub(crate) fn size_on_disk(&self) -> Result<u64, KvError> {
        self.backend.size_on_disk()
    }

    pub(crate) fn size_in_use(&self) -> Result<u64, KvError> {
        self.backend.size_in_use()
    }

    /// The engine's own check of its files (`None`: it has none).
    pub(crate) fn verify(&self) -> Result<Option<bool>, KvError> {
        self.backend.verify()
    }

    /// Runs `body` over transactional views of `spaces` (in that order) and commits its
    /// writes atomically, unless it aborts. The body may run more than once.
    pub(crate) fn transaction<const N: usize, R, E>(
        &self,
        spaces: [&Keyspace; N],
        body: impl Fn(&[TxKeyspace<'_>; N]) -> Result<R, TxError<E>>,
    ) -> Result<R, TransactionError<E>> {
        let names: Vec<&str> = spaces.iter().map(|s| &*s.name).collect();
        let mut out: Option<Result<R, E>> = None;
        let result = self.backend.transaction(&names, &mut |views| {
            let views: Vec<TxKeyspace<'_>> = views.iter().map(|v| TxKeyspace(*v)).collect();
            let Ok(views) = <[TxKeyspace<'_>; N]>::try_from(views) else {
                return Err(TxError::Storage(KvError::Engine {
                    engine: "kv",
                    message: "an engine gave the wrong number of views".into(),
                }));
            };
            match body(&views) {
                Ok(r) => {
                    out = Some(Ok(r));
                    Ok(())
                }
                Err(TxError::Abort(e)) => {
                    out = Some(Err(e));
                    Err(TxError::Abort(()))
                }
                Err(TxError::Conflict) => Err(TxError::Conflict),
                Err(TxError::Storage(e)) => Err(TxError::Storage(e)),
            }
        });
        match &result {
            Ok(()) => self
                .health
                .full
                .store(false, std::sync::atomic::Ordering::Release),
            Err(TransactionError::Storage(e)) if e.is_full() => {
                self.health
                    .full
                    .store(true, std::sync::atomic::Ordering::Release);
            }
            Err(_) => {}
        }
        match (result, out) {
            (Ok(()), Some(Ok(r))) => Ok(r),
            (Err(TransactionError::Abort(())), Some(Err(e))) => Err(TransactionError::Abort(e)),
            (Err(TransactionError::Storage(e)), _) => Err(TransactionError::Storage(e)),
            _ => Err(TransactionError::Storage(KvError::Engine {
                engine: self.engine().name(),
                message: "a transaction ended without its outcome".into(),
            })),
        }
    }
}

/// A compare-and-swap found another value than the one expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompareAndSwapError {
    /// What the key holds (none: absent).
    pub(crate) current: Option<Value>,
}

/// A named keyspace. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Keyspace {
    name: Arc<str>,
    ops: Arc<dyn KeyspaceOps>,
    backend: Arc<dyn Backend>,
    health: Arc<Health>,
}

impl Keyspace {
    #[cfg(test)]
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>, KvError> {
        Ok(owned(self.ops.get(key.as_ref())?))
    }

    pub(crate) fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, KvError> {
        Ok(self.ops.get(key.as_ref())?.is_some())
    }

    /// Stores `value` under `key`; the value it replaced.
    pub(crate) fn insert(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<Option<Value>, KvError> {
        Ok(owned(
            self.health
                .note(self.ops.insert(key.as_ref(), value.as_ref()))?,
        ))
    }

    /// Removes `key`; the value it held.
    pub(crate) fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>, KvError> {
        Ok(owned(self.health.note(self.ops.remove(key.as_ref()))?))
    }

    /// Sets `key` to `new` (none: removes it) only if it holds `old` (none: absent) now;
    /// whether it did.
    pub(crate) fn compare_and_swap<O: AsRef<[u8]>, N: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        old: Option<O>,
        new: Option<N>,
    ) -> Result<Result<(), CompareAndSwapError>, KvError> {
        let swapped = self.health.note(self.ops.compare_and_swap(
            key.as_ref(),
            old.as_ref().map(AsRef::as_ref),
            new.as_ref().map(AsRef::as_ref),
        ))?;
        Ok(swapped.map_err(|current| CompareAndSwapError {
            current: owned(current),
        }))
    }

    /// Applies every write of `batch` together.
    pub(crate) fn apply_batch(&self, batch: Batch) -> Result<(), KvError> {
        self.health.note(self.ops.apply_batch(batch))
    }

    /// Makes every write so far (to any keyspace) durable.
    pub(crate) fn flush(&self) -> Result<(), KvError> {
        self.health.note_flush(self.backend.flush())
    }

    /// Removes everything.
    pub(crate) fn clear(&self) -> Result<(), KvError> {
        self.ops.clear()
    }

    /// Every entry, in key order.
    pub(crate) fn iter(&self) -> Iter {
        self.range::<&[u8], _>(..)
    }

    /// Every entry whose key starts with `prefix`, in key order.
    pub(crate) fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        Iter::new(self.ops.clone(), KeyRange::prefix(prefix.as_ref()))
    }

    /// Every entry in `range`, in key order.
    pub(crate) fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        Iter::new(self.ops.clone(), KeyRange::of(range))
    }

    /// The entry with the greatest key.
    pub(crate) fn last(&self) -> Result<Option<(Value, Value)>, KvError> {
        Ok(self
            .ops
            .scan(&KeyRange::of::<&[u8], _>(..), true, 1)?
            .into_iter()
            .next()
            .map(|(k, v)| (Value::from(k), Value::from(v))))
    }

    /// The entry with the least key in `range`: one entry read, where
    /// `range(..).next()` would read a page of them.
    pub(crate) fn first_in<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
    ) -> Result<Option<(Value, Value)>, KvError> {
        Ok(self
            .ops
            .scan(&KeyRange::of(range), false, 1)?
            .into_iter()
            .next()
            .map(|(k, v)| (Value::from(k), Value::from(v))))
    }

    /// The entry with the greatest key in `range`: one entry read, where
    /// `range(..).rev().next()` would read a page of them.
    pub(crate) fn last_in<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
    ) -> Result<Option<(Value, Value)>, KvError> {
        Ok(self
            .ops
            .scan(&KeyRange::of(range), true, 1)?
            .into_iter()
            .next()
            .map(|(k, v)| (Value::from(k), Value::from(v))))
    }

    /// Counts the entries (a full scan).
    pub(crate) fn len(&self) -> usize {
        self.iter().map_while(Result::ok).count()
    }

    pub(crate) fn is_empty(&self) -> bool {
        !matches!(self.iter().next(), Some(Ok(_)))
    }
}

/// A keyspace inside a transaction.
#[derive(Clone, Copy)]
pub(crate) struct TxKeyspace<'a>(&'a dyn TxOps);

impl TxKeyspace<'_> {
    pub(crate) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>, TxFault> {
        Ok(owned(self.0.get(key.as_ref())?))
    }

    pub(crate) fn insert(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<Option<Value>, TxFault> {
        Ok(owned(self.0.insert(key.as_ref(), value.as_ref())?))
    }

    pub(crate) fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>, TxFault> {
        Ok(owned(self.0.remove(key.as_ref())?))
    }
}
