//! Filing reports: a member's own (kept here with their note; what the content's home
//! node needs goes there as a `report` event authored by this node, never naming them),
//! and those other nodes send here. Then the thresholds: enough reports from different
//! people hide the content until a moderator looks, and reports on enough of one member's
//! content in a day pause their posting.

use std::collections::HashSet;

use kindred_protocol::api::{MAX_MODERATION_NOTE_BYTES, ReportFiled, ReportRequest, ReportTarget};
use kindred_protocol::event::body::report::Report;
use kindred_protocol::{EventBody, EventId, EventPayload, MemberId, References};

use crate::node::AppError;
use crate::node::ingest::{Draft, Reach};
use crate::node::{Auth, Node};
use crate::store::{HiddenRecord, ReportRecord, StoreError};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// What a report is about, as this node knows it.
pub(super) struct Reported {
    /// Who wrote it, or who is reported.
    pub(super) author: MemberId,
}

impl Node {
    /// Files the signed-in member's report. Refused (404) when they cannot see what they
    /// report; a second open report by them about the same thing is not filed again.
    pub(crate) async fn report(
        &self,
        auth: &Auth,
        req: ReportRequest,
    ) -> Result<ReportFiled, AppError> {
        let note = req.note.trim().to_owned();
        if note.len() > MAX_MODERATION_NOTE_BYTES {
            return Err(AppError::invalid(
                "note",
                format!("The note can be at most {MAX_MODERATION_NOTE_BYTES} bytes."),
            ));
        }
        let reported = self.reported_as_seen_by(&req.target, &auth.member_id)?;
        if reported.author == auth.member_id {
            return Err(AppError::bad_request(
                "You cannot report yourself or what you wrote; you can edit or retract it.",
            ));
        }
        let elsewhere = reported.author.node_name() != self.config().node.name.as_str();
        // A message in a conversation where the reporter is the only one from this
        // organisation: the other node could tell who reported it from "which
        // organisation", so the report stays with this node's moderators.
        let revealing = elsewhere && self.sole_member_here(&req.target, &auth.member_id)?;
        let organisation = self.organisation_of(&reported.author);
        let message = if revealing {
            format!(
                "Thank you. Our moderators will look at this; you will hear what was decided. Because you are the only one from {} in this conversation, {organisation}'s moderators are not sent it: they could tell it was you.",
                self.config().node.organisation
            )
        } else if elsewhere {
            format!(
                "Thank you. Our moderators will look at this, and {organisation}'s moderators have been told too, without your name. You will hear what was decided."
            )
        } else {
            "Thank you. Our moderators will look at this; you will hear what was decided."
                .to_owned()
        };
        let reports = self.store().reports()?;
        if let Some((id, _)) = reports.iter().find(|(_, r)| {
            r.open && r.target == req.target && r.reporter.as_ref() == Some(&auth.member_id)
        }) {
            return Ok(ReportFiled { id: *id, message });
        }
        let since = self.now().as_millis().saturating_sub(DAY_MS);
        let today = reports
            .iter()
            .filter(|(_, r)| r.reporter.as_ref() == Some(&auth.member_id) && r.at >= since)
            .count();
        if today >= self.config().moderation.reports_per_member_per_day as usize {
            return Err(AppError::new(
                kindred_protocol::api::ErrorCode::RateLimited,
                "You have sent as many reports as one person can in a day. If someone is in danger, please use the help lines; otherwise our moderators will get to what you sent.",
            ));
        }
        let record = ReportRecord {
            target: req.target.clone(),
            reason: req.reason,
            note: (!note.is_empty()).then_some(note),
            reporter: Some(auth.member_id.clone()),
            from_node: None,
            from_organisation: self.config().node.organisation.clone(),
            author: Some(reported.author.clone()),
            at: self.now().as_millis(),
            open: true,
            outcome: None,
            decision: None,
        };
        let id = self.store().add_report(&record)?;
        tracing::info!(report = id, target = %req.target, reason = ?req.reason, "report filed");
        if elsewhere && !revealing {
            // The home node acts on its members' content; it learns what and why, and which
            // organisation, never who.
            match self.home_node(&reported.author)? {
                Some(home) if !self.federation().is_blocked(&home) => {
                    let author = MemberId::new("node", &self.config().node.name)
                        .map_err(|e| AppError::bad_request(e.to_string()))?;
                    self.ingest()
                        .local(Draft {
                            author,
                            reach: Reach::Directed(vec![home]),
                            refs: References::default(),
                            body: EventBody::Report(Report {
                                target: req.target.clone(),
                                reason: req.reason,
                            }),
                            not_before: 0,
                        })
                        .await?;
                }
                _ => tracing::info!(
                    report = id,
                    "the reported member's node is not known or blocked: the report stays here"
                ),
            }
        }
        self.after_report(&req.target, &reported.author)?;
        // Someone must be able to read it: with nobody else here who moderates (the
        // report is about the only one), say so.
        let own = self.config().node.name.as_str();
        let reviewer = self.store().members()?.iter().any(|m| {
            m.role >= kindred_protocol::api::Role::Moderator
                && !m.suspended
                && m.deletion_due_at.is_none()
                && (reported.author.node_name() != own || m.username != reported.author.localpart())
        });
        let message = if reviewer || elsewhere {
            message
        } else {
            format!(
                "{message} Nobody else at {} moderates, so please also tell someone you trust there, or use the help lines if anyone is at risk.",
                self.config().node.organisation
            )
        };
        Ok(ReportFiled { id, message })
    }

