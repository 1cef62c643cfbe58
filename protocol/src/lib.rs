//! Kindred's shared language: identities, signed events, link frames and limits.
//!
//! This crate does no I/O. Nodes and clients use it to build, sign, verify, encode and
//! decode everything that crosses a node boundary. An event is its payload bytes plus the
//! origin's signature over exactly those bytes; verification works on bytes, and parsing
//! comes after, so a node can verify and relay kinds it does not understand.
//! The byte layouts are specified in `docs/protocol.md`.
#![warn(missing_docs)]

pub mod api;
mod codec;
pub mod error;
pub mod event;
mod hex_id;
pub mod identity;
pub mod limits;
pub mod names;
pub mod peer;
pub mod text;

pub use error::{DecodeError, HandshakeError, IdError, RandomnessError, SignError, VerifyError};
pub use event::{
    Audience, EventBody, EventId, EventKind, EventPayload, References, SignedEvent, Timestamp,
    VerifiedEvent,
};
pub use identity::{MemberId, NodeId, NodeKeypair, NodeName};

/// The node-to-node link protocol version this crate speaks. Version 3 adds erasures and
/// tombstones.
pub const PROTOCOL_VERSION: u16 = 3;

/// The oldest link protocol version this crate still links with. A version-2 node cannot
/// carry out erasures: it is sent no tombstones, and its admin-facing peer entry says so.
pub const MIN_PROTOCOL_VERSION: u16 = 2;

/// The first link protocol version that carries out erasures and relays tombstones.
pub const ERASURE_PROTOCOL_VERSION: u16 = 3;
