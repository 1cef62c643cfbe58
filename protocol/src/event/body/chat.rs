//! Chat bodies: messages in one-to-one and group conversations (directed only).

use serde::{Deserialize, Serialize};

use super::BodyCodec;
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::event::ConversationId;
use crate::limits::MAX_CHAT_BODY_BYTES;

/// A chat message. Edits and retractions are new messages with `replaces` or `retracts`
/// references; replies use `reply_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The conversation it belongs to.
    pub conversation: ConversationId,
    /// Markdown text.
    pub body: String,
}

impl BodyCodec for ChatMessage {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.conversation.as_bytes());
        w.str(&self.body);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            conversation: ConversationId::from_bytes(r.array("chat.conversation")?),
            body: r.string("chat.body", MAX_CHAT_BODY_BYTES)?,
        })
    }
}
