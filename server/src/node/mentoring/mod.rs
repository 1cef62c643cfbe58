//! Mentoring and buddying across organisations.
//!
//! - `process`: keeps the `mentoring` tree up to date from stored events (offers from the
//!   shared log; proposals, answers, check-ins and match updates from directed delivery),
//!   following the arrival log with a watermark so nothing is missed after a crash;
//! - `offers`: offers, requests and explained suggestions;
//! - `matches`: proposing, answering with atomic capacity, check-ins, agreement, closing;
//! - `cohort`: optimal rounds for a coordinator, and the dashboard.
//!
//! Each person's home node is the authority for them: only the mentor's node decides
//! whether a place is free, and it republishes the offer with its places left.

mod cohort;
mod matches;
mod offers;
pub(crate) mod process;
