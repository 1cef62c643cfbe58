//! Proposals and matches: asking a mentor, answering (the mentor's node decides capacity
//! atomically), check-ins, and how a match looks to each of its two people.

use kindred_protocol::api::{
    AgreementStatus, AnswerProposal, CheckInView, ErrorCode, MatchStatus, MatchView, NewCheckIn,
    Propose,
};
use kindred_protocol::event::body::mentoring::{
    Answer, Asked, CheckIn, Closing, MatchAnswer, MatchProposal, OfferStatus,
};
use kindred_protocol::limits::MAX_NOTE_BYTES;
use kindred_protocol::{EventBody, EventId, MemberId, References, Timestamp};

use crate::node::AppError;
use crate::node::chat::direct_conversation;
use crate::node::{Auth, Draft, Node, Reach};
use crate::store::{AgreementState, CheckInRecord, MatchRecord};

fn no_longer_available() -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        "That mentor's last place has just been taken: no longer available.",
    )
}

/// Why a proposal that is no longer waiting cannot be answered: another acceptance took
/// the last place (an answer in another tab, say), the buddy withdrew it, or it was
/// answered.
fn not_waiting(status: MatchStatus) -> AppError {
    match status {
        MatchStatus::NoLongerAvailable => no_longer_available(),
        MatchStatus::Withdrawn => AppError::new(
            ErrorCode::Conflict,
            "They withdrew this proposal: there is nothing to answer.",
        ),
        _ => AppError::new(
            ErrorCode::Conflict,
            "That proposal has already been answered.",
        ),
    }
}

impl Node {
    /// The nodes of a match's two people.
    pub(super) fn pair_nodes(
        &self,
        buddy: &MemberId,
        mentor: &MemberId,
    ) -> Result<Vec<kindred_protocol::NodeId>, AppError> {
        // The same routing, and the same refusals (a blocked or unknown node), as chat.
        let mut nodes = self.recipients_of(&[buddy.clone(), mentor.clone()])?;
        nodes.sort();
        nodes.dedup();
        Ok(nodes)
    }

