//! Chat between members across organisations (one-to-one for now).

use serde::{Deserialize, Serialize};

use crate::event::ConversationId;
use crate::{EventId, MemberId, Timestamp};

/// `POST /api/v1/messages`: send a private message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessage {
    /// Who to (a member at this or a paired node).
    pub to: MemberId,
    /// Markdown text.
    pub body: String,
}

/// A chat message as its participants see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The message's id.
    pub id: EventId,
    /// The conversation it belongs to.
    pub conversation: ConversationId,
    /// Who wrote it.
    pub author: MemberId,
    /// Their display name.
    pub author_name: String,
    /// Markdown source.
    pub body: String,
    /// Safe HTML rendering.
    pub body_html: String,
    /// When written.
    pub created_at: Timestamp,
}
