//! Mentoring and buddying: offers, requests, explained suggestions, proposals, the match
//! lifecycle, cohort rounds and the coordinator dashboard.

use serde::{Deserialize, Serialize};

use crate::event::ConversationId;
use crate::event::body::mentoring::{
    Agreement, Asked, Availability, BuddyRequest, Closing, Fit, MentorOffer, Mode,
};
use crate::{EventId, MemberId, Timestamp};

/// The shared topic vocabulary for offers and requests (nodes may add their own).
pub const MENTORING_TOPICS: &[&str] = &[
    "funding",
    "volunteers",
    "co-production",
    "lived-experience",
    "burnout-and-wellbeing",
    "events",
    "evaluation",
    "governance",
    "safeguarding",
    "digital",
    "partnerships",
    "leadership",
    "peer-support",
    "community-engagement",
];

/// Why a match ended, as the web offers it; coordinators' counts use only these (anything
/// else a person typed is counted as "other", so free text never reaches a dashboard).
pub const CLOSING_REASONS: [&str; 4] = [
    "Goals met",
    "Not a good fit",
    "Moving on",
    "No longer have the time",
];

/// How a closing reason is counted on a dashboard: one of [`CLOSING_REASONS`] in lower
/// case (however it was typed), or "other".
pub fn closing_reason_count_key(reason: &str) -> String {
    let typed = crate::text::fold(reason.trim());
    CLOSING_REASONS
        .iter()
        .find(|r| crate::text::fold(r) == typed)
        .map(|r| r.to_lowercase())
        .unwrap_or_else(|| "other".to_owned())
}

/// The name people read for a topic of the vocabulary ("co-production" is "Co-production",
/// "burnout-and-wellbeing" is "Burnout and wellbeing"); a topic another node added is its
/// key with spaces for hyphens.
pub fn topic_name(key: &str) -> String {
    let known = match key {
        "funding" => "Funding",
        "volunteers" => "Volunteers",
        "co-production" => "Co-production",
        "lived-experience" => "Lived experience",
        "burnout-and-wellbeing" => "Burnout and wellbeing",
        "events" => "Events",
        "evaluation" => "Evaluation",
        "governance" => "Governance",
        "safeguarding" => "Safeguarding",
        "digital" => "Digital",
        "partnerships" => "Partnerships",
        "leadership" => "Leadership",
        "peer-support" => "Peer support",
        "community-engagement" => "Community engagement",
        other => {
            let spaced = other.replace('-', " ");
            let mut chars = spaced.chars();
            return match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            };
        }
    };
    known.to_owned()
}

/// `PUT /api/v1/mentoring/offer`: publish or update the member's mentor offer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishOffer {
    /// Topics from the vocabulary.
    pub topics: Vec<String>,
    /// Other topics in the mentor's words.
    #[serde(default)]
    pub other_topics: String,
    /// Lived-experience areas the mentor chooses to show.
    #[serde(default)]
    pub lived_experience: Vec<String>,
    /// Languages.
    pub languages: Vec<String>,
    /// Region.
    #[serde(default)]
    pub region: String,
    /// How they meet.
    pub mode: Mode,
    /// Time they can give.
    pub availability: Availability,
    /// Buddies at once.
    pub capacity: u16,
    /// A short bio.
    #[serde(default)]
    pub bio: String,
    /// Prefers buddies from other organisations.
    #[serde(default)]
    pub prefers_other_orgs: bool,
}

/// A mentor's offer as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferView {
    /// The mentor.
    pub mentor: MemberId,
    /// Their display name.
    pub mentor_name: String,
    /// Their organisation.
    pub organisation: String,
    /// The offer (status and places left as last published by the mentor's node).
    pub offer: MentorOffer,
    /// The offer event's id.
    pub id: EventId,
    /// When last changed.
    pub updated_at: Timestamp,
}

/// A buddy's request, which stays on their own node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    /// The request's id.
    pub id: String,
    /// Who asked.
    pub member: MemberId,
    /// `open`, `matched` or `withdrawn`.
    pub status: String,
    /// When asked.
    pub created_at: Timestamp,
    /// What they asked for.
    pub request: BuddyRequest,
}

