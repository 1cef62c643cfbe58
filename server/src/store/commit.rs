//! Group commit: writers ask to be told when their writes are durable; one thread flushes
//! the database once for everyone who asked since its last flush, then tells them all. Many
//! concurrent writers therefore share one fsync.

use std::sync::mpsc;

use super::StoreError;

/// Called on the commit thread once the writes made before the request are durable (or
/// the flush failed). Must be quick: it only hands results on.
pub(crate) type OnDurable = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;

/// Sends durability requests to the commit thread.
pub(crate) struct Committer {
    /// The request queue; the thread stops when every sender is dropped.
    tx: mpsc::Sender<OnDurable>,
}

impl Committer {
    /// Starts the commit thread for `db`; it ends when the committer is dropped.
    pub(crate) fn start(
        db: super::kv::Db,
    ) -> Result<(Self, std::thread::JoinHandle<()>), StoreError> {
        let (tx, rx) = mpsc::channel::<OnDurable>();
        let thread = std::thread::Builder::new()
            .name("kindred-commit".to_owned())
            .spawn(move || run(db, rx))
            .map_err(|source| StoreError::Thread {
                what: "group commit",
                source,
            })?;
        Ok((Self { tx }, thread))
    }

    pub(crate) fn when_durable(&self, then: OnDurable) {
        if let Err(mpsc::SendError(then)) = self.tx.send(then) {
            then(Err(&StoreError::Closed));
        }
    }

    pub(crate) async fn durable(&self) -> Result<(), StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.when_durable(Box::new(move |result| {
            // The waiter may have gone away (request cancelled); nothing to tell then.
            let _ = tx.send(result.map_err(StoreError::again));
        }));
        match rx.await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Closed),
        }
    }
}

fn run(db: super::kv::Db, rx: mpsc::Receiver<OnDurable>) {
    // Writes nobody waits for are durable all the same: redb's commits are durable when
    // they return, and sled flushes them within a second by itself. (A flush of our own on
    // a timer raced sled's transactions into a deadlock.)
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        waiting.extend(rx.try_iter());
        let t0 = std::time::Instant::now();
        let result = db.flush().map_err(StoreError::from);
        tracing::trace!(waiting = waiting.len(), took = ?t0.elapsed(), "flushed");
        if let Err(e) = &result {
            tracing::error!(error = %e, waiting = waiting.len(), "flush failed");
        }
        for then in waiting {
            then(result.as_ref().map(|_| ()));
        }
    }
}
