//! Chat bodies: conversations, messages, reactions and read markers (directed only).

use serde::{Deserialize, Serialize};

use super::{BodyCodec, read_event_id, read_member};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::event::{ConversationId, EventId};
use crate::identity::MemberId;
use crate::limits::{
    MAX_CHAT_BODY_BYTES, MAX_CONVERSATION_MEMBERS, MAX_REACTION_BYTES, MAX_SHORT_TEXT_BYTES,
};

/// A chat message. An edit is a new message with a `replaces` reference; a retraction is a
/// message with a `retracts` reference and an empty body; replies use `reply_to`.
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

super::wire_enum!(
    /// What kind of conversation.
    ConversationKind, "conversation.kind" {
        /// Two people.
        Direct = 1,
        /// A named group.
        Group = 2,
    }
);

/// The state of a conversation after a change (creation, people added or removed, a new
/// name). It carries the whole membership, so nodes that missed an update converge on
/// the newest one. Sent to the nodes of everyone in the old and the new membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationUpdate {
    /// The conversation.
    pub conversation: ConversationId,
    /// Direct or group.
    pub kind: ConversationKind,
    /// The group's name (empty for direct conversations).
    pub name: String,
    /// Everyone in the conversation after this change.
    pub members: Vec<MemberId>,
    /// Who may add and remove people (the creator first).
    pub admins: Vec<MemberId>,
}

impl BodyCodec for ConversationUpdate {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.conversation.as_bytes());
        w.u8(self.kind.code());
        w.str(&self.name);
        w.count(self.members.len());
        for m in &self.members {
            w.str(m.as_str());
        }
        w.count(self.admins.len());
        for m in &self.admins {
            w.str(m.as_str());
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let conversation = ConversationId::from_bytes(r.array("conversation")?);
        let kind = ConversationKind::decode(r)?;
        let name = r.string("conversation.name", MAX_SHORT_TEXT_BYTES)?;
        let n = r.count("conversation.members", MAX_CONVERSATION_MEMBERS)?;
        let members = (0..n)
            .map(|_| read_member(r, "conversation.members"))
            .collect::<Result<Vec<_>, _>>()?;
        let n = r.count("conversation.admins", MAX_CONVERSATION_MEMBERS)?;
        let admins = (0..n)
            .map(|_| read_member(r, "conversation.admins"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            conversation,
            kind,
            name,
            members,
            admins,
        })
    }
}

/// A reaction to a chat message, or its removal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatReaction {
    /// The conversation.
    pub conversation: ConversationId,
    /// The message reacted to.
    pub target: EventId,
    /// The reaction's name.
    pub reaction: String,
    /// True when this takes the reaction back.
    pub removed: bool,
}

impl BodyCodec for ChatReaction {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.conversation.as_bytes());
        w.raw(self.target.as_bytes());
        w.str(&self.reaction);
        w.bool(self.removed);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            conversation: ConversationId::from_bytes(r.array("conversation")?),
            target: read_event_id(r, "chat_reaction.target")?,
            reaction: r.string("chat_reaction.reaction", MAX_REACTION_BYTES)?,
            removed: r.bool("chat_reaction.removed")?,
        })
    }
}

/// How far a participant has read, shared with the others (if they allow it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMarker {
    /// The conversation.
    pub conversation: ConversationId,
    /// The last message read.
    pub up_to: EventId,
}

impl BodyCodec for ReadMarker {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.conversation.as_bytes());
        w.raw(self.up_to.as_bytes());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            conversation: ConversationId::from_bytes(r.array("conversation")?),
            up_to: read_event_id(r, "read_marker.up_to")?,
        })
    }
}
