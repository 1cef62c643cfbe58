//! Retention: chat messages and check-ins older than the node keeps them are replaced by
//! local tombstones (kind, id and times stay, so the log and counts stay whole; the words
//! go), as an erasure does. Run by the ingest actor, the one writer of the event log.

use kindred_protocol::{EventBody, EventId, EventKind, EventPayload, SignedEvent};

use super::events::{encode_record, meta_in, payload_of, signed_in};
use super::origin_log::decode_u64;
use super::{Store, StoreError};

/// What to expire: events of these kinds received before these times (ms); `None` keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Expiry {
    /// Chat messages received before this.
    pub(crate) messages_before: Option<u64>,
    /// Check-ins received before this, of matches that are closed.
    pub(crate) checkins_before: Option<u64>,
}

fn before_of(expiry: &Expiry) -> u64 {
    expiry.checkins_before.unwrap_or(0)
}

impl Store {
    /// Replaces the content of every event `expiry` covers with a local tombstone and
    /// returns how many. A check-in goes only once its match has closed.
    pub(crate) fn expire(&self, expiry: &Expiry) -> Result<u64, StoreError> {
        if expiry.messages_before.is_none() && expiry.checkins_before.is_none() {
            return Ok(0);
        }
        let t = self.writer();
        let mut expired = 0;
        let mut matches_to_clear = Vec::new();
        for item in t.events.iter() {
            let (k, record) = item?;
            let local = decode_u64("events", &k)?;
            let mut meta = meta_in(&record, local)?;
            let cutoff = if meta.kind == EventKind::ChatMessage.code() {
                expiry.messages_before
            } else if meta.kind == EventKind::CheckIn.code() {
                expiry.checkins_before
            } else {
                None
            };
            if cutoff.is_none_or(|before| meta.received_at >= before) {
                continue;
            }
            let signed = signed_in(&record)?;
            let p: EventPayload = payload_of(&signed)?;
            if let EventBody::CheckIn(c) = &p.body {
                let closed = self
                    .match_record(&c.proposal)?
                    .is_some_and(|m| m.closed_at.is_some());
                if !closed {
                    continue;
                }
                matches_to_clear.push((c.proposal, before_of(expiry)));
            }
            if let EventBody::ChatMessage(m) = &p.body
                && meta.retracted_by.is_some()
            {
                // Taken back before: it stays gone rather than coming back as "deleted".
                let key = super::chat::message_key(&m.conversation, meta.received_at, local);
                t.chat.remove(&key[..])?;
            }
            let id = signed.id();
            let tombstone = SignedEvent::from_parts(
                EventPayload::tombstone_bytes(&p.origin, 0, &id, &p.author),
                [0; 64],
            )
            .to_bytes();
            meta.kind = EventKind::Tombstone.code();
            meta.retracted_by.get_or_insert(id);
            t.events.insert(k, encode_record(&id, &meta, &tombstone))?;
            expired += 1;
        }
        drop(t);
        matches_to_clear.sort();
        matches_to_clear.dedup();
        for (id, before) in matches_to_clear {
            self.clear_checkins(&id, before)?;
        }
        if expired > 0 {
            self.writer()
                .erasures
                .insert(super::erasures::COMPACT_KEY, [])?;
        }
        Ok(expired)
    }

    /// Drops a closed match's check-ins written before `before` (ms); later ones stay.
    fn clear_checkins(&self, id: &EventId, before: u64) -> Result<(), StoreError> {
        self.update_match(id, |m| {
            m.checkins.retain(|c| c.at >= before);
            Ok::<_, StoreError>(())
        })?;
        Ok(())
    }
}
