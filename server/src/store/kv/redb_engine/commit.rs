//! Commits on redb: journaled ones (the write path), durable ones (checkpoints, and the
//! writes not worth a journal record), and the checkpoint a clean close makes.

use std::cell::RefCell;
use std::sync::atomic::Ordering;

use super::super::KvError;
use super::super::redb_journal::{self, Identity, Journal, Op};
use super::{Shared, kv};

impl Drop for Shared {
    /// A clean close checkpoints, so the next open has nothing to apply (and says so).
    fn drop(&mut self) {
        if self.broken.load(Ordering::Acquire) || self.read_view.load(Ordering::Acquire) {
            return;
        }
        let Ok(db) = self.current() else {
            return;
        };
        if let Err(e) = self.checkpoint(&db, false) {
            tracing::warn!(error = %e, "the database could not be checkpointed as it closed; the next start applies its journal");
        }
    }
}

impl Shared {
    pub(super) fn journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in a durable write transaction, which is also a checkpoint: for the writes
    /// that are not worth a journal record (creating and dropping keyspaces, batches of
    /// derived records).
    pub(super) fn write<R>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<R, KvError>,
    ) -> Result<R, KvError> {
        let result = (|| {
            let db = self.db()?;
            let txn = db.begin_write().map_err(kv)?;
            let r = f(&txn)?;
            let mut journal = self.journal();
            let next = self.next_generation(&txn, &journal)?;
            txn.commit().map_err(kv)?;
            journal.checkpointed(next);
            Ok(r)
        })();
        result.map_err(|e| self.failed(e))
    }

    /// Runs `f` in a write transaction whose writes `f` also lists in `ops`: they go to the
    /// journal, and once that is on the disk redb commits without waiting for it.
    pub(super) fn write_journaled<R>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction, &RefCell<Vec<Op>>) -> Result<R, KvError>,
    ) -> Result<R, KvError> {
        let result = (|| {
            let db = self.db()?;
            let txn = db.begin_write().map_err(kv)?;
            let ops = RefCell::new(Vec::new());
            let r = f(&txn, &ops)?;
            self.commit_journaled(&db, txn, ops.into_inner())?;
            Ok(r)
        })();
        result.map_err(|e| self.failed(e))
    }

    /// Journals `ops` (the writes made in `txn`), commits `txn` and, when one is due,
    /// checkpoints. Nothing is committed if the journal could not be written.
    pub(super) fn commit_journaled(
        &self,
        db: &redb::Database,
        mut txn: redb::WriteTransaction,
        ops: Vec<Op>,
    ) -> Result<(), KvError> {
        if ops.is_empty() {
            return txn.abort().map_err(kv);
        }
        if redb_journal::too_large(&ops) {
            // A large group (a catch-up's, an import's) costs the disk less as a
            // checkpoint of its own than written twice, to the journal and then the file.
            let mut journal = self.journal();
            let next = self.next_generation(&txn, &journal)?;
            txn.commit().map_err(kv)?;
            journal.checkpointed(next);
            return Ok(());
        }
        txn.set_durability(redb::Durability::None)
            .map_err(|e| KvError::Engine {
                engine: "redb",
                message: e.to_string(),
            })?;
        let due = {
            let mut journal = self.journal();
            if let Err(e) = journal.append(&ops) {
                let _ = txn.abort();
                return Err(KvError::from_io(e));
            }
            if let Err(e) = txn.commit() {
                // The journal has a write redb refused: it is applied when the file is
                // opened again, before anything else is written.
                self.broken.store(true, Ordering::Release);
                return Err(kv(e));
            }
            journal.due()
        };
        if due {
            // The write is durable in the journal whatever happens here.
            if let Err(e) = self.checkpoint(db, true) {
                let e = self.failed(e);
                tracing::warn!(error = %e, "a checkpoint of the database failed; the journal keeps the writes");
            }
        }
        Ok(())
    }

    /// A durable commit holding every journaled write: the journal starts again.
    /// `if_due`: only when one is due (another writer's may have come first).
    pub(super) fn checkpoint(&self, db: &redb::Database, if_due: bool) -> Result<(), KvError> {
        let txn = db.begin_write().map_err(kv)?;
        let mut journal = self.journal();
        if !journal.holds_records() || (if_due && !journal.due()) {
            return txn.abort().map_err(kv);
        }
        let next = self.next_generation(&txn, &journal)?;
        txn.commit().map_err(kv)?;
        journal.checkpointed(next);
        Ok(())
    }

    /// Names, in the durable commit `txn`, the generation the journal starts after it.
    pub(super) fn next_generation(
        &self,
        txn: &redb::WriteTransaction,
        journal: &Journal,
    ) -> Result<u64, KvError> {
        let generation = journal.next_generation();
        redb_journal::set_identity(
            txn,
            Identity {
                id: self.id,
                generation,
            },
        )?;
        Ok(generation)
    }
}
