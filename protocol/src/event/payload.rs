//! The signed part of an event: a fixed header (magic, format version, origin, time,
//! audience, author, references, kind) followed by the kind's body. `docs/protocol.md`
//! gives the byte layout.

use super::body::read_member;
use super::kind::{DeliveryClass, EventBody, EventKind};
use super::{EventId, Timestamp};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::identity::{MemberId, NodeId};
use crate::limits::{MAX_DIRECTED_RECIPIENTS, MAX_EVENT_BODY_BYTES, MAX_EVENT_PAYLOAD_BYTES};

/// First four bytes of every event payload. Handshake transcripts start differently, so a
/// node's signature on one can never be passed off as the other.
pub const EVENT_MAGIC: [u8; 4] = *b"KDEV";
/// First four bytes of a tombstone's signed bytes (what a node holds and relays in place of
/// an erased shared-log event): magic, format version, origin (at [`ORIGIN_RANGE`]), seq
/// (u64), the erased event's id, its author.
pub const TOMBSTONE_MAGIC: [u8; 4] = *b"KDTB";
/// The event format version this crate writes and reads.
pub const EVENT_FORMAT_VERSION: u8 = 1;
/// Byte range of the origin node id inside a payload, fixed so that a receiver can find
/// the key to verify with before parsing anything else.
pub const ORIGIN_RANGE: std::ops::Range<usize> = 5..37;

/// Who an event is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The shared log: the event is number `seq` (from 1) in its origin's log and goes to
    /// every node.
    Shared {
        /// Position in the origin's log, starting at 1, without gaps.
        seq: u64,
    },
    /// Organisation-only: the event never leaves its origin node (a topic the admin keeps
    /// local). It has no shared-log number; a peer receiving one refuses it.
    Local,
    /// Directed: only the listed nodes receive it. Listed in ascending order, no repeats.
    Directed {
        /// The recipient nodes.
        recipients: Vec<NodeId>,
    },
}

/// Links from an event to earlier events. Which must be present depends on the kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// The post a reply's thread hangs from.
    pub thread_root: Option<EventId>,
    /// The post, reply or message this one answers.
    pub reply_to: Option<EventId>,
    /// The event a retraction takes back.
    pub retracts: Option<EventId>,
    /// The earlier version an edit replaces.
    pub replaces: Option<EventId>,
}

impl References {
    fn slots(&self) -> [Option<&EventId>; 4] {
        [
            self.thread_root.as_ref(),
            self.reply_to.as_ref(),
            self.retracts.as_ref(),
            self.replaces.as_ref(),
        ]
    }
}

/// A decoded event payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPayload {
    /// The node that signed the event.
    pub origin: NodeId,
    /// When the origin says the event was made.
    pub created_at: Timestamp,
    /// Shared log (with sequence number) or directed (with recipients).
    pub audience: Audience,
    /// The member who wrote it (a member of the origin node).
    pub author: MemberId,
    /// Links to earlier events.
    pub refs: References,
    /// The kind and its body.
    pub body: EventBody,
}

impl EventPayload {
    /// The canonical bytes to sign. Fails if a field breaks a limit or a rule, because a
    /// peer would refuse the event: what this returns always decodes again.
    pub fn to_bytes(&self) -> Result<Vec<u8>, DecodeError> {
        let mut body = Writer::with_capacity(256);
        self.body.encode(&mut body);
        let body = body.into_bytes();

        let mut w = Writer::with_capacity(128 + body.len());
        w.raw(&EVENT_MAGIC);
        w.u8(EVENT_FORMAT_VERSION);
        w.raw(self.origin.as_bytes());
        w.u64(self.created_at.as_millis());
        match &self.audience {
            Audience::Shared { seq } => {
                w.u8(0);
                w.u64(*seq);
            }
            Audience::Local => w.u8(2),
            Audience::Directed { recipients } => {
                w.u8(1);
                w.count(recipients.len());
                for node in recipients {
                    w.raw(node.as_bytes());
                }
            }
        }
        w.str(self.author.as_str());
        let slots = self.refs.slots();
        let flags = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .fold(0u8, |acc, (i, _)| acc | (1 << i));
        w.u8(flags);
        for id in slots.into_iter().flatten() {
            w.raw(id.as_bytes());
        }
        w.u16(self.body.kind_code());
        w.bytes(&body);
        let bytes = w.into_bytes();
        Self::from_bytes(&bytes)?;
        Ok(bytes)
    }

    /// Decodes and checks a payload. Every byte must be accounted for.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_EVENT_PAYLOAD_BYTES {
            return Err(DecodeError::TooLong {
                field: "event payload",
                len: bytes.len(),
                max: MAX_EVENT_PAYLOAD_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        if r.array::<4>("magic")? != EVENT_MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = r.u8("version")?;
        if version != EVENT_FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let origin = NodeId::from_bytes(r.array("origin")?);
        let created_at = Timestamp(r.u64("created_at")?);
        let audience = match r.u8("audience")? {
            0 => {
                let seq = r.u64("seq")?;
                if seq == 0 {
                    return Err(DecodeError::Inconsistent(
                        "shared-log sequence numbers start at 1",
                    ));
                }
                Audience::Shared { seq }
            }
            1 => {
                let count = r.count("recipients", MAX_DIRECTED_RECIPIENTS)?;
                let recipients = (0..count)
                    .map(|_| r.array("recipients").map(NodeId::from_bytes))
                    .collect::<Result<Vec<_>, _>>()?;
                if recipients.is_empty() {
                    return Err(DecodeError::Inconsistent(
                        "a directed event needs a recipient",
                    ));
                }
                if recipients.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(DecodeError::Inconsistent(
                        "recipients must be in ascending order without repeats",
                    ));
                }
                Audience::Directed { recipients }
            }
            2 => Audience::Local,
            v => {
                return Err(DecodeError::InvalidValue {
                    field: "audience",
                    value: u64::from(v),
                });
            }
        };
        let author = read_member(&mut r, "author")?;
        let refs = read_refs(&mut r)?;
        let kind = r.u16("kind")?;
        let body_bytes = r.bytes("body", MAX_EVENT_BODY_BYTES)?;
        r.finish("event payload")?;
        let payload = Self {
            origin,
            created_at,
            audience,
            author,
            refs,
            body: EventBody::decode(kind, body_bytes)?,
        };
        payload.check_rules()?;
        Ok(payload)
    }

