//! Storage: one keyspace ("tree") per kind of record, typed keys and values behind this
//! module, on the engine interface in [`kv`] (redb, sled, or memory). Nothing outside
//! `store` touches an engine. The event log trees are written only by the ingest
//! path (one writer); account trees are written by API handlers. Writes are acknowledged
//! only once durable, through the group commit in [`commit`].
//!
//! Events reaching the store are assumed verified (signature and payload checks happen in
//! the protocol crate before ingest).

pub(crate) mod accounts;
mod acknowledged;
mod backup;
mod chat;
mod check;
mod commit;
mod compact;
mod conflicts;
mod erasures;
mod events;
mod federation;
mod held;
pub(crate) mod idempotency;
mod ingest;
mod introducers;
mod keys;
pub(crate) mod kv;
mod mail_queue;
mod mentoring;
mod meta;
mod moderation;
mod names;
mod notifications;
mod origin_log;
mod password_resets;
mod profiles;
mod reactions;
mod records;
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
pub(crate) use check::CheckReport;
pub(crate) use compact::{compact_if_due, copy_into, finish_interrupted};
pub(crate) use conflicts::ConflictKind;
pub(crate) use events::{EventMeta, StoredEvent, payload_of};
pub(crate) use federation::{PeerInviteRecord, PeerRecord};
pub(crate) use ingest::{Change, IngestContext, IngestOutcome, Verdict};
pub(crate) use keys::Position;
pub(crate) use mail_queue::MailJob;
pub(crate) use mentoring::{
    AgreementState, CheckInRecord, ConfirmedAgreement, MatchRecord, OfferRecord, Reflection,
    RequestRecord, RoundRecord,
};
pub(crate) use moderation::{
    AuditRecord, HiddenRecord, ReferralRecord, ReportRecord, StandingRecord,
};
pub(crate) use names::Binding;
pub(crate) use notifications::{NoteRecord, NotifySettings, event_seq};
pub(crate) use password_resets::ResetRecord;
pub(crate) use records::{from_json, to_json, update_json, update_json_or_default};
pub(crate) use retention::Expiry;
pub(crate) use search::{IndexOp, IndexedEntry, MAX_POSTINGS_PER_TERM, SearchDoc};
pub(crate) use topics::TopicRecord;

