//! The node's domain: identity, storage, the ingest path, live updates, limits and every
//! feature's logic, shared by the JSON API, the web pages and federation links, which all
//! sit above it (it imports none of them; see `docs/architecture.md`, "Layers"). No global
//! state: many nodes can run in one process.

mod accounts;
pub mod backup;
pub(crate) mod chat;
mod clock;
mod content;
mod data_dir;
mod disk;
mod display_names;
pub mod doctor;
mod durable;
mod erasure;
mod error;
mod export;
mod housekeeping;
mod ingest;
mod invite_codes;
mod key_file;
mod lifecycle;
pub(crate) mod links;
mod live;
mod markdown;
mod mentoring;
mod moderation;
pub(crate) mod notifications;
mod open;
pub mod operator;
mod password_resets;
mod passwords;
mod people;
mod person;
pub(crate) mod rate_limit;
mod reannounce;
mod redaction;
mod retention;
mod safety;
mod search;
mod short_ids;
mod sign_in_guard;
pub mod storage;
mod tasks;
mod views;
pub(crate) mod write_key;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kindred_protocol::{NodeId, NodeKeypair, RandomnessError};
use thiserror::Error;
use tokio::sync::watch;

pub(crate) use accounts::{Auth, check_profile, hash_bytes};
pub use clock::{Clock, SkewedClock, SystemClock};
pub(crate) use error::AppError;
pub(crate) use export::ExportFile;
use ingest::IngestHandle;
pub(crate) use ingest::{Draft, Durable, IngestError, Reach, Signals};
use live::LiveHub;
pub(crate) use live::Update;
pub(crate) use markdown::plain_text;
pub use open::Opened;
pub(crate) use rate_limit::RateLimiter;

use crate::config::Config;
use crate::store::{Store, StoreError};

