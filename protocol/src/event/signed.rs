//! Signed events: payload bytes plus the origin's ed25519 signature over exactly those bytes.
//! Receivers verify the bytes they received and only then parse them; nodes store and
//! relay the bytes unchanged.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};

use super::EventId;
use super::kind::EventBody;
use super::payload::{
    EVENT_FORMAT_VERSION, EVENT_MAGIC, EventPayload, ORIGIN_RANGE, TOMBSTONE_MAGIC,
};
use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, SignError, VerifyError};
use crate::identity::MemberId;
use crate::identity::{NodeId, NodeKeypair};
use crate::limits::MAX_EVENT_PAYLOAD_BYTES;

/// An event as it travels and is stored: payload bytes and a signature, not yet trusted.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedEvent {
    /// The canonical payload bytes exactly as signed.
    payload: Vec<u8>,
    /// ed25519 signature by the origin node over `payload`.
    signature: [u8; 64],
}

impl SignedEvent {
    /// Encodes and signs a payload with the origin's key.
    pub fn sign(payload: &EventPayload, keypair: &NodeKeypair) -> Result<Self, SignError> {
        if payload.origin != keypair.node_id() {
            return Err(SignError::WrongKey);
        }
        let bytes = payload.to_bytes().map_err(SignError::Invalid)?;
        let signature = keypair.sign(&bytes);
        Ok(Self {
            payload: bytes,
            signature,
        })
    }

    /// Reassembles an event from its parts, e.g. from storage or a test vector.
    pub fn from_parts(payload: Vec<u8>, signature: [u8; 64]) -> Self {
        Self { payload, signature }
    }

    /// The signed payload bytes.
    pub fn payload_bytes(&self) -> &[u8] {
        &self.payload
    }

    /// The 64-byte signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// The event id (SHA-256 of the payload bytes); for a tombstone, the id of the event it
    /// stands for.
    pub fn id(&self) -> EventId {
        match self.tombstoned_id() {
            Some(id) => id,
            None => EventId::of_payload(&self.payload),
        }
    }

    /// Whether these are a tombstone's bytes rather than an event's.
    pub fn is_tombstone(&self) -> bool {
        self.payload.get(..4) == Some(&TOMBSTONE_MAGIC[..])
    }

    fn tombstoned_id(&self) -> Option<EventId> {
        if !self.is_tombstone() {
            return None;
        }
        let start = ORIGIN_RANGE.end + 8;
        let bytes = self.payload.get(start..start + 32)?;
        <[u8; 32]>::try_from(bytes).ok().map(EventId::from_bytes)
    }

    /// The tombstone for the erased event `id` (number `seq` of this node's log, written by
    /// `author`), signed by this node: what every node holds and relays in its place.
    pub fn tombstone(keypair: &NodeKeypair, seq: u64, id: &EventId, author: &MemberId) -> Self {
        let bytes = EventPayload::tombstone_bytes(&keypair.node_id(), seq, id, author);
        let signature = keypair.sign(&bytes);
        Self {
            payload: bytes,
            signature,
        }
    }

    /// The tombstone `origin` signed for one slot of an erasure by `author`. Not verified:
    /// [`SignedEvent::verify`] checks it like any event.
    pub fn tombstone_of(
        origin: &NodeId,
        author: &MemberId,
        slot: &crate::event::body::erasure::ErasedSlot,
    ) -> Self {
        Self {
            payload: EventPayload::tombstone_bytes(origin, slot.seq, &slot.id, author),
            signature: slot.signature,
        }
    }

