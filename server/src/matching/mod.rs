//! Matching mentors and buddies: scoring one request against one offer with reasons
//! (`score`), and the optimal assignment of many requests to many offers under capacities
//! (`assign`). Pure functions, no storage; `docs/matching.md` explains both.

pub mod assign;
pub mod score;
