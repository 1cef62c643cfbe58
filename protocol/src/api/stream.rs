//! Messages pushed to members over the live-update websocket (`/api/v1/stream`).

use serde::{Deserialize, Serialize};

use super::{ConversationView, MessageView, PostView, ReactionCount};
use crate::EventId;
use crate::event::ConversationId;

/// A live update. Sent as one JSON text message each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamMessage {
    /// Sent once on connect.
    Ready {
        /// The member the stream is for.
        member: crate::MemberId,
    },
    /// A new post or reply.
    New {
        /// The entry.
        post: PostView,
    },
    /// A post or reply was edited; this is its new version.
    Edited {
        /// The entry.
        post: PostView,
    },
    /// A post or reply was retracted and should disappear.
    Retracted {
        /// The entry's id.
        id: EventId,
    },
    /// Reactions on an entry changed.
    Reactions {
        /// The entry's id.
        id: EventId,
        /// The new counts.
        reactions: Vec<ReactionCount>,
        /// The title of the post, or of the thread the reply is in.
        #[serde(default)]
        title: Option<String>,
        /// Whether the entry is a reply.
        #[serde(default)]
        reply: bool,
    },
    /// A new chat message in one of the member's conversations.
    Message {
        /// The message.
        message: MessageView,
    },
    /// A chat message was edited.
    MessageEdited {
        /// Its new version.
        message: MessageView,
    },
    /// A chat message was taken back.
    MessageRetracted {
        /// The conversation.
        conversation: ConversationId,
        /// The message.
        id: EventId,
    },
    /// Reactions on a chat message changed.
    MessageReactions {
        /// The conversation.
        conversation: ConversationId,
        /// The message.
        id: EventId,
        /// The new counts.
        reactions: Vec<ReactionCount>,
    },
    /// A conversation was created or changed (people, name); also sent to someone removed.
    Conversation {
        /// Its new state as the member sees it (absent when they were removed).
        conversation: Option<ConversationView>,
        /// Its id.
        id: ConversationId,
    },
    /// The member's unread notifications changed (one arrived, or they were seen
    /// elsewhere): the new count, for the navigation's badge.
    Notifications {
        /// Unread notifications (capped at 100).
        unread: u32,
    },
    /// A proposal or match the member is part of changed (proposed, answered, agreed,
    /// checked in, closed); fetch it for the details.
    Match {
        /// The proposal's id.
        id: EventId,
        /// Where it stands now.
        status: super::MatchStatus,
        /// Where its agreement stands: the proposal's id, with `+confirmed` once the other
        /// person confirmed it; absent while none is proposed. A page redraws the agreement
        /// when this changes.
        #[serde(default)]
        agreement: Option<String>,
    },
    /// Updates were skipped during a burst: re-read what is shown (a page, the
    /// conversations, the unread count) to be up to date. The stream stays open and goes
    /// on from here.
    Resync {
        /// Updates skipped: by this stream since its last message, or (with `posts_only`)
        /// by the node for every member in the last second, so not all were for this
        /// member.
        missed: u64,
        /// Only posts, replies, edits and reaction counts were skipped (they came faster
        /// than anyone reads: a catch-up, a flood); chat, conversations, matches and
        /// notifications were all sent. Re-read only what shows posts. Absent (false)
        /// from older nodes.
        #[serde(default)]
        posts_only: bool,
    },
    /// A participant's read position moved.
    ReadMarker {
        /// The conversation.
        conversation: ConversationId,
        /// Who.
        member: crate::MemberId,
        /// The last message they read.
        up_to: EventId,
    },
}
