//! What the storage interface fails with: the engine's own failures by what happened
//! ([`KvError`]), and how a transaction body or a whole transaction ends early.

use thiserror::Error;

/// Why the engine failed, by what happened.
#[derive(Debug, Error)]
pub enum KvError {
    /// The disk is full (or the quota reached): nothing was written.
    #[error("the disk is full")]
    Full(#[source] std::io::Error),
    /// Reading or writing the files failed.
    #[error("reading or writing the database files failed")]
    Io(#[source] std::io::Error),
    /// The files are damaged (a checksum or structure check failed).
    #[error("the database files are damaged ({0})")]
    Corrupt(String),
    /// The redb journal beside the database is missing, cut short, another database's or
    /// damaged: what it held cannot be applied (an operator may accept the loss).
    #[error("{0}")]
    Journal(String),
    /// Another process holds the database open.
    #[error("the database is in use by another process")]
    Locked,
    /// The database was closed (the node is stopping).
    #[error("the database is closed")]
    Closed,
    /// The database does not hold what it was expected to ([`super::Expect`]): it was refused
    /// as it is.
    #[error("the database ends before what it acknowledged")]
    WentBack {
        /// The last key the keyspace holds.
        found: Option<Vec<u8>>,
    },
    /// Anything else the engine reported.
    #[error("{engine} failed: {message}")]
    Engine {
        /// Which engine.
        engine: &'static str,
        /// What it said.
        message: String,
    },
}

impl KvError {
    /// Classifies an I/O error (a full disk is told apart: writes wait for space).
    pub(crate) fn from_io(e: std::io::Error) -> Self {
        // ENOSPC (28) and EDQUOT (122) on Linux; `StorageFull` where std maps it.
        if e.kind() == std::io::ErrorKind::StorageFull || matches!(e.raw_os_error(), Some(28 | 122))
        {
            KvError::Full(e)
        } else {
            KvError::Io(e)
        }
    }

    /// Whether this is a full disk.
    pub(crate) fn is_full(&self) -> bool {
        matches!(self, KvError::Full(_))
    }
}

/// What a transaction body's storage operation can fail with.
#[derive(Debug)]
pub(crate) enum TxFault {
    /// Another transaction got there first: the engine runs the body again.
    Conflict,
    /// The engine failed.
    Storage(KvError),
}

/// How a transaction body ends early: `Abort` carries the caller's own error out.
#[derive(Debug)]
pub(crate) enum TxError<E> {
    /// The body gave up; nothing it wrote is kept.
    Abort(E),
    /// Another transaction got there first: the engine runs the body again.
    Conflict,
    /// The engine failed.
    Storage(KvError),
}

impl<E> From<TxFault> for TxError<E> {
    fn from(f: TxFault) -> Self {
        match f {
            TxFault::Conflict => TxError::Conflict,
            TxFault::Storage(e) => TxError::Storage(e),
        }
    }
}

/// How a whole transaction failed.
#[derive(Debug)]
pub(crate) enum TransactionError<E> {
    /// The body aborted with its own error; nothing was written.
    Abort(E),
    /// The engine failed; nothing was written.
    Storage(KvError),
}