/// One suggested mentor and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The offer.
    pub offer: OfferView,
    /// Higher is better.
    pub score: f64,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// What does not fit the request, in words ("meets in person only, in Kent"), to weigh
    /// against the reasons. Criteria marked essential exclude instead.
    #[serde(default)]
    pub trade_offs: Vec<String>,
}

/// `POST /api/v1/mentoring/proposals`: ask a mentor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Propose {
    /// The mentor.
    pub mentor: MemberId,
    /// A personal note.
    #[serde(default)]
    pub note: String,
    /// The request this answers (default: the member's open request).
    #[serde(default)]
    pub request: Option<String>,
}

/// Where a proposal or match stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    /// Waiting for the mentor.
    Pending,
    /// Accepted: the match is active.
    Active,
    /// The mentor said no.
    Declined,
    /// The mentor's last place went to someone else.
    NoLongerAvailable,
    /// Nobody answered in time.
    Expired,
    /// The buddy took it back.
    Withdrawn,
    /// The match ended.
    Closed,
}

/// One check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInView {
    /// Who checked in.
    pub by: MemberId,
    /// 1 (hard going) to 4 (going well).
    pub pulse: u8,
    /// First-meeting fit: shown to its author, and to the other person only when the
    /// author chose to share it.
    pub fit: Option<Fit>,
    /// Whether the author shared the fit with the other person.
    #[serde(default)]
    pub fit_shared: bool,
    /// The note, shown only to its author.
    pub note: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// Who proposed a match's agreement and whether the other person confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementStatus {
    /// The proposal's id: pass it to confirm exactly what was read.
    pub id: Option<EventId>,
    /// Who proposed it (absent for agreements written before confirmations).
    pub proposed_by: Option<MemberId>,
    /// When.
    pub proposed_at: Option<Timestamp>,
    /// The other person, once they confirmed it.
    pub confirmed_by: Option<MemberId>,
    /// When they confirmed.
    pub confirmed_at: Option<Timestamp>,
}

/// `POST /api/v1/mentoring/matches/{id}/agreement/confirm`: confirms the agreement the
/// other person proposed, named by its id so a change made meanwhile is not confirmed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmAgreement {
    /// `AgreementStatus::id` as read.
    pub agreement: EventId,
}

/// A proposal or match, as the buddy or the mentor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchView {
    /// The proposal's id (the match's id).
    pub id: EventId,
    /// `buddy` or `mentor`: the viewer's side.
    pub role: String,
    /// The buddy.
    pub buddy: MemberId,
    /// Their display name.
    pub buddy_name: String,
    /// The mentor.
    pub mentor: MemberId,
    /// Their display name.
    pub mentor_name: String,
    /// The buddy's note.
    pub note: String,
    /// Where it stands.
    pub status: MatchStatus,
    /// When proposed.
    pub created_at: Timestamp,
    /// When answered.
    pub answered_at: Option<Timestamp>,
    /// The mentor's kind word with the answer.
    pub answer_message: Option<String>,
    /// What both agreed: the newest agreement one proposed and the other confirmed (kept
    /// as written, line breaks and all). It stands while a newer proposal waits.
    pub agreement: Option<Agreement>,
    /// Who proposed `agreement` and who confirmed it.
    #[serde(default)]
    pub agreement_status: Option<AgreementStatus>,
    /// A proposal waiting for the other person's confirmation (a first agreement, or a
    /// change to `agreement`).
    #[serde(default)]
    pub proposed_agreement: Option<Agreement>,
    /// Who proposed it and when; its `id` is what the other person confirms.
    #[serde(default)]
    pub proposal_status: Option<AgreementStatus>,
    /// What the buddy's request asked for (topics, languages, how to meet), when the
    /// proposal came from a request.
    #[serde(default)]
    pub asked: Option<Asked>,
    /// Check-ins, oldest first.
    pub checkins: Vec<CheckInView>,
    /// The viewer's own reflection on how it ended (why, and a rating): private to them.
    pub closing: Option<Closing>,
    /// Who ended the match.
    #[serde(default)]
    pub closed_by: Option<MemberId>,
    /// When it ended.
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
    /// Their private conversation (active and closed matches).
    pub conversation: Option<ConversationId>,
    /// A reminder: the viewer's check-in is due (the agreed rhythm, or two weeks, has passed
    /// since their last one).
    #[serde(default)]
    pub checkin_due: bool,
}

