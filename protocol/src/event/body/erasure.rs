//! A member's erasure: their home node's signed statement that the member's account is
//! deleted and everything they wrote must be dropped, with a tombstone proof for each of
//! their events on its shared log. `docs/protocol.md` ("Erasure") says what a receiver
//! does with it.

use serde::{Deserialize, Serialize};

use super::{BodyCodec, read_event_id};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::event::EventId;

/// How many shared-log events one erasure event lists; a member with more is erased by
/// several erasure events (each 104 bytes a slot, so one stays under the body limit).
pub const MAX_ERASED_SLOTS: usize = 500;

/// One of the erased member's events on the origin's shared log, with the origin's
/// signature over its tombstone ([`crate::SignedEvent::tombstone`]), so any node can later
/// prove to another that the slot held an erased event without holding its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasedSlot {
    /// The event's number in its origin's log.
    pub seq: u64,
    /// The event's id.
    pub id: EventId,
    /// The origin's ed25519 signature over the tombstone bytes for this slot.
    #[serde(with = "signature_hex")]
    pub signature: [u8; 64],
}

/// A member's erasure. Authored as the erased member, so only their home node can sign
/// one. Every node drops the member's profile, the content of the listed shared-log events
/// and the directed events the member wrote, and refuses them from then on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// Shared-log events this erasure covers (at most [`MAX_ERASED_SLOTS`]).
    pub slots: Vec<ErasedSlot>,
}

/// The body of a tombstone: never encoded inside an event payload; a tombstone has its own
/// signed form ([`crate::SignedEvent::tombstone`]) and decodes to this body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The erased event.
    pub erased: EventId,
}

/// A redaction: the origin's tombstones for its own shared-log events that were taken
/// down (a retracted post or reply and each of its edits), so every node replaces their
/// content with the tombstone and relays the tombstone in their place. Published right
/// after the retraction it completes (nodes that do not know the kind keep and relay it,
/// and still take the entry down by the retraction). The term is Matrix's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// The slots whose content goes (at most [`MAX_ERASED_SLOTS`], ascending, no repeats).
    pub slots: Vec<ErasedSlot>,
}

impl BodyCodec for Erasure {
    fn encode(&self, w: &mut Writer) {
        encode_slots(w, &self.slots);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            slots: decode_slots(r)?,
        })
    }
}

impl BodyCodec for Redaction {
    fn encode(&self, w: &mut Writer) {
        encode_slots(w, &self.slots);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let slots = decode_slots(r)?;
        if slots.is_empty() {
            return Err(DecodeError::Inconsistent(
                "a redaction lists at least one slot",
            ));
        }
        Ok(Self { slots })
    }
}

fn encode_slots(w: &mut Writer, slots: &[ErasedSlot]) {
    w.count(slots.len());
    for slot in slots {
        w.u64(slot.seq);
        w.raw(slot.id.as_bytes());
        w.raw(&slot.signature);
    }
}

fn decode_slots(r: &mut Reader<'_>) -> Result<Vec<ErasedSlot>, DecodeError> {
    {
        let count = r.count("erasure.slots", MAX_ERASED_SLOTS)?;
        let mut slots = Vec::with_capacity(count);
        for _ in 0..count {
            let seq = r.u64("erasure.seq")?;
            if seq == 0 {
                return Err(DecodeError::Inconsistent(
                    "shared-log sequence numbers start at 1",
                ));
            }
            if slots
                .last()
                .is_some_and(|last: &ErasedSlot| last.seq >= seq)
            {
                return Err(DecodeError::Inconsistent(
                    "an erasure lists its slots in ascending order without repeats",
                ));
            }
            slots.push(ErasedSlot {
                seq,
                id: read_event_id(r, "erasure.id")?,
                signature: r.array("erasure.signature")?,
            });
        }
        Ok(slots)
    }
}

impl BodyCodec for Tombstone {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.erased.as_bytes());
    }

    fn decode(_: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Err(DecodeError::Inconsistent(
            "a tombstone is not an event kind; it travels in its own signed form",
        ))
    }
}

mod signature_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(sig: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        let text: String = sig.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| serde::de::Error::custom("signature is not hex"))?;
        <[u8; 64]>::try_from(bytes)
            .map_err(|_| serde::de::Error::custom("signature is not 64 bytes"))
    }
}
