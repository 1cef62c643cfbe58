//! The ingest actor: the single writer of the event log. Local drafts are numbered, signed
//! and stored; remote events (already verified) are stored; everything waiting is taken as
//! one group, written in one transaction and made durable by one shared flush, and only
//! then acknowledged and fanned out.

mod actor;

use kindred_protocol::{
    EventBody, MemberId, NodeKeypair, References, SignError, Timestamp, VerifiedEvent,
};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use super::live::LiveSender;
use crate::rules::Refusal;
use crate::store::{IngestOutcome, Store, StoreError, Verdict};
use actor::Actor;

/// Most requests written in one transaction.
const MAX_GROUP: usize = 256;

/// Where a local event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reach {
    /// The federation's shared log.
    Shared,
    /// This node only (organisation-only topics).
    Local,
    /// Only these nodes (ascending, no repeats), through per-peer outboxes.
    Directed(Vec<kindred_protocol::NodeId>),
}

/// A local event before it is numbered and signed.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    /// The member writing it.
    pub(crate) author: MemberId,
    /// Shared or organisation-only.
    pub(crate) reach: Reach,
    /// Links to earlier events.
    pub(crate) refs: References,
    /// The content.
    pub(crate) body: EventBody,
    /// Made no earlier than this (ms): a change to something updated in the same
    /// millisecond must still come after it.
    pub(crate) not_before: u64,
}

