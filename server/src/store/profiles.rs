//! Profiles and conversations seen in events:
//!
//! - `profiles`: member id (text) → [`ProfileRecord`] (JSON), the newest profile event from
//!   the member's home node.
//! - `conversation_messages`: conversation id (16) ‖ sort_ts (u64 BE) ‖ local seq (u64 BE)
//!   → event id: chat messages this node holds, in time order; messages in the same
//!   millisecond keep their arrival order, which is each sender's sending order.

use kindred_protocol::event::ConversationId;
use kindred_protocol::{EventId, MemberId};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, from_json};

/// What a member's home node publishes about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProfileRecord {
    /// Name shown to others.
    pub(crate) display_name: String,
    /// Their organisation.
    pub(crate) organisation: String,
    /// Origin time of the profile event (ms); newer replaces older.
    pub(crate) updated_at: u64,
}

pub(crate) fn conversation_key(
    conversation: &ConversationId,
    sort_ts: u64,
    local_seq: u64,
) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(conversation.as_bytes());
    key[16..24].copy_from_slice(&sort_ts.to_be_bytes());
    key[24..].copy_from_slice(&local_seq.to_be_bytes());
    key
}

impl Store {
    /// The newest profile of a member, if one arrived.
    pub(crate) fn profile(&self, member: &MemberId) -> Result<Option<ProfileRecord>, StoreError> {
        match self.trees().profiles.get(member.as_str())? {
            None => Ok(None),
            Some(v) => from_json("profiles", &v).map(Some),
        }
    }

    /// A conversation's messages held here, oldest first.
    pub(crate) fn conversation(&self, id: &ConversationId) -> Result<Vec<EventId>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .trees()
            .conversation_messages
            .scan_prefix(id.as_bytes())
        {
            let (_, v) = item?;
            let id = <[u8; 32]>::try_from(v.as_ref())
                .map(EventId::from_bytes)
                .map_err(|e| StoreError::corrupt("conversation_messages", e))?;
            out.push(id);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_key_layout_is_pinned() {
        let key = conversation_key(&ConversationId::from_bytes([9; 16]), 1, 2);
        assert_eq!(&key[..16], &[9; 16]);
        assert_eq!(&key[16..24], &[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&key[24..], &[0, 0, 0, 0, 0, 0, 0, 2]);
    }
}
