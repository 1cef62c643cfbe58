//! Peer-learning bodies: posts, replies, reactions and retractions.

use serde::{Deserialize, Serialize};

use super::{BodyCodec, read_event_id};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::event::EventId;
use crate::limits::*;

/// A peer-learning post in a topic. An edit is a new `Post` whose `replaces` reference
/// names the post it supersedes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// Topic name; topics are federated by name.
    pub topic: String,
    /// Title shown in lists.
    pub title: String,
    /// Markdown body; rendered through a sanitiser, never trusted as HTML.
    pub body: String,
    /// Free tags for search.
    pub tags: Vec<String>,
    /// When present, readers see this warning and the body stays collapsed until opened.
    pub content_warning: Option<String>,
}

impl BodyCodec for Post {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.topic);
        w.str(&self.title);
        w.str(&self.body);
        w.str_list(&self.tags);
        w.opt_str(self.content_warning.as_deref());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            topic: r.string("post.topic", MAX_TOPIC_BYTES)?,
            title: r.string("post.title", MAX_TITLE_BYTES)?,
            body: r.string("post.body", MAX_POST_BODY_BYTES)?,
            tags: r.str_list("post.tags", MAX_TAGS, MAX_TAG_BYTES)?,
            content_warning: r.opt_string("post.content_warning", MAX_CONTENT_WARNING_BYTES)?,
        })
    }
}

/// A reply in a thread; the payload's references name the thread root and the parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Markdown body.
    pub body: String,
    /// Optional content warning, as for posts.
    pub content_warning: Option<String>,
}

impl BodyCodec for Reply {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.body);
        w.opt_str(self.content_warning.as_deref());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            body: r.string("reply.body", MAX_POST_BODY_BYTES)?,
            content_warning: r.opt_string("reply.content_warning", MAX_CONTENT_WARNING_BYTES)?,
        })
    }
}

/// A reaction to a post or reply (e.g. `thank-you`, `i-hear-you`), or its removal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The post or reply reacted to.
    pub target: EventId,
    /// The reaction's name; nodes show the ones they know.
    pub reaction: String,
    /// True when this event takes back an earlier identical reaction.
    pub removed: bool,
}

impl BodyCodec for Reaction {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.target.as_bytes());
        w.str(&self.reaction);
        w.bool(self.removed);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            target: read_event_id(r, "reaction.target")?,
            reaction: r.string("reaction.reaction", MAX_REACTION_BYTES)?,
            removed: r.bool("reaction.removed")?,
        })
    }
}

/// Takes back an event (named in the payload's `retracts` reference). Only the author or a
/// moderator of the retracted event's origin node may retract it; nodes check that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retraction {
    /// Optional reason, shown to moderators.
    pub reason: Option<String>,
}

impl BodyCodec for Retraction {
    fn encode(&self, w: &mut Writer) {
        w.opt_str(self.reason.as_deref());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            reason: r.opt_string("retraction.reason", MAX_REASON_BYTES)?,
        })
    }
}
