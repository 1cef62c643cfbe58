//! The idempotency key a request's writes are made under.
//!
//! The API's `Idempotency-Key` middleware (`api::idempotency`) keeps each answer, but an
//! answer is only written a moment after the request it answers: a crash in between would
//! leave the event stored and the answer gone, and the client's retry would write it again.
//! So the middleware runs the request inside [`under`], and the ingest writes, in the same
//! transaction as each event the request makes, a record that the request with this key
//! stored events (`store::idempotency`, "written" records). A retry whose answer is gone (a
//! restart) finds them and is not carried out again (`Claim::Again`): handling it again
//! could write over what changed since (an edit filled in from the post as it was, a
//! setting changed back). So the answers of requests that wrote
//! events need not be written at all: the event's own commit is what makes the request
//! idempotent, as in Stripe's "atomic phases" design.
//!
//! Carried as a task-local value rather than a parameter, because every write path of the
//! node reaches the ingest through [`super::ingest::IngestHandle::local`], within the
//! request's task.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The key of the request being handled.
#[derive(Debug, Clone)]
pub(crate) struct WriteKey {
    /// The stored key: the scope of the sender's credential and their key
    /// (`store::idempotency`).
    pub(crate) record: Vec<u8>,
    /// The request's fingerprint (method, path and body hashed): a key reused for another
    /// request never replays this one's events.
    pub(crate) fingerprint: [u8; 32],
    /// What the request's writes found, told back to the middleware.
    seen: Arc<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// An event was stored with its written record.
    wrote: AtomicBool,
}

impl WriteKey {
    /// The key `record` of a request with `fingerprint`.
    pub(crate) fn new(record: Vec<u8>, fingerprint: [u8; 32]) -> Self {
        Self {
            record,
            fingerprint,
            seen: Arc::default(),
        }
    }

    /// Notes that an event of the request was stored with its written record.
    pub(crate) fn note_written(&self) {
        self.seen.wrote.store(true, Ordering::Relaxed);
    }

    /// Whether the request stored an event with its written record (so a retry is known
    /// to have been carried out without a kept answer).
    pub(crate) fn wrote(&self) -> bool {
        self.seen.wrote.load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    static WRITE_KEY: Option<WriteKey>;
}

/// Runs `request` with `key` as the key of every event it writes.
pub(crate) async fn under<F: Future>(key: WriteKey, request: F) -> F::Output {
    WRITE_KEY.scope(Some(key), request).await
}

/// Runs `write` without the request's key: an event written on the way, not what the
/// request is for (a member's profile published before their first post). A crash after
/// it and before the request's own event leaves the request not carried out, so its retry
/// is done, not refused.
pub(crate) async fn incidental<F: Future>(write: F) -> F::Output {
    WRITE_KEY.scope(None, write).await
}

/// The key of the request this task is handling, if it carries one.
pub(crate) fn current() -> Option<WriteKey> {
    WRITE_KEY.try_with(Clone::clone).ok().flatten()
}
