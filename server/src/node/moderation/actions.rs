//! What moderators do about reports (`rules::moderation::allowed` says who may), what
//! the people concerned are told, a member's standing and their one appeal per sanction,
//! and suspensions ending on time.

use kindred_protocol::api::{
    DecisionAction, ErrorCode, MAX_MODERATION_NOTE_BYTES, ModerationAction, ModerationDone,
    ModerationRequest, ReportTarget, Retract, Role,
};
use kindred_protocol::{EventBody, MemberId, Timestamp};

use super::closing::reports_closed_message;
use crate::node::AppError;
use crate::node::{Auth, Node};
use crate::rules::moderation::{Concerned, allowed};
use crate::store::{HiddenRecord, MemberRecord};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// What [`Node::check_action`] found.
pub(crate) struct Checked {
    /// Who wrote it, or who it is.
    pub(crate) author: MemberId,
    /// `post`, `reply`, `message`, `person` or `gone`.
    pub(crate) kind: &'static str,
    /// The author is a member of this node.
    pub(crate) home_here: bool,
}

impl Node {
    /// Carries out a moderator's action on reported (or any) content or a person.
    pub(crate) async fn moderate(
        &self,
        auth: &Auth,
        mut req: ModerationRequest,
    ) -> Result<ModerationDone, AppError> {
        use ModerationAction as A;
        // Trimmed once: the note checked is the note stored, shown and shared.
        req.note = req.note.trim().to_owned();
        let note = req.note.clone();
        if note.len() > MAX_MODERATION_NOTE_BYTES {
            return Err(AppError::invalid(
                "note",
                format!("The note can be at most {MAX_MODERATION_NOTE_BYTES} bytes."),
            ));
        }
        let needs_note = matches!(req.action, A::Hide | A::Retract | A::Warn | A::Suspend);
        if needs_note && note.is_empty() {
            return Err(AppError::invalid(
                "note",
                "Please write a reason: the people concerned are shown it.",
            ));
        }
        if req.share && note.len() > super::decisions::MAX_SHARED_REASON {
            return Err(AppError::invalid(
                "note",
                format!(
                    "A reason shared with other organisations can be at most {} bytes.",
                    super::decisions::MAX_SHARED_REASON
                ),
            ));
        }
        let Checked {
            author,
            kind,
            home_here,
        } = self.check_action(auth, &req.target, req.action)?;
        let by = Some(&auth.member_id);
        let mut until = None;
        // Actions that close the reports and show the content again in one step.
        let mut closed_first = None;
        // Reports open before a retraction: the retraction closes them as it lands.
        let mut open_before = 0;
        let message = match req.action {
            A::Dismiss => {
                let (done, shown_again) = self.close_reports_and_show(&req, auth, until)?;
                closed_first = Some(done);
                let now = self.now().as_millis();
                let about_member = matches!(req.target, ReportTarget::Member(_));
                let (unpaused, appeal_answered) =
                    self.store().update_standing(&author, |standing| {
                        if home_here && about_member {
                            // Reviewed: the reports so far no longer count towards a pause.
                            standing.reviewed_at = Some(now);
                        }
                        let unpaused = standing.paused && home_here;
                        if unpaused {
                            standing.paused = false;
                        }
                        let appeal_answered = standing.appeal.is_some() && about_member;
                        if appeal_answered {
                            standing.appeal = None;
                        }
                        Ok::<_, AppError>((unpaused, appeal_answered))
                    })?;
                if unpaused {
                    self.tell_moderation(
                        &author,
                        "Moderators looked at the reports: you can post again.".to_owned(),
                        "/standing",
                    );
                }
                if appeal_answered {
                    let why = if note.is_empty() {
                        String::new()
                    } else {
                        format!(" {note}")
                    };
                    self.tell_moderation(
                        &author,
                        format!("Moderators looked at your appeal and the decision stands.{why}"),
                        "/standing",
                    );
                }
                match (unpaused, shown_again) {
                    (true, true) => {
                        "Dismissed: it is shown again, and their posting is no longer paused."
                    }
                    (true, false) => "Dismissed: their posting is no longer paused.",
                    (false, true) => "Dismissed: it is shown again.",
                    (false, false) => "Dismissed: nothing was changed.",
                }
                .to_owned()
            }
            A::Hide => {
                let _hiding = self.hiding();
                self.set_hidden(
                    &req.target,
                    Some(HiddenRecord {
                        reason: note.clone(),
                        by: by.cloned(),
                        at: self.now().as_millis(),
                        from_node: None,
                    }),
                )?;
                match &req.target {
                    ReportTarget::Member(_) => {
                        "Hidden here: everything they wrote shows the reason instead.".to_owned()
                    }
                    ReportTarget::Event(_) => {
                        "Hidden here: the reason shows in its place.".to_owned()
                    }
                }
            }
            A::Restore => {
                // Shown again and its open reports closed as looked at, in one step: a
                // post shown by a moderator is not hidden again by the reports they read.
                let (done, shown_again) = self.close_reports_and_show(&req, auth, until)?;
                if !shown_again && !req.share {
                    return Err(AppError::new(
                        ErrorCode::Conflict,
                        "It is not hidden here: there is nothing to show again.",
                    ));
                }
                closed_first = Some(done);
                "Shown again.".to_owned()
            }
            A::Retract => {
                let ReportTarget::Event(id) = &req.target else {
                    return Err(AppError::bad_request(
                        "Retract takes down a post or reply; for a person, suspend or hide them.",
                    ));
                };
                if kind == "message" {
                    return Err(AppError::bad_request(
                        "Only its author can take back a chat message; hide it here instead.",
                    ));
                }
                if kind == "gone" {
                    return Err(AppError::new(
                        ErrorCode::Gone,
                        "It has been taken down already.",
                    ));
                }
                open_before = self.open_reports_about(&req.target)?;
                self.retract(
                    auth,
                    id,
                    Retract {
                        reason: Some(note.clone()),
                    },
                )
                .await?;
                "Taken down, on every node.".to_owned()
            }
            A::Warn => {
                let seq = self.audit(by, "warn", &req.target, Some(&author), &note)?;
                self.store().update_standing(&author, |standing| {
                    standing.warnings += 1;
                    standing.last_note = Some(note.clone());
                    // A newer decision: an appeal against the older one is answered by it.
                    standing.appeal = None;
                    standing.sanction = Some(seq);
                    Ok::<_, AppError>(())
                })?;
                self.tell_moderation(
                    &author,
                    format!("A moderator warned you about something you wrote: {note}"),
                    "/standing",
                );
                let mut done = self.close_reports(&req, auth, until, false)?;
                done.message = format!("Warned: they are told why. {}", done.message)
                    .trim()
                    .to_owned();
                return Ok(done);
            }
            A::Suspend => {
                // The standing and the account change together, one decision at a time:
                // a suspension and a reinstatement at once cannot leave one of each.
                let _accounts = self.limits().erasing.lock().await;
                self.local_member(&author)?;
                let now = self.now().as_millis();
                // The number of suspensions changes only under the accounts lock, so the
                // step read here is the one written below.
                let step = self.store().standing(&author)?.suspensions + 1;
                let days = self.config().moderation.suspension_length(step);
                until = days.map(|d| Timestamp(now + u64::from(d) * DAY_MS));
                let length = match days {
                    Some(d) => format!("for {d} days"),
                    None => "permanently".to_owned(),
                };
                // In the log first, so the suspension and the sanction an appeal answers
                // are written as one: no appeal can slip in between.
                let seq = self.audit(
                    by,
                    "suspend",
                    &req.target,
                    Some(&author),
                    &format!("{length}: {note}"),
                )?;
                self.store().update_standing(&author, |standing| {
                    standing.suspensions = step;
                    standing.suspended_until = until.map(|t| t.as_millis());
                    standing.suspended = true;
                    standing.paused = false;
                    standing.appeal = None;
                    standing.last_note = Some(note.clone());
                    standing.sanction = Some(seq);
                    Ok::<_, AppError>(())
                })?;
                self.set_suspended(author.localpart(), true).await?;
                self.tell_moderation(
                    &author,
                    format!("Your account was suspended {length}: {note}"),
                    "/standing",
                );
                let mut done = self.close_reports(&req, auth, until, false)?;
                done.message = format!("Suspended {length}: they are told why. {}", done.message)
                    .trim()
                    .to_owned();
                return Ok(done);
            }
            A::Reinstate => {
                let _accounts = self.limits().erasing.lock().await;
                self.local_member(&author)?;
                let now = self.now().as_millis();
                self.store().update_standing(&author, |standing| {
                    if standing.suspended && standing.appeal.is_some() {
                        // Overturned on appeal: it does not count towards the ladder.
                        standing.suspensions = standing.suspensions.saturating_sub(1);
                    }
                    standing.suspended = false;
                    standing.suspended_until = None;
                    standing.paused = false;
                    standing.appeal = None;
                    standing.reviewed_at = Some(now);
                    Ok::<_, AppError>(())
                })?;
                // Whichever page suspended them (Members, or moderation), they are back.
                self.set_suspended(author.localpart(), false).await?;
                self.tell_moderation(
                    &author,
                    "Moderators reviewed the decision about your account: you can take part again."
                        .to_owned(),
                    "/standing",
                );
                "Reinstated.".to_owned()
            }
        };
        self.audit(by, req.action.as_str(), &req.target, Some(&author), &note)?;
        if req.share {
            let shared = match req.action {
                A::Hide => Some(DecisionAction::Hide),
                A::Restore => Some(DecisionAction::Restore),
                _ => None,
            };
            if let Some(shared) = shared {
                self.share_decision(&req.target, shared, &note).await?;
            }
        }
        let tell = matches!(req.action, A::Dismiss | A::Hide | A::Retract);
        let mut done = match closed_first {
            Some(done) => done,
            None => self.close_reports(&req, auth, until, !tell)?,
        };
        if done.reports_closed < open_before {
            // Closed (and their reporters told) as the retraction landed.
            done.reports_closed = open_before;
            done.message = reports_closed_message(open_before);
        }
        done.message = format!("{message} {}", done.message).trim().to_owned();
        Ok(done)
    }