    /// Sends a mentor's proposal to their node (the buddy's request stays here).
    pub(crate) async fn propose(&self, auth: &Auth, req: Propose) -> Result<MatchView, AppError> {
        let request = self.own_request(auth, req.request.as_deref())?;
        if request.status != "open" {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "That request is no longer open: ask for a mentor again (a new request).",
            ));
        }
        self.mentoring_caught_up().await?;
        let offer = self
            .store()
            .offer(&req.mentor)?
            .ok_or_else(|| AppError::not_found("That person has no mentor offer."))?;
        if offer.offer.status != OfferStatus::Open {
            return Err(AppError::new(
                ErrorCode::Gone,
                "That offer is paused or withdrawn.",
            ));
        }
        if offer.offer.places_left == 0 {
            return Err(no_longer_available());
        }
        if req.mentor == auth.member_id {
            return Err(AppError::bad_request("You cannot be your own mentor."));
        }
        if self.waiting_on(&auth.member_id, &req.mentor)? {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "You have already asked this mentor.",
            ));
        }
        let note = req.note.trim().to_owned();
        if note.len() > MAX_NOTE_BYTES {
            return Err(AppError::new(ErrorCode::TooLarge, "That note is too long."));
        }
        let nodes = self.pair_nodes(&auth.member_id, &req.mentor)?;
        let id = self
            .write(
                auth,
                Reach::Directed(nodes),
                References::default(),
                EventBody::MatchProposal(MatchProposal {
                    offer: offer.id,
                    mentor: req.mentor.clone(),
                    note,
                    // So the mentor knows who is asking even without a note; goals and
                    // region stay here.
                    asked: Some(Asked {
                        topics: request.request.topics.clone(),
                        languages: request.request.languages.clone(),
                        mode: request.request.mode,
                    }),
                }),
            )
            .await?;
        self.mentoring_caught_up().await?;
        let m = self
            .store()
            .update_match(&id, |m| {
                m.request = Some(request.id.clone());
                Ok::<_, AppError>(m.clone())
            })?
            .ok_or_else(|| AppError::internal(std::io::Error::other("proposal vanished")))?;
        self.store().durable().await?;
        tracing::info!(buddy = %auth.member_id, mentor = %req.mentor, "proposal sent");
        self.match_view(auth, m)
    }

    pub(super) fn own_match(&self, auth: &Auth, id: &EventId) -> Result<MatchRecord, AppError> {
        self.store()
            .match_record(id)?
            .filter(|m| m.buddy == auth.member_id || m.mentor == auth.member_id)
            .ok_or_else(|| AppError::not_found("No such proposal or match of yours."))
    }

    /// Signs and sends an answer as the proposal's mentor (also used for expiry).
    pub(crate) async fn send_answer(
        &self,
        m: &MatchRecord,
        answer: MatchAnswer,
    ) -> Result<(), AppError> {
        let author = match answer.answer {
            Answer::Withdrawn => m.buddy.clone(),
            _ => m.mentor.clone(),
        };
        let nodes = self.pair_nodes(&m.buddy, &m.mentor)?;
        self.ingest()
            .local(Draft {
                author,
                reach: Reach::Directed(nodes),
                refs: References::default(),
                body: EventBody::MatchAnswer(answer),
                not_before: 0,
            })
            .await?;
        Ok(())
    }

    /// The mentor accepts or declines. Acceptance takes a place atomically; when none is
    /// left the buddy is told "no longer available".
    pub(crate) async fn answer(
        &self,
        auth: &Auth,
        id: &EventId,
        req: AnswerProposal,
    ) -> Result<MatchView, AppError> {
        self.mentoring_caught_up().await?;
        let m = self.own_match(auth, id)?;
        if m.mentor != auth.member_id {
            return Err(AppError::forbidden(
                "Only the mentor can answer a proposal.",
            ));
        }
        if m.status != MatchStatus::Pending {
            return Err(not_waiting(m.status));
        }
        let message = req
            .message
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if message.as_ref().is_some_and(|s| s.len() > MAX_NOTE_BYTES) {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                "That message is too long.",
            ));
        }
        if !req.accept {
            self.send_answer(
                &m,
                MatchAnswer {
                    proposal: m.id,
                    answer: Answer::Declined,
                    message,
                },
            )
            .await?;
            self.mentoring_caught_up().await?;
            return self.match_view(auth, self.own_match(auth, id)?);
        }
        let capacity = self
            .store()
            .offer(&auth.member_id)?
            .map(|o| u32::from(o.offer.capacity))
            .unwrap_or(0);
        let now = self.now().as_millis();
        if !self
            .store()
            .accept_if_room(id, capacity, now, message.clone())?
        {
            // Full, or no longer waiting (withdrawn meanwhile): say which, and when full
            // tell this buddy, keeping the mentor's answer honest.
            let latest = self.own_match(auth, id)?;
            if latest.status != MatchStatus::Pending {
                return Err(not_waiting(latest.status));
            }
            self.send_answer(
                &latest,
                MatchAnswer {
                    proposal: latest.id,
                    answer: Answer::NoLongerAvailable,
                    message: None,
                },
            )
            .await?;
            return Err(no_longer_available());
        }
        self.store().durable().await?;
        // Open their private conversation first, so it reaches the buddy's node before the
        // answer does: a buddy who sees "Matched" can write at once.
        let conversation = self
            .create_conversation(
                auth,
                kindred_protocol::api::CreateConversation {
                    members: vec![m.buddy.clone()],
                    name: None,
                },
            )
            .await?;
        self.send_answer(
            &m,
            MatchAnswer {
                proposal: m.id,
                answer: Answer::Accepted,
                message,
            },
        )
        .await?;
        self.store().update_match(id, |accepted| {
            accepted.conversation = Some(conversation.id);
            Ok::<_, AppError>(())
        })?;
        // The buddy's withdrawal crossed this acceptance and stands: its place is free
        // again, and the other waiting buddies keep waiting.
        if let Err(crossed) = self.still_accepted(auth, id).await {
            self.republish_places(&auth.member_id).await?;
            return Err(crossed);
        }
        self.republish_places(&auth.member_id).await?;
        // No places left: the other waiting buddies hear now rather than waiting.
        let active = self.store().active_count(&auth.member_id)?;
        if active >= capacity {
            for other in self.store().matches_of(&auth.member_id)? {
                if other.mentor == auth.member_id && other.status == MatchStatus::Pending {
                    self.send_answer(
                        &other,
                        MatchAnswer {
                            proposal: other.id,
                            answer: Answer::NoLongerAvailable,
                            message: None,
                        },
                    )
                    .await?;
                }
            }
        }
        // Checked again: a withdrawal from the buddy's node may have arrived meanwhile.
        let latest = self.still_accepted(auth, id).await?;
        tracing::info!(mentor = %auth.member_id, buddy = %m.buddy, "match accepted");
        self.match_view(auth, latest)
    }

    /// The match `id` the mentor just accepted, once the processor has applied what has
    /// arrived; "They withdrew this proposal" (409) when the buddy's withdrawal crossed the
    /// acceptance and stands.
    async fn still_accepted(&self, auth: &Auth, id: &EventId) -> Result<MatchRecord, AppError> {
        self.mentoring_caught_up().await?;
        let latest = self.own_match(auth, id)?;
        if latest.status == MatchStatus::Withdrawn {
            tracing::info!(mentor = %auth.member_id, buddy = %latest.buddy, "acceptance crossed by a withdrawal");
            return Err(not_waiting(latest.status));
        }
        Ok(latest)
    }

    /// Whether `buddy` has a proposal waiting on, or a match with, `mentor`.
    pub(super) fn waiting_on(&self, buddy: &MemberId, mentor: &MemberId) -> Result<bool, AppError> {
        Ok(self.store().matches_of(buddy)?.iter().any(|m| {
            m.mentor == *mentor && matches!(m.status, MatchStatus::Pending | MatchStatus::Active)
        }))
    }

    /// The buddy takes back a proposal still waiting for an answer.
    pub(crate) async fn withdraw_proposal(
        &self,
        auth: &Auth,
        id: &EventId,
    ) -> Result<(), AppError> {
        let m = self.own_match(auth, id)?;
        if m.buddy != auth.member_id || m.status != MatchStatus::Pending {
            return Err(AppError::bad_request(
                "Only a waiting proposal of yours can be withdrawn.",
            ));
        }
        self.send_answer(
            &m,
            MatchAnswer {
                proposal: m.id,
                answer: Answer::Withdrawn,
                message: None,
            },
        )
        .await?;
        self.mentoring_caught_up().await?;
        Ok(())
    }

    pub(super) async fn update_match(
        &self,
        auth: &Auth,
        m: &MatchRecord,
        body: EventBody,
    ) -> Result<EventId, AppError> {
        let nodes = self.pair_nodes(&m.buddy, &m.mentor)?;
        let id = self
            .write(auth, Reach::Directed(nodes), References::default(), body)
            .await?;
        self.mentoring_caught_up().await?;
        Ok(id)
    }

    pub(super) fn active_match(&self, auth: &Auth, id: &EventId) -> Result<MatchRecord, AppError> {
        let m = self.own_match(auth, id)?;
        match m.status {
            MatchStatus::Active => Ok(m),
            MatchStatus::Pending => Err(AppError::bad_request(
                "That proposal has not been answered yet: agreements and check-ins start once the mentor says yes.",
            )),
            MatchStatus::Closed => Err(AppError::bad_request(
                "That match has ended, so it is read-only (you can still say how it went).",
            )),
            _ => Err(AppError::bad_request(
                "That proposal did not become a match, so there is nothing to agree or check in on.",
            )),
        }
    }

    /// A check-in: a pulse, optionally the first-meeting fit, and a note kept private.
    pub(crate) async fn check_in(
        &self,
        auth: &Auth,
        id: &EventId,
        req: NewCheckIn,
    ) -> Result<MatchView, AppError> {
        let m = self.active_match(auth, id)?;
        if !(1..=4).contains(&req.pulse) {
            return Err(AppError::bad_request(
                "The pulse goes from 1 (hard going) to 4 (going well).",
            ));
        }
        let note = req
            .note
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.len() > MAX_NOTE_BYTES) {
            return Err(AppError::new(ErrorCode::TooLarge, "That note is too long."));
        }
        // The note never leaves this node, nor does the fit unless its author shares it:
        // the other side sees the pulse (and a shared fit) only.
        let event = self
            .update_match(
                auth,
                &m,
                EventBody::CheckIn(CheckIn {
                    proposal: m.id,
                    pulse: req.pulse,
                    fit: req.fit.filter(|_| req.share_fit),
                    note: None,
                }),
            )
            .await?;
        self.own_match(auth, id)?;
        self.store().update_match(id, |m| {
            // This request's own check-in, not the newest: others may be sent at once.
            if let Some(last) = m.checkins.iter_mut().find(|c| c.event == Some(event)) {
                last.note.clone_from(&note);
                last.fit = req.fit;
                last.fit_shared = req.share_fit && req.fit.is_some();
            }
            Ok::<_, AppError>(())
        })?;
        let m = self.own_match(auth, id)?;
        self.store().durable().await?;
        self.match_view(auth, m)
    }

    /// Whether something waits for the member's answer: a request to them as a mentor, or
    /// an agreement the other person proposed (the navigation's Mentoring link says "new").
    pub(crate) fn mentoring_waiting(
        &self,
        member: &kindred_protocol::MemberId,
    ) -> Result<bool, AppError> {
        Ok(self
            .store()
            .matches_of(member)?
            .iter()
            .any(|m| match m.status {
                MatchStatus::Pending => m.mentor == *member,
                MatchStatus::Active => m
                    .agreed
                    .as_ref()
                    .is_some_and(|a| a.by != *member && a.confirmed_by.is_none()),
                _ => false,
            }))
    }

    /// The member's proposals and matches, newest first.
    pub(crate) async fn my_matches(&self, auth: &Auth) -> Result<Vec<MatchView>, AppError> {
        self.mentoring_caught_up().await?;
        self.store()
            .matches_of(&auth.member_id)?
            .into_iter()
            .map(|m| self.match_view(auth, m))
            .collect()
    }

    /// One of the member's proposals or matches.
    pub(crate) async fn get_match(&self, auth: &Auth, id: &EventId) -> Result<MatchView, AppError> {
        self.mentoring_caught_up().await?;
        let m = self.own_match(auth, id)?;
        self.match_view(auth, m)
    }

    pub(crate) fn match_view(&self, auth: &Auth, m: MatchRecord) -> Result<MatchView, AppError> {
        let role = if m.mentor == auth.member_id {
            "mentor"
        } else {
            "buddy"
        };
        let checkins = m
            .checkins
            .iter()
            .map(|c: &CheckInRecord| {
                let mine = c.by == auth.member_id;
                CheckInView {
                    by: c.by.clone(),
                    pulse: c.pulse,
                    fit: c.fit.filter(|_| mine || c.fit_shared),
                    fit_shared: c.fit_shared,
                    note: c.note.clone().filter(|_| mine),
                    at: Timestamp(c.at),
                }
            })
            .collect();
        let conversation = m.conversation.or_else(|| {
            (m.status == MatchStatus::Active || m.status == MatchStatus::Closed)
                .then(|| direct_conversation(&m.buddy, &m.mentor))
        });
        // The newest proposal, unless it is what both agreed already.
        let confirmed_id = m.confirmed.as_ref().map(|c| c.state.id);
        let pending = m
            .agreement
            .clone()
            .map(|terms| (terms, m.agreed.clone()))
            .filter(|(_, state)| state.as_ref().is_none_or(|s| Some(s.id) != confirmed_id));
        let due_at = checkin_due_at(&m, &auth.member_id, &self.time_zone_of(&auth.member));
        let checkin_due = m.status == MatchStatus::Active && self.now().as_millis() >= due_at;
        Ok(MatchView {
            checkin_due,
            id: m.id,
            role: role.to_owned(),
            buddy_name: self.author_labels(&m.buddy)?.0,
            mentor_name: self.author_labels(&m.mentor)?.0,
            buddy: m.buddy,
            mentor: m.mentor,
            note: m.note,
            status: m.status,
            created_at: Timestamp(m.created_at),
            answered_at: m.answered_at.map(Timestamp),
            answer_message: m.answer_message,
            agreement: m.confirmed.as_ref().map(|c| c.terms.clone()),
            agreement_status: m
                .confirmed
                .as_ref()
                .map(|c| agreement_status(Some(&c.state))),
            proposed_agreement: pending.as_ref().map(|(terms, _)| terms.clone()),
            proposal_status: pending.map(|(_, state)| agreement_status(state.as_ref())),
            asked: m.asked,
            checkins,
            closing: m
                .reflections
                .iter()
                .find(|r| r.by == auth.member_id)
                .map(|r| Closing {
                    reason: r.reason.clone(),
                    rating: r.rating,
                }),
            closed_by: m.closed_by,
            closed_at: m.closed_at.map(Timestamp),
            conversation,
        })
    }
}

