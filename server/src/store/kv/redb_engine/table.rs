//! A keyspace of the redb engine (a table), and the view of one inside a transaction.

use std::cell::RefCell;
use std::sync::Arc;

use redb::{ReadableDatabase, ReadableTable};

use super::super::redb_journal::Op;
use super::super::{Batch, Entry, KeyRange, KeyspaceOps, KvError, TxFault, TxOps};
use super::{Def, Guard, Shared, fault, kv};

pub(super) struct RedbTable {
    pub(super) shared: Arc<Shared>,
    pub(super) name: String,
}

impl RedbTable {
    fn def(&self) -> Def<'_> {
        Def::new(&self.name)
    }

    fn inserted(&self, key: &[u8], value: &[u8]) -> Op {
        Op::Insert {
            table: self.name.clone(),
            key: key.to_vec(),
            value: value.to_vec(),
        }
    }

    fn removed(&self, key: &[u8]) -> Op {
        Op::Remove {
            table: self.name.clone(),
            key: key.to_vec(),
        }
    }

    fn read<R>(
        &self,
        f: impl FnOnce(&redb::ReadOnlyTable<&'static [u8], &'static [u8]>) -> Result<R, KvError>,
        missing: impl FnOnce() -> R,
    ) -> Result<R, KvError> {
        let result = (|| {
            let db = self.shared.for_reading()?;
            let txn = db.begin_read().map_err(kv)?;
            match txn.open_table(self.def()) {
                Ok(table) => f(&table),
                Err(redb::TableError::TableDoesNotExist(_)) => Ok(missing()),
                Err(e) => Err(kv(e)),
            }
        })();
        // A read that meets the failed write of another (before it was noticed) says why.
        result.map_err(|e| self.shared.failed(e))
    }
}

fn borrowed(b: &std::ops::Bound<Vec<u8>>) -> std::ops::Bound<&[u8]> {
    match b {
        std::ops::Bound::Included(k) => std::ops::Bound::Included(k.as_slice()),
        std::ops::Bound::Excluded(k) => std::ops::Bound::Excluded(k.as_slice()),
        std::ops::Bound::Unbounded => std::ops::Bound::Unbounded,
    }
}

fn bytes(g: Guard<'_>) -> Vec<u8> {
    g.value().to_vec()
}

impl KeyspaceOps for RedbTable {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.read(|t| Ok(t.get(key).map_err(kv)?.map(bytes)), || None)
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.shared.write_journaled(|txn, ops| {
            let mut t = txn.open_table(self.def()).map_err(kv)?;
            let old = t.insert(key, value).map_err(kv)?.map(bytes);
            ops.borrow_mut().push(self.inserted(key, value));
            Ok(old)
        })
    }

    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.shared.write_journaled(|txn, ops| {
            let mut t = txn.open_table(self.def()).map_err(kv)?;
            let old = t.remove(key).map_err(kv)?.map(bytes);
            ops.borrow_mut().push(self.removed(key));
            Ok(old)
        })
    }

    fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<Result<(), Option<Vec<u8>>>, KvError> {
        self.shared.write_journaled(|txn, ops| {
            let mut t = txn.open_table(self.def()).map_err(kv)?;
            let now = t.get(key).map_err(kv)?.map(bytes);
            if now.as_deref() != old {
                return Ok(Err(now));
            }
            match new {
                Some(v) => {
                    t.insert(key, v).map_err(kv)?;
                    ops.borrow_mut().push(self.inserted(key, v));
                }
                None => {
                    t.remove(key).map_err(kv)?;
                    ops.borrow_mut().push(self.removed(key));
                }
            }
            Ok(Ok(()))
        })
    }

    fn apply_batch(&self, batch: Batch) -> Result<(), KvError> {
        self.shared.write(|txn| {
            let mut t = txn.open_table(self.def()).map_err(kv)?;
            for (k, v) in &batch.ops {
                match v {
                    Some(v) => t.insert(k.as_slice(), v.as_slice()).map_err(kv)?,
                    None => t.remove(k.as_slice()).map_err(kv)?,
                };
            }
            Ok(())
        })
    }

    fn scan(&self, range: &KeyRange, reverse: bool, limit: usize) -> Result<Vec<Entry>, KvError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let bounds = (borrowed(&range.lower), borrowed(&range.upper));
        self.read(
            |t| {
                let iter = t.range::<&[u8]>(bounds).map_err(kv)?;
                let own = |item: Result<(Guard<'_>, Guard<'_>), redb::StorageError>| {
                    item.map(|(k, v)| (bytes(k), bytes(v))).map_err(kv)
                };
                if reverse {
                    iter.rev().take(limit).map(own).collect()
                } else {
                    iter.take(limit).map(own).collect()
                }
            },
            Vec::new,
        )
    }

    fn clear(&self) -> Result<(), KvError> {
        self.shared.write(|txn| {
            txn.delete_table(self.def()).map_err(kv)?;
            txn.open_table(self.def()).map_err(kv)?;
            Ok(())
        })
    }
}

/// A table inside the one write transaction.
type WriteTable<'txn> = redb::Table<'txn, &'static [u8], &'static [u8]>;

/// One keyspace of a write transaction, its table opened at first use.
pub(super) struct RedbTx<'txn> {
    pub(super) txn: &'txn redb::WriteTransaction,
    pub(super) name: &'txn str,
    pub(super) table: RefCell<Option<WriteTable<'txn>>>,
    /// The transaction's writes so far, for the journal.
    pub(super) ops: &'txn RefCell<Vec<Op>>,
}

impl<'txn> RedbTx<'txn> {
    fn with<R>(
        &self,
        f: impl FnOnce(&mut WriteTable<'txn>) -> Result<R, redb::StorageError>,
    ) -> Result<R, TxFault> {
        let mut slot = self.table.borrow_mut();
        let table = match slot.take() {
            Some(table) => slot.insert(table),
            None => slot.insert(self.txn.open_table(Def::new(self.name)).map_err(fault)?),
        };
        f(table).map_err(fault)
    }
}

impl TxOps for RedbTx<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxFault> {
        self.with(|t| Ok(t.get(key)?.map(bytes)))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, TxFault> {
        let old = self.with(|t| Ok(t.insert(key, value)?.map(bytes)))?;
        self.ops.borrow_mut().push(Op::Insert {
            table: self.name.to_owned(),
            key: key.to_vec(),
            value: value.to_vec(),
        });
        Ok(old)
    }

    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxFault> {
        let old = self.with(|t| Ok(t.remove(key)?.map(bytes)))?;
        // Removing what is not there changes nothing, here or when applied again.
        if old.is_some() {
            self.ops.borrow_mut().push(Op::Remove {
                table: self.name.to_owned(),
                key: key.to_vec(),
            });
        }
        Ok(old)
    }
}
