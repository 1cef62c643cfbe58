//! The one write path for events, local and remote alike: a group of verified events is
//! decided by the rules (`crate::rules`) and stored in a single sled transaction over the
//! event-log and index trees, so an event and every effect it has are stored together or
//! not at all. Storage carries out decisions; it does not make them.
//!
//! - Applied: stored with its effect (`effects`), and anything that was waiting for it is
//!   decided again (`release`).
//! - Held: stored, marked held, listed under what it waits for (`held` tree).
//! - Refused: a shared-log event is still stored (its origin's log must stay whole, and a
//!   relay passes on what it holds) but never applied or shown; a directed one is not
//!   stored at all.
//!
//! - `tx`: the transaction's trees and the group's working state;
//! - `view`: the rules' read-only view over the transaction;
//! - `effects`: carrying out each effect;
//! - `release`: deciding again what waited for an event, conversation or name.

#[cfg(test)]
mod convergence;
mod effects;
mod erase;
mod group;
mod redact;
mod release;
mod tx;
mod view;

use std::collections::HashMap;

use super::kv::TransactionError;
use kindred_protocol::event::ConversationId;
use kindred_protocol::{EventBody, EventId, MemberId, NodeId, VerifiedEvent};

use super::{Store, StoreError};
use crate::rules::{Awaiting, Refusal};
pub(crate) use redact::STASH_TAG;
#[cfg(test)]
pub(crate) use redact::stash_key as stash_key_for_tests;
use tx::Tx;

/// What storing an event changed, for live updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A new visible post or reply.
    New(EventId),
    /// A post or reply (by original id) has a new version.
    Edited(EventId),
    /// A post or reply (by original id) was retracted.
    Retracted(EventId),
    /// Reactions on an entry (by original id) changed.
    Reactions(EventId),
    /// A chat message was stored (conversation, message).
    Message(ConversationId, EventId),
    /// A chat message (by original id) has a new version.
    MessageEdited(ConversationId, EventId),
    /// A chat message (by original id) was taken back.
    MessageRetracted(ConversationId, EventId),
    /// Reactions on a chat message changed.
    MessageReactions(ConversationId, EventId),
    /// A conversation changed; the local members it no longer includes are listed.
    Conversation(ConversationId, Vec<MemberId>),
    /// A participant's read marker moved.
    ReadMarker(ConversationId, MemberId, EventId),
    /// A node name was bound by its node's announcement: this node's conversations with
    /// its members are sent to that node again (they may have gone to a node whose claim
    /// on the name was blocked).
    NameBound(String),
    /// A member was erased: everything of theirs is gone from this node.
    Erased(MemberId),
    /// Nothing members see changed.
    None,
}

/// What the rules made of a stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Applied.
    Applied,
    /// Held until this arrives.
    Held(Awaiting),
    /// Refused (kept only to keep its origin's shared log whole).
    Refused(Refusal),
}

/// The result of ingesting one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IngestOutcome {
    /// Stored now.
    Stored {
        /// The event.
        id: EventId,
        /// Its place in this node's arrival log.
        local_seq: u64,
        /// What the rules made of it.
        verdict: Verdict,
        /// What members will see change: this event's effect first, then those of the
        /// events that were waiting for it.
        changes: Vec<Change>,
    },
    /// Already held; nothing written.
    Duplicate(EventId),
    /// A shared-log event that is not the next one for its origin; not written.
    OutOfOrder {
        /// The event.
        id: EventId,
        /// The sequence number that would have been accepted.
        expected: u64,
    },
    /// A directed (or organisation-only) event the rules refused: not stored.
    Refused {
        /// The event.
        id: EventId,
        /// Why.
        reason: Refusal,
    },
    /// A different event with a sequence number its origin already used: refused, and
    /// recorded for the admin (`conflicts` tree).
    Forked {
        /// The event.
        id: EventId,
        /// Its origin.
        origin: NodeId,
        /// The sequence number used twice.
        seq: u64,
    },
}

