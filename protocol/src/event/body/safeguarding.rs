//! Safeguarding referrals between organisations: a moderator or safeguarding lead raises
//! a concern about a member of another organisation with that member's home node, whose
//! safeguarding leads alone read it, and acknowledge it.

use serde::{Deserialize, Serialize};

use super::{BodyCodec, read_event_id, read_member};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::event::EventId;
use crate::identity::MemberId;

/// Most content ids a referral names.
pub const MAX_REFERRAL_CONTENT: usize = 20;
/// Longest concern (bytes).
pub const MAX_CONCERN_BYTES: usize = 4000;
/// Longest contact route (bytes).
pub const MAX_CONTACT_BYTES: usize = 500;

/// A safeguarding concern sent to the home node of the member it is about (directed,
/// authored by the referring lead or moderator). Carries the minimum: who, which
/// content, the concern in the referrer's words, and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeguardingReferral {
    /// The member of concern (a member of the receiving node).
    pub member: MemberId,
    /// Posts, replies or messages the concern is about (original ids), at most
    /// [`MAX_REFERRAL_CONTENT`].
    pub content: Vec<EventId>,
    /// The concern, in the referrer's words (at most [`MAX_CONCERN_BYTES`]).
    pub concern: String,
    /// How to reach the referrer (at most [`MAX_CONTACT_BYTES`]).
    pub contact: String,
}

impl BodyCodec for SafeguardingReferral {
    fn encode(&self, w: &mut Writer) {
        w.str(self.member.as_str());
        w.count(self.content.len());
        for id in &self.content {
            w.raw(id.as_bytes());
        }
        w.str(&self.concern);
        w.str(&self.contact);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let member = read_member(r, "referral.member")?;
        let n = r.count("referral.content", MAX_REFERRAL_CONTENT)?;
        let mut content = Vec::with_capacity(n);
        for _ in 0..n {
            content.push(read_event_id(r, "referral.content")?);
        }
        Ok(Self {
            member,
            content,
            concern: r.str("referral.concern", MAX_CONCERN_BYTES)?.to_owned(),
            contact: r.str("referral.contact", MAX_CONTACT_BYTES)?.to_owned(),
        })
    }
}

/// The home node's safeguarding lead read a referral (directed back to the referring
/// node, authored by that lead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralAcknowledged {
    /// The referral event.
    pub referral: EventId,
}

impl BodyCodec for ReferralAcknowledged {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.referral.as_bytes());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            referral: read_event_id(r, "acknowledged.referral")?,
        })
    }
}
