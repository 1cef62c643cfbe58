//! Messages pushed to members over the live-update websocket (`/api/v1/stream`).

use serde::{Deserialize, Serialize};

use super::{PostView, ReactionCount};
use crate::EventId;

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
    },
}