impl IngestOutcome {
    /// Why the event was not applied, if it was refused (stored or not).
    pub(crate) fn refusal(&self) -> Option<&Refusal> {
        match self {
            IngestOutcome::Refused { reason, .. }
            | IngestOutcome::Stored {
                verdict: Verdict::Refused(reason),
                ..
            } => Some(reason),
            _ => None,
        }
    }
}

/// Who is storing and when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IngestContext<'a> {
    /// This node, whose directed events go into the outbox.
    pub(crate) self_id: NodeId,
    /// This node's name.
    pub(crate) self_name: &'a str,
    /// Arrival time (ms, this node's clock).
    pub(crate) now: u64,
    /// Bytes of directed events each origin may have held at once.
    pub(crate) hold_quota: u64,
    /// Members' profiles each other node may have stored here.
    pub(crate) profile_quota: u64,
    /// Paired nodes whose clocks are known to be far off: how far ahead (ms). Their
    /// events' times are corrected by it when placed in timelines.
    pub(crate) skews: &'a std::collections::HashMap<NodeId, i64>,
}

impl Store {
    /// Decides and stores a group of verified events, in order, in one transaction.
    /// Returns one outcome per event. Not durable until [`Store::durable`] or
    /// [`Store::when_durable`] says so.
    #[cfg(test)]
    pub(crate) fn ingest(
        &self,
        events: &[VerifiedEvent],
        ctx: &IngestContext<'_>,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        Ok(self.ingest_and_release(events, &[], &[], ctx)?.0)
    }

