//! Opening a node: the checks before anything is touched (name, certificates, an
//! unfinished restore or migration, a missing key or database), the database opened and
//! checked, the key and name it was made with, and the parts started.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kindred_protocol::{NodeId, NodeKeypair, NodeName};
use tokio::sync::watch;

use super::ingest::{self, IngestHandle, Signals};
use super::live::{self, LiveHub};
use super::{
    Clock, Inner, Limits, Node, NodeError, RateLimiter, SystemClock, accounts, backup, data_dir,
    durable, key_file, search, sign_in_guard, storage,
};
use crate::config::Config;
use crate::store::{Store, StoreError};

/// A node opened and not yet serving (`kindred_server::serve` runs it).
pub struct Opened {
    /// The node.
    pub node: Node,
    /// While no admin exists, a fresh one-time set-up token (`/setup?token=...`).
    pub setup_token: Option<String>,
    /// The work `serve` starts and, at shutdown, ends.
    pub(crate) background: Background,
}

/// What an opened node hands to `serve`: owned once, so nothing is taken out of the node
/// at run time.
pub(crate) struct Background {
    /// The ingest actor's thread, joined at shutdown.
    pub(crate) ingest_thread: std::thread::JoinHandle<()>,
    /// The live fan-out task's input.
    pub(crate) live_rx: live::LiveReceiver,
    /// The mentoring processor's side of the node's `mentoring_progress`.
    pub(crate) mentoring_tx: watch::Sender<u64>,
}

