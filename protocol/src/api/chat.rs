//! Chat between members across organisations: the people directory, one-to-one and group
//! conversations, messages, reactions, read markers and blocks.

use serde::{Deserialize, Serialize};

use super::ReactionCount;
use crate::event::ConversationId;
use crate::event::body::chat::ConversationKind;
use crate::{EventId, MemberId, Timestamp};

/// Someone in the people directory (members who chose to be listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonView {
    /// Their member id.
    pub member: MemberId,
    /// Their display name.
    pub display_name: String,
    /// Their organisation.
    pub organisation: String,
    /// What they are happy to talk about.
    pub happy_to_talk_about: String,
    /// Whether they are a member of this node.
    pub local: bool,
}

/// `GET /api/v1/people/{member}`: one person as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileView {
    /// Their member id.
    pub member: MemberId,
    /// Their display name.
    pub display_name: String,
    /// Their organisation.
    pub organisation: String,
    /// What they are happy to talk about (empty when they have not said).
    pub happy_to_talk_about: String,
    /// Whether they are listed in the people directory (taking new conversations).
    pub listed: bool,
    /// Whether they take no messages at all for now (their organisation suspended them).
    #[serde(default)]
    pub away: bool,
    /// Whether the viewer may start or continue a conversation with them: they are not
    /// away, and they are listed or the two already share a one-to-one conversation.
    pub can_message: bool,
    /// The viewer's one-to-one conversation with them, if they already have one.
    pub conversation: Option<crate::event::ConversationId>,
}

/// A participant as shown in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Their member id.
    pub member: MemberId,
    /// Their display name.
    pub display_name: String,
    /// How far they have read (if they share read markers).
    pub read_up_to: Option<EventId>,
}

/// A conversation as one of its participants sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    /// Its id.
    pub id: ConversationId,
    /// Direct or group.
    pub kind: ConversationKind,
    /// The group's name (direct conversations: the other person's name).
    pub name: String,
    /// Everyone in it.
    pub members: Vec<Participant>,
    /// Who may add and remove people.
    pub admins: Vec<MemberId>,
    /// Messages the viewer has not read.
    pub unread: u64,
    /// Whether the viewer muted it.
    pub muted: bool,
    /// Time of the latest message.
    pub last_activity: Option<Timestamp>,
    /// The latest message.
    pub last_message: Option<MessageView>,
}

/// `POST /api/v1/conversations`: start a conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateConversation {
    /// The other people (one person and no name: a one-to-one conversation).
    pub members: Vec<MemberId>,
    /// A name makes it a group.
    #[serde(default)]
    pub name: Option<String>,
}

/// `PATCH /api/v1/conversations/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateConversation {
    /// Rename the group (group admins).
    #[serde(default)]
    pub name: Option<String>,
    /// Mute or unmute it for the viewer.
    #[serde(default)]
    pub muted: Option<bool>,
}

/// `POST /api/v1/conversations/{id}/members`: add someone to a group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddParticipant {
    /// Who.
    pub member: MemberId,
    /// Make them a group admin too.
    #[serde(default)]
    pub admin: bool,
}

/// `POST /api/v1/conversations/{id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewMessage {
    /// Markdown text.
    pub body: String,
    /// The message this answers.
    #[serde(default)]
    pub reply_to: Option<EventId>,
}

/// `PUT /api/v1/conversations/{id}/messages/{message}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditMessage {
    /// The new text.
    pub body: String,
}

/// `POST /api/v1/conversations/{id}/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarkRead {
    /// The last message read.
    pub up_to: EventId,
}

/// `POST /api/v1/blocks`: stop someone reaching you.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockMember {
    /// Who.
    pub member: MemberId,
}

/// `POST /api/v1/messages`: send a private message to one person (opens the one-to-one
/// conversation if needed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessage {
    /// Who to (a member at this or a paired node).
    pub to: MemberId,
    /// Markdown text.
    pub body: String,
}

/// A chat message as its participants see it (its newest version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The message's id (of its first version; stable across edits).
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
    /// When last edited.
    #[serde(default)]
    pub edited_at: Option<Timestamp>,
    /// The message it answers.
    #[serde(default)]
    pub reply_to: Option<EventId>,
    /// Reactions.
    #[serde(default)]
    pub reactions: Vec<ReactionCount>,
    /// The message's words are gone: its author's account was erased, or it was older
    /// than the node keeps messages. `body` is empty; show "Message deleted" in its place.
    #[serde(default)]
    pub deleted: bool,
    /// Hidden on this node by its moderators: the reason, shown in its place (the body
    /// is then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<String>,
    /// Collapsed for this reader (a muted word, a blocked author): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<String>,
}
