//! Frames exchanged on a node-to-node link, one per websocket binary message. The first
//! byte is the frame type; `docs/protocol.md` gives each layout.

use super::handshake::{Hello, Proof};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::event::{EventId, SignedEvent};
use crate::identity::NodeId;
use crate::limits::{
    MAX_ADDRESS_BYTES, MAX_BATCH_EVENTS, MAX_ERROR_MESSAGE_BYTES, MAX_FRAME_BYTES, MAX_HAVE_ENTRIES,
};

/// Per-origin progress: the highest sequence number held with no gaps below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HaveEntry {
    /// The origin node.
    pub origin: NodeId,
    /// Highest contiguous sequence number held (0 when none).
    pub seq: u64,
    /// The id of the event held at `seq` (all zeros when `seq` is 0), so a node holding
    /// a different event with that number sees at once that the origin's log forked.
    pub head: EventId,
}

/// Why a node is closing a link or refusing a frame. Unknown codes are kept as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// The frame could not be decoded.
    pub const MALFORMED: Self = Self(1);
    /// The peer is not paired with this node.
    pub const UNKNOWN_PEER: Self = Self(2);
    /// The peer has been blocked (defederated).
    pub const BLOCKED: Self = Self(3);
    /// The handshake failed (bad proof, replay, wrong version).
    pub const HANDSHAKE_FAILED: Self = Self(4);
    /// An event's signature did not verify.
    pub const BAD_SIGNATURE: Self = Self(5);
    /// The peer is sending too fast.
    pub const RATE_LIMITED: Self = Self(6);
    /// A frame or field was over its size limit.
    pub const TOO_LARGE: Self = Self(7);
    /// Something went wrong on this node; try again later.
    pub const INTERNAL: Self = Self(8);
    /// The protocol versions do not match.
    pub const VERSION_MISMATCH: Self = Self(9);
    /// A federation invite was unknown, used or expired.
    pub const BAD_INVITE: Self = Self(10);
}

/// A link frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerFrame {
    /// Handshake: who we are and a fresh nonce.
    Hello(Hello),
    /// Handshake: our signature over the transcript.
    Proof(Proof),
    /// What we hold of each origin's shared log; the peer sends what we lack.
    HaveVector(Vec<HaveEntry>),
    /// Shared-log events, oldest first per origin. `batch` is the sender's counter,
    /// echoed in the ack once the events are durably stored.
    EventBatch {
        /// Sender-chosen batch number.
        batch: u64,
        /// The events.
        events: Vec<SignedEvent>,
    },
    /// The batch with this number is durably stored.
    BatchAck {
        /// The acknowledged batch number.
        batch: u64,
    },
    /// A directed event for a member of the receiving node.
    Directed(SignedEvent),
    /// The directed event with this id is durably stored (or was already).
    DirectedAck(EventId),
    /// An error; the sender may close the link after it.
    Error {
        /// What kind of error.
        code: ErrorCode,
        /// A human-readable explanation for the other admin's logs.
        message: String,
    },
    /// Liveness check; answered with `Pong` carrying the same value.
    Ping(u64),
    /// Answer to `Ping`.
    Pong(u64),
    /// Sent by a node redeeming a federation invite, right after the handshake: the
    /// invite's secret, and the address where the sender can be reached.
    Pair {
        /// The invite secret.
        secret: [u8; 32],
        /// The sender's public address (a URL).
        address: String,
    },
    /// The pairing was accepted; both nodes now list each other as peers.
    Paired,
}