/// Why an event could not be stored.
#[derive(Debug, Error)]
pub(crate) enum IngestError {
    /// The draft breaks a protocol limit or rule.
    #[error("invalid event")]
    Invalid(#[from] SignError),
    /// The rules refused it (`crate::rules`): nothing was changed.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// Storage failed; the event is not stored.
    #[error("storage failed")]
    Store(#[source] crate::store::StoreError),
    /// The node is shutting down.
    #[error("the node is shutting down")]
    Closed,
}

type Reply = oneshot::Sender<Result<(IngestOutcome, VerifiedEvent), IngestError>>;
type ReplyMany = oneshot::Sender<Result<Vec<IngestOutcome>, IngestError>>;

enum Request {
    /// A local event, and the written-record key and fingerprint of the request making it
    /// (`node::write_key`).
    Local(Box<Draft>, Option<(Vec<u8>, [u8; 32])>, Reply),
    /// Remote events.
    Remote(Vec<VerifiedEvent>, ReplyMany),
    /// Decide again what waits for these (a name a pairing or a block settled).
    Release(Vec<crate::rules::Awaiting>, ReplyMany),
    /// Expire old content (retention), after what is queued before it.
    Expire(
        crate::store::Expiry,
        oneshot::Sender<Result<u64, crate::store::StoreError>>,
    ),
    /// Finish what is queued before this, then stop.
    Stop,
}

/// Who is waiting for which events of a group.
enum Waiter {
    One(Reply),
    Many(ReplyMany, usize),
}

/// Watch counters bumped after each durable group, so federation links know there is
/// something new to send without queueing anything per event.
#[derive(Clone)]
pub(crate) struct Signals {
    /// Bumped when shared-log events were stored.
    pub(crate) shared_log: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Bumped when directed events were queued for peers.
    pub(crate) outbox: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Bumped after every durable group, whatever it held.
    pub(crate) stored: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// What is on disk: links send nothing beyond it.
    pub(crate) durable: std::sync::Arc<super::durable::DurableLog>,
    /// Wakes the housekeeping at once (an erasure of this node's own member came back
    /// to a node restored from a backup and is to be finished).
    pub(crate) housekeeping: std::sync::Arc<tokio::sync::Notify>,
    /// Wakes the mailer at once (an address to confirm: the member is waiting for it).
    pub(crate) mail: std::sync::Arc<tokio::sync::Notify>,
}

impl Signals {
    pub(crate) fn new(durable: super::durable::DurableLog) -> Self {
        Self {
            durable: std::sync::Arc::new(durable),
            housekeeping: std::sync::Arc::new(tokio::sync::Notify::new()),
            mail: std::sync::Arc::new(tokio::sync::Notify::new()),
            shared_log: std::sync::Arc::new(tokio::sync::watch::channel(0).0),
            outbox: std::sync::Arc::new(tokio::sync::watch::channel(0).0),
            stored: std::sync::Arc::new(tokio::sync::watch::channel(0).0),
        }
    }
}

/// Sends work to the ingest actor.
#[derive(Clone)]
pub(crate) struct IngestHandle {
    /// Bounded, so a flood of writers waits instead of growing memory.
    tx: mpsc::Sender<Request>,
    /// True once this node has caught up with its own shared log (see
    /// `node::links::own_log`); local shared-log events wait for it.
    own_log_ready: tokio::sync::watch::Receiver<bool>,
}

/// What the ingest actor works with.
pub(crate) struct IngestSetup {
    /// The database.
    pub(crate) store: Store,
    /// Signs this node's events.
    pub(crate) keypair: NodeKeypair,
    /// Where changes go for live updates.
    pub(crate) live: LiveSender,
    /// Woken after each stored group.
    pub(crate) indexer: Option<std::sync::mpsc::Sender<super::search::Wake>>,
    /// Tells links about new events, and what is durable.
    pub(crate) signals: Signals,
    /// Bytes of directed events each other node may have held here at once.
    pub(crate) hold_quota: u64,
    /// Members' profiles each other node may have stored here.
    pub(crate) profile_quota: u64,
    /// The node's clock.
    pub(crate) clock: std::sync::Arc<dyn super::Clock>,
    /// True once this node has caught up with its own shared log.
    pub(crate) own_log_ready: tokio::sync::watch::Receiver<bool>,
    /// Counts what is stored and refused, for `/metrics`.
    pub(crate) metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl IngestHandle {
    /// Starts the actor on its own thread. It stops when every handle is dropped, after
    /// finishing what is queued.
    pub(crate) fn start(
        setup: IngestSetup,
    ) -> Result<(Self, std::thread::JoinHandle<()>), StoreError> {
        let IngestSetup {
            store,
            keypair,
            live,
            indexer,
            signals,
            hold_quota,
            profile_quota,
            clock,
            own_log_ready,
            metrics,
        } = setup;
        let origin = keypair.node_id();
        let next_seq = store.origin_head(&origin)? + 1;
        let name = store.node_name()?.unwrap_or_default();
        let (tx, rx) = mpsc::channel(4096);
        let actor = Actor {
            store,
            keypair,
            origin,
            next_seq,
            last_time: Timestamp::default(),
            hold_quota,
            profile_quota,
            clock,
            name,
            live,
            indexer,
            signals,
            metrics,
            recent: std::collections::HashMap::new(),
        };
        let thread = std::thread::Builder::new()
            .name("kindred-ingest".to_owned())
            .spawn(move || actor.run(rx))
            .map_err(|source| StoreError::Thread {
                what: "ingest",
                source,
            })?;
        Ok((Self { tx, own_log_ready }, thread))
    }

    /// Numbers, signs and stores a local event; returns once it is durable. The same
    /// rules as for remote events decide it: one they do not apply is an error (a refused
    /// shared-log event is still kept, refused, so the log has no gap).
    pub(crate) async fn local(
        &self,
        draft: Draft,
    ) -> Result<(IngestOutcome, VerifiedEvent), IngestError> {
        if draft.reach == Reach::Shared {
            // Never a number a peer may hold another event for (a node restored from a
            // backup catches up with its own log first).
            let mut ready = self.own_log_ready.clone();
            if ready.wait_for(|r| *r).await.is_err() {
                return Err(IngestError::Closed);
            }
        }
        let (reply, rx) = oneshot::channel();
        let key = super::write_key::current();
        let record = key.as_ref().map(|k| {
            (
                crate::store::idempotency::written_key(&k.record),
                k.fingerprint,
            )
        });
        self.tx
            .send(Request::Local(Box::new(draft), record, reply))
            .await
            .map_err(|_| IngestError::Closed)?;
        let (outcome, event) = rx.await.map_err(|_| IngestError::Closed)??;
        if let (
            Some(key),
            IngestOutcome::Stored {
                verdict: Verdict::Applied,
                ..
            },
        ) = (&key, &outcome)
        {
            key.note_written();
        }
        match &outcome {
            IngestOutcome::Stored {
                verdict: Verdict::Applied,
                ..
            } => Ok((outcome, event)),
            // The very same event is stored already: two requests in one group wrote it
            // identically (say, two answers both telling a waiting buddy "no longer
            // available"). Its effect has happened, once; for this writer that is success.
            IngestOutcome::Duplicate(_) => Ok((outcome, event)),
            IngestOutcome::Refused { reason, .. }
            | IngestOutcome::Stored {
                verdict: Verdict::Refused(reason),
                ..
            } => Err(IngestError::Refused(reason.clone())),
            other => {
                // Not expected for a freshly signed local event: say exactly what happened.
                tracing::warn!(outcome = ?other, "a local write was not applied");
                Err(IngestError::Refused(Refusal::NotArrived(format!(
                    "{other:?}"
                ))))
            }
        }
    }

    /// Asks the actor to stop once everything queued before now is written.
    pub(crate) async fn stop(&self) {
        // An error means the actor has already stopped.
        let _ = self.tx.send(Request::Stop).await;
    }

    /// Replaces old content with tombstones (`Store::expire`) in the writer's turn;
    /// returns how many events, once durable.
    pub(crate) async fn expire(&self, expiry: crate::store::Expiry) -> Result<u64, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Expire(expiry, reply))
            .await
            .map_err(|_| IngestError::Closed)?;
        let expired = rx
            .await
            .map_err(|_| IngestError::Closed)?
            .map_err(IngestError::Store)?;
        Ok(expired)
    }

    /// Decides again whatever waits for `targets`; returns once that is durable.
    pub(crate) async fn release(
        &self,
        targets: Vec<crate::rules::Awaiting>,
    ) -> Result<(), IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Release(targets, reply))
            .await
            .map_err(|_| IngestError::Closed)?;
        rx.await.map_err(|_| IngestError::Closed)??;
        Ok(())
    }

    /// Stores verified remote events, in order; returns once they are durable.
    pub(crate) async fn remote(
        &self,
        events: Vec<VerifiedEvent>,
    ) -> Result<Vec<IngestOutcome>, IngestError> {
        self.remote_queued(events).await?.outcomes().await
    }

    /// Queues verified remote events to be stored, in order, after everything queued
    /// before them; returns at once with a receiver for the outcomes, which answers once
    /// they are durable. A link can so hand over its next batch while the previous one is
    /// still being written, and the ingest thread never waits for it.
    pub(crate) async fn remote_queued(
        &self,
        events: Vec<VerifiedEvent>,
    ) -> Result<Durable, IngestError> {
        let (reply, rx) = oneshot::channel();
        if events.is_empty() {
            let _ = reply.send(Ok(Vec::new()));
            return Ok(Durable(rx));
        }
        self.tx
            .send(Request::Remote(events, reply))
            .await
            .map_err(|_| IngestError::Closed)?;
        Ok(Durable(rx))
    }
}

/// The outcomes of queued remote events, answered once they are durable.
pub(crate) struct Durable(oneshot::Receiver<Result<Vec<IngestOutcome>, IngestError>>);

impl Durable {
    /// Waits until the events are durable.
    pub(crate) async fn outcomes(self) -> Result<Vec<IngestOutcome>, IngestError> {
        self.0.await.map_err(|_| IngestError::Closed)?
    }
}
