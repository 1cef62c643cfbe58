//! Moderation decisions published by a node's moderators.

use serde::{Deserialize, Serialize};

use super::{BodyCodec, read_event_id, wire_enum};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::event::EventId;
use crate::limits::MAX_REASON_BYTES;

wire_enum!(
    /// What a moderator decided about an event.
    ModerationAction, "moderation.action" {
        /// Hide the event from views.
        Hide = 1,
        /// Show a previously hidden event again.
        Restore = 2,
    }
);

/// A moderator's decision about an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationDecision {
    /// The event decided about.
    pub target: EventId,
    /// The decision.
    pub action: ModerationAction,
    /// Optional reason.
    pub reason: Option<String>,
}

impl BodyCodec for ModerationDecision {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.target.as_bytes());
        w.u8(self.action.code());
        w.opt_str(self.reason.as_deref());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            target: read_event_id(r, "moderation.target")?,
            action: ModerationAction::decode(r)?,
            reason: r.opt_string("moderation.reason", MAX_REASON_BYTES)?,
        })
    }
}
