//! Mentoring and buddying across organisations.
//!
//! - `process`: keeps the `mentoring` tree up to date from stored events (offers from the
//!   shared log; proposals, answers, check-ins and match updates from directed delivery),
//!   following the arrival log with a watermark so nothing is missed after a crash;
//! - `offers`: offers, requests and explained suggestions;
//! - `matches`: proposing, answering with atomic capacity, check-ins, each person's view;
//! - `agreement`: an agreement proposed by one and confirmed by the other, closing, and
//!   each person's private reflection on how it went;
//! - `agreement_state`: how proposals and confirmations, in any order, become the same
//!   agreement on both nodes;
//! - `cohort`: optimal rounds for a coordinator, and the dashboard;
//! - `report`: the dashboard's counts as CSV for funder reports.
//!
//! Each person's home node is the authority for them: only the mentor's node decides
//! whether a place is free, and it republishes the offer with its places left.

mod agreement;
mod agreement_state;
mod cohort;
mod matches;
mod offers;
pub(crate) mod process;
pub(crate) mod report;

pub(crate) use matches::checkin_due_at;

use crate::rules::mentoring as rules;
use crate::store::MatchRecord;

/// Who is in a match and where it stands, for the rules.
fn parties(m: &MatchRecord) -> rules::MatchParties<'_> {
    rules::MatchParties {
        buddy: &m.buddy,
        mentor: &m.mentor,
        status: m.status,
    }
}