/// Why a node could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The data folder could not be created or used.
    #[error("cannot use data folder {path}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The data folder or something in it can be read by other users of the machine.
    #[error(
        "{path} can be read by other users of this machine (mode {mode:o}); members' data must \
         be private to the node. Run `chmod -R go-rwx {data_dir}`, or set \
         server.allow_shared_data_dir = true if that is intended"
    )]
    SharedDataDir {
        /// The first folder or file found open to others.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The data folder.
        data_dir: PathBuf,
    },
    /// The node key file could not be read or written.
    #[error("cannot use node key file {path}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The data folder belongs to a node with another name.
    #[error(
        "this data folder belongs to the node named {stored:?}, but the configuration says {configured:?}; member ids include the node name, so it cannot change"
    )]
    NameChanged {
        /// Name in the database.
        stored: String,
        /// Name in the config.
        configured: String,
    },
    /// A first start with no name chosen.
    #[error(
        "this node has no name yet. Its name is the end of every member's id (@sam:<name>) and can never change, so choose it once: the host name people will reach this node at, for example `kindred serve --name kindred.example.org` (or node.name in the config file). To try Kindred on this computer only, use `--name localhost`"
    )]
    NameNeeded,
    /// The database is there but the node key is not: a new key would make this a
    /// different node to every peer.
    #[error(
        "{} holds this node's database but not its key (node.key): restore the key from a backup (kindred restore), or move the db folder aside to start a new node. If the key was removed on purpose (it leaked), start once with --key-rotated: a new key is made, and peers must pair with the node again",
        path.display()
    )]
    KeyMissing {
        /// The data folder.
        path: PathBuf,
    },
    /// The key file is there but the database is not (deleted, emptied, lost).
    #[error(
        "{} has this node's key (node.key) but no database: the db folder is missing or empty. Restore the latest backup (kindred restore, into a new folder), or move node.key aside to start a new node from nothing. Starting anyway would give the node's identity an empty history, which its peers refuse",
        path.display()
    )]
    DatabaseMissing {
        /// The data folder.
        path: PathBuf,
    },
    /// The database belongs to another node key than the one in `node.key`.
    #[error(
        "{} holds the database of node {belongs_to}, but its key file (node.key) is for node {key}: put that node's own node.key back (from a backup: kindred restore), or move the db folder aside to start a new node. If the key was replaced on purpose (the old one leaked), start once with --key-rotated; the key is the node's identity to every peer, so they must pair with it again",
        path.display()
    )]
    KeyReplaced {
        /// The data folder.
        path: PathBuf,
        /// The node the database was made by.
        belongs_to: NodeId,
        /// The node the key file is for.
        key: NodeId,
    },
    /// `--key-rotated` with a key this node rotated away before.
    #[error(
        "the key in {}/node.key ({key}) is one this node rotated away before (most likely because it leaked); it is not taken back. Put a new key in its place (move node.key away: a new one is made) and start with --key-rotated",
        path.display()
    )]
    KeyRetired {
        /// The data folder.
        path: PathBuf,
        /// The retired key.
        key: NodeId,
    },
    /// A restore into the folder was cut short.
    #[error(
        "a restore into {} did not finish, so it holds only part of the node: restore the backup again into an empty folder (kindred restore)",
        path.display()
    )]
    UnfinishedRestore {
        /// The data folder.
        path: PathBuf,
    },
    /// The database failed (its message says how).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database cannot be read: damaged files.
    #[error(
        "the database in {} cannot be read. Nothing was changed. See what is damaged with `kindred storage check --data {}`; `--repair` rebuilds damaged indexes; otherwise restore the latest backup (`kindred restore`)",
        path.display(),
        path.parent().unwrap_or(path).display()
    )]
    Unreadable {
        /// The database folder.
        path: PathBuf,
        /// What failed.
        #[source]
        source: StoreError,
    },
    /// The redb journal cannot be used (missing, cut, another database's, damaged).
    #[error(
        "the database in {} cannot be opened: {why}. Nothing was changed. `kindred storage check --repair --data {}` goes past the journal, losing the writes it held (those since the last checkpoint, about a second's); restoring the latest backup (`kindred restore`) may keep more",
        path.display(),
        path.parent().unwrap_or(path).display()
    )]
    Journal {
        /// The database folder.
        path: PathBuf,
        /// What is wrong with the journal.
        why: String,
    },
    /// The database's log ends before events it acknowledged (see
    /// [`StoreError::WentBack`]).
    #[error(
        "the database in {} lost its newest writes: events up to arrival number {acknowledged} were acknowledged as stored, but it ends at {stored}. Its newest commit was damaged and the storage engine went back to the one before, or its files were replaced by older ones. Nothing was changed. `kindred storage check --data {}` shows the rest; `kindred storage check --repair --data {}` accepts the loss (the node then fetches back from its peers what it had sent them); restoring the latest backup (`kindred restore`) may keep more",
        path.display(),
        path.parent().unwrap_or(path).display(),
        path.parent().unwrap_or(path).display()
    )]
    WentBack {
        /// The database folder.
        path: PathBuf,
        /// Where the log ended when writers were last answered.
        acknowledged: u64,
        /// Where it ends now.
        stored: u64,
    },
    /// There is no database where a storage command was pointed.
    #[error(
        "there is no Kindred database in {}: give the node's data folder (the one holding node.key and db) with --data, or the config with --config",
        path.display()
    )]
    NoDatabase {
        /// The folder given.
        path: PathBuf,
    },
    /// A storage migration could not be done (the message says why).
    #[error("storage migration: {0}")]
    Migration(String),
    /// A storage migration was interrupted while it swapped folders.
    #[error(
        "a storage migration of {} was interrupted; run `kindred storage migrate --to <engine>` again (any engine: it finishes the one under way) before starting the node or checking it",
        path.display()
    )]
    UnfinishedMigration {
        /// The data folder.
        path: PathBuf,
    },
    /// `[email]` is set but cannot be used (the password file cannot be read, the sender
    /// is not an address): starting would promise members emails that never leave.
    #[error(
        "email is set up but cannot be used: {0}. Fix the [email] section (deploy/email.md; `kindred email test` checks it), or remove email.smtp_host to run without email"
    )]
    Email(String),
    /// No randomness for keys or tokens.
    #[error("no randomness available")]
    Randomness(#[source] RandomnessError),
    /// Serving failed.
    #[error("server error")]
    Serve(#[source] std::io::Error),
    /// The TLS certificate, key or extra authority could not be used.
    #[error("cannot set up TLS")]
    Tls(#[from] crate::tls::TlsError),
}

/// A running node. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

struct Inner {
    /// The loaded configuration.
    config: Config,
    /// `node.time_zone`, looked up once (the configuration was checked at start).
    organisation_zone: jiff::tz::TimeZone,
    /// HTTPS for the listener, and the certificate it serves, when one is configured.
    tls_server: Option<(
        Arc<rustls::ServerConfig>,
        Arc<crate::tls::ServerCertificate>,
    )>,
    /// How peers' certificates are checked when dialling `wss://` addresses.
    tls_client: Arc<rustls::ClientConfig>,
    /// This node's key pair (signs events and handshakes).
    keypair: NodeKeypair,
    /// The keys this node had before a rotation (`--key-rotated`): what it signed with them
    /// is its own.
    previous_ids: Vec<NodeId>,
    /// Where the node reads the time (events, arrivals, hellos).
    clock: Arc<dyn Clock>,
    /// The database.
    store: Store,
    /// The single writer of the event log.
    ingest: IngestHandle,
    /// Where live-update subscribers attach.
    live: LiveHub,
    /// Keeps the search index up to date.
    indexer: search::Indexer,
    /// New shared-log and directed events, for federation links.
    signals: Signals,
    /// Peers, links and blocks.
    federation: links::Federation,
    /// What moderators hid on this node.
    hidden: moderation::HiddenSet,
    /// Members' muted words, topics and blocks, read once.
    mutes: safety::MuteCache,
    /// How far the mentoring processor has applied the arrival log.
    mentoring_done: watch::Receiver<u64>,
    /// Background work, and the signal that ends it at shutdown.
    tasks: tasks::Tasks,
    /// Throttles.
    limits: Limits,
    /// Counted for `/metrics`.
    metrics: Arc<crate::metrics::Metrics>,
    /// For uptime.
    started: Instant,
}

/// The node's throttles.
pub(crate) struct Limits {
    /// Sign-in throttling and device tokens.
    pub(crate) sign_in: sign_in_guard::SignInGuard,
    /// Keys the hashes that stand for typed usernames in logs.
    pub(crate) log_key: [u8; 32],
    /// Keys member invite codes (see `invite_codes`).
    pub(crate) invite_key: [u8; 32],
    /// Requests per session.
    pub(crate) requests: RateLimiter<[u8; 32]>,
    /// Chat messages per member.
    pub(crate) chat: RateLimiter<String>,
    /// Recently checked sessions.
    pub(crate) auth_cache: accounts::AuthCache,
    /// Requests in progress per address.
    pub(crate) in_flight: rate_limit::Counter<IpAddr>,
    /// Open live streams per session.
    pub(crate) streams_by_session: rate_limit::Counter<[u8; 32]>,
    /// Open live streams per address.
    pub(crate) streams_by_address: rate_limit::Counter<IpAddr>,
    /// Searches allowed to run at once.
    pub(crate) searches: tokio::sync::Semaphore,
    /// Held while a backup snapshot is taken and sent: one at a time.
    pub(crate) backup: std::sync::Mutex<()>,
    /// Held while an account is erased, deleted or has its role or suspension changed (on
    /// the Members page, by moderators, or as a suspension ends): one at a time, so two
    /// requests never both publish an erasure or both remove the last admin, and a
    /// suspension and a reinstatement at once never leave the account and the standing
    /// disagreeing.
    pub(crate) erasing: tokio::sync::Mutex<()>,
    /// Held while what is hidden here changes or report thresholds are applied (a report
    /// arriving, a moderator hiding, restoring or dismissing, another node's decision
    /// followed): one at a time, so a report counted while reports are dismissed never
    /// hides the post again after, and two reports arriving together act once.
    pub(crate) hiding: std::sync::Mutex<()>,
    /// Held while a mentor's offer is published, paused or republished with its places,
    /// until the processor has applied it: two never start from the same old offer.
    pub(crate) places: tokio::sync::Mutex<()>,
    /// Passwords checked for a signed-in member (changing the password, deleting the
    /// account), per member: a stolen session cannot be used to guess the password.
    pub(crate) password_checks: RateLimiter<String>,
    /// Data exports being made: one at a time, so they cannot crowd out everyone else.
    pub(crate) exports: tokio::sync::Semaphore,
    /// Held while a cohort round is edited or sent: one at a time, so a round is never
    /// sent twice, nor turned back into a draft by an edit that read it before it was sent.
    pub(crate) rounds: tokio::sync::Mutex<()>,
    /// Held while a member's profile is published on the way to their first shared
    /// event, so parallel first posts publish it once.
    pub(crate) first_profile: tokio::sync::Mutex<()>,
}

impl Node {
    /// This node's public key.
    pub fn node_id(&self) -> NodeId {
        self.inner.keypair.node_id()
    }

    /// Whether `origin` is this node: its key, or one it had before a rotation.
    pub(crate) fn is_self(&self, origin: &NodeId) -> bool {
        *origin == self.node_id() || self.inner.previous_ids.contains(origin)
    }

    /// The loaded configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Seconds since the node started.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn ingest(&self) -> &IngestHandle {
        &self.inner.ingest
    }

    pub(crate) fn live_hub(&self) -> &LiveHub {
        &self.inner.live
    }

    pub(crate) fn mentoring_progress(&self) -> watch::Receiver<u64> {
        self.inner.mentoring_done.clone()
    }

    pub(crate) fn federation(&self) -> &links::Federation {
        &self.inner.federation
    }

    /// What moderators hid on this node.
    pub(crate) fn hidden_set(&self) -> &moderation::HiddenSet {
        &self.inner.hidden
    }

    pub(crate) fn signals(&self) -> &Signals {
        &self.inner.signals
    }

    /// The time, as this node's clock says.
    pub(crate) fn now(&self) -> kindred_protocol::Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn keypair(&self) -> &NodeKeypair {
        &self.inner.keypair
    }

    pub(crate) fn indexer(&self) -> &search::Indexer {
        &self.inner.indexer
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// What `/metrics` reports.
    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Publishes where this node can be reached, when that changed since the last time.
    async fn announce(&self) -> Result<(), crate::node::AppError> {
        let address = self.config().public_url();
        let organisation = self.config().node.organisation.clone();
        let current = format!("{address}\n{organisation}");
        if self.store().announced()?.as_deref() == Some(current.as_str()) {
            return Ok(());
        }
        let author = kindred_protocol::MemberId::new("node", &self.config().node.name)
            .map_err(|e| crate::node::AppError::bad_request(e.to_string()))?;
        self.ingest()
            .local(Draft {
                author,
                reach: Reach::Shared,
                refs: kindred_protocol::References::default(),
                body: kindred_protocol::EventBody::NodeAnnouncement(
                    kindred_protocol::event::body::profile::NodeAnnouncement {
                        address,
                        organisation,
                    },
                ),
                not_before: 0,
            })
            .await?;
        self.store().set_announced(&current)?;
        Ok(())
    }

    /// How peers' certificates are checked when dialling `wss://` addresses.
    pub(crate) fn tls_client(&self) -> Arc<rustls::ClientConfig> {
        self.inner.tls_client.clone()
    }

    /// Fires when the node shuts down.
    pub(crate) fn shutdown_signal(&self) -> tokio_util::sync::CancellationToken {
        self.inner.tasks.shutdown_signal()
    }

    /// Where background work is started and tracked (see `tasks`).
    pub(crate) fn tasks(&self) -> &tasks::Tasks {
        &self.inner.tasks
    }
}
