//! Closing reports: what a moderator's action does to the open reports about its target
//! (closed, their reporters told, a hide by reports ended or kept for the moderator's
//! reason), all under the hiding lock; and reports closing when what they are about is
//! taken down.

use kindred_protocol::Timestamp;
use kindred_protocol::api::{ModerationAction, ModerationDone, ModerationRequest, ReportTarget};

use crate::node::AppError;
use crate::node::{Auth, Node};
use crate::store::{HiddenRecord, StoreError};

/// What moderators decided about `target`, as a reporter is told it.
fn outcome_for_reporter(action: ModerationAction, target: &ReportTarget) -> &'static str {
    match action {
        ModerationAction::Restore if matches!(target, ReportTarget::Member(_)) => {
            "decided what they write can be shown"
        }
        ModerationAction::Dismiss => "decided that no action was needed",
        ModerationAction::Hide if matches!(target, ReportTarget::Member(_)) => {
            "hid what they write on this node"
        }
        ModerationAction::Hide => "hid it on this node",
        ModerationAction::Retract => "took it down",
        ModerationAction::Warn => "warned the person who wrote it",
        ModerationAction::Suspend => "suspended the account of the person who wrote it",
        ModerationAction::Restore => "decided it can be shown",
        ModerationAction::Reinstate => "reviewed it again",
    }
}

/// What the moderator is told about the reports their action closed.
pub(super) fn reports_closed_message(closed: u32) -> String {
    match closed {
        0 => String::new(),
        1 => "1 report closed.".to_owned(),
        n => format!("{n} reports closed."),
    }
}

/// The answer for `closed` reports closed (and a suspension's end).
fn reports_closed_done(closed: u32, until: Option<Timestamp>) -> ModerationDone {
    ModerationDone {
        message: reports_closed_message(closed),
        until,
        reports_closed: closed,
    }
}

impl Node {
    /// How many reports about `target` are open.
    pub(super) fn open_reports_about(&self, target: &ReportTarget) -> Result<u32, StoreError> {
        let open = self
            .store()
            .reports()?
            .iter()
            .filter(|(_, r)| r.open && &r.target == target)
            .count();
        Ok(u32::try_from(open).unwrap_or(u32::MAX))
    }

    /// Closes the open reports about `req.target` as `auth`'s decision, telling this
    /// node's reporters what was decided (unless `quiet`); `until` is a suspension's end.
    pub(super) fn close_reports(
        &self,
        req: &ModerationRequest,
        auth: &Auth,
        until: Option<Timestamp>,
        quiet: bool,
    ) -> Result<ModerationDone, AppError> {
        if req.action == ModerationAction::Reinstate {
            return Ok(ModerationDone {
                message: String::new(),
                until,
                reports_closed: 0,
            });
        }
        // With nothing else changing which reports are open or what is hidden: a report
        // arriving meanwhile is closed with these or counted alone after.
        let _hiding = self.hiding();
        self.close_reports_held(req, auth, until, quiet)
    }

    /// A dismissal or a show-again: [`Node::close_reports`], telling the reporters, and
    /// whether what was hidden (by reports, or for a show-again by anything) was shown
    /// again by this action, decided under the same lock: of two such actions at once,
    /// only one shows it.
    pub(super) fn close_reports_and_show(
        &self,
        req: &ModerationRequest,
        auth: &Auth,
        until: Option<Timestamp>,
    ) -> Result<(ModerationDone, bool), AppError> {
        let _hiding = self.hiding();
        let hidden = self.hidden_set().get(&req.target);
        let showing = match req.action {
            ModerationAction::Restore => hidden.is_some(),
            _ => hidden.is_some_and(|h| h.by_reports()),
        };
        if req.action == ModerationAction::Restore && !showing && !req.share {
            // Refused by the caller: nothing closed or told.
            return Ok((reports_closed_done(0, until), false));
        }
        let done = self.close_reports_held(req, auth, until, false)?;
        Ok((
            done,
            showing && self.hidden_set().get(&req.target).is_none(),
        ))
    }

    /// [`Node::close_reports`] with the hiding lock held.
    fn close_reports_held(
        &self,
        req: &ModerationRequest,
        auth: &Auth,
        until: Option<Timestamp>,
        quiet: bool,
    ) -> Result<ModerationDone, AppError> {
        let (target, action, note) = (&req.target, req.action, req.note.as_str());
        let mut closed = 0u32;
        for (id, report) in self.store().reports()? {
            if !report.open || &report.target != target {
                continue;
            }
            // Closed on the report as it is now: by someone else meanwhile, it is theirs.
            let outcome = format!("{}: {note}", action.as_str());
            let closed_now = self.store().update_report(id, |r| {
                let open = r.open;
                if open {
                    r.open = false;
                    r.outcome = Some(outcome.clone());
                }
                open.then(|| r.reporter.clone())
            })?;
            let Some(Some(reporter)) = closed_now else {
                continue;
            };
            closed += 1;
            if let Some(reporter) = &reporter
                && !quiet
            {
                let what = match target {
                    ReportTarget::Member(_) => "the person you reported",
                    ReportTarget::Event(_) => "what you reported",
                };
                self.tell_moderation(
                    reporter,
                    format!(
                        "Thank you for your report. Moderators looked at {what} and {}.",
                        outcome_for_reporter(action, target)
                    ),
                    "/notifications",
                );
            }
        }
        // Hidden by reports only while moderators look at them. Once they have: shown
        // again when they found nothing wrong, and otherwise kept hidden for their reason
        // (a warning or suspension over a post does not bring it back). A moderator's own
        // hide replaced that one already. Every report open when this began is closed; one
        // stored since is counted by its own `after_report`, which waits for this one.
        if action == ModerationAction::Restore {
            self.set_hidden(target, None)?;
        } else if self
            .hidden_set()
            .get(target)
            .is_some_and(|h| h.by_reports())
        {
            let kept = (action != ModerationAction::Dismiss).then(|| HiddenRecord {
                reason: note.to_owned(),
                by: Some(auth.member_id.clone()),
                at: self.now().as_millis(),
                from_node: None,
            });
            self.set_hidden(target, kept)?;
        }
        Ok(reports_closed_done(closed, until))
    }

    /// Closes the open reports about `id` once it has been taken down (by its author, or
    /// by its home node's moderators, perhaps at another organisation) and tells this
    /// node's reporters. Called by the notifier as retractions arrive.
    pub(crate) fn reported_content_gone(
        &self,
        id: &kindred_protocol::EventId,
    ) -> Result<(), StoreError> {
        let target = ReportTarget::Event(*id);
        let _hiding = self.hiding();
        if self
            .hidden_set()
            .get(&target)
            .is_some_and(|h| h.by_reports())
        {
            self.set_hidden(&target, None)?;
        }
        for (n, report) in self.store().reports()? {
            if !report.open || report.target != target {
                continue;
            }
            let closed_now = self.store().update_report(n, |r| {
                let open = r.open;
                if open {
                    r.open = false;
                    r.outcome = Some("taken down".to_owned());
                }
                open.then(|| r.reporter.clone())
            })?;
            if let Some(Some(Some(reporter))) = &closed_now {
                self.tell_moderation(
                    reporter,
                    "Thank you for your report: what you reported has been taken down.".to_owned(),
                    "/notifications",
                );
            }
        }
        Ok(())
    }
}
