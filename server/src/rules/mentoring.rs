//! Mentoring between two people's nodes. At ingest: a proposal concerns one of this node's
//! members (the buddy who wrote it or the mentor it is for); answers, check-ins and match
//! updates wait for their proposal and come from its buddy or its mentor. In the mentoring
//! processor (which applies them to the match's state): the mentor answers, only the buddy
//! withdraws, only a pending proposal is answered (but a withdrawal that crossed the
//! mentor's answer wins, so both nodes end the same), and only an active match is updated.

use kindred_protocol::api::MatchStatus;
use kindred_protocol::event::EventKind;
use kindred_protocol::event::body::mentoring::{Answer, MatchProposal, MatchUpdate};
use kindred_protocol::{EventId, EventPayload, MemberId};

use super::{Awaiting, Context, Decision, Effect, Refusal, View};

pub(super) fn proposal(ctx: &Context<'_>, p: &EventPayload, proposal: &MatchProposal) -> Decision {
    let ours = |m: &MemberId| m.node_name() == ctx.self_name;
    if ours(&p.author) || ours(&proposal.mentor) {
        Decision::Apply(Effect::Keep)
    } else {
        Decision::Refuse(Refusal::NotForThisNode)
    }
}

/// An answer, check-in or match update about `proposal`.
pub(super) fn in_match<V: View>(
    p: &EventPayload,
    proposal: &EventId,
    view: &V,
) -> Result<Decision, V::Error> {
    let entry = match view.entry(proposal)? {
        Some(e) if e.refused => {
            return Ok(Decision::Refuse(Refusal::TargetRefused(*proposal)));
        }
        Some(e) if !e.held => e,
        None if view.gone(proposal)? => {
            return Ok(Decision::Refuse(Refusal::TargetRefused(*proposal)));
        }
        _ => return Ok(Decision::Hold(Awaiting::Event(*proposal))),
    };
    if entry.kind != EventKind::MatchProposal.code() {
        return Ok(Decision::Refuse(Refusal::WrongTarget(*proposal)));
    }
    if p.author != entry.author && Some(&p.author) != entry.mentor.as_ref() {
        return Ok(Decision::Refuse(Refusal::NotInTheMatch(p.author.clone())));
    }
    Ok(Decision::Apply(Effect::Keep))
}

/// A match update: as [`in_match`], and a confirmation waits for the update it confirms,
/// which must be an agreement on the same match.
pub(super) fn update<V: View>(
    p: &EventPayload,
    u: &MatchUpdate,
    view: &V,
) -> Result<Decision, V::Error> {
    let decision = in_match(p, &u.proposal, view)?;
    let Some(target) = &u.confirms else {
        return Ok(decision);
    };
    if !matches!(decision, Decision::Apply(_)) {
        return Ok(decision);
    }
    match view.entry(target)? {
        Some(e) if e.refused => Ok(Decision::Refuse(Refusal::TargetRefused(*target))),
        Some(e) if !e.held => {
            if e.kind == EventKind::MatchUpdate.code() {
                Ok(decision)
            } else {
                Ok(Decision::Refuse(Refusal::WrongTarget(*target)))
            }
        }
        None if view.gone(target)? => Ok(Decision::Refuse(Refusal::TargetRefused(*target))),
        _ => Ok(Decision::Hold(Awaiting::Event(*target))),
    }
}

/// The people in a match and where it stands, as the processor holds it.
pub(crate) struct MatchParties<'a> {
    /// Who asked.
    pub(crate) buddy: &'a MemberId,
    /// Who was asked.
    pub(crate) mentor: &'a MemberId,
    /// Where it stands.
    pub(crate) status: MatchStatus,
}

/// What an answer by `author` does to a proposal: its new status, or why not.
pub(crate) fn answer(
    m: &MatchParties<'_>,
    author: &MemberId,
    answer: Answer,
) -> Result<MatchStatus, Refusal> {
    let allowed = match answer {
        Answer::Withdrawn => author == m.buddy,
        _ => author == m.mentor,
    };
    if !allowed {
        return Err(Refusal::NotInTheMatch(author.clone()));
    }
    // A buddy's node sends a withdrawal only for a proposal it holds as waiting, so one
    // that finds the mentor's answer here crossed it: the buddy did not want the match.
    // It wins over whatever the mentor answered, on every node, whichever arrives first
    // (the buddy's node, having withdrawn first, refuses the mentor's answer below).
    let crossed = answer == Answer::Withdrawn
        && matches!(
            m.status,
            MatchStatus::Active
                | MatchStatus::Closed
                | MatchStatus::Declined
                | MatchStatus::NoLongerAvailable
                | MatchStatus::Expired
        );
    if m.status != MatchStatus::Pending && !crossed {
        return Err(Refusal::Superseded);
    }
    Ok(match answer {
        Answer::Accepted => MatchStatus::Active,
        Answer::Declined => MatchStatus::Declined,
        Answer::NoLongerAvailable => MatchStatus::NoLongerAvailable,
        Answer::Expired => MatchStatus::Expired,
        Answer::Withdrawn => MatchStatus::Withdrawn,
    })
}

