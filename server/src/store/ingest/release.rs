//! When an event is applied, what was waiting for it (for it as an event, for the
//! conversation it created or changed, for the name it bound) is decided again, in arrival
//! order, and so on for whatever those release in turn. This is what makes every node
//! converge whatever order events arrive in.

use std::collections::VecDeque;

use kindred_protocol::{EventBody, EventId, EventPayload};

use super::super::events::{RecordParts, corrupt, encode_record, meta_in, payload_of, signed_in};
use super::super::held::{REMOVED_END_KEY, gone_key};
use super::super::origin_log::decode_u64;
use super::Change;
use super::tx::{Tx, TxError, abort};
use crate::rules::{self, Awaiting, Decision, Effect, Refusal};

/// What an applied event may have been awaited as.
pub(super) fn targets(id: EventId, p: &EventPayload, effect: &Effect) -> Vec<Awaiting> {
    let mut out = vec![Awaiting::Event(id)];
    match (effect, &p.body) {
        (Effect::Conversation(_), EventBody::ConversationUpdate(u)) => {
            out.push(Awaiting::Conversation(u.conversation));
        }
        (Effect::Announce { bind: true, .. }, _) => {
            out.push(Awaiting::Name(p.author.node_name().to_owned()));
        }
        _ => {}
    }
    out
}

impl Tx<'_> {
    /// Keeps the highest arrival number whose record was removed, so the log's end as the
    /// acknowledged mark sees it never goes down (see `held::REMOVED_END_KEY`).
    fn note_removed(&self, seq: u64) -> Result<(), TxError> {
        let before = match self.held.get(REMOVED_END_KEY)? {
            None => 0,
            Some(v) => decode_u64("held", &v).map_err(abort)?,
        };
        if seq > before {
            self.held.insert(REMOVED_END_KEY, seq.to_be_bytes())?;
        }
        Ok(())
    }

    /// Decides again every event waiting for `first` (and for what those release);
    /// returns what members will see change.
    pub(super) fn release(
        &self,
        first: Vec<Awaiting>,
        local_seq: &mut u64,
    ) -> Result<Vec<Change>, TxError> {
        let mut changes = Vec::new();
        if !self.anything_held() {
            return Ok(changes);
        }
        let mut work: VecDeque<Awaiting> = first.into();
        while let Some(target) = work.pop_front() {
            for seq in self.take_waiting(&target)? {
                let released = self.decide_again(seq, local_seq)?;
                if let Some((change, more)) = released {
                    changes.push(change);
                    work.extend(more);
                }
            }
        }
        Ok(changes)
    }

    /// Decides a held event again. Applied: its effect is written (a directed event moves
    /// to the end of the arrival log, as if it arrived now, so followers of the log such as
    /// the mentoring processor see it); held again: listed under the new target; refused:
    /// a directed event is dropped, a shared one kept refused.
    fn decide_again(
        &self,
        seq: u64,
        local_seq: &mut u64,
    ) -> Result<Option<(Change, Vec<Awaiting>)>, TxError> {
        let Some(record) = self.events.get(seq.to_be_bytes())? else {
            return Ok(None);
        };
        let mut meta = meta_in(&record, seq).map_err(abort)?;
        if !meta.held {
            return Ok(None);
        }
        let parts = RecordParts::split(&record).map_err(|e| abort(corrupt(e)))?;
        let id = parts.id;
        let signed = parts.signed.to_vec();
        let p = signed_in(&record)
            .and_then(|s| payload_of(&s))
            .map_err(abort)?;
        let directed = p.seq().is_none();
        let size = signed.len() as i64;
        let decision = rules::decide(&self.rules_context(), id, &p, self)?;
        let erased = rules::View::erased(self, &p.author)?;
        let local_tombstone = || {
            kindred_protocol::SignedEvent::from_parts(
                kindred_protocol::EventPayload::tombstone_bytes(&p.origin, 0, &id, &p.author),
                [0; 64],
            )
            .to_bytes()
        };
        match decision {
            Decision::Hold(awaiting) => {
                self.hold(&awaiting, seq)?;
                Ok(None)
            }
            Decision::Refuse(Refusal::Erased(_)) if directed => {
                // As if it had arrived after the erasure: a local tombstone in its place.
                self.adjust_quota(&p.origin, -size)?;
                meta.held = false;
                meta.kind = kindred_protocol::EventKind::Tombstone.code();
                meta.retracted_by = Some(id);
                self.events.insert(
                    seq.to_be_bytes(),
                    encode_record(&id, &meta, &local_tombstone()),
                )?;
                Ok(Some((Change::None, vec![Awaiting::Event(id)])))
            }
            Decision::Refuse(reason) => {
                self.refused(id, &p, &reason)?;
                if directed {
                    self.adjust_quota(&p.origin, -size)?;
                    self.events.remove(seq.to_be_bytes())?;
                    self.note_removed(seq)?;
                    self.event_ids.remove(id.as_bytes())?;
                    self.held.insert(&gone_key(&id)[..], [])?;
                } else {
                    meta.held = false;
                    meta.quarantined = true;
                    self.put_meta(&id, &meta)?;
                }
                // What waited for it is decided again (and refused in turn).
                Ok(Some((Change::None, vec![Awaiting::Event(id)])))
            }
            Decision::Apply(effect) => {
                meta.held = false;
                if directed {
                    self.adjust_quota(&p.origin, -size)?;
                    self.events.remove(seq.to_be_bytes())?;
                    *local_seq += 1;
                    meta.local_seq = *local_seq;
                    meta.received_at = self.ctx.now;
                    meta.sort_ts = self.sort_time(&p);
                    self.event_ids
                        .insert(id.as_bytes(), local_seq.to_be_bytes())?;
                }
                let change = self.carry_out(id, &p, &effect, &mut meta)?;
                let signed = if erased && directed {
                    // An erased member's conversation update, applied for the others:
                    // kept without their words.
                    meta.kind = kindred_protocol::EventKind::Tombstone.code();
                    meta.retracted_by = Some(id);
                    local_tombstone()
                } else {
                    signed
                };
                self.put_new(&id, &meta, &signed)?;
                tracing::debug!(%id, origin = %p.origin, "held event applied: what it waited for arrived");
                Ok(Some((change, targets(id, &p, &effect))))
            }
        }
    }
}