/// The database schema this build writes. Opening a newer one fails clearly
/// (`meta::check_schema`); an older one is upgraded (`upgrade.rs`).
pub(crate) const SCHEMA_VERSION: u32 = 8;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database engine failed: the disk is full, I/O failed, the files are damaged.
    #[error("storage error: {0}")]
    Storage(#[from] kv::KvError),
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
    /// A storage thread could not be started (the system is out of threads or memory).
    #[error("cannot start the {what} thread")]
    Thread {
        /// Which thread.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The group-commit thread is gone (the node is shutting down).
    #[error("the node is shutting down")]
    Closed,
    /// The arrival log ends before the last event a writer was told was stored: the
    /// engine went back to an earlier commit (redb does when its newest commit's pages
    /// fail their checksums, as after a power cut, though here they were damaged later),
    /// or the files were replaced by older ones.
    #[error(
        "the database went back: events up to arrival number {acknowledged} were acknowledged as stored, but it ends at {stored} (its newest commit was damaged, or its files were replaced by older ones). Nothing was changed: `kindred storage check --data <the node's data folder>` shows it, and with `--repair` accepts the loss"
    )]
    WentBack {
        /// Where the log ended when writers were last answered.
        acknowledged: u64,
        /// Where it ends now.
        stored: u64,
    },
    /// There is no database where one was expected (reading or copying an existing
    /// one): the folder is missing, or its engine's main file is empty.
    #[error("there is no database in {}", path.display())]
    NoDatabase {
        /// The database folder.
        path: std::path::PathBuf,
    },
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
    /// Whether the disk is full (the write was not made; it may be tried again once
    /// there is space).
    pub(crate) fn is_full(&self) -> bool {
        matches!(self, StoreError::Storage(e) if e.is_full())
    }

    /// The same kind of error again, for a second waiter (the group commit tells many
    /// writers of one failed flush).
    pub(crate) fn again(&self) -> StoreError {
        match self {
            StoreError::Closed => StoreError::Closed,
            StoreError::Storage(kv::KvError::Full(e)) => StoreError::Storage(kv::KvError::Full(
                std::io::Error::new(e.kind(), e.to_string()),
            )),
            StoreError::InUse { path } => StoreError::InUse { path: path.clone() },
            StoreError::NoDatabase { path } => StoreError::NoDatabase { path: path.clone() },
            StoreError::WentBack {
                acknowledged,
                stored,
            } => StoreError::WentBack {
                acknowledged: *acknowledged,
                stored: *stored,
            },
            StoreError::Thread { what, source } => StoreError::Thread {
                what,
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            StoreError::SchemaTooNew { found, supported } => StoreError::SchemaTooNew {
                found: *found,
                supported: *supported,
            },
            StoreError::Corrupt { tree, source } => StoreError::Corrupt {
                tree,
                source: Box::new(std::io::Error::other(source.to_string())),
            },
            StoreError::Storage(e) => {
                StoreError::Storage(kv::KvError::Io(std::io::Error::other(e.to_string())))
            }
        }
    }

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

/// The node's database. Cheap to clone; all clones share one engine instance.
#[derive(Clone)]
pub(crate) struct Store {
    /// Shared so the group-commit thread can flush it.
    db: kv::Db,
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
    /// Idempotency keys under way and answers not written yet.
    idempotency: idempotency::Recent,
    /// The acknowledged mark beside the files (none in memory).
    mark: Option<acknowledged::Mark>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Idempotency answers still in memory are written and made durable last.
        if let Err(e) = idempotency::persist_on_close(&self.idempotency, &self.trees.idempotency) {
            tracing::warn!(error = %e, "writing the last idempotency answers failed");
        }
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
    pub(crate) meta: kv::Keyspace,
    pub(crate) events: kv::Keyspace,
    pub(crate) event_ids: kv::Keyspace,
    pub(crate) origin_runs: kv::Keyspace,
    pub(crate) origin_head: kv::Keyspace,
    pub(crate) topic_timeline: kv::Keyspace,
    pub(crate) thread_replies: kv::Keyspace,
    pub(crate) author_timeline: kv::Keyspace,
    pub(crate) reactions: kv::Keyspace,
    pub(crate) topic_stats: kv::Keyspace,
    pub(crate) topics: kv::Keyspace,
    pub(crate) members: kv::Keyspace,
    pub(crate) sessions: kv::Keyspace,
    pub(crate) member_sessions: kv::Keyspace,
    pub(crate) invites: kv::Keyspace,
    pub(crate) search_postings: kv::Keyspace,
    pub(crate) search_docs: kv::Keyspace,
    pub(crate) search_meta: kv::Keyspace,
    pub(crate) peers: kv::Keyspace,
    pub(crate) peer_invites: kv::Keyspace,
    pub(crate) blocked_nodes: kv::Keyspace,
    pub(crate) outbox: kv::Keyspace,
    pub(crate) origin_names: kv::Keyspace,
    pub(crate) profiles: kv::Keyspace,
    pub(crate) chat: kv::Keyspace,
    pub(crate) mentoring: kv::Keyspace,
    pub(crate) node_names: kv::Keyspace,
    pub(crate) held: kv::Keyspace,
    pub(crate) conflicts: kv::Keyspace,
    pub(crate) introducers: kv::Keyspace,
    pub(crate) password_resets: kv::Keyspace,
    pub(crate) erasures: kv::Keyspace,
    pub(crate) idempotency: kv::Keyspace,
    pub(crate) notifications: kv::Keyspace,
    pub(crate) moderation: kv::Keyspace,
}

impl Store {
    /// Opens (or creates) the database in `dir`, checking its schema version and upgrading
    /// an older one.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, true, None, true)
    }

    /// As [`Store::open`]; a new database is created on `engine` (an existing one stays
    /// on the engine it was created with).
    pub(crate) fn open_on(dir: &Path, engine: kv::Engine) -> Result<Self, StoreError> {
        Self::open_with(dir, true, Some(engine), true)
    }

    /// Opens the database in `dir` as it is, without upgrading an older schema (a backup
    /// of a stopped node must not change it: "back up before upgrading").
    pub(crate) fn open_as_is(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, false, None, true)
    }

    /// As [`Store::open_as_is`]; a new database is created on `engine` (a copy: a
    /// compaction, a migration).
    pub(crate) fn open_as_is_on(dir: &Path, engine: kv::Engine) -> Result<Self, StoreError> {
        Self::open_with(dir, false, Some(engine), true)
    }

    /// As [`Store::open_as_is`], also when the log ends before the acknowledged mark
    /// (`kindred storage check --repair` accepting the loss; every other open refuses it:
    /// [`StoreError::WentBack`]).
    pub(crate) fn open_accepting_loss(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, false, None, false)
    }

    fn open_with(
        dir: &Path,
        upgrade: bool,
        engine: Option<kv::Engine>,
        guard: bool,
    ) -> Result<Self, StoreError> {
        // Reading an existing database as it is (a check, a backup, a copy's source) must
        // not create one where there is none.
        if !upgrade && engine.is_none() && kv::Engine::holding_data_in(dir).is_none() {
            return Err(StoreError::NoDatabase {
                path: dir.to_owned(),
            });
        }
        let engine = kv::Engine::found_in(dir)
            .or(engine)
            .unwrap_or_else(kv::Engine::for_new_folders);
        // sled's background flusher lets go of the files a moment after the last handle
        // closes: a reopen right after a stop (a restart, a compaction) waits for it, up to
        // two seconds, before calling the folder in use.
        let mut tries = 0;
        loop {
            match Self::open_once(dir, upgrade, engine, guard) {
                Err(StoreError::InUse { .. }) if tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_once(
        dir: &Path,
        upgrade: bool,
        engine: kv::Engine,
        guard: bool,
    ) -> Result<Self, StoreError> {
        // The events keyspace must reach the acknowledged mark (see `acknowledged`).
        let mark = (guard && engine != kv::Engine::Memory)
            .then(|| acknowledged::read(dir))
            .flatten()
            .filter(|&m| m > 0);
        let mark_key = mark.map(u64::to_be_bytes);
        let expect = mark_key.as_ref().map(|k| kv::Expect {
            keyspace: "events",
            last_key_at_least: k,
            or_value: Some(("held", held::REMOVED_END_KEY)),
        });
        let db = kv::Db::open_expecting(dir, engine, expect, !guard).map_err(|e| match e {
            kv::KvError::Locked => StoreError::InUse {
                path: dir.to_owned(),
            },
            kv::KvError::WentBack { found } => StoreError::WentBack {
                acknowledged: mark.unwrap_or(0),
                stored: found
                    .and_then(|k| <[u8; 8]>::try_from(k).ok())
                    .map_or(0, u64::from_be_bytes),
            },
            other => StoreError::Storage(other),
        })?;
        let t = |name: &str| db.keyspace(name);
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
            idempotency: t("idempotency")?,
            notifications: t("notifications")?,
            moderation: t("moderation")?,
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
                idempotency: idempotency::Recent::default(),
                mark: (engine != kv::Engine::Memory).then(|| acknowledged::Mark::new(dir)),
            }),
        };
        if let Some(from) = upgrade_from.filter(|_| upgrade) {
            store.upgrade_schema(from)?;
        }
        Ok(store)
    }

    /// Records that everything stored so far is durable and its writers are about to be
    /// told: the arrival log ends at `end` (see [`acknowledged`]).
    pub(crate) fn acknowledge(&self, end: u64) {
        if let Some(mark) = &self.shared.mark {
            mark.record(end);
        }
    }

    /// Whether the arrival log ends before the acknowledged mark: `Err(WentBack)` if so.
    /// A database with no mark (in memory, never written, a fresh copy) passes.
    pub(crate) fn check_went_back(&self) -> Result<(), StoreError> {
        let Some(mark) = &self.shared.mark else {
            return Ok(());
        };
        let Some(acknowledged) = acknowledged::read(mark.dir()) else {
            return Ok(());
        };
        let stored = self.last_local_seq()?.max(self.removed_end()?);
        if stored < acknowledged {
            return Err(StoreError::WentBack {
                acknowledged,
                stored,
            });
        }
        Ok(())
    }

    /// Accepts that the log went back (`kindred storage check --repair`): the mark is set
    /// to where the log ends now.
    pub(crate) fn accept_went_back(&self) -> Result<(), StoreError> {
        let end = self.last_local_seq()?;
        self.acknowledge(end);
        Ok(())
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
            Some(_) if self.engine().durable_on_commit() => Ok(()),
            Some(c) => c.durable().await,
            None => Err(StoreError::Closed),
        }
    }

    /// Runs `then` once everything written so far is on disk: at once where every write
    /// is durable when it returns (no hop through the commit thread, which a single
    /// writer would wait for on every post), otherwise from the commit thread.
    pub(crate) fn when_durable(&self, then: commit::OnDurable) {
        match &self.shared.committer {
            Some(_) if self.engine().durable_on_commit() => then(Ok(())),
            Some(c) => c.when_durable(then),
            None => then(Err(&StoreError::Closed)),
        }
    }

    /// Runs `body` over transactional views of `spaces` and commits its writes together
    /// (see [`kv::Db::transaction`]).
    pub(crate) fn transaction<const N: usize, R, E>(
        &self,
        spaces: [&kv::Keyspace; N],
        body: impl Fn(&[kv::TxKeyspace<'_>; N]) -> Result<R, kv::TxError<E>>,
    ) -> Result<R, kv::TransactionError<E>> {
        self.db.transaction(spaces, body)
    }

    /// Whether the last write failed because the disk is full.
    pub(crate) fn disk_full(&self) -> bool {
        self.db.full()
    }

    /// The engine this database is on.
    pub(crate) fn engine(&self) -> kv::Engine {
        self.db.engine()
    }

    /// Bytes the database's files take on disk.
    pub(crate) fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Bytes of the database's files that hold records ([`kv::Db::size_in_use`]).
    pub(crate) fn size_in_use(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_in_use()?)
    }

    /// Flushes synchronously (shutdown).
    pub(crate) fn flush_now(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}
