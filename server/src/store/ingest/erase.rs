//! Carrying out an erasure: the member's profile goes, each listed shared-log event is
//! taken down and its record's content replaced by its signed tombstone, every directed
//! event they wrote held here is replaced by a local tombstone (a conversation shows
//! "message deleted" in its place), and what this node still had to send of theirs is
//! dropped from the outbox.

use kindred_protocol::event::body::erasure::Erasure;
use kindred_protocol::{EventBody, EventId, EventKind, EventPayload, MemberId, SignedEvent};

use super::super::chat::{marker_key, message_key};
use super::super::erasures::{COMPACT_KEY, ErasureRecord, member_key, slot_key};
use super::super::events::EventMeta;
use super::super::events::encode_record;
use super::super::federation::{listed_count_key, profile_count_key};
use super::super::profiles::ProfileRecord;
use super::super::reactions::reaction_key;
use super::super::{from_json, to_json};
use super::tx::{Tx, TxError, abort};
use super::{Change, IngestOutcome};

/// What an erasure must reach beyond the slots it lists, found before the transaction
/// (sled cannot scan inside one).
#[derive(Debug, Default)]
pub(crate) struct Authored {
    /// Every event by the member held here that is not a tombstone yet.
    pub(crate) events: Vec<EventId>,
    /// Outbox entries for the member's directed events not yet delivered.
    pub(crate) outbox: Vec<crate::store::kv::Value>,
    /// Group conversations they are in.
    pub(crate) groups: Vec<kindred_protocol::event::ConversationId>,
}