/// Whether `author` may record a check-in on the match.
pub(crate) fn check_in(m: &MatchParties<'_>, author: &MemberId) -> Result<(), Refusal> {
    if author != m.buddy && author != m.mentor {
        return Err(Refusal::NotInTheMatch(author.clone()));
    }
    Ok(())
}

/// Whether `author` may change the match's agreement or close it.
pub(crate) fn match_update(m: &MatchParties<'_>, author: &MemberId) -> Result<(), Refusal> {
    check_in(m, author)?;
    if m.status != MatchStatus::Active {
        return Err(Refusal::Superseded);
    }
    Ok(())
}

/// How a closed match came to an end, as the processor holds it.
pub(crate) struct Ending<'a> {
    /// When the mentor accepted (ms since the Unix epoch); `None`: never active.
    pub(crate) began: Option<u64>,
    /// Who closed it.
    pub(crate) by: Option<&'a MemberId>,
    /// When they closed it (ms since the Unix epoch).
    pub(crate) at: Option<u64>,
}

/// Whether a closing by `author` dated `at` crossed the closing that already ended the
/// match: both people ended it at once. It did if it comes from the other person in the
/// match, was made while the match was active (never dated before it began) and is earlier
/// than the one that stands (by time, ties broken by member id). The earlier closing then
/// stands on both nodes, whichever each heard first.
pub(crate) fn crossed_closing(
    m: &MatchParties<'_>,
    ending: &Ending<'_>,
    author: &MemberId,
    at: u64,
) -> bool {
    let Some(by) = ending.by else {
        return false;
    };
    m.status == MatchStatus::Closed
        && check_in(m, author).is_ok()
        && by != author
        && ending.began.is_some_and(|began| at >= began)
        && (at, author.as_str()) < (ending.at.unwrap_or(u64::MAX), by.as_str())
}

/// Whether `author` may confirm the agreement `proposed_by` proposed: only the other
/// person in the match confirms, so "what you agreed" is always two people's word.
pub(crate) fn confirm(
    m: &MatchParties<'_>,
    author: &MemberId,
    proposed_by: &MemberId,
) -> Result<(), Refusal> {
    match_update(m, author)?;
    if author == proposed_by {
        return Err(Refusal::OwnAgreement(author.clone()));
    }
    Ok(())
}

