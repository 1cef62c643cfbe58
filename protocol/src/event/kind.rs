//! Event kinds: the numeric code on the wire, whether the kind travels on the shared log or
//! as a directed message, and the decoded body. Unknown codes decode to
//! [`EventBody::Unknown`] so a node can still verify, store and relay them.

use serde::{Deserialize, Serialize};

use super::body::BodyCodec;
use super::body::chat::{ChatMessage, ChatReaction, ConversationUpdate, ReadMarker};
use super::body::erasure::{Erasure, Redaction, Tombstone};
use super::body::mentoring::{
    BuddyRequest, CheckIn, MatchAnswer, MatchProposal, MatchUpdate, MentorOffer,
};
use super::body::moderation::ModerationDecision;
use super::body::peer_learning::{Post, Reaction, Reply, Retraction};
use super::body::profile::{NodeAnnouncement, Profile};
use super::body::report::{Report, SharedDecision};
use super::body::safeguarding::{ReferralAcknowledged, SafeguardingReferral};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;

/// Which delivery path a kind uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryClass {
    /// Numbered per origin and replicated to every node (or kept local to the origin).
    SharedLog,
    /// Sent only to the nodes of the people involved.
    Directed,
    /// Either: shared with the federation, or sent only to some nodes (profiles: a member
    /// who chats but never posts shows their name only to the people they talk with).
    Either,
}

macro_rules! event_kinds {
    ($($(#[$meta:meta])* $variant:ident($body:ty) = $code:literal, $class:ident;)+) => {
        /// The kinds this version of the protocol defines.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum EventKind {
            $($(#[$meta])* $variant = $code,)+
        }

        impl EventKind {
            /// Every defined kind.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];

            /// The kind's code on the wire.
            pub fn code(self) -> u16 {
                self as u16
            }

            /// The kind with this code, if this version defines it.
            pub fn from_code(code: u16) -> Option<Self> {
                match code {
                    $($code => Some(EventKind::$variant),)+
                    _ => None,
                }
            }

            /// Which delivery path events of this kind take.
            pub fn class(self) -> DeliveryClass {
                match self {
                    $(EventKind::$variant => DeliveryClass::$class,)+
                }
            }
        }

        /// An event's decoded body.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum EventBody {
            $($(#[$meta])* $variant($body),)+
            /// A kind this version does not know: kept as bytes so it can still be relayed.
            Unknown {
                /// The kind code.
                kind: u16,
                /// The body bytes, unparsed.
                bytes: Vec<u8>,
            },
        }

        impl EventBody {
            /// The body's kind code.
            pub fn kind_code(&self) -> u16 {
                match self {
                    $(EventBody::$variant(_) => $code,)+
                    EventBody::Unknown { kind, .. } => *kind,
                }
            }

            /// The body's kind, `None` when unknown to this version.
            pub fn kind(&self) -> Option<EventKind> {
                EventKind::from_code(self.kind_code())
            }

            pub(crate) fn encode(&self, w: &mut Writer) {
                match self {
                    $(EventBody::$variant(b) => b.encode(w),)+
                    EventBody::Unknown { bytes, .. } => w.raw(bytes),
                }
            }

            /// Decodes a body of the given kind; the whole input must be consumed.
            pub(crate) fn decode(kind: u16, bytes: &[u8]) -> Result<Self, DecodeError> {
                let mut r = Reader::new(bytes);
                let body = match kind {
                    $($code => EventBody::$variant(<$body>::decode(&mut r)?),)+
                    _ => return Ok(EventBody::Unknown { kind, bytes: bytes.to_vec() }),
                };
                r.finish("event body")?;
                Ok(body)
            }
        }
    };
}

event_kinds! {
    /// A peer-learning post.
    Post(Post) = 1, SharedLog;
    /// A reply in a thread.
    Reply(Reply) = 2, SharedLog;
    /// A reaction to a post or reply.
    Reaction(Reaction) = 3, SharedLog;
    /// A retraction of an earlier event.
    Retraction(Retraction) = 4, SharedLog;
    /// A member's profile.
    Profile(Profile) = 5, Either;
    /// A mentor's offer.
    MentorOffer(MentorOffer) = 6, SharedLog;
    /// A request for a mentor or buddy.
    BuddyRequest(BuddyRequest) = 7, Directed;
    /// A proposal from a buddy to a mentor.
    MatchProposal(MatchProposal) = 8, Directed;
    /// A mentor's answer to a proposal.
    MatchAnswer(MatchAnswer) = 9, Directed;
    /// A chat message.
    ChatMessage(ChatMessage) = 10, Directed;
    /// A check-in on a match.
    CheckIn(CheckIn) = 11, Directed;
    /// A moderation decision.
    ModerationDecision(ModerationDecision) = 12, SharedLog;
    /// A conversation's new state (created, people added or removed, renamed).
    ConversationUpdate(ConversationUpdate) = 13, Directed;
    /// A reaction to a chat message.
    ChatReaction(ChatReaction) = 14, Directed;
    /// A participant's read position.
    ReadMarker(ReadMarker) = 15, Directed;
    /// A match's agreement or closing.
    MatchUpdate(MatchUpdate) = 16, Directed;
    /// Where a node can be reached.
    NodeAnnouncement(NodeAnnouncement) = 17, SharedLog;
    /// A member's account is deleted: drop everything they wrote.
    Erasure(Erasure) = 18, SharedLog;
    /// The origin's tombstones for events of its own that were taken down: their content
    /// goes from every node.
    Redaction(Redaction) = 19, SharedLog;
    /// A member's report, sent by their node to the home node of what it is about, without
    /// naming the reporter.
    Report(Report) = 20, Directed;
    /// A node's moderators' decision (hidden there, or shown again), shared for other
    /// nodes to follow, review or ignore.
    SharedDecision(SharedDecision) = 21, SharedLog;
    /// A safeguarding concern about a member, sent to their home node's safeguarding
    /// leads.
    SafeguardingReferral(SafeguardingReferral) = 22, Directed;
    /// A safeguarding lead read a referral.
    ReferralAcknowledged(ReferralAcknowledged) = 23, Directed;
    /// What a node holds in place of an erased shared-log event. Never inside an event
    /// payload: tombstones have their own signed form (`SignedEvent::tombstone`).
    Tombstone(Tombstone) = 0xFFFF, SharedLog;
}
