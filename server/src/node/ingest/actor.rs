//! The actor's side: taking what is queued as one group, writing it in one transaction,
//! and answering once it is durable.

use kindred_protocol::{
    Audience, EventBody, EventPayload, NodeId, NodeKeypair, Timestamp, VerifiedEvent,
};
use tokio::sync::mpsc;

use super::super::live::LiveSender;
use super::{IngestError, MAX_GROUP, Reach, Request, Signals, Waiter};
use crate::store::{IngestContext, IngestOutcome, Store, Verdict};

pub(super) struct Actor {
    pub(super) store: Store,
    pub(super) keypair: NodeKeypair,
    pub(super) origin: NodeId,
    /// The next shared-log number for this node's own events.
    pub(super) next_seq: u64,
    /// The time given to the previous group.
    pub(super) last_time: Timestamp,
    /// Bytes of directed events each other node may have held here at once.
    pub(super) hold_quota: u64,
    pub(super) profile_quota: u64,
    /// The node's clock.
    pub(super) clock: std::sync::Arc<dyn super::super::Clock>,
    /// This node's name.
    pub(super) name: String,
    pub(super) live: LiveSender,
    /// Woken after each stored group so search catches up.
    pub(super) indexer: Option<std::sync::mpsc::Sender<super::super::search::Wake>>,
    /// Tells federation links about new shared-log and directed events.
    pub(super) signals: Signals,
    pub(super) metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Ids of content this node signed for the current millisecond or later, with their
    /// time (ms): see [`Actor::sign_distinct`].
    pub(super) recent: std::collections::HashMap<kindred_protocol::EventId, u64>,
}

