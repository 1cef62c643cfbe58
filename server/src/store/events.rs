//! The event log, in this node's arrival order.
//!
//! - `events`: local seq (u64 BE) → `id (32) ‖ meta length (u16 BE) ‖ meta ‖ signed bytes`,
//!   the signed bytes exactly as received and [`EventMeta`] in a compact binary form.
//! - `event_ids`: event id (32) → local seq (u64 BE).
//!
//! Events are keyed by arrival so that storing one appends to the end of the tree; only
//! the small id entry lands at a random place. sled copies a leaf for every change, so
//! large values at random keys cost several times more than appends (measured in
//! `docs/benchmarks.md`).

use kindred_protocol::{EventId, EventPayload, SignedEvent};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::origin_log::decode_u64;
use super::{Store, StoreError};

/// What this node knows about an event beyond its signed bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EventMeta {
    /// Position in this node's arrival order (the `events` key).
    pub(crate) local_seq: u64,
    /// When this node stored it (ms).
    pub(crate) received_at: u64,
    /// The origin's time, capped at `received_at` so nobody can pin a post to the top.
    pub(crate) sort_ts: u64,
    /// The event's kind code.
    pub(crate) kind: u16,
    /// Topic key (lower-cased name) for posts, and for replies whose thread is known.
    pub(crate) topic: Option<String>,
    /// For replies: the thread's post.
    pub(crate) thread_root: Option<EventId>,
    /// For edits: the original post or reply this is a version of.
    pub(crate) original: Option<EventId>,
    /// For originals: the newest edit, whose content is shown.
    pub(crate) latest: Option<EventId>,
    /// Set when retracted: the retraction's id.
    pub(crate) retracted_by: Option<EventId>,
    /// For posts: visible replies in the thread.
    pub(crate) reply_count: u64,
    /// For originals: when last edited (ms, origin time).
    pub(crate) edited_at: Option<u64>,
    /// The rules refused it (for instance someone writing as another node's member): kept
    /// for relaying and to keep its origin's log whole, never shown or applied.
    #[serde(default)]
    pub(crate) quarantined: bool,
    /// Waiting for something it refers to (the rules held it): stored, but not applied or
    /// shown until that arrives (`held` tree).
    #[serde(default)]
    pub(crate) held: bool,
}

/// A stored event record that cannot be read.
#[derive(Debug, Error)]
#[error("event record is truncated or malformed")]
pub(crate) struct BadRecord;

/// The version byte leading the binary meta, so its layout can change later.
const META_V1: u8 = 1;

const HAS_TOPIC: u8 = 1;
const HAS_THREAD_ROOT: u8 = 1 << 1;
const HAS_ORIGINAL: u8 = 1 << 2;
const HAS_LATEST: u8 = 1 << 3;
const HAS_RETRACTED_BY: u8 = 1 << 4;
const HAS_EDITED_AT: u8 = 1 << 5;
const QUARANTINED: u8 = 1 << 6;
const HELD: u8 = 1 << 7;