impl Node {
    /// Opens the data folder (creating it, the node key and the database on first start).
    /// Returns the node, the background work `serve` starts, and, while no admin exists,
    /// a fresh one-time set-up token.
    pub fn open(config: Config) -> Result<Opened, NodeError> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    /// As [`Node::open`], with the node reading the time from `clock` (tests give a node a
    /// wrong clock this way).
    pub fn open_with_clock(mut config: Config, clock: Arc<dyn Clock>) -> Result<Opened, NodeError> {
        // Before anything is created: a first start needs a chosen name.
        if !config.node.name_chosen && !config.server.data_dir.join("db").exists() {
            return Err(NodeError::NameNeeded);
        }
        // Certificates first: a wrong path should stop the node before it touches data.
        let tls_server = match (&config.tls.cert_file, &config.tls.key_file) {
            (Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key)?),
            _ => None,
        };
        let tls_client = crate::tls::client_config(config.tls.extra_ca_file.as_deref())?;
        let dir = config.server.data_dir.clone();
        data_dir::make_private(&dir, config.server.allow_shared_data_dir)?;
        if dir.join(backup::RESTORING).exists() {
            return Err(NodeError::UnfinishedRestore { path: dir });
        }
        if dir.join(storage::MIGRATING).exists() {
            return Err(NodeError::UnfinishedMigration { path: dir });
        }
        // A compaction a stop cut short between its two renames leaves the database
        // beside `db`, not in it: put it back before anything looks for it.
        crate::store::finish_interrupted(&dir.join("db"))
            .map_err(|e| unreadable_or(&dir.join("db"), e))?;
        if dir.join("db").exists() && !dir.join("node.key").exists() && !config.node.key_rotated {
            return Err(NodeError::KeyMissing { path: dir });
        }
        let key_existed = dir.join("node.key").exists();
        if !key_existed {
            key_file::begin_first_start(&dir)?;
        }
        // A first start that was stopped before it finished has nothing to lose.
        let first_start = key_file::first_start_unfinished(&dir);
        if first_start {
            set_aside_unfinished_first_start(&dir)?;
        }
        if key_existed
            && !first_start
            && crate::store::kv::Engine::holding_data_in(&dir.join("db")).is_none()
            && config.storage.engine_for_new_folders() != crate::config::StorageEngine::Memory
        {
            return Err(NodeError::DatabaseMissing { path: dir });
        }
        let keypair = key_file::load_or_create(&dir)?;
        let db = dir.join("db");
        unless_panicked(&db, || crate::store::compact_if_due(&db))?;
        let engine = config.storage.engine_for_new_folders();
        let store = open_store(&dir.join("db"), engine)?;
        if key_existed && !first_start && store.node_id()?.is_none() && store.is_fresh() {
            return Err(NodeError::DatabaseMissing { path: dir });
        }
        if config.storage.engine.is_some_and(|e| e != store.engine()) {
            tracing::warn!(
                configured = %engine, used = %store.engine(),
                "the data folder was created on another storage engine, which it keeps; `kindred storage migrate --to {engine}` moves it"
            );
        }
        check_key(&store, &dir, &keypair.node_id(), config.node.key_rotated)?;
        key_file::finish_first_start(&dir)?;
        check_name(&store, &mut config, &keypair.node_id())?;
        // The organisation's name may change, but only when it is set: a start that does
        // not say keeps the one the node last had.
        match (config.node.organisation_chosen, store.organisation()?) {
            (false, Some(stored)) => config.node.organisation = stored,
            _ => store.set_organisation(&config.node.organisation)?,
        }
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let (live_tx, live_rx) = live::channel();
        let indexer = search::Indexer::start(store.clone(), config.search.language)?;
        let signals = Signals::new(durable::DurableLog::new(
            store.heads()?,
            store.last_local_seq()?,
        ));
        let mut blocked: std::collections::HashSet<NodeId> =
            store.blocked_nodes()?.into_iter().collect();
        for b in blocked.clone() {
            blocked.extend(store.introduced_by(&b)?);
        }
        let federation = crate::node::links::Federation::new(blocked);
        let (mentoring_tx, mentoring_done) = watch::channel(store.mentoring_watermark()?);
        let (ingest, thread) = IngestHandle::start(ingest::IngestSetup {
            store: store.clone(),
            keypair: keypair_clone(&keypair),
            live: live_tx,
            indexer: indexer.waker(),
            signals: signals.clone(),
            hold_quota: config.federation.hold_bytes_per_node,
            profile_quota: config.federation.profiles_per_node,
            clock: clock.clone(),
            own_log_ready: federation.own_log.ready(),
            metrics: metrics.clone(),
        })?;
        let l = &config.limits;
        let keypair_seed = keypair.seed();
        let limits = Limits {
            sign_in: sign_in_guard::SignInGuard::new(
                derived_key(&keypair_seed, b"kindred/device-token/v1"),
                sign_in_guard::GuardLimits {
                    per_account_address: l.login_failures_per_account_address,
                    per_address: l.login_failures_per_address,
                    per_device: l.login_failures_per_device,
                },
            ),
            log_key: derived_key(&keypair_seed, b"kindred/log-tag/v1"),
            invite_key: derived_key(&keypair_seed, b"kindred/invite/v1"),
            requests: RateLimiter::new(l.requests_per_minute, Duration::from_secs(60)),
            chat: RateLimiter::new(config.chat.messages_per_minute, Duration::from_secs(60)),
            auth_cache: accounts::AuthCache::default(),
            in_flight: Default::default(),
            streams_by_session: Default::default(),
            streams_by_address: Default::default(),
            searches: tokio::sync::Semaphore::new(search::concurrency(
                config.limits.concurrent_searches,
            )),
            backup: std::sync::Mutex::new(()),
            erasing: tokio::sync::Mutex::new(()),
            hiding: std::sync::Mutex::new(()),
            places: tokio::sync::Mutex::new(()),
            rounds: tokio::sync::Mutex::new(()),
            password_checks: RateLimiter::new(10, Duration::from_secs(15 * 60)),
            exports: tokio::sync::Semaphore::new(1),
            first_profile: tokio::sync::Mutex::new(()),
        };
        let node = Node {
            inner: Arc::new(Inner {
                live: LiveHub::new(config.limits.stream_queue),
                organisation_zone: crate::calendar::zone(&config.node.time_zone)
                    .unwrap_or(jiff::tz::TimeZone::UTC),
                config,
                tls_server,
                tls_client,
                previous_ids: store.previous_node_ids()?,
                keypair,
                clock,
                hidden: super::moderation::HiddenSet::load(&store)?,
                mutes: Default::default(),
                store,
                ingest,
                indexer,
                signals,
                federation,
                mentoring_done,
                tasks: Default::default(),
                limits,
                metrics,
                started: Instant::now(),
            }),
        };
        let setup_token = node.refresh_setup_token()?;
        Ok(Opened {
            node,
            setup_token,
            background: Background {
                ingest_thread: thread,
                live_rx,
                mentoring_tx,
            },
        })
    }
}

