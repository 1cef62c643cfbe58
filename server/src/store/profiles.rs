//! Profiles and conversations seen in events:
//!
//! - `profiles`: member id (text) → [`ProfileRecord`] (JSON), the newest profile event from
//!   the member's home node.
//! - `conversation_messages`: conversation id (16) ‖ sort_ts ‖ event id → (), chat messages
//!   this node holds, in time order.

use kindred_protocol::event::ConversationId;
use kindred_protocol::{EventId, MemberId};
use serde::{Deserialize, Serialize};

use super::keys::Position;
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

pub(crate) fn conversation_key(conversation: &ConversationId, pos: Position) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 + Position::LEN);
    key.extend_from_slice(conversation.as_bytes());
    pos.encode_into(&mut key);
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
            let (k, _) = item?;
            if let Some(pos) = Position::from_key_suffix(&k) {
                out.push(pos.id);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_key_layout_is_pinned() {
        let pos = Position {
            sort_ts: 1,
            id: EventId::from_bytes([2; 32]),
        };
        let key = conversation_key(&ConversationId::from_bytes([9; 16]), pos);
        assert_eq!(&key[..16], &[9; 16]);
        assert_eq!(&key[16..24], &[0, 0, 0, 0, 0, 0, 0, 1]);
    }
}