impl EventMeta {
    /// The binary form (without `local_seq`, which is the record's key).
    fn encode_into(&self, out: &mut Vec<u8>) {
        let ids = [
            (HAS_THREAD_ROOT, &self.thread_root),
            (HAS_ORIGINAL, &self.original),
            (HAS_LATEST, &self.latest),
            (HAS_RETRACTED_BY, &self.retracted_by),
        ];
        let mut flags = 0;
        if self.topic.is_some() {
            flags |= HAS_TOPIC;
        }
        for (flag, id) in ids {
            if id.is_some() {
                flags |= flag;
            }
        }
        if self.edited_at.is_some() {
            flags |= HAS_EDITED_AT;
        }
        if self.quarantined {
            flags |= QUARANTINED;
        }
        if self.held {
            flags |= HELD;
        }
        out.extend_from_slice(&[META_V1, flags]);
        out.extend_from_slice(&self.received_at.to_be_bytes());
        out.extend_from_slice(&self.sort_ts.to_be_bytes());
        out.extend_from_slice(&self.kind.to_be_bytes());
        out.extend_from_slice(&self.reply_count.to_be_bytes());
        if let Some(topic) = &self.topic {
            // Topic keys are protocol-limited far below 64 KiB; cut rather than fail.
            let bytes = &topic.as_bytes()[..topic.len().min(u16::MAX as usize)];
            out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        for id in ids.iter().filter_map(|(_, id)| id.as_ref()) {
            out.extend_from_slice(id.as_bytes());
        }
        if let Some(at) = self.edited_at {
            out.extend_from_slice(&at.to_be_bytes());
        }
    }

    /// Reads the binary form; `local_seq` comes from the record's key.
    fn decode(bytes: &[u8], local_seq: u64) -> Result<Self, BadRecord> {
        let mut r = Reader(bytes);
        if r.take::<1>()? != [META_V1] {
            return Err(BadRecord);
        }
        let [flags] = r.take::<1>()?;
        let mut meta = EventMeta {
            local_seq,
            received_at: r.u64()?,
            sort_ts: r.u64()?,
            kind: u16::from_be_bytes(r.take()?),
            reply_count: r.u64()?,
            quarantined: flags & QUARANTINED != 0,
            held: flags & HELD != 0,
            ..EventMeta::default()
        };
        if flags & HAS_TOPIC != 0 {
            let len = u16::from_be_bytes(r.take()?) as usize;
            let text = r.slice(len)?;
            meta.topic = Some(String::from_utf8(text.to_vec()).map_err(|_| BadRecord)?);
        }
        for (flag, field) in [
            (HAS_THREAD_ROOT, &mut meta.thread_root),
            (HAS_ORIGINAL, &mut meta.original),
            (HAS_LATEST, &mut meta.latest),
            (HAS_RETRACTED_BY, &mut meta.retracted_by),
        ] {
            if flags & flag != 0 {
                *field = Some(EventId::from_bytes(r.take()?));
            }
        }
        if flags & HAS_EDITED_AT != 0 {
            meta.edited_at = Some(r.u64()?);
        }
        Ok(meta)
    }
}

/// Reads fixed-size fields from the front of a byte slice.
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn slice(&mut self, len: usize) -> Result<&'a [u8], BadRecord> {
        if self.0.len() < len {
            return Err(BadRecord);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    pub(super) fn take<const N: usize>(&mut self) -> Result<[u8; N], BadRecord> {
        self.slice(N)?.try_into().map_err(|_| BadRecord)
    }

    pub(super) fn u64(&mut self) -> Result<u64, BadRecord> {
        self.take().map(u64::from_be_bytes)
    }

    /// An unsigned LEB128 varint (7 bits a byte, low bits first), at most 10 bytes.
    pub(super) fn varint(&mut self) -> Result<u64, BadRecord> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let [byte] = self.take::<1>()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BadRecord)
    }

    /// Whether everything has been read.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Appends `value` as an unsigned LEB128 varint (read back by [`Reader::varint`]).
pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// One `events` value: `id ‖ meta length ‖ meta ‖ signed bytes`.
pub(crate) fn encode_record(id: &EventId, meta: &EventMeta, signed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + 2 + 96 + signed.len());
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(&[0, 0]);
    meta.encode_into(&mut out);
    let meta_len = (out.len() - 34) as u16;
    out[32..34].copy_from_slice(&meta_len.to_be_bytes());
    out.extend_from_slice(signed);
    out
}

/// The parts of an `events` value, borrowed.
pub(crate) struct RecordParts<'a> {
    /// The event's id.
    pub(crate) id: EventId,
    /// The encoded meta.
    meta: &'a [u8],
    /// The signed bytes, as received.
    pub(crate) signed: &'a [u8],
}

impl<'a> RecordParts<'a> {
    /// Splits a record without decoding its meta.
    pub(crate) fn split(record: &'a [u8]) -> Result<Self, BadRecord> {
        let mut r = Reader(record);
        let id = EventId::from_bytes(r.take()?);
        let len = u16::from_be_bytes(r.take()?) as usize;
        let meta = r.slice(len)?;
        Ok(Self {
            id,
            meta,
            signed: r.0,
        })
    }

    /// Decodes the meta.
    pub(crate) fn meta(&self, local_seq: u64) -> Result<EventMeta, BadRecord> {
        EventMeta::decode(self.meta, local_seq)
    }
}

pub(crate) fn corrupt(e: BadRecord) -> StoreError {
    StoreError::corrupt("events", e)
}

/// The parsed payload of a held event (verified when it arrived, so a failure means
/// damage). A tombstone reads as the payload it stands for, with a tombstone body.
pub(crate) fn payload_of(event: &SignedEvent) -> Result<EventPayload, StoreError> {
    event.parse().map_err(|e| StoreError::corrupt("events", e))
}

/// Decodes signed bytes read from the log.
pub(crate) fn signed_event(bytes: &[u8]) -> Result<SignedEvent, StoreError> {
    SignedEvent::from_bytes(bytes).map_err(|e| StoreError::corrupt("events", e))
}