/// `POST /api/v1/mentoring/matches/{id}/answer`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnswerProposal {
    /// Accept (true) or decline (false).
    pub accept: bool,
    /// An optional kind word.
    #[serde(default)]
    pub message: Option<String>,
}

/// `POST /api/v1/mentoring/matches/{id}/checkins`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewCheckIn {
    /// 1 (hard going) to 4 (going well).
    pub pulse: u8,
    /// After the first meeting: how the fit feels.
    #[serde(default)]
    pub fit: Option<Fit>,
    /// A private note.
    #[serde(default)]
    pub note: Option<String>,
    /// Show the fit to the other person too (otherwise only you, and your organisation's
    /// coordinators as a count, know it).
    #[serde(default)]
    pub share_fit: bool,
}

/// A pair proposed by a cohort round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortPair {
    /// The request.
    pub request: String,
    /// The buddy.
    pub buddy: MemberId,
    /// The mentor.
    pub mentor: MemberId,
    /// The mentor's name.
    pub mentor_name: String,
    /// The pair's score.
    pub score: f64,
    /// Why.
    pub reasons: Vec<String>,
    /// Once the round is sent: why this pair's proposal could not be (the offer was paused
    /// or full by then, the buddy had asked that mentor already, the buddy's account is
    /// gone). Absent for a pair that was sent, and in a draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_sent: Option<String>,
}

/// A cohort round: the optimal pairs for the organisation's open requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortRound {
    /// The round's id.
    pub id: String,
    /// `draft` until sent, then `sent`.
    pub status: String,
    /// When run.
    pub created_at: Timestamp,
    /// The proposed pairs.
    pub pairs: Vec<CohortPair>,
    /// Requests with no eligible mentor.
    pub unmatched: Vec<String>,
    /// Sum of the pairs' scores.
    pub total_score: f64,
}

/// `PATCH /api/v1/mentoring/cohort/{id}`: adjust a draft round.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EditRound {
    /// Requests to take out of the round.
    #[serde(default)]
    pub drop: Vec<String>,
    /// Requests to pair with a different mentor, as (request, mentor).
    #[serde(default)]
    pub reassign: Vec<(String, MemberId)>,
}

/// `GET /api/v1/mentoring/dashboard`: counts for coordinators, never content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Requests still looking for a mentor.
    pub open_requests: u64,
    /// Proposals waiting for an answer.
    pub pending_proposals: u64,
    /// Matches under way.
    pub active_matches: u64,
    /// Active matches with no check-in for two rhythms, or where a side said "not a good fit".
    pub at_risk: u64,
    /// Active matches whose check-in is overdue: no check-in by either person within the
    /// rhythm they agreed (two weeks without one); both were reminded.
    #[serde(default)]
    pub checkin_overdue: u64,
    /// Why matches ended, as this organisation's people said in their private reflections
    /// (one count per person; "no reason given yet" until someone here gives one).
    pub closed: Vec<(String, u64)>,
    /// First-meeting fit reported by this organisation's members: good, still deciding, not good.
    pub fit: [u64; 3],
    /// Average days from a request to an accepted match.
    pub average_days_to_match: Option<f64>,
    /// The last weeks, oldest first: requests made, matches started and matches closed.
    #[serde(default)]
    pub weeks: Vec<WeekCounts>,
}

/// One week of mentoring activity at an organisation (for the dashboard's chart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekCounts {
    /// The week's first moment (ms since the epoch, a Monday 00:00 UTC).
    pub starts_at: Timestamp,
    /// Requests for a mentor or buddy made by this organisation's members.
    pub requests: u64,
    /// Matches that started (accepted) involving this organisation's members.
    pub matches: u64,
    /// Matches that ended involving this organisation's members.
    pub closures: u64,
}

#[cfg(test)]
mod tests {
    use super::closing_reason_count_key;

    #[test]
    fn only_listed_reasons_are_counted_by_name() {
        assert_eq!(closing_reason_count_key("Goals met"), "goals met");
        assert_eq!(closing_reason_count_key("  GOALS MET "), "goals met");
        assert_eq!(
            closing_reason_count_key("She told me about her depression"),
            "other"
        );
        assert_eq!(closing_reason_count_key("=HYPERLINK(\"x\")"), "other");
    }
}
