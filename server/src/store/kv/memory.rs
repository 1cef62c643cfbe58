//! The in-memory engine: ordered maps behind one lock, for tests and benchmarks. Writes
//! (plain ones and transactions) are serialised by a writer lock, so a transaction never
//! conflicts; readers only take the data lock for a moment.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use super::{
    Backend, Batch, Engine, Entry, KeyRange, KeyspaceOps, KvError, TransactionError, TxBody,
    TxError, TxFault, TxOps,
};

type Space = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Default)]
struct Shared {
    data: RwLock<BTreeMap<String, Space>>,
    /// Held by every writer for the whole of its write.
    writer: Mutex<()>,
}

impl Shared {
    fn read<R>(&self, f: impl FnOnce(&BTreeMap<String, Space>) -> R) -> R {
        f(&self.data.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn write<R>(&self, f: impl FnOnce(&mut BTreeMap<String, Space>) -> R) -> R {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut self.data.write().unwrap_or_else(|p| p.into_inner()))
    }
}

#[derive(Default)]
pub(super) struct MemoryDb {
    shared: Arc<Shared>,
}

struct MemorySpace {
    shared: Arc<Shared>,
    name: String,
}

impl Backend for MemoryDb {
    fn keyspace(&self, name: &str) -> Result<Arc<dyn KeyspaceOps>, KvError> {
        self.shared.write(|d| {
            d.entry(name.to_owned()).or_default();
        });
        Ok(Arc::new(MemorySpace {
            shared: self.shared.clone(),
            name: name.to_owned(),
        }))
    }

    fn drop_keyspace(&self, name: &str) -> Result<bool, KvError> {
        Ok(self.shared.write(|d| d.remove(name).is_some()))
    }

    fn keyspace_names(&self) -> Result<Vec<String>, KvError> {
        Ok(self.shared.read(|d| d.keys().cloned().collect()))
    }

    fn flush(&self) -> Result<(), KvError> {
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, KvError> {
        Ok(0)
    }

    fn transaction(
        &self,
        spaces: &[&str],
        body: &mut TxBody<'_>,
    ) -> Result<(), TransactionError<()>> {
        let _writer = self.shared.writer.lock().unwrap_or_else(|p| p.into_inner());
        let views: Vec<MemoryTx<'_>> = spaces
            .iter()
            .map(|name| MemoryTx {
                shared: &self.shared,
                name,
                staged: std::cell::RefCell::default(),
            })
            .collect();
        let refs: Vec<&dyn TxOps> = views.iter().map(|v| v as &dyn TxOps).collect();
        match body(&refs) {
            Ok(()) => {}
            Err(TxError::Abort(())) => return Err(TransactionError::Abort(())),
            // Writers are serialised: nothing can conflict.
            Err(TxError::Conflict) => {
                return Err(TransactionError::Storage(KvError::Engine {
                    engine: "memory",
                    message: "a conflict without a concurrent writer".into(),
                }));
            }
            Err(TxError::Storage(e)) => return Err(TransactionError::Storage(e)),
        }
        let mut data = self.shared.data.write().unwrap_or_else(|p| p.into_inner());
        for view in views {
            let space = data.entry(view.name.to_owned()).or_default();
            for (k, v) in view.staged.into_inner() {
                match v {
                    Some(v) => space.insert(k, v),
                    None => space.remove(&k),
                };
            }
        }
        Ok(())
    }

    fn verify(&self) -> Result<Option<bool>, KvError> {
        Ok(None)
    }

    fn engine(&self) -> Engine {
        Engine::Memory
    }
}

impl MemorySpace {
    fn read<R>(&self, f: impl FnOnce(Option<&Space>) -> R) -> R {
        self.shared.read(|d| f(d.get(&self.name)))
    }

    fn write<R>(&self, f: impl FnOnce(&mut Space) -> R) -> R {
        self.shared
            .write(|d| f(d.entry(self.name.clone()).or_default()))
    }
}

impl KeyspaceOps for MemorySpace {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.read(|s| s.and_then(|s| s.get(key).cloned())))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.write(|s| s.insert(key.to_vec(), value.to_vec())))
    }

    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.write(|s| s.remove(key)))
    }

    fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<Result<(), Option<Vec<u8>>>, KvError> {
        Ok(self.write(|s| {
            if s.get(key).map(Vec::as_slice) != old {
                return Err(s.get(key).cloned());
            }
            match new {
                Some(v) => s.insert(key.to_vec(), v.to_vec()),
                None => s.remove(key),
            };
            Ok(())
        }))
    }

    fn apply_batch(&self, batch: Batch) -> Result<(), KvError> {
        self.write(|s| {
            for (k, v) in batch.ops {
                match v {
                    Some(v) => s.insert(k, v),
                    None => s.remove(&k),
                };
            }
        });
        Ok(())
    }

    fn scan(&self, range: &KeyRange, reverse: bool, limit: usize) -> Result<Vec<Entry>, KvError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.read(|s| {
            let Some(s) = s else {
                return Vec::new();
            };
            let r = s.range((range.lower.clone(), range.upper.clone()));
            let own = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
            if reverse {
                r.rev().take(limit).map(own).collect()
            } else {
                r.take(limit).map(own).collect()
            }
        }))
    }

    fn clear(&self) -> Result<(), KvError> {
        self.write(Space::clear);
        Ok(())
    }
}

/// A transaction's view: writes are staged and applied together at the end.
struct MemoryTx<'a> {
    shared: &'a Shared,
    name: &'a str,
    staged: std::cell::RefCell<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl TxOps for MemoryTx<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxFault> {
        if let Some(staged) = self.staged.borrow().get(key) {
            return Ok(staged.clone());
        }
        Ok(self
            .shared
            .read(|d| d.get(self.name).and_then(|s| s.get(key).cloned())))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, TxFault> {
        let old = self.get(key)?;
        self.staged
            .borrow_mut()
            .insert(key.to_vec(), Some(value.to_vec()));
        Ok(old)
    }

    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxFault> {
        let old = self.get(key)?;
        self.staged.borrow_mut().insert(key.to_vec(), None);
        Ok(old)
    }
}