/// Whether `author` may record their own reflection on a match that ended (kept on their
/// node only).
pub(crate) fn reflect(m: &MatchParties<'_>, author: &MemberId) -> Result<(), Refusal> {
    check_in(m, author)?;
    if m.status != MatchStatus::Closed {
        return Err(Refusal::Superseded);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::memory::member;
    use super::*;

    #[test]
    fn answers_by_status_and_person() {
        let buddy = member("@bea:c.org");
        let mentor = member("@ann:a.org");
        let other = member("@h:h.org");
        let pending = MatchParties {
            buddy: &buddy,
            mentor: &mentor,
            status: MatchStatus::Pending,
        };
        let active = MatchParties {
            status: MatchStatus::Active,
            ..pending
        };
        let withdrawn = MatchParties {
            status: MatchStatus::Withdrawn,
            ..pending
        };
        let closed = MatchParties {
            status: MatchStatus::Closed,
            ..pending
        };
        let cases = [
            (&pending, &mentor, Answer::Accepted, Ok(MatchStatus::Active)),
            (
                &pending,
                &mentor,
                Answer::Declined,
                Ok(MatchStatus::Declined),
            ),
            (
                &pending,
                &buddy,
                Answer::Withdrawn,
                Ok(MatchStatus::Withdrawn),
            ),
            (
                &pending,
                &buddy,
                Answer::Accepted,
                Err(Refusal::NotInTheMatch(buddy.clone())),
            ),
            (
                &pending,
                &mentor,
                Answer::Withdrawn,
                Err(Refusal::NotInTheMatch(mentor.clone())),
            ),
            (
                &pending,
                &other,
                Answer::Accepted,
                Err(Refusal::NotInTheMatch(other.clone())),
            ),
            (&active, &mentor, Answer::Declined, Err(Refusal::Superseded)),
            // Crossed: the buddy withdrew while the mentor said yes.
            (
                &active,
                &buddy,
                Answer::Withdrawn,
                Ok(MatchStatus::Withdrawn),
            ),
            (
                &active,
                &mentor,
                Answer::Withdrawn,
                Err(Refusal::NotInTheMatch(mentor.clone())),
            ),
            (
                &withdrawn,
                &mentor,
                Answer::Accepted,
                Err(Refusal::Superseded),
            ),
            (
                &withdrawn,
                &buddy,
                Answer::Withdrawn,
                Err(Refusal::Superseded),
            ),
            // Accepted and then closed before the withdrawal arrived: still crossed (the
            // buddy's node never saw the match, and refuses the closing).
            (
                &closed,
                &buddy,
                Answer::Withdrawn,
                Ok(MatchStatus::Withdrawn),
            ),
        ];
        for (m, author, a, expected) in cases {
            assert_eq!(answer(m, author, a), expected, "{author} {a:?}");
        }
        assert_eq!(check_in(&active, &buddy), Ok(()));
        assert_eq!(
            check_in(&active, &other),
            Err(Refusal::NotInTheMatch(other.clone()))
        );
        assert_eq!(match_update(&pending, &mentor), Err(Refusal::Superseded));
        assert_eq!(match_update(&active, &mentor), Ok(()));
    }

    #[test]
    fn the_earlier_of_two_crossing_closings_stands() {
        let buddy = member("@bea:c.org");
        let mentor = member("@ann:a.org");
        let other = member("@h:h.org");
        let closed = MatchParties {
            buddy: &buddy,
            mentor: &mentor,
            status: MatchStatus::Closed,
        };
        let active = MatchParties {
            status: MatchStatus::Active,
            ..closed
        };
        // The mentor closed it at 2,000; it began at 1,000.
        let by_mentor = Ending {
            began: Some(1_000),
            by: Some(&mentor),
            at: Some(2_000),
        };
        let by_buddy = Ending {
            by: Some(&buddy),
            ..by_mentor
        };
        let never_began = Ending {
            began: None,
            ..by_mentor
        };
        let nobody = Ending {
            by: None,
            ..by_mentor
        };
        // (match, ending, closing author, closing time, crossed)
        let cases = [
            (&closed, &by_mentor, &buddy, 1_500, true),
            (&closed, &by_mentor, &buddy, 1_000, true),
            // Later than the closing that stands: too late.
            (&closed, &by_mentor, &buddy, 2_500, false),
            // Same time: ties go to the smaller member id ("@ann" < "@bea").
            (&closed, &by_mentor, &buddy, 2_000, false),
            (&closed, &by_buddy, &mentor, 2_000, true),
            // Dated before the match began.
            (&closed, &by_mentor, &buddy, 999, false),
            (&closed, &by_mentor, &buddy, 0, false),
            (&closed, &never_began, &buddy, 1_500, false),
            // The same person again, or someone outside the match.
            (&closed, &by_mentor, &mentor, 1_500, false),
            (&closed, &by_mentor, &other, 1_500, false),
            // Not closed, or closed by nobody known: nothing crossed.
            (&active, &by_mentor, &buddy, 1_500, false),
            (&closed, &nobody, &buddy, 1_500, false),
        ];
        for (m, ending, author, at, expected) in cases {
            assert_eq!(
                crossed_closing(m, ending, author, at),
                expected,
                "{author} at {at}"
            );
        }
    }

    #[test]
    fn only_the_other_person_confirms_and_both_reflect() {
        let buddy = member("@bea:c.org");
        let mentor = member("@ann:a.org");
        let other = member("@h:h.org");
        let active = MatchParties {
            buddy: &buddy,
            mentor: &mentor,
            status: MatchStatus::Active,
        };
        let closed = MatchParties {
            status: MatchStatus::Closed,
            ..active
        };
        // (match, confirmer, proposer, expected)
        let cases = [
            (&active, &mentor, &buddy, Ok(())),
            (&active, &buddy, &mentor, Ok(())),
            (
                &active,
                &buddy,
                &buddy,
                Err(Refusal::OwnAgreement(buddy.clone())),
            ),
            (
                &active,
                &other,
                &buddy,
                Err(Refusal::NotInTheMatch(other.clone())),
            ),
            (&closed, &mentor, &buddy, Err(Refusal::Superseded)),
        ];
        for (m, author, proposer, expected) in cases {
            assert_eq!(
                confirm(m, author, proposer),
                expected,
                "{author} {proposer}"
            );
        }
        assert_eq!(reflect(&closed, &buddy), Ok(()));
        assert_eq!(reflect(&closed, &mentor), Ok(()));
        assert_eq!(reflect(&active, &mentor), Err(Refusal::Superseded));
        assert_eq!(
            reflect(&closed, &other),
            Err(Refusal::NotInTheMatch(other.clone()))
        );
    }
}