    /// What the report form says is being reported, in plain words ("the post “Grant
    /// tips” by Ann (Riverside Hub)"); 404 when `viewer` cannot see it.
    pub(crate) fn report_subject(
        &self,
        target: &ReportTarget,
        viewer: &MemberId,
    ) -> Result<String, AppError> {
        let reported = self.reported_as_seen_by(target, viewer)?;
        let (name, org) = self.author_labels(&reported.author)?;
        let who = format!("{name} ({org})");
        Ok(match target {
            ReportTarget::Member(_) => who,
            ReportTarget::Event(id) => match self.post_view(id, Some(viewer))? {
                // Never the title of what is under a warning or folded away.
                Some(p) if p.content_warning.is_some() || p.muted.is_some() => {
                    let what = if p.title.is_some() {
                        "a post"
                    } else {
                        "a reply"
                    };
                    match p.content_warning {
                        Some(cw) => format!("{what} by {who} (content warning: {cw})"),
                        None => format!("{what} by {who} that you folded away"),
                    }
                }
                Some(p) => match p.title.filter(|t| !t.is_empty()) {
                    Some(title) => format!("the post “{title}” by {who}"),
                    None => format!("a reply by {who}"),
                },
                None => format!("a chat message from {who}"),
            },
        })
    }

    /// Whether `target` is a chat message in a conversation where `reporter` is the only
    /// member from this node.
    fn sole_member_here(
        &self,
        target: &ReportTarget,
        reporter: &MemberId,
    ) -> Result<bool, AppError> {
        let ReportTarget::Event(id) = target else {
            return Ok(false);
        };
        let Some(kindred_protocol::EventBody::ChatMessage(m)) = self.payload(id)?.map(|p| p.body)
        else {
            return Ok(false);
        };
        let own = self.config().node.name.as_str();
        Ok(self
            .store()
            .conversation(&m.conversation)?
            .is_some_and(|c| {
                c.members
                    .iter()
                    .filter(|p| p.node_name() == own)
                    .all(|p| p == reporter)
            }))
    }

