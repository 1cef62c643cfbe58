//! Mentoring and buddying bodies: offers (shared), requests, proposals, answers and
//! check-ins (directed).

use serde::{Deserialize, Serialize};

use super::{BodyCodec, read_event_id, read_member, wire_enum};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::event::EventId;
use crate::identity::MemberId;
use crate::limits::*;

wire_enum!(
    /// How a pair would meet.
    Mode, "mode" {
        /// Video or phone.
        Online = 1,
        /// Face to face.
        InPerson = 2,
        /// Either works.
        Either = 3,
    }
);

wire_enum!(
    /// Whether an offer is taking buddies.
    OfferStatus, "offer.status" {
        /// Visible and taking proposals.
        Open = 1,
        /// Hidden for now; can be reopened.
        Paused = 2,
        /// Taken down for good.
        Withdrawn = 3,
    }
);

wire_enum!(
    /// A mentor's answer to a proposal, or why none will come.
    Answer, "answer" {
        /// The mentor said yes; the match is open.
        Accepted = 1,
        /// The mentor said no (no reason needed).
        Declined = 2,
        /// The mentor's last place was taken first.
        NoLongerAvailable = 3,
        /// Nobody answered in time.
        Expired = 4,
        /// The buddy took the proposal back.
        Withdrawn = 5,
    }
);

wire_enum!(
    /// How the first meeting felt.
    Fit, "fit" {
        /// A good fit.
        Good = 1,
        /// Not sure yet.
        Deciding = 2,
        /// Not a good fit.
        NotGood = 3,
    }
);

/// When someone can give or needs time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Availability {
    /// Hours per month.
    pub hours_per_month: u16,
    /// Days of the week as bits: bit 0 is Monday, bit 6 is Sunday.
    pub days: u8,
}

impl Availability {
    fn encode(&self, w: &mut Writer) {
        w.u16(self.hours_per_month);
        w.u8(self.days);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let hours_per_month = r.u16("availability.hours_per_month")?;
        let days = r.u8("availability.days")?;
        if days & 0x80 != 0 {
            return Err(DecodeError::InvalidValue {
                field: "availability.days",
                value: u64::from(days),
            });
        }
        Ok(Self {
            hours_per_month,
            days,
        })
    }
}

/// A mentor's offer, shared across the federation. A newer offer from the same author
/// replaces the older one; `places_left` is decided by the mentor's home node only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MentorOffer {
    /// Open, paused or withdrawn.
    pub status: OfferStatus,
    /// Topics from the shared vocabulary.
    pub topics: Vec<String>,
    /// Other topics in the mentor's own words.
    pub other_topics: String,
    /// Lived-experience areas the mentor chose to show (may be empty).
    pub lived_experience: Vec<String>,
    /// Languages spoken.
    pub languages: Vec<String>,
    /// Region (free text, e.g. "Cheshire").
    pub region: String,
    /// Online, in person or either.
    pub mode: Mode,
    /// Time the mentor can give.
    pub availability: Availability,
    /// How many buddies at once.
    pub capacity: u16,
    /// Places still free, as last published by the home node.
    pub places_left: u16,
    /// A short bio.
    pub bio: String,
    /// Whether the mentor prefers buddies from other organisations.
    pub prefers_other_orgs: bool,
}

impl BodyCodec for MentorOffer {
    fn encode(&self, w: &mut Writer) {
        w.u8(self.status.code());
        w.str_list(&self.topics);
        w.str(&self.other_topics);
        w.str_list(&self.lived_experience);
        w.str_list(&self.languages);
        w.str(&self.region);
        w.u8(self.mode.code());
        self.availability.encode(w);
        w.u16(self.capacity);
        w.u16(self.places_left);
        w.str(&self.bio);
        w.bool(self.prefers_other_orgs);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            status: OfferStatus::decode(r)?,
            topics: r.str_list("offer.topics", MAX_LIST_ITEMS, MAX_SHORT_TEXT_BYTES)?,
            other_topics: r.string("offer.other_topics", MAX_NOTE_BYTES)?,
            lived_experience: r.str_list(
                "offer.lived_experience",
                MAX_LIST_ITEMS,
                MAX_SHORT_TEXT_BYTES,
            )?,
            languages: r.str_list("offer.languages", MAX_LIST_ITEMS, MAX_SHORT_TEXT_BYTES)?,
            region: r.string("offer.region", MAX_SHORT_TEXT_BYTES)?,
            mode: Mode::decode(r)?,
            availability: Availability::decode(r)?,
            capacity: r.u16("offer.capacity")?,
            places_left: r.u16("offer.places_left")?,
            bio: r.string("offer.bio", MAX_BIO_BYTES)?,
            prefers_other_orgs: r.bool("offer.prefers_other_orgs")?,
        })
    }
}