impl Tx<'_> {
    /// Carries out the erasure `id` of `p.author`.
    pub(super) fn erase(
        &self,
        id: EventId,
        p: &EventPayload,
        erasure: &Erasure,
    ) -> Result<Change, TxError> {
        let member = &p.author;
        let key = member_key(member);
        let mut record = match self.erasures.get(&key)? {
            Some(v) => from_json("erasures", &v).map_err(abort)?,
            None => ErasureRecord {
                erased_at: self.ctx.now,
                parts: 0,
            },
        };
        record.parts = record.parts.saturating_add(1);
        self.erasures
            .insert(key, to_json("erasures", &record).map_err(abort)?)?;
        // The content may linger in the database files' free space until they are rewritten.
        self.erasures.insert(COMPACT_KEY, [])?;
        for slot in &erasure.slots {
            let tombstone = SignedEvent::tombstone_of(&p.origin, member, slot).to_bytes();
            self.erasures
                .insert(&slot_key(&p.origin, slot.seq)[..], tombstone.clone())?;
            self.scrub(slot.id, member, Some((slot.seq, &tombstone)), id)?;
        }
        if let Some(authored) = self.erasing.get(member) {
            for event in &authored.events {
                self.scrub(*event, member, None, id)?;
            }
            for key in &authored.outbox {
                self.outbox.remove(key)?;
            }
            for c in &authored.groups {
                self.leave_group(c)?;
            }
        }
        self.drop_profile(member)?;
        tracing::info!(%member, erasure = %id, slots = erasure.slots.len(), "member erased: their content is dropped here");
        Ok(Change::Erased(member.clone()))
    }

    /// Replaces the content of `event` by `member` with a tombstone: the signed one for a
    /// shared-log slot (`slot`: its number and tombstone bytes), a local one for a
    /// directed event. A shared-log event no slot names is left for the erasure part that
    /// lists it.
    fn scrub(
        &self,
        event: EventId,
        member: &MemberId,
        slot: Option<(u64, &[u8])>,
        erasure: EventId,
    ) -> Result<(), TxError> {
        let Some(mut meta) = self.meta(&event)? else {
            return Ok(());
        };
        if meta.kind == EventKind::Tombstone.code() || meta.kind == EventKind::Erasure.code() {
            // An erasure is never itself erased: nodes that are behind must still get it.
            return Ok(());
        }
        let Some(p) = self.payload(&event)? else {
            return Ok(());
        };
        if meta.held && matches!(p.body, EventBody::ConversationUpdate(_)) {
            // Still to shape the group when what it waits for comes; its words are
            // dropped then (`release.rs`).
            return Ok(());
        }
        // The slot's tombstone names the author; an origin cannot erase one member's
        // events under another's erasure.
        if p.author != *member || p.seq() != slot.map(|(seq, _)| seq) {
            return Ok(());
        }
        match &p.body {
            EventBody::Post(_) | EventBody::Reply(_)
                if meta.original.is_none()
                    && meta.retracted_by.is_none()
                    && !meta.held
                    && !meta.quarantined =>
            {
                let change = self.retract(erasure, event)?;
                self.group.borrow_mut().erased.push(change);
                if let Some(now) = self.meta(&event)? {
                    meta = now;
                }
            }
            // Pages open on it are told at once.
            EventBody::ChatMessage(m)
                if meta.retracted_by.is_none()
                    && meta.original.is_none()
                    && p.refs.replaces.is_none()
                    && p.refs.retracts.is_none() =>
            {
                self.group
                    .borrow_mut()
                    .erased
                    .push(Change::MessageRetracted(m.conversation, event));
            }
            EventBody::Reaction(r) => self.drop_reaction(&r.target, &r.reaction, member, event)?,
            EventBody::ChatReaction(r) => {
                self.drop_reaction(&r.target, &r.reaction, member, event)?
            }
            EventBody::ReadMarker(m) => {
                self.chat.remove(marker_key(&m.conversation, member))?;
            }
            // Taken back before: it stays gone rather than coming back as "deleted".
            EventBody::ChatMessage(m) if meta.retracted_by.is_some() => {
                let key = message_key(&m.conversation, meta.received_at, meta.local_seq);
                self.chat.remove(&key[..])?;
            }
            _ => {}
        }
        let bytes = match slot {
            Some((_, tombstone)) => tombstone.to_vec(),
            // Never relayed (directed events are not), so it needs no signature.
            None => SignedEvent::from_parts(
                EventPayload::tombstone_bytes(&p.origin, 0, &event, member),
                [0; 64],
            )
            .to_bytes(),
        };
        if meta.held {
            // Final now: nothing it waited for can change what it is. What waits for it
            // is decided again after the erasure (`tx.rs`).
            meta.held = false;
            if slot.is_none() {
                let size = self
                    .events
                    .get(meta.local_seq.to_be_bytes())?
                    .map_or(0, |r| r.len());
                self.adjust_quota(&p.origin, -(size as i64))?;
            }
        }
        meta.kind = EventKind::Tombstone.code();
        meta.retracted_by.get_or_insert(erasure);
        self.events.insert(
            meta.local_seq.to_be_bytes(),
            encode_record(&event, &meta, &bytes),
        )?;
        Ok(())
    }

    /// Writes a group as it now stands without the erased member (reads work it out
    /// anyway; this keeps the stored record in step).
    fn leave_group(&self, c: &kindred_protocol::event::ConversationId) -> Result<(), TxError> {
        match self.conversation_record(c)? {
            Some(record) => self.put_conversation(c, &record),
            None => Ok(()),
        }
    }

    /// A directed event by an erased member that arrives after the erasure: stored as the
    /// local tombstone the erasure leaves in place of one that came before (a chat
    /// message's place shows "Message deleted"), and what waited for it decided again.
    pub(super) fn erased_directed(
        &self,
        id: EventId,
        p: &EventPayload,
        local_seq: &mut u64,
    ) -> Result<IngestOutcome, TxError> {
        *local_seq += 1;
        self.event_ids
            .insert(id.as_bytes(), local_seq.to_be_bytes())?;
        let meta = EventMeta {
            local_seq: *local_seq,
            received_at: self.ctx.now,
            sort_ts: self.sort_time(p),
            kind: EventKind::Tombstone.code(),
            retracted_by: Some(id),
            ..EventMeta::default()
        };
        if let EventBody::ChatMessage(m) = &p.body
            && p.refs.replaces.is_none()
            && p.refs.retracts.is_none()
        {
            let key = message_key(&m.conversation, meta.received_at, meta.local_seq);
            self.chat.insert(&key[..], id.as_bytes())?;
        }
        let bytes = SignedEvent::from_parts(
            EventPayload::tombstone_bytes(&p.origin, 0, &id, &p.author),
            [0; 64],
        )
        .to_bytes();
        self.put_new(&id, &meta, &bytes)?;
        tracing::info!(%id, author = %p.author, "an erased member's message arrived after the erasure: kept as a tombstone");
        let changes = self.release(vec![crate::rules::Awaiting::Event(id)], local_seq)?;
        Ok(IngestOutcome::Stored {
            id,
            local_seq: meta.local_seq,
            verdict: super::Verdict::Refused(crate::rules::Refusal::Erased(p.author.clone())),
            changes,
        })
    }

    /// Removes the member's reaction if `event` is the one it holds.
    fn drop_reaction(
        &self,
        target: &EventId,
        reaction: &str,
        member: &MemberId,
        event: EventId,
    ) -> Result<(), TxError> {
        let original = self
            .meta(target)?
            .and_then(|m| m.original)
            .unwrap_or(*target);
        for target in [*target, original] {
            let key = reaction_key(&target, reaction, member.as_str());
            if let Some(v) = self.reactions.get(&key)?
                && super::super::reactions::decode_reaction(&v)
                    .is_some_and(|((_, held), _)| held == event)
            {
                self.reactions.remove(key)?;
            }
        }
        Ok(())
    }

    /// Removes the member's profile, and its place in its node's share here.
    fn drop_profile(&self, member: &MemberId) -> Result<(), TxError> {
        let Some(v) = self.profiles.remove(member.as_str().as_bytes())? else {
            return Ok(());
        };
        let held: ProfileRecord = from_json("profiles", &v).map_err(abort)?;
        let Some(origin) = self.bound_origin(member)? else {
            return Ok(());
        };
        if origin != self.ctx.self_id {
            self.add_to_count(&profile_count_key(&origin), -1)?;
            if held.listed {
                self.add_to_count(&listed_count_key(&origin), -1)?;
            }
        }
        Ok(())
    }

    /// The node a member's name is bound to.
    fn bound_origin(&self, member: &MemberId) -> Result<Option<kindred_protocol::NodeId>, TxError> {
        use crate::rules::View;
        Ok(self.bound_node(member.node_name())?.map(|(node, _)| node))
    }
}