    /// What `target` is and who wrote it, when `viewer` can see it: a post or reply shown
    /// to them, a message in a conversation they are in, a person this node knows.
    fn reported_as_seen_by(
        &self,
        target: &ReportTarget,
        viewer: &MemberId,
    ) -> Result<Reported, AppError> {
        match target {
            ReportTarget::Event(id) => {
                if let Some(post) = self.post_view(id, Some(viewer))? {
                    return Ok(Reported {
                        author: post.author,
                    });
                }
                if let Some(m) = self.message_view(id, Some(viewer))?
                    && self.store().participant(viewer, &m.conversation)?.is_some()
                    && self
                        .store()
                        .conversation(&m.conversation)?
                        .is_some_and(|c| c.members.contains(viewer))
                {
                    return Ok(Reported { author: m.author });
                }
                Err(AppError::not_found(
                    "That post or message does not exist, or you cannot see it.",
                ))
            }
            ReportTarget::Member(member) => {
                let known = if member.node_name() == self.config().node.name.as_str() {
                    self.store().member(member.localpart())?.is_some()
                } else {
                    self.store().profile(member)?.is_some()
                };
                if !known {
                    return Err(AppError::not_found("No such person is known here."));
                }
                Ok(Reported {
                    author: member.clone(),
                })
            }
        }
    }

    /// Files a report another node sent about this node's member or what they wrote (the
    /// rules checked that). Called by the notifier as it reads the arrival log; each
    /// report event is filed once.
    pub(crate) fn file_remote_report(
        &self,
        event: &EventId,
        payload: &EventPayload,
        report: &Report,
    ) -> Result<(), StoreError> {
        let now = self.now().as_millis();
        let day = now / DAY_MS;
        let cap = u64::from(self.config().moderation.remote_reports_per_node_per_day);
        if self.store().count_remote_report(&payload.origin, day)? > cap {
            tracing::warn!(origin = %payload.origin, %event, "too many reports from one node today: dropped");
            return Ok(());
        }
        let author = match &report.target {
            ReportTarget::Member(m) => Some(m.clone()),
            ReportTarget::Event(id) => self.payload(id)?.map(|p| p.author),
        };
        let Some(author) = author else {
            return Ok(());
        };
        let record = ReportRecord {
            target: report.target.clone(),
            reason: report.reason,
            note: None,
            reporter: None,
            from_node: Some(payload.origin),
            from_organisation: self
                .store()
                .announcement(&payload.origin)?
                .map(|a| a.organisation)
                .filter(|o| !o.is_empty())
                .unwrap_or_else(|| payload.author.node_name().to_owned()),
            author: Some(author.clone()),
            at: now,
            open: true,
            outcome: None,
            decision: None,
        };
        if let Some(id) = self.store().add_remote_report(event, &record)? {
            tracing::info!(report = id, origin = %payload.origin, target = %report.target, "report received from another node");
            self.after_report(&report.target, &author)?;
        }
        Ok(())
    }