/// A "nice to have" criterion and how much it matters (0-100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weighted {
    /// Criterion name, e.g. `language`, `region`, `mode`, `lived_experience`.
    pub criterion: String,
    /// Weight from 0 to 100.
    pub weight: u8,
}

/// A member's request for a mentor or buddy. It normally stays on the member's home node;
/// it is a directed event so it can be shared with a consenting coordinator's node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuddyRequest {
    /// Topics wanted.
    pub topics: Vec<String>,
    /// Goals in the member's own words.
    pub goals: String,
    /// Languages the member speaks.
    pub languages: Vec<String>,
    /// Region.
    pub region: String,
    /// Preferred way to meet.
    pub mode: Mode,
    /// Time the member has.
    pub availability: Availability,
    /// Hard filters (criterion names); an offer failing one is never suggested.
    pub must: Vec<String>,
    /// Soft preferences with weights.
    pub nice_to_have: Vec<Weighted>,
    /// Whether the member wants someone from another organisation.
    pub wants_other_org: bool,
}

impl BodyCodec for BuddyRequest {
    fn encode(&self, w: &mut Writer) {
        w.str_list(&self.topics);
        w.str(&self.goals);
        w.str_list(&self.languages);
        w.str(&self.region);
        w.u8(self.mode.code());
        self.availability.encode(w);
        w.str_list(&self.must);
        w.count(self.nice_to_have.len());
        for item in &self.nice_to_have {
            w.str(&item.criterion);
            w.u8(item.weight);
        }
        w.bool(self.wants_other_org);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let topics = r.str_list("request.topics", MAX_LIST_ITEMS, MAX_SHORT_TEXT_BYTES)?;
        let goals = r.string("request.goals", MAX_NOTE_BYTES)?;
        let languages = r.str_list("request.languages", MAX_LIST_ITEMS, MAX_SHORT_TEXT_BYTES)?;
        let region = r.string("request.region", MAX_SHORT_TEXT_BYTES)?;
        let mode = Mode::decode(r)?;
        let availability = Availability::decode(r)?;
        let must = r.str_list("request.must", MAX_LIST_ITEMS, MAX_SHORT_TEXT_BYTES)?;
        let count = r.count("request.nice_to_have", MAX_LIST_ITEMS)?;
        let mut nice_to_have = Vec::with_capacity(count);
        for _ in 0..count {
            let criterion = r.string("request.nice_to_have", MAX_SHORT_TEXT_BYTES)?;
            let weight = r.u8("request.nice_to_have.weight")?;
            if weight > 100 {
                return Err(DecodeError::InvalidValue {
                    field: "request.nice_to_have.weight",
                    value: u64::from(weight),
                });
            }
            nice_to_have.push(Weighted { criterion, weight });
        }
        Ok(Self {
            topics,
            goals,
            languages,
            region,
            mode,
            availability,
            must,
            nice_to_have,
            wants_other_org: r.bool("request.wants_other_org")?,
        })
    }
}

/// A buddy's proposal to a mentor, sent to the mentor's node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchProposal {
    /// The offer being answered.
    pub offer: EventId,
    /// The mentor asked.
    pub mentor: MemberId,
    /// A personal note from the buddy.
    pub note: String,
    /// What the buddy's request asked for, so the mentor knows who is asking even without
    /// a note. Absent in proposals made without a request (and in those from before it was
    /// sent); a trailing section on the wire, written only when present.
    pub asked: Option<Asked>,
}

/// The parts of a buddy's request a proposal shows the mentor: never the goals or region,
/// which stay on the buddy's node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asked {
    /// Topics wanted.
    pub topics: Vec<String>,
    /// Languages the buddy speaks.
    pub languages: Vec<String>,
    /// How they would like to meet.
    pub mode: Mode,
}

impl BodyCodec for MatchProposal {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.offer.as_bytes());
        w.str(self.mentor.as_str());
        w.str(&self.note);
        if let Some(a) = &self.asked {
            w.str_list(&a.topics);
            w.str_list(&a.languages);
            w.u8(a.mode.code());
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offer = read_event_id(r, "proposal.offer")?;
        let mentor = read_member(r, "proposal.mentor")?;
        let note = r.string("proposal.note", MAX_NOTE_BYTES)?;
        let asked = if r.remaining() > 0 {
            let topics = r.str_list("proposal.topics", MAX_LIST_ITEMS, MAX_SHORT_TEXT_BYTES)?;
            let languages =
                r.str_list("proposal.languages", MAX_LIST_ITEMS, MAX_SHORT_TEXT_BYTES)?;
            let mode = Mode::decode(r)?;
            Some(Asked {
                topics,
                languages,
                mode,
            })
        } else {
            None
        };
        Ok(Self {
            offer,
            mentor,
            note,
            asked,
        })
    }
}