    /// Rules tying the header to the kind, for the kinds this version knows.
    fn check_rules(&self) -> Result<(), DecodeError> {
        let Some(kind) = self.body.kind() else {
            return Ok(());
        };
        let directed = matches!(self.audience, Audience::Directed { .. });
        match (kind.class(), directed) {
            (DeliveryClass::SharedLog, true) => {
                return Err(DecodeError::Inconsistent(
                    "this kind goes on the shared log or stays local; it cannot be directed",
                ));
            }
            (DeliveryClass::Directed, false) => {
                return Err(DecodeError::Inconsistent("this kind must be directed"));
            }
            (DeliveryClass::Either, _)
            | (DeliveryClass::SharedLog, false)
            | (DeliveryClass::Directed, true) => {}
        }
        let refs = &self.refs;
        match kind {
            EventKind::Reply if refs.thread_root.is_none() || refs.reply_to.is_none() => Err(
                DecodeError::Inconsistent("a reply names its thread root and its parent"),
            ),
            EventKind::Retraction if refs.retracts.is_none() => Err(DecodeError::Inconsistent(
                "a retraction names the event it retracts",
            )),
            EventKind::Post if refs.thread_root.is_some() || refs.reply_to.is_some() => Err(
                DecodeError::Inconsistent("a post starts a thread; it is not a reply"),
            ),
            EventKind::Erasure
                if matches!(&self.body, EventBody::Erasure(e)
                    if e.slots.iter().any(|s| Some(s.seq) >= self.seq())) =>
            {
                Err(DecodeError::Inconsistent(
                    "an erasure lists only events before it in its origin's log",
                ))
            }
            EventKind::Redaction
                if self.seq().is_none()
                    || matches!(&self.body, EventBody::Redaction(r)
                        if r.slots.iter().any(|s| Some(s.seq) >= self.seq())) =>
            {
                Err(DecodeError::Inconsistent(
                    "a redaction is on its origin's shared log and lists only events before it there",
                ))
            }
            _ => Ok(()),
        }
    }

    /// The signed bytes of the tombstone for the shared-log event `id`, number `seq` of
    /// `origin`'s log, written by `author`.
    pub fn tombstone_bytes(origin: &NodeId, seq: u64, id: &EventId, author: &MemberId) -> Vec<u8> {
        let mut w = Writer::with_capacity(128);
        w.raw(&TOMBSTONE_MAGIC);
        w.u8(EVENT_FORMAT_VERSION);
        w.raw(origin.as_bytes());
        w.u64(seq);
        w.raw(id.as_bytes());
        w.str(author.as_str());
        w.into_bytes()
    }

    /// The payload a tombstone stands for: the erased event's origin, number and author,
    /// time 0 and a [`EventBody::Tombstone`] body naming the erased id. Number 0 (a node's
    /// own record of an erased directed event) reads as [`Audience::Local`].
    pub fn from_tombstone_bytes(bytes: &[u8]) -> Result<(EventId, Self), DecodeError> {
        let mut r = Reader::new(bytes);
        if r.array::<4>("magic")? != TOMBSTONE_MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = r.u8("version")?;
        if version != EVENT_FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let origin = NodeId::from_bytes(r.array("origin")?);
        // Number 0: a node's own record of an erased directed event, never sent.
        let seq = r.u64("seq")?;
        let id = EventId::from_bytes(r.array("tombstone.id")?);
        let author = read_member(&mut r, "author")?;
        r.finish("tombstone")?;
        let body = EventBody::Tombstone(crate::event::body::erasure::Tombstone { erased: id });
        Ok((
            id,
            Self {
                origin,
                created_at: Timestamp(0),
                audience: match seq {
                    0 => Audience::Local,
                    seq => Audience::Shared { seq },
                },
                author,
                refs: References::default(),
                body,
            },
        ))
    }

    /// The shared-log sequence number, if this is a shared-log event.
    pub fn seq(&self) -> Option<u64> {
        match self.audience {
            Audience::Shared { seq } => Some(seq),
            Audience::Local | Audience::Directed { .. } => None,
        }
    }
}

fn read_refs(r: &mut Reader<'_>) -> Result<References, DecodeError> {
    let flags = r.u8("references")?;
    if flags & 0xf0 != 0 {
        return Err(DecodeError::InvalidValue {
            field: "references",
            value: u64::from(flags),
        });
    }
    let mut slot = |bit: u8, field: &'static str| -> Result<Option<EventId>, DecodeError> {
        if flags & (1 << bit) == 0 {
            return Ok(None);
        }
        Ok(Some(EventId::from_bytes(r.array(field)?)))
    };
    Ok(References {
        thread_root: slot(0, "references.thread_root")?,
        reply_to: slot(1, "references.reply_to")?,
        retracts: slot(2, "references.retracts")?,
        replaces: slot(3, "references.replaces")?,
    })
}
