//! Carrying out a redaction: each slot the rules let through has its stored content
//! replaced by the origin's signed tombstone (relayed in its place from then on), as an
//! erasure does for one member's every slot. The words the search index holds for a
//! redacted version are kept aside until the indexer has taken them out
//! ([`stash_key`]): the index finds its postings by reading the version again.

use kindred_protocol::event::body::erasure::ErasedSlot;
use kindred_protocol::{EventId, EventKind, EventPayload, SignedEvent};

use super::super::events::{encode_record, meta_in, payload_of, signed_in};
use super::Change;
use super::tx::{Tx, TxError, abort};

/// The first byte of a stash key ([`stash_key`]).
pub(crate) const STASH_TAG: u8 = b'r';

/// Key in the `erasures` tree of a redacted version's former signed bytes, kept for the
/// search indexer: `r` ‖ the redaction's local seq ‖ the version's local seq (both u64 BE).
/// The indexer removes every stash whose redaction it has passed.
pub(crate) fn stash_key(redaction: u64, version: u64) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = STASH_TAG;
    key[1..9].copy_from_slice(&redaction.to_be_bytes());
    key[9..].copy_from_slice(&version.to_be_bytes());
    key
}

impl Tx<'_> {
    /// Carries out redaction `id` (local seq `local_seq`) of `p.author`'s `slots`.
    pub(super) fn redact(
        &self,
        id: EventId,
        p: &EventPayload,
        local_seq: u64,
        slots: &[ErasedSlot],
    ) -> Result<Change, TxError> {
        let mut done = 0;
        let mut replaced = 0u64;
        for slot in slots {
            let Some((seq, record)) = self.record(&slot.id)? else {
                continue;
            };
            let mut meta = meta_in(&record, seq).map_err(abort)?;
            if meta.kind == EventKind::Tombstone.code() {
                continue;
            }
            let signed = signed_in(&record).map_err(abort)?;
            let held = payload_of(&signed).map_err(abort)?;
            // The tombstone names the slot's number: it must be the event's own.
            if held.origin != p.origin || held.seq() != Some(slot.seq) {
                tracing::warn!(redaction = %id, event = %slot.id, "a redaction's slot does not match the event held there; left as it is");
                continue;
            }
            let tombstone = SignedEvent::tombstone_of(&p.origin, &p.author, slot);
            let former = signed.to_bytes();
            replaced += former.len() as u64;
            self.erasures
                .insert(&stash_key(local_seq, seq)[..], former)?;
            meta.kind = EventKind::Tombstone.code();
            meta.retracted_by.get_or_insert(id);
            self.events.insert(
                seq.to_be_bytes(),
                encode_record(&slot.id, &meta, &tombstone.to_bytes()),
            )?;
            done += 1;
        }
        if replaced > 0 {
            // Counted toward a compaction (see `erasures::REDACTED_KEY`).
            let key = super::super::erasures::REDACTED_KEY;
            let before = self
                .erasures
                .get(key)?
                .and_then(|v| <[u8; 8]>::try_from(&v[..]).ok())
                .map_or(0, u64::from_be_bytes);
            self.erasures
                .insert(key, (before + replaced).to_be_bytes())?;
        }
        tracing::info!(redaction = %id, slots = done, "taken-down content replaced by its tombstones");
        Ok(Change::None)
    }
}