    /// As [`Store::ingest`], then decides again whatever waits for `release` (a name an
    /// admin's pairing or block just settled); returns the outcomes and what members will
    /// see change from the release. `written` are idempotency records
    /// (`idempotency::written_key`, `written_value`) for the events at those indexes,
    /// stored in the same transaction when their event is stored and applied.
    pub(crate) fn ingest_and_release(
        &self,
        events: &[VerifiedEvent],
        release: &[Awaiting],
        written: &[(usize, Vec<u8>, Vec<u8>)],
        ctx: &IngestContext<'_>,
    ) -> Result<(Vec<IngestOutcome>, Vec<Change>), StoreError> {
        let start_seq = self.last_local_seq()?;
        let maybe_held = !self.nothing_held();
        let mut threads = self.threads_taken_down(events)?;
        let erasing = self.erasing(events, &mut threads)?;
        let writing = self.writer();
        let trees = writing.ingest_trees();
        let result = self.transaction(trees, |views| {
            let tx = Tx::new(views, ctx, maybe_held, &threads, &erasing);
            let mut local_seq = start_seq;
            let outcomes = events
                .iter()
                .map(|event| tx.apply(event, &mut local_seq))
                .collect::<Result<Vec<_>, _>>()?;
            let released = tx.release(release.to_vec(), &mut local_seq)?;
            tx.finish_group()?;
            for (at, key, value) in written {
                if let Some(IngestOutcome::Stored {
                    verdict: Verdict::Applied,
                    ..
                }) = outcomes.get(*at)
                {
                    views[18].insert(key, value)?;
                }
            }
            Ok((outcomes, released))
        });
        match result {
            Ok(done) => Ok(done),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }
}

impl Store {
    /// The stored replies of each post the group's retractions may take down. Read before
    /// the transaction: sled cannot scan inside one (and a plain read there would wait for
    /// the transaction itself); replies the group adds are tracked as it goes.
    fn threads_taken_down(
        &self,
        events: &[VerifiedEvent],
    ) -> Result<HashMap<EventId, Vec<EventId>>, StoreError> {
        let mut threads = HashMap::new();
        for event in events {
            let p = event.payload();
            if let (EventBody::Retraction(_), Some(target)) = (&p.body, p.refs.retracts) {
                let original = self
                    .event_meta(&target)?
                    .and_then(|m| m.original)
                    .unwrap_or(target);
                threads.insert(original, self.thread_replies(&original)?);
            }
        }
        Ok(threads)
    }
}

impl Store {
    /// For each member the group erases: every event of theirs held here that is not a
    /// tombstone yet, and their undelivered outbox entries; the replies of their posts go
    /// into `threads` (taking a post down takes its thread). A full scan: erasures are rare.
    fn erasing(
        &self,
        events: &[VerifiedEvent],
        threads: &mut HashMap<EventId, Vec<EventId>>,
    ) -> Result<HashMap<MemberId, erase::Authored>, StoreError> {
        let mut out: HashMap<MemberId, erase::Authored> = HashMap::new();
        for event in events {
            if let EventBody::Erasure(_) = &event.payload().body {
                out.entry(event.payload().author.clone()).or_default();
            }
        }
        if out.is_empty() {
            return Ok(out);
        }
        // What this same group stores before the erasure is not in the trees yet.
        for event in events {
            let p = event.payload();
            if let Some(authored) = out.get_mut(&p.author) {
                authored.events.push(event.id());
                if matches!(p.body, EventBody::Post(_)) && p.refs.replaces.is_none() {
                    threads.entry(event.id()).or_default();
                }
            }
            if let EventBody::ConversationUpdate(u) = &p.body
                && u.kind == kindred_protocol::event::body::chat::ConversationKind::Group
            {
                for (member, authored) in out.iter_mut() {
                    if u.members.contains(member) && !authored.groups.contains(&u.conversation) {
                        authored.groups.push(u.conversation);
                    }
                }
            }
        }
        let mut locals = std::collections::HashSet::new();
        for item in self.trees().events.iter() {
            let (k, record) = item?;
            let local = super::origin_log::decode_u64("events", &k)?;
            let meta = super::events::meta_in(&record, local)?;
            if meta.kind == kindred_protocol::EventKind::Tombstone.code() {
                continue;
            }
            let signed = super::events::signed_in(&record)?;
            let Ok(p) = signed.parse() else {
                continue;
            };
            let Some(authored) = out.get_mut(&p.author) else {
                continue;
            };
            let id = signed.id();
            authored.events.push(id);
            locals.insert(local);
            if matches!(p.body, EventBody::Post(_)) && meta.original.is_none() {
                threads.insert(id, self.thread_replies(&id)?);
            }
        }
        for item in self.trees().chat.scan_prefix([b'c']) {
            let (k, v) = item?;
            let record: super::ConversationRecord = super::from_json("chat", &v)?;
            if record.kind != kindred_protocol::event::body::chat::ConversationKind::Group {
                continue;
            }
            let Ok(id) = <[u8; 16]>::try_from(&k[1..]) else {
                continue;
            };
            let id = kindred_protocol::event::ConversationId::from_bytes(id);
            for (member, authored) in out.iter_mut() {
                if record.members.contains(member) && !authored.groups.contains(&id) {
                    authored.groups.push(id);
                }
            }
        }
        // Changes waiting for a conversation may be allowed once the member is out of it
        // (the group's admins change): they are decided again.
        for item in self.trees().held.scan_prefix(b"c") {
            let (k, _) = item?;
            let Ok(id) = <[u8; 16]>::try_from(&k[1..]) else {
                continue;
            };
            let id = kindred_protocol::event::ConversationId::from_bytes(id);
            for authored in out.values_mut() {
                if !authored.groups.contains(&id) {
                    authored.groups.push(id);
                }
            }
        }
        for item in self.trees().outbox.iter() {
            let (k, _) = item?;
            let local = k
                .get(32..40)
                .map(|b| super::origin_log::decode_u64("outbox", b))
                .transpose()?;
            // Which erased member's it is does not matter: all of them go.
            if local.is_some_and(|l| locals.contains(&l))
                && let Some(authored) = out.values_mut().next()
            {
                authored.outbox.push(k);
            }
        }
        Ok(out)
    }
}
