//! What a match's agreement is on both nodes: proposals and confirmations arrive in any
//! order, and both nodes end with the same proposal shown and the same one agreed.

use kindred_protocol::event::body::mentoring::Agreement;
use kindred_protocol::{EventBody, EventId, MemberId};

use super::parties;
use crate::node::Node;
use crate::rules::mentoring as rules;
use crate::store::{AgreementState, ConfirmedAgreement, MatchRecord, StoreError, payload_of};

/// An agreement proposed by `by` at `at`: the newest proposal stands (ties broken by id),
/// whatever order the two nodes receive them in, and waits for the other's confirmation.
pub(super) fn propose_agreement(
    m: &mut MatchRecord,
    a: Agreement,
    id: EventId,
    by: &MemberId,
    at: u64,
) {
    if m.agreed.as_ref().is_some_and(|s| (s.at, s.id) > (at, id)) {
        return;
    }
    m.agreement = Some(a);
    m.agreed = Some(AgreementState {
        id,
        by: by.clone(),
        at,
        confirmed_by: None,
        confirmed_at: None,
    });
}

/// A proposed agreement, as confirming it needs: its terms, who proposed it and when.
pub(super) type Proposal = (Agreement, MemberId, u64);

/// The agreement proposed by the stored event `target` on the match `match_id`, if it is one.
pub(super) fn proposal_in_log(
    node: &Node,
    target: &EventId,
    match_id: &EventId,
) -> Result<Option<Proposal>, StoreError> {
    let Some(event) = node.store().event(target)? else {
        return Ok(None);
    };
    let p = payload_of(&event)?;
    Ok(match p.body {
        EventBody::MatchUpdate(u) if u.proposal == *match_id => u
            .agreement
            .map(|terms| (terms, p.author, p.created_at.as_millis())),
        _ => None,
    })
}

/// `by` confirms the proposal `target`, if the rules say `by` may (the other person). The
/// newest confirmed proposal (by the proposer's time, ties by id) is what both agreed,
/// whatever order proposals and confirmations arrive in; the newest proposal shows as
/// confirmed when it is the one confirmed.
pub(super) fn confirm_agreement(
    m: &mut MatchRecord,
    target: EventId,
    (terms, proposer, proposed_at): Proposal,
    by: &MemberId,
    at: u64,
) {
    if let Err(reason) = rules::confirm(&parties(m), by, &proposer) {
        tracing::info!(%target, %reason, "agreement confirmation not applied");
        return;
    }
    if let Some(state) = m.agreed.as_mut().filter(|s| s.id == target) {
        state.confirmed_by = Some(by.clone());
        state.confirmed_at = Some(at);
    }
    let newer = m
        .confirmed
        .as_ref()
        .is_none_or(|c| (proposed_at, target) > (c.state.at, c.state.id));
    if newer {
        m.confirmed = Some(ConfirmedAgreement {
            terms,
            state: AgreementState {
                id: target,
                by: proposer,
                at: proposed_at,
                confirmed_by: Some(by.clone()),
                confirmed_at: Some(at),
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use kindred_protocol::api::MatchStatus;

    use super::*;

    fn active_match() -> MatchRecord {
        let proposal = kindred_protocol::event::body::mentoring::MatchProposal {
            offer: EventId::from_bytes([2; 32]),
            mentor: MemberId::parse("@ann:a.org").unwrap_or_else(|e| panic!("{e}")),
            note: String::new(),
            asked: None,
        };
        let buddy = MemberId::parse("@bea:c.org").unwrap_or_else(|e| panic!("{e}"));
        MatchRecord {
            status: MatchStatus::Active,
            answered_at: Some(2),
            ..MatchRecord::proposed(EventId::from_bytes([1; 32]), buddy, proposal, 1)
        }
    }

    fn terms(goals: &str) -> Agreement {
        Agreement {
            goals: goals.to_owned(),
            rhythm_days: 14,
            ends_at: 0,
        }
    }

    /// Both nodes see the same agreement whatever order proposals and confirmations arrive
    /// in (a confirmation never before what it confirms: the rules hold it): the newest
    /// proposal shows, the newest confirmed one is what both agreed, and a newer proposal
    /// does not undo it until it is confirmed too.
    #[test]
    fn the_same_agreement_in_any_order() {
        let base = active_match();
        let (buddy, mentor) = (base.buddy.clone(), base.mentor.clone());
        let older = EventId::from_bytes([3; 32]);
        let newer = EventId::from_bytes([4; 32]);
        let log = [(older, 10, "old"), (newer, 20, "new")];
        let proposal = |id: EventId| {
            log.iter()
                .find(|(i, _, _)| *i == id)
                .map(|(_, at, goals)| (terms(goals), buddy.clone(), *at))
                .unwrap_or_else(|| panic!("in the log"))
        };
        // Steps: 0 propose old, 1 propose new, 2 confirm old, 3 confirm new.
        let run = |order: &[usize]| {
            let mut m = base.clone();
            for &step in order {
                match step {
                    0 | 1 => {
                        let (id, at, goals) = log[step];
                        propose_agreement(&mut m, terms(goals), id, &buddy, at);
                    }
                    _ => {
                        let target = log[step - 2].0;
                        confirm_agreement(&mut m, target, proposal(target), &mentor, 30);
                    }
                }
            }
            (m.agreement, m.agreed, m.confirmed)
        };
        // The old one confirmed, a newer one proposed: both agreed the old one still.
        let orders: [&[usize]; 3] = [&[0, 1, 2], &[1, 0, 2], &[0, 2, 1]];
        let outcomes: Vec<_> = orders.iter().map(|o| run(o)).collect();
        assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "{outcomes:?}");
        let (shown, pending, agreed) = &outcomes[0];
        assert_eq!(shown.as_ref().map(|a| a.goals.as_str()), Some("new"));
        assert_eq!(pending.as_ref().and_then(|s| s.confirmed_by.clone()), None);
        let agreed = agreed.as_ref().unwrap_or_else(|| panic!("agreed"));
        assert_eq!(
            (agreed.terms.goals.as_str(), agreed.state.id),
            ("old", older)
        );
        // Both confirmed, in any order: the newer one is what they agreed.
        let orders: [&[usize]; 5] = [
            &[0, 1, 2, 3],
            &[1, 3, 0, 2],
            &[0, 2, 1, 3],
            &[1, 0, 3, 2],
            &[0, 1, 3, 2],
        ];
        let outcomes: Vec<_> = orders.iter().map(|o| run(o)).collect();
        assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "{outcomes:?}");
        let (_, pending, agreed) = &outcomes[0];
        assert_eq!(
            pending.as_ref().and_then(|s| s.confirmed_by.clone()),
            Some(mentor.clone())
        );
        assert_eq!(agreed.as_ref().map(|c| c.state.id), Some(newer));

        // The proposer's own confirmation does nothing.
        let mut m = base.clone();
        propose_agreement(&mut m, terms("mine"), older, &buddy, 10);
        confirm_agreement(&mut m, older, proposal(older), &buddy, 11);
        assert_eq!(m.agreed.and_then(|s| s.confirmed_by), None);
        assert_eq!(m.confirmed, None);
    }
}