impl PeerFrame {
    /// The frame's type, for logs and errors (never its fields: some carry secrets).
    pub fn name(&self) -> &'static str {
        match self {
            PeerFrame::Hello(_) => "hello",
            PeerFrame::Proof(_) => "proof",
            PeerFrame::HaveVector(_) => "have-vector",
            PeerFrame::EventBatch { .. } => "event batch",
            PeerFrame::BatchAck { .. } => "batch ack",
            PeerFrame::Directed(_) => "directed",
            PeerFrame::DirectedAck(_) => "directed ack",
            PeerFrame::Error { .. } => "error",
            PeerFrame::Ping(_) => "ping",
            PeerFrame::Pong(_) => "pong",
            PeerFrame::Pair { .. } => "pair",
            PeerFrame::Paired => "paired",
        }
    }

    /// Encodes the frame for one websocket binary message.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64);
        match self {
            PeerFrame::Hello(hello) => {
                w.u8(0x01);
                hello.encode(&mut w);
            }
            PeerFrame::Proof(proof) => {
                w.u8(0x02);
                w.raw(&proof.0);
            }
            PeerFrame::HaveVector(entries) => {
                w.u8(0x03);
                w.count(entries.len());
                for e in entries {
                    w.raw(e.origin.as_bytes());
                    w.u64(e.seq);
                    w.raw(e.head.as_bytes());
                }
            }
            PeerFrame::EventBatch { batch, events } => {
                w.u8(0x04);
                w.u64(*batch);
                w.count(events.len());
                for e in events {
                    e.encode(&mut w);
                }
            }
            PeerFrame::BatchAck { batch } => {
                w.u8(0x05);
                w.u64(*batch);
            }
            PeerFrame::Directed(event) => {
                w.u8(0x06);
                event.encode(&mut w);
            }
            PeerFrame::DirectedAck(id) => {
                w.u8(0x07);
                w.raw(id.as_bytes());
            }
            PeerFrame::Error { code, message } => {
                w.u8(0x08);
                w.u16(code.0);
                w.str(message);
            }
            PeerFrame::Ping(v) => {
                w.u8(0x09);
                w.u64(*v);
            }
            PeerFrame::Pong(v) => {
                w.u8(0x0a);
                w.u64(*v);
            }
            PeerFrame::Pair { secret, address } => {
                w.u8(0x0b);
                w.raw(secret);
                w.str(address);
            }
            PeerFrame::Paired => w.u8(0x0c),
        }
        w.into_bytes()
    }

    /// Decodes one frame, refusing oversized input before reading it.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_FRAME_BYTES {
            return Err(DecodeError::FrameTooLarge {
                len: bytes.len(),
                max: MAX_FRAME_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        let frame = match r.u8("frame type")? {
            0x01 => PeerFrame::Hello(Hello::decode(&mut r)?),
            0x02 => PeerFrame::Proof(Proof(r.array("proof")?)),
            0x03 => {
                let count = r.count("have vector", MAX_HAVE_ENTRIES)?;
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    entries.push(HaveEntry {
                        origin: NodeId::from_bytes(r.array("have vector origin")?),
                        seq: r.u64("have vector seq")?,
                        head: EventId::from_bytes(r.array("have vector head")?),
                    });
                }
                PeerFrame::HaveVector(entries)
            }
            0x04 => {
                let batch = r.u64("batch number")?;
                let count = r.count("batch events", MAX_BATCH_EVENTS)?;
                let mut events = Vec::with_capacity(count);
                for _ in 0..count {
                    events.push(SignedEvent::decode(&mut r)?);
                }
                PeerFrame::EventBatch { batch, events }
            }
            0x05 => PeerFrame::BatchAck {
                batch: r.u64("batch number")?,
            },
            0x06 => PeerFrame::Directed(SignedEvent::decode(&mut r)?),
            0x07 => PeerFrame::DirectedAck(EventId::from_bytes(r.array("event id")?)),
            0x08 => PeerFrame::Error {
                code: ErrorCode(r.u16("error code")?),
                message: r.string("error message", MAX_ERROR_MESSAGE_BYTES)?,
            },
            0x09 => PeerFrame::Ping(r.u64("ping")?),
            0x0a => PeerFrame::Pong(r.u64("pong")?),
            0x0b => PeerFrame::Pair {
                secret: r.array("pair secret")?,
                address: r.string("pair address", MAX_ADDRESS_BYTES)?,
            },
            0x0c => PeerFrame::Paired,
            other => return Err(DecodeError::UnknownFrame(other)),
        };
        r.finish("frame")?;
        Ok(frame)
    }
}