    /// Who wrote `target` (or who it is) and what it is: `post`, `reply`, `message` or
    /// `person`.
    pub(super) fn author_of(
        &self,
        target: &ReportTarget,
    ) -> Result<(MemberId, &'static str), AppError> {
        match target {
            ReportTarget::Member(m) => {
                // Only people who exist: an action on a name nobody has yet would wait
                // for whoever takes it.
                let known = if m.node_name() == self.config().node.name.as_str() {
                    self.store().member(m.localpart())?.is_some()
                } else {
                    self.store().profile(m)?.is_some()
                };
                if !known {
                    return Err(AppError::not_found("No such person is known here."));
                }
                Ok((m.clone(), "person"))
            }
            ReportTarget::Event(id) => {
                let Some(payload) = self.payload(id)? else {
                    // Gone from here (a directed message erased): its reports still name
                    // who wrote it.
                    return self
                        .store()
                        .reports()?
                        .into_iter()
                        .find(|(_, r)| &r.target == target)
                        .and_then(|(_, r)| r.author)
                        .map(|a| (a, "gone"))
                        .ok_or_else(|| AppError::not_found("Nothing with that id is held here."));
                };
                let kind = match payload.body {
                    EventBody::Post(_) => "post",
                    EventBody::Reply(_) => "reply",
                    EventBody::ChatMessage(_) => "message",
                    // Taken down or erased since it was reported.
                    EventBody::Tombstone(_) => "gone",
                    _ => {
                        return Err(AppError::bad_request(
                            "Only posts, replies, chat messages and people can be moderated.",
                        ));
                    }
                };
                Ok((payload.author, kind))
            }
        }
    }

