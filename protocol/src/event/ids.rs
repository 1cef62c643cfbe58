//! Identifiers and times that events carry: event ids, conversation ids, timestamps.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hex_id::hex_id;

hex_id!(
    /// An event's id: SHA-256 of its signed payload bytes.
    EventId,
    32
);

hex_id!(
    /// A conversation's id: 16 random bytes chosen by the node that creates it.
    ConversationId,
    16
);

impl ConversationId {
    /// The id of the one-to-one conversation between two members, the same on every node:
    /// the first 16 bytes of SHA-256 of `"kindred-direct\n" ‖ a ‖ "\n" ‖ b`, with the two
    /// member ids in byte order. A one-to-one conversation whose id is not this is refused
    /// (`docs/protocol.md`, Authority), so nobody can create it ahead of its two members.
    pub fn direct(a: &crate::MemberId, b: &crate::MemberId) -> Self {
        let (first, second) = if a <= b { (a, b) } else { (b, a) };
        let digest = Sha256::digest(format!("kindred-direct\n{first}\n{second}").as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        Self(id)
    }
}

impl EventId {
    /// The id of the given signed payload bytes.
    pub fn of_payload(payload: &[u8]) -> Self {
        Self(Sha256::digest(payload).into())
    }
}

/// Milliseconds since the Unix epoch (UTC), as claimed by the origin node.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The current time from the system clock (0 if the clock is before 1970).
    pub fn now() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Self(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// Milliseconds since the Unix epoch.
    pub fn as_millis(self) -> u64 {
        self.0
    }
}
