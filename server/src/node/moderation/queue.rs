//! What moderators see: the queue of open reports grouped by what they are about (with
//! the content, a little context, and the author's history here), appeals, and the audit
//! log (also as CSV).

use std::collections::BTreeMap;

use kindred_protocol::api::{
    AuditEntry, AuditLog, ContextLine, ModerationQueue, QueueItem, ReportTarget, ReportView, Role,
};
use kindred_protocol::{EventBody, MemberId, Timestamp};

use crate::node::AppError;
use crate::node::mentoring::report::{csv_response, inert};
use crate::node::{Auth, Node};
use crate::store::{AuditRecord, ReportRecord};

/// Audit entries in one page.
const AUDIT_PAGE: usize = 100;
/// Characters of content or context shown in the queue.
const EXCERPT_CHARS: usize = 400;
/// Messages either side of a reported chat message.
const AROUND: usize = 3;

fn cut(text: &str) -> String {
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// A safeguarding concern about `member` (kept out of what they are shown).
fn about_them(r: &AuditRecord, member: &MemberId) -> bool {
    r.action.starts_with("referral_") && r.author.as_ref() == Some(member)
}

fn entry(seq: u64, r: AuditRecord) -> AuditEntry {
    AuditEntry {
        seq,
        at: Timestamp(r.at),
        by: r.by,
        action: r.action,
        target: r.target,
        author: r.author,
        note: r.note,
    }
}

impl Node {
    /// The review queue: open reports grouped by what they are about, oldest first, then
    /// appeals waiting. Moderators and admins only.
    pub(crate) fn moderation_queue(&self, auth: &Auth) -> Result<ModerationQueue, AppError> {
        auth.require(Role::Moderator)?;
        let reports = self.store().reports()?;
        let mut groups: BTreeMap<ReportTarget, Vec<(u64, &ReportRecord)>> = BTreeMap::new();
        let mut order: Vec<ReportTarget> = Vec::new();
        for (id, r) in &reports {
            if !r.open {
                continue;
            }
            if !groups.contains_key(&r.target) {
                order.push(r.target.clone());
            }
            groups.entry(r.target.clone()).or_default().push((*id, r));
        }
        let history = self.store().audit_log(None, usize::MAX)?;
        let mut items = Vec::new();
        for target in order {
            let group = groups.remove(&target).unwrap_or_default();
            let author = group.first().and_then(|(_, r)| r.author.clone());
            if author.is_some_and(|a| !self.may_review(auth, &a)) {
                continue;
            }
            items.push(self.queue_item(&target, &group, &reports, &history)?);
        }
        for (member, standing) in self.store().standings()? {
            if !self.may_review(auth, &member) {
                continue;
            }
            if let Some(appeal) = standing.appeal {
                let target = ReportTarget::Member(member.clone());
                let mut item = self.queue_item(&target, &[], &reports, &history)?;
                item.appeal = Some(appeal);
                items.push(item);
            }
        }
        Ok(ModerationQueue { items })
    }

    /// Whether `auth` may see reports and appeals about `member`: never their own, and
    /// those about this node's moderators and admins only if they are an admin (so no
    /// one reviews, or learns who reported, themselves).
    pub(crate) fn may_review(&self, auth: &Auth, member: &MemberId) -> bool {
        if *member == auth.member_id {
            return false;
        }
        auth.member.role >= Role::Admin || !self.for_admins_only(member)
    }

    /// Whether reports about `member` are for admins only: they are a moderator or admin
    /// here and another admin can review them. (With no other admin, the moderators do,
    /// so no report goes unread.)
    pub(crate) fn for_admins_only(&self, member: &MemberId) -> bool {
        if member.node_name() != self.config().node.name.as_str() {
            return false;
        }
        let is_staff = self
            .store()
            .member(member.localpart())
            .ok()
            .flatten()
            .is_some_and(|m| m.role >= Role::Moderator);
        is_staff
            && self.store().members().is_ok_and(|all| {
                all.iter().any(|m| {
                    m.role == Role::Admin
                        && !m.suspended
                        && m.deletion_due_at.is_none()
                        && m.username != member.localpart()
                })
            })
    }

    fn queue_item(
        &self,
        target: &ReportTarget,
        group: &[(u64, &ReportRecord)],
        all: &[(u64, ReportRecord)],
        history: &[(u64, AuditRecord)],
    ) -> Result<QueueItem, AppError> {
        let (author, kind, excerpt, context, link) = self.describe_reported(target, group)?;
        let (name, org) = match &author {
            Some(a) => self.author_labels(a)?,
            None => (String::new(), String::new()),
        };
        let reports = group
            .iter()
            .rev()
            .map(|(id, r)| ReportView {
                id: *id,
                reason: r.reason,
                note: r.note.clone(),
                reporter: r.reporter.clone(),
                from_organisation: r.from_organisation.clone(),
                at: Timestamp(r.at),
                open: r.open,
                decision: r.decision,
            })
            .collect();
        let hidden = self.hidden_set().get(target);
        Ok(QueueItem {
            target: target.clone(),
            kind: kind.to_owned(),
            home_here: author
                .as_ref()
                .is_some_and(|a| a.node_name() == self.config().node.name.as_str()),
            author_label: if org.is_empty() {
                name
            } else {
                format!("{name} ({org})")
            },
            history: history
                .iter()
                .filter(|(_, h)| {
                    author.is_some() && h.author == author && !h.action.starts_with("referral_")
                })
                .take(10)
                .map(|(seq, h)| entry(*seq, h.clone()))
                .collect(),
            author_reports: all
                .iter()
                .filter(|(_, r)| author.is_some() && r.author == author)
                .count() as u32,
            author,
            excerpt,
            context,
            link,
            reports,
            hidden_by_reports: hidden.as_ref().is_some_and(|h| h.by_reports()),
            hidden: hidden.map(|h| h.reason),
            appeal: None,
        })
    }

    /// Who wrote it, what it is, its words, the lines around it and where to see it.
    #[allow(clippy::type_complexity)]
    fn describe_reported(
        &self,
        target: &ReportTarget,
        group: &[(u64, &ReportRecord)],
    ) -> Result<
        (
            Option<MemberId>,
            &'static str,
            String,
            Vec<ContextLine>,
            Option<String>,
        ),
        AppError,
    > {
        let id = match target {
            ReportTarget::Member(m) => {
                return Ok((
                    Some(m.clone()),
                    "person",
                    String::new(),
                    Vec::new(),
                    Some(format!("/people/{m}")),
                ));
            }
            ReportTarget::Event(id) => *id,
        };
        let Some((meta, original)) = self.shown(&id)? else {
            let author = group.first().and_then(|(_, r)| r.author.clone());
            return Ok((author, "gone", String::new(), Vec::new(), None));
        };
        let current = match meta.latest {
            Some(latest) => self.payload(&latest)?.unwrap_or_else(|| original.clone()),
            None => original.clone(),
        };
        let author = Some(original.author.clone());
        Ok(match current.body {
            EventBody::Post(p) => (
                author,
                "post",
                cut(&format!("{}\n\n{}", p.title, p.body)),
                Vec::new(),
                Some(format!("/posts/{id}")),
            ),
            EventBody::Reply(r) => {
                let root = meta.thread_root.unwrap_or(id);
                let mut context = Vec::new();
                if let Some(title) = self.post_title(&root)? {
                    let root_author = self.payload(&root)?.map(|p| p.author);
                    context.push(ContextLine {
                        author_name: match root_author {
                            Some(a) => self.author_labels(&a)?.0,
                            None => String::new(),
                        },
                        text: cut(&title),
                        reported: false,
                    });
                }
                (
                    author,
                    "reply",
                    cut(&r.body),
                    context,
                    Some(format!("/posts/{root}?at={id}#post-{id}")),
                )
            }
            EventBody::ChatMessage(m) => {
                // Only from a conversation one of this node's reporters is in: the lines
                // they saw themselves.
                let reporter_in = group.iter().any(|(_, r)| {
                    r.reporter.as_ref().is_some_and(|rep| {
                        self.store()
                            .conversation(&m.conversation)
                            .ok()
                            .flatten()
                            .is_some_and(|c| c.members.contains(rep))
                    })
                });
                let context = if reporter_in {
                    self.lines_around(&m.conversation, &id)?
                } else {
                    Vec::new()
                };
                (author, "message", cut(&m.body), context, None)
            }
            _ => (author, "gone", String::new(), Vec::new(), None),
        })
    }

    fn lines_around(
        &self,
        conversation: &kindred_protocol::event::ConversationId,
        id: &kindred_protocol::EventId,
    ) -> Result<Vec<ContextLine>, AppError> {
        let all = self.store().messages(conversation, None, 500)?;
        let Some(at) = all.iter().position(|(_, m)| m == id) else {
            return Ok(Vec::new());
        };
        // The page is newest first.
        let from = at.saturating_sub(AROUND);
        let to = (at + AROUND + 1).min(all.len());
        let mut lines = Vec::new();
        for (_, mid) in all[from..to].iter().rev() {
            if let Some(m) = self.message_view(mid, None)? {
                lines.push(ContextLine {
                    author_name: m.author_name,
                    text: cut(&m.body),
                    reported: mid == id,
                });
            }
        }
        Ok(lines)
    }

    /// The audit log, newest first. Admins only.
    pub(crate) fn audit_log(&self, auth: &Auth, before: Option<u64>) -> Result<AuditLog, AppError> {
        auth.require(Role::Admin)?;
        // Nobody reads of safeguarding concerns about themselves, even in the log.
        let page: Vec<(u64, AuditRecord)> = self
            .store()
            .audit_log(before, usize::MAX)?
            .into_iter()
            .filter(|(_, r)| !about_them(r, &auth.member_id))
            .take(AUDIT_PAGE + 1)
            .collect();
        let more = page.len() > AUDIT_PAGE;
        let items: Vec<AuditEntry> = page
            .into_iter()
            .take(AUDIT_PAGE)
            .map(|(seq, r)| entry(seq, r))
            .collect();
        Ok(AuditLog {
            next_before: if more {
                items.last().map(|e| e.seq)
            } else {
                None
            },
            items,
        })
    }

    /// The whole audit log as a CSV file to download (RFC 4180, by the `csv` crate),
    /// oldest first, times in the organisation's time zone. Admins only.
    pub(crate) fn audit_download(&self, auth: &Auth) -> Result<axum::response::Response, AppError> {
        auth.require(Role::Admin)?;
        let tz = self.organisation_zone();
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut all = self.store().audit_log(None, usize::MAX)?;
        all.retain(|(_, r)| !about_them(r, &auth.member_id));
        all.reverse();
        let write = |w: &mut csv::Writer<Vec<u8>>| -> Result<(), csv::Error> {
            w.write_record(["seq", "at", "by", "action", "target", "author", "note"])?;
            for (seq, r) in all {
                w.write_record([
                    seq.to_string(),
                    crate::calendar::date_time(r.at, &tz),
                    inert(
                        &r.by
                            .map(|m| m.to_string())
                            .unwrap_or_else(|| "(automatic)".into()),
                    ),
                    r.action,
                    inert(&r.target.to_string()),
                    inert(&r.author.map(|m| m.to_string()).unwrap_or_default()),
                    inert(&r.note),
                ])?;
            }
            Ok(())
        };
        write(&mut w).map_err(AppError::internal)?;
        let bytes = w
            .into_inner()
            .map_err(|e| AppError::internal(e.into_error()))?;
        let today = crate::calendar::date_value(self.now().as_millis(), &tz);
        Ok(csv_response(
            &format!("moderation-log-{today}.csv"),
            String::from_utf8_lossy(&bytes).into_owned(),
        ))
    }
}