    /// Whether `auth` may take `action` on `target` now, before anything is done or a
    /// confirmation is asked for: who it concerns (`rules::moderation::allowed`), that
    /// the person exists, and that a suspension is not already running.
    pub(crate) fn check_action(
        &self,
        auth: &Auth,
        target: &ReportTarget,
        action: ModerationAction,
    ) -> Result<Checked, AppError> {
        let (author, kind) = self.author_of(target)?;
        let home_here = author.node_name() == self.config().node.name.as_str();
        let account = if home_here {
            self.store().member(author.localpart())?
        } else {
            None
        };
        let concerns = Concerned {
            home_here,
            yourself: author == auth.member_id,
            staff: self.for_admins_only(&author),
        };
        allowed(auth.member.role, action, concerns)
            .map_err(|refusal| AppError::forbidden(refusal.message()))?;
        if action == ModerationAction::Reinstate {
            let standing = self.store().standing(&author)?;
            let suspended = account.as_ref().is_some_and(|m| m.suspended);
            if !suspended && !standing.paused && !standing.suspended {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "They are not suspended or paused: there is nothing to reinstate.",
                ));
            }
        }
        if action == ModerationAction::Suspend {
            let member = account.ok_or_else(|| {
                AppError::not_found("That member's account is not here any more.")
            })?;
            if member.role == Role::Admin {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "Admins are not suspended here: change their role on the Members page first.",
                ));
            }
            if member.suspended {
                let standing = self.store().standing(&author)?;
                let until = match standing.suspended_until.filter(|_| standing.suspended) {
                    Some(t) => format!(
                        " until {}",
                        crate::calendar::human_date(t, &self.organisation_zone())
                    ),
                    None => String::new(),
                };
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    format!("They are already suspended{until}."),
                ));
            }
        }
        Ok(Checked {
            author,
            kind,
            home_here,
        })
    }

    fn local_member(&self, member: &MemberId) -> Result<MemberRecord, AppError> {
        self.store()
            .member(member.localpart())?
            .ok_or_else(|| AppError::not_found("That member's account is not here any more."))
    }
}
