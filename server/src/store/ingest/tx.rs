//! The ingest transaction: the trees it writes and the path of
//! one event from its sequence check through the rules to storage.

use std::cell::RefCell;
use std::collections::HashMap;

use kindred_protocol::{Audience, EventBody, EventId, EventPayload, NodeId, VerifiedEvent};

use super::super::conflicts::{Conflict, ConflictKind, conflict_key, sighted};
use super::super::events::{
    BadRecord, EventMeta, RecordParts, corrupt, encode_record, meta_in, payload_of, signed_in,
};
use super::super::federation::outbox_key;
use super::super::held::{awaiting_key, decode_waiting, quota_key};
use super::super::kv::TxKeyspace;
use super::super::origin_log::decode_u64;
use super::super::{StoreError, Trees, from_json, to_json};
use super::group::GroupState;
use super::{IngestContext, IngestOutcome, Verdict};
use crate::rules::{self, Awaiting, Decision, Refusal};

pub(super) type TxError = super::super::kv::TxError<StoreError>;

pub(super) fn abort(e: StoreError) -> TxError {
    super::super::kv::TxError::Abort(e)
}

impl Trees {
    /// The trees the ingest transaction writes, in the order [`Tx::new`] reads them; the
    /// last, `idempotency`, takes the group's written records (`Store::ingest_and_release`).
    pub(crate) fn ingest_trees(&self) -> [&super::super::kv::Keyspace; 19] {
        [
            &self.events,
            &self.event_ids,
            &self.origin_runs,
            &self.origin_head,
            &self.topic_timeline,
            &self.thread_replies,
            &self.author_timeline,
            &self.reactions,
            &self.topic_stats,
            &self.outbox,
            &self.profiles,
            &self.chat,
            &self.origin_names,
            &self.node_names,
            &self.held,
            &self.conflicts,
            &self.topics,
            &self.erasures,
            &self.idempotency,
        ]
    }
}

/// The transactional views of the trees the ingest path writes.
pub(super) struct Tx<'a> {
    pub(super) events: &'a TxKeyspace<'a>,
    pub(super) event_ids: &'a TxKeyspace<'a>,
    pub(super) origin_runs: &'a TxKeyspace<'a>,
    pub(super) origin_head: &'a TxKeyspace<'a>,
    pub(super) topic_timeline: &'a TxKeyspace<'a>,
    pub(super) thread_replies: &'a TxKeyspace<'a>,
    pub(super) author_timeline: &'a TxKeyspace<'a>,
    pub(super) reactions: &'a TxKeyspace<'a>,
    pub(super) topic_stats: &'a TxKeyspace<'a>,
    pub(super) outbox: &'a TxKeyspace<'a>,
    pub(super) profiles: &'a TxKeyspace<'a>,
    pub(super) chat: &'a TxKeyspace<'a>,
    pub(super) origin_names: &'a TxKeyspace<'a>,
    pub(super) node_names: &'a TxKeyspace<'a>,
    pub(super) held: &'a TxKeyspace<'a>,
    pub(super) conflicts: &'a TxKeyspace<'a>,
    /// Read only: which topics are organisation-only.
    pub(super) topics: &'a TxKeyspace<'a>,
    /// Erased members and their tombstones.
    pub(super) erasures: &'a TxKeyspace<'a>,
    /// What each erasure in this group must reach beyond the slots it lists (read before
    /// the transaction).
    pub(super) erasing: &'a HashMap<kindred_protocol::MemberId, super::erase::Authored>,
    /// The stored replies of the posts this group's retractions name (read before the
    /// transaction; the group's own replies are tracked in `group`).
    pub(super) threads: &'a HashMap<EventId, Vec<EventId>>,
    /// Who is storing, and when.
    pub(super) ctx: &'a IngestContext<'a>,
    /// Something may be waiting for an event of this group (checked once per group, so a
    /// federation with nothing held pays no lookups).
    maybe_held: bool,
    /// Records most events of a group touch, kept here for the group's length.
    pub(super) group: RefCell<GroupState>,
}

