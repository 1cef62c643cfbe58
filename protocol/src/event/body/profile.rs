//! A member's public profile, published by their home node.

use serde::{Deserialize, Serialize};

use super::BodyCodec;
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::limits::*;

/// A member's profile; the latest one from the member's home node wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The name people see.
    pub display_name: String,
    /// The member's organisation as their node presents it.
    pub organisation: String,
    /// A short introduction.
    pub bio: String,
    /// What they are happy to talk about (shown in the people directory).
    pub happy_to_talk_about: String,
    /// Whether they appear in the federation-wide people directory.
    pub listed: bool,
    /// Whether they take no messages at all for now (suspended by their organisation):
    /// other nodes offer no way to write to them. A trailing byte on the wire, written only
    /// when set.
    #[serde(default)]
    pub away: bool,
}

impl BodyCodec for Profile {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.display_name);
        w.str(&self.organisation);
        w.str(&self.bio);
        w.str(&self.happy_to_talk_about);
        w.bool(self.listed);
        if self.away {
            w.bool(true);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            display_name: r.string("profile.display_name", MAX_DISPLAY_NAME_BYTES)?,
            organisation: r.string("profile.organisation", MAX_DISPLAY_NAME_BYTES)?,
            bio: r.string("profile.bio", MAX_BIO_BYTES)?,
            happy_to_talk_about: r.string("profile.happy_to_talk_about", MAX_NOTE_BYTES)?,
            listed: r.bool("profile.listed")?,
            // Written only when true, so one encoding per profile: a trailing 0 is refused.
            away: match (r.remaining() > 0)
                .then(|| r.u8("profile.away"))
                .transpose()?
            {
                None => false,
                Some(1) => true,
                Some(v) => {
                    return Err(DecodeError::InvalidValue {
                        field: "profile.away",
                        value: u64::from(v),
                    });
                }
            },
        })
    }
}

/// A node telling the federation where it can be reached and whose it is, so nodes that
/// are not paired with it can still deliver directed events (chat, proposals) straight to
/// it. Written by the node itself, as the reserved member `@node:<its name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAnnouncement {
    /// The node's public address (http or https URL).
    pub address: String,
    /// The organisation running it.
    pub organisation: String,
}

impl BodyCodec for NodeAnnouncement {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.address);
        w.str(&self.organisation);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            address: r.string("announcement.address", MAX_ADDRESS_BYTES)?,
            organisation: r.string("announcement.organisation", MAX_DISPLAY_NAME_BYTES)?,
        })
    }
}
