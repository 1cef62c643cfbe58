//! Storage: sled, one tree per kind of record, typed keys and values behind this module.
//! Nothing outside `store` touches sled. The event log trees are written only by the ingest
//! path (one writer); account trees are written by API handlers. Writes are acknowledged
//! only once durable, through the group commit in [`commit`].
//!
//! Events reaching the store are assumed verified (signature and payload checks happen in
//! the protocol crate before ingest).

pub(crate) mod accounts;
mod backup;
mod chat;
mod commit;
mod compact;
mod conflicts;
mod erasures;
mod events;
mod federation;
mod held;
mod ingest;
mod introducers;
mod keys;
mod mentoring;
mod meta;
mod names;
mod origin_log;
mod password_resets;
mod profiles;
mod reactions;
mod retention;
mod search;
mod timelines;
mod topics;
mod upgrade;

use std::path::Path;
use std::sync::Arc;

use thiserror::Error;

pub(crate) use accounts::{InviteRecord, MemberRecord, SessionRecord};
pub(crate) use backup::{Item as SnapshotItem, SnapshotError};
pub(crate) use chat::{ConversationRecord, ParticipantState};
pub(crate) use compact::compact_if_due;
pub(crate) use conflicts::ConflictKind;
pub(crate) use events::{EventMeta, StoredEvent, payload_of};
pub(crate) use federation::{PeerInviteRecord, PeerRecord};
pub(crate) use ingest::{Change, IngestContext, IngestOutcome, Verdict};
pub(crate) use keys::Position;
pub(crate) use mentoring::{
    AgreementState, CheckInRecord, ConfirmedAgreement, MatchRecord, OfferRecord, Reflection,
    RequestRecord, RoundRecord,
};
pub(crate) use names::Binding;
pub(crate) use password_resets::ResetRecord;
pub(crate) use retention::Expiry;
pub(crate) use search::{IndexOp, IndexedEntry, SearchDoc};
pub(crate) use topics::TopicRecord;

/// The database schema this build writes. Opening a newer one fails clearly
/// (`meta::check_schema`); an older one is upgraded (`upgrade.rs`).
pub(crate) const SCHEMA_VERSION: u32 = 8;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database engine failed (I/O, corruption).
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    /// A stored record could not be decoded.
    #[error("stored record in {tree} is damaged")]
    Corrupt {
        /// The tree holding it.
        tree: &'static str,
        /// What was wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The data folder was written by a newer Kindred.
    #[error(
        "the database has schema version {found}, newer than this Kindred understands ({supported}); upgrade Kindred"
    )]
    SchemaTooNew {
        /// Version found on disk.
        found: u32,
        /// Version this build supports.
        supported: u32,
    },
    /// The group-commit thread is gone (the node is shutting down).
    #[error("the node is shutting down")]
    Closed,
    /// Another process holds the database open.
    #[error(
        "the data folder {} is in use by another Kindred node that is running; stop that one first (for a service: systemctl stop kindred), or give this one another folder with --data",
        path.parent().unwrap_or(path).display()
    )]
    InUse {
        /// The database folder.
        path: std::path::PathBuf,
    },
}

impl StoreError {
    pub(crate) fn corrupt(
        tree: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Corrupt {
            tree,
            source: Box::new(source),
        }
    }
}

/// The node's database. Cheap to clone; all clones share one sled instance.
#[derive(Clone)]
pub(crate) struct Store {
    /// Shared so the group-commit thread can flush it.
    db: sled::Db,
    /// Trees and the commit thread, shared by all clones.
    shared: Arc<Shared>,
}

/// What all clones of a [`Store`] share. Dropping the last clone stops the commit thread
/// and waits for it, so the database is closed (and its lock released) when this returns.
struct Shared {
    /// The trees, opened once.
    trees: Trees,
    /// Hands out "tell me when this is durable" requests to the commit thread.
    committer: Option<commit::Committer>,
    /// The commit thread, joined on drop.
    thread: Option<std::thread::JoinHandle<()>>,
    /// Bumped by every change to members or sessions, so cached sign-ins are re-checked.
    accounts_generation: std::sync::atomic::AtomicU64,
    /// Writes hold it shared, a snapshot exclusively (`backup.rs`).
    gate: std::sync::RwLock<()>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the request queue ends the thread after its last flush.
        self.committer.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the group-commit thread panicked");
        }
    }
}