/// The key pair is not `Clone` on purpose (one owner of the secret); the ingest actor gets
/// its own copy from the seed.
fn keypair_clone(keypair: &NodeKeypair) -> NodeKeypair {
    NodeKeypair::from_seed(&keypair.seed())
}

/// A key for one local purpose (`label`), derived from the node key's seed so it survives
/// restarts without another secret file, and differs per purpose.
fn derived_key(seed: &[u8; 32], label: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(label);
    h.update(seed);
    h.finalize().into()
}

/// Member ids include the node name, so the name is fixed at first start, and bound to
/// this node's key (no other node can ever be bound to it here).
/// Refuses a database made with another node key (a key file replaced or mixed up): the
/// node would otherwise start as a new identity on the old data, its peers would refuse
/// it, and edits of its earlier posts would answer success and go nowhere. A database from
/// before the key was recorded belongs to the key whose own log it holds.
fn check_key(
    store: &Store,
    dir: &std::path::Path,
    id: &NodeId,
    rotated: bool,
) -> Result<(), NodeError> {
    let belongs_to = match store.node_id()? {
        Some(recorded) => Some(recorded),
        None => match store.node_name()? {
            // Its own name is bound first-hand to the node that made it.
            Some(name) => store
                .binding(&name)?
                .filter(|(node, first_hand)| {
                    *first_hand && node != id && store.origin_head(node).is_ok_and(|h| h > 0)
                })
                .map(|(node, _)| node),
            None => None,
        },
    };
    match belongs_to {
        Some(other) if other != *id && rotated && store.previous_node_ids()?.contains(id) => {
            // A key rotated away (it leaked, most likely) is never taken back.
            Err(NodeError::KeyRetired {
                path: dir.to_owned(),
                key: *id,
            })
        }
        Some(other) if other != *id && rotated => {
            store.add_previous_node_id(&other)?;
            let forgotten = store.forget_peers()?;
            store.set_node_id(id)?;
            tracing::warn!(
                previous = %other, now = %id, pairings_forgotten = forgotten,
                "the node key was rotated (--key-rotated): peers know this node by its previous key, so its pairings are forgotten and each partner must pair with it again (their admin blocks the old node first); what was signed with the previous key stays as it was, and can no longer be edited or retracted from here"
            );
            Ok(())
        }
        Some(_) if rotated => {
            tracing::info!(
                "--key-rotated was given, but the key is the one this database was made with: nothing was rotated"
            );
            Ok(())
        }
        Some(other) if other != *id => Err(NodeError::KeyReplaced {
            path: dir.to_owned(),
            belongs_to: other,
            key: *id,
        }),
        Some(_) => Ok(()),
        None => Ok(store.set_node_id(id)?),
    }
}

