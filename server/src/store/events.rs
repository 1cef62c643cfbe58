//! `events_by_id`: event id (32 bytes) → signed event bytes, exactly as received.
//! `event_meta`: event id → [`EventMeta`] (JSON), this node's derived state for the event.

use kindred_protocol::{EventId, SignedEvent};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, from_json};

/// What this node knows about an event beyond its signed bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EventMeta {
    /// Position in this node's arrival order (`local_log`).
    pub(crate) local_seq: u64,
    /// When this node stored it (ms).
    pub(crate) received_at: u64,
    /// The origin's time, capped at `received_at` so nobody can pin a post to the top.
    pub(crate) sort_ts: u64,
    /// The event's kind code.
    pub(crate) kind: u16,
    /// Topic key (lower-cased name) for posts, and for replies whose thread is known.
    pub(crate) topic: Option<String>,
    /// For replies: the thread's post.
    pub(crate) thread_root: Option<EventId>,
    /// For edits: the original post or reply this is a version of.
    pub(crate) original: Option<EventId>,
    /// For originals: the newest edit, whose content is shown.
    pub(crate) latest: Option<EventId>,
    /// Set when retracted: the retraction's id.
    pub(crate) retracted_by: Option<EventId>,
    /// For posts: visible replies in the thread.
    pub(crate) reply_count: u64,
    /// For originals: when last edited (ms, origin time).
    pub(crate) edited_at: Option<u64>,
    /// The author's node name is not the name its origin uses: kept for relaying, never
    /// shown or applied (someone posting as another node's member).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) quarantined: bool,
}

impl Store {
    /// The signed bytes of an event.
    pub(crate) fn event(&self, id: &EventId) -> Result<Option<SignedEvent>, StoreError> {
        match self.trees().events_by_id.get(id.as_bytes())? {
            None => Ok(None),
            Some(bytes) => SignedEvent::from_bytes(&bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt("events_by_id", e)),
        }
    }

    /// This node's derived state for an event.
    pub(crate) fn event_meta(&self, id: &EventId) -> Result<Option<EventMeta>, StoreError> {
        match self.trees().event_meta.get(id.as_bytes())? {
            None => Ok(None),
            Some(bytes) => from_json("event_meta", &bytes).map(Some),
        }
    }
}