/// Every tree, by name. See `docs/architecture.md` for what each holds.
pub(crate) struct Trees {
    pub(crate) meta: sled::Tree,
    pub(crate) events: sled::Tree,
    pub(crate) event_ids: sled::Tree,
    pub(crate) origin_runs: sled::Tree,
    pub(crate) origin_head: sled::Tree,
    pub(crate) topic_timeline: sled::Tree,
    pub(crate) thread_replies: sled::Tree,
    pub(crate) author_timeline: sled::Tree,
    pub(crate) reactions: sled::Tree,
    pub(crate) topic_stats: sled::Tree,
    pub(crate) topics: sled::Tree,
    pub(crate) members: sled::Tree,
    pub(crate) sessions: sled::Tree,
    pub(crate) member_sessions: sled::Tree,
    pub(crate) invites: sled::Tree,
    pub(crate) search_postings: sled::Tree,
    pub(crate) search_docs: sled::Tree,
    pub(crate) search_meta: sled::Tree,
    pub(crate) peers: sled::Tree,
    pub(crate) peer_invites: sled::Tree,
    pub(crate) blocked_nodes: sled::Tree,
    pub(crate) outbox: sled::Tree,
    pub(crate) origin_names: sled::Tree,
    pub(crate) profiles: sled::Tree,
    pub(crate) chat: sled::Tree,
    pub(crate) mentoring: sled::Tree,
    pub(crate) node_names: sled::Tree,
    pub(crate) held: sled::Tree,
    pub(crate) conflicts: sled::Tree,
    pub(crate) introducers: sled::Tree,
    pub(crate) password_resets: sled::Tree,
    pub(crate) erasures: sled::Tree,
}

impl Store {
    /// Opens (or creates) the database in `dir`, checking its schema version and upgrading
    /// an older one.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, true)
    }

    /// Opens the database in `dir` as it is, without upgrading an older schema (a backup
    /// of a stopped node must not change it: "back up before upgrading").
    pub(crate) fn open_as_is(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, false)
    }

    fn open_with(dir: &Path, upgrade: bool) -> Result<Self, StoreError> {
        // sled's background flusher lets go of the files a moment after the last handle
        // closes: a reopen right after a stop (a restart, a compaction) waits for it, up to
        // two seconds, before calling the folder in use.
        let mut tries = 0;
        loop {
            match Self::open_once(dir, upgrade) {
                Err(StoreError::InUse { .. }) if tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_once(dir: &Path, upgrade: bool) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(24 * 1024 * 1024)
            // Durability comes from our own group commit; keep sled's background flush as
            // a second line.
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|e| match e {
                // sled's file lock: another process has this database open.
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("could not acquire lock") =>
                {
                    StoreError::InUse {
                        path: dir.to_owned(),
                    }
                }
                other => StoreError::Db(other),
            })?;
        let t = |name: &str| db.open_tree(name);
        let trees = Trees {
            meta: t("meta")?,
            events: t("events")?,
            event_ids: t("event_ids")?,
            origin_runs: t("origin_runs")?,
            origin_head: t("origin_head")?,
            topic_timeline: t("topic_timeline")?,
            thread_replies: t("thread_replies")?,
            author_timeline: t("author_timeline")?,
            reactions: t("reactions")?,
            topic_stats: t("topic_stats")?,
            topics: t("topics")?,
            members: t("members")?,
            sessions: t("sessions")?,
            member_sessions: t("member_sessions")?,
            invites: t("invites")?,
            search_postings: t("search_postings")?,
            search_docs: t("search_docs")?,
            search_meta: t("search_meta")?,
            peers: t("peers")?,
            peer_invites: t("peer_invites")?,
            blocked_nodes: t("blocked_nodes")?,
            outbox: t("outbox")?,
            origin_names: t("origin_names")?,
            profiles: t("profiles")?,
            chat: t("chat")?,
            mentoring: t("mentoring")?,
            node_names: t("node_names")?,
            held: t("held")?,
            conflicts: t("conflicts")?,
            introducers: t("introducers")?,
            password_resets: t("password_resets")?,
            erasures: t("erasures")?,
        };
        let upgrade_from = meta::check_schema(&trees.meta)?;
        let (committer, thread) = commit::Committer::start(db.clone())?;
        let store = Self {
            db,
            shared: Arc::new(Shared {
                trees,
                committer: Some(committer),
                thread: Some(thread),
                accounts_generation: std::sync::atomic::AtomicU64::new(0),
                gate: std::sync::RwLock::new(()),
            }),
        };
        if let Some(from) = upgrade_from.filter(|_| upgrade) {
            store.upgrade_schema(from)?;
        }
        Ok(store)
    }

    /// Changes whenever a member or session is written or removed.
    pub(crate) fn accounts_generation(&self) -> u64 {
        self.shared
            .accounts_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn accounts_changed(&self) {
        self.shared
            .accounts_generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub(crate) fn trees(&self) -> &Trees {
        &self.shared.trees
    }

    /// Waits until everything written so far is on disk. Concurrent callers share flushes.
    pub(crate) async fn durable(&self) -> Result<(), StoreError> {
        match &self.shared.committer {
            Some(c) => c.durable().await,
            None => Err(StoreError::Closed),
        }
    }

    /// Runs `then` once everything written so far is on disk (from the commit thread).
    pub(crate) fn when_durable(&self, then: commit::OnDurable) {
        match &self.shared.committer {
            Some(c) => c.when_durable(then),
            None => then(Err(&StoreError::Closed)),
        }
    }

    /// Bytes the database's files take on disk.
    pub(crate) fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Flushes synchronously (shutdown).
    pub(crate) fn flush_now(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

/// Encodes a record as JSON (local records only; events are stored as their signed bytes).
pub(crate) fn to_json<T: serde::Serialize>(
    tree: &'static str,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::corrupt(tree, e))
}

/// Decodes a JSON record.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    tree: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(tree, e))
}
