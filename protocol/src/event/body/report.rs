//! Reports: a member asked moderators to look at something. A node files its own
//! members' reports in its own queue and sends the content's home node only what that
//! node needs to act (what, why, which node): never who reported it.

use serde::{Deserialize, Serialize};

use super::{BodyCodec, read_event_id, read_member, wire_enum};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::event::EventId;
use crate::identity::MemberId;

wire_enum!(
    /// Why something is reported: the short list a member chooses from.
    ReportReason, "report.reason" {
        /// Harmful or abusive.
        Harmful = 1,
        /// A risk to someone's safety.
        Safety = 2,
        /// Spam.
        Spam = 3,
        /// Misinformation.
        Misinformation = 4,
        /// Breaks the community guidelines.
        Guidelines = 5,
        /// Something else (the reporter's note says what).
        Other = 6,
    }
);

impl ReportReason {
    /// The reason in plain words, as the report form and the queue show it.
    pub fn label(self) -> &'static str {
        match self {
            ReportReason::Harmful => "Harmful or abusive",
            ReportReason::Safety => "A risk to someone's safety",
            ReportReason::Spam => "Spam",
            ReportReason::Misinformation => "Misinformation",
            ReportReason::Guidelines => "Breaks the community guidelines",
            ReportReason::Other => "Something else",
        }
    }
}

/// What a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportTarget {
    /// A post, reply or chat message, by its original id.
    Event(EventId),
    /// A person.
    Member(MemberId),
}

impl std::fmt::Display for ReportTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportTarget::Event(id) => write!(f, "event {id}"),
            ReportTarget::Member(m) => write!(f, "member {m}"),
        }
    }
}

/// A report sent to the home node of what it is about (a directed event authored by the
/// reporting node itself, `@node:<name>`). It carries no note and no reporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// What is reported.
    pub target: ReportTarget,
    /// Why.
    pub reason: ReportReason,
}

impl Report {
    fn encode_target(&self, w: &mut Writer) {
        match &self.target {
            ReportTarget::Event(id) => {
                w.u8(1);
                w.raw(id.as_bytes());
            }
            ReportTarget::Member(m) => {
                w.u8(2);
                w.str(m.as_str());
            }
        }
    }

    fn decode_target(r: &mut Reader<'_>, kind: &'static str) -> Result<ReportTarget, DecodeError> {
        let (field, event, member) = match kind {
            "decision" => ("decision.target", "decision.event", "decision.member"),
            _ => ("report.target", "report.event", "report.member"),
        };
        Ok(match r.u8(field)? {
            1 => ReportTarget::Event(read_event_id(r, event)?),
            2 => ReportTarget::Member(read_member(r, member)?),
            v => {
                return Err(DecodeError::InvalidValue {
                    field,
                    value: u64::from(v),
                });
            }
        })
    }
}

impl BodyCodec for Report {
    fn encode(&self, w: &mut Writer) {
        self.encode_target(w);
        w.u8(self.reason.code());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            target: Report::decode_target(r, "report")?,
            reason: ReportReason::decode(r)?,
        })
    }
}

wire_enum!(
    /// What a node's moderators decided about something, shared with other nodes.
    DecisionAction, "decision.action" {
        /// Hidden at the deciding node.
        Hide = 1,
        /// Shown again there.
        Restore = 2,
    }
);

/// A node's moderators' decision, published on the shared log (authored as
/// `@node:<name>`, never naming the moderator) for other nodes to follow, review or
/// ignore as each chooses for that node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedDecision {
    /// What it is about.
    pub target: ReportTarget,
    /// What they decided.
    pub action: DecisionAction,
    /// Why, in their words (at most 1,000 bytes).
    pub reason: String,
}

impl BodyCodec for SharedDecision {
    fn encode(&self, w: &mut Writer) {
        Report {
            target: self.target.clone(),
            reason: ReportReason::Other,
        }
        .encode_target(w);
        w.u8(self.action.code());
        w.str(&self.reason);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            target: Report::decode_target(r, "decision")?,
            action: DecisionAction::decode(r)?,
            reason: r
                .str("decision.reason", crate::limits::MAX_REASON_BYTES)?
                .to_owned(),
        })
    }
}
