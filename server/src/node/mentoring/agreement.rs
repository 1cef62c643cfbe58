//! What a matched pair agree, and how a match ends: one person proposes an agreement and
//! the other confirms it (so "what you agreed" is always both people's word); either ends
//! the match; each then reflects on it privately.

use kindred_protocol::api::{ErrorCode, MatchStatus, MatchView};
use kindred_protocol::event::body::mentoring::{Agreement, Closing, MatchUpdate};
use kindred_protocol::limits::{MAX_NOTE_BYTES, MAX_REASON_BYTES};
use kindred_protocol::{EventBody, EventId, Timestamp};

use super::parties;
use crate::node::AppError;
use crate::node::{Auth, Node};
use crate::rules::mentoring as rules;
use crate::store::Reflection;

/// The longest gap between meetings an agreement may set, in days.
pub(crate) const MAX_RHYTHM_DAYS: u16 = 90;

const DAY_MS: u64 = 86_400_000;

impl Node {
    /// Proposes an agreement: goals (kept as written, line breaks included), how many days
    /// between meetings, and an expected end. It replaces any earlier proposal and waits for
    /// the other person to confirm it; what both agreed before stands until then. Errors:
    /// `bad_request` for a match that is not active, goals empty or over 2,000 bytes, a
    /// rhythm outside 1 to 90 days, or an end that is not a calendar day from today on.
    pub(crate) async fn agree(
        &self,
        auth: &Auth,
        id: &EventId,
        mut agreement: Agreement,
    ) -> Result<MatchView, AppError> {
        let m = self.active_match(auth, id)?;
        // Line endings typed on any device read the same; nothing else is changed.
        agreement.goals = agreement.goals.replace("\r\n", "\n").trim().to_owned();
        if agreement.goals.is_empty() || agreement.goals.len() > MAX_NOTE_BYTES {
            return Err(AppError::bad_request(
                "Write down your goals (up to 2,000 bytes): that is what you both agree.",
            ));
        }
        if !(1..=MAX_RHYTHM_DAYS).contains(&agreement.rhythm_days) {
            return Err(AppError::bad_request(format!(
                "Meet every 1 to {MAX_RHYTHM_DAYS} days."
            )));
        }
        // An end is a calendar day (00:00 UTC of that day), today or later.
        let today = Timestamp::now().as_millis() / DAY_MS * DAY_MS;
        if agreement.ends_at != 0 && (agreement.ends_at % DAY_MS != 0 || agreement.ends_at < today)
        {
            return Err(AppError::bad_request(
                "The end date must be a day from today on (00:00 UTC of that day), or none.",
            ));
        }
        self.update_match(
            auth,
            &m,
            EventBody::MatchUpdate(MatchUpdate {
                proposal: m.id,
                agreement: Some(agreement),
                closing: None,
                confirms: None,
            }),
        )
        .await?;
        self.match_view(auth, self.own_match(auth, id)?)
    }

    /// Confirms the agreement `proposal` the other person proposed. Errors: `conflict` when
    /// it has been changed since it was read (nothing is confirmed), `bad_request` when the
    /// viewer proposed it or the match is not active.
    pub(crate) async fn confirm_agreement(
        &self,
        auth: &Auth,
        id: &EventId,
        proposal: &EventId,
    ) -> Result<MatchView, AppError> {
        let m = self.active_match(auth, id)?;
        let Some(state) = m.agreed.as_ref().filter(|s| s.id == *proposal) else {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "The agreement has changed since you read it: read it again before confirming.",
            ));
        };
        if state.confirmed_by.is_some() {
            return self.match_view(auth, m);
        }
        rules::confirm(&parties(&m), &auth.member_id, &state.by).map_err(|_| {
            AppError::bad_request("You proposed this agreement: the other person confirms it.")
        })?;
        self.update_match(
            auth,
            &m,
            EventBody::MatchUpdate(MatchUpdate {
                proposal: m.id,
                agreement: None,
                closing: None,
                confirms: Some(*proposal),
            }),
        )
        .await?;
        self.match_view(auth, self.own_match(auth, id)?)
    }

    /// Ends a match. The other person learns that it ended and who ended it; the reason
    /// and rating are the closer's private reflection, kept on this node (the other person
    /// gives their own with [`Node::reflect`]). The mentor's place frees up. Errors:
    /// `bad_request` for an empty or over-long reason, a rating over 5, or a match that is
    /// not active.
    pub(crate) async fn close_match(
        &self,
        auth: &Auth,
        id: &EventId,
        closing: Closing,
    ) -> Result<MatchView, AppError> {
        let m = self.active_match(auth, id)?;
        let reflection = reflection(auth, closing)?;
        self.update_match(
            auth,
            &m,
            EventBody::MatchUpdate(MatchUpdate {
                proposal: m.id,
                agreement: None,
                closing: Some(Closing {
                    reason: String::new(),
                    rating: 0,
                }),
                confirms: None,
            }),
        )
        .await?;
        if m.mentor.node_name() == self.config().node.name.as_str() {
            self.republish_places(&m.mentor).await?;
        }
        self.keep_reflection(auth, id, reflection).await
    }

    /// Records the viewer's own reflection on a match that ended (why, and how it went),
    /// replacing an earlier one. Private: kept on this node, counted on its coordinators'
    /// dashboard, never sent. Errors: `bad_request` when the match has not ended or the
    /// reason is empty, over-long or the rating over 5.
    pub(crate) async fn reflect(
        &self,
        auth: &Auth,
        id: &EventId,
        closing: Closing,
    ) -> Result<MatchView, AppError> {
        self.mentoring_caught_up().await?;
        let m = self.own_match(auth, id)?;
        if m.status != MatchStatus::Closed {
            return Err(AppError::bad_request(
                "That match has not ended: end it first, or keep going.",
            ));
        }
        rules::reflect(&parties(&m), &auth.member_id)
            .map_err(|e| AppError::bad_request(e.to_string()))?;
        let reflection = reflection(auth, closing)?;
        self.keep_reflection(auth, id, reflection).await
    }

    async fn keep_reflection(
        &self,
        auth: &Auth,
        id: &EventId,
        reflection: Reflection,
    ) -> Result<MatchView, AppError> {
        self.own_match(auth, id)?;
        self.store().update_match(id, |m| {
            m.reflections.retain(|r| r.by != auth.member_id);
            m.reflections.push(reflection.clone());
            Ok::<_, AppError>(())
        })?;
        let m = self.own_match(auth, id)?;
        self.store().durable().await?;
        self.match_view(auth, m)
    }
}

fn reflection(auth: &Auth, closing: Closing) -> Result<Reflection, AppError> {
    let reason = closing.reason.trim().to_owned();
    if reason.is_empty() || reason.len() > MAX_REASON_BYTES || closing.rating > 5 {
        return Err(AppError::bad_request(
            "Please give a reason (and a rating from 1 to 5, or 0).",
        ));
    }
    Ok(Reflection {
        by: auth.member_id.clone(),
        reason,
        rating: closing.rating,
        at: Timestamp::now().as_millis(),
    })
}