    /// Applies the thresholds after a report on `target` by `author`.
    fn after_report(&self, target: &ReportTarget, author: &MemberId) -> Result<(), StoreError> {
        // Counted and acted on with nothing else changing what is hidden or which reports
        // are open: two reports arriving together act once, and a report counted while a
        // moderator dismisses the others never hides the post again after.
        let _hiding = self.hiding();
        let settings = &self.config().moderation;
        let reports = self.store().reports()?;
        if let ReportTarget::Event(_) = target
            && self.hidden_set().get(target).is_none()
            && self.reported_enough(&reports, target)
        {
            // Logged first, as every change the node makes on its own: a moderator who
            // sees the post hidden finds why in the log.
            self.audit(
                None,
                "hidden_by_reports",
                target,
                Some(author),
                &format!("{} reports", open_voices(&reports, target)),
            )?;
            self.set_hidden(target, Some(self.hidden_by_reports()))?;
        }
        // Moderators and admins are never paused automatically: reports about them go
        // to the admins.
        let pausable = author.node_name() == self.config().node.name.as_str()
            && self
                .store()
                .member(author.localpart())?
                .is_some_and(|m| m.role == kindred_protocol::api::Role::Member);
        if pausable && settings.pause_after_reports_per_day > 0 {
            let standing = self.store().standing(author)?;
            // Reports since a moderator last reviewed them, within a day.
            let since = self
                .now()
                .as_millis()
                .saturating_sub(DAY_MS)
                .max(standing.reviewed_at.unwrap_or(0));
            let recent: Vec<&ReportRecord> = reports
                .iter()
                .filter(|(_, r)| {
                    r.open
                        && r.at >= since
                        && r.author.as_ref() == Some(author)
                        && matches!(r.target, ReportTarget::Event(_))
                })
                .map(|(_, r)| r)
                .collect();
            let pieces: HashSet<&ReportTarget> = recent.iter().map(|r| &r.target).collect();
            // Several people, not one person (or one other node) reporting everything.
            let voices: HashSet<String> = recent.iter().map(|r| voice(r)).collect();
            let enough_voices = voices.len() >= settings.hide_after_reports.max(2) as usize;
            if pieces.len() >= settings.pause_after_reports_per_day as usize
                && enough_voices
                && !standing.paused
            {
                let who = ReportTarget::Member(author.clone());
                let seq = self.audit(
                    None,
                    "paused_by_reports",
                    &who,
                    Some(author),
                    &format!(
                        "reports on {} of their posts and messages today",
                        pieces.len()
                    ),
                )?;
                // Paused and its sanction set as one step (after the log entry, so no
                // appeal slips in between); two reports arriving together pause once.
                let pausing = self.store().update_standing(author, |s| {
                    let pausing = !s.paused;
                    if pausing {
                        s.paused = true;
                        s.sanction = Some(seq);
                    }
                    Ok::<_, StoreError>(pausing)
                })?;
                if !pausing {
                    return Ok(());
                }
                self.tell_moderation(
                    author,
                    "Your posting is paused while our moderators look at reports about what you wrote. You can still read, and you will hear what they decide.".to_owned(),
                    "/standing",
                );
            }
        }
        Ok(())
    }
}

impl Node {
    /// The hide that reports put on a post until moderators look at them.
    pub(super) fn hidden_by_reports(&self) -> HiddenRecord {
        HiddenRecord {
            reason: "Hidden while moderators look at reports about it.".to_owned(),
            by: None,
            at: self.now().as_millis(),
            from_node: None,
        }
    }

    /// Whether the open reports about `target` among `reports` (the store's, read under
    /// the hiding lock) are enough to hide it (`moderation.hide_after_reports` voices;
    /// never when that is 0).
    pub(super) fn reported_enough(
        &self,
        reports: &[(u64, ReportRecord)],
        target: &ReportTarget,
    ) -> bool {
        let needed = self.config().moderation.hide_after_reports as usize;
        needed > 0 && open_voices(reports, target) >= needed
    }
}

/// How many voices (see [`voice`]) the open reports about `target` speak for, leaving out
/// those whose earlier report about it moderators have already looked at: after a
/// dismissal or a show-again, the same people reporting it again do not hide it again by
/// themselves (their reports still reach the queue).
fn open_voices(reports: &[(u64, ReportRecord)], target: &ReportTarget) -> usize {
    let about = || reports.iter().filter(|(_, r)| &r.target == target);
    let reviewed: HashSet<String> = about()
        .filter(|(_, r)| !r.open)
        .map(|(_, r)| voice(r))
        .collect();
    about()
        .filter(|(_, r)| r.open)
        .map(|(_, r)| voice(r))
        .filter(|v| !reviewed.contains(v))
        .collect::<HashSet<String>>()
        .len()
}

/// Who a report speaks for, for thresholds: one voice per member here, one per other
/// node.
fn voice(r: &ReportRecord) -> String {
    match (&r.reporter, &r.from_node) {
        (Some(m), _) => m.to_string(),
        (None, Some(node)) => node.to_string(),
        (None, None) => String::new(),
    }
}