fn check_name(store: &Store, config: &mut Config, id: &NodeId) -> Result<(), NodeError> {
    // A node that has a name keeps it; only a first start has to be given one.
    if !config.node.name_chosen {
        match store.node_name()? {
            Some(stored) => {
                config.node.name =
                    NodeName::new(stored.clone()).map_err(|_| NodeError::NameChanged {
                        stored,
                        configured: config.node.name.to_string(),
                    })?;
                config.node.name_chosen = true;
            }
            None => return Err(NodeError::NameNeeded),
        }
    }
    let configured = config.node.name.as_str();
    match store.node_name()? {
        None => store.set_node_name(configured)?,
        Some(stored) if stored != configured => {
            return Err(NodeError::NameChanged {
                stored,
                configured: configured.to_owned(),
            });
        }
        Some(_) => {}
    }
    match store.bind_name(configured, id)? {
        crate::store::Binding::Bound => {}
        // Only a database from before names were bound can hold this; this node's own
        // claim wins here (its events are refused everywhere else anyway).
        crate::store::Binding::NameTaken(other) => {
            tracing::warn!(name = configured, %other, "another node had this node's name; it is bound to this node now");
            store.rebind_name(configured, id)?;
        }
        crate::store::Binding::NodeNamed(other) => {
            tracing::warn!(name = configured, %other, "this node's key was known under another name");
            store.rebind_name(configured, id)?;
        }
    }
    Ok(())
}

/// What a failure to open the database means for the admin: damaged files (named as
/// such, with the check command) or something else (in use, newer schema, a full disk).
/// Moves aside what a first start stopped in its first moments left in `db` (a database
/// that never recorded the node, or one too unfinished to open): nothing was ever served
/// from it. Kept beside as `db.unfinished-first-start-<ms>`, not deleted. A database that
/// recorded the node is left alone (the start stopped just before taking its mark away).
fn set_aside_unfinished_first_start(dir: &std::path::Path) -> Result<(), NodeError> {
    let db = dir.join("db");
    if !db.exists() {
        return Ok(());
    }
    let recorded = crate::store::Store::open_as_is(&db)
        .ok()
        .and_then(|store| store.node_id().ok().flatten())
        .is_some();
    if recorded {
        return Ok(());
    }
    let aside = dir.join(format!(
        "db.unfinished-first-start-{}",
        kindred_protocol::Timestamp::now().as_millis()
    ));
    std::fs::rename(&db, &aside).map_err(|source| NodeError::DataDir {
        path: db.clone(),
        source,
    })?;
    tracing::warn!(kept = %aside.display(), "a first start was stopped before it finished; what it had begun was moved aside and the first start begins again");
    Ok(())
}

fn unreadable_or(db: &std::path::Path, e: StoreError) -> NodeError {
    match e {
        e @ (StoreError::InUse { .. }
        | StoreError::SchemaTooNew { .. }
        | StoreError::Thread { .. }) => NodeError::Store(e),
        e if e.is_full() => NodeError::Store(e),
        StoreError::Storage(crate::store::kv::KvError::Journal(why)) => NodeError::Journal {
            path: db.to_owned(),
            why,
        },
        StoreError::WentBack {
            acknowledged,
            stored,
        } => NodeError::WentBack {
            path: db.to_owned(),
            acknowledged,
            stored,
        },
        source => NodeError::Unreadable {
            path: db.to_owned(),
            source,
        },
    }
}

/// Runs `f` on the database in `db`; an engine that panics on damaged files (sled on a
/// truncated file) counts as unreadable files, like an error that says so.
fn unless_panicked<T>(
    db: &std::path::Path,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, NodeError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(|e| unreadable_or(db, e)),
        Err(_) => Err(unreadable_or(
            db,
            StoreError::corrupt(
                "files",
                std::io::Error::other("the storage engine failed while reading them"),
            ),
        )),
    }
}

/// Opens the database and reads a little of it back (the schema, the newest events'
/// signatures), so damaged files stop the start with a message naming the check command
/// instead of failing members' requests later.
fn open_store(
    db: &std::path::Path,
    engine: crate::config::StorageEngine,
) -> Result<Store, NodeError> {
    unless_panicked(db, || {
        let store = Store::open_on(db, engine)?;
        store.quick_check()?;
        Ok(store)
    })
}