/// The answer to a proposal, sent back to the buddy's node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchAnswer {
    /// The proposal answered (its event id is the match id).
    pub proposal: EventId,
    /// The answer.
    pub answer: Answer,
    /// An optional kind word from the mentor.
    pub message: Option<String>,
}

impl BodyCodec for MatchAnswer {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.proposal.as_bytes());
        w.u8(self.answer.code());
        w.opt_str(self.message.as_deref());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            proposal: read_event_id(r, "answer.proposal")?,
            answer: Answer::decode(r)?,
            message: r.opt_string("answer.message", MAX_NOTE_BYTES)?,
        })
    }
}

/// A check-in on a match: a pulse from 1 (hard going) to 4 (going well), and after the first
/// meeting, how the fit feels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    /// The match (its proposal's event id).
    pub proposal: EventId,
    /// 1 to 4.
    pub pulse: u8,
    /// The first-meeting fit, when this check-in carries it.
    pub fit: Option<Fit>,
    /// An optional private note.
    pub note: Option<String>,
}

impl BodyCodec for CheckIn {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.proposal.as_bytes());
        w.u8(self.pulse);
        match self.fit {
            None => w.u8(0),
            Some(fit) => w.u8(fit.code()),
        }
        w.opt_str(self.note.as_deref());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let proposal = read_event_id(r, "checkin.proposal")?;
        let pulse = r.u8("checkin.pulse")?;
        if !(1..=4).contains(&pulse) {
            return Err(DecodeError::InvalidValue {
                field: "checkin.pulse",
                value: u64::from(pulse),
            });
        }
        // The fit byte is 0 for "not given", otherwise a `Fit` code.
        let fit = match r.u8("fit")? {
            0 => None,
            v => Some(Fit::from_code(v).ok_or(DecodeError::InvalidValue {
                field: "fit",
                value: u64::from(v),
            })?),
        };
        Ok(Self {
            proposal,
            pulse,
            fit,
            note: r.opt_string("checkin.note", MAX_NOTE_BYTES)?,
        })
    }
}

/// What a matched pair agreed to work on and how often to meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Goals in their own words.
    pub goals: String,
    /// Days between meetings (and check-ins).
    pub rhythm_days: u16,
    /// Expected end (ms since the epoch; 0 when open-ended).
    pub ends_at: u64,
}

/// A match being closed, with a reason and a rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closing {
    /// Why (e.g. "goals met", "not a good fit", "moving on").
    pub reason: String,
    /// 1 (poor) to 5 (excellent), 0 when not given.
    pub rating: u8,
}

/// A change to a match, sent between the buddy's and the mentor's nodes: an agreement
/// proposed by either side, the other side's confirmation of one, or the match's closing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchUpdate {
    /// The match (its proposal's event id).
    pub proposal: EventId,
    /// An agreement proposed by the author; it stands once the other person confirms it.
    pub agreement: Option<Agreement>,
    /// The closing, when this update closes the match. Its reason and rating stay on the
    /// closer's node (each person's reflection is private): sent, they are empty and 0.
    pub closing: Option<Closing>,
    /// The update proposing the agreement that the author confirms (the other person's).
    /// A trailing section on the wire, written only when present.
    #[serde(default)]
    pub confirms: Option<EventId>,
}

impl BodyCodec for MatchUpdate {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.proposal.as_bytes());
        match &self.agreement {
            None => w.u8(0),
            Some(a) => {
                w.u8(1);
                w.str(&a.goals);
                w.u16(a.rhythm_days);
                w.u64(a.ends_at);
            }
        }
        match &self.closing {
            None => w.u8(0),
            Some(c) => {
                w.u8(1);
                w.str(&c.reason);
                w.u8(c.rating);
            }
        }
        if let Some(id) = &self.confirms {
            w.raw(id.as_bytes());
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let proposal = read_event_id(r, "match_update.proposal")?;
        let agreement = if r.bool("match_update.agreement")? {
            Some(Agreement {
                goals: r.string("match_update.goals", MAX_NOTE_BYTES)?,
                rhythm_days: r.u16("match_update.rhythm_days")?,
                ends_at: r.u64("match_update.ends_at")?,
            })
        } else {
            None
        };
        let closing = if r.bool("match_update.closing")? {
            let reason = r.string("match_update.reason", MAX_REASON_BYTES)?;
            let rating = r.u8("match_update.rating")?;
            if rating > 5 {
                return Err(DecodeError::InvalidValue {
                    field: "match_update.rating",
                    value: u64::from(rating),
                });
            }
            Some(Closing { reason, rating })
        } else {
            None
        };
        let confirms = if r.remaining() > 0 {
            Some(read_event_id(r, "match_update.confirms")?)
        } else {
            None
        };
        Ok(Self {
            proposal,
            agreement,
            closing,
            confirms,
        })
    }
}
