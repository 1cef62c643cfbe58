//! Error types of the protocol crate: one enum per failure family, each keeping its cause.

use thiserror::Error;

/// Why bytes could not be decoded into a payload, body or frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the named field was complete.
    #[error("input ends in the middle of {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// A length-prefixed field is longer than its limit.
    #[error("{field} is {len} bytes long, over its limit of {max}")]
    TooLong {
        /// The field being read.
        field: &'static str,
        /// The length announced by the input.
        len: usize,
        /// The limit for this field.
        max: usize,
    },
    /// A list has more entries than its limit.
    #[error("{field} has {count} entries, over its limit of {max}")]
    TooMany {
        /// The field being read.
        field: &'static str,
        /// The count announced by the input.
        count: usize,
        /// The limit for this field.
        max: usize,
    },
    /// A text field is not valid UTF-8.
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field being read.
        field: &'static str,
    },
    /// A tag, flag or enumerated field holds a value this version does not define.
    #[error("{field} has the undefined value {value}")]
    InvalidValue {
        /// The field being read.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// An identifier field is malformed.
    #[error("{field} is not a valid identifier")]
    InvalidId {
        /// The field being read.
        field: &'static str,
        /// Why the identifier was refused.
        #[source]
        source: IdError,
    },
    /// A payload is well-formed but breaks a rule that ties fields together.
    #[error("inconsistent event: {0}")]
    Inconsistent(&'static str),
    /// Bytes were left over after a complete value.
    #[error("{count} unexpected bytes after the end of {what}")]
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were left.
        count: usize,
    },
    /// The payload does not start with the Kindred event magic.
    #[error("not a Kindred event payload (bad magic)")]
    BadMagic,
    /// The payload uses an event format version this build does not know.
    #[error("unsupported event format version {0}")]
    UnsupportedVersion(u8),
    /// A frame is larger than [`crate::limits::MAX_FRAME_BYTES`].
    #[error("frame of {len} bytes is over the limit of {max}")]
    FrameTooLarge {
        /// The frame's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A frame's type byte is not defined.
    #[error("unknown frame type {0:#04x}")]
    UnknownFrame(u8),
}

/// Why a text identifier (node name, member id, node id, event id) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// The identifier is empty.
    #[error("it is empty")]
    Empty,
    /// The identifier is longer than allowed.
    #[error("it is {len} bytes long, over the limit of {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The identifier contains a character that is not allowed where it appears.
    #[error("it contains {0:?}, which is not allowed there")]
    BadChar(char),
    /// A node name label is empty, too long, or starts or ends with a hyphen.
    #[error("the label {0:?} is not a valid DNS label")]
    BadLabel(String),
    /// A member id is not of the form `@name:node`.
    #[error("a member id looks like @name:node.example.org")]
    MemberShape,
    /// A hex identifier has the wrong length or non-hex characters.
    #[error("expected {expected} hex characters")]
    BadHex {
        /// How many hex characters were expected.
        expected: usize,
    },
}

/// Why an event or a handshake proof failed verification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The signed bytes are not a decodable payload.
    #[error("payload cannot be decoded")]
    Decode(#[from] DecodeError),
    /// The origin's public key is not a valid curve point.
    #[error("origin key is not a valid ed25519 public key")]
    BadKey,
    /// The origin's public key has small order (accepts forged signatures).
    #[error("origin key is a weak (small-order) ed25519 key")]
    WeakKey,
    /// The signature does not verify under the origin key.
    #[error("signature does not verify")]
    BadSignature,
}

/// Why a link handshake was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandshakeError {
    /// The peer speaks a protocol version this node does not.
    #[error("peer speaks protocol version {theirs}, this node speaks {ours}")]
    VersionMismatch {
        /// Our version.
        ours: u16,
        /// Their version.
        theirs: u16,
    },
    /// The peer claims this node's own identity.
    #[error("peer presented this node's own key")]
    SelfConnection,
    /// The peer sent the same nonce as ours (a reflection attempt).
    #[error("peer echoed this node's nonce")]
    ReflectedNonce,
    /// The peer's proof does not verify over this session's transcript.
    #[error("peer's handshake proof does not verify")]
    BadProof(#[source] VerifyError),
    /// A frame arrived out of order.
    #[error("unexpected frame during the handshake: expected {expected}")]
    UnexpectedFrame {
        /// The frame that was expected.
        expected: &'static str,
    },
}

/// The operating system could not provide random bytes.
#[derive(Debug, Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomnessError(#[source] pub getrandom::Error);

/// Why an event could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    /// The payload names a different origin than the signing key.
    #[error("the payload's origin is not the signing node")]
    WrongKey,
    /// The payload breaks a limit or a rule, so peers would refuse it.
    #[error("the payload is not valid")]
    Invalid(#[source] DecodeError),
}