    /// The origin node named in the payload, read from its fixed position without parsing
    /// the rest, so the signature can be checked first.
    pub fn origin(&self) -> Result<NodeId, DecodeError> {
        let head = self
            .payload
            .get(..ORIGIN_RANGE.end)
            .ok_or(DecodeError::Truncated { field: "origin" })?;
        if head[..4] != EVENT_MAGIC && head[..4] != TOMBSTONE_MAGIC {
            return Err(DecodeError::BadMagic);
        }
        if head[4] != EVENT_FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion(head[4]));
        }
        let mut origin = [0u8; 32];
        origin.copy_from_slice(&head[ORIGIN_RANGE]);
        Ok(NodeId::from_bytes(origin))
    }

    /// Verifies the signature (strict: weak keys and malleable signatures are refused),
    /// then parses the payload.
    pub fn verify(self) -> Result<VerifiedEvent, VerifyError> {
        let key = self.origin()?.verifying_key()?;
        self.verify_with(&key)
    }

    /// As [`SignedEvent::verify`], with the origin's key already decoded and checked for
    /// weakness (nodes cache keys per origin). The key must be the payload's origin.
    pub fn verify_with(self, key: &VerifyingKey) -> Result<VerifiedEvent, VerifyError> {
        if self.origin()?.as_bytes() != key.as_bytes() {
            return Err(VerifyError::BadSignature);
        }
        key.verify_strict(&self.payload, &Signature::from_bytes(&self.signature))
            .map_err(|_| VerifyError::BadSignature)?;
        self.into_verified()
    }

    /// Parses a payload whose signature has been checked.
    pub(crate) fn into_verified(self) -> Result<VerifiedEvent, VerifyError> {
        let payload = self.parse()?;
        if self.is_tombstone() && payload.seq().is_none() {
            return Err(VerifyError::Decode(DecodeError::Inconsistent(
                "only a shared-log slot has a tombstone that travels",
            )));
        }
        // An erasure or redaction is only as good as the tombstones it hands out: each must
        // be its origin's, or a node relaying one would be refused by its peers.
        let slots = match &payload.body {
            EventBody::Erasure(e) => Some(&e.slots),
            EventBody::Redaction(r) => Some(&r.slots),
            _ => None,
        };
        if let Some(slots) = slots {
            let key = payload.origin.verifying_key()?;
            super::batch::verify_tombstones(&key, &payload.origin, &payload.author, slots)?;
        }
        Ok(VerifiedEvent {
            id: self.id(),
            signed: self,
            payload,
        })
    }

    /// Parses the payload without checking the signature (bytes read back from this node's
    /// own storage, checked when they arrived). A tombstone parses to the payload it stands
    /// for ([`EventPayload::from_tombstone_bytes`]).
    pub fn parse(&self) -> Result<EventPayload, DecodeError> {
        if self.is_tombstone() {
            return EventPayload::from_tombstone_bytes(&self.payload).map(|(_, p)| p);
        }
        EventPayload::from_bytes(&self.payload)
    }

    /// The storage and wire form: payload length (u32), payload, signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.encoded_len());
        self.encode(&mut w);
        w.into_bytes()
    }

    /// Reads the storage and wire form. Does not verify.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let event = Self::decode(&mut r)?;
        r.finish("signed event")?;
        Ok(event)
    }

    /// Length of [`SignedEvent::to_bytes`], for packing batches under the frame limit.
    pub fn encoded_len(&self) -> usize {
        4 + self.payload.len() + 64
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.bytes(&self.payload);
        w.raw(&self.signature);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let payload = r.bytes("event payload", MAX_EVENT_PAYLOAD_BYTES)?.to_vec();
        let signature = r.array("event signature")?;
        Ok(Self { payload, signature })
    }
}

impl fmt::Debug for SignedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedEvent")
            .field("id", &self.id())
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// An event whose signature has been verified and whose payload has been parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    /// SHA-256 of the payload bytes.
    id: EventId,
    /// The bytes as received, kept for storage and relaying.
    signed: SignedEvent,
    /// The parsed payload.
    payload: EventPayload,
}

impl VerifiedEvent {
    /// Signs a payload as its origin and returns it as verified: we made the signature, so
    /// checking it again would only cost time. The payload is still validated.
    pub fn sign(payload: EventPayload, keypair: &NodeKeypair) -> Result<Self, SignError> {
        let signed = SignedEvent::sign(&payload, keypair)?;
        Ok(Self {
            id: signed.id(),
            signed,
            payload,
        })
    }

    /// The event id.
    pub fn id(&self) -> EventId {
        self.id
    }

    /// The parsed payload.
    pub fn payload(&self) -> &EventPayload {
        &self.payload
    }

    /// The signed bytes, to store or relay unchanged.
    pub fn signed(&self) -> &SignedEvent {
        &self.signed
    }

    /// Splits into the signed bytes and the parsed payload.
    pub fn into_parts(self) -> (SignedEvent, EventPayload) {
        (self.signed, self.payload)
    }
}