/// The signed event inside an `events` record.
pub(crate) fn signed_in(record: &[u8]) -> Result<SignedEvent, StoreError> {
    let parts = RecordParts::split(record).map_err(corrupt)?;
    signed_event(parts.signed)
}

/// The meta inside an `events` record stored at arrival number `local_seq`.
pub(crate) fn meta_in(record: &[u8], local_seq: u64) -> Result<EventMeta, StoreError> {
    RecordParts::split(record)
        .and_then(|parts| parts.meta(local_seq))
        .map_err(corrupt)
}

/// An event as stored: its arrival number, id, meta and signed form.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    /// Its place in this node's arrival order.
    pub(crate) local_seq: u64,
    /// The event's id.
    pub(crate) id: EventId,
    /// This node's derived state for it.
    pub(crate) meta: EventMeta,
    /// The signed event, as received.
    pub(crate) event: SignedEvent,
}

impl StoredEvent {
    fn decode(local_seq: u64, record: &[u8]) -> Result<Self, StoreError> {
        let parts = RecordParts::split(record).map_err(corrupt)?;
        Ok(Self {
            local_seq,
            id: parts.id,
            meta: parts.meta(local_seq).map_err(corrupt)?,
            event: signed_event(parts.signed)?,
        })
    }
}

impl Store {
    /// The arrival number of an event, if held.
    pub(crate) fn local_seq_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        match self.trees().event_ids.get(id.as_bytes())? {
            None => Ok(None),
            Some(v) => decode_u64("event_ids", &v).map(Some),
        }
    }

    /// The id of the event stored with arrival number `local_seq` (without decoding it).
    pub(crate) fn id_at(&self, local_seq: u64) -> Result<Option<EventId>, StoreError> {
        match self.trees().events.get(local_seq.to_be_bytes())? {
            None => Ok(None),
            Some(record) => RecordParts::split(&record)
                .map(|parts| Some(parts.id))
                .map_err(corrupt),
        }
    }

    /// The event stored with arrival number `local_seq`.
    pub(crate) fn stored_at(&self, local_seq: u64) -> Result<Option<StoredEvent>, StoreError> {
        match self.trees().events.get(local_seq.to_be_bytes())? {
            None => Ok(None),
            Some(record) => StoredEvent::decode(local_seq, &record).map(Some),
        }
    }

    /// An event with its meta, by id.
    pub(crate) fn stored(&self, id: &EventId) -> Result<Option<StoredEvent>, StoreError> {
        match self.local_seq_of(id)? {
            None => Ok(None),
            Some(seq) => self.stored_at(seq),
        }
    }

    /// An event's arrival number and stored record, by id.
    fn record(&self, id: &EventId) -> Result<Option<(u64, super::kv::Value)>, StoreError> {
        let Some(seq) = self.local_seq_of(id)? else {
            return Ok(None);
        };
        Ok(self
            .trees()
            .events
            .get(seq.to_be_bytes())?
            .map(|record| (seq, record)))
    }

    /// Up to `limit` stored event ids whose hex form starts with `prefix` (lower-case
    /// hex, at least 2 characters), in id order: what a short id such as `3fa9c2e1` may
    /// stand for. Ids come from the `event_ids` index, so this reads only the matches.
    pub(crate) fn ids_starting_with(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        // Whole bytes narrow the scan; an odd last digit is checked on each match.
        let bytes: Vec<u8> = (0..prefix.len() / 2)
            .filter_map(|i| u8::from_str_radix(prefix.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        let mut out = Vec::new();
        for item in self.trees().event_ids.scan_prefix(&bytes) {
            let (k, _) = item?;
            let Ok(raw) = <[u8; 32]>::try_from(k.as_ref()) else {
                continue;
            };
            let id = EventId::from_bytes(raw);
            if id.to_hex().starts_with(prefix) {
                out.push(id);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The signed bytes of an event.
    pub(crate) fn event(&self, id: &EventId) -> Result<Option<SignedEvent>, StoreError> {
        match self.record(id)? {
            None => Ok(None),
            Some((_, record)) => signed_in(&record).map(Some),
        }
    }

    /// This node's derived state for an event.
    pub(crate) fn event_meta(&self, id: &EventId) -> Result<Option<EventMeta>, StoreError> {
        match self.record(id)? {
            None => Ok(None),
            Some((seq, record)) => meta_in(&record, seq).map(Some),
        }
    }

    /// The shared-log slots (number, id) of an entry and of every edit of it by `author`
    /// from `origin`: what a redaction of the entry lists. Edits arrive after their
    /// original and up to its newest edit, so only that stretch of the log is read.
    pub(crate) fn versions_in_slots(
        &self,
        original: &EventId,
        origin: &kindred_protocol::NodeId,
        author: &kindred_protocol::MemberId,
    ) -> Result<Vec<(u64, EventId)>, StoreError> {
        let Some(from) = self.local_seq_of(original)? else {
            return Ok(Vec::new());
        };
        // Edits lie between the original and its newest edit in arrival order: most
        // entries have none, and the read stops at the newest.
        let until = match self.event_meta(original)?.and_then(|m| m.latest) {
            Some(latest) => self.local_seq_of(&latest)?.unwrap_or(from),
            None => from,
        };
        let mut out = Vec::new();
        for item in self
            .trees()
            .events
            .range(from.to_be_bytes()..=until.max(from).to_be_bytes())
        {
            let (k, record) = item?;
            let local = decode_u64("events", &k)?;
            let meta = meta_in(&record, local)?;
            if local != from && meta.original != Some(*original) {
                continue;
            }
            if meta.kind == kindred_protocol::EventKind::Tombstone.code() {
                continue;
            }
            let signed = signed_in(&record)?;
            let p = payload_of(&signed)?;
            if p.origin == *origin
                && p.author == *author
                && let Some(seq) = p.seq()
            {
                out.push((seq, signed.id()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Events in arrival order after `after`, at most `limit`.
    pub(crate) fn stored_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .trees()
            .events
            .range((after.saturating_add(1)).to_be_bytes()..)
            .take(limit)
        {
            let (k, v) = item?;
            out.push(StoredEvent::decode(decode_u64("events", &k)?, &v)?);
        }
        Ok(out)
    }

    /// The last local sequence number used (0 when empty).
    pub(crate) fn last_local_seq(&self) -> Result<u64, StoreError> {
        match self.trees().events.last()? {
            None => Ok(0),
            Some((k, _)) => decode_u64("events", &k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(b: u8) -> EventId {
        EventId::from_bytes([b; 32])
    }

    fn opt_id() -> impl Strategy<Value = Option<EventId>> {
        proptest::option::of(any::<u8>().prop_map(id))
    }

    proptest! {
        #[test]
        fn meta_survives_the_binary_form(
            local_seq in any::<u64>(),
            received_at in any::<u64>(),
            sort_ts in any::<u64>(),
            kind in any::<u16>(),
            topic in proptest::option::of("\\PC{0,40}"),
            ids in (opt_id(), opt_id(), opt_id(), opt_id()),
            reply_count in any::<u64>(),
            edited_at in proptest::option::of(any::<u64>()),
            quarantined in any::<bool>(),
            held in any::<bool>(),
            signed in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let meta = EventMeta {
                local_seq, received_at, sort_ts, kind, topic,
                thread_root: ids.0, original: ids.1, latest: ids.2, retracted_by: ids.3,
                reply_count, edited_at, quarantined, held,
            };
            let record = encode_record(&id(7), &meta, &signed);
            let parts = RecordParts::split(&record).unwrap();
            prop_assert_eq!(parts.id, id(7));
            prop_assert_eq!(parts.signed, &signed[..]);
            prop_assert_eq!(parts.meta(local_seq).unwrap(), meta);
        }

        #[test]
        fn damaged_records_never_panic_the_reader(
            record in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            // Whatever the bytes, splitting and decoding either works or says BadRecord:
            // every read is bounds-checked, so this fails only by panicking.
            if let Ok(parts) = RecordParts::split(&record) {
                let _ = parts.meta(1);
            }
        }
    }

    #[test]
    fn record_layout_is_pinned() {
        let meta = EventMeta {
            received_at: 2,
            sort_ts: 1,
            kind: 3,
            topic: Some("funding".into()),
            ..EventMeta::default()
        };
        let record = encode_record(&id(9), &meta, b"SIGNED");
        assert_eq!(&record[..32], &[9; 32]);
        let meta_len = u16::from_be_bytes([record[32], record[33]]) as usize;
        assert_eq!(meta_len, 2 + 8 + 8 + 2 + 8 + 2 + 7);
        assert_eq!(&record[34..36], &[META_V1, HAS_TOPIC]);
        assert_eq!(&record[34 + meta_len..], b"SIGNED");
    }
}