impl<'a> Tx<'a> {
    pub(super) fn new(
        views: &'a [TxKeyspace<'a>; 19],
        ctx: &'a IngestContext<'a>,
        maybe_held: bool,
        threads: &'a HashMap<EventId, Vec<EventId>>,
        erasing: &'a HashMap<kindred_protocol::MemberId, super::erase::Authored>,
    ) -> Self {
        Self {
            events: &views[0],
            event_ids: &views[1],
            origin_runs: &views[2],
            origin_head: &views[3],
            topic_timeline: &views[4],
            thread_replies: &views[5],
            author_timeline: &views[6],
            reactions: &views[7],
            topic_stats: &views[8],
            outbox: &views[9],
            profiles: &views[10],
            chat: &views[11],
            origin_names: &views[12],
            node_names: &views[13],
            held: &views[14],
            conflicts: &views[15],
            topics: &views[16],
            erasures: &views[17],
            threads,
            erasing,
            ctx,
            maybe_held,
            group: RefCell::default(),
        }
    }

    pub(super) fn rules_context(&self) -> rules::Context<'a> {
        rules::Context {
            self_id: self.ctx.self_id,
            self_name: self.ctx.self_name,
            arrival: self.ctx.now,
            profile_quota: self.ctx.profile_quota,
        }
    }

    /// Whether anything may be waiting for events of this group.
    pub(super) fn anything_held(&self) -> bool {
        self.maybe_held || self.group.borrow().held_any
    }

    pub(super) fn apply(
        &self,
        event: &VerifiedEvent,
        local_seq: &mut u64,
    ) -> Result<IngestOutcome, TxError> {
        let id = event.id();
        let p = event.payload();
        let seq = p.seq();
        if let Some(seq) = seq {
            let head = self.head(&p.origin)?;
            if seq <= head {
                if self.event_ids.get(id.as_bytes())?.is_some() {
                    return Ok(IngestOutcome::Duplicate(id));
                }
                // Every shared event at or below the head is stored, so this is a second
                // event its origin signed with a number it had used.
                self.record_fork(&p.origin, seq, id)?;
                if let EventBody::Erasure(e) = &p.body
                    && p.origin == self.ctx.self_id
                {
                    // This node, restored from an old backup, wrote over the number of an
                    // erasure it had published: the erasure is its own (its signature),
                    // so it is carried out all the same, and what the member wrote since
                    // is erased by the housekeeping.
                    tracing::warn!(%id, member = %p.author, "an erasure this node published before a restore comes back: carried out");
                    self.erase(id, p, e)?;
                    self.erasures.insert(
                        super::super::erasures::pending_key(p.author.localpart()),
                        [],
                    )?;
                }
                return Ok(IngestOutcome::Forked {
                    id,
                    origin: p.origin,
                    seq,
                });
            }
            if seq != head + 1 {
                return Ok(IngestOutcome::OutOfOrder {
                    id,
                    expected: head + 1,
                });
            }
        } else if self.event_ids.get(id.as_bytes())?.is_some() {
            return Ok(IngestOutcome::Duplicate(id));
        }
        let mut signed = event.signed().to_bytes();
        let mut decision = rules::decide(&self.rules_context(), id, p, self)?;
        // An erased member's shared-log event arriving after their erasure: its slot holds
        // the erasure's tombstone, never the content.
        let mut tombstoned = false;
        if let (Decision::Apply(_), EventBody::ConversationUpdate(_), None) =
            (&decision, &p.body, seq)
            && rules::View::erased(self, &p.author)?
        {
            // Applied for the others' sake; kept without the erased member's words.
            signed = kindred_protocol::SignedEvent::from_parts(
                EventPayload::tombstone_bytes(&p.origin, 0, &id, &p.author),
                [0; 64],
            )
            .to_bytes();
            tombstoned = true;
        }
        if let (Decision::Refuse(Refusal::Erased(_)), Some(seq)) = (&decision, seq)
            && let Some(tombstone) = self
                .erasures
                .get(super::super::erasures::slot_key(&p.origin, seq))?
        {
            signed = tombstone.to_vec();
            tombstoned = true;
        }
        if seq.is_none() {
            // Nothing but the shared log needs a refused or waiting event kept: these are
            // not stored (a local write that cannot apply is refused to its writer).
            let own = p.origin == self.ctx.self_id;
            match &decision {
                Decision::Hold(awaiting) if own => {
                    tracing::warn!(%id, ?awaiting, "a local write refers to something not here (yet)");
                    decision = Decision::Refuse(Refusal::NotArrived(awaiting.to_string()));
                }
                Decision::Hold(_) if !self.quota_allows(&p.origin, signed.len() as u64)? => {
                    decision = Decision::Refuse(Refusal::HoldQuota);
                }
                _ => {}
            }
            if let Decision::Refuse(Refusal::Erased(_)) = &decision {
                // Kept as the erasure would have left it had it come first, so every node
                // ends the same whatever the order: a local tombstone in its place.
                return self.erased_directed(id, p, local_seq);
            }
            if let Decision::Refuse(reason) = decision {
                self.refused(id, p, &reason)?;
                if !matches!(
                    reason,
                    Refusal::NotForThisNode | Refusal::UnknownDirectedKind(_)
                ) {
                    // Something here may refer to it (a reaction or read position that
                    // came first, or comes later): refused in turn, never left waiting.
                    self.held
                        .insert(&super::super::held::gone_key(&id)[..], [])?;
                    self.release(vec![Awaiting::Event(id)], local_seq)?;
                }
                return Ok(IngestOutcome::Refused { id, reason });
            }
        }
        if let Some(seq) = seq {
            self.add_to_run(&p.origin, seq, *local_seq + 1)?;
        }
        *local_seq += 1;
        self.event_ids
            .insert(id.as_bytes(), local_seq.to_be_bytes())?;
        let mut meta = EventMeta {
            local_seq: *local_seq,
            received_at: self.ctx.now,
            sort_ts: self.sort_time(p),
            kind: p.body.kind_code(),
            ..EventMeta::default()
        };
        let (verdict, mut changes, effect) = match decision {
            Decision::Apply(effect) => {
                let change = self.carry_out(id, p, &effect, &mut meta)?;
                let erased = std::mem::take(&mut self.group.borrow_mut().erased);
                if tombstoned {
                    meta.kind = kindred_protocol::EventKind::Tombstone.code();
                    meta.retracted_by = Some(id);
                }
                let mut changes = vec![change];
                changes.extend(erased);
                (Verdict::Applied, changes, Some(effect))
            }
            Decision::Hold(awaiting) => {
                meta.held = true;
                self.note_claim(id, p, &awaiting)?;
                self.hold(&awaiting, *local_seq)?;
                if seq.is_none() {
                    self.adjust_quota(&p.origin, signed.len() as i64)?;
                }
                tracing::debug!(%id, origin = %p.origin, ?awaiting, "event held until what it refers to arrives");
                (Verdict::Held(awaiting), Vec::new(), None)
            }
            Decision::Refuse(reason) => {
                meta.quarantined = true;
                if tombstoned {
                    meta.kind = kindred_protocol::EventKind::Tombstone.code();
                    meta.retracted_by = Some(id);
                }
                self.refused(id, p, &reason)?;
                (Verdict::Refused(reason), Vec::new(), None)
            }
        };
        if let (Some(_), Audience::Directed { recipients }) = (&effect, &p.audience)
            && p.origin == self.ctx.self_id
        {
            for peer in recipients.iter().filter(|r| **r != self.ctx.self_id) {
                self.outbox
                    .insert(&outbox_key(peer, *local_seq)[..], id.as_bytes())?;
            }
        }
        self.put_new(&id, &meta, &signed)?;
        match (&effect, &verdict) {
            (Some(effect), _) => {
                let mut targets = super::release::targets(id, p, effect);
                if let rules::Effect::Erase = effect
                    && let Some(theirs) = self.erasing.get(&p.author)
                {
                    // Groups left without them: changes by the members now their admins
                    // may have been waiting for this; and what waited for their events
                    // (now final, as tombstones).
                    targets.extend(theirs.groups.iter().map(|c| Awaiting::Conversation(*c)));
                    targets.extend(theirs.events.iter().map(|e| Awaiting::Event(*e)));
                }
                changes.extend(self.release(targets, local_seq)?);
            }
            // What waited for a refused event is refused in turn.
            (None, Verdict::Refused(_)) => {
                changes.extend(self.release(vec![Awaiting::Event(id)], local_seq)?);
            }
            _ => {}
        }
        Ok(IngestOutcome::Stored {
            id,
            local_seq: meta.local_seq,
            verdict,
            changes,
        })
    }

    /// Where an event goes in timelines: its origin's time, corrected by that node's clock
    /// error when it is a paired node known to be far off, and never later than now.
    pub(super) fn sort_time(&self, p: &EventPayload) -> u64 {
        let created = p.created_at.as_millis();
        let corrected = match self.ctx.skews.get(&p.origin) {
            Some(ahead) => created.saturating_add_signed(-*ahead),
            None => created,
        };
        corrected.min(self.ctx.now)
    }

    /// Logs a refusal, and records a claim on someone else's name for the admin.
    pub(super) fn refused(
        &self,
        id: EventId,
        p: &EventPayload,
        reason: &Refusal,
    ) -> Result<(), TxError> {
        if reason.is_name_conflict() {
            tracing::warn!(%id, origin = %p.origin, author = %p.author, %reason, "event refused: a claim on a name bound elsewhere");
            self.record_conflict(
                ConflictKind::NameClaim,
                &p.origin,
                format!("wrote as {}: {reason}", p.author),
                vec![id],
            )?;
        } else {
            tracing::info!(%id, origin = %p.origin, author = %p.author, %reason, "event refused");
        }
        Ok(())
    }

    /// An event waiting for a name another node holds (by its announcement) is a
    /// conflicting claim the admin is shown, though it may yet be the rightful one.
    fn note_claim(
        &self,
        id: EventId,
        p: &EventPayload,
        awaiting: &Awaiting,
    ) -> Result<(), TxError> {
        let Awaiting::Name(name) = awaiting else {
            return Ok(());
        };
        if self.node_names.get(name.as_bytes())?.is_none() {
            return Ok(());
        }
        tracing::warn!(%id, origin = %p.origin, %name, "a node claims a name another node announced first; held until an admin pairs with it or blocks the other");
        self.record_conflict(
            ConflictKind::NameClaim,
            &p.origin,
            format!("claims the name {name}, which another node announced first (pair with the rightful node, or block the other, to settle it)"),
            vec![id],
        )
    }

    fn record_fork(&self, origin: &NodeId, seq: u64, id: EventId) -> Result<(), TxError> {
        tracing::warn!(%origin, seq, refused = %id, "two different events with the same origin and sequence number; the one held first is kept");
        self.record_conflict(
            ConflictKind::Fork,
            origin,
            format!("signed two different events as number {seq} of its log"),
            vec![id],
        )
    }

    fn record_conflict(
        &self,
        kind: ConflictKind,
        origin: &NodeId,
        detail: String,
        events: Vec<EventId>,
    ) -> Result<(), TxError> {
        let key = conflict_key(kind, origin);
        let existing: Option<Conflict> = self
            .conflicts
            .get(key)?
            .map(|v| from_json("conflicts", &v))
            .transpose()
            .map_err(abort)?;
        let record = sighted(existing, kind, origin, detail, events, self.ctx.now);
        self.conflicts
            .insert(&key[..], to_json("conflicts", &record).map_err(abort)?)?;
        Ok(())
    }

    /// Lists the event at `local_seq` as waiting for `awaiting`. The list stays in arrival
    /// order even when an event held for one thing is held again for another, so what
    /// waits is always decided again in the order it arrived (a reaction's removal after
    /// its adding).
    pub(super) fn hold(&self, awaiting: &Awaiting, local_seq: u64) -> Result<(), TxError> {
        let key = awaiting_key(awaiting);
        let mut waiting = match self.held.get(&key)? {
            None => Vec::new(),
            Some(list) => decode_waiting(&list).map_err(abort)?,
        };
        let at = waiting.partition_point(|s| *s < local_seq);
        if waiting.get(at) != Some(&local_seq) {
            waiting.insert(at, local_seq);
        }
        let list: Vec<u8> = waiting.iter().flat_map(|s| s.to_be_bytes()).collect();
        self.held.insert(key, list)?;
        self.group.borrow_mut().held_any = true;
        Ok(())
    }

    /// Takes the list of events waiting for `awaiting`.
    pub(super) fn take_waiting(&self, awaiting: &Awaiting) -> Result<Vec<u64>, TxError> {
        let key = awaiting_key(awaiting);
        match self.held.remove(key)? {
            None => Ok(Vec::new()),
            Some(list) => decode_waiting(&list).map_err(abort),
        }
    }

    /// A counter kept in `origin_names` (0 when absent).
    pub(super) fn count(&self, key: &[u8]) -> Result<u64, TxError> {
        match self.origin_names.get(key)? {
            None => Ok(0),
            Some(v) => decode_u64("origin_names", &v).map_err(abort),
        }
    }

    /// Changes a counter kept in `origin_names` by `delta` (never below 0).
    pub(super) fn add_to_count(&self, key: &[u8], delta: i64) -> Result<(), TxError> {
        let now = self.count(key)?.saturating_add_signed(delta);
        self.origin_names.insert(key, now.to_be_bytes())?;
        Ok(())
    }

    fn quota_allows(&self, origin: &NodeId, bytes: u64) -> Result<bool, TxError> {
        let used = match self.held.get(quota_key(origin))? {
            None => 0,
            Some(v) => decode_u64("held", &v).map_err(abort)?,
        };
        Ok(used.saturating_add(bytes) <= self.ctx.hold_quota)
    }

    /// Changes an origin's held directed bytes by `delta`.
    pub(super) fn adjust_quota(&self, origin: &NodeId, delta: i64) -> Result<(), TxError> {
        let key = quota_key(origin);
        let used = match self.held.get(key)? {
            None => 0,
            Some(v) => decode_u64("held", &v).map_err(abort)?,
        };
        let now = used.saturating_add_signed(delta);
        if now == 0 {
            self.held.remove(&key[..])?;
        } else {
            self.held.insert(&key[..], now.to_be_bytes())?;
        }
        Ok(())
    }

    /// The arrival number of a held event.
    pub(super) fn local_seq_of(&self, id: &EventId) -> Result<Option<u64>, TxError> {
        match self.event_ids.get(id.as_bytes())? {
            None => Ok(None),
            Some(v) => decode_u64("event_ids", &v).map(Some).map_err(abort),
        }
    }

    /// A held event's arrival number and record.
    pub(super) fn record(
        &self,
        id: &EventId,
    ) -> Result<Option<(u64, super::super::kv::Value)>, TxError> {
        let Some(seq) = self.local_seq_of(id)? else {
            return Ok(None);
        };
        Ok(self
            .events
            .get(seq.to_be_bytes())?
            .map(|record| (seq, record)))
    }

    pub(super) fn payload(&self, id: &EventId) -> Result<Option<EventPayload>, TxError> {
        let Some((_, record)) = self.record(id)? else {
            return Ok(None);
        };
        signed_in(&record)
            .and_then(|signed| payload_of(&signed))
            .map(Some)
            .map_err(abort)
    }

    pub(super) fn meta(&self, id: &EventId) -> Result<Option<EventMeta>, TxError> {
        let Some((seq, record)) = self.record(id)? else {
            return Ok(None);
        };
        meta_in(&record, seq).map(Some).map_err(abort)
    }

    /// Writes a new event's record.
    pub(super) fn put_new(
        &self,
        id: &EventId,
        meta: &EventMeta,
        signed: &[u8],
    ) -> Result<(), TxError> {
        self.events.insert(
            meta.local_seq.to_be_bytes(),
            encode_record(id, meta, signed),
        )?;
        Ok(())
    }

    /// Rewrites a held event's meta, keeping its signed bytes.
    pub(super) fn put_meta(&self, id: &EventId, meta: &EventMeta) -> Result<(), TxError> {
        let key = meta.local_seq.to_be_bytes();
        let Some(record) = self.events.get(key)? else {
            return Err(abort(corrupt(BadRecord)));
        };
        let parts = RecordParts::split(&record).map_err(|e| abort(corrupt(e)))?;
        self.events
            .insert(key, encode_record(id, meta, parts.signed))?;
        Ok(())
    }
}
