//! Group commit: writers ask to be told when their writes are durable; one thread flushes
//! sled once for everyone who asked since its last flush, then tells them all. Many
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
    pub(crate) fn start(db: sled::Db) -> Result<(Self, std::thread::JoinHandle<()>), StoreError> {
        let (tx, rx) = mpsc::channel::<OnDurable>();
        let thread = std::thread::Builder::new()
            .name("kindred-commit".to_owned())
            .spawn(move || run(db, rx))
            .map_err(|e| StoreError::corrupt("commit thread", e))?;
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
            let _ = tx.send(result.map_err(|e| e.to_string()));
        }));
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::corrupt("flush", std::io::Error::other(message))),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

fn run(db: sled::Db, rx: mpsc::Receiver<OnDurable>) {
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        waiting.extend(rx.try_iter());
        let t0 = std::time::Instant::now();
        let result = db.flush().map(|_| ()).map_err(StoreError::from);
        tracing::trace!(waiting = waiting.len(), took = ?t0.elapsed(), "flushed");
        if let Err(e) = &result {
            tracing::error!(error = %e, waiting = waiting.len(), "flush failed");
        }
        for then in waiting {
            then(result.as_ref().map(|_| ()));
        }
    }
}