impl Actor {
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let mut stopping = false;
        while !stopping {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(request) => group.push(request),
                    Err(_) => break,
                }
            }
            if let Some(at) = group.iter().position(|r| matches!(r, Request::Stop)) {
                // Anything after the stop arrived during shutdown: it is refused (its
                // sender sees `Closed`), never half-written.
                group.truncate(at);
                stopping = true;
            }
            let (expiries, group): (Vec<_>, Vec<_>) = group
                .into_iter()
                .partition(|r| matches!(r, Request::Expire(..)));
            self.write_group(group);
            for request in expiries {
                if let Request::Expire(expiry, reply) = request {
                    let _ = reply.send(self.store.expire(&expiry));
                }
            }
        }
        tracing::debug!("ingest actor stopped");
    }

    /// Signs a local event. A post, reply, chat message or check-in identical to one
    /// signed in the same millisecond (the same person sending "ok" twice, or two
    /// check-ins with the same pulse, from two devices at once) would have the same id and
    /// be stored once: it is dated a millisecond later instead, so both are kept. Answers
    /// and other state changes written twice identically stay one event (their effect
    /// happens once).
    fn sign_distinct(
        &mut self,
        payload: EventPayload,
        now: Timestamp,
    ) -> Result<VerifiedEvent, kindred_protocol::SignError> {
        let content = matches!(
            payload.body,
            EventBody::Post(_)
                | EventBody::Reply(_)
                | EventBody::ChatMessage(_)
                | EventBody::CheckIn(_)
        );
        if !content {
            return VerifiedEvent::sign(payload, &self.keypair);
        }
        self.recent.retain(|_, at| *at >= now.as_millis());
        let mut payload = payload;
        loop {
            let at = payload.created_at.as_millis();
            let event = VerifiedEvent::sign(payload, &self.keypair)?;
            if self.recent.insert(event.id(), at).is_none() {
                return Ok(event);
            }
            payload = event.into_parts().1;
            payload.created_at = Timestamp(at + 1);
            // What this node signs next is never dated before it.
            self.last_time = self.last_time.max(payload.created_at);
        }
    }

    fn write_group(&mut self, group: Vec<Request>) {
        // Never earlier than this node's previous events, even if the clock steps back.
        let now = self.clock.now().max(self.last_time);
        self.last_time = now;
        let mut events = Vec::with_capacity(group.len());
        let mut waiters = Vec::with_capacity(group.len());
        let mut seq = self.next_seq;
        let mut release = Vec::new();
        // Written records of requests with idempotency keys: (event index, key, value).
        let mut written = Vec::new();
        for request in group {
            match request {
                // Taken out of the group before it is written.
                Request::Stop | Request::Expire(..) => {}
                Request::Release(targets, reply) => {
                    waiters.push(Waiter::Many(reply, 0));
                    release.extend(targets);
                }
                Request::Remote(batch, reply) => {
                    waiters.push(Waiter::Many(reply, batch.len()));
                    events.extend(batch);
                }
                Request::Local(draft, record, reply) => {
                    let draft = *draft;
                    let audience = match &draft.reach {
                        Reach::Shared => Audience::Shared { seq },
                        Reach::Local => Audience::Local,
                        Reach::Directed(recipients) => Audience::Directed {
                            recipients: recipients.clone(),
                        },
                    };
                    let shared = draft.reach == Reach::Shared;
                    let payload = EventPayload {
                        origin: self.origin,
                        created_at: now.max(Timestamp(draft.not_before)),
                        audience,
                        author: draft.author,
                        refs: draft.refs,
                        body: draft.body,
                    };
                    match self.sign_distinct(payload, now) {
                        Ok(event) => {
                            if shared {
                                seq += 1;
                            }
                            if let Some((draft_key, fingerprint)) = record {
                                let value = crate::store::idempotency::written_value(
                                    now.as_millis(),
                                    &fingerprint,
                                );
                                written.push((events.len(), draft_key, value));
                            }
                            events.push(event);
                            waiters.push(Waiter::One(reply));
                        }
                        Err(e) => {
                            // The requester may have gone; nobody else to tell.
                            let _ = reply.send(Err(IngestError::Invalid(e)));
                        }
                    }
                }
            }
        }
        if events.is_empty() && release.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let skews = self.signals.durable.skews();
        let ctx = IngestContext {
            self_id: self.origin,
            self_name: &self.name,
            now: now.as_millis(),
            hold_quota: self.hold_quota,
            profile_quota: self.profile_quota,
            skews: &skews,
        };
        let stored = self
            .store
            .ingest_and_release(&events, &release, &written, &ctx);
        tracing::trace!(events = events.len(), took = ?started.elapsed(), "group stored");
        match stored {
            Ok((outcomes, released)) => {
                self.next_seq = seq;
                // This node's own events fetched back from peers (after a restore) move
                // its numbering on.
                let fetched_back = outcomes.iter().zip(&events).any(|(o, e)| {
                    matches!(o, IngestOutcome::Stored { .. })
                        && e.payload().origin == self.origin
                        && e.payload().seq().is_some_and(|s| s >= self.next_seq)
                });
                if fetched_back {
                    match self.store.origin_head(&self.origin) {
                        Ok(head) => self.next_seq = self.next_seq.max(head + 1),
                        Err(e) => tracing::error!(error = %e, "cannot read own log head"),
                    }
                }
                if let Some(w) = &self.indexer {
                    // A stopped indexer just misses the wake-up.
                    let _ = w.send(super::super::search::Wake::Written);
                }
                let live = self.live.clone();
                let signals = self.signals.clone();
                let origin = self.origin;
                // What this group brings to disk, for the durable watermark.
                let last_local = match self.store.last_local_seq() {
                    Ok(seq) => seq,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the arrival log's end");
                        0
                    }
                };
                let own_erasure_back = outcomes.iter().zip(&events).any(|(o, e)| {
                    matches!(o, IngestOutcome::Forked { .. })
                        && e.payload().origin == self.origin
                        && matches!(e.payload().body, kindred_protocol::EventBody::Erasure(_))
                });
                if own_erasure_back {
                    self.signals.housekeeping.notify_one();
                }
                let mut heads: Vec<(NodeId, u64)> = Vec::new();
                for (outcome, event) in outcomes.iter().zip(&events) {
                    let origin = event.payload().origin;
                    if let Some(refusal) = outcome.refusal() {
                        self.signals.durable.count_refused(origin);
                        self.metrics.event_refused(origin, refusal.name());
                    } else if matches!(outcome, IngestOutcome::Stored { .. }) {
                        let kind = event.payload().body.kind();
                        self.metrics.event_stored(
                            origin,
                            kind.map_or_else(|| "Unknown".to_owned(), |k| format!("{k:?}")),
                        );
                    }
                    if let (IngestOutcome::Stored { .. }, Some(seq)) =
                        (outcome, event.payload().seq())
                    {
                        heads.push((event.payload().origin, seq));
                    }
                }
                let metrics = self.metrics.clone();
                let group = events.len();
                let store = self.store.clone();
                self.store.when_durable(Box::new(move |flushed| {
                    metrics.group_stored(group, started.elapsed().as_secs_f64());
                    if let Err(e) = flushed {
                        for waiter in waiters {
                            waiter.fail(e);
                        }
                        return;
                    }
                    // Before anyone is told: a start that finds the log ending earlier
                    // knows acknowledged events were lost.
                    store.acknowledge(last_local);
                    signals.durable.advance(last_local, &heads);
                    for change in released {
                        live.publish(change);
                    }
                    let mut shared = false;
                    let mut directed = false;
                    for (outcome, event) in outcomes.iter().zip(&events) {
                        if let IngestOutcome::Stored {
                            changes, verdict, ..
                        } = outcome
                        {
                            for change in changes {
                                live.publish(change.clone());
                            }
                            match &event.payload().audience {
                                Audience::Shared { .. } => shared = true,
                                Audience::Directed { .. } => {
                                    directed |= event.payload().origin == origin
                                        && *verdict == Verdict::Applied;
                                }
                                Audience::Local => {}
                            }
                        }
                    }
                    signals.stored.send_modify(|v| *v += 1);
                    if shared {
                        signals.shared_log.send_modify(|v| *v += 1);
                    }
                    if directed {
                        signals.outbox.send_modify(|v| *v += 1);
                    }
                    let mut results = outcomes.into_iter().zip(events);
                    for waiter in waiters {
                        match waiter {
                            Waiter::One(reply) => {
                                if let Some(result) = results.next() {
                                    // The requester may have gone; the event is stored anyway.
                                    let _ = reply.send(Ok(result));
                                }
                            }
                            Waiter::Many(reply, n) => {
                                let batch: Vec<IngestOutcome> =
                                    results.by_ref().take(n).map(|(o, _)| o).collect();
                                let _ = reply.send(Ok(batch));
                            }
                        }
                    }
                }));
            }
            Err(e) => {
                tracing::error!(error = %e, events = events.len(), "storing a group of events failed");
                // Nothing of the group was written; start numbering again from what is stored.
                match self.store.origin_head(&self.origin) {
                    Ok(head) => self.next_seq = head + 1,
                    Err(e) => tracing::error!(error = %e, "cannot read own log head"),
                }
                for waiter in waiters {
                    waiter.fail(&e);
                }
            }
        }
    }
}

impl Waiter {
    fn fail(self, e: &crate::store::StoreError) {
        // Requesters may have gone; there is nobody else to tell.
        match self {
            Waiter::One(reply) => {
                let _ = reply.send(Err(IngestError::Store(e.again())));
            }
            Waiter::Many(reply, _) => {
                let _ = reply.send(Err(IngestError::Store(e.again())));
            }
        }
    }
}