/// Who proposed an agreement and who confirmed it, as the API shows it.
fn agreement_status(state: Option<&AgreementState>) -> AgreementStatus {
    match state {
        None => AgreementStatus {
            id: None,
            proposed_by: None,
            proposed_at: None,
            confirmed_by: None,
            confirmed_at: None,
        },
        Some(s) => AgreementStatus {
            id: Some(s.id),
            proposed_by: Some(s.by.clone()),
            proposed_at: Some(Timestamp(s.at)),
            confirmed_by: s.confirmed_by.clone(),
            confirmed_at: s.confirmed_at.map(Timestamp),
        },
    }
}

/// When `member`'s next check-in on `m` is due (ms): the rhythm both agreed (two weeks
/// until they have) after their last check-in, or after the match began, at the same
/// local time in `zone` (a week is a week across a clock change).
pub(crate) fn checkin_due_at(m: &MatchRecord, member: &MemberId, zone: &jiff::tz::TimeZone) -> u64 {
    let rhythm_days = m
        .confirmed
        .as_ref()
        .map(|c| u32::from(c.terms.rhythm_days))
        .unwrap_or(14);
    let last_mine = m
        .checkins
        .iter()
        .filter(|c| c.by == *member)
        .map(|c| c.at)
        .max()
        .or(m.answered_at)
        .unwrap_or(m.created_at);
    crate::calendar::days_later(last_mine, rhythm_days, zone)
}
