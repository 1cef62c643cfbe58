//! The sled 0.34 engine: a keyspace is a sled tree.

use std::path::Path;
use std::sync::Arc;

use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionError as SledTxError, TransactionalTree,
    UnabortableTransactionError,
};

use super::{
    Backend, Batch, Engine, Entry, KeyRange, KeyspaceOps, KvError, TransactionError, TxBody,
    TxError, TxFault, TxOps,
};

pub(super) struct SledDb {
    db: sled::Db,
}

fn kv(e: sled::Error) -> KvError {
    match e {
        sled::Error::Io(io) => KvError::from_io(io),
        sled::Error::Corruption { at, .. } => {
            KvError::Corrupt(format!("sled found damaged data at {at:?}"))
        }
        sled::Error::CollectionNotFound(_) => KvError::Engine {
            engine: "sled",
            message: "a keyspace went missing".into(),
        },
        sled::Error::Unsupported(m) | sled::Error::ReportableBug(m) => KvError::Engine {
            engine: "sled",
            message: m,
        },
    }
}

impl SledDb {
    pub(super) fn open(dir: &Path) -> Result<Self, KvError> {
        remove_unfinished_snapshots(dir);
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(24 * 1024 * 1024)
            // Durability comes from the group commit; sled's background flush is a second
            // line.
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|e| match e {
                // sled's file lock: another process has this database open.
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("could not acquire lock") =>
                {
                    KvError::Locked
                }
                other => kv(other),
            })?;
        Ok(Self { db })
    }
}

/// sled writes a snapshot as `snap.<n>.generating` and renames it when complete; a start
/// that fails on a full disk leaves the file empty, and every later start then reads it and
/// fails ("Read corrupted data"). An unfinished snapshot holds nothing sled needs (the log
/// is the record), so it is removed before opening.
fn remove_unfinished_snapshots(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::warn!(
                    file = %entry.path().display(),
                    "removed an unfinished sled snapshot left by an earlier start (probably on a full disk)"
                ),
                Err(e) => tracing::warn!(
                    file = %entry.path().display(), error = %e,
                    "could not remove an unfinished sled snapshot"
                ),
            }
        }
    }
}

struct SledTree(sled::Tree);

impl Backend for SledDb {
    fn keyspace(&self, name: &str) -> Result<Arc<dyn KeyspaceOps>, KvError> {
        Ok(Arc::new(SledTree(self.db.open_tree(name).map_err(kv)?)))
    }

    fn drop_keyspace(&self, name: &str) -> Result<bool, KvError> {
        self.db.drop_tree(name).map_err(kv)
    }

    fn keyspace_names(&self) -> Result<Vec<String>, KvError> {
        Ok(self
            .db
            .tree_names()
            .into_iter()
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .filter(|n| n != "__sled__default")
            .collect())
    }

    fn flush(&self) -> Result<(), KvError> {
        self.db.flush().map(|_| ()).map_err(kv)
    }

    fn size_on_disk(&self) -> Result<u64, KvError> {
        self.db.size_on_disk().map_err(kv)
    }

    fn transaction(
        &self,
        spaces: &[&str],
        body: &mut TxBody<'_>,
    ) -> Result<(), TransactionError<()>> {
        let trees = spaces
            .iter()
            .map(|n| self.db.open_tree(n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TransactionError::Storage(kv(e)))?;
        // sled's closure is `Fn`; the body is `FnMut` (it keeps its outcome).
        let body = std::cell::RefCell::new(body);
        let result = trees[..].transaction(|views| {
            let wrapped: Vec<SledTx<'_>> = views.iter().map(SledTx).collect();
            let refs: Vec<&dyn TxOps> = wrapped.iter().map(|t| t as &dyn TxOps).collect();
            match (body.borrow_mut())(&refs) {
                Ok(()) => Ok(()),
                Err(TxError::Conflict) => Err(ConflictableTransactionError::Conflict),
                Err(TxError::Abort(())) => Err(ConflictableTransactionError::Abort(None)),
                Err(TxError::Storage(e)) => Err(ConflictableTransactionError::Abort(Some(e))),
            }
        });
        match result {
            Ok(()) => Ok(()),
            Err(SledTxError::Abort(None)) => Err(TransactionError::Abort(())),
            Err(SledTxError::Abort(Some(e))) => Err(TransactionError::Storage(e)),
            Err(SledTxError::Storage(e)) => Err(TransactionError::Storage(kv(e))),
        }
    }

    fn verify(&self) -> Result<Option<bool>, KvError> {
        Ok(None)
    }

    fn engine(&self) -> Engine {
        Engine::Sled
    }
}

impl KeyspaceOps for SledTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.0.get(key).map_err(kv)?.map(|v| v.to_vec()))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.0.insert(key, value).map_err(kv)?.map(|v| v.to_vec()))
    }

    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.0.remove(key).map_err(kv)?.map(|v| v.to_vec()))
    }

    fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<Result<(), Option<Vec<u8>>>, KvError> {
        Ok(self
            .0
            .compare_and_swap(key, old, new)
            .map_err(kv)?
            .map_err(|e| e.current.map(|v| v.to_vec())))
    }

    fn apply_batch(&self, batch: Batch) -> Result<(), KvError> {
        let mut b = sled::Batch::default();
        for (k, v) in batch.ops {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        self.0.apply_batch(b).map_err(kv)
    }

    fn scan(&self, range: &KeyRange, reverse: bool, limit: usize) -> Result<Vec<Entry>, KvError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let iter = self.0.range((range.lower.clone(), range.upper.clone()));
        let own = |item: sled::Result<(sled::IVec, sled::IVec)>| {
            item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(kv)
        };
        if reverse {
            iter.rev().take(limit).map(own).collect()
        } else {
            iter.take(limit).map(own).collect()
        }
    }

    fn clear(&self) -> Result<(), KvError> {
        self.0.clear().map_err(kv)
    }
}

struct SledTx<'a>(&'a TransactionalTree);

fn fault(e: UnabortableTransactionError) -> TxFault {
    match e {
        UnabortableTransactionError::Conflict => TxFault::Conflict,
        UnabortableTransactionError::Storage(e) => TxFault::Storage(kv(e)),
    }
}

impl TxOps for SledTx<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxFault> {
        Ok(self.0.get(key).map_err(fault)?.map(|v| v.to_vec()))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, TxFault> {
        Ok(self
            .0
            .insert(key, value)
            .map_err(fault)?
            .map(|v| v.to_vec()))
    }

    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxFault> {
        Ok(self.0.remove(key).map_err(fault)?.map(|v| v.to_vec()))
    }
}
